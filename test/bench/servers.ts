import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { issueServerCertificate, loadCertificateAuthority } from '../../operator/pki/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const HZ = 100;
/** CPU seconds (user + system, every thread) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / HZ; // utime, stime (fields 14, 15)
}

export interface BenchTarget {
  name: string;
  /** The server's process, for its CPU time (all threads) per operation. */
  pid: number;
  host: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
  /** TLS 1.2 cipher list the client must offer (PyKMIP's server has no TLS 1.3). */
  ciphers?: string;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** KMIP version to speak. */
  version: { major: number; minor: number };
  stop(): Promise<void>;
}

/** Stops a child and waits for it: SIGINT (pykmip-server only handles that), then SIGKILL after 3 s. */
function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGINT');
    });
}

/** Our dev server as a child process on a free port with a fresh data directory. */
export async function startDevServer(opts: { nodeArgs?: string[] } = {}): Promise<BenchTarget & { dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kmip-bench-'));
  const args = [...(opts.nodeArgs ?? []), join(ROOT, 'kmip-server/main.ts'), 'dev', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const m = /listening on [^ ]+:(\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`dev server exited with ${code}`)));
  });
  const cred = join(dataDir, 'credentials/default/admin');
  return {
    name: 'kube-kmip',
    host: '127.0.0.1',
    port,
    dataDir,
    pid: child.pid!,
    ca: await readFile(join(cred, 'ca.pem'), 'utf8'),
    cert: await readFile(join(cred, 'cert.pem'), 'utf8'),
    key: await readFile(join(cred, 'key.pem'), 'utf8'),
    version: { major: 1, minor: 4 },
    stop: stopper(child),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/**
 * PyKMIP's reference server (`pykmip-server` from Debian's python3-pykmip), with a server certificate
 * from the same dev CA so one client credential works against both servers.
 */
export async function startPykmipServer(devDataDir: string): Promise<BenchTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'pykmip-bench-'));
  const ca = loadCertificateAuthority({
    certificatePem: await readFile(join(devDataDir, 'pki/ca.pem'), 'utf8'),
    privateKeyPem: await readFile(join(devDataDir, 'pki/ca-key.pem'), 'utf8'),
  });
  const server = await issueServerCertificate(await ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'server.pem'), server.certificatePem);
  await writeFile(join(dir, 'server-key.pem'), server.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'policy.json'), '{}');
  const port = await freePort();
  await writeFile(
    join(dir, 'server.conf'),
    [
      '[server]',
      'hostname=127.0.0.1',
      `port=${port}`,
      `certificate_path=${join(dir, 'server.pem')}`,
      `key_path=${join(dir, 'server-key.pem')}`,
      `ca_path=${join(devDataDir, 'pki/ca.pem')}`,
      'auth_suite=TLS1.2',
      `policy_path=${dir}`,
      'enable_tls_client_auth=True',
      'logging_level=WARNING',
      `database_path=${join(dir, 'pykmip.db')}`,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/bin/pykmip-server', ['-f', join(dir, 'server.conf'), '-l', join(dir, 'server.log')], { stdio: 'ignore' });
  // Wait until it accepts TCP connections.
  const { connect } = await import('node:net');
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`pykmip-server did not start (see ${join(dir, 'server.log')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const cred = join(devDataDir, 'credentials/default/admin');
  return {
    name: 'PyKMIP',
    pid: child.pid!,
    host: '127.0.0.1',
    port,
    ca: await readFile(join(devDataDir, 'pki/ca.pem'), 'utf8'),
    cert: await readFile(join(cred, 'cert.pem'), 'utf8'),
    key: await readFile(join(cred, 'key.pem'), 'utf8'),
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
    maxVersion: 'TLSv1.2',
    // 1.4: the first version with Authenticated Encryption Tag, which PyKMIP needs for GCM Decrypt.
    version: { major: 1, minor: 4 },
    stop: stopper(child),
  };
}
