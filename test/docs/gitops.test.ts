/**
 * What docs/gitops.md promises, against the real API server and the operator:
 *
 * - Resources applied by server-side apply as field manager "argocd-controller" (what Argo CD does
 *   with ServerSideApply=true) stay as applied after the operator has reconciled them: `spec` byte
 *   for byte what the API server stored at apply time (its schema defaults included, nothing added
 *   later), `generation` unchanged, the operator's field manager owning nothing in `spec` (only
 *   status, through the status subresource, and its finalizer), and a second apply without force
 *   meets no conflict.
 * - The Argo CD health check in docs/gitops.md, read from the page and run in gopher-lua (the Lua
 *   VM Argo CD uses; test/docs/lua, built with Go from the module proxy), says Progressing, Healthy
 *   and Degraded for objects read back from the API server in those states.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { API_GROUP_VERSION } from '../../operator/api/index.ts';
import { FIELD_MANAGER } from '../../operator/runtime/client.ts';
import { BUILD_TIMEOUT_MS, ensureNamespace, resourcePath, serverSideApply, startCluster, waitFor, type Cluster, type Manifest } from '../examples/cluster.ts';

const run = promisify(execFile);
const ARGO = 'argocd-controller';
const NS = 'gitops';
const EXAMPLE = fileURLToPath(new URL('../../examples/mongodb-enterprise/kmip.yaml', import.meta.url));
const GITOPS_MD = fileURLToPath(new URL('../../docs/gitops.md', import.meta.url));
const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));

interface ManagedField { manager: string; operation: string; subresource?: string; fieldsV1?: Record<string, unknown> }
interface Stored extends Manifest {
  metadata: Manifest['metadata'] & { generation: number; resourceVersion: string; managedFields?: ManagedField[]; finalizers?: string[] };
  status?: { conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[] };
}

let cluster: Cluster | undefined;
let work: string | undefined;
let luaRunner: Promise<string> | undefined;

/** Builds test/docs/lua (gopher-lua) once; resolves to the binary. */
function buildLuaRunner(dir: string): Promise<string> {
  const out = join(dir, 'argo-lua');
  return run('go', ['build', '-o', out, '.'], { cwd: LUA_DIR, timeout: 10 * 60_000, env: { ...process.env, GOFLAGS: '-mod=mod' } }).then(() => out);
}

test.before('start the control plane and the operator; build the Lua runner', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries or the Lua runner took too long');
  work = await mkdtemp(join(tmpdir(), 'kube-kmip-gitops-'));
  luaRunner = buildLuaRunner(work);
  luaRunner.catch(() => undefined);
  cluster = await startCluster();
  await ensureNamespace(cluster.cp, NS);
});

test.after.always('stop', async () => {
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const manifests = (): Manifest[] => parseAllDocuments(readFileSync(EXAMPLE, 'utf8')).map((d) => d.toJS() as Manifest).filter(Boolean);
const get = async (m: Manifest, ns = NS) => (await cluster!.cp.request<Stored>('GET', resourcePath(m, ns))).body;
const ready = (o: Stored) => o.status?.conditions?.find((c) => c.type === 'Ready');

/** Every leaf path ("f:spec.f:formats") a managedFields entry claims. */
function fieldPaths(f: Record<string, unknown> | undefined, prefix = ''): string[] {
  if (!f) return [];
  const keys = Object.keys(f).filter((k) => k !== '.');
  if (keys.length === 0) return prefix ? [prefix] : [];
  return keys.flatMap((k) => fieldPaths(f[k] as Record<string, unknown>, prefix ? `${prefix}.${k}` : k));
}

test.serial('applied as argocd-controller: after the operator reconciles, spec and generation are what apply stored, and the operator owns no spec field', async (t) => {
  t.timeout(60_000);
  const { cp } = cluster!;
  const applied = new Map<string, Stored>();
  for (const m of manifests()) applied.set(`${m.kind}/${m.metadata.name}`, await serverSideApply<Stored>(cp, m, NS, ARGO));

  for (const m of manifests()) {
    const key = `${m.kind}/${m.metadata.name}`;
    const at = applied.get(key)!;
    const now = await waitFor(`${key} Ready=True`, async () => {
      const o = await get(m);
      const c = ready(o);
      return c?.status === 'True' && c.observedGeneration === o.metadata.generation ? o : undefined;
    });
    t.is(JSON.stringify(now.spec), JSON.stringify(at.spec), `${key}: spec byte for byte as stored at apply time`);
    t.is(now.metadata.generation, at.metadata.generation, `${key}: generation unchanged by the operator`);

    // What Argo CD applied: every field of the manifest's spec is owned by argocd-controller.
    const argo = now.metadata.managedFields?.find((f) => f.manager === ARGO && f.operation === 'Apply' && !f.subresource);
    t.truthy(argo, `${key}: argocd-controller has an Apply entry`);
    for (const field of Object.keys(m.spec ?? {})) t.truthy((argo?.fieldsV1?.['f:spec'] as Record<string, unknown>)?.[`f:${field}`], `${key}: argocd-controller owns spec.${field}`);

    const mine = now.metadata.managedFields?.filter((f) => f.manager === FIELD_MANAGER) ?? [];
    t.true(mine.length > 0, `${key}: the operator (${FIELD_MANAGER}) has written something`);
    for (const f of mine) {
      const paths = fieldPaths(f.fieldsV1);
      t.deepEqual(paths.filter((p) => p.startsWith('f:spec')), [], `${key}: the operator owns no spec field`);
      if (f.subresource === 'status') {
        t.deepEqual(paths.filter((p) => !p.startsWith('f:status')), [], `${key}: status subresource entry holds only status`);
      } else {
        t.deepEqual(paths.filter((p) => !p.startsWith('f:metadata.f:finalizers')), [], `${key}: main-resource entry holds only finalizers, got ${paths.join(', ')}`);
      }
    }
  }

  // Argo CD syncing again (same manifests, no force) meets no conflict and changes nothing.
  for (const m of manifests()) {
    const before = await get(m);
    const res = await cp.request<Stored>('PATCH', `${resourcePath(m, NS)}?fieldManager=${ARGO}`,
      JSON.stringify({ ...m, metadata: { ...m.metadata, namespace: NS } }), { 'content-type': 'application/apply-patch+yaml' });
    t.is(res.status, 200, `${m.kind}/${m.metadata.name}: re-apply without force: ${JSON.stringify(res.body).slice(0, 300)}`);
    t.is(res.body.metadata.generation, before.metadata.generation);
    t.is(JSON.stringify(res.body.spec), JSON.stringify(before.spec));
  }
});

/** The script under resource.customizations.health.kubekmip.io_KmipScope in docs/gitops.md. */
function healthScript(): string {
  const md = readFileSync(GITOPS_MD, 'utf8');
  const m = /resource\.customizations\.health\.kubekmip\.io_KmipScope: \|\n([\s\S]*?)\n {2}resource\.customizations/.exec(md);
  if (!m) throw new Error('docs/gitops.md: no health check under resource.customizations.health.kubekmip.io_KmipScope');
  return m[1]!.split('\n').map((l) => l.replace(/^ {4}/, '')).join('\n');
}

async function health(objects: unknown[]): Promise<{ status: string; message: string; error?: string }[]> {
  const bin = await luaRunner!;
  const script = join(work!, 'health.lua');
  await writeFile(script, healthScript());
  const child = execFile(bin, [script], { timeout: 30_000 });
  const out = new Promise<string>((res, rej) => {
    let s = '';
    child.stdout!.on('data', (d: string) => (s += d));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(s) : rej(new Error(`lua runner exited ${code}`))));
  });
  child.stdin!.end(JSON.stringify(objects));
  return JSON.parse(await out);
}

test.serial('the Argo CD health check of docs/gitops.md, in gopher-lua: Progressing, Healthy, Degraded on real objects', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS);
  await luaRunner;
  t.timeout(60_000);
  const { cp } = cluster!;
  const scopeM: Manifest = { apiVersion: API_GROUP_VERSION, kind: 'KmipScope', metadata: { name: 'health' }, spec: { description: 'one' } };
  // Read back before the operator could act (status empty), then once Ready.
  const fresh = await serverSideApply<Stored>(cp, scopeM, NS, ARGO);
  const healthy = await waitFor('scope Ready', async () => {
    const o = await get(scopeM);
    return ready(o)?.status === 'True' && ready(o)?.observedGeneration === o.metadata.generation ? o : undefined;
  });
  // An edit the operator has not acted on yet: the Ready condition is for the previous generation.
  const edited: Stored = { ...healthy, metadata: { ...healthy.metadata, generation: healthy.metadata.generation + 1 } };
  // A role whose scope does not exist: Ready=False for the current generation.
  const roleM: Manifest = { apiVersion: API_GROUP_VERSION, kind: 'KmipRole', metadata: { name: 'orphan' }, spec: { scopeRef: { name: 'missing' }, operations: ['operation_get'] } };
  await serverSideApply(cp, roleM, NS, ARGO);
  const failing = await waitFor('role Ready=False', async () => {
    const o = await get(roleM);
    return ready(o)?.status === 'False' && ready(o)?.observedGeneration === o.metadata.generation ? o : undefined;
  });
  const deleting: Stored = { ...healthy, metadata: { ...healthy.metadata, deletionTimestamp: new Date().toISOString() } as Stored['metadata'] };

  const [h0, h1, h2, h3, h4] = await health([{ ...fresh, status: undefined }, healthy, edited, failing, deleting]);
  t.is(h0?.error, undefined);
  t.is(h0?.status, 'Progressing', 'no status yet');
  t.is(h1?.status, 'Healthy', 'Ready=True for the current generation');
  t.regex(h1?.message ?? '', /^\w+: /, 'the condition reason and message');
  t.is(h2?.status, 'Progressing', 'Ready for an older generation');
  t.is(h3?.status, 'Degraded', 'Ready=False');
  t.regex(h3?.message ?? '', /ScopeNotFound/);
  t.is(h4?.status, 'Progressing', 'being deleted');
});
