/**
 * The operator drives the KMIP server (`--server-config`), against a real API server: the
 * StatefulSet, Services, PodDisruptionBudget, server certificate and KEK it writes; then, since
 * there is no kubelet here, the server process runs beside them with the StatefulSet's own
 * arguments and the Secrets' own files, and a client with an operator-issued credential talks to
 * it by the Service's DNS name (as a pod in the cluster would). A configuration change re-issues
 * the certificate and the running server picks it up without a restart.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startOperator } from '../../operator/main.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { parseServerConfig, type ServerConfig } from '../../operator/server/config.ts';
import { SERVER_PATHS } from '../../operator/server/manifests.ts';
import { createRootCa } from '../../operator/pki/index.ts';
import { KmipClient } from '../../kmip-server/client/client.ts';
import { uidItem } from '../helpers/kmip.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { createNamespaces, installCrds, waitFor } from './wait.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const OPERATOR_NS = 'kube-kmip';
const NS = 'team-a';
const logger = pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2));

let cp: ControlPlane | undefined;
let operator: Manager | undefined;
const children: ChildProcess[] = [];
const dirs: string[] = [];

const plane = (): ControlPlane => {
  if (!cp) throw new Error('control plane did not start');
  return cp;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
async function get(path: string): Promise<Any | undefined> {
  const res = await plane().request<Any>('GET', path);
  return res.status === 200 ? res.body : undefined;
}
async function apply(obj: Any): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const plural = `${obj.kind.toLowerCase()}s`;
  const res = await plane().request('PATCH', `${base}/namespaces/${obj.metadata.namespace}/${plural}/${obj.metadata.name}?fieldManager=envtest-user&force=true`,
    obj, { 'content-type': 'application/apply-patch+yaml' });
  if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}
const secretData = (s: Any, key: string): string => Buffer.from(s.data[key], 'base64').toString('utf8');

const CONFIG_A = `
image: ghcr.io/kube-kmip/kube-kmip:test
replicas: 1
storage:
  type: sqlite
  size: 2Gi
  storageClassName: fast
service:
  type: LoadBalancer
  port: 5696
certificate:
  hostnames: [kmip.example.com]
  ipAddresses: [10.0.0.7]
tls:
  minVersion: TLSv1.2
limits:
  maxConnections: 64
`;

async function runOperator(config: ServerConfig): Promise<Manager> {
  const mgr = await startOperator({
    kubeconfig: plane().kubeconfigPath,
    logger,
    namespace: OPERATOR_NS,
    leaderElection: false,
    backoff: { baseMs: 50, maxMs: 2000 },
    controllers: { server: config },
  });
  return mgr;
}

test.before('control plane, CRDs, namespaces, operator with a server configuration', async (t) => {
  t.timeout(90 * 60_000, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(120_000, 'the control plane or the operator did not start');
  cp = await startControlPlane();
  await installCrds(cp);
  await createNamespaces(cp, [OPERATOR_NS, NS]);
  operator = await runOperator(parseServerConfig(CONFIG_A));
});

test.after.always(async () => {
  for (const c of children) c.kill('SIGKILL');
  await operator?.stop();
  await cp?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const stsPath = `/apis/apps/v1/namespaces/${OPERATOR_NS}/statefulsets/kube-kmip-server`;
const secretPath = (name: string) => `/api/v1/namespaces/${OPERATOR_NS}/secrets/${name}`;

test.serial('the StatefulSet, both Services, the PodDisruptionBudget and the two Secrets appear as configured', async (t) => {
  const sts = await waitFor('the StatefulSet', () => get(stsPath));
  t.is(sts.spec.replicas, 1);
  t.is(sts.spec.serviceName, 'kube-kmip-server-headless');
  t.is(sts.spec.podManagementPolicy, 'OrderedReady');
  const vct = sts.spec.volumeClaimTemplates[0];
  t.is(vct.spec.resources.requests.storage, '2Gi');
  t.is(vct.spec.storageClassName, 'fast');
  const pod = sts.spec.template.spec;
  t.is(pod.serviceAccountName, 'kube-kmip-server');
  t.true(pod.securityContext.runAsNonRoot);
  const c = pod.containers[0];
  t.is(c.image, 'ghcr.io/kube-kmip/kube-kmip:test');
  t.true(c.securityContext.readOnlyRootFilesystem);
  t.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  t.deepEqual(c.command, ['node', SERVER_PATHS.main]);
  const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
  t.is(arg('--store'), 'sqlite');
  t.is(arg('--max-connections'), '64');
  t.true(c.args.includes('--all-namespaces'));
  t.deepEqual(pod.volumes.map((v: Any) => v.secret?.secretName ?? v.name).sort(), ['kube-kmip-server-kek', 'kube-kmip-server-tls', 'tmp']);

  const svc = await waitFor('the client Service', () => get(`/api/v1/namespaces/${OPERATOR_NS}/services/kube-kmip-server`));
  t.is(svc.spec.type, 'LoadBalancer');
  t.deepEqual(svc.spec.ports.map((p: Any) => [p.name, p.port, p.targetPort]), [['kmip', 5696, 'kmip']]);
  t.deepEqual(svc.spec.selector, sts.spec.selector.matchLabels);
  const headless = await waitFor('the headless Service', () => get(`/api/v1/namespaces/${OPERATOR_NS}/services/kube-kmip-server-headless`));
  t.is(headless.spec.clusterIP, 'None');
  const pdb = await waitFor('the PodDisruptionBudget', () => get(`/apis/policy/v1/namespaces/${OPERATOR_NS}/poddisruptionbudgets/kube-kmip-server`));
  t.is(pdb.spec.maxUnavailable, 1);

  const kek = await waitFor('the KEK Secret', () => get(secretPath('kube-kmip-server-kek')));
  t.is(Buffer.from(kek.data.kek, 'base64').length, 32);
  const tlsSecret = await waitFor('the TLS Secret', () => get(secretPath('kube-kmip-server-tls')));
  const leaf = new X509Certificate(secretData(tlsSecret, 'tls.crt'));
  const san = leaf.subjectAltName ?? '';
  for (const name of ['kube-kmip-server.kube-kmip.svc', 'kube-kmip-server.kube-kmip.svc.cluster.local', '*.kube-kmip-server-headless.kube-kmip.svc', 'kmip.example.com']) {
    t.true(san.includes(`DNS:${name}`), `SAN ${name} in ${san}`);
  }
  t.true(san.includes('IP Address:10.0.0.7'), san);
  t.true(leaf.keyUsage?.includes('1.3.6.1.5.5.7.3.1') ?? true);
  // Signed by the CA the operator keeps, whose chain is the server's client-CA bundle.
  const ca = await get(secretPath('kube-kmip-ca'));
  const issuing = new X509Certificate(secretData(ca, 'tls.crt'));
  t.true(leaf.verify(issuing.publicKey));
  t.is(secretData(tlsSecret, 'ca.crt'), secretData(ca, 'tls.crt'));
});

interface RunningServer { port: number; dir: string; process: ChildProcess }

/** The server process with the StatefulSet's arguments and the Secrets' files, as the pod would run it. */
async function runServerLikeThePod(): Promise<RunningServer> {
  const sts = await get(stsPath);
  const args: string[] = [...sts.spec.template.spec.containers[0].args];
  const dir = mkdtempSync(join(tmpdir(), 'kube-kmip-pod-'));
  dirs.push(dir);
  const tls = await get(secretPath('kube-kmip-server-tls'));
  const kek = await get(secretPath('kube-kmip-server-kek'));
  for (const k of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(dir, k), secretData(tls, k));
  writeFileSync(join(dir, 'kek'), Buffer.from(kek.data.kek, 'base64'));
  const local = args.map((a) => a
    .replace(`${SERVER_PATHS.tlsDir}/`, `${dir}/`)
    .replace(`${SERVER_PATHS.kekDir}/`, `${dir}/`)
    .replace(SERVER_PATHS.dataDir, join(dir, 'data'))
    .replace(/^0\.0\.0\.0:\d+$/, '127.0.0.1:0'));
  local.push('--kubeconfig', plane().kubeconfigPath, '--tls-reload-interval-ms', '300');
  const child = spawn(process.execPath, [join(ROOT, 'kmip-server/main.ts'), ...local], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${err.slice(-2000)}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /kmip-server listening on \S+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${err.slice(-2000)}`)));
  });
  return { port, dir, process: child };
}

let server: RunningServer | undefined;
let cred: { cert: string; key: string; ca: string } | undefined;

test.serial('the server runs with the StatefulSet\'s arguments, and a credential reaches it by the Service name', async (t) => {
  t.timeout(120_000);
  server = await runServerLikeThePod();
  await apply({ apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope', metadata: { name: 'app', namespace: NS }, spec: {} });
  await apply({ apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipRole', metadata: { name: 'app', namespace: NS }, spec: { scopeRef: { name: 'app' }, operations: ['operation_create', 'operation_get'] } });
  await apply({ apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name: 'app', namespace: NS }, spec: { scopeRef: { name: 'app' }, roleRef: { name: 'app' }, secretName: 'app-kmip' } });
  const secret = await waitFor('the credential Secret', () => get(`/api/v1/namespaces/${NS}/secrets/app-kmip`));
  cred = { cert: secretData(secret, 'tls.crt'), key: secretData(secret, 'tls.key'), ca: secretData(secret, 'ca.crt') };
  const connect = (servername: string) => KmipClient.connect({
    host: '127.0.0.1', port: server!.port, servername, ca: cred!.ca, cert: cred!.cert, key: cred!.key, timeoutMs: 10_000,
  });
  // The policy reaches the server through its watch; the first attempts may precede it.
  const uid = await waitFor('a Create through the Service name', async () => {
    const c = await connect('kube-kmip-server.kube-kmip.svc');
    try {
      return await c.create();
    } finally {
      await c.close();
    }
  });
  const c = await connect('kmip.example.com');
  try {
    const got = await c.call('Get', [uidItem(uid)]);
    t.truthy(got);
  } finally {
    await c.close();
  }
  // A name the certificate does not carry is refused by the client's own check.
  await t.throwsAsync(() => connect('other.example.com'), { message: /altnames|does not match|Hostname/i });
});

test.serial('a configuration change re-issues the certificate; the running server uses it without a restart; the KEK stays', async (t) => {
  t.timeout(120_000);
  if (!server || !cred) return t.fail('the previous test did not start the server');
  const kekBefore = (await get(secretPath('kube-kmip-server-kek'))).data.kek;
  const certBefore = (await get(secretPath('kube-kmip-server-tls'))).data['tls.crt'];
  await operator!.stop();
  operator = await runOperator(parseServerConfig(`${CONFIG_A.replace('hostnames: [kmip.example.com]', 'hostnames: [kmip.example.com, keys.example.net]')}`));
  const tls = await waitFor('a re-issued certificate', async () => {
    const s = await get(secretPath('kube-kmip-server-tls'));
    return s && s.data['tls.crt'] !== certBefore ? s : undefined;
  });
  t.true((new X509Certificate(secretData(tls, 'tls.crt')).subjectAltName ?? '').includes('DNS:keys.example.net'));
  // What the kubelet does for a mounted Secret: the files change under the running process.
  for (const k of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(server.dir, k), secretData(tls, k));
  const c = await waitFor('a handshake with the new name', async () => KmipClient.connect({
    host: '127.0.0.1', port: server!.port, servername: 'keys.example.net', ca: cred!.ca, cert: cred!.cert, key: cred!.key, timeoutMs: 5000,
  }));
  await c.close();
  t.is(server.process.exitCode, null, 'the server was not restarted');
  t.is((await get(secretPath('kube-kmip-server-kek'))).data.kek, kekBefore, 'the KEK is never rewritten');
});

test.serial('a hand edit of an owned field is put back; an impossible change is a Warning Event; ConfigMap storage with 3 replicas renders without volumes', async (t) => {
  t.timeout(60_000);
  // Someone scales the StatefulSet by hand: the operator's configuration wins on the next reconcile.
  await plane().request('PATCH', `${stsPath}?fieldManager=someone`, { spec: { replicas: 0 } }, { 'content-type': 'application/merge-patch+json' });
  await operator!.stop();
  operator = await runOperator(parseServerConfig(`${CONFIG_A}`));
  await waitFor('replicas back to 1', async () => ((await get(stsPath))?.spec.replicas === 1 ? true : undefined));

  // A change the StatefulSet cannot take in place (its volume size) is reported where a person
  // looks: a Warning Event on the StatefulSet, saying what to do.
  await operator.stop();
  operator = await runOperator(parseServerConfig(CONFIG_A.replace('size: 2Gi', 'size: 5Gi')));
  const event = await waitFor('a ConfigurationNotApplied Event', async () => {
    const list = await get(`/apis/events.k8s.io/v1/namespaces/${OPERATOR_NS}/events`);
    return list?.items.find((e: Any) => e.reason === 'ConfigurationNotApplied' && e.regarding.name === 'kube-kmip-server');
  });
  t.is(event.type, 'Warning');
  t.regex(event.note, /--cascade=orphan/);
  t.is((await get(stsPath)).spec.volumeClaimTemplates[0].spec.resources.requests.storage, '2Gi', 'the StatefulSet is left as it was');

  await operator.stop();
  // Another issuer (a cert-manager CA, say) trusted for client certificates besides the kube-kmip CA.
  const issuer = await createRootCa({ commonName: 'corp issuer CA', organization: 'corp' });
  operator = await runOperator(parseServerConfig([
    'image: ghcr.io/kube-kmip/kube-kmip:test', 'name: kmip-cm', 'replicas: 3', 'storage:', '  type: configmap',
    'podDisruptionBudget:', '  maxUnavailable: 2', `trustedIssuers: [${JSON.stringify(issuer.certificatePem)}]`,
  ].join('\n')));
  const sts = await waitFor('the ConfigMap-store StatefulSet', () => get(`/apis/apps/v1/namespaces/${OPERATOR_NS}/statefulsets/kmip-cm`));
  t.is(sts.spec.replicas, 3);
  t.is(sts.spec.podManagementPolicy, 'Parallel');
  t.is(sts.spec.volumeClaimTemplates, undefined);
  const args: string[] = sts.spec.template.spec.containers[0].args;
  t.is(args[args.indexOf('--store') + 1], 'configmap');
  t.is(args[args.indexOf('--store-namespace') + 1], OPERATOR_NS);
  t.false(args.includes('--data-dir'));
  const pdb = await waitFor('its PDB', () => get(`/apis/policy/v1/namespaces/${OPERATOR_NS}/poddisruptionbudgets/kmip-cm`));
  t.is(pdb.spec.maxUnavailable, 2);
  t.truthy(await waitFor('its KEK', () => get(secretPath('kmip-cm-kek'))));
  const tls = await waitFor('its TLS Secret', () => get(secretPath('kmip-cm-tls')));
  const bundle = secretData(tls, 'ca.crt');
  const caSecret = await get(secretPath('kube-kmip-ca'));
  t.true(bundle.startsWith(secretData(caSecret, 'tls.crt').trimEnd()), 'the kube-kmip CA chain first');
  t.true(bundle.endsWith(issuer.certificatePem.trimEnd() + '\n'), 'then the trusted issuer');
});
