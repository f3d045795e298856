/**
 * Header credentials end to end: the dev server (a child process, SQLite store) with two users
 * declared on its admin credential, clients over mutual TLS sending a Username and Password
 * credential in every request header. What one user creates is that user's: the other user and a
 * request without a header credential are refused it and do not find it; the owner still reaches
 * it after a restart.
 */
import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { V1_4, V2_1, usernamePasswordAuthentication, type KmipClient } from '../../kmip-server/client/client.ts';
import { hashPassword } from '../../kmip-server/auth/password-hash.ts';
import { startDevServer, tempDir, type DevServer } from '../helpers/dev-server.ts';
import { ResultReason, attempt, connectAs, outcome, writeManifest } from '../helpers/kmip.ts';
import type { ExecutionContext } from 'ava';

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
