/**
 * Header credentials end to end: the dev server (a child process, SQLite store) with two users
 * declared on its admin credential, clients over mutual TLS sending a Username and Password
 * credential in every request header. What one user creates is that user's: the other user and a
 * request without a header credential are refused it and do not find it; the owner still reaches
 * it after a restart. PyKMIP, configured with a username and password in its pykmip.conf as its
 * users do, sends the same header credential and gets the same ownership.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { V1_4, V2_1, usernamePasswordAuthentication, type KmipClient } from '../../kmip-server/client/client.ts';
import { hashPassword } from '../../kmip-server/auth/password-hash.ts';
import { startDevServer, tempDir, type DevServer } from '../helpers/dev-server.ts';
import { ResultReason, attempt, connectAs, outcome, writeManifest } from '../helpers/kmip.ts';
import type { ExecutionContext } from 'ava';
import { PyKmip, stopDrivers } from '../interop/pykmip/driver.ts';

const CHEAP = { ln: 10, r: 8, p: 1 };

/** dev.yaml with the admin credential's header credentials only: dev mode completes it on start. */
async function declareUsers(dataDir: string): Promise<void> {
  await mkdir(join(dataDir, 'manifests'), { recursive: true });
  await writeManifest(dataDir, 'dev.yaml', [{
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name: 'admin', namespace: 'default' },
    spec: {
      headerCredentials: [
        { username: 'alice', passwordHash: await hashPassword('alice-pw', CHEAP) },
        { username: 'bob', passwordHash: await hashPassword('bob-pw', CHEAP) },
      ],
    },
  }]);
}

function clients(t: ExecutionContext, server: DevServer) {
  const as = (user?: string, password?: string) =>
    connectAs(server, server.credentials, { t, version: V2_1, ...(user ? { authentication: usernamePasswordAuthentication(user, password) } : {}) });
  return Promise.all([as('alice', 'alice-pw'), as('bob', 'bob-pw'), as()]);
}

const reasonOf = async (p: Promise<unknown>) => {
  const o = await outcome(p);
  return o.kind === 'failed' ? o.reason : o.kind;
};

test('what alice creates is hers, through a restart: bob and header-less requests are denied it and do not find it', async (t) => {
  const dataDir = join(await tempDir(t), 'data');
  await declareUsers(dataDir);
  const first = await startDevServer(t, { dataDir });
  let [alice, bob, plain] = await clients(t, first);

  const uid = await alice.create({ name: 'alice-key' });
  const shared = await plain.create({ name: 'shared-key' });
  const check = async (alice: KmipClient, bob: KmipClient, plain: KmipClient) => {
    t.is((await alice.get(uid)).value.length > 0, true);
    t.is(await reasonOf(bob.get(uid)), ResultReason.PermissionDenied);
    t.is(await reasonOf(plain.get(uid)), ResultReason.PermissionDenied);
    t.deepEqual(await bob.locate('alice-key'), []);
    t.deepEqual(await plain.locate('alice-key'), []);
    t.deepEqual(await alice.locate('alice-key'), [uid]);
    // An object without an owner stays the whole scope's.
    t.deepEqual(await bob.locate('shared-key'), [shared]);
    t.truthy(await alice.get(shared));
  };
  await check(alice, bob, plain);

  // A wrong password fails the whole message, whatever it asks.
  const intruder = await connectAs(first, first.credentials, { t, version: V1_4, authentication: usernamePasswordAuthentication('alice', 'guess') });
  const denied = await attempt(intruder, 'Query', []);
  t.is(denied.reason, ResultReason.AuthenticationNotSuccessful);
  t.false((denied.message ?? '').includes('guess'));

  await first.stop();
  const second = await startDevServer(t, { dataDir });
  [alice, bob, plain] = await clients(t, second);
  await check(alice, bob, plain);
  t.is(await reasonOf(bob.destroy(uid)), ResultReason.PermissionDenied);
  await alice.destroy(uid);
  t.is(await reasonOf(alice.get(uid)), ResultReason.ObjectDestroyed, 'gone, and still hers: not Permission Denied');
});

test.after.always(async () => {
  await stopDrivers();
});

test('PyKMIP with username and password in pykmip.conf: what it creates is that user\'s, for PyKMIP and for other clients', async (t) => {
  const dataDir = join(await tempDir(t), 'data');
  await declareUsers(dataDir);
  const server = await startDevServer(t, { dataDir });
  const generated = await readFile(server.credentials.pykmipConf, 'utf8');
  // PyKMIP reads username/password from its [client] section and then puts a Username and Password
  // credential into every request header.
  const confFor = async (user: string, password: string): Promise<string> => {
    const file = join(dataDir, `pykmip-${user}.conf`);
    await writeFile(file, generated.replace(/^\[client\]$/m, `[client]\nusername=${user}\npassword=${password}`), { mode: 0o600 });
    return file;
  };
  // One lane per KMIP version (driver.ts): alice at PyKMIP's default 1.2, bob at 1.4, held at the same time.
  const pyAlice = await PyKmip.open(t, await confFor('alice', 'alice-pw'), null);
  const pyBob = await PyKmip.open(t, await confFor('bob', 'bob-pw'), 'KMIP_1_4');
  const uid = await pyAlice.call<string>('create', { algorithm: 'AES', length: 256, name: 'py-alice-key' });
  t.is(((await pyAlice.call<{ value: unknown[] }>('get', { uid })).value).length > 0, true);

  t.is((await pyBob.failure('get', { uid })).reason, 'PERMISSION_DENIED');
  t.deepEqual(await pyBob.call('locate', { name: 'py-alice-key' }), []);
  const [alice, bob, plain] = await clients(t, server);
  t.truthy(await alice.get(uid), 'the same user through another client reaches it');
  t.is(await reasonOf(bob.get(uid)), ResultReason.PermissionDenied);
  t.is(await reasonOf(plain.get(uid)), ResultReason.PermissionDenied);
  // What bob makes through the TS client is bob's for PyKMIP too.
  const bobs = await bob.create({ name: 'bob-key' });
  t.is((await pyAlice.failure('get', { uid: bobs })).reason, 'PERMISSION_DENIED');
  t.truthy(await pyBob.call('get', { uid: bobs }));
});
