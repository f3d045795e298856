/**
 * The Helm CLI for tests: built from Go modules by ./build.sh (cached per user outside the clone,
 * or $HELM_BIN), and run on the chart in charts/kube-kmip.
 *
 *   const out = helm(['template', 'kube-kmip', CHART_DIR, '-n', 'kube-kmip']);
 *   const docs = renderChart({ 'server.replicas': 3 });
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const CHART_DIR = fileURLToPath(new URL('../../charts/kube-kmip', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('./build.sh', import.meta.url));
/** A cold build on 2 cores takes a few minutes; allow for a busy machine. */
export const HELM_BUILD_TIMEOUT_MS = 30 * 60_000;

let cached: string | undefined;

/**
 * Path of the helm binary: runs build.sh once per process (it returns at once when the binary is
 * cached). Throws with build.sh's stderr when it cannot be built.
 */
export function helmBinary(): string {
  if (cached) return cached;
  const r = spawnSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: HELM_BUILD_TIMEOUT_MS });
  const bin = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !bin || !existsSync(bin)) {
    throw new Error(`${BUILD_SCRIPT} failed (${r.signal ?? `exit ${r.status}`}): helm could not be built\n${r.stderr ?? ''}`);
  }
  cached = bin;
  return bin;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs helm with an empty, private Helm home (no repositories, plugins or user config leak in), and
 * no cluster unless a kubeconfig is given.
 */
export function helm(args: string[], opts: { kubeconfig?: string } = {}): HelmResult {
  const home = mkdtempSync(join(tmpdir(), 'kube-kmip-helm-'));
  try {
    const r = spawnSync(helmBinary(), args, {
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: home,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        KUBECONFIG: opts.kubeconfig ?? join(home, 'no-kubeconfig'),
      },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Values to render with, as a nested object (written to a values file, so types survive). */
export type Values = Record<string, unknown>;

/** Writes values to a temp file and passes it with -f; returns helm's result. */
export function helmWithValues(args: string[], values: Values = {}): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'kube-kmip-values-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    return helm([...args, '-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const RELEASE = 'kube-kmip';
export const NAMESPACE = 'kube-kmip';

/** `helm template` of the chart (hooks included) as parsed documents; throws with helm's stderr on failure. */
export function renderChart(values: Values = {}, opts: { release?: string; namespace?: string } = {}): Manifest[] {
  const r = helmWithValues(['template', opts.release ?? RELEASE, CHART_DIR, '--namespace', opts.namespace ?? NAMESPACE], values);
  if (r.status !== 0) throw new Error(`helm template failed (exit ${r.status}):\n${r.stderr}`);
  const docs: Manifest[] = [];
  for (const d of parseAllDocuments(r.stdout)) {
    if (d.errors.length > 0) throw new Error(`helm template produced invalid YAML: ${d.errors[0]!.message}`);
    const doc = d.toJS() as Manifest | null;
    if (doc) docs.push(doc);
  }
  return docs;
}

/** The one document of a kind and name; throws when there is none or several. */
export function find(docs: Manifest[], kind: string, name: string): Manifest {
  const hits = docs.filter((d) => d.kind === kind && d.metadata.name === name);
  if (hits.length !== 1) throw new Error(`expected one ${kind} ${name} in the rendered chart, found ${hits.length}`);
  return hits[0]!;
}

/** Non-default values that exercise every optional part of the chart. */
export const NON_DEFAULT_VALUES: Values = {
  imagePullSecrets: ['registry-credentials'],
  operator: {
    replicas: 2,
    logLevel: 'debug',
    podLabels: { team: 'platform' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'security', effect: 'NoSchedule' }],
    affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'operator' } } } }] } },
  },
  server: {
    replicas: 3,
    storage: { type: 'configmap' },
    service: { type: 'LoadBalancer', port: 15696, annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } },
    certificate: { hostnames: ['kmip.example.com'], ipAddresses: ['192.0.2.10', '2001:db8::10'], keyType: 'ec-p384', duration: '720h' },
    tls: { minVersion: 'TLSv1.3', legacyCiphers: true },
    limits: { maxConnections: 4096 },
    async: { maxTotal: 5000, resultTtlMs: 120_000 },
    http: { enabled: true, port: 15697 },
    metrics: { port: 19464 },
    watchNamespace: 'team-a',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
    podAnnotations: { 'example.com/scrape': 'false' },
    podLabels: { tier: 'security' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    priorityClassName: 'system-cluster-critical',
    podDisruptionBudget: { maxUnavailable: 2 },
  },
  metrics: { serviceMonitor: { enabled: true, interval: '30s', labels: { release: 'prometheus' } } },
  networkPolicy: {
    enabled: true,
    server: {
      from: [{ namespaceSelector: { matchLabels: { 'kube-kmip/client': 'true' } } }, { podSelector: { matchLabels: { app: 'mongod' } } }],
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    },
    operator: { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
  },
};
