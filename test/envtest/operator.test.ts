/**
 * The operator against a real control plane (kube-apiserver, etcd, kube-controller-manager for
 * garbage collection), with the CRDs from crds/ applied as a user would: scopes, roles and
 * credentials in all three modes, the Secret and the status the KMIP server reads, deletion and
 * revocation, deletion of a scope no server has counted objects in, renewal with rollout restarts,
 * the probe endpoint, the informer watchdog, and leader election between two instances.
 *
 * The operator runs in this process (startOperator), with short timings. Set ENVTEST_OPERATOR_LOG
 * to a pino level to see its logs on stderr.
 */
import test, { type ExecutionContext } from 'ava';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { CRD_DIR } from '../../operator/api/generate.ts';
import { KINDS, crdName } from '../../operator/api/index.ts';
import { startOperator } from '../../operator/main.ts';
import { KubeClient, type KubeObject } from '../../operator/runtime/client.ts';
import { Informer } from '../../operator/runtime/informer.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { OperatorMetrics } from '../../operator/runtime/metrics.ts';
import { KmipClientCredentials } from '../../operator/runtime/resources.ts';
import { canonicalSerialNumber, createCsr, fingerprintSha256, identityFromCertificate, pemCertificates, selfSignedCertificate } from '../../operator/pki/index.ts';
import { policyFromResources, type KubeResource } from '../../kmip-server/policy/resources.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { sleep, waitFor } from './wait.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const OPERATOR_NS = 'kube-kmip';
const NS = 'team-a';
const GROUP = '/apis/kubekmip.io/v1alpha1';
const USER = 'envtest-user';
const LEASE = { namespace: OPERATOR_NS, name: 'kube-kmip-operator', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 };

const logger = pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2));

let cp: ControlPlane | undefined;
let operator: Manager | undefined;
/** Test time for renewal: the real clock plus this offset. */
let clockOffsetMs = 0;

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

function operatorOptions(identity: string, metrics = new OperatorMetrics()) {
  return {
    kubeconfig: plane().kubeconfigPath,
    logger: logger.child({ instance: identity }),
    namespace: OPERATOR_NS,
    identity,
    metrics,
    leaderElection: LEASE,
    probe: { port: 0, host: '127.0.0.1' },
    backoff: { baseMs: 50, maxMs: 2000 },
    controllers: {
      scopeDeletionRecheckMs: 300,
      secretConflictRecheckMs: 500,
      now: () => new Date(Date.now() + clockOffsetMs),
    },
  };
}

test.before('start the control plane, apply the CRDs, start the operator', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(120_000, 'the control plane or the operator did not start');
  cp = await startControlPlane({ controllerManager: true });
  for (const kind of KINDS) {
    const name = crdName(kind);
    const yaml = readFileSync(join(CRD_DIR, `${name}.yaml`), 'utf8');
    const res = await cp.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=${USER}&force=true`,
      yaml, { 'content-type': 'application/apply-patch+yaml' });
    if (res.status !== 200 && res.status !== 201) throw new Error(`applying ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  for (const ns of [OPERATOR_NS, NS, 'team-b']) {
    const res = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    if (res.status !== 201) throw new Error(`creating namespace ${ns}: ${JSON.stringify(res.body)}`);
  }
  for (const kind of KINDS) {
    await waitFor(`${kind.plural} served`, async () => ((await cp!.request('GET', `${GROUP}/${kind.plural}`)).status === 200 ? true : undefined));
  }
  operator = await startOperator(operatorOptions('operator-a'));
  await waitFor('the operator to lead', async () => (operator?.isLeader ? true : undefined));
  t.log(`control plane up in ${cp.startupMs} ms; operator probe port ${operator.probePort}`);
});

test.after.always('stop the operator and the control plane', async () => {
  await operator?.stop();
  await cp?.stop();
});

// ------------------------------------------------------------------------------------------------
// Helpers

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime: string }
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; generation?: number; resourceVersion?: string; finalizers?: string[]; deletionTimestamp?: string; annotations?: Record<string, string>; labels?: Record<string, string>; ownerReferences?: { uid: string; controller?: boolean; kind: string; name: string }[] };
  spec: Record<string, unknown>;
  status?: { conditions?: Condition[]; [k: string]: unknown };
}
interface SecretObj { type: string; data: Record<string, string>; metadata: Obj['metadata'] }

const plural = (kind: string) => `${kind.toLowerCase()}s`;
const path = (kind: string, name: string, ns = NS) => `${GROUP}/namespaces/${ns}/${plural(kind)}/${name}`;

async function apply(kind: string, name: string, spec: Record<string, unknown>, ns = NS): Promise<Obj> {
  const res = await plane().request<Obj>('PATCH', `${path(kind, name, ns)}?fieldManager=${USER}&force=true`,
    JSON.stringify({ apiVersion: 'kubekmip.io/v1alpha1', kind, metadata: { name, namespace: ns }, spec }),
    { 'content-type': 'application/apply-patch+yaml' });
  if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${kind} ${ns}/${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function get(kind: string, name: string, ns = NS): Promise<Obj | undefined> {
  const res = await plane().request<Obj>('GET', path(kind, name, ns));
  return res.status === 200 ? res.body : undefined;
}

async function remove(kind: string, name: string, ns = NS): Promise<void> {
  const res = await plane().request('DELETE', path(kind, name, ns));
  if (res.status !== 200 && res.status !== 202) throw new Error(`delete ${kind} ${ns}/${name}: HTTP ${res.status}`);
}

async function getSecret(name: string, ns = NS): Promise<SecretObj | undefined> {
  const res = await plane().request<SecretObj>('GET', `/api/v1/namespaces/${ns}/secrets/${name}`);
  return res.status === 200 ? res.body : undefined;
}

const ready = (o: Obj | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

/** Waits until the object's Ready condition has `status` (and `reason`, when given); returns the object. */
async function waitReady(kind: string, name: string, status: 'True' | 'False', reason?: string, ns = NS): Promise<Obj> {
  return waitFor(`${kind} ${ns}/${name} Ready=${status}${reason ? ` (${reason})` : ''}`, async () => {
    const o = await get(kind, name, ns);
    const c = ready(o);
    return c && c.status === status && (!reason || c.reason === reason) ? o : undefined;
  });
}

const text = (s: SecretObj, key: string) => Buffer.from(s.data[key] ?? '', 'base64').toString('utf8');
const certs = (pem: string) => pemCertificates(pem).map((d) => new X509Certificate(Buffer.from(d)));

async function caSecret(): Promise<SecretObj> {
  return waitFor('the CA Secret', () => getSecret('kube-kmip-ca', OPERATOR_NS));
}

async function eventReasons(name: string, ns = NS): Promise<string[]> {
  const res = await plane().request<{ items: { reason: string; regarding: { name: string }; type: string }[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
  return res.body.items.filter((e) => e.regarding.name === name).map((e) => `${e.type}/${e.reason}`);
}

async function scopeAndRole(prefix: string, role: Record<string, unknown> = {}): Promise<{ scope: Obj; role: Obj }> {
  const scope = await apply('KmipScope', `${prefix}-scope`, { description: `scope for ${prefix}` });
  const r = await apply('KmipRole', `${prefix}-role`, {
    scopeRef: { name: `${prefix}-scope` }, operations: ['operation_create', 'operation_get', 'operation_activate'], ...role,
  });
  return { scope, role: r };
}

/** What the KMIP server's Kubernetes policy source would make of these resources. */
async function serverPolicy(ns = NS) {
  const list = async (kind: string) => (await plane().request<{ items: KubeResource[] }>('GET', `${GROUP}/namespaces/${ns}/${plural(kind)}`)).body.items
    .map((i) => ({ ...i, kind }));
  return policyFromResources([...await list('KmipScope'), ...await list('KmipRole'), ...await list('KmipClientCredential')]);
}

function checkReadyCurrent(t: ExecutionContext, o: Obj): void {
  const c = ready(o);
  t.is(c?.status, 'True');
  t.is(c?.observedGeneration, o.metadata.generation, 'Ready was computed from the current generation');
  t.is(o.status?.['observedGeneration'], o.metadata.generation);
}

// ------------------------------------------------------------------------------------------------
// Leader election. Serial tests run before the others: this one hands the main operator's job to
// its successor, which then serves the rest of the suite.

test.serial('leader election: of two instances only the leader reconciles; the other takes over when it stops', async (t) => {
  t.timeout(60_000);
  const reconciles = async (m: OperatorMetrics) => (await m.reconcileTotal.get()).values.reduce((s, v) => s + v.value, 0);
  const a = operator!;
  const ma = a.metrics;
  const mb = new OperatorMetrics();
  const b = await startOperator(operatorOptions('operator-b', mb));
  try {
    await waitFor('b to sync its caches', async () => (b.notReady() === undefined ? true : undefined));
    await apply('KmipScope', 'le-one', {});
    await waitReady('KmipScope', 'le-one', 'True');
    await sleep(1000);
    t.true(a.isLeader);
    t.false(b.isLeader);
    t.true(await reconciles(ma) > 0);
    t.is(await reconciles(mb), 0, 'the standby reconciled nothing');

    await a.stop();
    await waitFor('b to lead', async () => (b.isLeader ? true : undefined), 10_000);
    await apply('KmipScope', 'le-two', {});
    await waitReady('KmipScope', 'le-two', 'True');
    t.true(await reconciles(mb) > 0);
    const lease = await plane().request<{ spec: { holderIdentity: string; leaseTransitions: number } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/kube-kmip-operator`);
    t.is(lease.body.spec.holderIdentity, 'operator-b');
    t.true(lease.body.spec.leaseTransitions >= 1);

    // Someone else takes the lease: b cannot renew, stops its controllers within the renew
    // deadline, reconciles nothing meanwhile, and takes the lease back once it lapses.
    // b renews every few hundred ms: a renewal between our read and our write is a 409, so read and write again.
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/kube-kmip-operator`;
    let put: { status: number } = { status: 0 };
    for (let attempt = 0; attempt < 10 && put.status !== 200; attempt++) {
      const stolen = await plane().request<{ metadata: { resourceVersion: string } }>('GET', leasePath);
      const now = new Date().toISOString().replace('Z', '000Z');
      put = await plane().request('PUT', leasePath, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: 'kube-kmip-operator', namespace: OPERATOR_NS, resourceVersion: stolen.body.metadata.resourceVersion },
        spec: { holderIdentity: 'intruder', leaseDurationSeconds: 3, acquireTime: now, renewTime: now, leaseTransitions: 5 },
      });
      if (put.status !== 200 && put.status !== 409) break;
    }
    t.is(put.status, 200);
    await waitFor('b to stop leading', async () => (!b.isLeader ? true : undefined), 5000);
    t.is((await mb.isLeader.get()).values[0]?.value, 0);
    const before = await reconciles(mb);
    await apply('KmipScope', 'le-three', {});
    await sleep(500);
    t.is(ready(await get('KmipScope', 'le-three')), undefined, 'not reconciled while not leading');
    t.is(await reconciles(mb), before);
    await waitFor('b to lead again', async () => (b.isLeader ? true : undefined), 10_000);
    await waitReady('KmipScope', 'le-three', 'True');
  } finally {
    await a.stop();
    operator = b;
  }
});

// ------------------------------------------------------------------------------------------------
// Scopes and roles

test('a scope and a role become Ready, the scope with its finalizer and no object count (the KMIP server counts)', async (t) => {
  await scopeAndRole('basic');
  const scope = await waitReady('KmipScope', 'basic-scope', 'True');
  checkReadyCurrent(t, scope);
  t.is(scope.status?.['objectCount'], undefined, 'no server runs here, and the operator does not make a count up');
  t.true(scope.metadata.finalizers?.includes('kubekmip.io/scope-objects'));
  const role = await waitReady('KmipRole', 'basic-role', 'True');
  checkReadyCurrent(t, role);
  t.regex(ready(role)!.message, /grants 3 operations in KmipScope basic-scope/);
});

test('a role whose scope does not exist says so, and becomes Ready when the scope appears', async (t) => {
  await apply('KmipRole', 'orphan-role', { scopeRef: { name: 'later-scope' }, operations: ['operation_get'] });
  const role = await waitReady('KmipRole', 'orphan-role', 'False', 'ScopeNotFound');
  t.regex(ready(role)!.message, /KmipScope team-a\/later-scope does not exist/);
  await apply('KmipScope', 'later-scope', {});
  await waitReady('KmipRole', 'orphan-role', 'True');
  t.pass();
});

// ------------------------------------------------------------------------------------------------
// Credentials: generate

test('generate: the Secret holds a key and a chain that verifies to the CA; status is what the server reads', async (t) => {
  const { scope, role } = await scopeAndRole('gen');
  await apply('KmipClientCredential', 'gen-cred', {
    scopeRef: { name: 'gen-scope' }, roleRef: { name: 'gen-role' }, secretName: 'gen-secret',
    tlsClientKeyType: 'rsa', tlsClientKeyBits: 2048, formats: ['pem', 'pem_bundle', 'der', 'pkcs12'],
  });
  const cred = await waitReady('KmipClientCredential', 'gen-cred', 'True', 'Issued');
  checkReadyCurrent(t, cred);
  const secret = (await getSecret('gen-secret'))!;
  t.is(secret.type, 'kubernetes.io/tls');
  t.deepEqual(Object.keys(secret.data).sort(),
    ['bundle.pem', 'ca.crt', 'client.pem', 'key.der', 'keystore.p12', 'keystore.p12.password', 'tls.crt', 'tls.der', 'tls.key']);

  // The chain: leaf ← intermediate (in tls.crt and ca.crt) ← root (ca.crt, and the CA Secret's ca.crt).
  const [leaf, intermediate] = certs(text(secret, 'tls.crt'));
  const caChain = certs(text(secret, 'ca.crt'));
  const root = certs(text(await caSecret(), 'ca.crt'))[0]!;
  t.is(caChain.length, 2);
  t.is(caChain[1]!.fingerprint256, root.fingerprint256);
  t.is(intermediate!.fingerprint256, caChain[0]!.fingerprint256);
  t.true(leaf!.verify(intermediate!.publicKey), 'leaf signed by the intermediate');
  t.true(intermediate!.verify(root.publicKey), 'intermediate signed by the root');
  t.true(root.verify(root.publicKey), 'root self-signed');
  t.true(root.ca && intermediate!.ca);
  t.is(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'the CA is EC P-256');

  // The leaf: OU=scope uid, CN=role uid, the credential's key type, the key next to it.
  const id = identityFromCertificate(leaf!.raw);
  t.is(id.scopeId, scope.metadata.uid);
  t.is(id.roleId, role.metadata.uid);
  t.is(leaf!.publicKey.asymmetricKeyType, 'rsa');
  t.is(leaf!.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  t.true(createPublicKey(createPrivateKey(text(secret, 'tls.key'))).equals(leaf!.publicKey));
  t.true(text(secret, 'client.pem').startsWith('-----BEGIN PRIVATE KEY-----'));
  t.true(text(secret, 'client.pem').includes(leaf!.toString().trim()));
  t.is(certs(text(secret, 'bundle.pem')).length, 3);
  t.is(fingerprintSha256(Buffer.from(secret.data['tls.der']!, 'base64')), fingerprintSha256(leaf!.raw));
  t.notThrows(() => createSecureContext({ pfx: Buffer.from(secret.data['keystore.p12']!, 'base64'), passphrase: text(secret, 'keystore.p12.password') }));

  // Tied to its credential.
  t.is(secret.metadata.labels?.['kubekmip.io/credential-uid'], cred.metadata.uid);
  t.is(secret.metadata.annotations?.['kubekmip.io/credential'], `${NS}/gen-cred`);
  t.like(secret.metadata.ownerReferences?.[0], { kind: 'KmipClientCredential', name: 'gen-cred', uid: cred.metadata.uid, controller: true });

  // Status.
  const st = cred.status!;
  const serial = canonicalSerialNumber(leaf!.serialNumber);
  t.is(st['serialNumber'], serial);
  t.deepEqual(st['serialNumbers'], [serial]);
  t.is(st['fingerprint'], fingerprintSha256(leaf!.raw));
  t.deepEqual(st['certificateFingerprints'], [fingerprintSha256(leaf!.raw)], "the serial is bound to the Secret's certificate");
  t.is(st['secretName'], 'gen-secret');
  t.is(st['notAfter'], new Date(leaf!.validToDate).toISOString().replace('.000Z', 'Z'));
  const lifetime = leaf!.validToDate.getTime() - leaf!.validFromDate.getTime();
  t.true(Math.abs(Date.parse(st['renewalTime'] as string) - (leaf!.validToDate.getTime() - lifetime / 3)) <= 1000, 'renewal at a third of the lifetime left');
  t.true(cred.metadata.finalizers?.includes('kubekmip.io/credential-revocation'));
  t.true((await eventReasons('gen-cred')).includes('Normal/Issued'));

  // The server's policy source accepts this certificate for this scope and role.
  const { snapshot } = await serverPolicy();
  const accepted = snapshot.bySerial.get(serial);
  t.is(accepted?.name, 'gen-cred');
  t.is(accepted?.roleId, role.metadata.uid);
  t.is(accepted?.scopeId, scope.metadata.uid);

  // A second reconcile (forced by a resync of its own status update) wrote nothing new.
  const rv = (await get('KmipClientCredential', 'gen-cred'))!.metadata.resourceVersion;
  const secretRv = secret.metadata.resourceVersion;
  await sleep(500);
  t.is((await get('KmipClientCredential', 'gen-cred'))!.metadata.resourceVersion, rv, 'credential unchanged');
  t.is((await getSecret('gen-secret'))!.metadata.resourceVersion, secretRv, 'Secret unchanged');
});

test('a Secret name already taken by someone else is refused with a condition', async (t) => {
  await scopeAndRole('taken');
  const res = await plane().request('POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'users-own-secret' }, stringData: { a: 'b' } });
  t.is(res.status, 201);
  await apply('KmipClientCredential', 'taken-cred', { scopeRef: { name: 'taken-scope' }, roleRef: { name: 'taken-role' }, secretName: 'users-own-secret' });
  const cred = await waitReady('KmipClientCredential', 'taken-cred', 'False', 'SecretConflict');
  t.regex(ready(cred)!.message, /Secret team-a\/users-own-secret already exists and does not belong to this KmipClientCredential/);
  t.is(text((await getSecret('users-own-secret'))!, 'a'), 'b', 'the Secret is left alone');
  t.is(cred.status?.['serialNumber'], undefined);
});

// ------------------------------------------------------------------------------------------------
// Credentials: csr

test('csr: the Secret holds only a certificate, for the key of the CSR', async (t) => {
  await scopeAndRole('csr');
  const csr = await createCsr({ keySpec: { type: 'ec', curve: 'P-256' } });
  await apply('KmipClientCredential', 'csr-cred', { scopeRef: { name: 'csr-scope' }, roleRef: { name: 'csr-role' }, csr: csr.csrPem });
  const cred = await waitReady('KmipClientCredential', 'csr-cred', 'True', 'Issued');
  checkReadyCurrent(t, cred);
  const secret = (await getSecret('csr-cred'))!;
  t.is(secret.type, 'Opaque');
  t.deepEqual(Object.keys(secret.data).sort(), ['ca.crt', 'tls.crt'], 'no key: it never left the client');
  const leaf = certs(text(secret, 'tls.crt'))[0]!;
  t.true(createPublicKey(createPrivateKey(csr.privateKeyPem)).equals(leaf.publicKey), 'certified key is the CSR\'s');
  t.is(cred.status?.['serialNumber'], canonicalSerialNumber(leaf.serialNumber));
  t.deepEqual(cred.status?.['certificateFingerprints'], [fingerprintSha256(leaf.raw)], 'the serial is bound to the signed certificate');
  t.true(leaf.verify(certs(text(secret, 'ca.crt'))[0]!.publicKey));
});

test('csr: a key of another type than the role\'s is refused with a condition naming both', async (t) => {
  await scopeAndRole('csrbad');
  const csr = await createCsr({ keySpec: { type: 'rsa', bits: 2048 } });
  await apply('KmipClientCredential', 'csrbad-cred', { scopeRef: { name: 'csrbad-scope' }, roleRef: { name: 'csrbad-role' }, csr: csr.csrPem });
  const cred = await waitReady('KmipClientCredential', 'csrbad-cred', 'False', 'CSRRejected');
  t.is(ready(cred)!.message, 'cannot sign spec.csr: CSR key is RSA 2048 but the role requires EC P-256');
  t.is(ready(cred)!.observedGeneration, cred.metadata.generation);
  t.is(cred.status?.['serialNumber'], undefined);
  t.is(await getSecret('csrbad-cred'), undefined);
  await waitFor('a Warning event', async () => ((await eventReasons('csrbad-cred')).includes('Warning/CSRRejected') ? true : undefined));
});

// ------------------------------------------------------------------------------------------------
// Credentials: certificate upload

test('upload: the fingerprint is recorded; a second credential uploading the same certificate is refused', async (t) => {
  await scopeAndRole('up');
  const own = await selfSignedCertificate({ commonName: 'vsphere-host-1' });
  await apply('KmipClientCredential', 'up-first', { scopeRef: { name: 'up-scope' }, roleRef: { name: 'up-role' }, certificate: own.certificatePem });
  const first = await waitReady('KmipClientCredential', 'up-first', 'True', 'Registered');
  checkReadyCurrent(t, first);
  t.is(first.status?.['fingerprint'], own.fingerprintSha256);
  t.is(first.status?.['serialNumber'], undefined, 'an uploaded certificate is accepted by fingerprint, not serial');
  const secret = (await getSecret('up-first'))!;
  t.deepEqual(Object.keys(secret.data).sort(), ['ca.crt', 'tls.crt']);

  // Cluster-wide: the claim comes from another namespace.
  await scopeAndRole('up');
  await apply('KmipScope', 'up-scope', {}, 'team-b');
  await apply('KmipRole', 'up-role', { scopeRef: { name: 'up-scope' }, operations: ['operation_get'] }, 'team-b');
  await apply('KmipClientCredential', 'up-second', { scopeRef: { name: 'up-scope' }, roleRef: { name: 'up-role' }, certificate: own.certificatePem }, 'team-b');
  const second = await waitReady('KmipClientCredential', 'up-second', 'False', 'CertificateInUse', 'team-b');
  t.regex(ready(second)!.message, new RegExp(`SHA-256 ${own.fingerprintSha256}\\) is already registered by KmipClientCredential team-a/up-first`));
  t.is(second.status?.['fingerprint'], undefined);

  // The server's policy source, over this namespace. (Over both it would map the certificate to
  // up-second: it reads spec.certificate without the operator's verdict, status.fingerprint.)
  const { snapshot } = await serverPolicy();
  t.is(snapshot.byFingerprint.get(own.fingerprintSha256)?.name, 'up-first');

  // When the first claim goes, the second one takes over.
  await remove('KmipClientCredential', 'up-first');
  const now = await waitReady('KmipClientCredential', 'up-second', 'True', 'Registered', 'team-b');
  t.is(now.status?.['fingerprint'], own.fingerprintSha256);
});

test('upload: a certificate issued by the kube-kmip CA cannot be registered by fingerprint', async (t) => {
  await scopeAndRole('steal');
  await apply('KmipClientCredential', 'steal-victim', { scopeRef: { name: 'steal-scope' }, roleRef: { name: 'steal-role' } });
  await waitReady('KmipClientCredential', 'steal-victim', 'True');
  const victimCert = text((await getSecret('steal-victim'))!, 'tls.crt');
  await apply('KmipClientCredential', 'steal-thief', { scopeRef: { name: 'steal-scope' }, roleRef: { name: 'steal-role' }, certificate: victimCert });
  const thief = await waitReady('KmipClientCredential', 'steal-thief', 'False', 'CertificateIssuedHere');
  t.is(thief.status?.['fingerprint'], undefined, 'no verdict for the server to honour');
  t.is(await getSecret('steal-thief'), undefined);
});

// ------------------------------------------------------------------------------------------------
// Deletion

test('deleting a credential withdraws its serial from status first, then the Secret is garbage-collected', async (t) => {
  await garbageCollectorKnowsOurKinds();
  await scopeAndRole('del');
  await apply('KmipClientCredential', 'del-cred', { scopeRef: { name: 'del-scope' }, roleRef: { name: 'del-role' } });
  const cred = await waitReady('KmipClientCredential', 'del-cred', 'True');
  t.truthy(await getSecret('del-cred'));

  // Watch the credential from its current version, to see every state it passes through.
  const kc = new KubeClient(kubeConfig());
  const seen: { type: string; serial: unknown; deleting: boolean }[] = [];
  const abort = new AbortController();
  const watching = kc.watch<Obj>(KmipClientCredentials, NS, { resourceVersion: cred.metadata.resourceVersion, fieldSelector: 'metadata.name=del-cred' }, (e) => {
    seen.push({ type: e.type, serial: e.object.status?.['serialNumber'], deleting: !!e.object.metadata.deletionTimestamp });
    if (e.type === 'DELETED') abort.abort();
  }, { signal: abort.signal });
  await remove('KmipClientCredential', 'del-cred');
  const giveUp = setTimeout(() => abort.abort(), 15_000);
  await watching;
  clearTimeout(giveUp);
  kc.close();

  const deleted = seen.findIndex((e) => e.type === 'DELETED');
  t.true(deleted > 0, `the credential was deleted (saw ${JSON.stringify(seen)})`);
  t.true(seen.slice(0, deleted).some((e) => e.deleting && e.serial === undefined), 'status was cleared while the finalizer held the credential');
  await waitFor('the Secret to be garbage-collected', async () => ((await getSecret('del-cred')) === undefined ? true : undefined), 20_000);
  const { snapshot } = await serverPolicy();
  t.false([...snapshot.bySerial.values()].some((c) => c.name === 'del-cred'));
});

/**
 * kube-controller-manager discovers new kinds on a 30 s resync; until then its garbage collector
 * cannot resolve an owner of our kinds and backs off, by tens of seconds, on every dependent that
 * names one. In a real cluster the CRDs are long installed; here they are seconds old. So before
 * the deletion test creates its Secret, it asks the collector itself: a throwaway ConfigMap owned
 * by a throwaway credential, the credential deleted: once the ConfigMap goes within a few seconds,
 * the collector knows the kind. (Each attempt uses a fresh pair, which no earlier backoff delays.)
 */
async function garbageCollectorKnowsOurKinds(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let i = 0; Date.now() < deadline; i++) {
    const name = `gc-probe-${i}`;
    // The owner's kind must be the credential's: the collector's first discovery can race the CRDs'
    // installation and know some of our kinds but not others.
    const owner = await apply('KmipClientCredential', name, { scopeRef: { name: 'gc-probe' }, roleRef: { name: 'gc-probe' } }, 'team-b');
    const cm = await plane().request('POST', '/api/v1/namespaces/team-b/configmaps', {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name, ownerReferences: [{ apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', name, uid: owner.metadata.uid }] },
    });
    if (cm.status !== 201) throw new Error(`creating ConfigMap ${name}: HTTP ${cm.status}`);
    await remove('KmipClientCredential', name, 'team-b');
    for (const until = Date.now() + 3000; Date.now() < until; await sleep(100)) {
      if ((await plane().request('GET', `/api/v1/namespaces/team-b/configmaps/${name}`)).status === 404) return;
    }
  }
  throw new Error('the garbage collector did not learn the kubekmip.io kinds within 60 s');
}

/** A KubeConfig for the test's own API calls (the operator has its own client). */
function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(plane().kubeconfigPath);
  return kc;
}

// A scope holding objects (Retain blocks, Force destroys them): test/envtest/scope-deletion.test.ts,
// with the KMIP server that counts and deletes them.

test('a scope with deletionPolicy Retain and no objects is deleted at once', async (t) => {
  await apply('KmipScope', 'empty-scope', {});
  await waitReady('KmipScope', 'empty-scope', 'True');
  await remove('KmipScope', 'empty-scope');
  await waitFor('the scope to be gone', async () => ((await get('KmipScope', 'empty-scope')) === undefined ? true : undefined));
  t.pass();
});

// ------------------------------------------------------------------------------------------------
// Renewal

// Serial: it moves the operator's clock, which every credential would notice.
test.serial('renewal: a third of the lifetime left renews the certificate, keeps the old serial accepted and restarts the targets', async (t) => {
  await scopeAndRole('renew', { tlsClientTTL: '3h' });
  const deploy = await plane().request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'kmip-app' },
    spec: {
      replicas: 0, selector: { matchLabels: { app: 'kmip-app' } },
      template: { metadata: { labels: { app: 'kmip-app' } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
    },
  });
  t.is(deploy.status, 201);
  await apply('KmipClientCredential', 'renew-cred', {
    scopeRef: { name: 'renew-scope' }, roleRef: { name: 'renew-role' }, rolloutRestartTargets: [{ kind: 'Deployment', name: 'kmip-app' }],
  });
  const before = await waitReady('KmipClientCredential', 'renew-cred', 'True');
  const first = before.status?.['serialNumber'] as string;
  const firstFingerprint = fingerprintSha256(certs(text((await getSecret('renew-cred'))!, 'tls.crt'))[0]!.raw);
  t.deepEqual(before.status?.['certificateFingerprints'], [firstFingerprint]);
  const notAfter = Date.parse(before.status?.['notAfter'] as string);
  t.true(notAfter - Date.now() > 2.9 * 3_600_000, 'lifetime from the role: 3h');
  const restartedAt = async () => (await plane().request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(
    'GET', `/apis/apps/v1/namespaces/${NS}/deployments/kmip-app`)).body.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'];
  t.is(await restartedAt(), undefined, 'the first issuance restarts nothing');

  // Move the operator's clock past the renewal time (2h into the 3h), and poke the credential.
  clockOffsetMs = 2 * 3_600_000 + 60_000;
  try {
    await plane().request('PATCH', `${path('KmipClientCredential', 'renew-cred')}`, { metadata: { annotations: { poke: '1' } } },
      { 'content-type': 'application/merge-patch+json' });
    const after = await waitFor('the renewed certificate', async () => {
      const o = await get('KmipClientCredential', 'renew-cred');
      return o?.status?.['serialNumber'] !== first ? o : undefined;
    });
    const second = after.status?.['serialNumber'] as string;
    t.deepEqual(after.status?.['serialNumbers'], [second, first], 'the previous certificate stays accepted until it expires');
    const renewedSecret = (await getSecret('renew-cred'))!;
    const renewed = certs(text(renewedSecret, 'tls.crt'))[0]!;
    t.is(canonicalSerialNumber(renewed.serialNumber), second);
    t.deepEqual(after.status?.['certificateFingerprints'], [fingerprintSha256(renewed.raw), firstFingerprint],
      'the fingerprints follow the serials: the renewed certificate and its predecessor');
    t.is(renewedSecret.metadata.annotations?.['kubekmip.io/previous-fingerprint'], firstFingerprint);
    t.truthy(await waitFor('the restart annotation', restartedAt), 'the Deployment was restarted');
    t.true((await eventReasons('renew-cred')).includes('Normal/Renewed'));
    const { snapshot } = await serverPolicy();
    t.is(snapshot.bySerial.get(first)?.name, 'renew-cred');
    t.is(snapshot.bySerial.get(second)?.name, 'renew-cred');
    t.deepEqual(snapshot.bySerial.get(first)?.issuedFingerprints, [fingerprintSha256(renewed.raw), firstFingerprint]);
  } finally {
    clockOffsetMs = 0;
  }
});

test('changing the key type reissues the certificate at once', async (t) => {
  await scopeAndRole('rekey');
  await apply('KmipClientCredential', 'rekey-cred', { scopeRef: { name: 'rekey-scope' }, roleRef: { name: 'rekey-role' } });
  const before = await waitReady('KmipClientCredential', 'rekey-cred', 'True');
  t.is(certs(text((await getSecret('rekey-cred'))!, 'tls.crt'))[0]!.publicKey.asymmetricKeyType, 'ec', 'the role\'s default: ec');
  await apply('KmipClientCredential', 'rekey-cred', { scopeRef: { name: 'rekey-scope' }, roleRef: { name: 'rekey-role' }, tlsClientKeyType: 'ec', tlsClientKeyBits: 384 });
  const after = await waitFor('the reissued certificate', async () => {
    const o = await get('KmipClientCredential', 'rekey-cred');
    return o && o.status?.['serialNumber'] !== before.status?.['serialNumber'] && ready(o)?.observedGeneration === o.metadata.generation ? o : undefined;
  });
  t.deepEqual(after.status?.['serialNumbers'], [after.status?.['serialNumber']], 'a reissue drops the old serial at once');
  t.deepEqual(after.status?.['certificateFingerprints'], [after.status?.['fingerprint']], 'and its fingerprint');
  t.is(certs(text((await getSecret('rekey-cred'))!, 'tls.crt'))[0]!.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
});

// ------------------------------------------------------------------------------------------------
// Runtime

test('the probe endpoint answers /healthz, /readyz and /metrics with reconcile counters', async (t) => {
  await scopeAndRole('probe');
  await apply('KmipClientCredential', 'probe-cred', { scopeRef: { name: 'probe-scope' }, roleRef: { name: 'probe-role' } });
  await waitReady('KmipClientCredential', 'probe-cred', 'True');
  const base = `http://127.0.0.1:${operator!.probePort}`;
  t.is((await fetch(`${base}/healthz`)).status, 200);
  t.is((await fetch(`${base}/readyz`)).status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.regex(metrics, /kube_kmip_operator_reconcile_total\{controller="kmipclientcredential",result="requeue_after"\} [1-9]/);
  t.regex(metrics, /kube_kmip_operator_reconcile_time_seconds_bucket\{le="[^"]+",controller="kmipscope"\}/);
  t.regex(metrics, /kube_kmip_operator_workqueue_depth\{name="kmiprole"\} \d/);
  t.regex(metrics, /kube_kmip_operator_leader 1/);
});

test('an informer restarts a silent watch, relists on schedule, and keeps delivering', async (t) => {
  const metrics = new OperatorMetrics();
  const client = KubeClient.load(plane().kubeconfigPath);
  const configMaps = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
  const inf = new Informer<KubeObject>(client, configMaps, { namespace: 'team-b', watchdogMs: 400, resyncMs: 1500, logger, metrics });
  const events: string[] = [];
  inf.on((e, o) => events.push(`${e}:${o.metadata.name}`));
  inf.start();
  try {
    await inf.waitForSync();
    const silent = async () => (await metrics.watchRestarts.get()).values.find((v) => v.labels['reason'] === 'silent')?.value ?? 0;
    await waitFor('a silent watch to be restarted', async () => ((await silent()) >= 2 ? true : undefined), 5000);
    await plane().request('POST', '/api/v1/namespaces/team-b/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restarts' } });
    await waitFor('the add', async () => (events.includes('add:after-restarts') ? true : undefined), 5000);
    await waitFor('a resync update', async () => (events.includes('update:after-restarts') ? true : undefined), 5000);
    t.true((await metrics.relists.get()).values[0]!.value >= 2);
    t.truthy(inf.get('team-b', 'after-restarts'));
  } finally {
    await inf.stop();
    client.close();
  }
});

