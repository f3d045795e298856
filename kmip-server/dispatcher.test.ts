import test from 'ava';
import { BlockCipherMode, CryptographicAlgorithm, KeyFormatType, LinkType, MaskGenerator, ObjectType, Operation, PaddingMethod, ResultReason, ResultStatus } from './ttlv/enums.ts';
import { Tag } from './ttlv/tag.ts';
import { bool, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from './ttlv/types.ts';
import { encode } from './ttlv/writer.ts';
import { decode } from './ttlv/reader.ts';
import { parseResponse, type ProtocolVersion } from './client/client.ts';
import { V1_0, V1_2, V1_4, V2_1, attr1x, createKey, harness, identity, uidItem } from './operations/harness.fixture.ts';

test('concurrent Gets of a fresh key all succeed (a lost commit race is re-run, not failed)', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const results = await Promise.all(Array.from({ length: 16 }, () => h.one(V1_4, 'Get', [uidItem(uid)])));
  t.deepEqual(results.map((r) => r.status), Array(16).fill(ResultStatus.Success));
});

test('a role without the operation gets Permission Denied for that item only', async (t) => {
  const h = harness();
  const reader = identity('scope-a', ['operation_get']);
  const uid = await createKey(h, V2_1);
  const [get, destroy] = await h.send(V2_1, [
    { operation: 'Get', payload: [uidItem(uid)] },
    { operation: 'Destroy', payload: [uidItem(uid)] },
  ], reader, [{ tag: Tag.BatchErrorContinuationOption, type: 5, value: 2 }]);
  t.is(get!.status, ResultStatus.Success);
  t.is(destroy!.reason, ResultReason.PermissionDenied);
});

test('a message whose Batch Count lies is Invalid Message', async (t) => {
  const h = harness();
  const msg = struct(Tag.RequestMessage, [
    struct(Tag.RequestHeader, [struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, 1), int(Tag.ProtocolVersionMinor, 2)]), int(Tag.BatchCount, 3)]),
    struct(Tag.BatchItem, [{ tag: Tag.Operation, type: 5, value: 0x1e }, struct(Tag.RequestPayload, [])]),
  ]);
  const out = await h.dispatcher.handle(encode(msg), identity('scope-a'));
  const [item] = parseResponse(decode(out!)).items;
  t.is(item!.status, ResultStatus.OperationFailed);
  t.is(item!.reason, ResultReason.InvalidMessage);
});

test('a response never carries the ID placeholder uid of another scope', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [], identity('scope-a'));
  const r = await h.one(V2_1, 'Get', [text(Tag.UniqueIdentifier, uid)], identity('scope-b'));
  t.is(r.reason, ResultReason.ObjectNotFound);
});

// Found by the dispatcher fuzzer (test/fuzz): each answered General Failure, threw, or answered in tags the client's
// version does not have.

const header = (major: number | TtlvItem, minor: number | TtlvItem, extra: TtlvItem[] = []) => struct(Tag.RequestHeader, [
  struct(Tag.ProtocolVersion, [
    typeof major === 'number' ? int(Tag.ProtocolVersionMajor, major) : major,
    typeof minor === 'number' ? int(Tag.ProtocolVersionMinor, minor) : minor,
  ]),
  ...extra,
  int(Tag.BatchCount, 1),
]);
const discover = struct(Tag.BatchItem, [enumeration(Tag.Operation, Operation.DiscoverVersions), struct(Tag.RequestPayload, [])]);

test('a Request Header field of the wrong item type is answered Invalid Message, not thrown', async (t) => {
  const h = harness();
  const broken = [
    struct(Tag.RequestMessage, [header(text(Tag.ProtocolVersionMajor, '1'), 4), discover]),
    struct(Tag.RequestMessage, [header(1, struct(Tag.ProtocolVersionMinor, [])), discover]),
    struct(Tag.RequestMessage, [enumeration(Tag.RequestHeader, 1), discover]),
    struct(Tag.RequestMessage, [struct(Tag.RequestHeader, [enumeration(Tag.ProtocolVersion, 0), int(Tag.BatchCount, 1)]), discover]),
    struct(Tag.RequestMessage, [header(1, 4, [struct(Tag.ClientCorrelationValue, [text(Tag.ClientCorrelationValue, 'x')])]), discover]),
  ];
  for (const msg of broken) {
    const out = await h.dispatcher.handle(encode(msg), identity('scope-a'));
    const [item] = parseResponse(decode(out!)).items;
    t.is(item!.reason, ResultReason.InvalidMessage);
  }
});

test('an empty Unique Identifier names no object: Item Not Found', async (t) => {
  const h = harness();
  for (const op of ['Get', 'GetAttributes', 'Destroy', 'Activate']) {
    const r = await h.one(V1_4, op, [text(Tag.UniqueIdentifier, '')]);
    t.is(r.reason, ResultReason.ItemNotFound, op);
  }
});

test('an operation newer than the message\'s version is Operation Not Supported; Discover Versions works at any', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  t.is((await h.one(V1_4, 'Activate', [uidItem(uid)])).status, ResultStatus.Success);
  const cbc = struct(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, BlockCipherMode.CBC), enumeration(Tag.PaddingMethod, PaddingMethod.None)]);
  const cbc16 = [uidItem(uid), cbc, bytes(Tag.Data, new Uint8Array(16)), bytes(Tag.IVCounterNonce, new Uint8Array(16))];
  t.is((await h.one(V1_0, 'Encrypt', cbc16)).reason, ResultReason.OperationNotSupported); // Encrypt is 1.2
  t.is((await h.one(V1_2, 'Encrypt', cbc16)).status, ResultStatus.Success);
  t.is((await h.one({ major: 1, minor: 1 }, 'RNGSeed', [bytes(Tag.Data, new Uint8Array(32))])).reason, ResultReason.OperationNotSupported);
  t.is((await h.one(V1_4, 'SetAttribute', [uidItem(uid), text(Tag.Description, 'x')])).reason, ResultReason.OperationNotSupported); // 2.0
  t.is((await h.one(V1_0, 'DiscoverVersions', [])).status, ResultStatus.Success); // 1.1, but how any client negotiates
});

test('a structured attribute answers with the fields of the reader\'s version only', async (t) => {
  const h = harness();
  const params = struct(Tag.CryptographicParameters, [
    enumeration(Tag.BlockCipherMode, BlockCipherMode.CBC),
    bool(Tag.RandomIV, true), // 1.2
    enumeration(Tag.MaskGenerator, MaskGenerator.MGF1), // 1.4
  ]);
  const uid = await createKey(h, V1_4, [attr1x('Cryptographic Parameters', params)]);
  const read = async (v: ProtocolVersion) => {
    const r = await h.one(v, 'GetAttributes', [uidItem(uid), text(Tag.AttributeName, 'Cryptographic Parameters')]);
    const a = r.payload!.value.find((i) => i.tag === Tag.Attribute) as StructureItem;
    const value = a.value.find((i) => i.tag === Tag.AttributeValue) as StructureItem;
    return value.value.map((i) => i.tag);
  };
  t.deepEqual(await read(V1_0), [Tag.BlockCipherMode]);
  t.deepEqual(await read(V1_2), [Tag.BlockCipherMode, Tag.RandomIV]);
  t.deepEqual(await read(V1_4), [Tag.BlockCipherMode, Tag.RandomIV, Tag.MaskGenerator]);
  // Stored whole: the 1.0 answer left nothing out of the object.
  t.deepEqual(await read(V1_4), [Tag.BlockCipherMode, Tag.RandomIV, Tag.MaskGenerator]);
});

test('a standard attribute holding a field KMIP does not define is refused (vendor extension tags are kept)', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const link = (extra: TtlvItem) => attr1x('Link', struct(Tag.Link, [enumeration(Tag.LinkType, 0x10b), text(Tag.LinkedObjectIdentifier, 'other'), extra]));
  const unknown = await h.one(V1_4, 'AddAttribute', [uidItem(uid), link(text(0xd0004c, 'x'))]);
  t.is(unknown.reason, ResultReason.InvalidField);
  const vendor = await h.one(V1_4, 'AddAttribute', [uidItem(uid), link(text(0x540001, 'x'))]);
  t.is(vendor.status, ResultStatus.Success);
});

test('Register refuses a Key Value holding more than Key Material and attributes', async (t) => {
  const h = harness();
  const body = (extra: TtlvItem[]) => struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, KeyFormatType.Raw),
    struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, new Uint8Array(16).fill(1)), ...extra]),
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
    int(Tag.CryptographicLength, 128),
  ])]);
  const register = (extra: TtlvItem[]) => h.one(V1_4, 'Register', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.TemplateAttribute, []), body(extra)]);
  t.is((await register([bytes(Tag.Data, new Uint8Array(4))])).reason, ResultReason.InvalidField);
  t.is((await register([])).status, ResultStatus.Success);
});

test('an attribute instance holding an enumeration value the reader\'s version lacks is left out, indexes kept', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const link = (type: number, target: string) => attr1x('Link', struct(Tag.Link, [enumeration(Tag.LinkType, type), text(Tag.LinkedObjectIdentifier, target)]));
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), link(LinkType.NextLink, 'newer')])).status, ResultStatus.Success); // Next Link: 1.2
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), link(LinkType.PublicKeyLink, 'older')])).status, ResultStatus.Success);
  const links = async (v: ProtocolVersion) => {
    const r = await h.one(v, 'GetAttributes', [uidItem(uid), text(Tag.AttributeName, 'Link')]);
    return r.payload!.value.filter((i) => i.tag === Tag.Attribute).map((a) => {
      const s = a as StructureItem;
      const index = s.value.find((i) => i.tag === Tag.AttributeIndex);
      const value = s.value.find((i) => i.tag === Tag.AttributeValue) as StructureItem;
      const target = value.value.find((i) => i.tag === Tag.LinkedObjectIdentifier);
      return `${index?.value ?? 0}:${target?.value}`;
    });
  };
  t.deepEqual(await links({ major: 1, minor: 1 }), ['1:older']);
  t.deepEqual(await links(V1_2), ['0:newer', '1:older']);
});
