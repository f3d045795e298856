import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dispatcher } from '../dispatcher.ts';
import { SqliteStore } from '../store/sqlite.ts';
import { MemoryStore } from '../store/memory.ts';
import { StoreConflictError, type ObjectStore } from '../store/types.ts';
import { Tag } from '../ttlv/tag.ts';
import { BatchErrorContinuationOption, CryptographicAlgorithm, ObjectType, ResultReason, RevocationReasonCode, State } from '../ttlv/enums.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { ItemType, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { parseResponse, requestMessage, type BatchItemSpec, type BatchResult, type ProtocolVersion } from '../client/client.ts';
import { ALL_PERMISSIONS } from '../operations/permissions.ts';
import type { Identity } from '../auth/identity.ts';
import { ManagedObject } from './managed-object.ts';
import { ObjectCache } from './object-cache.ts';
import { UnitOfWork } from './unit-of-work.ts';

// These tests count decodings by wrapping ManagedObject.fromRecord, so they run one at a time.

const V1_4: ProtocolVersion = { major: 1, minor: 4 };
const V2_1: ProtocolVersion = { major: 2, minor: 1 };
const who = (scopeId: string): Identity => ({
  scopeId, roleId: `${scopeId}-role`, scopeName: `ns/${scopeId}`, roleName: 'admin', credentialName: 'c', credentialId: 'c', operations: new Set(ALL_PERMISSIONS),
});

interface Server {
  store: ObjectStore;
  send(version: ProtocolVersion, items: BatchItemSpec[], header?: TtlvItem[], scope?: string): Promise<BatchResult[]>;
  one(version: ProtocolVersion, operation: string, payload: TtlvItem[], scope?: string): Promise<BatchResult>;
  close(): Promise<void>;
}

/** A Dispatcher over a real SQLite store (its read cache and getShared included) in a temporary directory. */
async function sqliteServer(): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'kmip-object-cache-'));
  const store = await SqliteStore.open({ path: join(dir, 'kmip.db'), kek: randomBytes(32) });
  return serverOver(store, async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
}

function serverOver(store: ObjectStore, close: () => Promise<void>): Server {
  const dispatcher = new Dispatcher({
    store,
    limits: { maxMessageBytes: 1 << 20, maxDepth: 32, maxItems: 100_000, maxBatchItems: 64 },
    server: { vendorIdentification: 'test', serverInformation: 'test', leaseSeconds: 3600 },
    onInternalError: (err) => {
      throw err;
    },
  });
  const send = async (version: ProtocolVersion, items: BatchItemSpec[], header?: TtlvItem[], scope = 'scope-a') => {
    const out = await dispatcher.handle(encode(requestMessage(version, items, header ? { extra: header } : {})), who(scope));
    if (!out) throw new Error('no response');
    return parseResponse(decode(out)).items;
  };
  return { store, send, one: async (v, operation, payload, scope) => (await send(v, [{ operation, payload }], undefined, scope))[0]!, close };
}

const uidItem = (uid: string): TtlvItem => text(Tag.UniqueIdentifier, uid);
/** A 1.x Attribute structure. */
const attr = (name: string, value: TtlvItem): StructureItem =>
  struct(Tag.Attribute, [text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue } as TtlvItem]);

async function createAes(s: Server): Promise<string> {
  const r = await s.one(V1_4, 'Create', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.TemplateAttribute, [
    attr('Cryptographic Algorithm', enumeration(0, CryptographicAlgorithm.AES)),
    attr('Cryptographic Length', int(0, 256)),
    attr('Cryptographic Usage Mask', int(0, 12)),
  ])]);
  const u = r.payload?.value.find((i) => i.tag === Tag.UniqueIdentifier);
  if (u?.type !== ItemType.TextString) throw new Error(`Create failed: ${r.message}`);
  return u.value;
}

/** Values of one attribute through Get Attributes (1.4), in a message of its own. */
async function values(s: Server, uid: string, name: string): Promise<TtlvItem[]> {
  const r = await s.one(V1_4, 'Get Attributes', [uidItem(uid), text(Tag.AttributeName, name)]);
  if (r.status !== 0) throw new Error(`Get Attributes failed: ${r.reasonName} ${r.message}`);
  return (r.payload?.value ?? [])
    .filter((i): i is StructureItem => i.tag === Tag.Attribute && i.type === ItemType.Structure)
    .map((a) => a.value.find((c) => c.tag === Tag.AttributeValue)!);
}
const one = async (s: Server, uid: string, name: string): Promise<unknown> => (await values(s, uid, name))[0]?.value;

const keyMaterial = (r: BatchResult): Uint8Array => {
  const find = (s: StructureItem, tag: number): TtlvItem | undefined => s.value.find((i) => i.tag === tag);
  const key = find(r.payload!, Tag.SymmetricKey) as StructureItem;
  const block = find(key, Tag.KeyBlock) as StructureItem;
  const value = find(block, Tag.KeyValue) as StructureItem;
  return (find(value, Tag.KeyMaterial) as { value: Uint8Array }).value;
};

/** Counts ManagedObject decodings while `f` runs. */
async function countDecodes(f: () => Promise<void>): Promise<number> {
  const original = ManagedObject.fromRecord;
  let n = 0;
  ManagedObject.fromRecord = (r) => {
    n++;
    return original.call(ManagedObject, r);
  };
  try {
    await f();
  } finally {
    ManagedObject.fromRecord = original;
  }
  return n;
}

test.serial('a Get of an unchanged object is decoded once, and again after each write', async (t) => {
  const s = await sqliteServer();
  try {
    const uid = await createAes(s);
    t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, 0); // clears Fresh: a write
    t.is(await countDecodes(async () => {
      for (let i = 0; i < 5; i++) t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, 0);
    }), 1);
    t.is((await s.one(V1_4, 'Add Attribute', [uidItem(uid), attr('x-note', text(0, 'one'))])).status, 0);
    t.is(await countDecodes(async () => {
      for (let i = 0; i < 3; i++) t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, 0);
    }), 1);
  } finally {
    await s.close();
  }
});

test.serial('every write path is seen by the next message: Fresh, attributes, lifecycle, archive, rekey, destroy', async (t) => {
  const s = await sqliteServer();
  try {
    const uid = await createAes(s);
    t.is(await one(s, uid, 'Fresh'), true);
    const first = await s.one(V1_4, 'Get', [uidItem(uid)]);
    t.is(await one(s, uid, 'Fresh'), false, 'the Get that served it cleared Fresh');

    t.is((await s.one(V1_4, 'Add Attribute', [uidItem(uid), attr('x-note', text(0, 'one'))])).status, 0);
    t.is(await one(s, uid, 'x-note'), 'one');
    t.is((await s.one(V1_4, 'Modify Attribute', [uidItem(uid), attr('x-note', text(0, 'two'))])).status, 0);
    t.is(await one(s, uid, 'x-note'), 'two');
    t.is((await s.one(V1_4, 'Delete Attribute', [uidItem(uid), text(Tag.AttributeName, 'x-note')])).status, 0);
    t.deepEqual(await values(s, uid, 'x-note'), []);
    t.is((await s.one(V2_1, 'Set Attribute', [uidItem(uid), struct(Tag.NewAttribute, [text(Tag.ContactInformation, 'ops@example.com')])])).status, 0);
    t.is(await one(s, uid, 'Contact Information'), 'ops@example.com');

    t.is(await one(s, uid, 'State'), State.PreActive);
    t.is((await s.one(V1_4, 'Activate', [uidItem(uid)])).status, 0);
    t.is(await one(s, uid, 'State'), State.Active);

    t.is((await s.one(V1_4, 'Archive', [uidItem(uid)])).status, 0);
    t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).reason, ResultReason.ObjectArchived);
    t.is((await s.one(V1_4, 'Recover', [uidItem(uid)])).status, 0);
    t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, 0);

    t.is((await s.one(V1_4, 'ReKey', [uidItem(uid)])).status, 0);
    t.is((await values(s, uid, 'Link')).length, 1, 'the old key links to its replacement');

    t.is((await s.one(V1_4, 'Revoke', [uidItem(uid), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)])])).status, 0);
    t.is(await one(s, uid, 'State'), State.Compromised);
    t.is((await s.one(V1_4, 'Destroy', [uidItem(uid)])).status, 0);
    t.is(await one(s, uid, 'State'), State.DestroyedCompromised);
    const gone = await s.one(V1_4, 'Get', [uidItem(uid)]);
    t.is(gone.status, 1);
    t.truthy(first.payload, 'the key was served before it was destroyed');
  } finally {
    await s.close();
  }
});

test.serial('Undo: what a rolled-back batch changed is not seen by later messages', async (t) => {
  const s = await sqliteServer();
  try {
    const uid = await createAes(s);
    await values(s, uid, 'State'); // cached before the batch
    const undo = [enumeration(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Undo)];
    const r = await s.send(V1_4, [
      { operation: 'Add Attribute', payload: [uidItem(uid), attr('x-undone', text(0, 'no'))] },
      { operation: 'Activate', payload: [uidItem(uid)] },
      { operation: 'Get', payload: [uidItem('no-such-object')] },
    ], undo);
    t.deepEqual(r.map((i) => i.status), [3, 3, 1]); // Operation Undone, Operation Undone, Failed
    t.deepEqual(await values(s, uid, 'x-undone'), []);
    t.is(await one(s, uid, 'State'), State.PreActive);
  } finally {
    await s.close();
  }
});

test.serial('an object handed out is a copy: changing it, or wiping its key material, changes nothing stored or cached', async (t) => {
  const s = await sqliteServer();
  try {
    const uid = await createAes(s);
    const before = keyMaterial(await s.one(V1_4, 'Get', [uidItem(uid)]));
    const cache = new ObjectCache();
    const a = await new UnitOfWork(s.store, 'scope-a', cache).get(uid);
    t.truthy(a?.body);
    const material = (((a!.body!.value[0] as StructureItem).value.find((i) => i.tag === Tag.KeyValue) as StructureItem).value[0] as { value: Uint8Array }).value;
    material.fill(0);
    a!.set('State', enumeration(Tag.AttributeValue, State.Compromised));
    a!.attributes.length = 0;
    const b = await new UnitOfWork(s.store, 'scope-a', cache).get(uid);
    t.is(b!.state, State.PreActive);
    t.true(b!.attributes.length > 5);
    t.deepEqual(keyMaterial(await s.one(V1_4, 'Get', [uidItem(uid)])), before);
    t.notDeepEqual(before, new Uint8Array(before.length));
  } finally {
    await s.close();
  }
});

test.serial('conflict detection still holds for objects read through the cache', async (t) => {
  const s = await sqliteServer();
  try {
    const uid = await createAes(s);
    const cache = new ObjectCache();
    const u1 = new UnitOfWork(s.store, 'scope-a', cache);
    const u2 = new UnitOfWork(s.store, 'scope-a', cache);
    const o1 = (await u1.get(uid))!;
    const o2 = (await u2.get(uid))!;
    o1.set('x-who', text(Tag.AttributeValue, 'first'));
    u1.save(o1);
    await u1.commit();
    o2.set('x-who', text(Tag.AttributeValue, 'second'));
    u2.save(o2);
    await t.throwsAsync(() => u2.commit(), { instanceOf: StoreConflictError });
    const o3 = (await new UnitOfWork(s.store, 'scope-a', cache).get(uid))!;
    t.deepEqual(o3.one('x-who'), text(Tag.AttributeValue, 'first'));
    t.is(o3.revision, o1.revision + 1);
  } finally {
    await s.close();
  }
});

test.serial('another scope never sees an object, cached or not', async (t) => {
  const s = await sqliteServer();
  try {
    const uid = await createAes(s);
    t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, 0);
    const other = await s.one(V1_4, 'Get', [uidItem(uid)], 'scope-b');
    t.is(other.reason, ResultReason.ItemNotFound);
    t.is(await new UnitOfWork(s.store, 'scope-b', new ObjectCache()).get(uid), undefined);
  } finally {
    await s.close();
  }
});

for (const [name, open] of [
  ['sqlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kmip-shared-'));
    const store = await SqliteStore.open({ path: join(dir, 'kmip.db'), kek: randomBytes(32) });
    return { store, done: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
  }],
  ['memory', async () => {
    const store = new MemoryStore();
    return { store, done: () => store.close() };
  }],
] as const) {
  test.serial(`${name} getShared: a frozen record, the same one until a write commits, then a new one`, async (t) => {
    const { store, done } = await open();
    try {
      const rec = { uid: 'u1', scope: 's', objectType: 2, state: 1, names: ['n'], attributes: new Uint8Array([1, 2, 3]), material: new Uint8Array([9]), revision: 0 };
      await store.write([{ kind: 'put', record: rec }]);
      const a = await store.getShared!('s', 'u1');
      t.truthy(a);
      t.true(Object.isFrozen(a) && Object.isFrozen(a!.names));
      t.is(await store.getShared!('s', 'u1'), a);
      t.is(await store.getShared!('other', 'u1'), undefined);
      const copy = await store.get('s', 'u1');
      t.not(copy, a);
      copy!.attributes[0] = 7;
      t.is(a!.attributes[0], 1, 'get hands out copies, never the shared record');
      await store.write([{ kind: 'put', record: { ...rec, attributes: new Uint8Array([4]) }, expectRevision: 1 }]);
      const b = await store.getShared!('s', 'u1');
      t.not(b, a);
      t.deepEqual([...b!.attributes], [4]);
      t.is(b!.revision, 2);
      await store.write([{ kind: 'delete', scope: 's', uid: 'u1' }]);
      t.is(await store.getShared!('s', 'u1'), undefined);
    } finally {
      await done();
    }
  });
}
