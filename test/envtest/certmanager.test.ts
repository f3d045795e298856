/**
 * KmipClientCredentials issued by cert-manager (spec.issuerRef), with the real parts: a control
 * plane (kube-apiserver, etcd, kube-controller-manager for garbage collection), cert-manager's
 * CRDs and its controller built from the release's Go module (test/certmanager/build.sh), and the
 * operator in this process.
 *
 * cert-manager is bootstrapped the usual way: a SelfSigned ClusterIssuer, a CA Certificate from
 * it, and a CA Issuer on that CA's Secret. Then:
 * - a credential naming the CA Issuer becomes Ready; its Secret has tls.crt, tls.key, ca.crt (the
 *   kube-kmip CA bundle) and client.pem; the certificate chains to the issuer's CA, its subject is
 *   exactly the one the kube-kmip CA would write (OU=<scope uid>, CN=<role uid>), its serial is in
 *   status; the Certificate and cert-manager's Secret belong to the credential;
 * - an RSA role gets an RSA certificate with keyEncipherment;
 * - removing issuerRef hands the credential back to the kube-kmip CA and deletes the Certificate
 *   and cert-manager's Secret;
 * - a credential naming a missing issuer is Ready=False with cert-manager's own words;
 * - a KMIP server trusting the issuer's CA accepts the certificate for a Create; one that does not
 *   trust it refuses the handshake;
 * - a renewal by cert-manager (triggered as `cmctl renew` does) reaches the app's Secret and status,
 *   and the previous serial stays accepted until it expires;
 * - deleting the credential lets the garbage collector remove the Certificate, cert-manager's
 *   Secret and the app's Secret.
 *
 * Set ENVTEST_OPERATOR_LOG to a pino level to see the operator's logs, ENVTEST_CERT_MANAGER_LOG to
 * a file to keep cert-manager's log (its tail is printed when a wait times out).
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { CRD_DIR } from '../../operator/api/generate.ts';
import { DEFAULT_TLS_CLIENT_TTL, KINDS, crdName } from '../../operator/api/index.ts';
import { parseDuration } from '../../operator/runtime/duration.ts';
import { startOperator } from '../../operator/main.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import {
  identityFromCertificate, issueServerCertificate, loadCertificateAuthority, pemCertificates, type IssuedCertificate,
} from '../../operator/pki/index.ts';
import { clientSubject } from '../../operator/pki/issue.ts';
import { x509 } from '../../operator/pki/provider.ts';
import { KmipClient, V1_4, requestMessage } from '../../kmip-server/client/client.ts';
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import { KubeClient } from '../../kmip-server/k8s/client.ts';
import { loadKubeConfig } from '../../kmip-server/k8s/kubeconfig.ts';
import { KubernetesPolicySource } from '../../kmip-server/policy/kubernetes.ts';
import { startKmipServer } from '../../kmip-server/server.ts';
import { MemoryStore } from '../../kmip-server/store/memory.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { sleep, waitFor as sharedWaitFor } from './wait.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const BUILD_SCRIPT = fileURLToPath(new URL('../certmanager/build.sh', import.meta.url));
const OPERATOR_NS = 'kube-kmip';
const CM_NS = 'cert-manager';
const NS = 'team-cm';
const GROUP = '/apis/kubekmip.io/v1alpha1';
const CM = '/apis/cert-manager.io/v1';
const USER = 'envtest-user';
const CM_CRDS = ['cert-manager.io_certificates', 'cert-manager.io_certificaterequests', 'cert-manager.io_issuers',
  'cert-manager.io_clusterissuers', 'acme.cert-manager.io_orders', 'acme.cert-manager.io_challenges'];

const logger = pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2));

let cp: ControlPlane | undefined;
let certManager: ChildProcess | undefined;
let certManagerLog = '';
let operator: Manager | undefined;

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

/** Runs test/certmanager/build.sh; resolves to the directory with cert-manager-controller and crds/. */
function ensureCertManager(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && existsSync(join(dir, 'cert-manager-controller'))) resolve(dir);
      else reject(new Error(`${BUILD_SCRIPT} failed (exit ${code}): cert-manager could not be built, see its stderr above`));
    });
  });
}

/** The shared waitFor (60 s by default here), with the tail of cert-manager's log when it times out. */
async function waitFor<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  try {
    return await sharedWaitFor(what, get, timeoutMs, 200);
  } catch (err) {
    const tail = certManagerLog && existsSync(certManagerLog) ? readFileSync(certManagerLog, 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`${(err as Error).message}\n--- cert-manager log tail ---\n${tail}`);
  }
}

interface Condition { type: string; status: string; reason?: string; message?: string }
interface Obj {
  metadata: { name: string; namespace?: string; uid: string; ownerReferences?: { uid: string; kind: string; controller?: boolean }[]; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[]; serialNumber?: string; serialNumbers?: string[]; certificateFingerprints?: string[]; fingerprint?: string; notBefore?: string; notAfter?: string; secretName?: string };
  data?: Record<string, string>;
  type?: string;
}

async function api<T = Obj>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const res = await plane().request<T>(method, path, body, contentType ? { 'content-type': contentType } : {});
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function get(path: string): Promise<Obj | undefined> {
  const res = await plane().request<Obj>('GET', path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function applyYaml(path: string, yaml: string): Promise<void> {
  await api('PATCH', `${path}?fieldManager=${USER}&force=true`, yaml, 'application/apply-patch+yaml');
}

const ready = (o: Obj | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
const text = (o: Obj, key: string) => Buffer.from(o.data?.[key] ?? '', 'base64').toString('utf8');

test.before('control plane, CRDs, cert-manager with a CA Issuer, the operator', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries or cert-manager took too long');
  await ensureBinaries();
  const cmDir = await ensureCertManager();
  t.timeout(240_000, 'the control plane, cert-manager or the operator did not start');
  cp = await startControlPlane({ controllerManager: true });
  for (const kind of KINDS) {
    const name = crdName(kind);
    await applyYaml(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, readFileSync(join(CRD_DIR, `${name}.yaml`), 'utf8'));
  }
  for (const file of CM_CRDS) {
    const yaml = readFileSync(join(cmDir, 'crds', `${file}.yaml`), 'utf8');
    const name = /^\s+name:\s+(\S+)$/m.exec(yaml.split('\nspec:')[0]!)?.[1];
    if (!name) throw new Error(`no metadata.name in ${file}.yaml`);
    await applyYaml(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, yaml);
  }
  for (const ns of [OPERATOR_NS, CM_NS, NS]) await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (const path of [`${GROUP}/kmipclientcredentials`, `${CM}/certificates`, `${CM}/issuers`, `${CM}/clusterissuers`, `${CM}/certificaterequests`]) {
    await waitFor(`${path} served`, async () => ((await plane().request('GET', path)).status === 200 ? true : undefined));
  }

  // cert-manager's controller, as a process against the control plane. Without
  // --enable-certificate-owner-ref (its default): the operator must tie cert-manager's Secret to
  // the credential itself.
  certManagerLog = join(cp.dir, 'cert-manager.log');
  const out = createWriteStream(certManagerLog);
  certManager = spawn(join(cmDir, 'cert-manager-controller'), [
    `--kubeconfig=${cp.kubeconfigPath}`, `--cluster-resource-namespace=${CM_NS}`, '--leader-elect=false', '--v=2',
    // A failed issuance is retried quickly in a test, not after upstream's hour.
    '--certificate-request-minimum-backoff-duration=2s',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  certManager.stdout!.pipe(out);
  certManager.stderr!.pipe(out);

  // The usual bootstrap: SelfSigned ClusterIssuer → CA Certificate → CA Issuer.
  await api('POST', `${CM}/clusterissuers`, { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'selfsigned' }, spec: { selfSigned: {} } });
  await api('POST', `${CM}/namespaces/${NS}/certificates`, {
    apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'team-ca' },
    spec: {
      isCA: true, commonName: 'team-cm issuing CA', secretName: 'team-ca', duration: '2160h',
      privateKey: { algorithm: 'ECDSA', size: 256 },
      issuerRef: { name: 'selfsigned', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    },
  });
  await api('POST', `${CM}/namespaces/${NS}/issuers`, {
    apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'team-ca' }, spec: { ca: { secretName: 'team-ca' } },
  });
  await waitFor('the CA Issuer to be Ready', async () => (ready(await get(`${CM}/namespaces/${NS}/issuers/team-ca`))?.status === 'True' ? true : undefined), 120_000);

  operator = await startOperator({
    kubeconfig: cp.kubeconfigPath,
    logger,
    namespace: OPERATOR_NS,
    leaderElection: false,
    probe: false,
    backoff: { baseMs: 50, maxMs: 2000 },
    controllers: { secretConflictRecheckMs: 500 },
  });
  t.log(`control plane up in ${cp.startupMs} ms; cert-manager from ${cmDir}`);
});

test.after.always('stop the operator, cert-manager and the control plane', async () => {
  await operator?.stop();
  if (certManager && certManager.exitCode === null) {
    const exited = new Promise((res) => certManager!.once('exit', res));
    certManager.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (certManager.exitCode === null) certManager.kill('SIGKILL');
  }
  const keep = process.env['ENVTEST_CERT_MANAGER_LOG'];
  if (keep && certManagerLog && existsSync(certManagerLog)) copyFileSync(certManagerLog, keep);
  await cp?.stop();
});

async function scopeAndRole(scope: string, role: string, roleSpec: Record<string, unknown> = {}): Promise<{ scope: Obj; role: Obj }> {
  const sc = await api('POST', `${GROUP}/namespaces/${NS}/kmipscopes`, { apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope', metadata: { name: scope }, spec: {} });
  const rl = await api('POST', `${GROUP}/namespaces/${NS}/kmiproles`, {
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipRole', metadata: { name: role },
    spec: { scopeRef: { name: scope }, operations: ['operation_create', 'operation_get', 'operation_locate', 'operation_discover_versions'], ...roleSpec },
  });
  return { scope: sc, role: rl };
}

async function credential(name: string, scope: string, role: string, issuer: string): Promise<Obj> {
  return api('POST', `${GROUP}/namespaces/${NS}/kmipclientcredentials`, {
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name },
    spec: { scopeRef: { name: scope }, roleRef: { name: role }, issuerRef: { name: issuer } },
  });
}

/** The CertificateRequests cert-manager made for a Certificate. */
async function requestsOf(certificate: Obj): Promise<Obj[]> {
  const list = await api<{ items: Obj[] }>('GET', `${CM}/namespaces/${NS}/certificaterequests`);
  return list.items.filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === certificate.metadata.uid));
}

const credPath = (name: string) => `${GROUP}/namespaces/${NS}/kmipclientcredentials/${name}`;

async function readyCredential(name: string): Promise<Obj> {
  return waitFor(`credential ${name} to be Ready`, async () => {
    const c = await get(credPath(name));
    return ready(c)?.status === 'True' ? c : undefined;
  }, 90_000);
}

// ------------------------------------------------------------------------------------------------

test.serial('a credential naming a CA Issuer gets a cert-manager certificate in the usual Secret, with the kube-kmip identity', async (t) => {
  const { scope, role } = await scopeAndRole('payments', 'app');
  await credential('app-cm', 'payments', 'app', 'team-ca');
  const cred = await readyCredential('app-cm');
  t.regex(ready(cred)!.message ?? '', /from cert-manager \(Issuer team-ca\)/);

  const secret = (await get(`/api/v1/namespaces/${NS}/secrets/app-cm`))!;
  t.truthy(secret, 'the credential Secret exists');
  t.is(secret.type, 'kubernetes.io/tls');
  for (const k of ['tls.crt', 'tls.key', 'ca.crt', 'client.pem']) t.truthy(secret.data?.[k], `Secret has ${k}`);
  t.true(secret.metadata.ownerReferences?.some((o) => o.uid === cred.metadata.uid && o.controller === true), 'the Secret is the credential\'s');

  const leafDer = pemCertificates(text(secret, 'tls.crt'))[0]!;
  const leaf = new X509Certificate(leafDer);
  // Chains to the issuer's CA (the CA Certificate cert-manager made), not to the kube-kmip CA.
  const issuerCa = new X509Certificate(text((await get(`/api/v1/namespaces/${NS}/secrets/team-ca`))!, 'tls.crt'));
  t.true(leaf.checkIssued(issuerCa) && leaf.verify(issuerCa.publicKey), 'signed by the CA Issuer');
  const kmipCa = (await get(`/api/v1/namespaces/${OPERATOR_NS}/secrets/kube-kmip-ca`))!;
  t.is(text(secret, 'ca.crt'), text(kmipCa, 'bundle.crt') || text(kmipCa, 'tls.crt'), 'ca.crt is the kube-kmip CA bundle (to trust the KMIP server)');

  // The subject is byte for byte what the kube-kmip CA writes; the server maps it to scope and role.
  const subjectDer = Buffer.from(clientSubject(scope.metadata.uid, role.metadata.uid).toArrayBuffer());
  t.true(Buffer.from(leafDer).includes(subjectDer), 'subject DER equals clientSubject(scope uid, role uid)');
  const id = identityFromCertificate(leafDer);
  t.is(id.scopeId, scope.metadata.uid);
  t.is(id.roleId, role.metadata.uid);
  t.is(cred.status?.serialNumber, id.serialNumber, 'status has the serial');
  t.deepEqual(cred.status?.serialNumbers, [id.serialNumber]);
  t.is(cred.status?.fingerprint, id.fingerprintSha256);
  t.deepEqual(cred.status?.certificateFingerprints, [id.fingerprintSha256], "the serial is bound to cert-manager's certificate");
  t.is(new Date(cred.status!.notAfter!).getTime(), id.notAfter.getTime());
  t.true(leaf.keyUsage === undefined || !leaf.keyUsage.includes('1.3.6.1.5.5.7.3.1'), 'not a server certificate');
  t.true(leaf.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), 'client auth');
  t.is(leaf.publicKey.asymmetricKeyType, 'ec');
  t.is(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  // client.pem: the key, then the certificate (as mongod wants).
  const clientPem = text(secret, 'client.pem');
  t.true(clientPem.startsWith('-----BEGIN PRIVATE KEY-----'), 'client.pem starts with the PKCS#8 key');
  t.true(clientPem.includes(leaf.toString().trim()), 'client.pem holds the certificate');

  // The role's default lifetime and cert-manager's renewal a third of it before expiry.
  const lifetime = id.notAfter.getTime() - id.notBefore.getTime();
  const ttlMs = parseDuration(DEFAULT_TLS_CLIENT_TTL);
  t.true(Math.abs(lifetime - ttlMs) < 120_000, `lifetime ${lifetime} ms, want ${DEFAULT_TLS_CLIENT_TTL}`);

  // The Certificate and cert-manager's own Secret belong to the credential (garbage collection).
  const certificate = (await get(`${CM}/namespaces/${NS}/certificates/app-cm`))!;
  t.true(certificate.metadata.ownerReferences?.some((o) => o.uid === cred.metadata.uid && o.controller === true), 'the Certificate is owned by the credential');
  t.is(certificate.spec?.['duration'], DEFAULT_TLS_CLIENT_TTL);
  t.is(parseDuration(String(certificate.spec?.['renewBefore'])), Math.floor(ttlMs / 3), 'renewBefore is a third of the lifetime');
  const privateSecret = (await get(`/api/v1/namespaces/${NS}/secrets/app-cm-cert-manager`))!;
  t.true(privateSecret.metadata.ownerReferences?.some((o) => o.uid === cred.metadata.uid), 'cert-manager\'s Secret is owned by the credential too');

  // Converged: nothing changes on a second look (no reissue loop between the two controllers).
  await sleep(3000);
  const again = (await get(credPath('app-cm')))!;
  t.is(again.status?.serialNumber, cred.status?.serialNumber, 'the serial is stable');
  t.is(((await get(`${CM}/namespaces/${NS}/certificates/app-cm`))!.status as { revision?: number }).revision, 1, 'cert-manager issued once');
  t.is((await requestsOf(certificate)).length, 1, 'one CertificateRequest');
});

test.serial('a renewal by cert-manager reaches the Secret and status; the previous serial stays accepted', async (t) => {
  const before = (await get(credPath('app-cm')))!;
  const oldSerial = before.status!.serialNumber!;
  const oldFingerprint = before.status!.fingerprint!;
  // What `cmctl renew` does: the Issuing condition, set on the Certificate's status.
  const current = (await get(`${CM}/namespaces/${NS}/certificates/app-cm`))!;
  const conditions = [...(current.status?.conditions ?? []).filter((c) => c.type !== 'Issuing'),
    { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal requested by the test', lastTransitionTime: new Date().toISOString() }];
  await api('PATCH', `${CM}/namespaces/${NS}/certificates/app-cm/status`, { status: { conditions } }, 'application/merge-patch+json');
  const renewed = await waitFor('the renewed certificate in status', async () => {
    const c = await get(credPath('app-cm'));
    return c?.status?.serialNumber && c.status.serialNumber !== oldSerial && ready(c)?.status === 'True' ? c : undefined;
  }, 60_000);
  t.deepEqual(renewed.status?.serialNumbers, [renewed.status!.serialNumber!, oldSerial], 'the previous certificate is still accepted');
  const secret = (await get(`/api/v1/namespaces/${NS}/secrets/app-cm`))!;
  t.is(identityFromCertificate(pemCertificates(text(secret, 'tls.crt'))[0]!).serialNumber, renewed.status!.serialNumber!, 'the Secret holds the new certificate');
  t.is(secret.metadata.annotations?.['kubekmip.io/previous-serial-number'], oldSerial);
  t.deepEqual(renewed.status?.certificateFingerprints, [identityFromCertificate(pemCertificates(text(secret, 'tls.crt'))[0]!).fingerprintSha256, oldFingerprint],
    'the fingerprints follow the serials');
  t.is(secret.metadata.annotations?.['kubekmip.io/previous-fingerprint'], oldFingerprint);
  t.is(((await get(`${CM}/namespaces/${NS}/certificates/app-cm`))!.status as { revision?: number }).revision, 2, 'cert-manager issued twice');
});

test.serial('an RSA role gets an RSA key of its size, with keyEncipherment', async (t) => {
  await scopeAndRole('ledger', 'rsa-app', { tlsClientKeyType: 'rsa', tlsClientKeyBits: 3072, tlsClientTTL: '48h' });
  await credential('rsa-cm', 'ledger', 'rsa-app', 'team-ca');
  await readyCredential('rsa-cm');
  const secret = (await get(`/api/v1/namespaces/${NS}/secrets/rsa-cm`))!;
  const leaf = new X509Certificate(pemCertificates(text(secret, 'tls.crt'))[0]!);
  t.is(leaf.publicKey.asymmetricKeyType, 'rsa');
  t.is(leaf.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
  const lifetime = new Date(leaf.validToDate).getTime() - new Date(leaf.validFromDate).getTime();
  t.true(Math.abs(lifetime - 48 * 3_600_000) < 120_000, `lifetime ${lifetime} ms`);
  // keyUsage is not exposed by node:crypto; read the extension through the same library pki uses.
  const ku = new x509.X509Certificate(leaf.raw).getExtension(x509.KeyUsagesExtension);
  t.truthy(ku, 'has keyUsage');
  t.true(((ku!.usages & x509.KeyUsageFlags.keyEncipherment) !== 0) && ((ku!.usages & x509.KeyUsageFlags.digitalSignature) !== 0),
    'digitalSignature and keyEncipherment');
});

test.serial('removing issuerRef: the kube-kmip CA issues, and the Certificate and cert-manager\'s Secret go', async (t) => {
  const before = (await get(credPath('rsa-cm')))!;
  await api('PATCH', credPath('rsa-cm'), { spec: { issuerRef: null } }, 'application/merge-patch+json');
  const kmipCa = new X509Certificate(pemCertificates(text((await get(`/api/v1/namespaces/${OPERATOR_NS}/secrets/kube-kmip-ca`))!, 'tls.crt'))[0]!);
  const secret = await waitFor('the Secret to hold a kube-kmip certificate', async () => {
    const s = await get(`/api/v1/namespaces/${NS}/secrets/rsa-cm`);
    const leaf = s && new X509Certificate(pemCertificates(text(s, 'tls.crt'))[0]!);
    return leaf && leaf.checkIssued(kmipCa) ? s : undefined;
  });
  t.is(secret.metadata.annotations?.['kubekmip.io/cert-manager-issuer'], undefined, 'no longer marked as cert-manager\'s');
  const cred = await readyCredential('rsa-cm');
  t.not(cred.status?.serialNumber, before.status?.serialNumber, 'a new serial');
  t.is(await get(`${CM}/namespaces/${NS}/certificates/rsa-cm`), undefined, 'the Certificate is deleted');
  t.is(await get(`/api/v1/namespaces/${NS}/secrets/rsa-cm-cert-manager`), undefined, 'cert-manager\'s Secret (with its key) is deleted');
});

test.serial('a missing issuer: Ready=False with cert-manager\'s message', async (t) => {
  await scopeAndRole('orphans', 'nobody');
  await credential('no-issuer', 'orphans', 'nobody', 'no-such-issuer');
  const cred = await waitFor('the credential to report cert-manager\'s reason', async () => {
    const c = await get(credPath('no-issuer'));
    const r = ready(c);
    return r?.status === 'False' && r.reason === 'IssuerNotReady' ? c : undefined;
  }, 60_000);
  const r = ready(cred)!;
  t.regex(r.message ?? '', /cert-manager has not issued Certificate team-cm\/no-issuer/);
  t.regex(r.message ?? '', /no-such-issuer/, `cert-manager's words: ${r.message}`);
  t.is(cred.status?.serialNumber, undefined, 'no serial');
  t.log(`Ready=False ${r.reason}: ${r.message}`);
  t.is(await get(`/api/v1/namespaces/${NS}/secrets/no-issuer`), undefined, 'no Secret for the app');
});

test.serial('a KMIP server trusting the issuer CA accepts the certificate for a Create; one not trusting it refuses it', async (t) => {
  const secret = (await get(`/api/v1/namespaces/${NS}/secrets/app-cm`))!;
  const issuerCaPem = text((await get(`/api/v1/namespaces/${NS}/secrets/team-ca`))!, 'tls.crt');
  const kmipCaSecret = (await get(`/api/v1/namespaces/${OPERATOR_NS}/secrets/kube-kmip-ca`))!;
  const chain = text(kmipCaSecret, 'tls.crt');
  const kmipCa = await loadCertificateAuthority({ certificatePem: chain, privateKeyPem: text(kmipCaSecret, 'tls.key'), chainPem: chain });
  const serverCert: IssuedCertificate = await issueServerCertificate(kmipCa, { ipAddresses: ['127.0.0.1'] });
  const kube = await KubeClient.fromKubeConfig(loadKubeConfig(plane().kubeconfigPath));
  t.teardown(() => kube.close());
  const policy = KubernetesPolicySource.start({ client: kube, namespace: NS, logger });
  t.teardown(() => policy.close());
  await policy.ready();
  const serial = identityFromCertificate(pemCertificates(text(secret, 'tls.crt'))[0]!).serialNumber;
  await waitFor('the credential in the server\'s policy', async () => (policy.current().bySerial.has(serial) ? true : undefined), 10_000);

  const serve = async (clientCaPem: string) => startKmipServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    tls: { certPem: serverCert.certificatePem + chain, keyPem: serverCert.privateKeyPem, caPem: clientCaPem },
    store: new MemoryStore(),
    policy,
    logger,
  });
  // What the app mounts: its certificate and key, and ca.crt to trust the server.
  const clientOpts = (port: number) => ({
    host: '127.0.0.1', port, ca: text(secret, 'ca.crt'), cert: text(secret, 'tls.crt'), key: text(secret, 'tls.key'), timeoutMs: 5000,
  });

  // The server's client-CA bundle: the kube-kmip CA bundle plus the issuer's CA.
  const trusting = await serve(text(kmipCaSecret, 'bundle.crt') + issuerCaPem);
  t.teardown(() => trusting.close());
  const client = await KmipClient.connect({ ...clientOpts(trusting.addresses[0]!.port), version: V1_4 });
  t.teardown(() => client.close().catch(() => undefined));
  const uid = await client.create({ name: 'cm-key' });
  t.truthy(uid, 'Create succeeded');
  t.deepEqual(await client.locate('cm-key'), [uid]);

  // Without the issuer's CA in its bundle the server cannot verify the certificate at all.
  const strict = await serve(text(kmipCaSecret, 'bundle.crt'));
  t.teardown(() => strict.close());
  let outcome = 'answered';
  try {
    const conn = await KmipConnection.connect(clientOpts(strict.addresses[0]!.port));
    try {
      await conn.send(requestMessage(V1_4, [{ operation: 'Discover Versions', payload: [] }]));
    } catch {
      outcome = 'request';
    } finally {
      await conn.close().catch(() => undefined);
    }
  } catch {
    outcome = 'handshake';
  }
  t.not(outcome, 'answered', 'a server that does not trust the issuer refuses the certificate');
});

test.serial('deleting the credential removes the Certificate, cert-manager\'s Secret and the app\'s Secret', async (t) => {
  const t0 = Date.now();
  await api('DELETE', credPath('app-cm'));
  await waitFor('the credential to be gone', async () => ((await get(credPath('app-cm'))) === undefined ? true : undefined), 30_000);
  t.log(`credential gone after ${Date.now() - t0} ms`);
  await waitFor('the Certificate to be collected', async () => ((await get(`${CM}/namespaces/${NS}/certificates/app-cm`)) === undefined ? true : undefined), 60_000);
  t.log(`Certificate gone after ${Date.now() - t0} ms`);
  await waitFor('cert-manager\'s Secret to be collected', async () =>
    ((await get(`/api/v1/namespaces/${NS}/secrets/app-cm-cert-manager`)) === undefined ? true : undefined), 60_000);
  await waitFor('the app Secret to be collected', async () => ((await get(`/api/v1/namespaces/${NS}/secrets/app-cm`)) === undefined ? true : undefined), 60_000);
  t.log(`credential, Certificate and both Secrets gone after ${Date.now() - t0} ms`);
  t.pass();
});
