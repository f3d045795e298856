/**
 * The KMIP server with its Kubernetes policy source (kmip-server/policy/kubernetes.ts) and the
 * ConfigMap store, against a real kube-apiserver with the CRDs from crds/:
 *
 * - a KmipClientCredential whose status.serialNumber names the client certificate's serial can
 *   Create and Get (the operator normally writes that status; here the test writes /status);
 * - editing the KmipRole to drop operation_get makes Get Permission Denied within 5 s, on the
 *   same open connection;
 * - deleting the credential closes the open connection at its next request and refuses new
 *   handshakes, within 5 s;
 * - a credential whose status gets the serial later starts working without a restart;
 * - --all-namespaces sees every namespace.
 *
 * The policy source runs with a 1 s watchdog, so its watches are restarted several times during
 * the test: edits still arrive.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { CRD_DIR } from '../../operator/api/generate.ts';
import { KINDS, crdName } from '../../operator/api/index.ts';
import {
  createRootCa, issueClientCertificate, issueServerCertificate, type CertificateAuthority, type IssuedCertificate,
} from '../../operator/pki/index.ts';
import { KmipClient, V1_4, V2_1, requestMessage, usernamePasswordAuthentication } from '../../kmip-server/client/client.ts';
import { hashPassword } from '../../kmip-server/auth/password-hash.ts';
import { keyPairPayload } from '../../kmip-server/operations/key-ops.fixture.ts';
import { CryptographicAlgorithm, ObjectType } from '../../kmip-server/ttlv/enums.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { ItemType, enumeration, int, type StructureItem } from '../../kmip-server/ttlv/types.ts';
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import { KubeClient } from '../../kmip-server/k8s/client.ts';
import { loadKubeConfig } from '../../kmip-server/k8s/kubeconfig.ts';
import { KubernetesPolicySource } from '../../kmip-server/policy/kubernetes.ts';
import { startKmipServer, type RunningServer } from '../../kmip-server/server.ts';
import { ConfigMapStore, objectName } from '../../kmip-server/store/configmap.ts';
import { ResultReason, attributes1x, customAttribute1x, describeOutcome, outcome, sleep, uidItem, waitFor } from '../helpers/kmip.ts';
import { startServe } from './serve-process.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const NS = 'kmip-policy';
const GROUP = '/apis/kubekmip.io/v1alpha1';
const OPS = ['operation_create', 'operation_get', 'operation_activate', 'operation_locate', 'operation_discover_versions'];

let cp: ControlPlane | undefined;
let kube: KubeClient | undefined;
let ca: CertificateAuthority | undefined;
let serverCert: IssuedCertificate | undefined;

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

test.before('start the control plane, apply the CRDs, make a CA', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(180_000, 'the control plane did not start or the CRDs did not become Established');
  cp = await startControlPlane();
  for (const kind of KINDS) {
    const name = crdName(kind);
    const yaml = readFileSync(join(CRD_DIR, `${name}.yaml`), 'utf8');
    const res = await cp.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=kube-kmip-envtest&force=true`,
      yaml, { 'content-type': 'application/apply-patch+yaml' });
    if (res.status !== 200 && res.status !== 201) throw new Error(`applying ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  kube = await KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath));
  for (const kind of KINDS) {
    await waitFor(`${kind.plural} served`, async () => (await plane().request('GET', `${GROUP}/${kind.plural}`)).status === 200, 30_000, 100);
  }
  ca = await createRootCa({ commonName: 'kube-kmip envtest CA' });
  serverCert = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
});

test.after.always('stop the control plane', async () => {
  kube?.close();
  await cp?.stop();
});

// ---------------------------------------------------------------------------------------------

interface Obj {
  metadata: { name: string; uid: string; resourceVersion: string };
}

async function api<T = Obj>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const res = await plane().request<T>(method, path, body, contentType ? { 'content-type': contentType } : {});
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function namespace(name: string): Promise<void> {
  const res = await plane().request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: HTTP ${res.status}`);
}

const scope = (ns: string, name: string) => api('POST', `${GROUP}/namespaces/${ns}/kmipscopes`, {
  apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope', metadata: { name }, spec: {},
});
const role = (ns: string, name: string, scopeName: string, operations: string[]) => api('POST', `${GROUP}/namespaces/${ns}/kmiproles`, {
  apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipRole', metadata: { name }, spec: { scopeRef: { name: scopeName }, operations },
});
const credential = (ns: string, name: string, scopeName: string, roleName: string) => api('POST', `${GROUP}/namespaces/${ns}/kmipclientcredentials`, {
  apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name },
  spec: { scopeRef: { name: scopeName }, roleRef: { name: roleName } },
});
/** What the operator does once it has issued the certificate: record its serial in /status. */
const recordSerial = (ns: string, name: string, serialNumber: string) =>
  api('PATCH', `${GROUP}/namespaces/${ns}/kmipclientcredentials/${name}/status`, { status: { serialNumber } }, 'application/merge-patch+json');

/** Log lines of the server and the policy source, kept to check that no private key is ever logged. */
function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: pino({ level: 'debug' }, sink), text: () => lines.join('') };
}

interface Harness {
  server: RunningServer;
  policy: KubernetesPolicySource;
  store: ConfigMapStore;
  logs: () => string;
  connect(cert: IssuedCertificate, timeoutMs?: number): Promise<KmipClient>;
  /** 'answered' when a Discover Versions goes through on a fresh connection, else where it failed. */
  probe(cert: IssuedCertificate): Promise<'handshake' | 'request' | 'answered'>;
  close(): Promise<void>;
}

async function harness(namespaceName: string | undefined, storeNamespace: string, kek: Uint8Array = randomBytes(32)): Promise<Harness> {
  const { logger, text } = capturingLogger();
  const policy = KubernetesPolicySource.start({
    client: kube!, ...(namespaceName !== undefined ? { namespace: namespaceName } : {}), logger, watchdogMs: 1000,
  });
  await policy.ready();
  const store = await ConfigMapStore.open({ client: kube!, namespace: storeNamespace, kek, logger });
  const server = await startKmipServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    tls: { certPem: serverCert!.certificatePem, keyPem: serverCert!.privateKeyPem, caPem: ca!.certificatePem },
    store,
    policy,
    logger,
  });
  const addr = server.addresses[0]!;
  const opts = (cert: IssuedCertificate) => ({
    host: addr.host, port: addr.port, ca: ca!.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem, timeoutMs: 5000,
  });
  return {
    server, policy, store, logs: text,
    // The server itself retries a message that lost a commit race for up to 15 s (dispatcher.ts), so a client that
    // gives up sooner can fail under contention on a busy machine although the server would have answered.
    connect: (cert, timeoutMs = 5000) => KmipClient.connect({ ...opts(cert), timeoutMs, version: V1_4 }),
    async probe(cert) {
      let conn: KmipConnection;
      try {
        conn = await KmipConnection.connect(opts(cert));
      } catch {
        return 'handshake';
      }
      try {
        await conn.send(requestMessage(V1_4, [{ operation: 'Discover Versions', payload: [] }]));
        return 'answered';
      } catch {
        return 'request';
      } finally {
        await conn.close().catch(() => undefined);
      }
    },
    async close() {
      await server.close();
      await policy.close();
      await store.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------

test.serial('Create/Get with a credential from the cluster; a role edit and a credential deletion take effect within 5 s', async (t) => {
  await namespace(NS);
  const sc = await scope(NS, 'payments');
  const rl = await role(NS, 'app', 'payments', OPS);
  await credential(NS, 'app-0', 'payments', 'app');
  const cert = await issueClientCertificate(ca!, { scopeId: sc.metadata.uid, roleId: rl.metadata.uid });
  await recordSerial(NS, 'app-0', cert.serialNumber);

  const h = await harness(NS, NS);
  t.teardown(() => h.close());
  await waitFor('the credential to be in the policy', () => h.policy.current().bySerial.has(cert.serialNumber), 5000, 20);

  const c = await h.connect(cert);
  t.teardown(() => c.close().catch(() => undefined));
  const uid = await c.create({ name: 'orders-key' });
  const got = await c.get(uid);
  t.truthy(got, 'Get works');
  t.deepEqual(await c.locate('orders-key'), [uid]);
  // The object lives in a ConfigMap of the namespace, in the scope of the credential.
  const cm = await api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/configmaps/${objectName(uid)}`);
  t.is(cm.data['scope'], sc.metadata.uid);

  // Let the 1 s watchdog restart the (silent) watches first: edits must still arrive after that.
  await sleep(2500);
  const restartsBefore = h.policy.reflectorStats().reduce((n, s) => n + s.watchdogRestarts, 0);
  t.true(restartsBefore >= 3, `every kind's silent watch was restarted at least once (${restartsBefore} restarts)`);

  // Drop operation_get from the role: the next Gets on the same connection are refused.
  await api('PATCH', `${GROUP}/namespaces/${NS}/kmiproles/app`, { spec: { operations: OPS.filter((o) => o !== 'operation_get') } },
    'application/merge-patch+json');
  const patchedAt = Date.now();
  let last = await outcome(c.get(uid));
  await waitFor('Get to be denied', async () => {
    last = await outcome(c.get(uid));
    return last.kind === 'failed' && last.reason === ResultReason.PermissionDenied;
  }, 5000, 50).catch(() => undefined);
  const tookRole = Date.now() - patchedAt;
  t.true(last.kind === 'failed' && last.reason === ResultReason.PermissionDenied, `Get after the role edit: ${describeOutcome(last)}`);
  t.true(tookRole <= 5000, `role edit took ${tookRole} ms`);
  t.log(`role edit took effect after ~${tookRole} ms`);
  t.false(c.connection.closed, 'the same connection is still open');
  t.is((await outcome(c.locate('orders-key'))).kind, 'success', 'operations the role still grants work');

  // Delete the credential: the open connection's next request closes it, new handshakes fail.
  await api('DELETE', `${GROUP}/namespaces/${NS}/kmipclientcredentials/app-0`);
  const deletedAt = Date.now();
  let onOpen = await outcome(c.discoverVersions());
  await waitFor('the open connection to stop working', async () => {
    onOpen = await outcome(c.discoverVersions());
    return onOpen.kind !== 'success';
  }, 5000, 50).catch(() => undefined);
  const tookDelete = Date.now() - deletedAt;
  t.is(onOpen.kind, 'transport', `request after the deletion: ${describeOutcome(onOpen)}`);
  t.true(c.connection.closed, 'the server closed the connection');
  const probe = await h.probe(cert);
  const tookAll = Date.now() - deletedAt;
  t.not(probe, 'answered', 'a new handshake with the deleted credential is refused');
  t.true(tookDelete <= 5000 && tookAll <= 5000, `deletion took ${tookDelete} ms (open connection), ${tookAll} ms (new handshake refused)`);
  t.log(`credential deletion: open connection closed after ~${tookDelete} ms; new connection: ${probe} failed`);

  t.log(`policy watchdog restarts during the test: ${h.policy.reflectorStats().reduce((n, s) => n + s.watchdogRestarts, 0)}`);
  // Nothing private in the logs.
  const logs = h.logs();
  t.false(logs.includes('PRIVATE KEY'), 'no private key in the logs');
  t.false(logs.includes(cert.privateKeyPem.split('\n')[1]!), 'no client key material in the logs');
});

test.serial('header credentials declared in the cluster: what alice makes is hers in the ConfigMap store; a spec edit takes effect', async (t) => {
  const ns = 'kmip-header';
  await namespace(ns);
  const sc = await scope(ns, 'tenant');
  const rl = await role(ns, 'app', 'tenant', OPS);
  const cheap = { ln: 10, r: 8, p: 1 };
  const cred = await api('POST', `${GROUP}/namespaces/${ns}/kmipclientcredentials`, {
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name: 'appliance' },
    spec: {
      scopeRef: { name: 'tenant' }, roleRef: { name: 'app' },
      headerCredentials: [
        { username: 'alice', passwordHash: await hashPassword('alice-pw', cheap) },
        { username: 'bob', passwordHash: await hashPassword('bob-pw', cheap) },
      ],
    },
  });
  const cert = await issueClientCertificate(ca!, { scopeId: sc.metadata.uid, roleId: rl.metadata.uid });
  await recordSerial(ns, 'appliance', cert.serialNumber);
  const h = await harness(ns, ns);
  t.teardown(() => h.close());
  await waitFor('the credential to be in the policy', () => h.policy.current().bySerial.has(cert.serialNumber), 5000, 20);
  const addr = h.server.addresses[0]!;
  const as = async (user: string, password: string) => {
    const c = await KmipClient.connect({
      host: addr.host, port: addr.port, ca: ca!.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem, timeoutMs: 5000,
      version: V2_1, authentication: usernamePasswordAuthentication(user, password),
    });
    t.teardown(() => c.close().catch(() => undefined));
    return c;
  };
  const [alice, bob] = await Promise.all([as('alice', 'alice-pw'), as('bob', 'bob-pw')]);
  const uid = await alice.create({ name: 'alice-key' });
  const cm = await api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/${objectName(uid)}`);
  t.is(cm.data['owner'], `${cred.metadata.uid}/user:alice`);
  const denied = await outcome(bob.get(uid));
  t.true(denied.kind === 'failed' && denied.reason === ResultReason.PermissionDenied, describeOutcome(denied));
  t.deepEqual(await bob.locate('alice-key'), []);
  t.truthy(await alice.get(uid));

  // Bob is removed from the credential: his next message is refused as a whole.
  await api('PATCH', `${GROUP}/namespaces/${ns}/kmipclientcredentials/appliance`, {
    spec: { headerCredentials: [{ username: 'alice', passwordHash: await hashPassword('alice-pw', cheap) }] },
  }, 'application/merge-patch+json');
  let last = await outcome(bob.locate('alice-key'));
  await waitFor('bob to be refused', async () => {
    last = await outcome(bob.locate('alice-key'));
    return last.kind === 'failed' && last.reason === ResultReason.AuthenticationNotSuccessful;
  }, 5000, 50).catch(() => undefined);
  t.true(last.kind === 'failed' && last.reason === ResultReason.AuthenticationNotSuccessful, describeOutcome(last));
  t.truthy(await alice.get(uid), 'alice still reaches her key under the new hash');
  t.false(h.logs().includes('alice-pw') || h.logs().includes('bob-pw'), 'no password in the logs');
});

test.serial('a credential starts working once its status names the certificate serial; problems are reported', async (t) => {
  const ns = 'kmip-late';
  await namespace(ns);
  const sc = await scope(ns, 'tenant');
  const rl = await role(ns, 'reader', 'tenant', ['operation_discover_versions', 'operation_create']);
  await credential(ns, 'late', 'tenant', 'reader');
  await credential(ns, 'dangling', 'tenant', 'no-such-role');
  const cert = await issueClientCertificate(ca!, { scopeId: sc.metadata.uid, roleId: rl.metadata.uid });
  const h = await harness(ns, ns);
  t.teardown(() => h.close());
  t.not(await h.probe(cert), 'answered', 'no serial recorded yet: refused');
  t.true(h.policy.problems.some((p) => p.resource === `KmipClientCredential ${ns}/dangling`), 'the dangling credential is a reported problem');
  await recordSerial(ns, 'late', cert.serialNumber);
  const took = await waitFor('the credential to work', async () => (await h.probe(cert)) === 'answered', 5000, 50);
  t.log(`accepted ${took} ms after the status was written`);
  const c = await h.connect(cert);
  t.teardown(() => c.close().catch(() => undefined));
  t.truthy(await c.create());
});

test.serial('--all-namespaces: credentials of every namespace are in force; one store namespace holds everybody\'s objects', async (t) => {
  const certs: IssuedCertificate[] = [];
  for (const ns of ['tenant-one', 'tenant-two']) {
    await namespace(ns);
    const sc = await scope(ns, 'keys');
    const rl = await role(ns, 'all', 'keys', ['operation_all']);
    await credential(ns, 'c', 'keys', 'all');
    const cert = await issueClientCertificate(ca!, { scopeId: sc.metadata.uid, roleId: rl.metadata.uid });
    await recordSerial(ns, 'c', cert.serialNumber);
    certs.push(cert);
  }
  await namespace('kmip-system');
  const h = await harness(undefined, 'kmip-system');
  t.teardown(() => h.close());
  await waitFor('both credentials', () => certs.every((c) => h.policy.current().bySerial.has(c.serialNumber)), 5000, 20);
  const uids: string[] = [];
  for (const cert of certs) {
    const c = await h.connect(cert);
    uids.push(await c.create({ name: 'same-name' }));
    t.deepEqual(await c.locate('same-name'), [uids.at(-1)], 'each tenant finds only its own object');
    await c.close();
  }
  t.is(h.policy.status().ready, true);
  // Deleting a whole scope revokes its credentials too.
  await api('DELETE', `${GROUP}/namespaces/tenant-one/kmipscopes/keys`);
  await waitFor('tenant-one to be locked out', async () => (await h.probe(certs[0]!)) !== 'answered', 5000, 50);
  t.is(await h.probe(certs[1]!), 'answered');
});

// ---------------------------------------------------------------------------------------------
// The wiring: `kmip-server serve --policy kubernetes --store configmap` as a process


test.serial('kmip-server serve --policy kubernetes --store configmap --namespace NS: objects survive a restart', async (t) => {
  const ns = 'kmip-serve';
  await namespace(ns);
  const sc = await scope(ns, 'main');
  const rl = await role(ns, 'all', 'main', ['operation_all']);
  await credential(ns, 'cli', 'main', 'all');
  const cert = await issueClientCertificate(ca!, { scopeId: sc.metadata.uid, roleId: rl.metadata.uid });
  await recordSerial(ns, 'cli', cert.serialNumber);

  const dir = await mkdtemp(join(tmpdir(), 'kube-kmip-serve-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tls.crt'), serverCert!.certificatePem);
  await writeFile(join(dir, 'tls.key'), serverCert!.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), ca!.certificatePem);
  await writeFile(join(dir, 'kek'), randomBytes(32).toString('base64'), { mode: 0o600 });
  const args = [
    '--listen', '127.0.0.1:0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--client-ca', join(dir, 'ca.crt'),
    '--policy', 'kubernetes', '--store', 'configmap', '--namespace', ns, '--kubeconfig', plane().kubeconfigPath, '--kek-file', join(dir, 'kek'),
  ];
  const env = { KMIP_KEK: '', KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' };

  // A missing KEK file is an error, never a freshly generated key.
  const missing = await startServe([...args.slice(0, -1), join(dir, 'no-such-kek')], env).catch((e: Error) => e);
  t.true(missing instanceof Error && /--kek-file .*no-such-kek/.test(missing.message), String(missing));

  let p = await startServe(args, env);
  let uid: string;
  try {
    const c = await KmipClient.connect({ host: '127.0.0.1', port: p.port, ca: ca!.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem });
    uid = await c.create({ name: 'durable' });
    await c.activate(uid);
    await c.close();
  } finally {
    await p.stop();
  }
  t.false(p.stderr().includes('PRIVATE KEY'));
  p = await startServe(args, env);
  try {
    const c = await KmipClient.connect({ host: '127.0.0.1', port: p.port, ca: ca!.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem });
    t.deepEqual(await c.locate('durable'), [uid]);
    t.truthy(await c.get(uid));
    await c.close();
  } finally {
    await p.stop();
  }
});

/** A namespace with scope "shared", a role allowed everything, and a live client certificate for it. */
async function allowedEverything(ns: string) {
  await namespace(ns);
  const sc = await scope(ns, 'shared');
  const rl = await role(ns, 'all', 'shared', ['operation_all']);
  await credential(ns, 'c', 'shared', 'all');
  const cert = await issueClientCertificate(ca!, { scopeId: sc.metadata.uid, roleId: rl.metadata.uid });
  await recordSerial(ns, 'c', cert.serialNumber);
  return cert;
}

test.serial('two server replicas on one ConfigMap store: a key pair created on one is there on the other at once', async (t) => {
  const ns = 'kmip-replicas';
  const cert = await allowedEverything(ns);
  const kek = randomBytes(32);
  const one = await harness(ns, ns, kek);
  t.teardown(() => one.close());
  const two = await harness(ns, ns, kek);
  t.teardown(() => two.close());
  const a = await one.connect(cert);
  const b = await two.connect(cert);
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined, () => undefined));
  a.version = V2_1;
  b.version = V2_1;
  for (let i = 0; i < 5; i++) {
    const res = await a.call('Create Key Pair', keyPairPayload(V2_1, [
      enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA), int(Tag.CryptographicLength, 2048),
    ]));
    const field = (p: StructureItem, tag: number) => {
      const v = p.value.find((x) => x.tag === tag);
      if (v?.type !== ItemType.TextString) throw new Error('missing uid');
      return v.value;
    };
    const priv = field(res, Tag.PrivateKeyUniqueIdentifier);
    const pub = field(res, Tag.PublicKeyUniqueIdentifier);
    // Straight to the other replica: both halves are there.
    const gp = await b.get(priv);
    const gq = await b.get(pub);
    t.is((gp.value.find((x) => x.tag === Tag.ObjectType) as { value: number }).value, ObjectType.PrivateKey);
    t.is((gq.value.find((x) => x.tag === Tag.ObjectType) as { value: number }).value, ObjectType.PublicKey);
    await b.activate(pub);
    await a.activate(priv);
  }
  const symmetric = await b.create();
  await a.activate(symmetric);
  t.truthy(await b.get(symmetric));
});

test.serial('two server replicas on one ConfigMap store: 200 concurrent Modify Attribute calls across both lose no update', async (t) => {
  t.timeout(180_000);
  const ns = 'kmip-modify';
  const cert = await allowedEverything(ns);
  const kek = randomBytes(32);
  const replicas = [await harness(ns, ns, kek), await harness(ns, ns, kek)];
  t.teardown(() => Promise.all(replicas.map((r) => r.close())).then(() => undefined));
  // Eight connections to each replica, used at once.
  const clients: KmipClient[] = [];
  for (const r of replicas) for (let i = 0; i < 8; i++) clients.push(await r.connect(cert, 30_000));
  t.teardown(() => Promise.all(clients.map((c) => c.close())).then(() => undefined, () => undefined));
  for (const c of clients) c.version = V1_4;
  const N = 200;
  const uid = await clients[0]!.create();
  for (let i = 0; i < N; i++) await clients[0]!.call('Add Attribute', [uidItem(uid), customAttribute1x(`x-n${i}`, 'initial')]);
  let next = 0;
  const failures: string[] = [];
  await Promise.all(clients.map(async (c) => {
    for (let i = next++; i < N; i = next++) {
      const o = await outcome(c.call('Modify Attribute', [uidItem(uid), customAttribute1x(`x-n${i}`, `modified-${i}`)]));
      if (o.kind !== 'success') failures.push(`x-n${i}: ${describeOutcome(o)}`);
    }
  }));
  t.deepEqual(failures, [], 'every Modify Attribute succeeded');
  // Read back through each replica: every one of the 200 modifications is there.
  for (const c of [clients[0]!, clients[8]!]) {
    const attrs = attributes1x(await c.call('Get Attributes', [uidItem(uid)]));
    const lost = [];
    for (let i = 0; i < N; i++) {
      const value = attrs.get(`x-n${i}`)?.[0];
      if (!value || value.type !== ItemType.TextString || value.value !== `modified-${i}`) lost.push(i);
    }
    t.deepEqual(lost, [], 'no update lost');
  }
});
