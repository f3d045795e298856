#!/usr/bin/env node
/**
 * `npm run dev:cluster`: kube-kmip the way it runs in a cluster, on this machine, with no cluster.
 *
 *   - the envtest control plane (etcd, kube-apiserver, kube-controller-manager; ./control-plane.ts,
 *     binaries built once and cached outside the clone, so later runs start in seconds);
 *   - the CRDs from crds/;
 *   - the operator, in this process (its log: <dir>/operator.log), which creates the CA Secret
 *     kube-kmip/kube-kmip-ca and issues client certificates into Secrets;
 *   - the KMIP server as a child process (its log: <dir>/kmip-server.log):
 *       kmip-server serve --policy kubernetes --all-namespaces --store sqlite
 *     with a server certificate for localhost/127.0.0.1 issued from the operator's CA, trusting
 *     the CA Secret's tls.crt (intermediate + root) for client certificates.
 *
 * It writes <dir>/kubeconfig and <dir>/kmip-endpoint (host:port), default dir .kmip-dev/cluster/.
 * The cluster is ephemeral (etcd lives in a temp dir), so <dir> is emptied on every start: the
 * previous run's keys belong to scopes that no longer exist. Ctrl-C (SIGINT/SIGTERM) stops
 * everything.
 *
 * Helpers that need no kubectl, against a running dev cluster:
 *   npm run dev:cluster -- apply examples/pykmip/pykmip.yaml   (server-side apply of YAML files)
 *   npm run dev:cluster -- secret pykmip-client OUT   (tls.crt, tls.key, ca.crt, pykmip.conf)
 *
 * Programmatically: `const c = await startDevCluster({ dir }); ... await c.stop();`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CRD_DIR } from '../../operator/api/generate.ts';
import { KINDS } from '../../operator/api/index.ts';
import { API_GROUP_VERSION } from '../../operator/api/common.ts';
import { DEFAULT_CA_SECRET } from '../../operator/controllers/ca.ts';
import { startOperator } from '../../operator/main.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { issueServerCertificate, loadCertificateAuthority } from '../../operator/pki/index.ts';
import { startControlPlane, type ApiResponse, type ControlPlane } from './control-plane.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_MAIN = join(ROOT, 'kmip-server', 'main.ts');
export const DEFAULT_DIR = '.kmip-dev/cluster';
export const OPERATOR_NAMESPACE = 'kube-kmip';
const FIELD_MANAGER = 'kube-kmip-dev-cluster';

export interface DevClusterOptions {
  /** Where the kubeconfig, endpoint, server certificate, SQLite store and logs go. Default .kmip-dev/cluster. */
  dir?: string;
  /** KMIP listen address. Default 127.0.0.1, port 0 (a free one; see kmip-endpoint). */
  host?: string;
  port?: number;
  /** pino level of the operator's log file and the server's (default info). */
  logLevel?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface CaSecret {
  /** Intermediate then root: what the KMIP server trusts for client certificates. */
  tlsCrt: string;
  /** The intermediate's key. */
  tlsKey: string;
  /** The root. */
  caCrt: string;
}

export interface DevCluster {
  dir: string;
  kubeconfigPath: string;
  endpointPath: string;
  host: string;
  port: number;
  controlPlane: ControlPlane;
  operator: Manager;
  ca: CaSecret;
  operatorLogPath: string;
  serverLogPath: string;
  /** Admin request to the apiserver. */
  request: ControlPlane['request'];
  /** Server-side applies the documents of a YAML text (namespace default: `default`). */
  apply(yamlText: string, namespace?: string): Promise<string[]>;
  stop(): Promise<void>;
}

type Request = <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;


// ------------------------------------------------------------------------------------------------
// Applying manifests

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/** REST path of a kind this helper knows (the kube-kmip kinds and a few core ones). */
function resourcePath(doc: Manifest, defaultNamespace: string): string {
  const name = doc.metadata?.name;
  if (!doc.kind || !doc.apiVersion || !name) throw new Error(`manifest without apiVersion, kind or metadata.name: ${JSON.stringify(doc).slice(0, 200)}`);
  const ns = doc.metadata?.namespace ?? defaultNamespace;
  if (doc.apiVersion === API_GROUP_VERSION) {
    const k = KINDS.find((x) => x.kind === doc.kind);
    if (!k) throw new Error(`unknown kube-kmip kind ${doc.kind}`);
    return `/apis/${API_GROUP_VERSION}/namespaces/${ns}/${k.plural}/${encodeURIComponent(name)}`;
  }
  if (doc.apiVersion === 'v1') {
    if (doc.kind === 'Namespace') return `/api/v1/namespaces/${encodeURIComponent(name)}`;
    const plural = { Secret: 'secrets', ConfigMap: 'configmaps', ServiceAccount: 'serviceaccounts' }[doc.kind];
    if (plural) return `/api/v1/namespaces/${ns}/${plural}/${encodeURIComponent(name)}`;
  }
  throw new Error(`dev-cluster apply handles kube-kmip kinds, Namespace, Secret, ConfigMap and ServiceAccount, not ${doc.apiVersion} ${doc.kind} (use kubectl)`);
}

/** Server-side apply of every document of `yamlText`; returns "kind/name" of each. */
export async function applyYaml(request: Request, yamlText: string, defaultNamespace = 'default'): Promise<string[]> {
  const done: string[] = [];
  for (const d of parseAllDocuments(yamlText)) {
    if (d.errors.length > 0) throw new Error(`YAML: ${d.errors[0]!.message}`);
    const doc = d.toJS() as Manifest | null;
    if (!doc) continue;
    const path = resourcePath(doc, defaultNamespace);
    const res = await request('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, JSON.stringify(doc),
      { 'content-type': 'application/apply-patch+yaml' });
    if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${doc.kind} ${doc.metadata?.name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    done.push(`${doc.kind?.toLowerCase()}/${doc.metadata?.name}`);
  }
  return done;
}

/** The YAML files of a file or directory (not recursive), in name order. */
function yamlFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(path, f));
}

// ------------------------------------------------------------------------------------------------
// Start

function b64(s: string | undefined): string {
  return Buffer.from(s ?? '', 'base64').toString('utf8');
}

/** Starts the whole thing; resolves once the KMIP server listens. */
export async function startDevCluster(opts: DevClusterOptions = {}): Promise<DevCluster> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const dir = resolve(opts.dir ?? DEFAULT_DIR);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const kubeconfigPath = join(dir, 'kubeconfig');
  const endpointPath = join(dir, 'kmip-endpoint');
  const operatorLogPath = join(dir, 'operator.log');
  const serverLogPath = join(dir, 'kmip-server.log');
  const level = opts.logLevel ?? 'info';

  let cp: ControlPlane | undefined;
  let operator: Manager | undefined;
  let server: ChildProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise<void>((r) => server!.once('exit', () => r()));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await operator?.stop().catch(() => undefined);
    await cp?.stop();
    // The cluster is gone: a kubeconfig or endpoint left behind would point at nothing.
    rmSync(kubeconfigPath, { force: true });
    rmSync(endpointPath, { force: true });
  };

  try {
    log('starting the control plane (etcd, kube-apiserver, kube-controller-manager)...');
    cp = await startControlPlane({ controllerManager: true });
    log(`control plane ${cp.version} at ${cp.server} (${cp.startupMs} ms)`);
    writeFileSync(kubeconfigPath, readFileSync(cp.kubeconfigPath), { mode: 0o600 });
    const request = cp.request;

    for (const file of yamlFiles(CRD_DIR)) {
      const name = parseYaml(readFileSync(file, 'utf8'))?.metadata?.name as string;
      const res = await request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=${FIELD_MANAGER}&force=true`,
        readFileSync(file, 'utf8'), { 'content-type': 'application/apply-patch+yaml' });
      if (res.status !== 200 && res.status !== 201) throw new Error(`applying CRD ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    }
    for (const k of KINDS) {
      await waitFor(`${k.plural} to be served`, async () => ((await request('GET', `/apis/${API_GROUP_VERSION}/${k.plural}`)).status === 200 ? true : undefined), 30_000);
    }
    const ns = await request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } });
    if (ns.status !== 201 && ns.status !== 409) throw new Error(`creating namespace ${OPERATOR_NAMESPACE}: HTTP ${ns.status}`);
    log(`CRDs applied from ${relative(process.cwd(), CRD_DIR) || CRD_DIR}`);

    operator = await startOperator({
      kubeconfig: kubeconfigPath,
      logger: pino({ level, base: { component: 'kmip-operator' } }, pino.destination({ dest: operatorLogPath, sync: false })),
      namespace: OPERATOR_NAMESPACE,
      leaderElection: false,
      probe: false,
    });
    const secret = await waitFor(`the CA Secret ${OPERATOR_NAMESPACE}/${DEFAULT_CA_SECRET}`, async () => {
      const r = await request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets/${DEFAULT_CA_SECRET}`);
      return r.status === 200 && r.body.data?.['tls.crt'] && r.body.data['tls.key'] ? r.body.data : undefined;
    }, 30_000);
    const ca: CaSecret = { tlsCrt: b64(secret['tls.crt']), tlsKey: b64(secret['tls.key']), caCrt: b64(secret['ca.crt']) };
    log(`operator running; CA Secret ${OPERATOR_NAMESPACE}/${DEFAULT_CA_SECRET} ready`);

    // The server certificate, from the intermediate in the CA Secret; the server presents it with
    // the intermediate (and root), clients trust ca.crt of their credential Secret.
    const intermediate = await loadCertificateAuthority({ certificatePem: ca.tlsCrt, privateKeyPem: ca.tlsKey, chainPem: ca.tlsCrt });
    const host = opts.host ?? '127.0.0.1';
    const serverCert = await issueServerCertificate(intermediate, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const tlsDir = join(dir, 'tls');
    mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
    const p = (f: string) => join(tlsDir, f);
    writeFileSync(p('server.crt'), `${serverCert.certificatePem.trimEnd()}\n${serverCert.chainPem.trimEnd()}\n`);
    writeFileSync(p('server.key'), serverCert.privateKeyPem, { mode: 0o600 });
    writeFileSync(p('client-ca.crt'), ca.tlsCrt);
    writeFileSync(p('ca.crt'), ca.caCrt);

    const args = [
      SERVER_MAIN, 'serve',
      '--policy', 'kubernetes', '--all-namespaces',
      '--store', 'sqlite', '--data-dir', join(dir, 'data'),
      '--kubeconfig', kubeconfigPath,
      '--listen', `${host}:${opts.port ?? 0}`,
      '--tls-cert', p('server.crt'), '--tls-key', p('server.key'), '--client-ca', p('client-ca.crt'),
      '--log-level', level,
    ];
    const errFd = openSync(serverLogPath, 'a', 0o600);
    try {
      // The KEK is the data dir's own file, not one from the environment.
      const env = { ...process.env };
      delete env['KMIP_KEK'];
      server = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', errFd], env });
    } finally {
      closeSync(errFd);
    }
    server.on('error', () => {});
    const s = server;
    const port = await new Promise<number>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`dev-cluster: the KMIP server did not start within 60 s; see ${serverLogPath}`)), 60_000);
      s.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /kmip-server listening on (\S+):(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          res(Number(m[2]));
        }
      });
      s.once('exit', (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`dev-cluster: the KMIP server exited (${signal ?? `code ${code}`}) before listening; last log lines:\n${tailFile(serverLogPath, 20)}`));
      });
    });
    s.stdout!.resume();
    writeFileSync(endpointPath, `${host}:${port}\n`);
    log(`KMIP server listening on ${host}:${port} (${Date.now() - t0} ms in all)`);

    return {
      dir, kubeconfigPath, endpointPath, host, port, controlPlane: cp, operator, ca, operatorLogPath, serverLogPath,
      request,
      apply: (yamlText, namespace) => applyYaml(request, yamlText, namespace),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function tailFile(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

// ------------------------------------------------------------------------------------------------
// Talking to a running dev cluster through its kubeconfig (for the CLI helpers)

interface KubeconfigFile {
  clusters?: { cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users?: { user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}

export function kubeconfigRequest(path: string): Request {
  if (!existsSync(path)) throw new Error(`${path} does not exist: is \`npm run dev:cluster\` running?`);
  const kc = parseYaml(readFileSync(path, 'utf8')) as KubeconfigFile;
  const cluster = kc.clusters?.[0]?.cluster;
  const user = kc.users?.[0]?.user;
  if (!cluster) throw new Error(`${path}: no cluster`);
  const ca = b64(cluster['certificate-authority-data']);
  const cert = user?.['client-certificate-data'] ? b64(user['client-certificate-data']) : undefined;
  const key = user?.['client-key-data'] ? b64(user['client-key-data']) : undefined;
  return <T>(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => new Promise<ApiResponse<T>>((res, rej) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = https.request(new URL(p, cluster.server), {
      method, ca, ...(cert && key ? { cert, key } : {}),
      headers: {
        accept: 'application/json',
        ...(user?.token ? { authorization: `Bearer ${user.token}` } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        ...headers,
      },
    }, (r) => {
      let text = '';
      r.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* keep text */
        }
        res({ status: r.statusCode ?? 0, headers: r.headers, body: parsed as T });
      });
    });
    req.on('error', rej);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A PyKMIP [client] section for a credential written by `secret` (paths absolute). */
export function pykmipConf(dir: string, host: string, port: number): string {
  return [
    '[client]', `host=${host}`, `port=${port}`,
    `certfile=${join(dir, 'tls.crt')}`, `keyfile=${join(dir, 'tls.key')}`, `ca_certs=${join(dir, 'ca.crt')}`,
    'cert_reqs=CERT_REQUIRED', 'ssl_version=PROTOCOL_SSLv23', 'do_handshake_on_connect=True', 'suppress_ragged_eofs=True', '',
  ].join('\n');
}

/** Writes a credential Secret's tls.crt, tls.key, ca.crt (and pykmip.conf when the endpoint is known) into `out`. */
export async function writeSecretFiles(request: Request, name: string, namespace: string, out: string, endpoint?: { host: string; port: number }): Promise<string[]> {
  const r = await request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/${encodeURIComponent(name)}`);
  if (r.status !== 200) throw new Error(`Secret ${namespace}/${name}: HTTP ${r.status} (has the operator issued it yet?)`);
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const key of ['tls.crt', 'tls.key', 'ca.crt']) {
    const v = r.body.data?.[key];
    if (v === undefined) continue;
    writeFileSync(join(dir, key), Buffer.from(v, 'base64'), { mode: key === 'tls.key' ? 0o600 : 0o644 });
    written.push(join(dir, key));
  }
  if (endpoint) {
    writeFileSync(join(dir, 'pykmip.conf'), pykmipConf(dir, endpoint.host, endpoint.port));
    written.push(join(dir, 'pykmip.conf'));
  }
  return written;
}

// ------------------------------------------------------------------------------------------------
// CLI

const USAGE = `Usage: node test/envtest/dev-cluster.ts [start] [--dir D] [--port P] [--log-level L]
       node test/envtest/dev-cluster.ts apply FILE|DIR... [--namespace NS] [--dir D]
       node test/envtest/dev-cluster.ts secret NAME [OUT_DIR] [--namespace NS] [--dir D]
`;

function instructions(c: DevCluster): string {
  const rel = (f: string) => {
    const r = relative(process.cwd(), f);
    return r && !r.startsWith('..') ? r : f;
  };
  const kc = rel(c.kubeconfigPath);
  const dirFlag = resolve(DEFAULT_DIR) === c.dir ? '' : ` --dir ${rel(c.dir)}`;
  const self = `npm run dev:cluster --`;
  const out = `${rel(c.dir)}/pykmip-client`;
  return `
kube-kmip dev cluster is up.
  kubeconfig      ${kc}
  KMIP endpoint   ${c.host}:${c.port}   (also in ${rel(c.endpointPath)})
  logs            ${rel(c.operatorLogPath)}, ${rel(c.serverLogPath)}

Create a KMIP client (a KmipScope, a KmipRole and a KmipClientCredential):
  kubectl --kubeconfig ${kc} apply -f examples/pykmip/pykmip.yaml
  # or, without kubectl:
  ${self} apply examples/pykmip/pykmip.yaml${dirFlag}

Wait for its Secret and read it:
  kubectl --kubeconfig ${kc} get secret pykmip-client -o jsonpath='{.data.tls\\.crt}' | base64 -d > tls.crt
  kubectl --kubeconfig ${kc} get secret pykmip-client -o jsonpath='{.data.tls\\.key}' | base64 -d > tls.key
  kubectl --kubeconfig ${kc} get secret pykmip-client -o jsonpath='{.data.ca\\.crt}' | base64 -d > ca.crt
  # or, without kubectl (also writes a pykmip.conf for this endpoint):
  ${self} secret pykmip-client ${out}${dirFlag}
  /usr/bin/python3 -c "from kmip import enums; from kmip.pie.client import ProxyKmipClient as C; c = C(config_file='${out}/pykmip.conf'); c.open(); print(c.create(enums.CryptographicAlgorithm.AES, 256))"

Ctrl-C stops everything.
`;
}

async function main(argv: string[]): Promise<void> {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return;
    }
    if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) throw new Error(`${a} needs a value`);
      flags[k] = v;
    } else positional.push(a);
  }
  const dir = resolve(flags['dir'] ?? DEFAULT_DIR);
  const namespace = flags['namespace'] ?? 'default';
  const command = positional.shift() ?? 'start';

  if (command === 'apply') {
    if (positional.length === 0) throw new Error('apply needs FILE or DIR');
    const request = kubeconfigRequest(join(dir, 'kubeconfig'));
    for (const p of positional) {
      for (const f of yamlFiles(p)) {
        for (const what of await applyYaml(request, readFileSync(f, 'utf8'), namespace)) process.stdout.write(`${what} applied (${f})\n`);
      }
    }
    return;
  }
  if (command === 'secret') {
    const name = positional[0];
    if (!name) throw new Error('secret needs the Secret name');
    const request = kubeconfigRequest(join(dir, 'kubeconfig'));
    const endpointText = existsSync(join(dir, 'kmip-endpoint')) ? readFileSync(join(dir, 'kmip-endpoint'), 'utf8').trim() : '';
    const m = /^(.*):(\d+)$/.exec(endpointText);
    const files = await writeSecretFiles(request, name, namespace, positional[1] ?? join(dir, name), m ? { host: m[1]!, port: Number(m[2]) } : undefined);
    for (const f of files) process.stdout.write(`${relative(process.cwd(), f) || f}\n`);
    return;
  }
  if (command !== 'start') throw new Error(`unknown command "${command}"\n\n${USAGE}`);

  const port = flags['port'] !== undefined ? Number(flags['port']) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0-65535');
  const cluster = await startDevCluster({
    dir, port, ...(flags['log-level'] ? { logLevel: flags['log-level'] } : {}),
    log: (l) => process.stderr.write(`[dev-cluster] ${l}\n`),
  });
  process.stdout.write(instructions(cluster));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[dev-cluster] ${signal}: stopping the KMIP server, the operator and the control plane...\n`);
    setTimeout(() => process.exit(1), 30_000).unref();
    cluster.stop().then(() => process.exit(0), (err: Error) => {
      process.stderr.write(`[dev-cluster] stop failed: ${err.message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`dev-cluster: ${err.message}\n`);
    process.exit(1);
  });
}
