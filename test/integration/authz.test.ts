/**
 * Authorization end to end: the dev server as a child process, policy from manifests in
 * D/manifests, client certificates from the dev CA (issueDevCredential), real mutual TLS.
 *
 *   scope alpha: role full (operation_all), role readonly (get, get_attributes, locate)
 *   scope beta:  role creator (create, get)
 *
 * Tests that change the policy get a server of their own; the others share one.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { issueDevCredential } from '../../kmip-server/dev/bootstrap.ts';
import { KmipClient, V1_4, V2_1 } from '../../kmip-server/client/client.ts';
import { BatchErrorContinuationOption } from '../../kmip-server/ttlv/enums.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { enumeration } from '../../kmip-server/ttlv/types.ts';
import { selfSignedCertificate } from '../../operator/pki/index.ts';
import { readCredential, startDevServer, suiteTeardown, type CredentialFiles, type DevServer, type Teardown } from '../helpers/dev-server.ts';
import {
  ResultReason, ResultStatus, connectAs, credentialDoc, describeOutcome, outcome, revokePayload,
  roleDoc, scopeDoc, secretDataObject, tryRequest, uidItem, waitFor, writeManifest, type Outcome,
} from '../helpers/kmip.ts';

const READONLY_OPS = ['operation_get', 'operation_get_attributes', 'operation_locate'];
const CREATOR_OPS = ['operation_create', 'operation_get'];

interface Fixture {
  server: DevServer;
  ids: { alpha: string; beta: string; full: string; readonly: string; creator: string };
  creds: { aFull: CredentialFiles; aRo: CredentialFiles; bCreator: CredentialFiles; aExpired: CredentialFiles; aOrphan: CredentialFiles };
  serials: Record<'aFull' | 'aRo' | 'bCreator' | 'aExpired', string>;
  /** Rewrites D/manifests/authz.yaml; `creatorOps` / `without` change the role and drop credentials. */
  writePolicy(opts?: { creatorOps?: string[]; without?: Array<'aFull' | 'aRo' | 'bCreator' | 'aExpired'> }): Promise<void>;
}

async function authzServer(t: Teardown): Promise<Fixture> {
  const server = await startDevServer(t);
  const u = () => randomUUID();
  const ids = { alpha: u(), beta: u(), full: u(), readonly: u(), creator: u() };
  const docsFor = (creatorOps: string[]) => [
    scopeDoc('alpha', ids.alpha),
    scopeDoc('beta', ids.beta),
    roleDoc('full', ids.full, 'alpha', ['operation_all']),
    roleDoc('readonly', ids.readonly, 'alpha', READONLY_OPS),
    roleDoc('creator', ids.creator, 'beta', creatorOps),
  ];
  // Scopes and roles first: issueDevCredential looks their ids up in D/manifests.
  await writeManifest(server.dataDir, 'authz.yaml', docsFor(CREATOR_OPS));
  const issue = (scope: string, role: string, name: string, expired = false) => issueDevCredential(server.dataDir, { scope, role, name, expired });
  const [aFull, aRo, bCreator, aExpired, aOrphan] = await Promise.all([
    issue('alpha', 'full', 'a-full'),
    issue('alpha', 'readonly', 'a-ro'),
    issue('beta', 'creator', 'b-creator'),
    issue('alpha', 'full', 'a-expired', true),
    // Issued by the dev CA for alpha/full but never listed in a KmipClientCredential.
    issue('alpha', 'full', 'a-orphan'),
  ]);
  const serials = { aFull: aFull.serialNumber, aRo: aRo.serialNumber, bCreator: bCreator.serialNumber, aExpired: aExpired.serialNumber };
  const credDocs = {
    aFull: () => credentialDoc('a-full', 'alpha', 'full', serials.aFull),
    aRo: () => credentialDoc('a-ro', 'alpha', 'readonly', serials.aRo),
    bCreator: () => credentialDoc('b-creator', 'beta', 'creator', serials.bCreator),
    aExpired: () => credentialDoc('a-expired', 'alpha', 'full', serials.aExpired),
  };
  const fixture: Fixture = {
    server,
    ids,
    creds: {
      aFull: await readCredential(aFull.credentialDir),
      aRo: await readCredential(aRo.credentialDir),
      bCreator: await readCredential(bCreator.credentialDir),
      aExpired: await readCredential(aExpired.credentialDir),
      aOrphan: await readCredential(aOrphan.credentialDir),
    },
    serials,
    async writePolicy(opts = {}) {
      const keep = (Object.keys(credDocs) as Array<keyof typeof credDocs>).filter((k) => !opts.without?.includes(k));
      await writeManifest(server.dataDir, 'authz.yaml', [...docsFor(opts.creatorOps ?? CREATOR_OPS), ...keep.map((k) => credDocs[k]())]);
    },
  };
  await fixture.writePolicy();
  // The server re-reads the directory on change: wait until every live credential is accepted.
  for (const c of [fixture.creds.aFull, fixture.creds.aRo, fixture.creds.bCreator]) {
    await waitFor(`credential ${c.dir} to be accepted`, async () => (await tryRequest(server, c)).stage === 'answered', 10_000, 100);
  }
  return fixture;
}

const suite = suiteTeardown();
let shared: Fixture;
test.before(async () => {
  shared = await authzServer(suite);
});
test.after.always(() => suite.run());

const as = (t: ExecutionContext, f: Fixture, cred: CredentialFiles, version = V2_1): Promise<KmipClient> => connectAs(f.server, cred, { t, version });

function isDenied(t: ExecutionContext, o: Outcome, what: string): void {
  t.true(o.kind === 'failed' && o.reason === ResultReason.PermissionDenied, `${what}: expected Permission Denied, got ${describeOutcome(o)}`);
}
/** Another scope's object does not exist: Item Not Found in 1.x, Object Not Found in 2.x. */
function isNotFound(t: ExecutionContext, o: Outcome, what: string): void {
  const ok = o.kind === 'failed' && (o.reason === ResultReason.ItemNotFound || o.reason === ResultReason.ObjectNotFound);
  t.true(ok, `${what}: expected Item/Object Not Found, got ${describeOutcome(o)}`);
}
function isSuccess(t: ExecutionContext, o: Outcome, what: string): void {
  t.is(o.kind, 'success', `${what}: ${describeOutcome(o)}`);
}

test('full role: every operation it tries succeeds', async (t) => {
  for (const version of [V1_4, V2_1]) {
    const c = await as(t, shared, shared.creds.aFull, version);
    const uid = await c.create({ name: `full-${randomUUID()}` });
    isSuccess(t, await outcome(c.get(uid)), 'Get');
    isSuccess(t, await outcome(c.getAttributes(uid, ['State'])), 'Get Attributes');
    isSuccess(t, await outcome(c.call('Get Attribute List', [uidItem(uid)])), 'Get Attribute List');
    isSuccess(t, await outcome(c.activate(uid)), 'Activate');
    isSuccess(t, await outcome(c.call('Revoke', revokePayload(uid))), 'Revoke');
    isSuccess(t, await outcome(c.destroy(uid)), 'Destroy');
    isSuccess(t, await outcome(c.register('Secret Data', secretDataObject(randomBytes(16)))), 'Register');
    isSuccess(t, await outcome(c.discoverVersions()), 'Discover Versions');
  }
});

test('full role: Locate succeeds', async (t) => {
  const c = await as(t, shared, shared.creds.aFull);
  const name = `full-locate-${randomUUID()}`;
  const uid = await c.create({ name });
  t.deepEqual(await c.locate(name), [uid]);
});

test('readonly role: Get and Get Attributes succeed; everything else is Permission Denied on a connection that stays open', async (t) => {
  const owner = await as(t, shared, shared.creds.aFull);
  const uid = await owner.create({ name: `ro-target-${randomUUID()}` });
  const ro = await as(t, shared, shared.creds.aRo);
  isSuccess(t, await outcome(ro.get(uid)), 'Get');
  isSuccess(t, await outcome(ro.getAttributes(uid, ['State'])), 'Get Attributes');
  isDenied(t, await outcome(ro.create()), 'Create');
  isDenied(t, await outcome(ro.register('Secret Data', secretDataObject(randomBytes(8)))), 'Register');
  isDenied(t, await outcome(ro.activate(uid)), 'Activate');
  isDenied(t, await outcome(ro.call('Revoke', revokePayload(uid))), 'Revoke');
  isDenied(t, await outcome(ro.destroy(uid)), 'Destroy');
  isDenied(t, await outcome(ro.call('Get Attribute List', [uidItem(uid)])), 'Get Attribute List');
  t.false(ro.connection.closed, 'a denied request does not drop the connection');
  // Still usable, and nothing was changed by the denied requests.
  isSuccess(t, await outcome(ro.get(uid)), 'Get after the denials');
  isSuccess(t, await outcome(owner.activate(uid)), 'the object is still Pre-Active (Activate by its owner works)');
});

test('readonly role: Locate succeeds', async (t) => {
  const owner = await as(t, shared, shared.creds.aFull);
  const name = `ro-locate-${randomUUID()}`;
  const uid = await owner.create({ name });
  const ro = await as(t, shared, shared.creds.aRo);
  t.deepEqual(await ro.locate(name), [uid]);
});

test('denials are per batch item: an allowed item in the same message still succeeds', async (t) => {
  const owner = await as(t, shared, shared.creds.aFull);
  const uid = await owner.create();
  const ro = await as(t, shared, shared.creds.aRo);
  const res = await ro.batch(
    [
      { operation: 'Get', payload: [uidItem(uid)] },
      { operation: 'Destroy', payload: [uidItem(uid)] },
      { operation: 'Get Attributes', payload: [uidItem(uid)] },
    ],
    { extra: [enumeration(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Continue)] },
  );
  t.deepEqual(res.items.map((i) => [i.status, i.reason]), [
    [ResultStatus.Success, undefined],
    [ResultStatus.OperationFailed, ResultReason.PermissionDenied],
    [ResultStatus.Success, undefined],
  ]);
});

test('creator role (scope beta): Create and Get its own objects; other operations are Permission Denied', async (t) => {
  const b = await as(t, shared, shared.creds.bCreator);
  const uid = await b.create({ name: `beta-${randomUUID()}` });
  isSuccess(t, await outcome(b.get(uid)), 'Get own');
  isDenied(t, await outcome(b.getAttributes(uid)), 'Get Attributes');
  isDenied(t, await outcome(b.activate(uid)), 'Activate');
  isDenied(t, await outcome(b.destroy(uid)), 'Destroy');
  isDenied(t, await outcome(b.register('Secret Data', secretDataObject(randomBytes(8)))), 'Register');
  t.false(b.connection.closed);
});

test('scope isolation: beta cannot Get or Destroy alpha objects; alpha objects are untouched', async (t) => {
  const a = await as(t, shared, shared.creds.aFull);
  const b = await as(t, shared, shared.creds.bCreator);
  const uid = await a.create({ name: `alpha-secret-${randomUUID()}` });
  isNotFound(t, await outcome(b.get(uid)), 'beta Get of an alpha object');
  const destroy = await outcome(b.destroy(uid));
  t.true(destroy.kind === 'failed', `beta Destroy of an alpha object must fail: ${describeOutcome(destroy)}`);
  // And the other way round: alpha cannot see beta's object.
  const buid = await b.create();
  isNotFound(t, await outcome(a.get(buid)), 'alpha Get of a beta object');
  isNotFound(t, await outcome(a.destroy(buid)), 'alpha Destroy of a beta object');
  isSuccess(t, await outcome(a.get(uid)), 'alpha still has its object');
  isSuccess(t, await outcome(b.get(buid)), 'beta still has its object');
});

test('handshake: no certificate, a self-signed certificate and an expired certificate are refused', async (t) => {
  const f = shared;
  // Mimics a real alpha/full certificate's subject, but is not signed by the dev CA.
  const selfSigned = await selfSignedCertificate({ scopeId: f.ids.alpha, roleId: f.ids.full });
  const cases: Array<[string, { certPem?: string; keyPem?: string }]> = [
    ['no certificate', {}],
    ['self-signed certificate', { certPem: selfSigned.certificatePem, keyPem: selfSigned.privateKeyPem }],
    ['expired certificate (of a listed credential)', { certPem: f.creds.aExpired.certPem, keyPem: f.creds.aExpired.keyPem }],
  ];
  for (const [what, client] of cases) {
    // TLS 1.2: the server's alert arrives before the client's handshake completes.
    const v12 = await tryRequest(f.server, client, { maxVersion: 'TLSv1.2' });
    t.is(v12.stage, 'handshake', `${what} (TLS 1.2): ${v12.error ?? 'the handshake completed'}`);
    // TLS 1.3: the client's side completes first; the server must never answer a request.
    const v13 = await tryRequest(f.server, client);
    t.not(v13.stage, 'answered', `${what} (TLS 1.3): the server answered`);
  }
  // A dev-CA certificate no credential lists: TLS accepts it, the server refuses it right after.
  const orphan = await tryRequest(f.server, f.creds.aOrphan);
  t.not(orphan.stage, 'answered', 'a certificate of no credential gets no answer');
  // Control: the same path with a live credential is answered.
  t.is((await tryRequest(f.server, f.creds.aRo, { maxVersion: 'TLSv1.2' })).stage, 'answered');
  t.is((await tryRequest(f.server, f.creds.aRo)).stage, 'answered');
});

test('a credential removed from the manifest stops working on an open connection and for new handshakes within 5 s', async (t) => {
  const f = await authzServer(t);
  const c = await as(t, f, f.creds.aFull);
  const other = await as(t, f, f.creds.aRo);
  const uid = await c.create();
  await f.writePolicy({ without: ['aFull'] });
  const removedAt = Date.now();
  // Keep using the open connection until a request fails.
  let last = { kind: 'success' } as Outcome;
  const took = await waitFor('the open connection to stop working', async () => {
    last = await outcome(c.discoverVersions());
    return last.kind !== 'success';
  }, 5000, 100).catch((err: Error) => {
    t.fail(err.message);
    return Date.now() - removedAt;
  });
  t.true(took <= 5000, `took ${took} ms`);
  t.true(last.kind === 'transport' || (last.kind === 'failed' && last.reason === ResultReason.PermissionDenied),
    `the removed credential's request must not succeed: ${describeOutcome(last)}`);
  t.not((await tryRequest(f.server, f.creds.aFull)).stage, 'answered', 'a new handshake with the removed credential is refused');
  t.is((await tryRequest(f.server, f.creds.aFull, { maxVersion: 'TLSv1.2' })).stage !== 'answered', true);
  // Others are unaffected, on their open connection and on new ones.
  isSuccess(t, await outcome(other.get(uid)), 'another credential on its open connection');
  t.is((await tryRequest(f.server, f.creds.aRo)).stage, 'answered');
  // Putting it back works again (new connection).
  await f.writePolicy();
  await waitFor('the credential to work again', async () => (await tryRequest(f.server, f.creds.aFull)).stage === 'answered', 5000, 100);
  t.pass();
});

test('a role edited to add an operation takes effect without a restart (on an open connection)', async (t) => {
  const f = await authzServer(t);
  const a = await as(t, f, f.creds.aFull);
  const b = await as(t, f, f.creds.bCreator);
  const alphaUid = await a.create();
  const own = await b.create();
  isDenied(t, await outcome(b.destroy(own)), 'Destroy before the edit');
  await f.writePolicy({ creatorOps: [...CREATOR_OPS, 'operation_destroy'] });
  const took = await waitFor('Destroy to be allowed', async () => {
    const o = await outcome(b.destroy(own));
    if (o.kind === 'failed' && o.reason === ResultReason.PermissionDenied) return false;
    isSuccess(t, o, 'Destroy after the edit');
    return true;
  }, 5000, 100);
  t.log(`took effect after ${took} ms`);
  t.false(b.connection.closed, 'the same connection was used throughout');
  // With Destroy allowed, another scope's object is simply not there.
  isNotFound(t, await outcome(b.destroy(alphaUid)), 'beta Destroy of an alpha object');
  isSuccess(t, await outcome(a.get(alphaUid)), 'the alpha object survives');
  // And removing the operation again takes effect too.
  await f.writePolicy();
  const again = await b.create();
  await waitFor('Destroy to be denied again', async () => {
    const o = await outcome(b.destroy(again));
    return o.kind === 'failed' && o.reason === ResultReason.PermissionDenied;
  }, 5000, 100);
  t.pass();
});

test('Locate in scope beta never lists scope alpha objects', async (t) => {
  const f = await authzServer(t);
  // creator gets Locate for this test (its own server).
  await f.writePolicy({ creatorOps: [...CREATOR_OPS, 'operation_locate'] });
  const a = await as(t, f, f.creds.aFull);
  const b = await as(t, f, f.creds.bCreator);
  const name = `shared-name-${randomUUID()}`;
  const alphaUid = await a.create({ name });
  const betaUid = await b.create({ name });
  await waitFor('Locate to be allowed', async () => {
    const o = await outcome(b.locate(name));
    return !(o.kind === 'failed' && o.reason === ResultReason.PermissionDenied);
  }, 5000, 100);
  t.deepEqual(await b.locate(name), [betaUid], 'same name in both scopes: beta finds only its own');
  t.deepEqual(await a.locate(name), [alphaUid], 'alpha finds only its own');
  const everything = await b.locate([]);
  t.true(everything.includes(betaUid));
  t.false(everything.includes(alphaUid), 'an unfiltered Locate in beta does not list alpha objects');
});
