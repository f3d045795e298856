import test from 'ava';
import { createCipheriv, randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  BlockCipherMode, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, EncodingOption, KeyFormatType as F, KeyWrapType, ObjectType, Operation,
  QueryFunction, ResultReason, State, WrappingMethod,
} from '../ttlv/enums.ts';
import { ItemType, bool, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import type { BatchResult, ProtocolVersion } from '../client/client.ts';
import { V1_2, V1_4, V2_0, V2_1, createKey, harness, identity, uidItem, uidOf, type Harness } from './harness.fixture.ts';
import { attributes2x, keyBlockOf, ok } from './key-ops.fixture.ts';
import { activeSince, mask, params, registerSymmetric, symmetricBody } from './crypto-ops.fixture.ts';
import { ALL_PERMISSIONS } from './permissions.ts';

const V1_3: ProtocolVersion = { major: 1, minor: 3 };

/** The pieces of an Export answer: Object Type, Unique Identifier, attributes (2.x structure or 1.4 items), object. */
function exported(r: BatchResult): { type: TtlvItem; uid: string; attrs: TtlvItem[]; object?: StructureItem; raw: TtlvItem[] } {
  const items = ok(r).payload!.value;
  const [type, uid] = items;
  if (type?.tag !== Tag.ObjectType || uid?.type !== ItemType.TextString) throw new Error('Export answer does not start with Object Type, Unique Identifier');
  const attrs = items.flatMap((i) => (i.tag === Tag.Attributes && i.type === ItemType.Structure ? i.value : i.tag === Tag.Attribute ? [i] : []));
  const object = items.find((i): i is StructureItem => i.type === ItemType.Structure && i.tag !== Tag.Attributes && i.tag !== Tag.Attribute);
  return { type, uid: uid.value, attrs, ...(object ? { object } : {}), raw: items };
}

/** An Import payload from an Export answer (the shapes match: Export is made to be imported back). */
function importPayload(v: ProtocolVersion, e: ReturnType<typeof exported>, extra: TtlvItem[] = []): TtlvItem[] {
  return [
    uidItem(e.uid), e.type, ...extra,
    ...(v.major >= 2 ? [struct(Tag.Attributes, e.attrs)] : e.attrs),
    ...(e.object ? [e.object] : []),
  ];
}

const material = (r: BatchResult): string => {
  const kv = keyBlockOf(ok(r)).value.find((i) => i.tag === Tag.KeyValue);
  const m = kv?.type === ItemType.Structure ? kv.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
  if (m?.type !== ItemType.ByteString) throw new Error('no Key Material');
  return Buffer.from(m.value).toString('hex');
};

async function exportedKey(h: Harness, v: ProtocolVersion) {
  const uid = await createKey(h, v, [activeSince()], undefined);
  return { uid, e: exported(await h.one(v, 'Export', [uidItem(uid)])) };
}

test('Export returns the object as Get does, with all of its attributes; Import on another server restores both', async (t) => {
  for (const v of [V1_4, V2_0, V2_1]) {
    const a = harness();
    const { uid, e } = await exportedKey(a, v);
    t.is(e.uid, uid);
    t.deepEqual(e.object, ok(await a.one(v, 'Get', [uidItem(uid)])).payload!.value[2]);
    const before = await attributes2x(a, uid);
    t.true(before.has(Tag.State) && before.has(Tag.InitialDate) && before.has(Tag.Digest) && before.has(Tag.CryptographicUsageMask));
    // Every attribute the version knows (as Get Attributes lists them), Fresh already cleared by serving the object.
    const all = ok(await a.one(v, 'GetAttributes', [uidItem(uid)])).payload!.value.slice(1);
    t.deepEqual(e.attrs, v.major >= 2 ? (all[0] as StructureItem).value : all);
    if (v.major >= 2) t.true(e.attrs.some((i) => i.tag === Tag.Fresh && i.value === false));

    const b = harness();
    t.is(uidOf(ok(await b.one(v, 'Import', importPayload(v, e)))), uid);
    t.is(material(await b.one(v, 'Get', [uidItem(uid)])), material(await a.one(v, 'Get', [uidItem(uid)])));
    // Server-set attributes are the supplied values, not new ones.
    const after = await attributes2x(b, uid);
    for (const tag of [Tag.State, Tag.InitialDate, Tag.Digest, Tag.ActivationDate, Tag.CryptographicUsageMask, Tag.LastChangeDate]) {
      t.deepEqual(after.get(tag), before.get(tag), `attribute 0x${tag.toString(16)} at ${v.major}.${v.minor}`);
    }
  }
});

test('Import needs Replace Existing to replace an object; replacing keeps the identifier', async (t) => {
  const h = harness();
  const { uid, e } = await exportedKey(h, V2_1);
  const again = await h.one(V2_1, 'Import', importPayload(V2_1, e));
  t.is(again.reason, ResultReason.ObjectAlreadyExists);
  const other = randomBytes(16);
  const replacement = { ...e, object: symmetricBody(other, Alg.AES) };
  const attrs = e.attrs.filter((a) => a.tag !== Tag.Digest);
  ok(await h.one(V2_1, 'Import', importPayload(V2_1, { ...replacement, attrs }, [bool(Tag.ReplaceExisting, true)])));
  t.is(material(await h.one(V2_1, 'Get', [uidItem(uid)])), other.toString('hex'));
  t.is((await h.store.count('scope-a')), 1);
  // The ID Placeholder carries the imported identifier to the next item.
  const batch = await h.send(V2_1, [
    { operation: 'Import', payload: importPayload(V2_1, { ...e, uid: 'fresh-id', attrs: e.attrs.filter((a) => a.tag !== Tag.UniqueIdentifier) }) },
    { operation: 'GetAttributes', payload: [] },
  ]);
  t.is(uidOf(ok(batch[1]!)), 'fresh-id');
});

test('Import never touches another scope\'s object; Export does not see it', async (t) => {
  const h = harness();
  const { uid, e } = await exportedKey(h, V2_1);
  const before = material(await h.one(V2_1, 'Get', [uidItem(uid)]));
  const b = identity('scope-b');
  t.is((await h.one(V2_1, 'Export', [uidItem(uid)], b)).reason, ResultReason.ObjectNotFound);
  t.is((await h.one(V1_4, 'Export', [uidItem(uid)], b)).reason, ResultReason.ItemNotFound);
  const stolen = { ...e, object: symmetricBody(randomBytes(16), Alg.AES), attrs: e.attrs.filter((a) => a.tag !== Tag.Digest) };
  for (const replace of [false, true]) {
    const r = await h.one(V2_1, 'Import', importPayload(V2_1, stolen, [bool(Tag.ReplaceExisting, replace)]), b);
    t.is(r.reason, ResultReason.ObjectAlreadyExists);
    t.notRegex(r.message ?? '', /scope/);
  }
  t.is(material(await h.one(V2_1, 'Get', [uidItem(uid)])), before);
  t.is(await h.store.count('scope-b'), 0);
});

test('Import and Export are KMIP 1.4+ operations, each allowed by its own role permission', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  for (const v of [V1_2, V1_3]) {
    t.is((await h.one(v, 'Export', [uidItem(uid)])).reason, ResultReason.OperationNotSupported);
    t.is((await h.one(v, 'Import', [uidItem('x'), enumeration(Tag.ObjectType, ObjectType.SymmetricKey), symmetricBody(randomBytes(16), Alg.AES)])).reason, ResultReason.OperationNotSupported);
  }
  const noExport = identity('scope-a', ALL_PERMISSIONS.filter((p) => p !== 'operation_export'));
  t.is((await h.one(V2_1, 'Export', [uidItem(uid)], noExport)).reason, ResultReason.PermissionDenied);
  const noImport = identity('scope-a', ALL_PERMISSIONS.filter((p) => p !== 'operation_import'));
  t.is((await h.one(V2_1, 'Import', [uidItem('y'), enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.Attributes, []), symmetricBody(randomBytes(16), Alg.AES)], noImport)).reason, ResultReason.PermissionDenied);

  // Query lists them from 1.4 on (and Validate, a 1.0 operation, everywhere).
  const ops = async (v: ProtocolVersion) => ok(await h.one(v, 'Query', [enumeration(Tag.QueryFunction, QueryFunction.QueryOperations)])).payload!.value.map((i) => i.value);
  for (const v of [V1_4, V2_1]) {
    const listed = await ops(v);
    t.true(listed.includes(Operation.Import) && listed.includes(Operation.Export) && listed.includes(Operation.Validate), `${v.major}.${v.minor}`);
  }
  const old = await ops(V1_3);
  t.false(old.includes(Operation.Import) || old.includes(Operation.Export));
  t.true(old.includes(Operation.Validate));
});

test('Import checks the object and the identity attributes as Register does', async (t) => {
  const h = harness();
  const body = symmetricBody(randomBytes(16), Alg.AES);
  const imp = (items: TtlvItem[], attrs: TtlvItem[] = [], o: TtlvItem | null = body) =>
    h.one(V2_1, 'Import', [...items, struct(Tag.Attributes, attrs), ...(o ? [o] : [])]);
  const sym = enumeration(Tag.ObjectType, ObjectType.SymmetricKey);
  t.is((await imp([uidItem('a'), sym], [text(Tag.UniqueIdentifier, 'b')])).reason, ResultReason.InvalidField);
  t.is((await imp([uidItem('a'), sym], [enumeration(Tag.ObjectType, ObjectType.SecretData)])).reason, ResultReason.InvalidField);
  t.is((await imp([uidItem('a'), sym], [int(Tag.CryptographicLength, 256)])).reason, ResultReason.InvalidField);
  t.is((await imp([uidItem('a'), sym], [], null)).reason, ResultReason.MissingData);
  t.is((await imp([uidItem(''), sym])).reason, ResultReason.InvalidField);
  t.is((await imp([sym])).reason, ResultReason.MissingData);
  t.is(await h.store.count('scope-a'), 0);
  // Attributes not given get Register's values.
  ok(await imp([uidItem('a'), sym], [int(Tag.CryptographicUsageMask, Mask.Encrypt)]));
  const attrs = await attributes2x(h, 'a');
  t.deepEqual(attrs.get(Tag.State), [enumeration(Tag.State, State.PreActive)]);
  t.deepEqual(attrs.get(Tag.UniqueIdentifier), [text(Tag.UniqueIdentifier, 'a')]);
});

test('Import stores a wrapped key as given, or unwraps it first with Key Wrap Type Not Wrapped', async (t) => {
  const h = harness();
  const kekBytes = randomBytes(32);
  const kek = await registerSymmetric(h, V2_1, kekBytes, Alg.AES, [mask(Mask.WrapKey | Mask.UnwrapKey), activeSince()]);
  const key = randomBytes(32);
  const c = createCipheriv('id-aes256-wrap', kekBytes, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  const wrapped = Buffer.concat([c.update(key), c.final()]);
  const body = struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, F.Raw), bytes(Tag.KeyValue, wrapped), enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 256),
    struct(Tag.KeyWrappingData, [
      enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt), struct(Tag.EncryptionKeyInformation, [uidItem(kek), params(enumeration(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap))]),
      enumeration(Tag.EncodingOption, EncodingOption.NoEncoding),
    ]),
  ])]);
  const sym = enumeration(Tag.ObjectType, ObjectType.SymmetricKey);
  ok(await h.one(V2_1, 'Import', [uidItem('as-given'), sym, struct(Tag.Attributes, []), body]));
  const stored = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem('as-given')])));
  t.truthy(stored.value.find((i) => i.tag === Tag.KeyWrappingData));
  ok(await h.one(V2_1, 'Import', [uidItem('plain'), sym, enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped), struct(Tag.Attributes, []), body]));
  t.is(material(await h.one(V2_1, 'Get', [uidItem('plain')])), key.toString('hex'));
  // Unwrapped, the key is checked and usable; its digest is the plaintext's.
  const attrs = await attributes2x(h, 'plain');
  t.truthy(attrs.get(Tag.Digest));
});

test('a destroyed object exports without its material and imports as destroyed', async (t) => {
  const a = harness();
  const uid = await createKey(a, V2_1);
  ok(await a.one(V2_1, 'Destroy', [uidItem(uid)]));
  const e = exported(await a.one(V2_1, 'Export', [uidItem(uid)]));
  t.is(e.object, undefined);
  t.true(e.attrs.some((i) => i.tag === Tag.State && i.value === State.Destroyed));
  const b = harness();
  ok(await b.one(V2_1, 'Import', importPayload(V2_1, e)));
  t.is((await b.one(V2_1, 'Get', [uidItem(uid)])).reason, ResultReason.ObjectDestroyed);
  t.deepEqual((await attributes2x(b, uid)).get(Tag.State), [enumeration(Tag.State, State.Destroyed)]);
});
