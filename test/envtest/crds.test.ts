/**
 * The generated CRDs (crds/*.yaml) against a real kube-apiserver: they install and become
 * Established, valid resources are accepted with the declared defaults, and mistakes a person
 * would make are refused by the API server itself with the messages written in operator/api.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { exampleCredential, exampleKey, exampleProvider, exampleRole, exampleScope, mistakes } from '../../operator/api/examples.ts';
import { CRD_DIR, renderCrds } from '../../operator/api/generate.ts';
import { KINDS, crdName } from '../../operator/api/index.ts';
import { ensureBinaries, startControlPlane, type ApiResponse, type ControlPlane } from './control-plane.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const FIELD_MANAGER = 'kube-kmip-envtest';
const NS = 'crd-test';
const BASE = `/apis/kubekmip.io/v1alpha1/namespaces/${NS}`;

let cp: ControlPlane | undefined;

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

interface Condition { type: string; status: string; reason?: string; message?: string }
interface CrdObject {
  metadata: { name: string };
  spec: { versions: { additionalPrinterColumns: { name: string; type: string; jsonPath: string; priority?: number }[] }[] };
  status?: { conditions?: Condition[]; acceptedNames?: { kind: string; shortNames?: string[] } };
}
interface Obj {
  metadata: { name: string; resourceVersion?: string; generation?: number };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}
interface StatusBody { kind: 'Status'; reason?: string; message?: string }
/** A resource as a test writes it: typed examples with some fields overridden by hand. */
type Manifest = { apiVersion: string; kind: string; metadata: { name?: string }; spec?: unknown };

test.before('start the control plane and server-side apply the CRDs from crds/', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(180_000, 'the control plane did not start or the CRDs did not become Established');
  cp = await startControlPlane();
  for (const kind of KINDS) {
    const name = crdName(kind);
    // The checked-in file, as a user would `kubectl apply --server-side -f crds/`.
    const yaml = readFileSync(join(CRD_DIR, `${name}.yaml`), 'utf8');
    const res = await cp.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=${FIELD_MANAGER}&force=true`,
      yaml, { 'content-type': 'application/apply-patch+yaml' });
    if (res.status !== 201 && res.status !== 200) throw new Error(`applying ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  const ns = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  if (ns.status !== 201) throw new Error(`creating namespace ${NS}: ${JSON.stringify(ns.body)}`);
  for (const kind of KINDS) await established(kind.plural);
});

test.after.always('stop the control plane', async () => {
  await cp?.stop();
});

async function waitFor<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until the CRD is Established and its resource answers (the handler lags Established a little). */
async function established(plural: string): Promise<CrdObject> {
  const c = plane();
  const crd = await waitFor(`${plural} Established`, async () => {
    const r = await c.request<CrdObject>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.kubekmip.io`);
    const ok = r.body.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    return ok ? r.body : undefined;
  });
  await waitFor(`${plural} served`, async () => ((await c.request('GET', `${BASE}/${plural}`)).status === 200 ? true : undefined));
  return crd;
}

const pluralOf = (kind: string) => KINDS.find((k) => k.kind === kind)!.plural;

function create(body: Manifest, query = ''): Promise<ApiResponse<Obj & StatusBody>> {
  return plane().request('POST', `${BASE}/${pluralOf(body.kind)}${query}`, body);
}

function mergePatch(kind: string, name: string, patch: unknown, sub = ''): Promise<ApiResponse<Obj & StatusBody>> {
  return plane().request('PATCH', `${BASE}/${pluralOf(kind)}/${name}${sub}`, patch, { 'content-type': 'application/merge-patch+json' });
}

/** The API server refused the request as invalid (422), and its message holds every `expected` text. */
function refused(t: ExecutionContext, res: ApiResponse<StatusBody>, ...expected: string[]): void {
  t.is(res.status, 422, `expected a refusal, got HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  t.is(res.body.reason, 'Invalid');
  const message = res.body.message ?? '';
  for (const e of expected) t.true(message.includes(e), `message lacks "${e}":\n${message}`);
}

// -------------------------------------------------------------------------------------------------

test.serial('all five CRDs apply and become Established with their names accepted', async (t) => {
  t.is(KINDS.length, 5);
  for (const kind of KINDS) {
    const crd = await established(kind.plural);
    const cond = (type: string) => crd.status?.conditions?.find((c) => c.type === type)?.status;
    t.is(cond('Established'), 'True', kind.kind);
    t.is(cond('NamesAccepted'), 'True', kind.kind);
    t.is(crd.status?.acceptedNames?.kind, kind.kind);
    t.deepEqual(crd.status?.acceptedNames?.shortNames, [...kind.shortNames]);
  }
});

test.serial('applying the same CRDs again changes nothing (the generated YAML is what the server keeps)', async (t) => {
  const c = plane();
  for (const [file, yaml] of renderCrds()) {
    const name = file.replace(/\.yaml$/, '');
    const before = await c.request<{ metadata: { generation: number } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const res = await c.request<{ metadata: { generation: number } }>('PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=${FIELD_MANAGER}`, yaml,
      { 'content-type': 'application/apply-patch+yaml' });
    t.is(res.status, 200, JSON.stringify(res.body));
    t.is(res.body.metadata.generation, before.body.metadata.generation, `${name} changed on re-apply`);
  }
});

test.serial('discovery lists the kinds as namespaced, with short names, the kube-kmip category and a status subresource', async (t) => {
  const res = await plane().request<{ resources: { name: string; kind: string; namespaced: boolean; shortNames?: string[]; categories?: string[] }[] }>(
    'GET', '/apis/kubekmip.io/v1alpha1');
  t.is(res.status, 200);
  for (const kind of KINDS) {
    const r = res.body.resources.find((x) => x.name === kind.plural);
    t.like(r, { kind: kind.kind, namespaced: true, shortNames: [...kind.shortNames], categories: ['kube-kmip'] });
    t.truthy(res.body.resources.find((x) => x.name === `${kind.plural}/status`), `${kind.plural}/status`);
  }
});

test.serial('printer columns: what `kubectl get` shows for each kind', async (t) => {
  const want: Record<string, string[]> = {
    KmipScope: ['Deletion Policy', 'Objects', 'Ready', 'Age'],
    KmipRole: ['Scope', 'Operations', 'Ready', 'Age'],
    KmipClientCredential: ['Scope', 'Role', 'Secret', 'Expires', 'Ready', 'Age'],
    KmsProvider: ['Type', 'Ready', 'Age'],
    KmsKey: ['Algorithm', 'Scope', 'Version', 'Providers', 'Ready', 'Age'],
  };
  for (const kind of KINDS) {
    const crd = await established(kind.plural);
    const cols = crd.spec.versions[0]!.additionalPrinterColumns;
    t.deepEqual(cols.filter((c) => !c.priority).map((c) => c.name), want[kind.kind], kind.kind);
    t.like(cols.find((c) => c.name === 'Ready'), { type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' });
    t.like(cols.find((c) => c.name === 'Age'), { type: 'date', jsonPath: '.metadata.creationTimestamp' });
    t.like(cols.find((c) => c.name === 'Reason'), { priority: 1 }, `${kind.kind}: Reason only in -o wide`);
  }
});

test.serial('valid examples of every kind are accepted, with the declared defaults applied', async (t) => {
  const scope = await create(exampleScope(NS));
  t.is(scope.status, 201, JSON.stringify(scope.body));
  t.deepEqual(scope.body.spec, { description: 'Keys of the payments databases', deletionPolicy: 'Retain' });

  // A scope with no spec at all: spec defaults to {} and the defaults inside it apply.
  const bare = await create({ apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope', metadata: { name: 'bare' } });
  t.is(bare.status, 201, JSON.stringify(bare.body));
  t.deepEqual(bare.body.spec, { deletionPolicy: 'Retain' });

  const role = await create(exampleRole(NS));
  t.is(role.status, 201, JSON.stringify(role.body));
  t.like(role.body.spec, { tlsClientKeyType: 'ec', tlsClientTTL: '8760h' });
  t.false('tlsClientKeyBits' in role.body.spec, 'bits have no schema default: it depends on the type');

  const admin = await create({ ...exampleRole(NS, 'admin'), spec: { scopeRef: { name: 'payments' }, operations: ['operation_all'], tlsClientKeyType: 'rsa', tlsClientKeyBits: 4096, tlsClientTTL: '1h30m' } });
  t.is(admin.status, 201, JSON.stringify(admin.body));

  const cred = await create(exampleCredential(NS));
  t.is(cred.status, 201, JSON.stringify(cred.body));
  t.deepEqual(cred.body.spec['formats'], ['pem', 'pkcs12']);
  t.deepEqual(cred.body.spec['generate'], {});

  // Nothing chosen: generate mode by default; formats default to pem; issuerRef gets cert-manager's defaults.
  const plain = await create({
    ...exampleCredential(NS, 'plain'),
    spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, issuerRef: { name: 'corp-ca' } },
  });
  t.is(plain.status, 201, JSON.stringify(plain.body));
  t.deepEqual(plain.body.spec['formats'], ['pem']);
  t.deepEqual(plain.body.spec['issuerRef'], { name: 'corp-ca', kind: 'Issuer', group: 'cert-manager.io' });

  const csr = await create({
    ...exampleCredential(NS, 'with-csr'),
    spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n', tlsClientTTL: '48h' },
  });
  t.is(csr.status, 201, JSON.stringify(csr.body));
  const upload = await create({
    ...exampleCredential(NS, 'uploaded'),
    spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', formats: ['pem_bundle'] },
  });
  t.is(upload.status, 201, JSON.stringify(upload.body));

  const provider = await create(exampleProvider(NS));
  t.is(provider.status, 201, JSON.stringify(provider.body));
  for (const p of [
    { name: 'azure', spec: { type: 'azure', azure: { vaultURL: 'https://localhost:8443' } } },
    { name: 'gcp', spec: { type: 'gcp', gcp: { project: 'acme', location: 'europe-west1', keyRing: 'kube-kmip' } } },
    { name: 'pykmip', spec: { type: 'kmip', kmip: { endpoint: '127.0.0.1:5696', serverName: 'pykmip' }, credentialsSecretRef: { name: 'pykmip-client' } } },
    { name: 'kmip-v6', spec: { type: 'kmip', kmip: { endpoint: '[2001:db8::1]:5696' }, credentialsSecretRef: { name: 'c' } } },
  ]) {
    const r = await create({ ...exampleProvider(NS, p.name), spec: p.spec });
    t.is(r.status, 201, `${p.name}: ${JSON.stringify(r.body)}`);
  }

  const key = await create(exampleKey(NS));
  t.is(key.status, 201, JSON.stringify(key.body));
  t.like(key.body.spec, { minEnabledVersion: 0, deletionAllowed: false });
  t.deepEqual(key.body.spec['distribution'], [{ provider: 'aws-eu', purposes: ['encrypt', 'decrypt'], protection: 'software' }]);
  const signing = await create({
    ...exampleKey(NS, 'signer'),
    spec: { scopeRef: { name: 'payments' }, algorithm: 'ecdsa-p384', distribution: [{ provider: 'gcp', purposes: ['sign', 'verify'], protection: 'hsm' }] },
  });
  t.is(signing.status, 201, JSON.stringify(signing.body));
});

for (const c of mistakes(NS)) {
  test.serial(`refused by the API server: ${c.title}`, async (t) => {
    const res = await create(c.resource);
    refused(t, res, ...c.expect);
    for (const secret of c.notEchoed ?? []) t.false((res.body.message ?? '').includes(secret), `the refusal quotes "${secret}"`);
    t.log(res.body.message);
  });
}

test.serial('unknown fields are refused under strict field validation (what kubectl apply does by default)', async (t) => {
  const res = await create({ ...exampleScope(NS, 'strict'), spec: { deletionPolicy: 'Force', retention: '30d' } }, '?fieldValidation=Strict');
  t.is(res.status, 400, JSON.stringify(res.body));
  t.true((res.body.message ?? '').includes('unknown field "spec.retention"'), res.body.message);
});

test.serial('references and key types cannot change after creation; distribution targets can come and go', async (t) => {
  refused(t, await mergePatch('KmipRole', 'mongod', { spec: { scopeRef: { name: 'other' } } }),
    "scopeRef is immutable: issued certificates carry the scope's id; create a new KmipRole instead");
  refused(t, await mergePatch('KmipClientCredential', 'mongod-0', { spec: { roleRef: { name: 'admin' } } }),
    "roleRef is immutable: the certificate carries the role's id");
  refused(t, await mergePatch('KmsProvider', 'aws-eu', { spec: { type: 'gcp', aws: null, gcp: { project: 'p', location: 'l', keyRing: 'k' } } }),
    'type is immutable: keys distributed to one kind of KMS cannot move to another');
  refused(t, await mergePatch('KmsKey', 'orders-dek', { spec: { algorithm: 'rsa-2048' } }), 'algorithm is immutable: a key cannot change type');
  refused(t, await mergePatch('KmsKey', 'orders-dek', { spec: { distribution: [{ provider: 'aws-eu', purposes: ['encrypt', 'decrypt'], protection: 'hsm' }] } }),
    'spec.distribution[0].protection', 'protection is immutable: the provider fixes it at import');
  refused(t, await mergePatch('KmsKey', 'orders-dek', { spec: { distribution: [{ provider: 'aws-eu', purposes: ['encrypt', 'decrypt', 'wrap'] }] } }),
    'purposes is immutable');

  // Order of a set does not matter; a new target may be added and an old one removed.
  const reordered = await mergePatch('KmsKey', 'orders-dek', { spec: { distribution: [{ provider: 'aws-eu', purposes: ['decrypt', 'encrypt'] }] } });
  t.is(reordered.status, 200, JSON.stringify(reordered.body));
  const added = await mergePatch('KmsKey', 'orders-dek', {
    spec: { distribution: [{ provider: 'aws-eu', purposes: ['decrypt', 'encrypt'] }, { provider: 'pykmip', purposes: ['wrap', 'unwrap'], protection: 'hsm' }] },
  });
  t.is(added.status, 200, JSON.stringify(added.body));
  const removed = await mergePatch('KmsKey', 'orders-dek', { spec: { distribution: [{ provider: 'pykmip', purposes: ['wrap', 'unwrap'], protection: 'hsm' }] } });
  t.is(removed.status, 200, JSON.stringify(removed.body));
  // Fields that are not references may change.
  const ops = await mergePatch('KmipRole', 'mongod', { spec: { operations: ['operation_get'], tlsClientKeyType: 'rsa' } });
  t.is(ops.status, 200, JSON.stringify(ops.body));
});

test.serial('status goes through the status subresource, and the printer columns show it', async (t) => {
  const c = plane();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const ready = { type: 'Ready', status: 'True', reason: 'Issued', message: 'certificate issued', lastTransitionTime: now, observedGeneration: 1 };
  // Through the main resource, status is ignored.
  const ignored = await mergePatch('KmipClientCredential', 'mongod-0', { status: { secretName: 'nope' } });
  t.is(ignored.status, 200);
  t.is(ignored.body.status, undefined);
  const written = await mergePatch('KmipClientCredential', 'mongod-0', {
    status: {
      serialNumber: '0a1b', serialNumbers: ['0a1b', '09ff'], fingerprint: 'ab'.repeat(32), notBefore: now, notAfter: '2030-01-01T00:00:00Z',
      renewalTime: '2029-09-01T00:00:00Z', secretName: 'mongod-kmip', conditions: [ready], observedGeneration: 1,
    },
  }, '/status');
  t.is(written.status, 200, JSON.stringify(written.body));
  t.deepEqual(written.body.status?.['serialNumbers'], ['0a1b', '09ff'], 'fields the server reads survive (no pruning)');

  // A condition in the wrong shape is refused.
  const bad = await mergePatch('KmipClientCredential', 'mongod-0', { status: { conditions: [{ type: 'Ready', status: 'Yes' }] } }, '/status');
  refused(t, bad, 'status.conditions[0].status: Unsupported value: "Yes"', 'status.conditions[0].reason: Required value', 'status.conditions[0].lastTransitionTime: Required value');

  // The server-side table `kubectl get` prints.
  const table = await c.request<{ columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[] }[] }>(
    'GET', `${BASE}/kmipclientcredentials/mongod-0`, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  t.is(table.status, 200, JSON.stringify(table.body));
  const names = table.body.columnDefinitions.map((d) => d.name);
  const cells = table.body.rows[0]!.cells;
  const cell = (n: string) => cells[names.indexOf(n)];
  t.deepEqual(names.slice(0, 7), ['Name', 'Scope', 'Role', 'Secret', 'Expires', 'Ready', 'Age']);
  t.like({ name: cell('Name'), scope: cell('Scope'), role: cell('Role'), secret: cell('Secret'), expires: cell('Expires'), ready: cell('Ready'), reason: cell('Reason') },
    { name: 'mongod-0', scope: 'payments', role: 'mongod', secret: 'mongod-kmip', expires: '2030-01-01T00:00:00Z', ready: 'True', reason: 'Issued' });

  const keys = await c.request<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>(
    'GET', `${BASE}/kmskeys`, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  const keyCols = keys.body.columnDefinitions.map((d) => d.name);
  const signer = keys.body.rows.find((r) => r.cells[0] === 'signer')!.cells;
  t.is(signer[keyCols.indexOf('Algorithm')], 'ecdsa-p384');
  t.is(signer[keyCols.indexOf('Providers')], 'gcp');
});

test.serial('the server keeps each CRD schema exactly as generated (nothing dropped or rewritten)', async (t) => {
  for (const [file, text] of renderCrds()) {
    const name = file.replace(/\.yaml$/, '');
    const ours = parseYaml(text) as CrdObject & { spec: { versions: { schema: unknown }[] } };
    const res = await plane().request<typeof ours>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    t.deepEqual(res.body.spec.versions[0]?.schema, ours.spec.versions[0]?.schema, name);
    t.deepEqual(res.body.spec.versions[0]?.additionalPrinterColumns, ours.spec.versions[0]?.additionalPrinterColumns, name);
  }
});
