/**
 * The request shapes real KMIP clients send (test/../shared/design/INTEROP.md, "MongoDB, Percona, pg_tde,
 * MySQL, vSphere, storage arrays"), sent item for item over real mutual TLS to the dev server:
 *
 *   - libmongocrypt (CSFLE/QE): Register Secret Data (Seed, Raw, 96 bytes, Usage Mask 0), Activate, Get at 1.0;
 *     delegated mode at 1.2: Create AES-256, Activate, Encrypt {CBC, PKCS5, AES, Random IV} and Decrypt with the
 *     IV the server made;
 *   - pg_tde (libkmip): Register a Symmetric Key at 1.4, then Locate {Object Type, Name} (Maximum Items 16) and
 *     Get at 1.0 on the same connection;
 *   - Percona Server for MongoDB (1.0): Register the master key (Pre-Active), Activate, Get Attributes State;
 *   - a storage array: one 4-item batch at 1.0 (Query, Locate on x-ResourceID/x-SystemID, Get as Opaque,
 *     Get Attributes) chained by the ID Placeholder.
 *
 * The messages are built by hand (no helper rewrites them) so the bytes on the wire are the clients' shapes.
 * Every response is checked to be in the request's version, and to carry no tag (and, in 1.x Get Attributes,
 * no attribute name) that the request's version does not have.
 */
import test, { type ExecutionContext } from 'ava';
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { parseResponse, type BatchResult, type ParsedResponse } from '../../kmip-server/client/client.ts';
import type { KmipConnection } from '../../kmip-server/client/connection.ts';
import {
  BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, NameType, ObjectType, Operation,
  PaddingMethod, QueryFunction, ResultStatus, SecretDataType, State,
} from '../../kmip-server/ttlv/enums.ts';
import { enumValueDef, tagByName, tagName, tagSince, type Version } from '../../kmip-server/ttlv/spec/names.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import {
  ItemType, bool, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem,
} from '../../kmip-server/ttlv/types.ts';
import { startDevServer, suiteTeardown, type DevServer } from '../helpers/dev-server.ts';
import { rawConnection } from '../helpers/kmip.ts';
import { attributeNamesNewerThan, enumValuesNewerThan, tagsNewerThan } from '../helpers/wire-versions.ts';

// ---------------------------------------------------------------------------------------------------------------
// Wire shapes

type V = readonly [major: number, minor: number];
const V10: V = [1, 0];
const V12: V = [1, 2];
const V14: V = [1, 4];
const vName = (v: V): Version => `${v[0]}.${v[1]}` as Version;

interface Item {
  op: number;
  payload: TtlvItem[];
  id?: Uint8Array;
}

/** Request Message {Request Header {Protocol Version, Batch Count}, Batch Item...}: what these clients send. */
function message(v: V, items: Item[]): StructureItem {
  return struct(Tag.RequestMessage, [
    struct(Tag.RequestHeader, [
      struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, v[0]), int(Tag.ProtocolVersionMinor, v[1])]),
      int(Tag.BatchCount, items.length),
    ]),
    ...items.map((i) =>
      struct(Tag.BatchItem, [
        enumeration(Tag.Operation, i.op),
        ...(i.id ? [bytes(Tag.UniqueBatchItemID, i.id)] : []),
        struct(Tag.RequestPayload, i.payload),
      ]),
    ),
  ]);
}

/** A 1.x Attribute {Attribute Name, Attribute Value}. */
const attr = (name: string, value: TtlvItem): StructureItem =>
  struct(Tag.Attribute, [text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue } as TtlvItem]);
const templateAttribute = (...attrs: StructureItem[]): StructureItem => struct(Tag.TemplateAttribute, attrs);
const nameValue = (name: string): StructureItem =>
  struct(Tag.Name, [text(Tag.NameValue, name), enumeration(Tag.NameType, NameType.UninterpretedTextString)]);
const uid = (u: string): TtlvItem => text(Tag.UniqueIdentifier, u);
const keyBlock = (format: number, material: Uint8Array, algorithm?: number, length?: number): StructureItem =>
  struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, format),
    struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, material)]),
    ...(algorithm !== undefined ? [enumeration(Tag.CryptographicAlgorithm, algorithm)] : []),
    ...(length !== undefined ? [int(Tag.CryptographicLength, length)] : []),
  ]);

// ---------------------------------------------------------------------------------------------------------------
// Reading responses

const kids = (s: StructureItem | undefined, t: number): TtlvItem[] => (s ? s.value.filter((c) => c.tag === t) : []);
const one = (s: StructureItem | undefined, t: number): TtlvItem | undefined => kids(s, t)[0];
const structOf = (i: TtlvItem | undefined): StructureItem | undefined => (i?.type === ItemType.Structure ? i : undefined);
const textOf = (i: TtlvItem | undefined): string | undefined => (i?.type === ItemType.TextString ? i.value : undefined);
const enumOf = (i: TtlvItem | undefined): number | undefined => (i?.type === ItemType.Enumeration ? i.value : undefined);
const intOf = (i: TtlvItem | undefined): number | undefined => (i?.type === ItemType.Integer ? i.value : undefined);
const bytesOf = (i: TtlvItem | undefined): Buffer | undefined => (i?.type === ItemType.ByteString ? Buffer.from(i.value) : undefined);
const hex = (t: number): string => `0x${t.toString(16).toUpperCase()}`;

interface Exchange {
  res: ParsedResponse;
  items: BatchResult[];
}

/** Sends `items` at version `v`, checks the response's shape against the request, returns it. */
async function send(t: ExecutionContext, conn: KmipConnection, v: V, items: Item[]): Promise<Exchange> {
  const raw = await conn.send(message(v, items));
  const res = parseResponse(raw);
  const what = items.map((i) => hex(i.op)).join('+');
  t.deepEqual(res.version, { major: v[0], minor: v[1] }, `${what}: the response is in the request's version`);
  const header = structOf(one(raw as StructureItem, Tag.ResponseHeader));
  t.is(intOf(one(header, Tag.BatchCount)), items.length, `${what}: Batch Count`);
  t.is(typeof res.timeStamp, 'number', `${what}: the response header has a Time Stamp`);
  t.is(res.items.length, items.length, `${what}: one response batch item per request batch item`);
  t.deepEqual(tagsNewerThan(raw, vName(v)), [], `${what}: no tag newer than ${vName(v)} in the response`);
  if (v[0] === 1) t.deepEqual(attributeNamesNewerThan(raw, vName(v)), [], `${what}: no attribute newer than ${vName(v)} in the response`);
  t.deepEqual(enumValuesNewerThan(raw, vName(v)), [], `${what}: no enumeration value newer than ${vName(v)} in the response`);
  res.items.forEach((r, i) => {
    t.is(r.operation, items[i]!.op, `item ${i}: the response echoes the operation`);
    if (items[i]!.id) t.deepEqual(r.uniqueBatchItemId && Buffer.from(r.uniqueBatchItemId), Buffer.from(items[i]!.id!), `item ${i}: Unique Batch Item ID echoed`);
  });
  return { res, items: res.items };
}

/** The one batch item of an exchange, asserted successful. */
function ok(t: ExecutionContext, ex: Exchange, i = 0): StructureItem {
  const r = ex.items[i]!;
  t.is(r.status, ResultStatus.Success, `${r.operationName ?? 'item'} failed: ${r.reasonName ?? ''} ${r.message ?? ''}`);
  if (r.status !== ResultStatus.Success) throw new Error(`${r.operationName} failed: ${r.reasonName} ${r.message}`);
  t.truthy(r.payload, `${r.operationName}: a Response Payload`);
  return r.payload!;
}

const uidOf = (p: StructureItem): string => {
  const u = textOf(one(p, Tag.UniqueIdentifier));
  if (u === undefined) throw new Error('no Unique Identifier in the response payload');
  return u;
};

/** Key Material bytes of the object in a Get response payload (Key Block / Key Value / Key Material). */
function keyMaterial(p: StructureItem, objectTag: number): { format: number | undefined; material: Buffer | undefined; block: StructureItem | undefined } {
  const block = structOf(one(structOf(one(p, objectTag)), Tag.KeyBlock));
  const value = structOf(one(block, Tag.KeyValue));
  return { format: enumOf(one(block, Tag.KeyFormatType)), material: bytesOf(one(value, Tag.KeyMaterial)), block };
}

/** 1.x Get Attributes response: name -> values. */
function attrs1x(p: StructureItem): Map<string, TtlvItem[]> {
  const m = new Map<string, TtlvItem[]>();
  for (const a of kids(p, Tag.Attribute)) {
    const s = structOf(a)!;
    const n = textOf(one(s, Tag.AttributeName))!;
    m.set(n, [...(m.get(n) ?? []), one(s, Tag.AttributeValue)!]);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// One dev server for the suite

let server: DevServer;
const suite = suiteTeardown();
test.before(async () => {
  server = await startDevServer(suite);
});
test.after.always(() => suite.run());

const connect = (t: ExecutionContext) => rawConnection(server, t);
const ENC_DEC = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;

// ---------------------------------------------------------------------------------------------------------------
// libmongocrypt

test('libmongocrypt 1.0: Register Secret Data (Seed, Raw, 96 bytes, Usage Mask 0), Activate, Get', async (t) => {
  const conn = await connect(t);
  const secret = randomBytes(96);
  const reg = ok(t, await send(t, conn, V10, [{
    op: Operation.Register,
    payload: [
      enumeration(Tag.ObjectType, ObjectType.SecretData),
      templateAttribute(attr('Cryptographic Usage Mask', int(Tag.CryptographicUsageMask, 0))),
      struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Seed), keyBlock(KeyFormatType.Raw, secret)]),
    ],
  }]));
  const id = uidOf(reg);
  t.deepEqual(reg.value.map((c) => c.tag), [Tag.UniqueIdentifier], 'Register answers the Unique Identifier alone (no Template-Attribute back: nothing was changed)');

  const act = ok(t, await send(t, conn, V10, [{ op: Operation.Activate, payload: [uid(id)] }]));
  t.deepEqual(act.value, [uid(id)], 'Activate answers the Unique Identifier');

  const got = ok(t, await send(t, conn, V10, [{ op: Operation.Get, payload: [uid(id)] }]));
  t.is(enumOf(one(got, Tag.ObjectType)), ObjectType.SecretData);
  t.is(uidOf(got), id);
  const sd = structOf(one(got, Tag.SecretData));
  t.is(enumOf(one(sd, Tag.SecretDataType)), SecretDataType.Seed);
  const k = keyMaterial(got, Tag.SecretData);
  t.is(k.format, KeyFormatType.Raw);
  t.deepEqual(k.material, secret, 'Get returns the 96 registered bytes');
  t.deepEqual(kids(structOf(one(k.block, Tag.KeyValue)), Tag.Attribute), [], 'no attributes inside Key Value');
});

test('libmongocrypt delegated 1.2: Create AES-256, Activate, Encrypt {CBC, PKCS5, AES, Random IV}, Decrypt with the returned IV', async (t) => {
  const conn = await connect(t);
  const created = ok(t, await send(t, conn, V12, [{
    op: Operation.Create,
    payload: [
      enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
      templateAttribute(
        attr('Cryptographic Algorithm', enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES)),
        attr('Cryptographic Length', int(Tag.CryptographicLength, 256)),
        attr('Cryptographic Usage Mask', int(Tag.CryptographicUsageMask, ENC_DEC)),
      ),
    ],
  }]));
  t.is(enumOf(one(created, Tag.ObjectType)), ObjectType.SymmetricKey);
  const id = uidOf(created);
  ok(t, await send(t, conn, V12, [{ op: Operation.Activate, payload: [uid(id)] }]));

  const plaintext = randomBytes(96);
  const params = (randomIv: boolean) =>
    struct(Tag.CryptographicParameters, [
      enumeration(Tag.BlockCipherMode, BlockCipherMode.CBC),
      enumeration(Tag.PaddingMethod, PaddingMethod.PKCS5),
      enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
      ...(randomIv ? [bool(Tag.RandomIV, true)] : []),
    ]);
  const enc = ok(t, await send(t, conn, V12, [{ op: Operation.Encrypt, payload: [uid(id), params(true), bytes(Tag.Data, plaintext)] }]));
  t.is(uidOf(enc), id);
  const iv = bytesOf(one(enc, Tag.IVCounterNonce));
  const ciphertext = bytesOf(one(enc, Tag.Data));
  t.is(iv?.length, 16, 'the server made a 16-byte IV and returned it');
  t.is(ciphertext?.length, 112, '96 bytes + a full PKCS#5 padding block');
  t.deepEqual(enc.value.map((c) => c.tag).sort(), [Tag.UniqueIdentifier, Tag.Data, Tag.IVCounterNonce].sort(), 'Encrypt answers Unique Identifier, Data and IV only');

  // The ciphertext is AES-256-CBC/PKCS#7 of the plaintext under the key and that IV.
  const key = keyMaterial(ok(t, await send(t, conn, V12, [{ op: Operation.Get, payload: [uid(id)] }])), Tag.SymmetricKey).material!;
  t.is(key.length, 32);
  const c = createCipheriv('aes-256-cbc', key, iv!);
  t.deepEqual(ciphertext, Buffer.concat([c.update(plaintext), c.final()]), 'ciphertext = AES-256-CBC(key, IV, plaintext)');

  const dec = ok(t, await send(t, conn, V12, [{
    op: Operation.Decrypt,
    payload: [uid(id), params(false), bytes(Tag.Data, ciphertext!), bytes(Tag.IVCounterNonce, iv!)],
  }]));
  t.is(uidOf(dec), id);
  t.deepEqual(bytesOf(one(dec, Tag.Data)), plaintext, 'Decrypt with the returned IV gives the plaintext back');

  // A second Encrypt of the same data gets a fresh IV (Random IV is random).
  const enc2 = ok(t, await send(t, conn, V12, [{ op: Operation.Encrypt, payload: [uid(id), params(true), bytes(Tag.Data, plaintext)] }]));
  t.notDeepEqual(bytesOf(one(enc2, Tag.IVCounterNonce)), iv, 'each Encrypt makes a new IV');
});

// ---------------------------------------------------------------------------------------------------------------
// pg_tde (libkmip)

test('pg_tde (libkmip): Register a Symmetric Key at 1.4, then Locate {Object Type, Name} (Maximum Items 16) and Get at 1.0 on the same connection', async (t) => {
  const conn = await connect(t);
  const key = randomBytes(32);
  const name = `pg_tde_${randomUUID()}`;
  const reg = ok(t, await send(t, conn, V14, [{
    op: Operation.Register,
    payload: [
      enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
      templateAttribute(
        attr('Cryptographic Algorithm', enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES)),
        attr('Cryptographic Length', int(Tag.CryptographicLength, 256)),
        attr('Cryptographic Usage Mask', int(Tag.CryptographicUsageMask, ENC_DEC)),
        attr('Name', nameValue(name)),
      ),
      struct(Tag.SymmetricKey, [keyBlock(KeyFormatType.Raw, key, CryptographicAlgorithm.AES, 256)]),
    ],
  }]));
  const id = uidOf(reg);

  const loc = ok(t, await send(t, conn, V10, [{
    op: Operation.Locate,
    payload: [
      int(Tag.MaximumItems, 16),
      attr('Object Type', enumeration(Tag.ObjectType, ObjectType.SymmetricKey)),
      attr('Name', nameValue(name)),
    ],
  }]));
  t.deepEqual(loc.value, [uid(id)], 'Locate at 1.0 answers exactly the registered key, and nothing else (no Located Items)');

  const got = ok(t, await send(t, conn, V10, [{ op: Operation.Get, payload: [uid(id)] }]));
  t.is(enumOf(one(got, Tag.ObjectType)), ObjectType.SymmetricKey);
  t.is(uidOf(got), id);
  const k = keyMaterial(got, Tag.SymmetricKey);
  t.is(k.format, KeyFormatType.Raw);
  t.deepEqual(k.material, key, 'Get returns the registered bytes');
  t.is(enumOf(one(k.block, Tag.CryptographicAlgorithm)), CryptographicAlgorithm.AES);
  t.is(intOf(one(k.block, Tag.CryptographicLength)), 256);
});

// ---------------------------------------------------------------------------------------------------------------
// Percona Server for MongoDB

test('Percona Server for MongoDB 1.0: Register the master key (Pre-Active), Activate, Get Attributes State -> Active', async (t) => {
  const conn = await connect(t);
  const key = randomBytes(32);
  const reg = ok(t, await send(t, conn, V10, [{
    op: Operation.Register,
    payload: [
      enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
      templateAttribute(attr('Cryptographic Usage Mask', int(Tag.CryptographicUsageMask, ENC_DEC))),
      struct(Tag.SymmetricKey, [keyBlock(KeyFormatType.Raw, key, CryptographicAlgorithm.AES, 256)]),
    ],
  }]));
  const id = uidOf(reg);
  const state = async (): Promise<TtlvItem[] | undefined> => {
    const p = ok(t, await send(t, conn, V10, [{ op: Operation.GetAttributes, payload: [uid(id), text(Tag.AttributeName, 'State')] }]));
    t.is(uidOf(p), id);
    const m = attrs1x(p);
    t.deepEqual([...m.keys()], ['State'], 'only the attribute asked for');
    return m.get('State');
  };
  t.deepEqual(await state(), [enumeration(Tag.AttributeValue, State.PreActive)], 'registered Pre-Active');
  const act = ok(t, await send(t, conn, V10, [{ op: Operation.Activate, payload: [uid(id)] }]));
  t.deepEqual(act.value, [uid(id)]);
  t.deepEqual(await state(), [enumeration(Tag.AttributeValue, State.Active)], 'Active after Activate');

  // Everything about the key at 1.0: only 1.0 attributes (no Fresh, no Original Creation Date...).
  const all = ok(t, await send(t, conn, V10, [{ op: Operation.GetAttributes, payload: [uid(id)] }]));
  const names = [...attrs1x(all).keys()];
  t.true(names.includes('State') && names.includes('Unique Identifier') && names.includes('Object Type'), names.join(', '));
  t.false(names.includes('Fresh'), 'no Fresh (1.1) to a 1.0 client');
});

// ---------------------------------------------------------------------------------------------------------------
// Storage array

test('storage array 1.0: Query, Locate on x-ResourceID, Get as Opaque, Get Attributes in one batch linked by the ID Placeholder', async (t) => {
  const conn = await connect(t);
  const resourceId = `vol-${randomUUID()}`;
  const systemId = `array-${randomUUID()}`;
  const secret = randomBytes(64);

  // The array's key, registered first: a Secret Data in Opaque format with the array's custom attributes.
  const reg = ok(t, await send(t, conn, V10, [{
    op: Operation.Register,
    payload: [
      enumeration(Tag.ObjectType, ObjectType.SecretData),
      templateAttribute(
        attr('Cryptographic Usage Mask', int(Tag.CryptographicUsageMask, 0)),
        attr('x-ResourceID', text(Tag.AttributeValue, resourceId)),
        attr('x-SystemID', text(Tag.AttributeValue, systemId)),
      ),
      struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Password), keyBlock(KeyFormatType.Opaque, secret)]),
    ],
  }]));
  const id = uidOf(reg);
  ok(t, await send(t, conn, V10, [{ op: Operation.Activate, payload: [uid(id)] }]));

  const ids = [1, 2, 3, 4].map((n) => Uint8Array.of(n));
  const ex = await send(t, conn, V10, [
    {
      op: Operation.Query,
      id: ids[0],
      payload: [
        enumeration(Tag.QueryFunction, QueryFunction.QueryOperations),
        enumeration(Tag.QueryFunction, QueryFunction.QueryObjects),
        enumeration(Tag.QueryFunction, QueryFunction.QueryServerInformation),
        enumeration(Tag.QueryFunction, QueryFunction.QueryApplicationNamespaces),
      ],
    },
    {
      op: Operation.Locate,
      id: ids[1],
      payload: [attr('x-ResourceID', text(Tag.AttributeValue, resourceId)), attr('x-SystemID', text(Tag.AttributeValue, systemId))],
    },
    { op: Operation.Get, id: ids[2], payload: [enumeration(Tag.KeyFormatType, KeyFormatType.Opaque)] },
    {
      op: Operation.GetAttributes,
      id: ids[3],
      payload: [text(Tag.AttributeName, 'x-ResourceID'), text(Tag.AttributeName, 'x-SystemID'), text(Tag.AttributeName, 'State'), text(Tag.AttributeName, 'Object Type')],
    },
  ]);

  const QUERY_ANSWER_TAGS: number[] = [Tag.Operation, Tag.ObjectType, Tag.VendorIdentification, Tag.ServerInformation, Tag.ApplicationNamespace];
  // Query: operations and object types of 1.0 (a 1.0 client cannot decode newer values), server information.
  const q = ok(t, ex, 0);
  const ops = kids(q, Tag.Operation).map((o) => enumOf(o)!);
  for (const need of [Operation.Register, Operation.Locate, Operation.Get, Operation.GetAttributes, Operation.Query, Operation.Activate]) {
    t.true(ops.includes(need), `Query Operations lists ${hex(need)}`);
  }
  t.deepEqual(ops.filter((o) => !enumValueDef('Operation', o, '1.0')).map(hex), [], 'Query Operations lists only 1.0 operations');
  const objs = kids(q, Tag.ObjectType).map((o) => enumOf(o)!);
  for (const need of [ObjectType.SymmetricKey, ObjectType.SecretData, ObjectType.OpaqueObject]) t.true(objs.includes(need), `Query Objects lists ${hex(need)}`);
  t.deepEqual(objs.filter((o) => !enumValueDef('Object Type', o, '1.0')).map(hex), [], 'Query Objects lists only 1.0 object types');
  t.truthy(textOf(one(q, Tag.VendorIdentification)), 'Server Information: a Vendor Identification');
  t.truthy(structOf(one(q, Tag.ServerInformation)), 'Server Information: a Server Information structure');
  t.true(kids(q, Tag.ApplicationNamespace).every((n) => n.type === ItemType.TextString), 'Application Namespaces are text');
  t.deepEqual(
    [...new Set(q.value.map((c) => c.tag))].filter((tg) => !QUERY_ANSWER_TAGS.includes(tg)).map(hex),
    [],
    'Query answers only what was asked',
  );

  // Locate: exactly the registered object; its identifier becomes the ID Placeholder.
  t.deepEqual(ok(t, ex, 1).value, [uid(id)], 'Locate on x-ResourceID/x-SystemID finds exactly the registered object');

  // Get (placeholder) as Opaque: the Secret Data as registered.
  const got = ok(t, ex, 2);
  t.is(enumOf(one(got, Tag.ObjectType)), ObjectType.SecretData);
  t.is(uidOf(got), id, 'Get used the ID Placeholder');
  t.is(enumOf(one(structOf(one(got, Tag.SecretData)), Tag.SecretDataType)), SecretDataType.Password);
  const k = keyMaterial(got, Tag.SecretData);
  t.is(k.format, KeyFormatType.Opaque);
  t.deepEqual(k.material, secret, 'Get as Opaque returns the registered bytes');

  // Get Attributes (placeholder).
  const ga = ok(t, ex, 3);
  t.is(uidOf(ga), id, 'Get Attributes used the ID Placeholder');
  const m = attrs1x(ga);
  t.deepEqual([...m.keys()].sort(), ['Object Type', 'State', 'x-ResourceID', 'x-SystemID']);
  t.deepEqual(m.get('x-ResourceID'), [text(Tag.AttributeValue, resourceId)]);
  t.deepEqual(m.get('x-SystemID'), [text(Tag.AttributeValue, systemId)]);
  t.deepEqual(m.get('State'), [enumeration(Tag.AttributeValue, State.Active)]);
  t.deepEqual(m.get('Object Type'), [enumeration(Tag.AttributeValue, ObjectType.SecretData)]);
});

// ---------------------------------------------------------------------------------------------------------------
// The checks themselves

test('the version checks catch a newer tag, attribute name and enumeration value', (t) => {
  const located = struct(Tag.ResponsePayload, [int(Tag.LocatedItems, 1), text(Tag.UniqueIdentifier, 'x')]);
  t.deepEqual(tagsNewerThan(located, '1.0'), ['/Response Payload/Located Items (since 1.3)']);
  t.deepEqual(tagsNewerThan(located, '1.3'), []);
  const fresh = struct(Tag.ResponsePayload, [attr('Fresh', bool(Tag.Fresh, true)), attr('x-Custom', text(Tag.AttributeValue, 'v')), attr('State', enumeration(Tag.State, State.Active))]);
  t.deepEqual(attributeNamesNewerThan(fresh, '1.0'), ['Fresh (since 1.1)']);
  t.deepEqual(attributeNamesNewerThan(fresh, '1.1'), []);
  // A value renamed later (SHA-1 with RSA Encryption got its 2.0 name) still counts from its first version.
  const pgp = struct(Tag.ResponsePayload, [enumeration(Tag.ObjectType, ObjectType.PGPKey), enumeration(Tag.DigitalSignatureAlgorithm, 3)]);
  t.deepEqual(enumValuesNewerThan(pgp, '1.1'), ['/Response Payload/Object Type = PGP Key (since 1.2)']);
  t.deepEqual(enumValuesNewerThan(pgp, '1.2'), []);
});
