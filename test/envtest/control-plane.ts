/**
 * A real Kubernetes control plane for tests: etcd + kube-apiserver (+ optionally
 * kube-controller-manager), built from Go modules by ./build.sh and cached outside the repository.
 *
 *   const cp = await startControlPlane({ controllerManager: true });
 *   try { await cp.request('GET', '/api/v1/namespaces'); } finally { await cp.stop(); }
 *
 * Everything listens on free loopback ports; all state (etcd data, certificates, kubeconfig, logs)
 * lives in one temp dir that stop() removes. If the test process exits without stop(), an exit hook
 * kills the processes and removes the dir; if it dies hard (SIGKILL), a small reaper process does.
 *
 * Needs on PATH: bash, openssl, and (unless the binaries are cached or KUBEBUILDER_ASSETS is set) go
 * and flock.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';

/** The Kubernetes release build.sh builds unless ENVTEST_K8S_VERSION says otherwise. */
export const DEFAULT_K8S_VERSION = 'v1.36.3';
/** The etcd release build.sh builds unless ENVTEST_ETCD_VERSION says otherwise. */
export const DEFAULT_ETCD_VERSION = 'v3.6.16';

const BUILD_SCRIPT = fileURLToPath(new URL('./build.sh', import.meta.url));
const ADMIN_USER = 'kube-kmip-envtest-admin';
const SERVICE_CIDR = '10.0.0.0/24';
/** Controllers that only act with a cloud provider (kube-controller-manager skips them anyway, noisily). */
const CLOUD_CONTROLLERS = ['service-lb-controller', 'cloud-node-lifecycle-controller', 'node-route-controller'];

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (garbage collection, namespace deletion, workloads). Default false. */
  controllerManager?: boolean;
  /** How long to wait for each component to become healthy/ready. Default 120 s. */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=Foo=true']; they come last and so win. */
  apiServerFlags?: string[];
  /** Extra kube-controller-manager flags. */
  controllerManagerFlags?: string[];
  /** Progress lines (default: stderr when ENVTEST_VERBOSE is set, else nothing). */
  log?: (line: string) => void;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the response was JSON, else the raw text. */
  body: T;
}

export interface ControlPlane {
  /** kubeconfig for the admin identity (client certificate and bearer token, both in system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of the admin identity (via --token-auth-file). */
  token: string;
  /** PEM client certificate/key of the admin identity (CN=kube-kmip-envtest-admin, O=system:masters). */
  clientCertPem: string;
  clientKeyPem: string;
  /** PEM of the CA that signed the apiserver's serving certificate (and the client certificate). */
  caPem: string;
  /** http://127.0.0.1:<port> of etcd. */
  etcdUrl: string;
  /** Directory holding the three binaries. */
  binDir: string;
  /** gitVersion reported by the apiserver's /version. */
  version: string;
  /** The temp dir with all state and the components' logs (`<name>.log`); gone after stop(). */
  dir: string;
  /** Whether kube-controller-manager runs. */
  controllerManager: boolean;
  /** Wall time startControlPlane took, in ms (binaries already built). */
  startupMs: number;
  /** An authenticated request to the apiserver as the admin; JSON bodies are serialised. */
  request<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** The last `lines` lines of a component's log ('etcd', 'kube-apiserver', 'kube-controller-manager'). */
  logTail(component: string, lines?: number): string;
  /** Stops every process and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Binaries

let binariesPromise: Promise<string> | undefined;

/**
 * Runs build.sh (once per process) and resolves to the directory with etcd, kube-apiserver and
 * kube-controller-manager. Rejects, with build.sh's exit status, when they cannot be built. A cold
 * build takes tens of minutes on 2 cores: give the calling hook/test a long t.timeout().
 */
export function ensureBinaries(): Promise<string> {
  binariesPromise ??= new Promise<string>((resolve, reject) => {
    const env = {
      ...process.env,
      ENVTEST_K8S_VERSION: process.env['ENVTEST_K8S_VERSION'] ?? DEFAULT_K8S_VERSION,
      ENVTEST_ETCD_VERSION: process.env['ENVTEST_ETCD_VERSION'] ?? DEFAULT_ETCD_VERSION,
    };
    const child = spawn('bash', [BUILD_SCRIPT], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', (err) => reject(new Error(`envtest: cannot run ${BUILD_SCRIPT}: ${err.message}`)));
    child.on('close', (code, signal) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir && existsSync(join(dir, 'kube-apiserver'))) resolve(dir);
      else reject(new Error(`envtest: ${BUILD_SCRIPT} failed (${signal ?? `exit ${code}`}); the control-plane binaries could not be built, see its stderr above`));
    });
  });
  // A failed build is not cached: a later call tries again.
  binariesPromise.catch(() => (binariesPromise = undefined));
  return binariesPromise;
}

/** The Kubernetes version that will be built/used (what /version should report). */
export function expectedKubernetesVersion(): string | undefined {
  if (process.env['KUBEBUILDER_ASSETS']) return undefined;
  return process.env['ENVTEST_K8S_VERSION'] ?? DEFAULT_K8S_VERSION;
}

// ------------------------------------------------------------------------------------------------
// Cleanup on exit

interface Running {
  dir: string;
  procs: ChildProcess[];
  reaper: ChildProcess | undefined;
}
const running = new Set<Running>();
let exitHookInstalled = false;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const r of running) {
      for (const p of r.procs) killGroup(p.pid, 'SIGKILL');
      killGroup(r.reaper?.pid, 'SIGKILL');
      try {
        rmSync(r.dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

// Runs detached; when the test process is gone (even by SIGKILL) it kills the components' process
// groups and removes the temp dir. It exits on its own once stop() has removed the dir.
const REAPER = `
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
if [ -f "$dir/pids" ]; then
  while read -r p; do kill -TERM -- "-$p" 2>/dev/null; done < "$dir/pids"
  sleep 3
  while read -r p; do kill -KILL -- "-$p" 2>/dev/null; done < "$dir/pids"
fi
rm -rf "$dir"
`;

function startReaper(dir: string): ChildProcess {
  const reaper = spawn('bash', ['-c', REAPER, 'kube-kmip-envtest-reaper', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.unref();
  return reaper;
}

// ------------------------------------------------------------------------------------------------
// Helpers

/** Distinct free loopback TCP ports (held open together so they differ, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`envtest: openssl is needed to make test certificates: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`envtest: openssl ${args.join(' ')} failed: ${r.stderr}`);
}

interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  clientCert: string;
  clientKey: string;
  saKey: string;
  saPub: string;
}

/** A CA, the apiserver's serving cert, the admin client cert and the service-account key pair. */
function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '7',
    '-subj', '/CN=kube-kmip-envtest-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  // OpenSSL 3: `req -x509 -CA` issues a certificate signed by that CA in one step.
  openssl(['req', '-x509', ...ec, '-keyout', p('apiserver.key'), '-out', p('apiserver.crt'), '-days', '7',
    '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-subj', '/CN=kube-apiserver',
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext', 'extendedKeyUsage=serverAuth',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local']);
  openssl(['req', '-x509', ...ec, '-keyout', p('admin.key'), '-out', p('admin.crt'), '-days', '7',
    '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-subj', `/O=system:masters/CN=${ADMIN_USER}`,
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=clientAuth']);
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(p('sa.key'), sa.privateKey, { mode: 0o600 });
  writeFileSync(p('sa.pub'), sa.publicKey);
  return {
    caCert: p('ca.crt'), caKey: p('ca.key'),
    servingCert: p('apiserver.crt'), servingKey: p('apiserver.key'),
    clientCert: p('admin.crt'), clientKey: p('admin.key'),
    saKey: p('sa.key'), saPub: p('sa.pub'),
  };
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

interface Probe {
  status: number;
  text: string;
}

function probe(url: string, opts: https.RequestOptions): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { ...opts, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

class ComponentError extends Error {}

/** Polls `url` until it answers 200 (and `ok(text)`), the process exits, or the time runs out. */
async function waitHealthy(
  name: string, proc: ChildProcess, logPath: string, url: string, opts: https.RequestOptions,
  timeoutMs: number, ok: (text: string) => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new ComponentError(`envtest: ${name} exited (${proc.signalCode ?? `code ${proc.exitCode}`}) before it was ready; last log lines:\n${tail(logPath, 30)}`);
    }
    try {
      const r = await probe(url, opts);
      if (r.status === 200 && ok(r.text)) return;
      last = `HTTP ${r.status}: ${r.text.slice(0, 2000)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new ComponentError(`envtest: ${name} not ready after ${timeoutMs} ms (${url}: ${last}); last log lines:\n${tail(logPath, 30)}`);
}

function launch(r: Running, name: string, bin: string, args: string[]): { proc: ChildProcess; logPath: string } {
  const logPath = join(r.dir, `${name}.log`);
  const fd = openSync(logPath, 'a');
  let proc: ChildProcess;
  try {
    // Own process group, so stop() and the reaper can kill it with everything it spawned.
    proc = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  proc.on('error', () => {}); // spawn failures show up as an exit before ready
  proc.unref();
  r.procs.push(proc);
  if (proc.pid !== undefined) appendFileSync(join(r.dir, 'pids'), `${proc.pid}\n`);
  return { proc, logPath };
}

async function terminate(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  // The children are unref'd (a forgotten stop() must not hang the test process); while we wait
  // for this one to exit, it has to keep the event loop alive.
  proc.ref();
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  killGroup(proc.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), graceMs)));
  try {
    if ((await Promise.race([exited, timedOut])) === 'timeout') {
      killGroup(proc.pid, 'SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    }
  } finally {
    clearTimeout(timer);
  }
}

function jsonRequest<T>(
  server: string, ca: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = https.request(new URL(path, server), {
      method,
      ca,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        ...headers,
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
        let parsed: unknown = text;
        if ((res.headers['content-type'] ?? '').includes('json') && text) {
          try {
            parsed = JSON.parse(text);
          } catch {
            /* keep text */
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// ------------------------------------------------------------------------------------------------
// Start

/** Starts etcd and kube-apiserver (and kube-controller-manager when asked); resolves once ready. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = await ensureBinaries();
  // A free port can be taken between probing and binding: retry on "address already in use".
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, opts);
    } catch (err) {
      if (attempt < 3 && err instanceof ComponentError && /address already in use/i.test(err.message)) continue;
      throw err;
    }
  }
}

async function startOnce(binDir: string, opts: ControlPlaneOptions): Promise<ControlPlane> {
  const t0 = Date.now();
  const log = opts.log ?? (process.env['ENVTEST_VERBOSE'] ? (l: string) => process.stderr.write(`[envtest] ${l}\n`) : () => {});
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const withKcm = opts.controllerManager ?? false;
  const dir = mkdtempSync(join(tmpdir(), 'kube-kmip-envtest-'));
  const r: Running = { dir, procs: [], reaper: undefined };
  installExitHook();
  running.add(r);
  r.reaper = startReaper(dir);

  const stop = async (): Promise<void> => {
    if (!running.has(r)) return;
    // Reverse start order: controller manager, apiserver, then etcd.
    for (const p of [...r.procs].reverse()) await terminate(p, 10_000);
    running.delete(r);
    rmSync(dir, { recursive: true, force: true });
    killGroup(r.reaper?.pid, 'SIGKILL');
  };

  try {
    const pki = makePki(join(dir, 'pki'));
    const token = randomBytes(24).toString('hex');
    const tokenFile = join(dir, 'pki', 'tokens.csv');
    writeFileSync(tokenFile, `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });
    const [etcdPort, peerPort, apiPort, kcmPort] = (await freePorts(4)) as [number, number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    const caPem = readFileSync(pki.caCert, 'utf8');
    const clientCertPem = readFileSync(pki.clientCert, 'utf8');
    const clientKeyPem = readFileSync(pki.clientKey, 'utf8');

    // etcd
    const etcd = launch(r, 'etcd', join(binDir, 'etcd'), [
      '--name=default',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitHealthy('etcd', etcd.proc, etcd.logPath, `${etcdUrl}/health`, {}, timeout, (t) => t.includes('"health":"true"'));
    log(`etcd ready at ${etcdUrl} after ${Date.now() - t0} ms`);

    // kube-apiserver
    const api = launch(r, 'kube-apiserver', join(binDir, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${tokenFile}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      '--authorization-mode=RBAC',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--profiling=false',
      ...(opts.apiServerFlags ?? []),
    ]);
    const auth = { ca: caPem, headers: { authorization: `Bearer ${token}` } };
    await waitHealthy('kube-apiserver', api.proc, api.logPath, `${server}/readyz`, auth, timeout);
    log(`kube-apiserver ready at ${server} after ${Date.now() - t0} ms`);

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'envtest', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{
        name: ADMIN_USER,
        user: {
          'client-certificate-data': Buffer.from(clientCertPem).toString('base64'),
          'client-key-data': Buffer.from(clientKeyPem).toString('base64'),
          token,
        },
      }],
      contexts: [{ name: 'envtest', context: { cluster: 'envtest', user: ADMIN_USER } }],
      'current-context': 'envtest',
      preferences: {},
    }), { mode: 0o600 });

    // kube-controller-manager
    if (withKcm) {
      const kcm = launch(r, 'kube-controller-manager', join(binDir, 'kube-controller-manager'), [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        // The apiserver has no --requestheader-client-ca-file: without this, kube-controller-manager
        // keeps logging that extension-apiserver-authentication lacks that CA bundle.
        '--authentication-skip-lookup=true',
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(dir, 'kcm-certs')}`,
        '--leader-elect=false',
        `--controllers=*,${CLOUD_CONTROLLERS.map((c) => `-${c}`).join(',')}`,
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--cluster-name=kube-kmip-envtest',
        '--profiling=false',
        ...(opts.controllerManagerFlags ?? []),
      ]);
      // Its serving cert is self-signed in --cert-dir; /healthz is always allowed without auth.
      await waitHealthy('kube-controller-manager', kcm.proc, kcm.logPath, `https://127.0.0.1:${kcmPort}/healthz`,
        { rejectUnauthorized: false }, timeout);
      log(`kube-controller-manager healthy after ${Date.now() - t0} ms`);
    }

    const request = <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      jsonRequest<T>(server, caPem, token, method, path, body, headers);
    const v = await request<{ gitVersion?: string }>('GET', '/version');
    const version = v.body.gitVersion ?? '';

    return {
      kubeconfigPath, server, token, clientCertPem, clientKeyPem, caPem, etcdUrl, binDir, version, dir,
      controllerManager: withKcm,
      startupMs: Date.now() - t0,
      request,
      logTail: (component, lines = 50) => tail(join(dir, `${component}.log`), lines),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
