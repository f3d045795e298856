/**
 * Where the server finds its Kubernetes credentials: an explicit kubeconfig file, else the
 * in-cluster service account, else the usual defaults ($KUBECONFIG, ~/.kube/config).
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function isInCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env['KUBERNETES_SERVICE_HOST'] && env['KUBERNETES_SERVICE_PORT']);
}

/** Loads a kubeconfig: `path` if given, in-cluster when running in a pod, else the defaults. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (isInCluster() && !process.env['KUBECONFIG']) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new Error(path ? `kubeconfig ${path} has no current cluster` : 'no Kubernetes configuration found (not in a cluster, no $KUBECONFIG, no ~/.kube/config)');
  }
  return kc;
}

/** The namespace of the pod's service account, when running in a cluster. */
export function inClusterNamespace(): string | undefined {
  try {
    const ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
    return ns || undefined;
  } catch {
    return undefined;
  }
}

/** The namespace of the kubeconfig's current context, if it names one. */
export function contextNamespace(kc: KubeConfig): string | undefined {
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return ctx?.namespace || undefined;
}
