/**
 * The test control plane with the CRDs applied and the operator running in this process, as a user
 * would have them after `helm install`: what test/examples and test/docs apply their manifests to.
 * Set ENVTEST_OPERATOR_LOG to a pino level to see the operator's log on stderr.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { CRD_DIR } from '../../operator/api/generate.ts';
import { API_GROUP_VERSION, KINDS, crdName } from '../../operator/api/index.ts';
import { startOperator } from '../../operator/main.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from '../envtest/control-plane.ts';
import { waitFor } from '../envtest/wait.ts';

export const OPERATOR_NAMESPACE = 'kube-kmip';
export const BUILD_TIMEOUT_MS = 90 * 60_000;

export interface Cluster {
  cp: ControlPlane;
  operator: Manager;
  stop(): Promise<void>;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

export { sleep, waitFor } from '../envtest/wait.ts';

/** Builds the binaries if needed (slow once), starts etcd + kube-apiserver, applies the CRDs, starts the operator. */
export async function startCluster(): Promise<Cluster> {
  await ensureBinaries();
  const cp = await startControlPlane();
  let operator: Manager | undefined;
  try {
    for (const kind of KINDS) {
      const name = crdName(kind);
      const res = await cp.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=envtest-user&force=true`,
        readFileSync(join(CRD_DIR, `${name}.yaml`), 'utf8'), { 'content-type': 'application/apply-patch+yaml' });
      if (res.status !== 200 && res.status !== 201) throw new Error(`applying CRD ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    }
    await ensureNamespace(cp, OPERATOR_NAMESPACE);
    for (const kind of KINDS) {
      await waitFor(`${kind.plural} served`, async () => ((await cp.request('GET', `/apis/${API_GROUP_VERSION}/${kind.plural}`)).status === 200 ? true : undefined));
    }
    operator = await startOperator({
      kubeconfig: cp.kubeconfigPath,
      logger: pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2)),
      namespace: OPERATOR_NAMESPACE,
      leaderElection: false,
      probe: false,
    });
  } catch (err) {
    await cp.stop();
    throw err;
  }
  const op = operator;
  return { cp, operator: op, stop: async () => { await op.stop().catch(() => undefined); await cp.stop(); } };
}

export async function ensureNamespace(cp: ControlPlane, name: string): Promise<void> {
  const res = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating namespace ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
}

/** REST collection of the kinds examples may contain; anything else is an error, so a new kind is a conscious change. */
const CORE: Record<string, string> = { ConfigMap: 'configmaps', Secret: 'secrets', ServiceAccount: 'serviceaccounts', Service: 'services' };
const GROUPED: Record<string, Record<string, string>> = {
  'apps/v1': { Deployment: 'deployments', StatefulSet: 'statefulsets' },
  'batch/v1': { Job: 'jobs', CronJob: 'cronjobs' },
};

export function resourcePath(m: Manifest, namespace: string): string {
  const name = encodeURIComponent(m.metadata.name);
  if (m.apiVersion === API_GROUP_VERSION) {
    const k = KINDS.find((x) => x.kind === m.kind);
    if (!k) throw new Error(`unknown kube-kmip kind ${m.kind}`);
    return `/apis/${API_GROUP_VERSION}/namespaces/${namespace}/${k.plural}/${name}`;
  }
  if (m.apiVersion === 'v1' && CORE[m.kind]) return `/api/v1/namespaces/${namespace}/${CORE[m.kind]}/${name}`;
  const plural = GROUPED[m.apiVersion]?.[m.kind];
  if (plural) return `/apis/${m.apiVersion}/namespaces/${namespace}/${plural}/${name}`;
  throw new Error(`no REST path known for ${m.apiVersion} ${m.kind} (extend resourcePath in test/examples/cluster.ts)`);
}

/** Server-side apply, dry-run off, as `fieldManager`; returns the object the API server stored. */
export async function serverSideApply<T = Manifest>(cp: ControlPlane, m: Manifest, namespace: string, fieldManager: string): Promise<T> {
  const res = await cp.request<T>('PATCH', `${resourcePath(m, namespace)}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`,
    JSON.stringify({ ...m, metadata: { ...m.metadata, namespace } }), { 'content-type': 'application/apply-patch+yaml' });
  if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${m.kind} ${namespace}/${m.metadata.name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}
