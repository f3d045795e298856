/**
 * The Helm chart without a cluster: `helm lint` with default and non-default values, the values
 * schema refusing misspelled keys, the chart's CRDs equal to crds/, the server configuration it
 * renders read by the operator's own parser, the operator's command line read by the operator's
 * own flag parser, and the RBAC rules exactly as documented. Helm comes from ./build.sh.
 */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../operator/config.ts';
import { ROLE_OPERATIONS } from '../../operator/api/role.ts';
import { parseServerConfig } from '../../operator/server/config.ts';
import { headlessService, statefulSet } from '../../operator/server/manifests.ts';
import { CHART_DIR, HELM_BUILD_TIMEOUT_MS, NAMESPACE, NON_DEFAULT_VALUES, find, helm, helmBinary, helmWithValues, renderChart, type Manifest, type Values } from './helm.ts';
import { SOURCE_CRD_DIR, crdDrift } from './sync-crds.ts';

const CONFIGMAP_HA: Values = { server: { replicas: 3, storage: { type: 'configmap' } } };
const APP_VERSION = (parseYaml(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;

test.before('build helm', (t) => {
  t.timeout(HELM_BUILD_TIMEOUT_MS, 'building helm took too long');
  helmBinary();
});

const serverYaml = (docs: Manifest[]): string =>
  (find(docs, 'ConfigMap', 'kube-kmip-server-config') as Manifest & { data: Record<string, string> }).data['server.yaml']!;

interface Container { name: string; args: string[]; command: string[]; image: string; volumeMounts: { name: string; mountPath: string }[]; env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]; livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } }; ports: { name: string; containerPort: number }[]; securityContext: Record<string, unknown> }
interface PodSpec { serviceAccountName?: string; containers: Container[]; volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[]; securityContext: Record<string, unknown> }
const podSpec = (d: Manifest): PodSpec => ((d['spec'] as { template?: { spec: PodSpec } }).template?.spec ?? (d['spec'] as PodSpec));

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }
/** A role's rules as sorted "group/resource: verbs" lines, one per resource, for exact comparison. */
function ruleLines(d: Manifest): string[] {
  const out: string[] = [];
  for (const r of d['rules'] as Rule[]) {
    for (const g of r.apiGroups) for (const res of r.resources) out.push(`${g || 'core'}/${res}: ${[...r.verbs].sort().join(',')}`);
  }
  return out.sort();
}

// ------------------------------------------------------------------------------------------------
// helm lint and the values schema

test('helm lint passes with the default values', (t) => {
  const r = helm(['lint', '--strict', CHART_DIR]);
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('helm lint passes with non-default values: configmap storage, 3 replicas, LoadBalancer, networkPolicy, serviceMonitor', (t) => {
  const r = helmWithValues(['lint', '--strict', CHART_DIR], NON_DEFAULT_VALUES);
  t.is(r.status, 0, r.stdout + r.stderr);
  t.notRegex(r.stdout, /\[ERROR\]/);
});

for (const [set, key] of [
  ['server.replicaz=3', 'replicaz'],
  ['replicaCount=2', 'replicaCount'],
  ['server.storage.sise=2Gi', 'sise'],
  ['operator.resources.limit.memory=1Gi', 'limit'],
  ['networkPolicy.server.form[0].podSelector.matchLabels.app=x', 'form'],
  ['crds.keeep=false', 'keeep'],
] as const) {
  test(`a misspelled key is refused by helm lint and helm template, naming it: --set ${set}`, (t) => {
    const lint = helm(['lint', CHART_DIR, '--set', set]);
    t.not(lint.status, 0, 'helm lint accepted a misspelled key');
    t.regex(lint.stdout + lint.stderr, new RegExp(`additional propert(y|ies) '${key}' not allowed`));
    const tpl = helm(['template', 'kube-kmip', CHART_DIR, '--set', set]);
    t.not(tpl.status, 0, 'helm template accepted a misspelled key');
    t.true(tpl.stderr.includes(`'${key}'`), tpl.stderr);
  });
}

test('the schema refuses values the operator would refuse: sqlite with 2 replicas, a bad key type, a bad size', (t) => {
  for (const [set, words] of [
    ['server.replicas=2', '/server/replicas'],
    ['server.certificate.keyType=ec-p999', '/server/certificate/keyType'],
    ['server.storage.size=lots', '/server/storage/size'],
    ['server.service.type=ExternalName', '/server/service/type'],
    ['server.async.maxTotal=-1', '/server/async/maxTotal'],
    ['server.async.resultTtlMs=0', '/server/async/resultTtlMs'],
  ] as const) {
    const r = helm(['template', 'kube-kmip', CHART_DIR, '--set', set]);
    t.not(r.status, 0, `accepted --set ${set}`);
    t.true(r.stderr.includes(words), `--set ${set}: ${r.stderr}`);
  }
  const r = helm(['template', 'kube-kmip', CHART_DIR, '--set', 'server.http.enabled=true,server.http.port=5696']);
  t.not(r.status, 0);
  t.regex(r.stderr, /server\.http\.port must differ from server\.service\.port/);
  // Plain-HTTP metrics never on a KMIP port.
  const m = helm(['template', 'kube-kmip', CHART_DIR, '--set', 'server.metrics.port=5696']);
  t.not(m.status, 0);
  t.regex(m.stderr, /server\.metrics\.port must differ from server\.service\.port/);
  const mh = helm(['template', 'kube-kmip', CHART_DIR, '--set', 'server.http.enabled=true,server.metrics.port=5697']);
  t.not(mh.status, 0);
  t.regex(mh.stderr, /server\.metrics\.port must differ from server\.http\.port/);
  t.is(helm(['template', 'kube-kmip', CHART_DIR, '--set', 'server.metrics.enabled=false,server.metrics.port=5696']).status, 0, 'a disabled port clashes with nothing');
});

test('every object of values.schema.json forbids unknown keys', (t) => {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as unknown;
  const open: string[] = [];
  const walk = (node: unknown, where: string) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    // An object type with named properties is ours: it must list them all. Maps (labels...) and
    // pass-through Kubernetes fields have no `properties`; if/then conditions are no types.
    if (n['type'] === 'object' && n['properties'] && n['additionalProperties'] !== false) open.push(where);
    for (const [k, v] of Object.entries(n)) walk(v, `${where}/${k}`);
  };
  walk(schema, '#');
  t.deepEqual(open, []);
});

// ------------------------------------------------------------------------------------------------
// CRDs

test('the chart carries the current CRDs from crds/ (node test/helm/sync-crds.ts updates them)', (t) => {
  t.deepEqual(crdDrift(), [], `charts/kube-kmip/files/crds differs from crds/; run: node test/helm/sync-crds.ts`);
});

test('rendered CRDs are crds/ with the keep policy; crds.keep=false drops it, crds.enabled=false drops them', (t) => {
  const docs = renderChart();
  const crds = docs.filter((d) => d.kind === 'CustomResourceDefinition');
  const files = sourceCrds();
  t.is(crds.length, files.length);
  for (const source of files) {
    const rendered = find(docs, 'CustomResourceDefinition', source.metadata.name);
    t.deepEqual(rendered['spec'], source['spec'], `spec of ${source.metadata.name}`);
    t.is(rendered.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    for (const [k, v] of Object.entries(source.metadata.labels ?? {})) t.is(rendered.metadata.labels?.[k], v);
  }
  const loose = renderChart({ crds: { keep: false } }).filter((d) => d.kind === 'CustomResourceDefinition');
  t.is(loose.length, files.length);
  t.true(loose.every((d) => d.metadata.annotations?.['helm.sh/resource-policy'] === undefined));
  t.deepEqual(renderChart({ crds: { enabled: false } }).filter((d) => d.kind === 'CustomResourceDefinition'), []);
});

/** The generated CRDs the chart must carry, parsed. */
function sourceCrds(): Manifest[] {
  return readdirSync(SOURCE_CRD_DIR).filter((f) => f.endsWith('.yaml')).sort()
    .map((f) => parseYaml(readFileSync(join(SOURCE_CRD_DIR, f), 'utf8')) as Manifest);
}

// ------------------------------------------------------------------------------------------------
// The server configuration

test('server.yaml with default values: every field of the contract, read by the operator as is', (t) => {
  const text = serverYaml(renderChart());
  const doc = parseYaml(text) as Record<string, unknown>;
  t.deepEqual(Object.keys(doc).sort(), [
    'affinity', 'async', 'certificate', 'http', 'image', 'imagePullPolicy', 'imagePullSecrets', 'limits', 'logLevel', 'metrics', 'name', 'nodeSelector',
    'podAnnotations', 'podDisruptionBudget', 'podLabels', 'priorityClassName', 'replicas', 'resources', 'service',
    'serviceAccountName', 'storage', 'tls', 'tolerations', 'trustedIssuers', 'watchNamespace',
  ]);
  const cfg = parseServerConfig(text);
  t.is(cfg.name, 'kube-kmip-server');
  t.is(cfg.serviceAccountName, 'kube-kmip-server');
  t.is(cfg.image, `ghcr.io/kube-kmip/kube-kmip:${APP_VERSION}`);
  t.is(cfg.imagePullPolicy, 'IfNotPresent');
  t.is(cfg.replicas, 1);
  t.deepEqual(cfg.storage, { type: 'sqlite', size: '1Gi', storageClassName: '', namespace: '' });
  t.deepEqual(cfg.service, { type: 'ClusterIP', port: 5696, annotations: {} });
  t.is(cfg.certificate.keyTypeName, 'ec-p256');
  t.is(cfg.certificate.durationMs, 2160 * 3_600_000);
  t.deepEqual(cfg.tls, { minVersion: 'TLSv1.2', tls12Ciphers: '', legacyCiphers: false });
  t.deepEqual(cfg.limits, { maxMessageBytes: 1_048_576, maxConnections: 1024, idleTimeoutMs: 300_000, handshakeTimeoutMs: 10_000, messageTimeoutMs: 30_000 });
  t.deepEqual(cfg.async, { startDelayMs: 1000, maxPerClient: 100, maxTotal: 10_000, resultTtlMs: 600_000, maxResultBytes: 64 * 1024 * 1024 });
  t.is(cfg.watchNamespace, '');
  t.deepEqual(cfg.http, { enabled: false, port: 5697 });
  t.deepEqual(cfg.metrics, { enabled: true, port: 9464 });
  t.deepEqual(cfg.podDisruptionBudget, { enabled: true, maxUnavailable: 1 });
});

test('server.yaml with configmap storage and 3 replicas', (t) => {
  const cfg = parseServerConfig(serverYaml(renderChart(CONFIGMAP_HA)));
  t.is(cfg.replicas, 3);
  t.is(cfg.storage.type, 'configmap');
  t.is(cfg.image, `ghcr.io/kube-kmip/kube-kmip:${APP_VERSION}`);
});

test('server.yaml with every non-default value: passed through, image settings from the chart image', (t) => {
  const cfg = parseServerConfig(serverYaml(renderChart({ ...NON_DEFAULT_VALUES, image: { repository: 'registry.example/kmip', tag: '1.2.3', pullPolicy: 'Always' } })));
  t.is(cfg.image, 'registry.example/kmip:1.2.3');
  t.is(cfg.imagePullPolicy, 'Always');
  t.deepEqual(cfg.imagePullSecrets, ['registry-credentials']);
  t.is(cfg.replicas, 3);
  t.deepEqual(cfg.service, { type: 'LoadBalancer', port: 15696, annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } });
  t.deepEqual(cfg.certificate.hostnames, ['kmip.example.com']);
  t.deepEqual(cfg.certificate.ipAddresses, ['192.0.2.10', '2001:db8::10']);
  t.is(cfg.certificate.keyTypeName, 'ec-p384');
  t.is(cfg.tls.minVersion, 'TLSv1.3');
  t.true(cfg.tls.legacyCiphers);
  t.is(cfg.limits.maxConnections, 4096);
  t.deepEqual(cfg.async, { startDelayMs: 1000, maxPerClient: 100, maxTotal: 5000, resultTtlMs: 120_000, maxResultBytes: 64 * 1024 * 1024 });
  t.deepEqual(cfg.http, { enabled: true, port: 15697 });
  t.deepEqual(cfg.metrics, { enabled: true, port: 19464 });
  t.is(cfg.watchNamespace, 'team-a');
  t.deepEqual(cfg.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } });
  t.is(cfg.podLabels['tier'], 'security');
  t.is(cfg.priorityClassName, 'system-cluster-critical');
  t.is(cfg.podDisruptionBudget.maxUnavailable, 2);
  // An explicit server image wins over the chart's.
  t.is(parseServerConfig(serverYaml(renderChart({ server: { image: 'other/kmip:9' } }))).image, 'other/kmip:9');
});

test('server.async.maxTotal 0 (asynchronous processing off) passes the schema and reaches the operator', (t) => {
  const cfg = parseServerConfig(serverYaml(renderChart({ server: { async: { maxTotal: 0 } } })));
  t.is(cfg.async.maxTotal, 0);
  t.is(cfg.async.maxPerClient, 100);
});

test('server.trustedIssuers reaches the operator as CA certificates; the schema refuses what is not PEM', async (t) => {
  const { createRootCa } = await import('../../operator/pki/index.ts');
  const issuer = await createRootCa({ commonName: 'corp issuer CA', organization: 'corp' });
  const cfg = parseServerConfig(serverYaml(renderChart({ server: { trustedIssuers: [issuer.certificatePem] } })));
  t.is(cfg.trustedIssuersPem, `${issuer.certificatePem.trimEnd()}\n`);
  const bad = helmWithValues(['template', 'kube-kmip', CHART_DIR, '--namespace', NAMESPACE], { server: { trustedIssuers: ['not a certificate'] } });
  t.not(bad.status, 0);
  t.regex(bad.stderr, /trustedIssuers/);
});

test("the NetworkPolicy selects the pods of the operator's StatefulSet, and allows the chart's test pod", (t) => {
  const docs = renderChart(NON_DEFAULT_VALUES);
  const cfg = parseServerConfig(serverYaml(docs));
  const sts = statefulSet(cfg, NAMESPACE) as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } };
  const np = find(docs, 'NetworkPolicy', 'kube-kmip-server') as Manifest & {
    spec: { podSelector: { matchLabels: Record<string, string> }; ingress: { ports: { port: number }[]; from: { podSelector?: { matchLabels: Record<string, string> } }[] }[] };
  };
  const selector = np.spec.podSelector.matchLabels;
  t.true(Object.keys(selector).length > 0);
  for (const [k, v] of Object.entries(selector)) t.is(sts.spec.template.metadata.labels[k], v, `server pods lack ${k}=${v}`);
  t.deepEqual(np.spec.ingress[0]!.ports.map((p) => p.port), [15696, 15697]);
  // The metrics port, from its own peers only.
  t.deepEqual(np.spec.ingress[1]!.ports.map((p) => p.port), [19464]);
  t.deepEqual(np.spec.ingress[1]!.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  t.is(np.spec.ingress.length, 2);
  const noMetrics = find(renderChart({ ...NON_DEFAULT_VALUES, server: { ...NON_DEFAULT_VALUES['server'] as object, metrics: { enabled: false } } }), 'NetworkPolicy', 'kube-kmip-server') as typeof np;
  t.is(noMetrics.spec.ingress.length, 1);
  const testPod = find(docs, 'Pod', 'kube-kmip-helm-test');
  const allowed = np.spec.ingress[0]!.from.map((f) => f.podSelector?.matchLabels).filter((m) => m !== undefined);
  t.true(allowed.some((m) => Object.entries(m).every(([k, v]) => testPod.metadata.labels?.[k] === v)), 'the helm test pod is not allowed in');

  const op = find(docs, 'NetworkPolicy', 'kube-kmip-operator') as Manifest & { spec: { ingress: { ports: { port: number }[] }[] } };
  t.deepEqual(op.spec.ingress.flatMap((i) => i.ports.map((p) => p.port)), [8080]);
  // Off by default, and so is the ServiceMonitor.
  const defaults = renderChart();
  t.deepEqual(defaults.filter((d) => d.kind === 'NetworkPolicy' || d.kind === 'ServiceMonitor'), []);
  t.is(docs.filter((d) => d.kind === 'ServiceMonitor').length, 2);
});

test("the server ServiceMonitor selects the operator's headless Service, the one that carries the metrics port", (t) => {
  const docs = renderChart(NON_DEFAULT_VALUES);
  const cfg = parseServerConfig(serverYaml(docs));
  const sm = find(docs, 'ServiceMonitor', 'kube-kmip-server') as Manifest & {
    spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: { port: string; path: string; interval?: string }[] };
  };
  const headless = headlessService(cfg, NAMESPACE) as unknown as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string; port: number }[] } };
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) t.is(headless.metadata.labels[k], v, `the headless Service lacks ${k}=${v}`);
  t.deepEqual(sm.spec.namespaceSelector.matchNames, [NAMESPACE]);
  t.deepEqual(sm.spec.endpoints, [{ port: 'metrics', path: '/metrics', interval: '30s' }]);
  t.true(headless.spec.ports.some((p) => p.name === 'metrics' && p.port === 19464));
  t.is(sm.metadata.labels?.['release'], 'prometheus');
  // No server ServiceMonitor when the server serves no metrics.
  const off = renderChart({ ...NON_DEFAULT_VALUES, server: { ...NON_DEFAULT_VALUES['server'] as object, metrics: { enabled: false } } });
  t.deepEqual(off.filter((d) => d.kind === 'ServiceMonitor').map((d) => d.metadata.name), ['kube-kmip-operator']);
});

// ------------------------------------------------------------------------------------------------
// The operator Deployment

test("the operator Deployment: its arguments parse with the operator's own flag parser", (t) => {
  for (const values of [{}, NON_DEFAULT_VALUES]) {
    const docs = renderChart(values);
    const dep = find(docs, 'Deployment', 'kube-kmip-operator');
    const spec = podSpec(dep);
    const c = spec.containers[0]!;
    t.deepEqual(c.command, ['node', '/app/operator/main.ts']);
    const args = c.args.map((a) => a.replace('$(POD_NAMESPACE)', NAMESPACE));
    const cfg = parseConfig(args, {});
    t.is(cfg.namespace, NAMESPACE);
    t.true(cfg.leaderElect);
    t.is(cfg.metricsPort, 8080);
    // The server configuration is the chart's ConfigMap, mounted where --server-config points.
    const mount = c.volumeMounts.find((m) => cfg.serverConfigPath?.startsWith(`${m.mountPath}/`));
    t.truthy(mount, `nothing mounted at ${cfg.serverConfigPath}`);
    t.is(spec.volumes.find((v) => v.name === mount!.name)?.configMap?.name, 'kube-kmip-server-config');
    t.is(cfg.serverConfigPath, '/etc/kube-kmip/server/server.yaml');
    t.is(c.env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    t.is(c.livenessProbe.httpGet.path, '/healthz');
    t.is(c.readinessProbe.httpGet.path, '/readyz');
    t.is(c.ports.find((p) => p.name === c.livenessProbe.httpGet.port)?.containerPort, 8080);
    t.like(c.securityContext, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    t.is(spec.serviceAccountName, 'kube-kmip-operator');
  }
  t.is((find(renderChart(NON_DEFAULT_VALUES), 'Deployment', 'kube-kmip-operator')['spec'] as { replicas: number }).replicas, 2);
  t.is((find(renderChart(), 'Deployment', 'kube-kmip-operator')['spec'] as { replicas: number }).replicas, 1);
});

// ------------------------------------------------------------------------------------------------
// RBAC: exactly what README.md lists

const KINDS = ['kmipclientcredentials', 'kmiproles', 'kmipscopes', 'kmskeys', 'kmsproviders'];
const ALL = 'create,delete,get,list,patch,update,watch';

test('the operator ClusterRole and Role grant exactly the documented rules', (t) => {
  const docs = renderChart();
  t.deepEqual(ruleLines(find(docs, 'ClusterRole', 'kube-kmip-operator')), [
    ...KINDS.map((k) => `kubekmip.io/${k}: get,list,patch,update,watch`),
    ...KINDS.map((k) => `kubekmip.io/${k}/status: get,patch,update`),
    ...KINDS.map((k) => `kubekmip.io/${k}/finalizers: update`),
    `core/secrets: ${ALL}`,
    'events.k8s.io/events: create,patch',
    'apps/deployments: get,patch',
    'apps/statefulsets: get,patch',
    'cert-manager.io/certificates: create,delete,get,patch',
    'cert-manager.io/certificaterequests: list',
  ].sort());
  t.deepEqual(ruleLines(find(docs, 'Role', 'kube-kmip-operator')), [
    `apps/statefulsets: ${ALL}`,
    `core/services: ${ALL}`,
    `policy/poddisruptionbudgets: ${ALL}`,
    'coordination.k8s.io/leases: create,get,update',
  ].sort());
  const role = find(docs, 'Role', 'kube-kmip-operator');
  t.is(role.metadata.namespace, NAMESPACE);
});

test('the server RBAC: cluster-wide reads of its policy, namespaced when watchNamespace is set, configmaps only for the configmap store', (t) => {
  const policy = [
    'kubekmip.io/kmipclientcredentials: get,list,watch',
    'kubekmip.io/kmiproles: get,list,watch',
    'kubekmip.io/kmipscopes: get,list,watch',
    'kubekmip.io/kmipscopes/status: get,patch',
    'events.k8s.io/events: create',
  ].sort();
  const defaults = renderChart();
  t.deepEqual(ruleLines(find(defaults, 'ClusterRole', 'kube-kmip-server')), policy);
  t.is(find(defaults, 'ClusterRoleBinding', 'kube-kmip-server').kind, 'ClusterRoleBinding');
  t.deepEqual(defaults.filter((d) => d.metadata.name === 'kube-kmip-server-store'), []);
  t.is(find(defaults, 'ServiceAccount', 'kube-kmip-server').metadata.namespace, NAMESPACE);

  const ha = renderChart(CONFIGMAP_HA);
  t.deepEqual(ruleLines(find(ha, 'Role', 'kube-kmip-server-store')), [`core/configmaps: ${ALL}`, 'core/secrets: create,delete,get,list']);
  t.is(find(ha, 'Role', 'kube-kmip-server-store').metadata.namespace, NAMESPACE);

  // A store namespace of its own: the store's rights (Secrets included) go there, not to the release namespace.
  const own = renderChart({ server: { replicas: 2, storage: { type: 'configmap', namespace: 'kmip-store' } } });
  t.is(find(own, 'Role', 'kube-kmip-server-store').metadata.namespace, 'kmip-store');
  t.is(find(own, 'RoleBinding', 'kube-kmip-server-store').metadata.namespace, 'kmip-store');
  t.is(parseServerConfig(serverYaml(own)).storage.namespace, 'kmip-store');

  const scoped = renderChart({ server: { watchNamespace: 'team-a' } });
  t.deepEqual(scoped.filter((d) => d.kind === 'ClusterRole' && d.metadata.name === 'kube-kmip-server'), []);
  const role = find(scoped, 'Role', 'kube-kmip-server');
  t.is(role.metadata.namespace, 'team-a');
  t.deepEqual(ruleLines(role), policy);
  const binding = find(scoped, 'RoleBinding', 'kube-kmip-server') as Manifest & { subjects: { name: string; namespace: string }[] };
  t.is(binding.metadata.namespace, 'team-a');
  t.deepEqual(binding.subjects.map((s) => `${s.namespace}/${s.name}`), [`${NAMESPACE}/kube-kmip-server`]);
});

test('tenants: the view and edit ClusterRoles aggregate into view, edit and admin', (t) => {
  const docs = renderChart();
  const view = find(docs, 'ClusterRole', 'kube-kmip-view');
  t.like(view.metadata.labels, {
    'rbac.authorization.k8s.io/aggregate-to-view': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
  });
  t.deepEqual(ruleLines(view), [...KINDS.map((k) => `kubekmip.io/${k}: get,list,watch`), ...KINDS.map((k) => `kubekmip.io/${k}/status: get,list,watch`)].sort());
  const edit = find(docs, 'ClusterRole', 'kube-kmip-edit');
  t.like(edit.metadata.labels, { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' });
  t.is(edit.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view'], undefined);
  t.deepEqual(ruleLines(edit), KINDS.map((k) => `kubekmip.io/${k}: create,delete,deletecollection,patch,update`));
});

// ------------------------------------------------------------------------------------------------
// helm test

test('the helm test hook: a role allowed Discover Versions, a credential whose Secret the pod mounts, the server address', (t) => {
  const docs = renderChart();
  const hooks = docs.filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'test');
  t.deepEqual(hooks.map((d) => d.kind).sort(), ['KmipClientCredential', 'KmipRole', 'KmipScope', 'Pod']);
  const role = find(docs, 'KmipRole', 'kube-kmip-helm-test') as Manifest & { spec: { operations: string[] } };
  t.deepEqual(role.spec.operations, ['operation_discover_versions']);
  t.true(role.spec.operations.every((op) => ROLE_OPERATIONS.includes(op)));
  const cred = find(docs, 'KmipClientCredential', 'kube-kmip-helm-test') as Manifest & { spec: { secretName: string; roleRef: { name: string }; scopeRef: { name: string } } };
  t.is(cred.spec.roleRef.name, role.metadata.name);
  t.is(cred.spec.scopeRef.name, find(docs, 'KmipScope', 'kube-kmip-helm-test').metadata.name);
  const pod = podSpec(find(docs, 'Pod', 'kube-kmip-helm-test'));
  const creds = pod.volumes.find((v) => v.secret)!;
  t.is(creds.secret?.secretName, cred.spec.secretName);
  const c = pod.containers[0]!;
  t.is(c.volumeMounts.find((m) => m.name === creds.name)?.mountPath, '/creds');
  t.deepEqual(c.command, [
    'node', '/app/kmip-server/client/cli.ts', 'discover-versions', '--server', `kube-kmip-server.${NAMESPACE}.svc:5696`,
    '--cert', '/creds/tls.crt', '--key', '/creds/tls.key', '--ca', '/creds/ca.crt',
  ]);
  // The pod is created after the objects it needs.
  const weight = (d: Manifest) => Number(d.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
  t.true(hooks.filter((d) => d.kind !== 'Pod').every((d) => weight(d) < weight(find(docs, 'Pod', 'kube-kmip-helm-test'))));
  // A Service port other than the default reaches the command line too.
  const moved = podSpec(find(renderChart({ server: { service: { port: 15696 } } }), 'Pod', 'kube-kmip-helm-test'));
  t.true(moved.containers[0]!.command.includes(`kube-kmip-server.${NAMESPACE}.svc:15696`));
});
