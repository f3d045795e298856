/**
 * CA rotation without breaking live clients, against a real control plane, the operator (with the
 * server controller: it keeps the server certificate and client CA bundle in Secret kmip-tls) and
 * the KMIP server as a process (`serve --policy kubernetes --tls-reload-interval-ms 500`) whose
 * TLS files this test keeps in step with that Secret, as the kubelet does for a mounted Secret.
 *
 * The overlap is an hour; the test ends each phase early by moving the time the phase started (an
 * annotation on the CA Secret, where the operator keeps its rotation state) an hour back. Moving
 * the operator's clock instead would issue certificates that are not yet valid for the server,
 * whose clock is the real one. The last test moves the operator's clock (nothing is checked
 * against the server after it).
 *
 * Set ENVTEST_OPERATOR_LOG to a pino level to see the operator's logs on stderr.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import tls from 'node:tls';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startOperator } from '../../operator/main.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { parseServerConfig } from '../../operator/server/config.ts';
import { canonicalSerialNumber, fingerprintSha256, pemCertificates } from '../../operator/pki/index.ts';
import { KmipClient } from '../../kmip-server/client/client.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { createNamespaces, installCrds, waitFor } from './wait.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const OPERATOR_NS = 'kube-kmip';
const NS = 'team-rotate';
const GROUP = '/apis/kubekmip.io/v1alpha1';
const USER = 'envtest-user';
const OVERLAP_MS = 3_600_000;
const SERVER_TLS_SECRET = 'kmip-tls';
const CA_PATH = `/api/v1/namespaces/${OPERATOR_NS}/secrets/kube-kmip-ca`;

const logger = pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let cp: ControlPlane | undefined;
let operator: Manager | undefined;
let server: ChildProcess | undefined;
let serverLog = '';
let port = 0;
let dir = '';
let syncing = true;
let syncLoop: Promise<void> | undefined;
let clockOffsetMs = 0;

function plane(): ControlPlane {
  if (!cp) throw new Error('control plane did not start');
  return cp;
}

interface SecretObj { metadata: { name: string; annotations?: Record<string, string>; resourceVersion: string }; data?: Record<string, string> }

async function getSecret(ns: string, name: string): Promise<SecretObj | undefined> {
  const r = await plane().request<SecretObj>('GET', `/api/v1/namespaces/${ns}/secrets/${name}`);
  return r.status === 200 ? r.body : undefined;
}
const text = (s: SecretObj, key: string) => Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
const certs = (pem: string) => pemCertificates(pem).map((d) => new X509Certificate(d));
const fingerprints = (pem: string) => certs(pem).map((c) => c.fingerprint256);
/** The root (last certificate) of a chain. */
const rootOf = (chainPem: string) => certs(chainPem).at(-1)!;

async function apply(path: string, body: unknown): Promise<void> {
  const r = await plane().request('PATCH', `${path}?fieldManager=${USER}&force=true`, JSON.stringify(body), { 'content-type': 'application/apply-patch+yaml' });
  if (r.status !== 200 && r.status !== 201) throw new Error(`apply ${path}: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
}

async function credential(name: string, roleName = 'app'): Promise<void> {
  await apply(`${GROUP}/namespaces/${NS}/kmipclientcredentials/${name}`, {
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name, namespace: NS },
    spec: { scopeRef: { name: 'keys' }, roleRef: { name: roleName } },
  });
}

async function role(name: string): Promise<void> {
  await apply(`${GROUP}/namespaces/${NS}/kmiproles/${name}`, {
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipRole', metadata: { name, namespace: NS },
    spec: { scopeRef: { name: 'keys' }, operations: ['operation_create', 'operation_get'] },
  });
}

async function credentialStatus(name: string): Promise<{ serialNumber?: string; serialNumbers?: string[]; certificateFingerprints?: string[] }> {
  const r = await plane().request<{ status?: { serialNumber?: string; serialNumbers?: string[]; certificateFingerprints?: string[] } }>('GET', `${GROUP}/namespaces/${NS}/kmipclientcredentials/${name}`);
  return r.body.status ?? {};
}

async function caSecret(): Promise<SecretObj> {
  const s = await getSecret(OPERATOR_NS, 'kube-kmip-ca');
  if (!s) throw new Error('no CA Secret');
  return s;
}

/** Ends the current phase's overlap: its start time (annotation `key`) moves back an overlap. */
async function fastForward(key: 'staged-at' | 'switched-at'): Promise<void> {
  const at = new Date(Date.now() - OVERLAP_MS - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await plane().request('PATCH', CA_PATH, { metadata: { annotations: { [`kubekmip.io/ca-rotation-${key}`]: at } } },
    { 'content-type': 'application/merge-patch+json' });
  if (r.status !== 200) throw new Error(`patching the CA Secret: HTTP ${r.status}`);
}

/** Waits for the CA Secret to reach `phase`. */
async function phase(p: string): Promise<SecretObj> {
  return waitFor(`CA rotation phase ${p}`, async () => {
    const s = await caSecret();
    return s.metadata.annotations?.['kubekmip.io/ca-rotation-phase'] === p ? s : undefined;
  });
}

interface Client { certPem: string; keyPem: string; caPem: string }

/** A new TLS connection, then Create and Get; throws what went wrong. */
async function roundTrip(c: Client, label: string): Promise<void> {
  const k = await KmipClient.connect({ host: '127.0.0.1', port, ca: c.caPem, cert: c.certPem, key: c.keyPem, timeoutMs: 10_000 });
  try {
    const uid = await k.create({ name: `${label}-${Date.now()}` });
    await k.get(uid);
  } finally {
    await k.close().catch(() => undefined);
  }
}

/** For waitFor: true once it works, else throws why not (the last reason is in the timeout message). */
async function worksNow(c: Client, label: string): Promise<true> {
  const r = await works(c, label);
  if (r !== true) throw new Error(r);
  return r;
}

async function works(c: Client, label: string): Promise<true | string> {
  try {
    await roundTrip(c, label);
    return true;
  } catch (err) {
    return `${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}`;
  }
}

/**
 * A bare TLS connection: 'accepted' when it is still open after a moment, 'closed' when the server
 * hung up (with TLS 1.3 the client's side of the handshake is done before the server has checked
 * the client certificate, and Node's server closes an unverified one without an alert), else the
 * error the client saw.
 */
function handshake(c: Client): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: c.caPem, cert: c.certPem, key: c.keyPem });
    let done = false;
    const finish = (v: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish('accepted'), 1500);
    socket.on('error', (e: Error & { code?: string }) => finish(`${e.code ?? ''} ${e.message}`));
    socket.on('close', () => finish('closed'));
    socket.resume();
  });
}

function clientOf(s: SecretObj, caPem = text(s, 'ca.crt')): Client {
  return { certPem: text(s, 'tls.crt'), keyPem: text(s, 'tls.key'), caPem };
}

/** Copies Secret kmip-tls to the server's files whenever it changes (the kubelet's job in a pod). */
async function syncServerFiles(): Promise<boolean> {
  const s = await getSecret(OPERATOR_NS, SERVER_TLS_SECRET);
  if (!s?.data?.['tls.crt'] || !s.data['tls.key'] || !s.data['ca.crt']) return false;
  for (const [key, file] of [['tls.crt', 'tls.crt'], ['tls.key', 'tls.key'], ['ca.crt', 'client-ca.crt']] as const) {
    const want = text(s, key);
    const have = await readFile(join(dir, file), 'utf8').catch(() => '');
    if (want !== have) await writeFile(join(dir, file), want, { mode: 0o600 });
  }
  return true;
}

test.before('control plane, CRDs, operator with a server configuration, KMIP server process', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(180_000, 'the control plane, the operator or the server did not start');
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp, USER);
  await createNamespaces(cp, [OPERATOR_NS, NS]);
  operator = await startOperator({
    kubeconfig: cp.kubeconfigPath,
    logger,
    namespace: OPERATOR_NS,
    leaderElection: false,
    probe: false,
    backoff: { baseMs: 50, maxMs: 2000 },
    controllers: {
      now: () => new Date(Date.now() + clockOffsetMs),
      caRotationOverlapMs: OVERLAP_MS,
      caRotationRecheckMs: 200,
      server: parseServerConfig('name: kmip\nimage: kube-kmip:test\ncertificate:\n  hostnames: [localhost]\n  ipAddresses: [127.0.0.1]\n'),
    },
  });

  dir = await mkdtemp(join(tmpdir(), 'kube-kmip-rotation-'));
  await waitFor('Secret kmip-tls', async () => ((await syncServerFiles()) ? true : undefined));
  syncLoop = (async () => {
    while (syncing) {
      await syncServerFiles().catch(() => undefined);
      await sleep(200);
    }
  })();

  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' };
  delete env['KMIP_KEK'];
  const main = fileURLToPath(new URL('../../kmip-server/main.ts', import.meta.url));
  const child = spawn(process.execPath, [
    main, 'serve', '--listen', '127.0.0.1:0',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--client-ca', join(dir, 'client-ca.crt'),
    '--tls-reload-interval-ms', '500',
    '--policy', 'kubernetes', '--all-namespaces', '--kubeconfig', cp.kubeconfigPath,
    '--store', 'sqlite', '--data-dir', join(dir, 'data'), '--kek-file', join(dir, 'kek'),
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (serverLog += d));
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start within 60 s:\n${serverLog}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening:\n${serverLog}`));
    });
  });

  await apply(`${GROUP}/namespaces/${NS}/kmipscopes/keys`, { apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipScope', metadata: { name: 'keys', namespace: NS }, spec: {} });
  await role('app');
});

test.after.always('stop everything', async () => {
  if (process.env['CA_ROTATION_SERVER_LOG']) await writeFile(process.env['CA_ROTATION_SERVER_LOG'], serverLog);
  syncing = false;
  await syncLoop;
  if (server && server.exitCode === null) {
    const exited = new Promise<void>((r) => server!.once('exit', () => r()));
    server.kill('SIGTERM');
    await exited;
  }
  await operator?.stop();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('a CA rotation: live clients keep working through the overlap and the switch; the old CA is refused once it completes', async (t) => {
  t.timeout(240_000);
  await credential('before');
  // A credential whose re-issue will be held up (its role goes away before the switch).
  await role('stuck');
  await credential('stuck', 'stuck');
  const stuckBefore = await waitFor('Secret stuck', async () => {
    const s = await getSecret(NS, 'stuck');
    return s?.data?.['tls.key'] ? text(s, 'tls.crt') : undefined;
  });
  const issued = await waitFor('Secret before', async () => {
    const s = await getSecret(NS, 'before');
    return s?.data?.['tls.key'] && (await credentialStatus('before')).serialNumber ? s : undefined;
  });
  const ca0 = await caSecret();
  const oldRoot = rootOf(text(ca0, 'tls.crt'));
  const oldChain = text(ca0, 'tls.crt');
  // The client as deployed before the rotation: its own files, ca.crt holding the old CA only.
  const before: Client = clientOf(issued);
  const oldSerial = canonicalSerialNumber(certs(before.certPem)[0]!.serialNumber);
  t.deepEqual(fingerprints(before.caPem), fingerprints(oldChain), 'before a rotation ca.crt is the one CA chain');
  t.is(await works(before, 'before'), true, 'the client works before the rotation');
  t.is(await handshake(before), 'accepted', 'a bare TLS connection stays open (the probe used after the rotation)');

  // ---- staged: a new CA, trusted by everyone, signing nothing yet --------------------------------
  const patch = await plane().request('PATCH', CA_PATH, { metadata: { annotations: { 'kubekmip.io/rotate': 'first' } } },
    { 'content-type': 'application/merge-patch+json' });
  t.is(patch.status, 200);
  const staged = await phase('staged');
  t.is(staged.metadata.annotations?.['kubekmip.io/ca-rotation-reason'], 'Requested');
  const nextChain = text(staged, 'next.crt');
  const newRoot = rootOf(nextChain);
  t.not(newRoot.fingerprint256, oldRoot.fingerprint256, 'a new root');
  t.deepEqual(fingerprints(text(staged, 'tls.crt')), fingerprints(oldChain), 'the old CA still signs');
  t.deepEqual(fingerprints(text(staged, 'bundle.crt')), [...fingerprints(oldChain), ...fingerprints(nextChain)]);

  const overlapSecret = await waitFor('ca.crt of the credential to carry both roots', async () => {
    const s = await getSecret(NS, 'before');
    const roots = fingerprints(text(s!, 'ca.crt'));
    return roots.includes(newRoot.fingerprint256) && roots.includes(oldRoot.fingerprint256) ? s : undefined;
  });
  t.is(text(overlapSecret, 'tls.crt'), before.certPem, 'no certificate is re-issued while the new CA is only staged');
  await waitFor('ca.crt of the server to carry both roots', async () => {
    const s = await getSecret(OPERATOR_NS, SERVER_TLS_SECRET);
    return fingerprints(text(s!, 'ca.crt')).includes(newRoot.fingerprint256) ? true : undefined;
  });
  // The pod picks up the new ca.crt (a mounted Secret is updated in place); its certificate is the old one.
  const live: Client = { ...before, caPem: text(overlapSecret, 'ca.crt') };
  t.is(await works(before, 'overlap-old-ca-file'), true, 'during the overlap a client that has not re-read ca.crt works');
  t.is(await works(live, 'overlap'), true, 'during the overlap the client with the new ca.crt works');

  // ---- switched: the new CA signs; certificates are re-issued; the old ones still work -------------
  await sleep(1000);
  t.is((await caSecret()).metadata.annotations?.['kubekmip.io/ca-rotation-phase'], 'staged', 'the overlap holds the switch back');
  const deleted = await plane().request('DELETE', `${GROUP}/namespaces/${NS}/kmiproles/stuck`);
  t.is(deleted.status, 200);
  await fastForward('staged-at');
  const switched = await phase('switched');
  t.deepEqual(fingerprints(text(switched, 'tls.crt')), fingerprints(nextChain), 'the staged CA signs now');
  t.deepEqual(fingerprints(text(switched, 'previous.crt')), fingerprints(oldChain), 'the old chain is kept as previous.crt');
  t.is(text(switched, 'ca.crt'), newRoot.toString(), 'ca.crt is the new root');
  t.true(fingerprints(text(switched, 'bundle.crt')).includes(oldRoot.fingerprint256), 'the old CA is still trusted');

  const reissued = await waitFor('the credential to be re-issued from the new CA', async () => {
    const s = await getSecret(NS, 'before');
    return s && text(s, 'tls.crt') !== before.certPem ? s : undefined;
  });
  const [leaf, intermediate] = certs(text(reissued, 'tls.crt'));
  t.true(leaf!.checkIssued(intermediate!) && leaf!.verify(intermediate!.publicKey), 'the re-issued leaf is signed by the new intermediate');
  t.true(intermediate!.checkIssued(newRoot) && intermediate!.verify(newRoot.publicKey), 'which chains to the new root');
  const status = await waitFor('status with both serials', async () => {
    const st = await credentialStatus('before');
    return st.serialNumber !== oldSerial && st.serialNumbers?.includes(oldSerial) ? st : undefined;
  });
  t.is(status.serialNumbers?.length, 2, 'the re-issued certificate and the one the old CA signed');
  t.deepEqual(status.certificateFingerprints, [fingerprintSha256(leaf!.raw), fingerprintSha256(certs(before.certPem)[0]!.raw)],
    'each bound to its certificate: the re-issued one and the one the old CA signed');

  // The server certificate comes from the new CA too (server controller), and the server reloads it.
  await waitFor('the server certificate from the new CA', async () => {
    const s = await getSecret(OPERATOR_NS, SERVER_TLS_SECRET);
    const [l, i] = certs(text(s!, 'tls.crt'));
    return l && i && l.checkIssued(i) && i.checkIssued(newRoot) ? true : undefined;
  });
  const after = clientOf(reissued);
  await waitFor('the re-issued credential to work', () => worksNow(after, 'reissued'));
  t.is(await works(live, 'switched'), true, 'after the switch the old certificate (ca.crt re-read during the overlap) still works');

  await credential('later');
  const later = await waitFor('Secret later', async () => {
    const s = await getSecret(NS, 'later');
    return s?.data?.['tls.key'] && (await credentialStatus('later')).serialNumber ? s : undefined;
  });
  const laterChain = certs(text(later, 'tls.crt'));
  t.true(laterChain[1]!.checkIssued(newRoot) && laterChain[1]!.verify(newRoot.publicKey), 'a credential issued after the switch chains to the new root');
  t.false(laterChain.some((c) => c.checkIssued(oldRoot) && c.verify(oldRoot.publicKey)), 'and not to the old one');
  t.true(fingerprints(text(later, 'ca.crt')).includes(oldRoot.fingerprint256), 'its ca.crt still trusts the old CA until the rotation completes');
  t.is(await waitFor('the new credential to work', () => worksNow(clientOf(later), 'later')), true);

  // ---- complete: the old CA leaves the bundle; its certificates are refused at the handshake -------
  await sleep(1000);
  t.is((await caSecret()).metadata.annotations?.['kubekmip.io/ca-rotation-phase'], 'switched', 'the overlap holds the old CA in the bundle');
  await fastForward('switched-at');
  // Not while a certificate the old CA signed is still in a credential's Secret.
  const waiting = await waitFor('an Event naming the credential not re-issued yet', async () => {
    const ev = await plane().request<{ items: { reason: string; note: string; regarding: { name: string } }[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${OPERATOR_NS}/events`);
    return ev.body.items.find((e) => e.reason === 'CARotationWaiting' && e.note.includes(`${NS}/stuck`));
  });
  t.regex(waiting.note, /1 certificate\(s\)/, waiting.note);
  t.is(text((await getSecret(NS, 'stuck'))!, 'tls.crt'), stuckBefore, 'its certificate is still the old CA\'s');
  await sleep(1000);
  t.is((await caSecret()).metadata.annotations?.['kubekmip.io/ca-rotation-phase'], 'switched', 'the old CA stays while it waits');
  await role('stuck');
  const complete = await phase('complete');
  t.not(text((await getSecret(NS, 'stuck'))!, 'tls.crt'), stuckBefore, 'completed once that credential was re-issued');
  t.false('previous.crt' in (complete.data ?? {}), 'previous.crt is gone');
  t.deepEqual(fingerprints(text(complete, 'bundle.crt')), fingerprints(nextChain), 'the bundle is the new chain alone');
  await waitFor('credential ca.crt without the old root', async () => {
    const s = await getSecret(NS, 'before');
    return fingerprints(text(s!, 'ca.crt')).includes(oldRoot.fingerprint256) ? undefined : true;
  });
  await waitFor('server ca.crt without the old root', async () => {
    const s = await getSecret(OPERATOR_NS, SERVER_TLS_SECRET);
    return fingerprints(text(s!, 'ca.crt')).includes(oldRoot.fingerprint256) ? undefined : true;
  });
  await waitFor('the old certificate to be refused', async () => ((await handshake(live)) === 'accepted' ? undefined : true), 15_000);
  // Refused by TLS for its issuer, not by the server's credential check: its serial is still
  // listed (the grace after re-issue), and the server logs a certificate that passes TLS but
  // belongs to no live credential ("connection refused: ..."), which it does not do here.
  t.true((await credentialStatus('before')).serialNumbers?.includes(oldSerial) ?? false, 'its serial is still listed');
  const mark = serverLog.length;
  for (let i = 0; i < 3; i++) t.is(await handshake(live), 'closed', 'the server closes the connection');
  t.not(await works(live, 'complete'), true, 'no KMIP request gets through');
  await sleep(500);
  t.false(serverLog.slice(mark).includes(oldSerial), 'the server never got as far as looking the certificate up');
  t.is(await works(after, 'complete-reissued'), true, 'the re-issued credential still works');
  t.is(await works(clientOf(later), 'complete-later'), true, 'the credential issued after the switch still works');

  // What a person sees on the CA Secret; never key material.
  const events = await plane().request<{ items: { reason: string; note: string; regarding: { name: string } }[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${OPERATOR_NS}/events`);
  const reasons = events.body.items.filter((e) => e.regarding.name === 'kube-kmip-ca').map((e) => e.reason);
  for (const r of ['CARotationStaged', 'CARotationSwitched', 'CARotationCompleted']) t.true(reasons.includes(r), `Event ${r}`);
  t.false(JSON.stringify(events.body).includes('PRIVATE KEY'));
  t.false(JSON.stringify(complete.metadata.annotations).includes('PRIVATE KEY'));
  t.false(serverLog.includes('PRIVATE KEY'));
});

test.serial('a CA with a third of its lifetime left starts a rotation by itself', async (t) => {
  const s = await caSecret();
  const intermediate = certs(text(s, 'tls.crt'))[0]!;
  const from = Date.parse(intermediate.validFrom);
  const to = Date.parse(intermediate.validTo);
  // Just past the point where a third of the intermediate's lifetime is left.
  clockOffsetMs = to - Math.floor((to - from) / 3) - Date.now() + 60_000;
  const staged = await phase('staged');
  t.is(staged.metadata.annotations?.['kubekmip.io/ca-rotation-reason'], 'Expiring');
  t.not(rootOf(text(staged, 'next.crt')).fingerprint256, rootOf(text(s, 'tls.crt')).fingerprint256);
});
