import test from 'ava';
import { attributes, enumVal, parseResponse, requestMessage, Tags, tag, uniqueIdentifier, V1_0, V2_1 } from './client.ts';
import { fromXml, toXml } from '../ttlv/xml.ts';
import { ItemType, type StructureItem, type TtlvItem } from '../ttlv/types.ts';

const alg: TtlvItem = { tag: Tags.CryptographicAlgorithm, type: ItemType.Enumeration, value: enumVal('Cryptographic Algorithm', 'AES') };

test('request messages carry the version, batch count and one batch item per spec', (t) => {
  const m = requestMessage(V2_1, [
    { operation: 'Create', payload: [attributes(V2_1, [alg])] },
    { operation: 'Get', payload: [], uniqueBatchItemId: new Uint8Array([1]) },
  ], { maximumResponseSize: 4096 });
  const xml = toXml(m);
  t.regex(xml, /<ProtocolVersionMajor type="Integer" value="2"\/>\s*<ProtocolVersionMinor type="Integer" value="1"\/>/);
  t.regex(xml, /<MaximumResponseSize type="Integer" value="4096"\/>\s*<BatchCount type="Integer" value="2"\/>/);
  t.regex(xml, /<Operation type="Enumeration" value="Create"\/>\s*<RequestPayload>\s*<Attributes>\s*<CryptographicAlgorithm type="Enumeration" value="AES"\/>/);
  t.regex(xml, /<Operation type="Enumeration" value="Get"\/>\s*<UniqueBatchItemID type="ByteString" value="01"\/>/);
});

test('attributes are written as a 1.x Template-Attribute for 1.x', (t) => {
  const xml = toXml(attributes(V1_0, [alg]));
  t.regex(xml, /<TemplateAttribute>\s*<Attribute>\s*<AttributeName type="TextString" value="Cryptographic Algorithm"\/>\s*<AttributeValue type="Enumeration" value="AES"\/>/);
});

test('responses parse into batch results', (t) => {
  const r = parseResponse(fromXml(`<ResponseMessage>
    <ResponseHeader>
      <ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/><ProtocolVersionMinor type="Integer" value="4"/></ProtocolVersion>
      <TimeStamp type="DateTime" value="2020-01-01T00:00:00+00:00"/>
      <BatchCount type="Integer" value="2"/>
    </ResponseHeader>
    <BatchItem>
      <Operation type="Enumeration" value="Create"/>
      <ResultStatus type="Enumeration" value="Success"/>
      <ResponsePayload><ObjectType type="Enumeration" value="SymmetricKey"/><UniqueIdentifier type="TextString" value="k1"/></ResponsePayload>
    </BatchItem>
    <BatchItem>
      <Operation type="Enumeration" value="Get"/>
      <ResultStatus type="Enumeration" value="OperationFailed"/>
      <ResultReason type="Enumeration" value="ItemNotFound"/>
      <ResultMessage type="TextString" value="no such object"/>
    </BatchItem>
  </ResponseMessage>`));
  t.deepEqual(r.version, { major: 1, minor: 4 });
  t.is(r.timeStamp, Date.UTC(2020, 0, 1) / 1000);
  t.is(r.items.length, 2);
  t.is(r.items[0]!.operationName, 'Create');
  t.is(uniqueIdentifier(r.items[0]!.payload as StructureItem), 'k1');
  t.is(r.items[1]!.statusName, 'OperationFailed');
  t.is(r.items[1]!.reasonName, 'ItemNotFound');
  t.is(r.items[1]!.message, 'no such object');
  t.throws(() => parseResponse(fromXml('<RequestMessage></RequestMessage>')));
  t.is(tag('UniqueIdentifier'), 0x420094);
});
