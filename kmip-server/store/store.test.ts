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
import { MIGRATIONS, SqliteStore } from './sqlite.ts';
import { StoreConflictError, type ObjectRecord, type ObjectStore } from './types.ts';

import { ACTIVE, bytes, rec, storeContract, type Backend } from './contract.fixture.ts';

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kube-kmip-store-'));
  tempDirs.push(d);
  return d;
}
test.after.always(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

const backends: Backend[] = [
  { name: 'memory', make: async () => new MemoryStore() },
  {
    name: 'sqlite',
    make: async () => SqliteStore.open({ path: join(await tempDir(), 'kmip.db'), kek: randomBytes(32) }),
  },
];

for (const b of backends) storeContract(b);

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
  t.is((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, MIGRATIONS.length);
  t.is((check.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  check.close();
});

test('sqlite: deleteScope shreds the scope: its wrapped data key and sealed rows leave the database files', async (t) => {
  const path = join(await tempDir(), 'kmip.db');
  const s = await SqliteStore.open({ path, kek: randomBytes(32) });
  await s.write([{ kind: 'put', record: rec('k1') }, { kind: 'put', record: rec('k2', { scope: 'tenant-b' }) }]);
  const raw = new DatabaseSync(path, { readOnly: true });
  const wrapped = (raw.prepare('SELECT wrapped FROM data_keys WHERE scope = ?').get('tenant-a') as { wrapped: Uint8Array }).wrapped;
  const sealed = (raw.prepare('SELECT material FROM objects WHERE uid = ?').get('k1') as { material: Uint8Array }).material;
  raw.close();
  t.true(contains(await dbFiles(path), wrapped), 'sanity: the wrapped key is in the files before');
  t.is(await s.deleteScope('tenant-a'), 1);
  const files = await dbFiles(path);
  t.false(contains(files, wrapped), 'the wrapped data key is gone from the database and the WAL');
  t.false(contains(files, sealed), 'the sealed material is gone too');
  const check = new DatabaseSync(path, { readOnly: true });
  t.deepEqual((check.prepare('SELECT scope FROM data_keys').all() as Array<{ scope: string }>).map((r) => r.scope), ['tenant-b']);
  check.close();
  t.truthy(await s.get('tenant-b', 'k2'));
  await s.close();
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

test('sqlite: a database of schema 1 (before owners) migrates: its objects have no owner, new ones keep theirs', async (t) => {
  const path = join(await tempDir(), 'kmip.db');
  const raw = new DatabaseSync(path);
  raw.exec(MIGRATIONS[0]!);
  raw.exec('PRAGMA user_version = 1');
  raw.prepare("INSERT INTO objects (uid, scope, object_type, state, names, attributes, material, revision) VALUES ('old', 'tenant-a', 2, 5, '[]', ?, NULL, 3)").run(bytes('attrs:old'));
  raw.close();
  const s = await SqliteStore.open({ path, kek: randomBytes(32) });
  const old = (await s.get('tenant-a', 'old'))!;
  t.is(old.revision, 3);
  t.false('owner' in old);
  await s.write([{ kind: 'put', record: rec('new', { owner: 'c/user:Fred' }) }]);
  await s.close();
  const check = new DatabaseSync(path, { readOnly: true });
  t.is((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, MIGRATIONS.length);
  t.is((check.prepare("SELECT owner FROM objects WHERE uid = 'new'").get() as { owner: string }).owner, 'c/user:Fred');
  check.close();
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
