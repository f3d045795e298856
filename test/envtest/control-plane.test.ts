import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ensureBinaries, expectedKubernetesVersion, startControlPlane, type ControlPlane } from './control-plane.ts';

// A cold build of the binaries takes tens of minutes on 2 cores; a cached one, a second.
// Not a skip: when the binaries cannot be built, the hook throws and every test here fails.
const BUILD_TIMEOUT_MS = 90 * 60_000;

let cp: ControlPlane | undefined;

test.before('build (or find cached) binaries, start the control plane', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(180_000, 'the control plane did not start');
  cp = await startControlPlane({ controllerManager: true });
  t.log(`control plane up in ${cp.startupMs} ms: ${cp.server} (${cp.version}), binaries in ${cp.binDir}`);
});

test.after.always('stop the control plane', async () => {
  await cp?.stop();
});

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

test.serial('/version reports the stamped release', async (t) => {
  const c = plane();
  const res = await c.request<{ gitVersion: string; major: string; minor: string; gitTreeState: string }>('GET', '/version');
  t.is(res.status, 200);
  const want = expectedKubernetesVersion();
  if (want) {
    t.is(res.body.gitVersion, want);
    const m = /^v(\d+)\.(\d+)\./.exec(want);
    t.is(res.body.major, m?.[1] ?? '');
    t.is(res.body.minor, m?.[2] ?? '');
  } else {
    t.regex(res.body.gitVersion, /^v1\.\d+\.\d+/, 'KUBEBUILDER_ASSETS binaries report a real version');
  }
  t.not(res.body.gitVersion, 'v0.0.0-master+$Format:%H$');
});

test.serial('kubeconfig holds the server, the CA and the admin identity', (t) => {
  const c = plane();
  t.true(existsSync(c.kubeconfigPath));
  const kc = parseYaml(readFileSync(c.kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string; 'client-certificate-data': string } }[];
  };
  t.is(kc.clusters[0]?.cluster.server, c.server);
  t.is(Buffer.from(kc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(), c.caPem);
  t.is(kc.users[0]?.user.token, c.token);
  t.is(Buffer.from(kc.users[0]?.user['client-certificate-data'] ?? '', 'base64').toString(), c.clientCertPem);
});

test.serial('the admin client certificate is in system:masters', async (t) => {
  const c = plane();
  const https = await import('node:https');
  const status = await new Promise<number>((resolve, reject) => {
    https
      .get(new URL('/api/v1/namespaces/kube-system', c.server), { ca: c.caPem, cert: c.clientCertPem, key: c.clientKeyPem }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
  t.is(status, 200);
});

test.serial('creates a namespace and a ConfigMap', async (t) => {
  const c = plane();
  const ns = unique('envtest');
  const created = await c.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  t.is(created.status, 201, JSON.stringify(created.body));
  const cm = await c.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hello' }, data: { greeting: 'hi' },
  });
  t.is(cm.status, 201, JSON.stringify(cm.body));
  const got = await c.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/hello`);
  t.is(got.status, 200);
  t.deepEqual(got.body.data, { greeting: 'hi' });
});

test.serial('garbage collection deletes an owned ConfigMap when its owner is deleted', async (t) => {
  const c = plane();
  t.true(c.controllerManager);
  const ns = unique('envtest-gc');
  t.is((await c.request('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
  const base = `/api/v1/namespaces/${ns}/configmaps`;
  const owner = await c.request<{ metadata: { uid: string } }>('POST', base, { metadata: { name: 'owner' } });
  t.is(owner.status, 201);
  const owned = await c.request('POST', base, {
    metadata: {
      name: 'owned',
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.body.metadata.uid }],
    },
  });
  t.is(owned.status, 201, JSON.stringify(owned.body));
  // Background propagation: the owner goes at once, the garbage collector removes the dependent.
  t.is((await c.request('DELETE', `${base}/owner`, { propagationPolicy: 'Background' })).status, 200);

  const t0 = Date.now();
  let status = 200;
  while (Date.now() - t0 < 30_000) {
    status = (await c.request('GET', `${base}/owned`)).status;
    if (status === 404) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  t.is(status, 404, `owned ConfigMap still there after 30 s; controller-manager log:\n${c.logTail('kube-controller-manager', 40)}`);
  t.log(`garbage-collected after ${Date.now() - t0} ms`);
});

test.serial('namespace deletion completes (namespace controller)', async (t) => {
  const c = plane();
  const ns = unique('envtest-del');
  t.is((await c.request('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
  t.is((await c.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'x' } })).status, 201);
  t.is((await c.request('DELETE', `/api/v1/namespaces/${ns}`)).status, 200);
  const t0 = Date.now();
  let status = 200;
  while (Date.now() - t0 < 30_000) {
    status = (await c.request('GET', `/api/v1/namespaces/${ns}`)).status;
    if (status === 404) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  t.is(status, 404, `namespace still there after 30 s; controller-manager log:\n${c.logTail('kube-controller-manager', 40)}`);
});
