import test from 'ava';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { elementToTtlv, fromXml, parseXmlDocument, type XmlElement } from '../../kmip-server/ttlv/xml.ts';
import { formatMismatch, matchResponse, Scope, type MatchOptions } from './match.ts';

const V10: MatchOptions = { requestVersion: { major: 1, minor: 0 } };
const V21: MatchOptions = { requestVersion: { major: 2, minor: 1 } };

function response(items: string, opts: { major?: number; minor?: number; stamp?: string; batchCount?: number } = {}): string {
  return `<ResponseMessage>
    <ResponseHeader>
      <ProtocolVersion>
        <ProtocolVersionMajor type="Integer" value="${opts.major ?? 1}"/>
        <ProtocolVersionMinor type="Integer" value="${opts.minor ?? 0}"/>
      </ProtocolVersion>
      <TimeStamp type="DateTime" value="${opts.stamp ?? '2009-11-12T10:47:30+00:00'}"/>
      <BatchCount type="Integer" value="${opts.batchCount ?? 1}"/>
    </ResponseHeader>
    ${items}
  </ResponseMessage>`;
}

const item = (op: string, status: string, inner = ''): string =>
  `<BatchItem><Operation type="Enumeration" value="${op}"/><ResultStatus type="Enumeration" value="${status}"/>${inner}</BatchItem>`;

const el = (xml: string): XmlElement => parseXmlDocument(xml);
/** The actual response: written as XML by the test, with literal values. */
const actual = (xml: string): TtlvItem => fromXml(xml);

const fixedClock = (t: number): Scope => new Scope({ clock: () => t, fileStart: t - 10 });

test('equal responses match', (t) => {
  const x = response(item('Destroy', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="abc"/></ResponsePayload>'));
  t.is(matchResponse(el(x), actual(x), new Scope(), V10), undefined);
});

test('a different Result Reason fails', (t) => {
  const exp = response(item('Get', 'OperationFailed', '<ResultReason type="Enumeration" value="ItemNotFound"/><ResultMessage type="TextString" value="Not found"/>'));
  const act = response(item('Get', 'OperationFailed', '<ResultReason type="Enumeration" value="PermissionDenied"/><ResultMessage type="TextString" value="no"/>'));
  const m = matchResponse(el(exp), actual(act), new Scope(), V10);
  t.truthy(m);
  t.is(m!.path, 'ResponseMessage/BatchItem/ResultReason');
  t.is(m!.expected, 'ItemNotFound');
  t.is(m!.actual, 'PermissionDenied');
  t.regex(formatMismatch(m!), /ResultReason: different value \(expected ItemNotFound, actual PermissionDenied\)/);
  // A missing Result Reason fails too; a different Result Status fails.
  t.truthy(matchResponse(el(exp), actual(response(item('Get', 'OperationFailed'))), new Scope(), V10));
  t.truthy(matchResponse(el(response(item('Get', 'Success'))), actual(response(item('Get', 'OperationFailed'))), new Scope(), V10));
});

test('a differing TimeStamp passes; Result Message text and presence are not compared', (t) => {
  const exp = response(item('Get', 'OperationFailed', '<ResultReason type="Enumeration" value="ItemNotFound"/><ResultMessage type="TextString" value="Not found"/>'));
  const act = response(item('Get', 'OperationFailed', '<ResultReason type="Enumeration" value="ItemNotFound"/>'), { stamp: '2031-01-01T00:00:00+00:00' });
  t.is(matchResponse(el(exp), actual(act), new Scope(), V10), undefined);
  // But the TimeStamp must be there, as a DateTime.
  const noStamp = actual(response(item('Get', 'Success'))).value as TtlvItem[];
  const header = noStamp[0]!;
  if (header.type === ItemType.Structure) header.value.splice(1, 1);
  t.truthy(matchResponse(el(response(item('Get', 'Success'))), { tag: 0x42007b, type: ItemType.Structure, value: noStamp }, new Scope(), V10));
});

test('$NOW matches within the window only', (t) => {
  const now = 1_700_000_000;
  const exp = response(item('Get', 'Success'), { minor: 0, stamp: '$NOW' });
  const at = (secs: number): string => new Date(secs * 1000).toISOString().replace('.000Z', '+00:00');
  t.is(matchResponse(el(exp), actual(response(item('Get', 'Success'), { stamp: at(now - 3) })), fixedClock(now), V10), undefined);
  t.truthy(matchResponse(el(exp), actual(response(item('Get', 'Success'), { stamp: at(now - 3600) })), fixedClock(now), V10));
  const exp2 = response(item('Get', 'Success'), { stamp: '$NOW-3600' });
  t.is(matchResponse(el(exp2), actual(response(item('Get', 'Success'), { stamp: at(now - 3600) })), fixedClock(now), V10), undefined);
});

test('a variable binds on first sight and is reused; requests get the bound value', (t) => {
  const scope = new Scope();
  const exp = response(item('Create', 'Success', '<ResponsePayload><ObjectType type="Enumeration" value="SymmetricKey"/><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/></ResponsePayload>'));
  const act = response(item('Create', 'Success', '<ResponsePayload><ObjectType type="Enumeration" value="SymmetricKey"/><UniqueIdentifier type="TextString" value="key-1"/></ResponsePayload>'));
  t.is(matchResponse(el(exp), actual(act), scope, V10), undefined);
  t.is(scope.vars.get('UNIQUE_IDENTIFIER_0')?.value, 'key-1');

  // Substituted into a later request.
  const req = elementToTtlv(el('<RequestPayload><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/></RequestPayload>'), {
    resolveVariable: (n, ty, tag) => scope.resolveForRequest(n, ty, tag),
  });
  t.is((req.value as TtlvItem[])[0]!.value, 'key-1');

  // Reused in a later response: must be equal.
  const exp2 = response(item('Destroy', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/></ResponsePayload>'));
  t.is(matchResponse(el(exp2), actual(response(item('Destroy', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="key-1"/></ResponsePayload>'))), scope, V10), undefined);
  const m = matchResponse(el(exp2), actual(response(item('Destroy', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="key-2"/></ResponsePayload>'))), scope, V10);
  t.truthy(m);
  t.regex(m!.message, /bound to \$UNIQUE_IDENTIFIER_0/);

  // The Nth identifier must be a new one.
  const exp3 = response(item('Create', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_1"/></ResponsePayload>'));
  t.truthy(matchResponse(el(exp3), actual(response(item('Create', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="key-1"/></ResponsePayload>'))), scope, V10));
  t.is(matchResponse(el(exp3), actual(response(item('Create', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="key-9"/></ResponsePayload>'))), scope, V10), undefined);

  // An unbound variable cannot be sent.
  t.throws(() => elementToTtlv(el('<UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_7"/>'), {
    resolveVariable: (n, ty, tag) => scope.resolveForRequest(n, ty, tag),
  }));
});

test('an extra tag newer than the request version fails; an extra older tag is allowed', (t) => {
  const exp = response(item('Get', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="a"/></ResponsePayload>'));
  // Object Groups (a 2.0 tag) in a 1.0 response.
  const newer = response(item('Get', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="a"/><ObjectGroups><ObjectGroup type="TextString" value="g"/></ObjectGroups></ResponsePayload>'));
  const m = matchResponse(el(exp), actual(newer), new Scope(), V10);
  t.truthy(m);
  t.regex(m!.message, /ObjectGroups is a KMIP 2\.\d tag, newer than the request's version 1\.0/);
  // The same in a 2.1 exchange is fine.
  t.is(matchResponse(el(exp), actual(newer), new Scope(), V21), undefined);
  // An extra 1.0 field is allowed in 1.0.
  const older = response(item('Get', 'Success', '<ResultReason type="Enumeration" value="ItemNotFound"/><ResponsePayload><ObjectType type="Enumeration" value="SymmetricKey"/><UniqueIdentifier type="TextString" value="a"/></ResponsePayload>'));
  t.is(matchResponse(el(exp), actual(older), new Scope(), V10), undefined);
  // A newer tag nested inside an extra older structure is found too.
  const nested = response(item('Get', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="a"/><TemplateAttribute><Attributes/></TemplateAttribute></ResponsePayload>'));
  t.truthy(matchResponse(el(exp), actual(nested), new Scope(), V10));
});

test('fields keep their order, except Get Attributes lists which compare as sets', (t) => {
  const attr = (n: string, v: string, type = 'TextString'): string =>
    `<Attribute><AttributeName type="TextString" value="${n}"/><AttributeValue type="${type}" value="${v}"/></Attribute>`;
  const exp = response(item('GetAttributes', 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="u"/>${attr('Object Group', 'g')}${attr('Cryptographic Algorithm', 'AES', 'Enumeration')}</ResponsePayload>`));
  const act = response(item('GetAttributes', 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="u"/>${attr('Cryptographic Algorithm', 'AES', 'Enumeration')}${attr('Cryptographic Length', '128', 'Integer')}${attr('Object Group', 'g')}</ResponsePayload>`));
  t.is(matchResponse(el(exp), actual(act), new Scope(), V10), undefined);
  // Elsewhere order matters.
  const exp2 = response(item('Get', 'Success', '<ResponsePayload><ObjectType type="Enumeration" value="SymmetricKey"/><UniqueIdentifier type="TextString" value="u"/></ResponsePayload>'));
  const act2 = response(item('Get', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><ObjectType type="Enumeration" value="SymmetricKey"/></ResponsePayload>'));
  const m = matchResponse(el(exp2), actual(act2), new Scope(), V10);
  t.truthy(m);
  t.regex(m!.message, /out of order/);
  // A different attribute value in a set still fails.
  const act3 = act.replace('value="g"', 'value="h"');
  t.truthy(matchResponse(el(exp), actual(act3), new Scope(), V10));
});

test('literal dates compare loosely unless the client set that date', (t) => {
  const exp = response(item('GetAttributes', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><Attribute><AttributeName type="TextString" value="Activation Date"/><AttributeValue type="DateTime" value="2012-04-27T08:12:25+00:00"/></Attribute></ResponsePayload>'));
  const act = response(item('GetAttributes', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><Attribute><AttributeName type="TextString" value="Activation Date"/><AttributeValue type="DateTime" value="2030-01-01T00:00:00+00:00"/></Attribute></ResponsePayload>'));
  t.is(matchResponse(el(exp), actual(act), new Scope(), V10), undefined);
  const scope = new Scope();
  scope.noteRequest(el('<RequestPayload><Attribute><AttributeName type="TextString" value="Activation Date"/><AttributeValue type="DateTime" value="2012-04-27T08:12:25+00:00"/></Attribute></RequestPayload>'));
  const m = matchResponse(el(exp), actual(act), scope, V10);
  t.truthy(m);
  t.regex(m!.message, /date the client set/);
  // The 2.x form, by tag.
  const scope2 = new Scope();
  scope2.noteRequest(el('<Attributes><ActivationDate type="DateTime" value="2012-04-27T08:12:25+00:00"/></Attributes>'));
  const exp2 = response(item('Get', 'Success', '<ResponsePayload><ActivationDate type="DateTime" value="2012-04-27T08:12:25+00:00"/></ResponsePayload>'));
  t.truthy(matchResponse(el(exp2), actual(response(item('Get', 'Success', '<ResponsePayload><ActivationDate type="DateTime" value="2012-04-28T08:12:25+00:00"/></ResponsePayload>'))), scope2, V10));
  t.is(matchResponse(el(exp2), actual(response(item('Get', 'Success', '<ResponsePayload><ActivationDate type="DateTime" value="2012-04-27T08:12:25+00:00"/></ResponsePayload>'))), scope2, V10), undefined);
});

test('bytes from server-generated keys compare by type; from registered keys exactly', (t) => {
  const scope = new Scope();
  const created = response(item('Create', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/></ResponsePayload>'));
  t.is(matchResponse(el(created), actual(created.replace('$UNIQUE_IDENTIFIER_0', 'gen')), scope, V10), undefined);
  const registered = response(item('Register', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_1"/></ResponsePayload>'));
  t.is(matchResponse(el(registered), actual(registered.replace('$UNIQUE_IDENTIFIER_1', 'reg')), scope, V10), undefined);
  const get = (uid: string, material: string): string =>
    response(item('Get', 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="${uid}"/><SymmetricKey><KeyBlock><KeyMaterial type="ByteString" value="${material}"/></KeyBlock></SymmetricKey></ResponsePayload>`));
  t.is(matchResponse(el(get('$UNIQUE_IDENTIFIER_0', '00112233')), actual(get('gen', 'ffeeddcc')), scope, V10), undefined);
  t.truthy(matchResponse(el(get('$UNIQUE_IDENTIFIER_1', '00112233')), actual(get('reg', 'ffeeddcc')), scope, V10));
  t.is(matchResponse(el(get('$UNIQUE_IDENTIFIER_1', '00112233')), actual(get('reg', '00112233')), scope, V10), undefined);
});

test('Attribute Index 0 may be absent; other missing fields fail', (t) => {
  const exp = response(item('GetAttributes', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><Attribute><AttributeName type="TextString" value="Object Group"/><AttributeIndex type="Integer" value="0"/><AttributeValue type="TextString" value="g"/></Attribute></ResponsePayload>'));
  const act = response(item('GetAttributes', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><Attribute><AttributeName type="TextString" value="Object Group"/><AttributeValue type="TextString" value="g"/></Attribute></ResponsePayload>'));
  t.is(matchResponse(el(exp), actual(act), new Scope(), V10), undefined);
  const m = matchResponse(el(exp.replace('<AttributeIndex type="Integer" value="0"/>', '<AttributeIndex type="Integer" value="1"/>')), actual(act), new Scope(), V10);
  t.truthy(m);
  t.regex(formatMismatch(m!), /AttributeIndex: missing/, formatMismatch(m!));
});

test('whitespace runs are collapsed for the extracted vectors only', (t) => {
  const exp = response(item('Get', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="third   party"/></ResponsePayload>'));
  const act = response(item('Get', 'Success', '<ResponsePayload><UniqueIdentifier type="TextString" value="third party"/></ResponsePayload>'));
  t.is(matchResponse(el(exp), actual(act), new Scope(), { ...V10, collapseWhitespace: true }), undefined);
  t.truthy(matchResponse(el(exp), actual(act), new Scope(), V10));
});

test('the Random Number Generator attribute must be present, its contents are the server\'s', (t) => {
  const rng = (alg: string): string => `<RandomNumberGenerator><RNGAlgorithm type="Enumeration" value="${alg}"/></RandomNumberGenerator>`;
  const exp = response(item('GetAttributes', 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><Attributes>${rng('ANSIX9_31')}</Attributes></ResponsePayload>`), { major: 2, minor: 1 });
  const act = (inner: string): TtlvItem => actual(response(item('GetAttributes', 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="u"/><Attributes>${inner}</Attributes></ResponsePayload>`), { major: 2, minor: 1 }));
  t.is(matchResponse(el(exp), act(rng('DRBG')), new Scope(), V21), undefined);
  t.truthy(matchResponse(el(exp), act('<ObjectGroup type="TextString" value="g"/>'), new Scope(), V21));
});

test('Attribute Index numbering of instances the server created may differ; values and index sets may not', (t) => {
  const link = (type: string, id: string, index?: number): string =>
    `<Attribute><AttributeName type="TextString" value="Link"/>${index === undefined ? '' : `<AttributeIndex type="Integer" value="${index}"/>`}<AttributeValue><LinkType type="Enumeration" value="${type}"/><LinkedObjectIdentifier type="TextString" value="${id}"/></AttributeValue></Attribute>`;
  const getAttrs = (uid: string, attrs: string): string =>
    response(item('GetAttributes', 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="${uid}"/>${attrs}</ResponsePayload>`));
  const expected = el(getAttrs('$UNIQUE_IDENTIFIER_0', link('PublicKeyLink', 'pub') + link('ReplacedObjectLink', 'old', 1)));
  const swapped = getAttrs('cert', link('ReplacedObjectLink', 'old') + link('PublicKeyLink', 'pub', 1));
  const generated = (): Scope => {
    const s = new Scope();
    s.generatedIds.add('cert');
    return s;
  };
  // The server re-certified 'cert': its numbering of the two Links is its own.
  t.is(matchResponse(expected, actual(swapped), generated(), V10), undefined);
  // A wrong value still fails.
  const wrongValue = getAttrs('cert', link('ReplacedObjectLink', 'other') + link('PublicKeyLink', 'pub', 1));
  t.truthy(matchResponse(expected, actual(wrongValue), generated(), V10));
  // Indices that are not the expected set (two instances at index 0) fail.
  const m = matchResponse(expected, actual(getAttrs('cert', link('ReplacedObjectLink', 'old') + link('PublicKeyLink', 'pub'))), generated(), V10);
  t.truthy(m);
  t.regex(formatMismatch(m!), /instances of Link do not carry the expected Attribute Index values \(expected 0, 1, actual 0, 0\)/);
  // A single listed instance keeps its exact index.
  const single = el(getAttrs('$UNIQUE_IDENTIFIER_0', link('ReplacedObjectLink', 'old', 1)));
  t.truthy(matchResponse(single, actual(getAttrs('cert', link('ReplacedObjectLink', 'old') + link('PublicKeyLink', 'pub', 1))), generated(), V10));
  // An object the client registered: the numbering is compared exactly.
  t.truthy(matchResponse(expected, actual(swapped), new Scope(), V10));
});

test('an Encrypt ciphertext that differs passes only through a supplied randomized-ciphertext check that accepts it', (t) => {
  const answer = (op: string, data: string): string =>
    response(item(op, 'Success', `<ResponsePayload><UniqueIdentifier type="TextString" value="k"/><Data type="ByteString" value="${data}"/></ResponsePayload>`), { minor: 4 });
  const V14: MatchOptions = { requestVersion: { major: 1, minor: 4 } };
  const accept = { verify: (ct: Uint8Array) => Buffer.from(ct).toString('hex') === 'bbbb', describe: 'test' };
  // Without the check (every deterministic cipher): byte equality.
  const plain = matchResponse(el(answer('Encrypt', 'aaaa')), actual(answer('Encrypt', 'bbbb')), new Scope(), V14);
  t.regex(formatMismatch(plain!), /Data: different value/);
  // With it: the ciphertext the check accepts passes and is recorded as used; another one fails, saying why.
  const rc = { ...accept, used: false };
  t.is(matchResponse(el(answer('Encrypt', 'aaaa')), actual(answer('Encrypt', 'bbbb')), new Scope(), { ...V14, randomizedCiphertext: rc }), undefined);
  t.true(rc.used);
  const wrong = { ...accept, used: false };
  const m = matchResponse(el(answer('Encrypt', 'aaaa')), actual(answer('Encrypt', 'cccc')), new Scope(), { ...V14, randomizedCiphertext: wrong });
  t.regex(formatMismatch(m!), /Data: not the recorded ciphertext, and does not decrypt to the request's Data \(test\)/);
  t.false(wrong.used);
  // The recorded bytes themselves still pass without consulting the check; other operations never consult it.
  t.is(matchResponse(el(answer('Encrypt', 'aaaa')), actual(answer('Encrypt', 'aaaa')), new Scope(), { ...V14, randomizedCiphertext: wrong }), undefined);
  t.false(wrong.used);
  const dec = matchResponse(el(answer('Decrypt', 'aaaa')), actual(answer('Decrypt', 'bbbb')), new Scope(), { ...V14, randomizedCiphertext: rc });
  t.regex(formatMismatch(dec!), /Data: different value/);
});
