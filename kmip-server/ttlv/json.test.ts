import test from 'ava';
import { fromJson, toJson, ttlvToJson } from './json.ts';
import { fromXml } from './xml.ts';
import { decode } from './reader.ts';
import { encode } from './writer.ts';
import { ItemType, type TtlvItem } from './types.ts';

const request = fromXml(`<RequestMessage>
  <RequestHeader>
    <ProtocolVersion>
      <ProtocolVersionMajor type="Integer" value="1"/>
      <ProtocolVersionMinor type="Integer" value="4"/>
    </ProtocolVersion>
    <BatchCount type="Integer" value="1"/>
  </RequestHeader>
  <BatchItem>
    <Operation type="Enumeration" value="Create"/>
    <RequestPayload>
      <ObjectType type="Enumeration" value="SymmetricKey"/>
      <TemplateAttribute>
        <Attribute>
          <AttributeName type="TextString" value="Cryptographic Usage Mask"/>
          <AttributeValue type="Integer" value="Decrypt Encrypt"/>
        </Attribute>
        <Attribute>
          <AttributeName type="TextString" value="Cryptographic Algorithm"/>
          <AttributeValue type="Enumeration" value="AES"/>
        </Attribute>
        <Attribute>
          <AttributeName type="TextString" value="Activation Date"/>
          <AttributeValue type="DateTime" value="2012-04-27T08:12:25+00:00"/>
        </Attribute>
      </TemplateAttribute>
      <UsageLimitsCount type="LongInteger" value="-9223372036854775808"/>
      <PublicExponent type="BigInteger" value="0000000000010001"/>
      <KeyMaterial type="ByteString" value="00112233"/>
      <Sensitive type="Boolean" value="false"/>
      <LeaseTime type="Interval" value="3600"/>
      <TTLV tag="0x540001" type="TextString" value="na"/>
    </RequestPayload>
  </BatchItem>
</RequestMessage>`);

function plain(i: TtlvItem): TtlvItem {
  if (i.type === ItemType.Structure) return { ...i, value: i.value.map(plain) };
  if (i.type === ItemType.ByteString) return { ...i, value: new Uint8Array(i.value) };
  return i;
}

test('JSON round trip of a message', (t) => {
  const json = toJson(request);
  t.deepEqual(fromJson(json), request);
  t.deepEqual(plain(decode(encode(fromJson(json)))), request);
});

test('JSON form of the values', (t) => {
  const j = ttlvToJson(request);
  t.is(j.tag, 'RequestMessage');
  t.is(j.type, undefined);
  const s = JSON.stringify(j);
  t.true(s.includes('{"tag":"ProtocolVersionMajor","type":"Integer","value":1}'));
  t.true(s.includes('{"tag":"Operation","type":"Enumeration","value":"Create"}'));
  t.true(s.includes('{"tag":"AttributeValue","type":"Integer","value":"Encrypt|Decrypt"}'));
  t.true(s.includes('{"tag":"AttributeValue","type":"Enumeration","value":"AES"}'));
  t.true(s.includes('{"tag":"AttributeValue","type":"DateTime","value":"2012-04-27T08:12:25+00:00"}'));
  t.true(s.includes('{"tag":"UsageLimitsCount","type":"LongInteger","value":"0x8000000000000000"}'));
  t.true(s.includes('{"tag":"PublicExponent","type":"BigInteger","value":"0x0000000000010001"}'));
  t.true(s.includes('{"tag":"KeyMaterial","type":"ByteString","value":"00112233"}'));
  t.true(s.includes('{"tag":"Sensitive","type":"Boolean","value":false}'));
  t.true(s.includes('{"tag":"LeaseTime","type":"Interval","value":3600}'));
  t.true(s.includes('{"tag":"0x540001","type":"TextString","value":"na"}'));
});

test('JSON reader accepts the alternative forms', (t) => {
  const item = fromJson({
    tag: 'TemplateAttribute',
    value: [
      { tag: 'CryptographicUsageMask', type: 'Integer', value: 'Encrypt Decrypt' },
      { tag: 'CryptographicUsageMask', type: 'Integer', value: '0x0000000C' },
      { tag: 'ObjectType', type: 'Enumeration', value: '0x00000002' },
      { tag: 'ObjectType', type: 'Enumeration', value: 2 },
      { tag: 'Cryptographic Algorithm', type: 'Enumeration', value: 'AES' },
      { tag: '0x42002A', type: 'Integer', value: 128 },
      { tag: 'UsageLimitsCount', type: 'LongInteger', value: 5 },
      { tag: 'ActivationDate', type: 'DateTime', value: 1335514345 },
    ],
  });
  t.deepEqual((item.value as TtlvItem[]).map((c) => c.value), [12, 12, 2, 2, 3, 128, 5n, 1335514345]);
  t.throws(() => fromJson('{"tag":"ObjectType","type":"Enumeration","value":"Nope"}'));
  t.throws(() => fromJson('{"tag":"CryptographicLength","type":"Integer","value":1.5}'));
  t.throws(() => fromJson('{"tag":"Nope","value":[]}'));
  t.throws(() => fromJson('not json'));
});

test('JSON variables resolve through the hook', (t) => {
  const item = fromJson('{"tag":"UniqueIdentifier","type":"TextString","value":"$UNIQUE_IDENTIFIER_0"}', {
    resolveVariable: (name, type, tag) => (name === 'UNIQUE_IDENTIFIER_0' ? { tag, type: ItemType.TextString, value: 'x' } : undefined),
  });
  t.is(item.value, 'x');
});
