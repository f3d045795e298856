/**
 * ConfigMapStore (kmip-server/store/configmap.ts) against a real kube-apiserver + etcd:
 *
 * - the ObjectStore contract suite of kmip-server/store/store.test.ts. That file does not export
 *   its cases, and it is not ours to edit, so the case list is COPIED below verbatim (keep the two
 *   in step); it runs twice, once on the watch cache (the default) and once with consistentReads;
 * - two stores on one namespace ("replicas") see each other's writes, and concurrent writers get
 *   StoreConflictError, never a lost update;
 * - material is not in plaintext in the API object, nor in etcd itself;
 * - batches are undone when an op fails after others were applied, and the failure to undo is
 *   reported as StoreIncompleteWriteError (failures injected with ValidatingAdmissionPolicies);
 * - the 1 MiB limit, a wrong KEK, the watchdog and the relist.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { KubeApiError, KubeClient } from '../../kmip-server/k8s/client.ts';
import { loadKubeConfig } from '../../kmip-server/k8s/kubeconfig.ts';
import { StoreUidInUseError } from '../../kmip-server/store/common.ts';
import {
  CONFIGMAP_MAX_BYTES, ConfigMapStore, StoreIncompleteWriteError, StoreObjectTooLargeError, dataKeyName, nameLabel, objectName,
  type ConfigMapStoreOptions,
} from '../../kmip-server/store/configmap.ts';
import { Envelope, EnvelopeError } from '../../kmip-server/store/kek.ts';
import { StoreConflictError, type ObjectRecord, type ObjectStore } from '../../kmip-server/store/types.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { ACTIVE, DESTROYED, PRE_ACTIVE, SECRET_DATA, SYMMETRIC_KEY, bytes, rec, storeContract, type Backend } from '../../kmip-server/store/contract.fixture.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;

let cp: ControlPlane | undefined;
let client: KubeClient | undefined;

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}
function kube(): KubeClient {
  if (!client) throw new Error('control plane did not start');
  return client;
}

test.before('start the control plane', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(180_000, 'the control plane did not start');
  cp = await startControlPlane();
  client = await KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath));
});

test.after.always('stop the control plane', async () => {
  client?.close();
  await cp?.stop();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000, intervalMs = 25): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

let nsSeq = 0;
async function freshNamespace(labels: Record<string, string> = {}): Promise<string> {
  const name = `store-${++nsSeq}-${randomBytes(3).toString('hex')}`;
  await kube().request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } });
  return name;
}

async function openStore(over: Partial<ConfigMapStoreOptions> = {}): Promise<ConfigMapStore> {
  return ConfigMapStore.open({ client: kube(), namespace: over.namespace ?? (await freshNamespace()), kek: randomBytes(32), ...over });
}

// ---------------------------------------------------------------------------------------------
// The ObjectStore contract, the same cases the memory and SQLite stores pass.

for (const b of [
  { name: 'configmap', make: () => openStore() },
  { name: 'configmap (consistentReads)', make: () => openStore({ consistentReads: true }) },
] satisfies Backend[]) storeContract(b);

// ---------------------------------------------------------------------------------------------
// ConfigMap specifics

interface ConfigMapJson {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

const MARKER = bytes('PLAINTEXT-MARKER-0123456789abcde'); // 32 bytes

/** Every way the marker could show up in a JSON text: raw, hex, base64 at each of the three alignments. */
function markerForms(m: Uint8Array): string[] {
  const buf = Buffer.from(m);
  const forms = [buf.toString('latin1'), buf.toString('hex')];
  for (let shift = 0; shift < 3; shift++) {
    const b = Buffer.concat([Buffer.alloc(shift), buf]).toString('base64');
    // Drop the characters that depend on the padding bytes and on what follows.
    forms.push(b.slice(Math.ceil((shift * 4) / 3) + 1, -4));
  }
  return forms;
}

/** A raw etcd read through etcd's v3 JSON gateway: the bytes the API server stored. */
async function etcdValue(key: string): Promise<Buffer | undefined> {
  const res = await fetch(`${plane().etcdUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from(key).toString('base64') }),
  });
  const body = (await res.json()) as { kvs?: Array<{ value: string }> };
  const v = body.kvs?.[0]?.value;
  return v === undefined ? undefined : Buffer.from(v, 'base64');
}

test('material is sealed: absent from the ConfigMap the API serves and from etcd; the data key Secret holds it wrapped', async (t) => {
  const ns = await freshNamespace();
  const kek = randomBytes(32);
  const s = await openStore({ namespace: ns, kek });
  try {
    await s.write([{ kind: 'put', record: rec('k1', { material: MARKER, names: ['secret-key'] }) }]);
    const res = await plane().request<ConfigMapJson>('GET', `/api/v1/namespaces/${ns}/configmaps/${objectName('k1')}`);
    t.is(res.status, 200);
    const text = JSON.stringify(res.body);
    for (const f of markerForms(MARKER)) t.false(text.includes(f), `marker form ${f} found in the ConfigMap`);
    const sealed = Buffer.from(res.body.binaryData!['material']!, 'base64');
    t.is(sealed[0], 1, 'envelope version byte');
    t.is(sealed.length, MARKER.length + 29);
    t.is(res.body.data!['scope'], 'tenant-a');
    t.is(res.body.metadata.labels![nameLabel('secret-key')], 'true');

    const raw = await etcdValue(`/registry/configmaps/${ns}/${objectName('k1')}`);
    t.truthy(raw, 'the object is in etcd under the usual key');
    t.true(raw!.includes(Buffer.from('tenant-a')), 'sanity: the etcd value is the object');
    t.is(raw!.indexOf(Buffer.from(MARKER)), -1, 'marker absent from etcd');

    // The data key: wrapped (61 bytes), immutable, unwrappable only with the KEK, for its scope only.
    const sec = await plane().request<{ data: Record<string, string>; immutable?: boolean; type?: string }>(
      'GET', `/api/v1/namespaces/${ns}/secrets/${dataKeyName('tenant-a')}`,
    );
    t.is(sec.status, 200);
    t.true(sec.body.immutable);
    const wrapped = new Uint8Array(Buffer.from(sec.body.data['wrapped']!, 'base64'));
    t.is(wrapped.length, 1 + 12 + 32 + 16);
    t.is(Buffer.from(sec.body.data['scope']!, 'base64').toString(), 'tenant-a');
    const env = new Envelope(kek);
    t.is(env.unwrapDataKey('tenant-a', wrapped).length, 32);
    t.throws(() => env.unwrapDataKey('tenant-b', wrapped), { instanceOf: EnvelopeError });
    t.throws(() => new Envelope(randomBytes(32)).unwrapDataKey('tenant-a', wrapped), { instanceOf: EnvelopeError });
  } finally {
    await s.close();
  }
});

test('a wrong KEK is refused when the store opens', async (t) => {
  const ns = await freshNamespace();
  const kek = randomBytes(32);
  const s = await openStore({ namespace: ns, kek });
  await s.write([{ kind: 'put', record: rec('k1', { material: MARKER }) }]);
  await s.close();
  const err = await t.throwsAsync(openStore({ namespace: ns, kek: randomBytes(32) }), { instanceOf: EnvelopeError });
  t.is((err as EnvelopeError).code, 'ENVELOPE_KEK_MISMATCH');
  const again = await openStore({ namespace: ns, kek });
  t.deepEqual((await again.get('tenant-a', 'k1'))!.material, MARKER, 'the right KEK still opens it after a restart');
  await again.close();
  // Even in a namespace with no objects yet, a second replica with another KEK is refused.
  const empty = await freshNamespace();
  const first = await openStore({ namespace: empty, kek });
  const err2 = await t.throwsAsync(openStore({ namespace: empty, kek: randomBytes(32) }), { instanceOf: EnvelopeError });
  t.is((err2 as EnvelopeError).code, 'ENVELOPE_KEK_MISMATCH');
  await first.close();
  await (await openStore({ namespace: empty, kek })).close();
});

test('two replicas: a Create on one is visible to a Get on the other at once; updates follow within the watch delay', async (t) => {
  const ns = await freshNamespace();
  const kek = randomBytes(32);
  const a = await openStore({ namespace: ns, kek });
  const b = await openStore({ namespace: ns, kek });
  const strong = await openStore({ namespace: ns, kek, consistentReads: true });
  try {
    for (let i = 0; i < 20; i++) {
      const uid = `obj-${i}`;
      await a.write([{ kind: 'put', record: rec(uid, { scope: `scope-${i % 3}`, names: [`n-${i}`] }) }]);
      const got = await b.get(`scope-${i % 3}`, uid);
      t.truthy(got, `${uid} visible on the other replica right after the write was acknowledged`);
      t.deepEqual(got!.material, bytes(`material:${uid}`), 'and opens there with the shared data key');
    }
    // An update on A: B's cache follows when the watch delivers it, the consistent store at once.
    await a.write([{ kind: 'put', record: rec('obj-0', { scope: 'scope-0', state: ACTIVE }), expectRevision: 1 }]);
    t.is((await strong.get('scope-0', 'obj-0'))!.state, ACTIVE);
    const lag = await waitFor('replica B to see the update', async () => (await b.get('scope-0', 'obj-0'))!.state === ACTIVE, 5000, 5);
    t.log(`update reached replica B's cache after ~${lag} ms`);
    // B's list sees everything A created, in A's order.
    await waitFor('replica B to list everything', async () => (await b.count('scope-1')) === 7);
    t.deepEqual((await b.list('scope-1')).map((r) => r.uid), (await a.list('scope-1')).map((r) => r.uid));
    // B creates, A reads; B deletes, A stops finding it.
    await b.write([{ kind: 'put', record: rec('from-b', { scope: 'scope-0' }) }]);
    t.truthy(await a.get('scope-0', 'from-b'));
    await b.write([{ kind: 'delete', scope: 'scope-0', uid: 'from-b' }]);
    await waitFor('the delete to reach A', async () => (await a.get('scope-0', 'from-b')) === undefined);
    t.is(await strong.get('scope-0', 'from-b'), undefined);
    // A write on a stale read is refused on the other replica too.
    const seenByB = (await b.get('scope-1', 'obj-1'))!;
    t.is(seenByB.revision, 1);
    await a.write([{ kind: 'put', record: { ...seenByB, state: ACTIVE }, expectRevision: 1 }]);
    const err = await t.throwsAsync(b.write([{ kind: 'put', record: { ...seenByB, state: DESTROYED }, expectRevision: 1 }]), {
      instanceOf: StoreConflictError,
    });
    t.regex(err!.message, /expected revision 1, found 2/);
    t.is((await strong.get(seenByB.scope, 'obj-1'))!.state, ACTIVE, 'the first writer\'s version stands');
  } finally {
    await Promise.all([a.close(), b.close(), strong.close()]);
  }
});

test('concurrent writers on two replicas: exactly one conditional write wins, unconditional writes are never lost', async (t) => {
  const ns = await freshNamespace();
  const kek = randomBytes(32);
  const a = await openStore({ namespace: ns, kek });
  const b = await openStore({ namespace: ns, kek });
  try {
    await a.write([{ kind: 'put', record: rec('hot') }]);
    await waitFor('B to cache hot', async () => (await b.get('tenant-a', 'hot')) !== undefined);
    // Conditional: both expect revision 1, many times over.
    for (let round = 1; round <= 10; round++) {
      const [ra, rb] = await Promise.allSettled([
        a.write([{ kind: 'put', record: rec('hot', { names: [`a-${round}`] }), expectRevision: round }]),
        b.write([{ kind: 'put', record: rec('hot', { names: [`b-${round}`] }), expectRevision: round }]),
      ]);
      const ok = [ra, rb].filter((r) => r.status === 'fulfilled').length;
      t.is(ok, 1, `round ${round}: exactly one writer wins`);
      const loser = [ra, rb].find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      t.true(loser?.reason instanceof StoreConflictError, `round ${round}: the loser gets StoreConflictError, got ${loser?.reason}`);
      const winner = ra.status === 'fulfilled' ? 'a' : 'b';
      const strong = await (await kube().get<ConfigMapJson>(`/api/v1/namespaces/${ns}/configmaps/${objectName('hot')}`))!;
      t.is(strong.data!['revision'], String(round + 1));
      t.is(JSON.parse(strong.data!['names']!)[0], `${winner}-${round}`);
    }
    // Unconditional: 2 x 15 concurrent puts, every one lands (revision counts them all).
    const before = Number((await kube().get<ConfigMapJson>(`/api/v1/namespaces/${ns}/configmaps/${objectName('hot')}`))!.data!['revision']);
    await Promise.all(
      Array.from({ length: 15 }, (_, i) => [
        a.write([{ kind: 'put', record: rec('hot', { state: ACTIVE, names: [`ua-${i}`] }) }]),
        b.write([{ kind: 'put', record: rec('hot', { state: ACTIVE, names: [`ub-${i}`] }) }]),
      ]).flat(),
    );
    const after = Number((await kube().get<ConfigMapJson>(`/api/v1/namespaces/${ns}/configmaps/${objectName('hot')}`))!.data!['revision']);
    t.is(after, before + 30);
    // Two replicas racing to create one uid: one wins, the other conflicts.
    const creates = await Promise.allSettled([
      a.write([{ kind: 'put', record: rec('fresh', { names: ['by-a'] }), expectRevision: 0 }]),
      b.write([{ kind: 'put', record: rec('fresh', { names: ['by-b'] }), expectRevision: 0 }]),
    ]);
    t.is(creates.filter((r) => r.status === 'fulfilled').length, 1);
    t.true((creates.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason instanceof StoreConflictError);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('objects larger than a ConfigMap are refused before anything of the batch is written', async (t) => {
  const s = await openStore();
  try {
    const big = rec('big', { attributes: new Uint8Array(CONFIGMAP_MAX_BYTES) });
    const err = await t.throwsAsync(s.write([{ kind: 'put', record: rec('small') }, { kind: 'put', record: big }]), {
      instanceOf: StoreObjectTooLargeError,
    });
    t.regex(err!.message, /object big is too large for the configmap store: \d+ bytes of data, a ConfigMap holds at most 1048576 \(1 MiB\)/);
    t.is(await s.get('tenant-a', 'small'), undefined);
    t.is(await s.count('tenant-a'), 0);
    // Just under the limit is fine (the API server agrees with our count).
    const fits = rec('fits', { attributes: new Uint8Array(CONFIGMAP_MAX_BYTES - 4096), material: null });
    await s.write([{ kind: 'put', record: fits }]);
    t.is((await s.get('tenant-a', 'fits'))!.attributes.length, CONFIGMAP_MAX_BYTES - 4096);
  } finally {
    await s.close();
  }
});

test('uids that are not DNS names get hashed ConfigMap names and round-trip', async (t) => {
  const s = await openStore();
  try {
    const odd = ['UPPER-case', 'with spaces/and:colons', 'h-looks-hashed', 'x'.repeat(300), 'ünïcode-✓'];
    for (const uid of odd) {
      const name = objectName(uid);
      t.regex(name, /^kmip-h-[0-9a-f]{40}$/, uid);
      await s.write([{ kind: 'put', record: rec(uid, { names: [uid] }) }]);
      t.deepEqual((await s.get('tenant-a', uid))!.names, [uid]);
      t.deepEqual((await s.list('tenant-a', { name: uid })).map((r) => r.uid), [uid]);
    }
    t.is(objectName('0b3f5c1e-8a3c-4d52-9b0e-8f1f1f0a2b3c'), 'kmip-0b3f5c1e-8a3c-4d52-9b0e-8f1f1f0a2b3c');
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Failures after part of a batch was applied (injected by ValidatingAdmissionPolicies)

const VAP = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const VAPB = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';
const REFUSED_STATE = 42; // creates/updates with this state are refused
const UNDELETABLE_STATE = 43; // deletes of objects in this state are refused

async function installFailurePolicies(label: string): Promise<void> {
  const labels = "has(X.metadata.labels) && ('kubekmip.io/state' in X.metadata.labels)";
  const policies = [
    {
      name: `refuse-state-${REFUSED_STATE}`,
      operations: ['CREATE', 'UPDATE'],
      expression: `!(${labels.replaceAll('X', 'object')}) || object.metadata.labels['kubekmip.io/state'] != '${REFUSED_STATE}'`,
    },
    {
      name: `keep-state-${UNDELETABLE_STATE}`,
      operations: ['DELETE'],
      expression: `!(${labels.replaceAll('X', 'oldObject')}) || oldObject.metadata.labels['kubekmip.io/state'] != '${UNDELETABLE_STATE}'`,
    },
  ];
  for (const p of policies) {
    await kube().request('POST', VAP, {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: p.name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: p.operations, resources: ['configmaps'] }] },
          validations: [{ expression: p.expression, message: `test policy ${p.name}` }],
        },
      },
    });
    await kube().request('POST', VAPB, {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: p.name },
        spec: { policyName: p.name, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { [label]: 'true' } } } },
      },
    });
  }
}

/** Waits until the policies are enforced in `ns` (they take a moment to load). */
async function policiesActive(ns: string): Promise<void> {
  const probe = (state: number) => ({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: `probe-${state}`, labels: { 'kubekmip.io/state': String(state) } },
  });
  await waitFor('the admission policies to be enforced', async () => {
    try {
      await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: probe(REFUSED_STATE) });
      await kube().request('DELETE', `/api/v1/namespaces/${ns}/configmaps/probe-${REFUSED_STATE}`);
      return false;
    } catch {
      return true;
    }
  }, 30_000, 200);
  await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: probe(UNDELETABLE_STATE) });
  await waitFor('the delete policy to be enforced', async () => {
    try {
      await kube().request('DELETE', `/api/v1/namespaces/${ns}/configmaps/probe-${UNDELETABLE_STATE}`);
      await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: probe(UNDELETABLE_STATE) });
      return false;
    } catch {
      return true;
    }
  }, 30_000, 200);
}

test.serial('an op refused after others were applied: the applied ones are undone (create deleted, update restored, delete re-created)', async (t) => {
  const label = `kube-kmip-test-undo-${randomBytes(3).toString('hex')}`;
  await installFailurePolicies(label);
  const ns = await freshNamespace({ [label]: 'true' });
  await policiesActive(ns);
  const s = await openStore({ namespace: ns });
  try {
    await s.write([{ kind: 'put', record: rec('k1', { names: ['one'] }) }]);
    await s.write([{ kind: 'put', record: rec('k2', { names: ['two'] }) }]);
    const before = await s.list('tenant-a');
    const batch = [
      { kind: 'put' as const, record: rec('new', { names: ['fresh'] }) },
      { kind: 'put' as const, record: rec('k1', { state: ACTIVE, names: ['renamed'] }), expectRevision: 1 },
      { kind: 'delete' as const, scope: 'tenant-a', uid: 'k2' },
      { kind: 'put' as const, record: rec('k3', { state: REFUSED_STATE }) }, // refused by the API server
    ];
    const err = await t.throwsAsync(s.write(batch));
    t.false(err instanceof StoreIncompleteWriteError, `undo should have succeeded: ${err?.message}`);
    t.regex(err!.message, /test policy refuse-state-42/);
    t.is(batch[0]!.record!.revision, 0);
    // Nothing of the batch remains, in the cache and in the API.
    t.deepEqual(await s.list('tenant-a'), before, 'same objects, same revisions, same order');
    const api = await kube().listAll<ConfigMapJson>(`/api/v1/namespaces/${ns}/configmaps`, { labelSelector: 'app.kubernetes.io/component=kmip-object' });
    t.deepEqual(api.items.map((c) => [c.data!['uid'], c.data!['revision'], c.data!['state']]).sort(), [['k1', '1', '1'], ['k2', '1', '1']]);
    t.deepEqual((await s.list('tenant-a', { name: 'one' })).map((r) => r.uid), ['k1']);
    t.deepEqual((await s.list('tenant-a', { name: 'two' })).map((r) => r.uid), ['k2']);
    // The store still works, and the restored objects accept the next conditional write.
    await s.write([{ kind: 'put', record: rec('k1', { state: ACTIVE }), expectRevision: 1 }]);
    t.is((await s.get('tenant-a', 'k1'))!.revision, 2);

    // An undo that is itself refused: StoreIncompleteWriteError names what stayed.
    const err2 = await t.throwsAsync(
      s.write([
        { kind: 'put', record: rec('sticky', { state: UNDELETABLE_STATE }) },
        { kind: 'put', record: rec('bad', { state: REFUSED_STATE }) },
      ]),
      { instanceOf: StoreIncompleteWriteError },
    );
    t.deepEqual((err2 as StoreIncompleteWriteError).uids, ['sticky']);
    t.false(err2 instanceof StoreConflictError, 'not retried by the dispatcher as a conflict');
    t.truthy(await s.get('tenant-a', 'sticky'), 'the op that could not be undone is there, as reported');
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// The cache's watch: watchdog and relist

test('the watch behind the cache is restarted when silent and relisted periodically, without missing changes', async (t: ExecutionContext) => {
  const ns = await freshNamespace();
  const kek = randomBytes(32);
  const watched = await openStore({ namespace: ns, kek, watchdogMs: 800, relistMs: 2500 });
  const writer = await openStore({ namespace: ns, kek });
  try {
    await writer.write([{ kind: 'put', record: rec('w0') }]);
    await waitFor('the watch to deliver w0', async () => (await watched.count('tenant-a')) === 1);
    await sleep(3000); // silence: the watchdog fires, the relist period passes
    const stats = { ...watched.reflectorStats };
    t.true(stats.watchdogRestarts >= 1, `watchdog restarts: ${stats.watchdogRestarts}`);
    t.true(stats.lists >= 2, `lists: ${stats.lists}`);
    // Changes made now still reach the cache (count/list are served from it).
    await writer.write([{ kind: 'put', record: rec('w1') }, { kind: 'put', record: rec('w2') }]);
    await writer.write([{ kind: 'delete', scope: 'tenant-a', uid: 'w0' }]);
    await waitFor('the cache to follow', async () => (await watched.list('tenant-a')).map((r) => r.uid).join() === 'w1,w2');
    // A ConfigMap deleted behind the store's back (kubectl delete) disappears from the cache too.
    await kube().request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${objectName('w1')}`);
    await waitFor('the cache to drop w1', async () => (await watched.count('tenant-a')) === 1);
    t.pass();
  } finally {
    await Promise.all([watched.close(), writer.close()]);
  }
});

// ---------------------------------------------------------------------------------------------
// Lost answers: the write reached the API server (or not) but the answer never came back

test('a lost answer is resolved by re-reading: applied writes are not repeated or reported as conflicts, unapplied ones are retried', async (t) => {
  const faulty = await KubeClient.fromKubeConfig(loadKubeConfig(plane().kubeconfigPath));
  t.teardown(() => faulty.close());
  type Fault = 'applied-then-lost' | 'refused-503';
  const faults: Fault[] = [];
  const real = faulty.request.bind(faulty);
  let injected = 0;
  faulty.request = (async (method: string, path: string, opts?: Parameters<KubeClient['request']>[2]) => {
    const isWrite = method !== 'GET' && path.includes('/configmaps');
    const fault = isWrite ? faults.shift() : undefined;
    if (fault === 'applied-then-lost') {
      await real(method, path, opts);
      injected++;
      throw new KubeApiError(method, path, 0, undefined, new Error('socket hang up (injected)'));
    }
    if (fault === 'refused-503') {
      injected++;
      throw new KubeApiError(method, path, 503, { reason: 'ServiceUnavailable', message: 'injected' });
    }
    return real(method, path, opts);
  }) as KubeClient['request'];
  const ns = await freshNamespace();
  const s = await ConfigMapStore.open({ client: faulty, namespace: ns, kek: randomBytes(32) });
  try {
    const revisionInApi = async (uid: string) =>
      (await kube().get<ConfigMapJson>(`/api/v1/namespaces/${ns}/configmaps/${objectName(uid)}`))?.data?.['revision'];

    faults.push('applied-then-lost');
    const r1 = rec('lost-create');
    await s.write([{ kind: 'put', record: r1, expectRevision: 0 }]);
    t.is(r1.revision, 1, 'a create whose answer was lost is recognised as ours, not as a conflict');
    t.is(await revisionInApi('lost-create'), '1');

    faults.push('applied-then-lost');
    const r2 = rec('lost-create', { state: ACTIVE });
    await s.write([{ kind: 'put', record: r2, expectRevision: 1 }]);
    t.is(r2.revision, 2, 'an update whose answer was lost is not applied twice');
    t.is(await revisionInApi('lost-create'), '2');

    faults.push('refused-503', 'refused-503');
    const r3 = rec('lost-create', { state: DESTROYED, material: null });
    await s.write([{ kind: 'put', record: r3, expectRevision: 2 }]);
    t.is(r3.revision, 3, 'a write that did not happen is retried');
    t.is(await revisionInApi('lost-create'), '3');

    faults.push('applied-then-lost');
    await s.write([{ kind: 'put', record: rec('second') }, { kind: 'delete', scope: 'tenant-a', uid: 'lost-create' }]);
    faults.push('applied-then-lost');
    await s.write([{ kind: 'delete', scope: 'tenant-a', uid: 'second' }]);
    t.is(await revisionInApi('lost-create'), undefined);
    t.is(await revisionInApi('second'), undefined);
    t.is(await s.count('tenant-a'), 0);
    t.is(injected, 6);
  } finally {
    await s.close();
  }
});
