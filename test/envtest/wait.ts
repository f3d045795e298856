/**
 * Polling and set-up helpers shared by the tests against the envtest control plane.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_DIR } from '../../operator/api/generate.ts';
import { KINDS, crdName } from '../../operator/api/index.ts';

export const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/**
 * Calls `get` until it returns something other than undefined, and returns that. A throw counts as
 * "not yet" (the API may not serve a kind yet); the last one is quoted if time runs out.
 */
export async function waitFor<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await get();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(intervalMs);
  }
}

/** The part of a control plane the set-up helpers need (ControlPlane satisfies it). */
interface Requester {
  request<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
}

/** Server-side applies the five kube-kmip CRDs from crds/ and waits until the API serves every kind. */
export async function installCrds(cp: Requester, fieldManager = 'envtest-user'): Promise<void> {
  for (const kind of KINDS) {
    const name = crdName(kind);
    const res = await cp.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=${fieldManager}&force=true`,
      readFileSync(join(CRD_DIR, `${name}.yaml`), 'utf8'), { 'content-type': 'application/apply-patch+yaml' });
    if (res.status !== 200 && res.status !== 201) throw new Error(`applying ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  for (const kind of KINDS) {
    await waitFor(`${kind.plural} served`, async () => ((await cp.request('GET', `/apis/kubekmip.io/v1alpha1/${kind.plural}`)).status === 200 ? true : undefined));
  }
}

/** Creates each namespace (they must not exist yet). */
export async function createNamespaces(cp: Requester, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const res = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (res.status !== 201) throw new Error(`creating namespace ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
}
