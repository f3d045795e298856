/**
 * The Helm chart against a real API server (test/envtest: kube-apiserver, etcd and
 * kube-controller-manager, which aggregates ClusterRoles). `helm template` with default values,
 * and with configmap storage and 3 replicas, is applied by server-side apply with dry-run off:
 * CRDs first, then every other object, test hooks included. Then the RBAC the chart grants is
 * checked by SubjectAccessReviews, and the operator runs impersonating the chart's operator
 * ServiceAccount, configured exactly as the chart's Deployment and ConfigMap configure it, and
 * reconciles a tenant's scope, role and credential plus the KMIP server's objects with those
 * permissions and no others.
 *
 * One control plane for the whole file; the tests run in order. ENVTEST_OPERATOR_LOG=<level>
 * shows the operator's log on stderr.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../operator/config.ts';
import { startOperator } from '../../operator/main.ts';
import { KubeClient } from '../../operator/runtime/client.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { parseServerConfig } from '../../operator/server/config.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from '../envtest/control-plane.ts';
import { CHART_DIR, HELM_BUILD_TIMEOUT_MS, NAMESPACE, NON_DEFAULT_VALUES, find, helm, helmBinary, renderChart, type Manifest, type Values } from './helm.ts';
import { waitFor } from '../envtest/wait.ts';

const HA = { release: 'kmip-ha', namespace: 'kmip-ha', values: { server: { replicas: 3, storage: { type: 'configmap' } } } satisfies Values };
const TENANT_NS = 'team-a';
const OTHER_NS = 'team-b';
const FIELD_MANAGER = 'helm-chart-test';
const OPERATOR_SA = `system:serviceaccount:${NAMESPACE}:kube-kmip-operator`;

let cp: ControlPlane | undefined;
let operator: Manager | undefined;
/** The operator's log lines (JSON), to find any request the chart's RBAC refused. */
const operatorLog: string[] = [];

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

test.before('build helm and the control plane binaries, start the control plane', async (t) => {
  t.timeout(HELM_BUILD_TIMEOUT_MS + 90 * 60_000, 'building helm or the envtest binaries took too long');
  helmBinary();
  await ensureBinaries();
  t.timeout(120_000, 'the control plane did not start');
  cp = await startControlPlane({ controllerManager: true });
  for (const ns of [NAMESPACE, HA.namespace, 'kmip-full', TENANT_NS, OTHER_NS]) {
    const res = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    if (res.status !== 201) throw new Error(`creating namespace ${ns}: ${JSON.stringify(res.body)}`);
  }
});

test.after.always('stop the operator and the control plane', async () => {
  await operator?.stop();
  await cp?.stop();
});

// ------------------------------------------------------------------------------------------------
// Helpers

interface ApiResource { name: string; kind: string; namespaced: boolean }
const discovery = new Map<string, ApiResource[]>();

/** REST path of an object, from the API server's discovery (so any kind the chart renders works). */
async function objectPath(doc: Manifest, defaultNamespace: string): Promise<string> {
  const base = doc.apiVersion.includes('/') ? `/apis/${doc.apiVersion}` : `/api/${doc.apiVersion}`;
  let resources = discovery.get(base);
  if (!resources?.some((r) => r.kind === doc.kind)) {
    const res = await plane().request<{ resources: ApiResource[] }>('GET', base);
    if (res.status !== 200) throw new Error(`discovery ${base}: HTTP ${res.status}`);
    resources = res.body.resources.filter((r) => !r.name.includes('/'));
    discovery.set(base, resources);
  }
  const r = resources.find((x) => x.kind === doc.kind);
  if (!r) throw new Error(`the API server does not serve ${doc.apiVersion} ${doc.kind}`);
  const ns = r.namespaced ? `/namespaces/${doc.metadata.namespace ?? defaultNamespace}` : '';
  return `${base}${ns}/${r.name}/${encodeURIComponent(doc.metadata.name)}`;
}

/** Server-side apply, dry-run off; throws with the API server's refusal. */
async function apply(doc: Manifest, defaultNamespace: string): Promise<string> {
  const path = await objectPath(doc, defaultNamespace);
  const res = await plane().request('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, JSON.stringify(doc),
    { 'content-type': 'application/apply-patch+yaml' });
  if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${doc.kind} ${doc.metadata.name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return path;
}

/** Applies a rendered chart as `helm install` would order it: CRDs, wait until Established, the rest. */
async function applyChart(docs: Manifest[], namespace: string): Promise<string[]> {
  const paths: string[] = [];
  const crds = docs.filter((d) => d.kind === 'CustomResourceDefinition');
  for (const crd of crds) paths.push(await apply(crd, namespace));
  for (const crd of crds) {
    await waitFor(`CRD ${crd.metadata.name} Established`, async () => {
      const res = await plane().request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      return res.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }
  for (const doc of docs.filter((d) => d.kind !== 'CustomResourceDefinition')) paths.push(await apply(doc, namespace));
  return paths;
}

/** Whether the API server's authorizer allows a user an action (SubjectAccessReview). */
async function allowed(user: string, verb: string, resource: { group?: string; resource: string; subresource?: string; namespace?: string }): Promise<boolean> {
  const groups = user.startsWith('system:serviceaccount:')
    ? ['system:serviceaccounts', `system:serviceaccounts:${user.split(':')[2]}`, 'system:authenticated']
    : ['system:authenticated'];
  const res = await plane().request<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
    spec: { user, groups, resourceAttributes: { verb, group: resource.group ?? '', resource: resource.resource, subresource: resource.subresource ?? '', namespace: resource.namespace ?? '' } },
  });
  if (res.status !== 201) throw new Error(`SubjectAccessReview: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.status.allowed;
}

interface Condition { type: string; status: string; reason?: string; message?: string }
interface Obj { metadata: { name: string; uid: string }; status?: { conditions?: Condition[]; secretName?: string }; data?: Record<string, string>; spec?: Record<string, unknown> }

async function get<T = Obj>(path: string): Promise<T | undefined> {
  const res = await plane().request<T>('GET', path);
  return res.status === 200 ? res.body : undefined;
}

const kmip = (ns: string, plural: string, name: string) => `/apis/kubekmip.io/v1alpha1/namespaces/${ns}/${plural}/${name}`;

async function waitReady(ns: string, plural: string, name: string): Promise<Obj> {
  return waitFor(`${plural} ${ns}/${name} Ready`, async () => {
    const o = await get(kmip(ns, plural, name));
    const ready = o?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' ? o : undefined;
  }, 60_000);
}

// ------------------------------------------------------------------------------------------------
// Apply

test.serial('the chart rendered with default values is accepted by the API server, every object', async (t) => {
  const docs = renderChart();
  const paths = await applyChart(docs, NAMESPACE);
  t.is(paths.length, docs.length);
  for (const p of paths) t.truthy(await get(p), `${p} is not there after apply`);
  t.true(docs.some((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test'), 'the helm test hooks were applied too');
});

test.serial('the chart with configmap storage and 3 replicas is accepted by the API server, in another release', async (t) => {
  const docs = renderChart(HA.values, { release: HA.release, namespace: HA.namespace });
  const paths = await applyChart(docs, HA.namespace);
  t.is(paths.length, docs.length);
  for (const p of paths) t.truthy(await get(p), `${p} is not there after apply`);
  const cm = find(docs, 'ConfigMap', 'kmip-ha-kube-kmip-server-config') as Manifest & { data: Record<string, string> };
  const stored = await get<{ data: Record<string, string> }>(`/api/v1/namespaces/${HA.namespace}/configmaps/${cm.metadata.name}`);
  t.is(parseServerConfig(stored!.data['server.yaml']!).replicas, 3);
});

test.serial('the chart with every optional part on (NetworkPolicies, watchNamespace Role, HTTPS port...) is accepted too, ServiceMonitor aside', async (t) => {
  // No Prometheus Operator CRDs here: the ServiceMonitor is the one object left out.
  const values = { ...NON_DEFAULT_VALUES, metrics: { serviceMonitor: { enabled: false } } };
  const docs = renderChart(values, { release: 'kmip-full', namespace: 'kmip-full' });
  t.true(docs.some((d) => d.kind === 'NetworkPolicy'));
  const paths = await applyChart(docs, 'kmip-full');
  for (const p of paths) t.truthy(await get(p), `${p} is not there after apply`);
  t.truthy(await get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${TENANT_NS}/roles/kmip-full-kube-kmip-server`), 'watchNamespace Role');
});

test.serial('the RBAC objects exist, and the API server grants what the chart means and no more', async (t) => {
  for (const p of [
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/kube-kmip-operator',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kube-kmip-operator',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/kube-kmip-server',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kube-kmip-server',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/kube-kmip-view',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/kube-kmip-edit',
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles/kube-kmip-operator`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings/kube-kmip-operator`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${HA.namespace}/roles/kmip-ha-kube-kmip-server-store`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${HA.namespace}/rolebindings/kmip-ha-kube-kmip-server-store`,
  ]) t.truthy(await get(p), `${p} missing`);
  t.falsy(await get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles/kube-kmip-server-store`), 'sqlite storage needs no configmap Role');

  const op = OPERATOR_SA;
  t.true(await allowed(op, 'watch', { resource: 'secrets' }));
  t.true(await allowed(op, 'patch', { group: 'kubekmip.io', resource: 'kmipclientcredentials', subresource: 'status', namespace: TENANT_NS }));
  t.true(await allowed(op, 'create', { group: 'apps', resource: 'statefulsets', namespace: NAMESPACE }));
  t.true(await allowed(op, 'update', { group: 'coordination.k8s.io', resource: 'leases', namespace: NAMESPACE }));
  t.false(await allowed(op, 'create', { group: 'apps', resource: 'statefulsets', namespace: TENANT_NS }), 'server workloads only in its own namespace');
  t.false(await allowed(op, 'delete', { group: 'apps', resource: 'deployments', namespace: TENANT_NS }));
  t.false(await allowed(op, 'update', { group: 'coordination.k8s.io', resource: 'leases', namespace: TENANT_NS }));
  t.false(await allowed(op, 'delete', { group: 'kubekmip.io', resource: 'kmipscopes', namespace: TENANT_NS }));
  t.false(await allowed(op, 'get', { resource: 'configmaps', namespace: NAMESPACE }));
  t.false(await allowed(op, 'create', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: NAMESPACE }));
  t.false(await allowed(op, 'list', { resource: 'pods' }));

  const server = `system:serviceaccount:${NAMESPACE}:kube-kmip-server`;
  t.true(await allowed(server, 'watch', { group: 'kubekmip.io', resource: 'kmipclientcredentials' }));
  t.true(await allowed(server, 'patch', { group: 'kubekmip.io', resource: 'kmipscopes', subresource: 'status', namespace: TENANT_NS }));
  t.false(await allowed(server, 'patch', { group: 'kubekmip.io', resource: 'kmipclientcredentials', subresource: 'status', namespace: TENANT_NS }));
  t.false(await allowed(server, 'get', { resource: 'secrets', namespace: NAMESPACE }), 'the server reads its Secrets as mounted files');
  t.false(await allowed(server, 'create', { resource: 'configmaps', namespace: NAMESPACE }), 'no configmap store in this release');
  const haServer = `system:serviceaccount:${HA.namespace}:kmip-ha-kube-kmip-server`;
  t.true(await allowed(haServer, 'create', { resource: 'configmaps', namespace: HA.namespace }));
  t.false(await allowed(haServer, 'create', { resource: 'configmaps', namespace: NAMESPACE }));
  t.true(await allowed(haServer, 'create', { resource: 'secrets', namespace: HA.namespace }), 'data keys of the ConfigMap store');
  t.false(await allowed(haServer, 'update', { resource: 'secrets', namespace: HA.namespace }));
  t.true(await allowed(server, 'create', { group: 'events.k8s.io', resource: 'events', namespace: TENANT_NS }));
});

test.serial('tenants with the built-in edit role manage the five kinds in their namespace, through aggregation', async (t) => {
  const res = await plane().request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${TENANT_NS}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-edit' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
  });
  t.is(res.status, 201);
  // kube-controller-manager's clusterrole-aggregation controller folds kube-kmip-edit into edit.
  await waitFor('edit to include the kube-kmip kinds', async () =>
    ((await allowed('alice', 'create', { group: 'kubekmip.io', resource: 'kmipclientcredentials', namespace: TENANT_NS })) ? true : undefined));
  for (const r of ['kmipscopes', 'kmiproles', 'kmipclientcredentials', 'kmskeys', 'kmsproviders']) {
    t.true(await allowed('alice', 'delete', { group: 'kubekmip.io', resource: r, namespace: TENANT_NS }), r);
    t.true(await allowed('alice', 'list', { group: 'kubekmip.io', resource: r, namespace: TENANT_NS }), r);
    t.false(await allowed('alice', 'create', { group: 'kubekmip.io', resource: r, namespace: OTHER_NS }), r);
  }
  t.false(await allowed('alice', 'patch', { group: 'kubekmip.io', resource: 'kmipclientcredentials', subresource: 'status', namespace: TENANT_NS }), 'status is the operator\'s');
  const view = await get<{ rules: { apiGroups?: string[] }[] }>('/apis/rbac.authorization.k8s.io/v1/clusterroles/view');
  t.true(view!.rules.some((r) => r.apiGroups?.includes('kubekmip.io')), 'view lacks the kube-kmip kinds');
});

// ------------------------------------------------------------------------------------------------
// The operator with the chart's permissions

test.serial("the operator, impersonating the chart's ServiceAccount and configured as the chart configures it, reconciles credentials and the server", async (t) => {
  t.timeout(120_000);
  const docs = renderChart();
  // The operator's flags exactly as the Deployment gives them, and the server configuration from
  // the ConfigMap as the API server stored it.
  const dep = find(docs, 'Deployment', 'kube-kmip-operator') as Manifest & { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  const flags = parseConfig(dep.spec.template.spec.containers[0]!.args.map((a) => a.replace('$(POD_NAMESPACE)', NAMESPACE)), {});
  const stored = await get<{ data: Record<string, string> }>(`/api/v1/namespaces/${NAMESPACE}/configmaps/kube-kmip-server-config`);
  const server = parseServerConfig(stored!.data['server.yaml']!);

  const kubeconfig = parseYaml(readFileSync(plane().kubeconfigPath, 'utf8')) as { users: { user: Record<string, unknown> }[] };
  kubeconfig.users[0]!.user['as'] = OPERATOR_SA;
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kubeconfig));
  const client = new KubeClient(kc);
  // Impersonation is in effect: the admin could read ConfigMaps, the operator's account cannot.
  await t.throwsAsync(client.get({ group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true }, NAMESPACE, 'kube-kmip-server-config'), { message: /forbidden/i });

  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString('utf8');
      operatorLog.push(line);
      if (process.env['ENVTEST_OPERATOR_LOG']) process.stderr.write(line);
      done();
    },
  });
  const logger = pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'info' }, sink);
  operator = await startOperator({
    client,
    logger,
    namespace: flags.namespace,
    identity: 'chart-rbac',
    leaderElection: { namespace: flags.namespace, name: flags.leaderElectionId, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 },
    probe: { port: 0, host: '127.0.0.1' },
    backoff: { baseMs: 50, maxMs: 2000 },
    workers: flags.workers,
    controllers: { caSecretName: flags.caSecretName, caKeySpec: flags.caKeySpec, server },
  });
  await waitFor('the operator to lead', async () => (operator?.isLeader ? true : undefined));
  try {
    await tenantScenario(t, flags.caSecretName, server.image);
  } catch (err) {
    // What the API server refused is the likely cause: show it.
    for (const l of operatorLog.filter((x) => /forbidden|\b403\b/i.test(x))) t.log(l.trim());
    throw err;
  }
  const refused = operatorLog.filter((l) => /forbidden|"status":403|\b403\b/i.test(l));
  t.deepEqual(refused, [], 'the API server refused the operator something the chart does not grant');
});

async function tenantScenario(t: ExecutionContext, caSecretName: string, serverImage: string): Promise<void> {

  // A tenant's first credential, applied as a person would.
  const tenant: Manifest[] = [
    { apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope', metadata: { name: 'payments', namespace: TENANT_NS }, spec: { description: 'payments databases' } },
    { apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipRole', metadata: { name: 'mongod', namespace: TENANT_NS }, spec: { scopeRef: { name: 'payments' }, operations: ['operation_create', 'operation_get', 'operation_discover_versions'] } },
    { apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name: 'mongod-0', namespace: TENANT_NS }, spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, secretName: 'mongod-kmip' } },
  ];
  for (const d of tenant) await apply(d, TENANT_NS);
  await waitReady(TENANT_NS, 'kmipscopes', 'payments');
  await waitReady(TENANT_NS, 'kmiproles', 'mongod');
  const cred = await waitReady(TENANT_NS, 'kmipclientcredentials', 'mongod-0');
  t.is(cred.status?.secretName, 'mongod-kmip');
  const secret = await waitFor<Obj>('Secret team-a/mongod-kmip', () => get(`/api/v1/namespaces/${TENANT_NS}/secrets/mongod-kmip`));
  for (const k of ['tls.crt', 'tls.key', 'ca.crt', 'client.pem']) t.truthy(secret.data?.[k], `Secret lacks ${k}`);

  // The chart's own `helm test` objects (applied with the chart) get their credential too: the
  // Secret the test pod mounts, with the files its command line names.
  const hookCred = await waitReady(NAMESPACE, 'kmipclientcredentials', 'kube-kmip-helm-test');
  const hookSecret = await waitFor<Obj>('the helm test Secret', () => get(`/api/v1/namespaces/${NAMESPACE}/secrets/${hookCred.status?.secretName}`));
  for (const k of ['tls.crt', 'tls.key', 'ca.crt']) t.truthy(hookSecret.data?.[k], `helm test Secret lacks ${k}`);

  // The KMIP server's objects, in the release namespace, from the chart's server configuration.
  const sts = await waitFor('StatefulSet kube-kmip-server', () =>
    get<{ spec: { serviceName: string; replicas: number; template: { spec: { serviceAccountName: string; containers: { image: string }[] } } } }>(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/kube-kmip-server`));
  t.is(sts.spec.template.spec.serviceAccountName, 'kube-kmip-server');
  t.is(sts.spec.template.spec.containers[0]!.image, serverImage);
  for (const p of [
    `/api/v1/namespaces/${NAMESPACE}/services/kube-kmip-server`,
    `/api/v1/namespaces/${NAMESPACE}/services/kube-kmip-server-headless`,
    `/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets/kube-kmip-server`,
    `/api/v1/namespaces/${NAMESPACE}/secrets/kube-kmip-server-tls`,
    `/api/v1/namespaces/${NAMESPACE}/secrets/kube-kmip-server-kek`,
    `/api/v1/namespaces/${NAMESPACE}/secrets/${caSecretName}`,
  ]) await waitFor(p, () => get(p));
  const svc = await get<{ spec: { ports: { port: number }[] } }>(`/api/v1/namespaces/${NAMESPACE}/services/kube-kmip-server`);
  t.true(svc!.spec.ports.some((p) => p.port === 5696), 'the Service the helm test pod dials');

  // Deleting the credential revokes it and the operator cleans up with the same permissions.
  const del = await plane().request('DELETE', kmip(TENANT_NS, 'kmipclientcredentials', 'mongod-0'));
  t.true(del.status === 200 || del.status === 202);
  await waitFor('the credential to be gone', async () => ((await get(kmip(TENANT_NS, 'kmipclientcredentials', 'mongod-0'))) ? undefined : true));
}

test.serial('helm install works against the API server, and NOTES.txt names the server address and how to get a first credential', (t) => {
  // A real install (no --wait: there is no kubelet) of a second release; the CRDs are there already.
  const kubeconfig = plane().kubeconfigPath;
  const r = helm(['install', 'notes', CHART_DIR, '--namespace', 'kmip-notes', '--create-namespace', '--set', 'crds.enabled=false'], { kubeconfig });
  t.is(r.status, 0, r.stderr);
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  t.regex(notes, /notes-kube-kmip-server\.kmip-notes\.svc:5696/);
  t.regex(notes, /kind: KmipClientCredential/);
  t.regex(notes, /helm test notes -n kmip-notes/);
  const status = helm(['status', 'notes', '--namespace', 'kmip-notes', '-o', 'json'], { kubeconfig });
  t.is((JSON.parse(status.stdout) as { info: { status: string } }).info.status, 'deployed');
  const un = helm(['uninstall', 'notes', '--namespace', 'kmip-notes'], { kubeconfig });
  t.is(un.status, 0, un.stderr);
});
