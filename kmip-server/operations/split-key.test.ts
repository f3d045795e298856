import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, KeyFormatType as F, LinkType, ObjectType, ResultReason, SecretDataType,
  SplitKeyMethod as M,
} from '../ttlv/enums.ts';
import { ItemType, bigInt, bool, bytes, enumeration, int, struct, type TtlvItem } from '../ttlv/types.ts';
import type { ProtocolVersion } from '../client/client.ts';
import { V1_2, V1_4, V2_1, createKey, harness, identity, nameValue, uidItem, uidOf, uidsOf, type Harness } from './harness.fixture.ts';
import { attributes2x, container, keyBlockOf, links, nameValues, objectOf, ok } from './key-ops.fixture.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

function splitPayload(version: ProtocolVersion, uid: string | undefined, parts: number, threshold: number, method: number, attrs: TtlvItem[] = [], extra: TtlvItem[] = []): TtlvItem[] {
  return [
    enumeration(Tag.ObjectType, ObjectType.SplitKey),
    ...(uid === undefined ? [] : [uidItem(uid)]),
    int(Tag.SplitKeyParts, parts),
    int(Tag.SplitKeyThreshold, threshold),
    enumeration(Tag.SplitKeyMethod, method),
    ...extra,
    container(version, Tag.TemplateAttribute, Tag.Attributes, attrs),
  ];
}

const aes128 = (): TtlvItem[] => [
  enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128), int(Tag.CryptographicUsageMask, Mask.Encrypt | Mask.Decrypt),
];

function joinPayload(version: ProtocolVersion, uids: readonly string[], attrs: TtlvItem[] = aes128(), objectType: number = ObjectType.SymmetricKey): TtlvItem[] {
  return [enumeration(Tag.ObjectType, objectType), ...uids.map(uidItem), ...(attrs.length ? [container(version, Tag.TemplateAttribute, Tag.Attributes, attrs)] : [])];
}

async function keyBytes(h: Harness, uid: string): Promise<string> {
  const block = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(uid)])));
  const kv = block.value.find((i) => i.tag === Tag.KeyValue);
  const m = kv?.type === ItemType.Structure ? kv.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
  if (m?.type !== ItemType.ByteString) throw new Error('no key material');
  return hex(m.value);
}

async function split(h: Harness, version: ProtocolVersion, uid: string | undefined, parts: number, threshold: number, method: number, attrs: TtlvItem[] = [], extra: TtlvItem[] = []): Promise<string[]> {
  return uidsOf(ok(await h.one(version, 'CreateSplitKey', splitPayload(version, uid, parts, threshold, method, attrs, extra))));
}

const reason = async (h: Harness, version: ProtocolVersion, op: string, payload: TtlvItem[]): Promise<number | undefined> => {
  const r = await h.one(version, op, payload);
  return r.status === 0 ? undefined : r.reason;
};

for (const [name, method, parts, threshold] of [
  ['GF(2^8)', M.PolynomialSharingGF2_8, 5, 3],
  ['GF(2^16)', M.PolynomialSharingGF2_16, 4, 2],
  ['prime field', M.PolynomialSharingPrimeField, 4, 3],
  ['XOR', M.XOR, 3, 3],
] as const) {
  test(`Create Split Key (${name}) of an existing key: any ${threshold} of ${parts} parts join to it, fewer fail`, async (t) => {
    const h = harness();
    const key = await createKey(h, V1_4, [nameValue('sk-1')]);
    const original = await keyBytes(h, key);
    const uids = await split(h, V1_4, key, parts, threshold, method);
    t.is(uids.length, parts);

    // Each part: a Split Key with its fields, Raw material, the key's algorithm and length, a Parent Link.
    for (const [i, uid] of uids.entries()) {
      const r = ok(await h.one(V1_4, 'Get', [uidItem(uid)]));
      const sk = objectOf(r);
      t.is(sk.tag, Tag.SplitKey);
      const num = (tag: number): unknown => sk.value.find((x) => x.tag === tag)?.value;
      t.is(num(Tag.SplitKeyParts), parts);
      t.is(num(Tag.KeyPartIdentifier), i + 1);
      t.is(num(Tag.SplitKeyThreshold), threshold);
      t.is(num(Tag.SplitKeyMethod), method);
      t.is(sk.value.some((x) => x.tag === Tag.PrimeFieldSize && x.type === ItemType.BigInteger), method === M.PolynomialSharingPrimeField);
      const block = keyBlockOf(r);
      t.deepEqual(block.value.filter((x) => x.tag !== Tag.KeyValue), [enumeration(Tag.KeyFormatType, F.Raw), enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128)]);
      const a = await attributes2x(h, uid);
      t.deepEqual(links(a.get(Tag.Link)), [[LinkType.ParentLink, key]]);
      t.deepEqual(a.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Encrypt | Mask.Decrypt)]);
      t.deepEqual(a.get(Tag.ObjectType), [enumeration(Tag.ObjectType, ObjectType.SplitKey)]);
    }
    t.deepEqual(links((await attributes2x(h, key)).get(Tag.Link)), uids.map((u) => [LinkType.ChildLink, u]));

    for (const subset of subsets(uids, threshold)) {
      const joined = uidOf(ok(await h.one(V1_4, 'JoinSplitKey', joinPayload(V1_4, subset))));
      t.is(await keyBytes(h, joined), original);
    }
    // More than the threshold, in any order.
    if (parts > threshold) t.is(await keyBytes(h, uidOf(ok(await h.one(V1_4, 'JoinSplitKey', joinPayload(V1_4, [...uids].reverse()))))), original);
    for (const subset of subsets(uids, threshold - 1)) {
      t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, subset)), ResultReason.CryptographicFailure);
    }
    // A part named twice counts once.
    t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, Array.from({ length: threshold }, () => uids[0]!))), threshold > 1 ? ResultReason.CryptographicFailure : undefined);
  });
}

test('Create Split Key: ID Placeholder is part 1; Join sets it to the new key', async (t) => {
  const h = harness();
  const key = await createKey(h, V1_4);
  const [r1, r2] = await h.send(V1_4, [
    { operation: 'CreateSplitKey', payload: splitPayload(V1_4, key, 3, 2, M.PolynomialSharingGF2_8) },
    { operation: 'Get', payload: [] },
  ]);
  const uids = uidsOf(ok(r1!));
  t.is(uidOf(ok(r2!)), uids[0]!);
  t.is(objectOf(r2!).value.find((i) => i.tag === Tag.KeyPartIdentifier)?.value, 1);
  const [j, g] = await h.send(V1_4, [
    { operation: 'JoinSplitKey', payload: joinPayload(V1_4, [uids[2]!, uids[1]!]) },
    { operation: 'Get', payload: [] },
  ]);
  t.is(uidOf(ok(g!)), uidOf(ok(j!)));
  t.is(objectOf(g!).tag, Tag.SymmetricKey);
  // Join never falls back to the ID Placeholder: it needs identifiers.
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [])), ResultReason.MissingData);
});

test('Create Split Key without a Unique Identifier makes the key from the request; only the parts are kept', async (t) => {
  const h = harness();
  const attrs = [enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 256), int(Tag.CryptographicUsageMask, Mask.Encrypt), nameValue('gen-split')];
  const uids = await split(h, V1_4, undefined, 3, 2, M.PolynomialSharingGF2_8, attrs);
  t.is(uids.length, 3);
  const located = uidsOf(ok(await h.one(V1_4, 'Locate', [])));
  t.deepEqual([...located].sort(), [...uids].sort());
  const a = await attributes2x(h, uids[1]!);
  t.deepEqual(nameValues(a.get(Tag.Name)), ['gen-split']);
  t.is(a.get(Tag.Link), undefined);
  t.deepEqual(a.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 256)]);
  const j1 = uidOf(ok(await h.one(V1_4, 'JoinSplitKey', joinPayload(V1_4, [uids[0]!, uids[1]!], []))));
  const j2 = uidOf(ok(await h.one(V1_4, 'JoinSplitKey', joinPayload(V1_4, [uids[2]!, uids[1]!], []))));
  t.is(await keyBytes(h, j1), await keyBytes(h, j2));
  t.is((await keyBytes(h, j1)).length, 64);
  // The joined key takes the parts' algorithm, length and usage mask when the request gives none.
  const ja = await attributes2x(h, j1);
  t.deepEqual(ja.get(Tag.CryptographicAlgorithm), [enumeration(Tag.CryptographicAlgorithm, Alg.AES)]);
  t.deepEqual(ja.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Encrypt)]);
  // Without attributes and without a key there is nothing to make.
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, undefined, 3, 2, M.PolynomialSharingGF2_8)), ResultReason.MissingData);
});

test('2.1: Create Split Key and Join Split Key with Attributes; a prime field of the client\'s choice', async (t) => {
  const h = harness();
  const key = await createKey(h, V2_1, [], undefined);
  const prime = 2n ** 521n - 1n;
  const uids = await split(h, V2_1, key, 4, 2, M.PolynomialSharingPrimeField, [], [bigInt(Tag.PrimeFieldSize, prime)]);
  const sk = objectOf(ok(await h.one(V2_1, 'Get', [uidItem(uids[3]!)])));
  t.deepEqual(sk.value.find((i) => i.tag === Tag.PrimeFieldSize), bigInt(Tag.PrimeFieldSize, prime));
  const joined = uidOf(ok(await h.one(V2_1, 'JoinSplitKey', joinPayload(V2_1, [uids[3]!, uids[0]!]))));
  t.is(await keyBytes(h, joined), await keyBytes(h, key));
  // A prime not above 2^L, a composite one.
  t.is(await reason(h, V2_1, 'CreateSplitKey', splitPayload(V2_1, key, 4, 2, M.PolynomialSharingPrimeField, [], [bigInt(Tag.PrimeFieldSize, 2n ** 127n - 1n)])), ResultReason.InvalidField);
  t.is(await reason(h, V2_1, 'CreateSplitKey', splitPayload(V2_1, key, 4, 2, M.PolynomialSharingPrimeField, [], [bigInt(Tag.PrimeFieldSize, 2n ** 130n)])), ResultReason.InvalidField);
  // Wrong object types: 2.x says Invalid Object Type.
  t.is(await reason(h, V2_1, 'JoinSplitKey', joinPayload(V2_1, [key, uids[0]!])), ResultReason.InvalidObjectType);
  t.is(await reason(h, V2_1, 'JoinSplitKey', joinPayload(V2_1, [uids[0]!, uids[1]!], aes128(), ObjectType.PrivateKey)), ResultReason.InvalidObjectType);
  t.is(await reason(h, V2_1, 'CreateSplitKey', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), ...splitPayload(V2_1, key, 4, 2, M.XOR).slice(1)]), ResultReason.InvalidObjectType);
});

test('wrong parts: another split of the same key, mixed parameters, a non-Split-Key', async (t) => {
  const h = harness();
  const key = await createKey(h, V1_4);
  const a = await split(h, V1_4, key, 4, 2, M.PolynomialSharingGF2_8);
  const b = await split(h, V1_4, key, 4, 2, M.PolynomialSharingGF2_8);
  const c = await split(h, V1_4, key, 5, 2, M.PolynomialSharingGF2_8);
  const other = await split(h, V1_4, await createKey(h, V1_4), 4, 2, M.PolynomialSharingGF2_8);
  // Exactly the threshold, from two splits of one key: the key they came from tells.
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, b[1]!])), ResultReason.CryptographicFailure);
  // Parts of two different keys.
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, other[1]!])), ResultReason.CryptographicFailure);
  // Other parameters.
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, c[1]!])), ResultReason.InvalidField);
  // Not a Split Key (1.x: Invalid Field).
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, key])), ResultReason.InvalidField);
  // Once the key is destroyed, more than the threshold still catches a stray part.
  ok(await h.one(V1_4, 'Destroy', [uidItem(key)]));
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, a[1]!, b[2]!])), ResultReason.CryptographicFailure);
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, a[1]!, a[2]!])), undefined);
  // A template asking for another length than the parts hold.
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, a[1]!], [enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 256)])), ResultReason.InvalidField);
  // Unknown identifiers.
  t.is(await reason(h, V1_4, 'JoinSplitKey', joinPayload(V1_4, [a[0]!, 'nope'])), ResultReason.ItemNotFound);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, 'nope', 4, 2, M.XOR)), ResultReason.ItemNotFound);
});

test('bad split parameters are Invalid Field', async (t) => {
  const h = harness();
  const key = await createKey(h, V1_4);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, key, 4, 2, M.XOR)), ResultReason.InvalidField);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, key, 2, 3, M.PolynomialSharingGF2_8)), ResultReason.InvalidField);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, key, 300, 3, M.PolynomialSharingGF2_8)), ResultReason.InvalidField);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, key, 3, 2, 0x80000001)), ResultReason.InvalidField);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, key, 3, 2, M.XOR, [enumeration(Tag.KeyFormatType, F.TransparentSymmetricKey)])), ResultReason.InvalidField);
});

test('a non-extractable key is not split; the parts of a Sensitive key are Sensitive, and so is their join', async (t) => {
  const h = harness();
  const locked = await createKey(h, V2_1, [bool(Tag.Extractable, false)]);
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, locked, 3, 2, M.PolynomialSharingGF2_8)), ResultReason.NotExtractable);
  const sensitive = await createKey(h, V2_1, [bool(Tag.Sensitive, true)]);
  const uids = await split(h, V1_4, sensitive, 3, 2, M.PolynomialSharingGF2_8);
  t.deepEqual((await attributes2x(h, uids[0]!)).get(Tag.Sensitive), [bool(Tag.Sensitive, true)]);
  t.is(await reason(h, V1_4, 'Get', [uidItem(uids[0]!)]), ResultReason.Sensitive);
  const joined = uidOf(ok(await h.one(V1_4, 'JoinSplitKey', joinPayload(V1_4, [uids[0]!, uids[2]!]))));
  t.deepEqual((await attributes2x(h, joined)).get(Tag.Sensitive), [bool(Tag.Sensitive, true)]);
});

test('Secret Data: split and joined back as Secret Data of the requested type', async (t) => {
  const h = harness();
  const secret = Buffer.from('correct horse battery staple!!');
  const reg = ok(await h.one(V1_4, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.SecretData),
    container(V1_4, Tag.TemplateAttribute, Tag.Attributes, [int(Tag.CryptographicUsageMask, Mask.DeriveKey)]),
    struct(Tag.SecretData, [
      enumeration(Tag.SecretDataType, SecretDataType.Password),
      struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, secret)])]),
    ]),
  ]));
  const uids = await split(h, V1_4, uidOf(reg), 3, 2, M.PolynomialSharingGF2_16);
  const joined = uidOf(ok(await h.one(V1_4, 'JoinSplitKey', [
    enumeration(Tag.ObjectType, ObjectType.SecretData), uidItem(uids[2]!), uidItem(uids[0]!), enumeration(Tag.SecretDataType, SecretDataType.Password),
  ])));
  const got = objectOf(ok(await h.one(V1_4, 'Get', [uidItem(joined)])));
  t.is(got.tag, Tag.SecretData);
  t.deepEqual(got.value.find((i) => i.tag === Tag.SecretDataType), enumeration(Tag.SecretDataType, SecretDataType.Password));
  t.is(await keyBytes(h, joined), hex(secret));
  // A 31-byte secret is not whole 16-bit pieces: GF(2^16) refuses it.
  const odd = ok(await h.one(V1_4, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.SecretData),
    container(V1_4, Tag.TemplateAttribute, Tag.Attributes, [int(Tag.CryptographicUsageMask, Mask.DeriveKey)]),
    struct(Tag.SecretData, [
      enumeration(Tag.SecretDataType, SecretDataType.Seed),
      struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.alloc(31, 7))])]),
    ]),
  ]));
  t.is(await reason(h, V1_4, 'CreateSplitKey', splitPayload(V1_4, uidOf(odd), 3, 2, M.PolynomialSharingGF2_16)), ResultReason.InvalidField);
});

test('registered Split Keys (the TC_SJ_3 parts) join; other scopes see none of it', async (t) => {
  const h = harness();
  const shares = ['66C46A7754F94DE420C7B1A7FFF5EC56', 'CF93D1E2A7E593CD5B8D6247F4E5D49C', 'A855B891F61AD9217240D8EC061E37DA', '803DBAD55CDD329FAD19D99AE2C5A415'];
  const uids: string[] = [];
  for (const [i, s] of shares.entries()) {
    uids.push(uidOf(ok(await h.one(V1_2, 'Register', [
      enumeration(Tag.ObjectType, ObjectType.SplitKey),
      container(V1_2, Tag.TemplateAttribute, Tag.Attributes, []),
      struct(Tag.SplitKey, [
        int(Tag.SplitKeyParts, 4), int(Tag.KeyPartIdentifier, i + 1), int(Tag.SplitKeyThreshold, 2), enumeration(Tag.SplitKeyMethod, M.PolynomialSharingGF2_8),
        struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Raw), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from(s, 'hex'))])]),
      ]),
    ]))));
  }
  const joined = uidOf(ok(await h.one(V1_2, 'JoinSplitKey', joinPayload(V1_2, [uids[1]!, uids[3]!]))));
  t.is(await keyBytes(h, joined), '0102030405060708090a0b0c0d0e0f10');
  const other = identity('scope-b');
  const r = await h.one(V1_2, 'JoinSplitKey', joinPayload(V1_2, [uids[1]!, uids[3]!]), other);
  t.is(r.reason, ResultReason.ItemNotFound);
});
