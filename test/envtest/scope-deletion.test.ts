/**
 * KmipScope object counts and deletion policy, end to end against a real control plane: the
 * operator in this process (it owns the CA, issues the credential, holds the scope's finalizer) and
 * the KMIP server as real `kmip-server serve --policy kubernetes` processes, on the SQLite store
 * and on the ConfigMap store with two replicas.
 *
 * - Objects created through KMIP show up as the scope's status.objectCount, written by the server
 *   (field manager kube-kmip-server) beside the operator's conditions.
 * - Deleting the scope under deletionPolicy Retain leaves it there, Ready=False DeletionBlocked
 *   with the count in the message and a Warning Event; its clients still reach the objects.
 * - Switching to Force: the server deletes the objects and the scope's data key, reports 0, the
 *   operator lets the scope go; a new scope of the same name sees nothing of them, and the store
 *   holds nothing for the old scope id.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pino } from 'pino';
import { DEFAULT_CA_SECRET } from '../../operator/controllers/ca.ts';
import { startOperator } from '../../operator/main.ts';
import { issueServerCertificate, loadCertificateAuthority } from '../../operator/pki/index.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { KmipClient } from '../../kmip-server/client/client.ts';
import { SCOPE_STATUS_FIELD_MANAGER } from '../../kmip-server/k8s/scope-status.ts';
import { dataKeyName, scopeLabel } from '../../kmip-server/store/configmap.ts';
import { ResultReason, outcome } from '../helpers/kmip.ts';
import { startServe, type ServeProcess } from './serve-process.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { installCrds, waitFor } from './wait.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const OPERATOR_NS = 'kube-kmip';
const GROUP = '/apis/kubekmip.io/v1alpha1';
const USER = 'envtest-user';

let cp: ControlPlane | undefined;
let operator: Manager | undefined;
let dir: string | undefined;
/** Files the servers are started with: their certificate, the CA their clients chain to. */
const tls = { cert: '', key: '', clientCa: '' };

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test.before('start the control plane and the operator; a server certificate from its CA', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(120_000, 'the control plane or the operator did not start');
  cp = await startControlPlane();
  await installCrds(cp, USER);
  await namespace(OPERATOR_NS);
  operator = await startOperator({
    kubeconfig: cp.kubeconfigPath,
    logger: pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2)),
    namespace: OPERATOR_NS,
    leaderElection: false,
    probe: false,
    backoff: { baseMs: 50, maxMs: 2000 },
    controllers: { scopeDeletionRecheckMs: 500 },
  });
  const secret = await waitFor('the CA Secret', async () => {
    const r = await plane().request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${OPERATOR_NS}/secrets/${DEFAULT_CA_SECRET}`);
    return r.status === 200 && r.body.data?.['tls.crt'] && r.body.data['tls.key'] ? r.body.data : undefined;
  });
  const caCrt = b64(secret['tls.crt']!);
  const intermediate = await loadCertificateAuthority({ certificatePem: caCrt, privateKeyPem: b64(secret['tls.key']!), chainPem: caCrt });
  const serverCert = await issueServerCertificate(intermediate, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  dir = await mkdtemp(join(tmpdir(), 'kube-kmip-scope-deletion-'));
  tls.cert = join(dir, 'server.crt');
  tls.key = join(dir, 'server.key');
  tls.clientCa = join(dir, 'client-ca.crt');
  await writeFile(tls.cert, `${serverCert.certificatePem.trimEnd()}\n${serverCert.chainPem.trimEnd()}\n`);
  await writeFile(tls.key, serverCert.privateKeyPem, { mode: 0o600 });
  await writeFile(tls.clientCa, caCrt);
});

test.after.always('stop the operator and the control plane', async () => {
  await operator?.stop();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------
// Helpers

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

interface Condition { type: string; status: string; reason: string; message: string }
interface ManagedField { manager: string; subresource?: string; fieldsV1?: { 'f:status'?: Record<string, unknown> } }
interface Scope {
  metadata: { name: string; uid: string; resourceVersion: string; generation: number; deletionTimestamp?: string; finalizers?: string[]; managedFields?: ManagedField[] };
  status?: { objectCount?: number; objectCountTime?: string; objectCountGeneration?: number; conditions?: Condition[] };
}

async function namespace(name: string): Promise<void> {
  const res = await plane().request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: HTTP ${res.status}`);
}

const path = (ns: string, plural: string, name: string) => `${GROUP}/namespaces/${ns}/${plural}/${name}`;

async function apply(ns: string, kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await plane().request('PATCH', `${path(ns, `${kind.toLowerCase()}s`, name)}?fieldManager=${USER}&force=true`,
    JSON.stringify({ apiVersion: 'kubekmip.io/v1alpha1', kind, metadata: { name, namespace: ns }, spec }), { 'content-type': 'application/apply-patch+yaml' });
  if (res.status !== 200 && res.status !== 201) throw new Error(`applying ${kind} ${ns}/${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
}

async function getScope(ns: string, name: string): Promise<Scope | undefined> {
  const res = await plane().request<Scope>('GET', path(ns, 'kmipscopes', name));
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET KmipScope ${ns}/${name}: HTTP ${res.status}`);
  return res.body;
}

const ready = (s: Scope | undefined) => s?.status?.conditions?.find((c) => c.type === 'Ready');

async function eventReasons(ns: string, name: string): Promise<string[]> {
  const res = await plane().request<{ items: { reason: string; regarding: { name: string }; type: string; note: string }[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
  return res.body.items.filter((e) => e.regarding.name === name).map((e) => `${e.type}/${e.reason}`);
}

/** Applies scope, role and credential; resolves with the credential's Secret (cert, key, CA). */
async function tenant(ns: string, scopeName: string, credName: string): Promise<{ cert: string; key: string; ca: string }> {
  await apply(ns, 'KmipScope', scopeName, { deletionPolicy: 'Retain' });
  await apply(ns, 'KmipRole', `${scopeName}-role`, { scopeRef: { name: scopeName }, operations: ['operation_all'] });
  await apply(ns, 'KmipClientCredential', credName, { scopeRef: { name: scopeName }, roleRef: { name: `${scopeName}-role` }, secretName: `${credName}-tls` });
  const data = await waitFor(`the Secret ${ns}/${credName}-tls`, async () => {
    const r = await plane().request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/secrets/${credName}-tls`);
    return r.status === 200 && r.body.data?.['tls.crt'] ? r.body.data : undefined;
  });
  return { cert: b64(data['tls.crt']!), key: b64(data['tls.key']!), ca: b64(data['ca.crt']!) };
}

function startServer(args: string[]): Promise<ServeProcess> {
  return startServe([
    '--listen', '127.0.0.1:0', '--tls-cert', tls.cert, '--tls-key', tls.key, '--client-ca', tls.clientCa,
    '--policy', 'kubernetes', '--kubeconfig', plane().kubeconfigPath, '--scope-report-interval-ms', '3000', ...args,
  ], { KMIP_KEK: '', KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' });
}

/** A client of `port` with the credential; retried until the server's policy has the credential. */
async function connect(port: number, cred: { cert: string; key: string; ca: string }): Promise<KmipClient> {
  return waitFor(`a KMIP session on port ${port}`, async () => {
    const c = await KmipClient.connect({ host: '127.0.0.1', port, ca: cred.ca, cert: cred.cert, key: cred.key, timeoutMs: 5000 });
    try {
      await c.locate('probe');
      return c;
    } catch (err) {
      await c.close().catch(() => undefined);
      throw err;
    }
  }, 15_000);
}

/** What the test reads from the store behind the servers, by scope id. */
interface StoreView {
  objects(scopeId: string): Promise<number>;
  hasDataKey(scopeId: string): Promise<boolean>;
}

/**
 * The scenario, on servers that share one store: 3 objects → objectCount 3; delete under Retain →
 * blocked; Force → gone, objects and data key deleted.
 */
async function scenario(t: ExecutionContext, ns: string, ports: number[], store: StoreView): Promise<void> {
  const cred = await tenant(ns, 'vault', 'app');
  const clients = await Promise.all(ports.map((p) => connect(p, cred)));
  t.teardown(() => Promise.all(clients.map((c) => c.close().catch(() => undefined))).then(() => undefined));
  const uids: string[] = [];
  for (let i = 0; i < 3; i++) uids.push(await clients[i % clients.length]!.create({ name: `key-${i}` }));

  // The server reports the count; the operator keeps its conditions beside it.
  const counted = await waitFor('status.objectCount 3', async () => {
    const s = await getScope(ns, 'vault');
    return s?.status?.objectCount === 3 ? s : undefined;
  }, 10_000);
  const scopeId = counted.metadata.uid;
  t.is(counted.status?.objectCountGeneration, counted.metadata.generation);
  t.true(Date.now() - Date.parse(counted.status!.objectCountTime!) < 30_000, 'objectCountTime is a recent RFC 3339 time');
  t.is(ready(counted)?.status, 'True');
  const owners = (field: string) => (counted.metadata.managedFields ?? []).filter((m) => m.subresource === 'status' && m.fieldsV1?.['f:status']?.[field]).map((m) => m.manager);
  t.deepEqual(owners('f:objectCount'), [SCOPE_STATUS_FIELD_MANAGER], 'the server alone owns objectCount');
  t.false(owners('f:conditions').includes(SCOPE_STATUS_FIELD_MANAGER), 'the operator owns the conditions');
  t.true(owners('f:conditions').length > 0);
  t.is(await store.objects(scopeId), 3);
  t.true(await store.hasDataKey(scopeId), 'sanity: the scope has a data key in the store');
  // Unchanged counts are rewritten about once per report interval (3 s here), whatever the number
  // of replicas: no two writers take turns overwriting each other.
  const versions = new Set<string>();
  for (const until = Date.now() + 6000; Date.now() < until; await sleep(100)) {
    const r = await plane().request<{ metadata: { resourceVersion: string } }>('GET', path(ns, 'kmipscopes', 'vault'));
    versions.add(r.body.metadata.resourceVersion);
  }
  t.true(versions.size <= 4, `${versions.size} versions of the scope in 6 s`);

  // Retain: the deletion waits, with a condition and a Warning event.
  const del = await plane().request('DELETE', path(ns, 'kmipscopes', 'vault'));
  t.true(del.status === 200 || del.status === 202, `DELETE answered ${del.status}`);
  const blocked = await waitFor('Ready=False DeletionBlocked', async () => {
    const s = await getScope(ns, 'vault');
    return ready(s)?.reason === 'DeletionBlocked' ? s : undefined;
  }, 10_000);
  t.truthy(blocked.metadata.deletionTimestamp);
  t.is(ready(blocked)?.status, 'False');
  t.regex(ready(blocked)!.message, /still holds 3 managed objects and its deletionPolicy is Retain/);
  t.is(blocked.status?.objectCountGeneration, blocked.metadata.generation, 'counted after the server saw the deletion');
  await waitFor('a Warning/DeletionBlocked event', async () => ((await eventReasons(ns, 'vault')).includes('Warning/DeletionBlocked') ? true : undefined), 5000);
  await sleep(1500);
  const still = await getScope(ns, 'vault');
  t.truthy(still, 'the scope is still there after several rechecks');
  t.deepEqual(still!.metadata.finalizers, ['kubekmip.io/scope-objects']);
  for (const uid of uids) t.truthy(await clients[0]!.get(uid), `object ${uid} is still Get-able while the deletion waits`);
  t.is(await store.objects(scopeId), 3);

  // Force: the server deletes the objects and the data key, the operator lets the scope go.
  await apply(ns, 'KmipScope', 'vault', { deletionPolicy: 'Force' });
  await waitFor('the scope to be gone', async () => ((await getScope(ns, 'vault')) === undefined ? true : undefined), 20_000);
  t.is(await store.objects(scopeId), 0, 'the store holds no object of the old scope id');
  t.false(await store.hasDataKey(scopeId), "the old scope's data key is gone (crypto-shredded)");
  t.true((await eventReasons(ns, 'vault')).includes('Normal/ObjectsDeleted'), 'the server tells what it deleted in an Event');

  // A new scope of the same name is another scope: none of the old objects is there.
  const fresh = await tenant(ns, 'vault', 'app2');
  const c2 = await connect(ports[0]!, fresh);
  t.teardown(() => c2.close().catch(() => undefined));
  for (const uid of uids) {
    const o = await outcome(c2.get(uid));
    // Object Not Found is the 2.x name of 1.x's Item Not Found.
    t.true(o.kind === 'failed' && o.reason === ResultReason.ObjectNotFound, `Get ${uid} in the new scope: ${JSON.stringify(o)}`);
  }
  t.deepEqual(await c2.locate('key-0'), []);
  const renewed = await waitFor('the new scope counted', async () => {
    const s = await getScope(ns, 'vault');
    return s?.status?.objectCountTime !== undefined ? s : undefined;
  }, 10_000);
  t.not(renewed.metadata.uid, scopeId);
  t.is(renewed.status?.objectCount, 0);
  // A report made from the old scope (as a lagging server would make it) cannot land on the new one.
  const stale = await plane().request('PATCH', `${path(ns, 'kmipscopes', 'vault')}/status?fieldManager=${SCOPE_STATUS_FIELD_MANAGER}&force=true`,
    JSON.stringify({
      apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope',
      metadata: { name: 'vault', namespace: ns, resourceVersion: blocked.metadata.resourceVersion }, status: { objectCount: 3 },
    }),
    { 'content-type': 'application/apply-patch+yaml' });
  t.is(stale.status, 409);
  t.is((await getScope(ns, 'vault'))?.status?.objectCount, 0);
}

// ------------------------------------------------------------------------------------------------

test.serial('SQLite store: objects counted in status; Retain blocks the deletion until they are destroyed; Force deletes them with the scope', async (t) => {
  t.timeout(120_000);
  const ns = 'scopes-sqlite';
  await namespace(ns);
  const data = join(dir!, 'sqlite');
  const server = await startServer(['--namespace', ns, '--store', 'sqlite', '--data-dir', data, '--kek-file', join(dir!, 'sqlite-kek')]);
  t.teardown(() => server.stop());
  // The server's database, read beside it (WAL lets a reader in while it writes).
  const read = <T>(sql: string, scopeId: string): T => {
    const db = new DatabaseSync(join(data, 'kmip.db'), { readOnly: true });
    try {
      return db.prepare(sql).get(scopeId) as T;
    } finally {
      db.close();
    }
  };
  await scenario(t, ns, [server.port], {
    objects: async (id) => read<{ n: number }>('SELECT count(*) AS n FROM objects WHERE scope = ?', id).n,
    hasDataKey: async (id) => read<{ n: number }>('SELECT count(*) AS n FROM data_keys WHERE scope = ?', id).n > 0,
  });
  t.regex(server.stderr(), /deleted the objects and the data key of a scope deleted with deletionPolicy Force/);

  // Retain again: the clients destroy the objects through KMIP (the scope stays in force while its
  // deletion waits), which lets the deletion through; what is left in the store goes with it.
  const cred = await tenant(ns, 'ledger', 'ledger-app');
  const c = await connect(server.port, cred);
  t.teardown(() => c.close().catch(() => undefined));
  const uids = [await c.create({ name: 'l-1' }), await c.create({ name: 'l-2' })];
  const counted = await waitFor('ledger counted', async () => {
    const s = await getScope(ns, 'ledger');
    return s?.status?.objectCount === 2 ? s : undefined;
  }, 10_000);
  const id = counted.metadata.uid;
  await plane().request('DELETE', path(ns, 'kmipscopes', 'ledger'));
  const blocked = await waitFor('ledger blocked', async () => {
    const s = await getScope(ns, 'ledger');
    return ready(s)?.reason === 'DeletionBlocked' ? s : undefined;
  }, 10_000);
  t.regex(ready(blocked)!.message, /still holds 2 managed objects/);
  await c.destroy(uids[0]!);
  await waitFor('the message to follow the count', async () => (/still holds 1 managed object and/.test(ready(await getScope(ns, 'ledger'))?.message ?? '') ? true : undefined), 10_000);
  t.truthy(await getScope(ns, 'ledger'), 'one object left: still held');
  await c.destroy(uids[1]!);
  await waitFor('ledger to be gone', async () => ((await getScope(ns, 'ledger')) === undefined ? true : undefined), 10_000);
  await waitFor('the destroyed objects and the data key to leave the store', async () =>
    (read<{ n: number }>('SELECT count(*) AS n FROM objects WHERE scope = ?', id).n === 0 &&
      read<{ n: number }>('SELECT count(*) AS n FROM data_keys WHERE scope = ?', id).n === 0 ? true : undefined), 10_000);
  t.regex(server.stderr(), /removed what was left in the store of a deleted scope/);
  t.false(server.stderr().includes('PRIVATE KEY'));
});

test.serial('ConfigMap store, two replicas: both report without fighting; Force deletes the ConfigMaps and the data key Secret', async (t) => {
  t.timeout(120_000);
  const ns = 'scopes-configmap';
  await namespace(ns);
  const kek = join(dir!, 'configmap-kek');
  await writeFile(kek, randomBytes(32).toString('base64'), { mode: 0o600 });
  const args = ['--namespace', ns, '--store', 'configmap', '--kek-file', kek];
  const one = await startServer(args);
  t.teardown(() => one.stop());
  const two = await startServer(args);
  t.teardown(() => two.stop());
  await scenario(t, ns, [one.port, two.port], {
    objects: async (id) => {
      const r = await plane().request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent(`kubekmip.io/scope=${scopeLabel(id)}`)}`);
      return r.body.items.length;
    },
    hasDataKey: async (id) => (await plane().request('GET', `/api/v1/namespaces/${ns}/secrets/${dataKeyName(id)}`)).status === 200,
  });
  for (const s of [one, two]) t.false(s.stderr().includes('PRIVATE KEY'));
});
