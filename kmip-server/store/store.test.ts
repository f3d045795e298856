import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { StoreUidInUseError } from './common.ts';
import { Envelope, EnvelopeError, kekFromBase64, loadOrCreateKek, MemoryDataKeyStore, parseKekFile } from './kek.ts';
import { MemoryStore } from './memory.ts';
import { SqliteStore } from './sqlite.ts';
import { StoreConflictError, type ObjectRecord, type ObjectStore } from './types.ts';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const SYMMETRIC_KEY = 2;
const SECRET_DATA = 7;
const PRE_ACTIVE = 1;
const ACTIVE = 2;
const DESTROYED = 5;

function rec(uid: string, over: Partial<ObjectRecord> = {}): ObjectRecord {
  return {
    uid,
    scope: 'tenant-a',
    objectType: SYMMETRIC_KEY,
    state: PRE_ACTIVE,
    names: [],
    attributes: bytes(`attrs:${uid}`),
    material: bytes(`material:${uid}`),
    revision: 0,
    ...over,
  };
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kube-kmip-store-'));
  tempDirs.push(d);
  return d;
}
test.after.always(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Backend {
  name: string;
  make(): Promise<ObjectStore>;
}

const backends: Backend[] = [
  { name: 'memory', make: async () => new MemoryStore() },
  {
    name: 'sqlite',
    make: async () => SqliteStore.open({ path: join(await tempDir(), 'kmip.db'), kek: randomBytes(32) }),
  },
];

for (const b of backends) {
  const t = (title: string, fn: (t: import('ava').ExecutionContext, s: ObjectStore) => Promise<void>) =>
    test(`${b.name}: ${title}`, async (tt) => {
      const s = await b.make();
      try {
        await fn(tt, s);
      } finally {
        await s.close();
      }
    });

  t('put then get returns an equal record with revision 1', async (t, s) => {
    const r = rec('k1', { names: ['alpha', 'beta'] });
    await s.write([{ kind: 'put', record: r }]);
    t.is(r.revision, 1, 'the written record is given its stored revision');
    const got = await s.get('tenant-a', 'k1');
    t.deepEqual(got, { ...rec('k1', { names: ['alpha', 'beta'] }), revision: 1 });
    t.is(await s.get('tenant-a', 'missing'), undefined);
  });

  t('buffers are copied: mutating inputs or outputs does not change the store', async (t, s) => {
    const r = rec('k1');
    await s.write([{ kind: 'put', record: r }]);
    r.attributes[0] = 0;
    r.material![0] = 0;
    r.names.push('late');
    const got = (await s.get('tenant-a', 'k1'))!;
    t.deepEqual(got.attributes, bytes('attrs:k1'));
    t.deepEqual(got.material, bytes('material:k1'));
    t.deepEqual(got.names, []);
    got.attributes[0] = 0;
    got.material![0] = 0;
    const again = (await s.get('tenant-a', 'k1'))!;
    t.deepEqual(again.attributes, bytes('attrs:k1'));
    t.deepEqual(again.material, bytes('material:k1'));
  });

  t('list filters by object type, state and name, in creation order', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('c', { names: ['n1'] }) }]);
    await s.write([{ kind: 'put', record: rec('a', { objectType: SECRET_DATA, names: ['n1', 'n2'] }) }]);
    await s.write([{ kind: 'put', record: rec('b', { state: ACTIVE }) }]);
    await s.write([{ kind: 'put', record: rec('d', { scope: 'tenant-b', names: ['n1'] }) }]);
    // Updating an object keeps its place in creation order.
    await s.write([{ kind: 'put', record: rec('c', { state: ACTIVE, names: ['n3'] }) }]);
    const uids = async (f?: Parameters<ObjectStore['list']>[1]) => (await s.list('tenant-a', f)).map((r) => r.uid);
    t.deepEqual(await uids(), ['c', 'a', 'b']);
    t.deepEqual(await uids({}), ['c', 'a', 'b']);
    t.deepEqual(await uids({ objectType: SYMMETRIC_KEY }), ['c', 'b']);
    t.deepEqual(await uids({ state: ACTIVE }), ['c', 'b']);
    t.deepEqual(await uids({ state: ACTIVE, objectType: SECRET_DATA }), []);
    t.deepEqual(await uids({ name: 'n1' }), ['a']); // c was renamed, d is another scope
    t.deepEqual(await uids({ name: 'n3' }), ['c']);
    t.deepEqual(await uids({ name: 'n2', objectType: SECRET_DATA, state: PRE_ACTIVE }), ['a']);
    t.deepEqual(await uids({ name: 'nope' }), []);
    const full = await s.list('tenant-a', { name: 'n2' });
    t.deepEqual(full, [{ ...rec('a', { objectType: SECRET_DATA, names: ['n1', 'n2'] }), revision: 1 }]);
    t.is(await s.count('tenant-a'), 3);
    t.is(await s.count('tenant-b'), 1);
    t.is(await s.count('tenant-c'), 0);
  });

  t('a re-created uid moves to the end of creation order', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('x') }, { kind: 'put', record: rec('y') }]);
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'x' }, { kind: 'put', record: rec('x') }]);
    t.deepEqual((await s.list('tenant-a')).map((r) => [r.uid, r.revision]), [['y', 1], ['x', 1]]);
  });

  t('scopes are isolated', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1', { names: ['shared'] }) }]);
    t.is(await s.get('tenant-b', 'k1'), undefined);
    t.deepEqual(await s.list('tenant-b'), []);
    t.deepEqual(await s.list('tenant-b', { name: 'shared' }), []);
    // A delete from another scope does nothing.
    await s.write([{ kind: 'delete', scope: 'tenant-b', uid: 'k1' }]);
    t.truthy(await s.get('tenant-a', 'k1'));
    // A put from another scope cannot take over the uid.
    const err = await t.throwsAsync(s.write([{ kind: 'put', record: rec('k1', { scope: 'tenant-b' }) }]));
    t.true(err instanceof StoreUidInUseError);
    t.deepEqual((await s.get('tenant-a', 'k1'))!.attributes, bytes('attrs:k1'));
    t.is(await s.count('tenant-b'), 0);
  });

  t('revisions increase and expectRevision detects conflicts', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1'), expectRevision: 0 }]);
    const err0 = await t.throwsAsync(s.write([{ kind: 'put', record: rec('k1'), expectRevision: 0 }]));
    t.true(err0 instanceof StoreConflictError);
    t.is((err0 as StoreConflictError).code, 'STORE_CONFLICT');
    t.is((err0 as StoreConflictError).uid, 'k1');
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }), expectRevision: 1 }]);
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }) }]); // unconditional
    t.is((await s.get('tenant-a', 'k1'))!.revision, 3);
    const err = await t.throwsAsync(s.write([{ kind: 'put', record: rec('k1'), expectRevision: 2 }]), {
      instanceOf: StoreConflictError,
    });
    t.regex(err!.message, /expected revision 2, found 3/);
    t.is((await s.get('tenant-a', 'k1'))!.state, ACTIVE);
    // Expecting a revision of an absent object is a conflict too.
    await t.throwsAsync(s.write([{ kind: 'put', record: rec('k9'), expectRevision: 1 }]), {
      instanceOf: StoreConflictError,
    });
    t.is(await s.get('tenant-a', 'k9'), undefined);
    // Ops in one batch see each other.
    await s.write([
      { kind: 'put', record: rec('k2'), expectRevision: 0 },
      { kind: 'put', record: rec('k2', { state: ACTIVE }), expectRevision: 1 },
    ]);
    t.is((await s.get('tenant-a', 'k2'))!.revision, 2);
  });

  t('a failing op rolls back the whole batch', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1') }, { kind: 'put', record: rec('k2', { names: ['old'] }) }]);
    const batch = [
      { kind: 'put' as const, record: rec('new', { names: ['fresh'] }) },
      { kind: 'put' as const, record: rec('k2', { state: ACTIVE, names: ['renamed'] }), expectRevision: 1 },
      { kind: 'delete' as const, scope: 'tenant-a', uid: 'k1' },
      { kind: 'put' as const, record: rec('k1'), expectRevision: 5 }, // conflicts
    ];
    await t.throwsAsync(s.write(batch), { instanceOf: StoreConflictError });
    t.is(batch[0]!.record!.revision, 0, 'records of a failed batch are left untouched');
    t.is(await s.get('tenant-a', 'new'), undefined);
    const k2 = (await s.get('tenant-a', 'k2'))!;
    t.is(k2.state, PRE_ACTIVE);
    t.is(k2.revision, 1);
    t.deepEqual(k2.names, ['old']);
    t.deepEqual((await s.list('tenant-a', { name: 'old' })).map((r) => r.uid), ['k2']);
    t.deepEqual(await s.list('tenant-a', { name: 'renamed' }), []);
    t.deepEqual(await s.list('tenant-a', { name: 'fresh' }), []);
    t.truthy(await s.get('tenant-a', 'k1'));
    t.is(await s.count('tenant-a'), 2);
    // The store still works after a rollback.
    await s.write([{ kind: 'put', record: rec('new') }]);
    t.is(await s.count('tenant-a'), 3);
  });

  t('concurrent writes: each batch is atomic on its own', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('base') }]);
    const results = await Promise.allSettled([
      s.write([{ kind: 'put', record: rec('w1') }]),
      s.write([
        { kind: 'put', record: rec('w2') },
        { kind: 'put', record: rec('base'), expectRevision: 7 }, // conflicts: w2 must not land
      ]),
      s.write([{ kind: 'put', record: rec('w3') }, { kind: 'delete', scope: 'tenant-a', uid: 'base' }]),
      // Two creators race for one uid: exactly one wins.
      s.write([{ kind: 'put', record: rec('race', { state: ACTIVE }), expectRevision: 0 }]),
      s.write([{ kind: 'put', record: rec('race'), expectRevision: 0 }]),
    ]);
    t.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected'],
    );
    t.true((results[1] as PromiseRejectedResult).reason instanceof StoreConflictError);
    t.true((results[4] as PromiseRejectedResult).reason instanceof StoreConflictError);
    t.deepEqual((await s.list('tenant-a')).map((r) => r.uid), ['w1', 'w3', 'race']);
    t.is((await s.get('tenant-a', 'race'))!.state, ACTIVE);
  });

  t('delete removes the object and its names; deleting a missing uid is a no-op', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1', { names: ['n'] }) }]);
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'k1' }]);
    t.is(await s.get('tenant-a', 'k1'), undefined);
    t.deepEqual(await s.list('tenant-a', { name: 'n' }), []);
    t.is(await s.count('tenant-a'), 0);
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'k1' }]);
    // A re-created uid starts over at revision 1.
    await s.write([{ kind: 'put', record: rec('k1'), expectRevision: 0 }]);
    t.is((await s.get('tenant-a', 'k1'))!.revision, 1);
  });

  t('material is null after a destroy put', async (t, s) => {
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }) }]);
    await s.write([{ kind: 'put', record: rec('k1', { state: DESTROYED, material: null }), expectRevision: 1 }]);
    const got = (await s.get('tenant-a', 'k1'))!;
    t.is(got.material, null);
    t.is(got.state, DESTROYED);
    t.deepEqual(got.attributes, bytes('attrs:k1'));
    t.is((await s.list('tenant-a', { state: DESTROYED }))[0]!.material, null);
  });

  t('empty batch and malformed input', async (t, s) => {
    await s.write([]);
    await t.throwsAsync(s.write([{ kind: 'put', record: rec('') }]), { instanceOf: TypeError });
    await t.throwsAsync(
      s.write([{ kind: 'put', record: rec('k1') }, { kind: 'put', record: rec('k2', { attributes: 'x' as never }) }]),
      { instanceOf: TypeError },
    );
    t.is(await s.get('tenant-a', 'k1'), undefined, 'validation happens before anything is applied');
  });

  t('closed store rejects calls', async (t, s) => {
    await s.close();
    await t.throwsAsync(s.get('tenant-a', 'k1'), { message: /closed/ });
  });
}

// ---------------------------------------------------------------------------------------------
// Envelope and KEK

test('envelope: seal/open round trip; AAD binds scope and uid; wrong KEK fails', (t) => {
  const keys = new MemoryDataKeyStore();
  const kek = randomBytes(32);
  const env = new Envelope(kek, keys);
  const pt = randomBytes(32);
  const sealed = env.seal('s1', 'u1', pt);
  t.is(sealed[0], 1, 'version byte');
  t.is(sealed.length, 1 + 12 + 32 + 16);
  t.deepEqual(Buffer.from(env.open('s1', 'u1', sealed)), pt);
  t.notDeepEqual(Buffer.from(env.seal('s1', 'u1', pt)), Buffer.from(sealed), 'random nonce');

  const moved = t.throws(() => env.open('s1', 'u2', sealed), { instanceOf: EnvelopeError });
  t.is((moved as EnvelopeError).code, 'ENVELOPE_AUTH_FAILED');
  env.seal('s2', 'x', pt);
  t.throws(() => env.open('s2', 'u1', sealed), { instanceOf: EnvelopeError });
  t.throws(() => env.open('s3', 'u1', sealed), { instanceOf: EnvelopeError, message: /no data key/ });
  const tampered = new Uint8Array(sealed);
  tampered[20]! ^= 1;
  t.throws(() => env.open('s1', 'u1', tampered), { instanceOf: EnvelopeError });
  t.throws(() => env.open('s1', 'u1', sealed.subarray(0, 10)), { message: /truncated/ });

  const wrong = new Envelope(randomBytes(32), keys);
  const err = t.throws(() => wrong.open('s1', 'u1', sealed), { instanceOf: EnvelopeError });
  t.is((err as EnvelopeError).code, 'ENVELOPE_KEK_MISMATCH');
  t.regex(err!.message, /key-encryption key/);
  const hex = pt.toString('hex');
  t.false(err!.message.includes(hex) || err!.message.includes(kek.toString('hex')));
  // A wrapped data key moved to another scope does not unwrap.
  keys.keys.set('s4', keys.keys.get('s1')!);
  t.throws(() => env.open('s4', 'u1', sealed), { instanceOf: EnvelopeError });
});

test('kek: base64 parsing, file creation, reuse', async (t) => {
  const raw = randomBytes(32);
  t.deepEqual(Buffer.from(kekFromBase64(raw.toString('base64'))), raw);
  t.deepEqual(Buffer.from(kekFromBase64(` ${raw.toString('base64url')}\n`)), raw);
  const bad = t.throws(() => kekFromBase64(randomBytes(31).toString('base64')));
  t.regex(bad!.message, /exactly 32 bytes/);
  t.throws(() => kekFromBase64('not base64 at all!'));
  t.deepEqual(Buffer.from(parseKekFile(raw)), raw);

  const dir = await tempDir();
  const path = join(dir, 'sub', 'kek');
  const k1 = await loadOrCreateKek(path);
  t.is(k1.length, 32);
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.deepEqual(kekFromBase64(await readFile(path, 'utf8')), k1);
  t.deepEqual(await loadOrCreateKek(path), k1);

  const rawPath = join(dir, 'raw-kek');
  await writeFile(rawPath, raw);
  t.deepEqual(Buffer.from(await loadOrCreateKek(rawPath)), raw);
  const badPath = join(dir, 'bad-kek');
  await writeFile(badPath, 'short');
  await t.throwsAsync(loadOrCreateKek(badPath), { message: /32 raw bytes or their base64/ });

  // Concurrent creators agree on one key.
  const racePath = join(dir, 'race-kek');
  const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateKek(racePath)));
  for (const k of keys) t.deepEqual(k, keys[0]);
});

// ---------------------------------------------------------------------------------------------
// sqlite specifics

const MARKER = bytes('PLAINTEXT-MARKER-0123456789abcde'); // 32 bytes

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) !== -1;
}

async function dbFiles(path: string): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for (const p of [path, `${path}-wal`]) {
    try {
      parts.push(await readFile(p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return Buffer.concat(parts);
}

test('sqlite: material is not stored in plaintext; reopen keeps everything', async (t) => {
  t.is(MARKER.length, 32);
  const path = join(await tempDir(), 'kmip.db');
  const kek = randomBytes(32);
  let s = await SqliteStore.open({ path, kek });
  await s.write([
    { kind: 'put', record: rec('k1', { material: MARKER, names: ['secret-key'] }) },
    { kind: 'put', record: rec('k2', { scope: 'tenant-b', state: ACTIVE }) },
  ]);
  await s.write([{ kind: 'put', record: rec('k3', { material: null }) }]);
  t.false(contains(await dbFiles(path), MARKER), 'marker absent from db and WAL while open');
  t.is((await stat(path)).mode & 0o777, 0o600);

  // The raw column holds a sealed blob, not the material.
  const raw = new DatabaseSync(path, { readOnly: true });
  const row = raw.prepare('SELECT material FROM objects WHERE uid = ?').get('k1') as { material: Uint8Array };
  raw.close();
  t.is(row.material[0], 1);
  t.is(row.material.length, MARKER.length + 29);
  t.false(contains(row.material, MARKER));

  await s.close();
  t.false(contains(await dbFiles(path), MARKER), 'marker absent after checkpoint');

  s = await SqliteStore.open({ path, kek });
  t.deepEqual(await s.get('tenant-a', 'k1'), { ...rec('k1', { material: MARKER, names: ['secret-key'] }), revision: 1 });
  t.deepEqual(await s.get('tenant-b', 'k2'), { ...rec('k2', { scope: 'tenant-b', state: ACTIVE }), revision: 1 });
  t.is((await s.get('tenant-a', 'k3'))!.material, null);
  t.deepEqual((await s.list('tenant-a', { name: 'secret-key' })).map((r) => r.uid), ['k1']);
  t.deepEqual((await s.list('tenant-a')).map((r) => r.uid), ['k1', 'k3']);
  // Creation order continues after reopen.
  await s.write([{ kind: 'put', record: rec('k0') }]);
  t.deepEqual((await s.list('tenant-a')).map((r) => r.uid), ['k1', 'k3', 'k0']);
  await s.close();

  // Reopen in a brand-new process-like state: same file, migrations are not re-run.
  const check = new DatabaseSync(path, { readOnly: true });
  t.is((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 1);
  t.is((check.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  check.close();
});

test('sqlite: a wrong KEK is refused with a clear error', async (t) => {
  const path = join(await tempDir(), 'kmip.db');
  const kek = randomBytes(32);
  const s = await SqliteStore.open({ path, kek });
  await s.write([{ kind: 'put', record: rec('k1', { material: MARKER }) }]);
  await s.close();
  const other = randomBytes(32);
  const err = await t.throwsAsync(SqliteStore.open({ path, kek: other }), { instanceOf: EnvelopeError });
  t.is((err as EnvelopeError).code, 'ENVELOPE_KEK_MISMATCH');
  t.regex(err!.message, /cannot unwrap the data key of scope tenant-a: the key-encryption key is not the one/);
  for (const secret of [kek, other, Buffer.from(MARKER)]) {
    t.false(err!.message.includes(secret.toString('hex')));
    t.false(err!.message.includes(secret.toString('base64')));
  }
  // The right key still works (the failed open changed nothing).
  const again = await SqliteStore.open({ path, kek });
  t.deepEqual((await again.get('tenant-a', 'k1'))!.material, MARKER);
  await again.close();
});

test('sqlite: a ciphertext copied to another uid fails to open', async (t) => {
  const path = join(await tempDir(), 'kmip.db');
  const kek = randomBytes(32);
  const s = await SqliteStore.open({ path, kek });
  await s.write([{ kind: 'put', record: rec('k1', { material: MARKER }) }, { kind: 'put', record: rec('k2') }]);
  const raw = new DatabaseSync(path, { timeout: 5000 });
  raw.prepare('UPDATE objects SET material = (SELECT material FROM objects WHERE uid = ?) WHERE uid = ?').run('k1', 'k2');
  raw.close();
  const err = await t.throwsAsync(s.get('tenant-a', 'k2'), { instanceOf: EnvelopeError });
  t.is((err as EnvelopeError).code, 'ENVELOPE_AUTH_FAILED');
  t.regex(err!.message, /object k2/);
  t.deepEqual((await s.get('tenant-a', 'k1'))!.material, MARKER);
  await s.close();
});

test('sqlite: refuses a database from a newer schema', async (t) => {
  const path = join(await tempDir(), 'kmip.db');
  const s = await SqliteStore.open({ path, kek: randomBytes(32) });
  await s.close();
  const raw = new DatabaseSync(path);
  raw.exec('PRAGMA user_version = 99');
  raw.close();
  await t.throwsAsync(SqliteStore.open({ path, kek: randomBytes(32) }), { message: /schema version 99 is newer/ });
});

test('sqlite: every acknowledged write survives SIGKILL', async (t) => {
  const path = join(await tempDir(), 'crash.db');
  const kek = randomBytes(32);
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url)), path],
    {
      env: { ...process.env, KUBE_KMIP_TEST_KEK: kek.toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const acked: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      acked.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (acked.length === 50) child.kill('SIGKILL');
    }
  });
  const how = await exited;
  t.is(how, 'SIGKILL', `child should be killed, not exit on its own: ${stderr}`);
  t.true(acked.length >= 50);

  const s = await SqliteStore.open({ path, kek });
  try {
    for (const uid of acked) {
      const i = Number(uid.slice('crash-'.length));
      const r = await s.get('crash', uid);
      t.truthy(r, `acknowledged ${uid} is present`);
      t.deepEqual(r!.attributes, bytes(`attributes of ${uid}`));
      t.deepEqual(r!.names, [`name-${i}`]);
      t.deepEqual(r!.material, new Uint8Array(32).fill(i & 0xff));
    }
    t.true((await s.count('crash')) >= acked.length);
  } finally {
    await s.close();
  }
});
