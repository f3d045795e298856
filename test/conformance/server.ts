/**
 * Starts a fresh development server for a conformance run: `node kmip-server/main.ts dev --port 0 --data-dir
 * <fresh temp dir>`, waits for its "listening on HOST:PORT" line, and reads the admin credentials it writes.
 * The admin credential declares the header credentials the vectors send (HEADER_CREDENTIALS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { hashPassword } from '../../kmip-server/auth/password-hash.ts';
import type { Target } from './runner.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface DevServer {
  target: Target;
  dataDir: string;
  /** The last lines the server wrote on stderr (its JSON log), for a report when something breaks. */
  logTail(): string;
  stop(): Promise<void>;
}

const LISTENING = /listening on (\[[0-9a-fA-F:]+\]|[^\s:;]+):(\d+)/;
const HTTP_LISTENING = /HTTPS POST \/kmip on (\[[0-9a-fA-F:]+\]|[^\s:;]+):(\d+)/;

/**
 * The users and devices TC_111 (Username and Password) and TC_112 (Device) name in their request headers, as
 * spec.headerCredentials of the admin credential: both identities of each vector are valid, and the second
 * one is refused the first one's key because it owns it. Vectors sending no credential are unaffected.
 */
const HEADER_CREDENTIALS: Array<{ username: string; password: string } | { device: Record<string, string>; password: string }> = [
  { username: 'Fred', password: 'password1' },
  { username: 'Barney', password: 'secret2' },
  {
    device: { serialNumber: 'serNum123456', deviceIdentifier: 'devID2233', networkIdentifier: 'netID9000', machineIdentifier: 'machineID1', mediaIdentifier: 'mediaID313' },
    password: 'secret',
  },
  {
    device: { serialNumber: 'serNum101010', deviceIdentifier: 'devID4444', networkIdentifier: 'netID9', machineIdentifier: 'machineID1111', mediaIdentifier: 'mediaID0000' },
    password: 'passwd',
  },
];

/** D/manifests/dev.yaml holding only the admin credential's header credentials; dev mode completes it. */
async function writeHeaderCredentials(dataDir: string): Promise<void> {
  // Test passwords: the cheapest cost the server accepts keeps start-up quick.
  const cheap = { ln: 10, r: 8, p: 1 };
  const headerCredentials = await Promise.all(HEADER_CREDENTIALS.map(async ({ password, ...who }) => ({ ...who, passwordHash: await hashPassword(password, cheap) })));
  await mkdir(join(dataDir, 'manifests'), { recursive: true });
  await writeFile(join(dataDir, 'manifests', 'dev.yaml'), YAML.stringify({
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name: 'admin', namespace: 'default' },
    spec: { headerCredentials },
  }));
}

/** Reads the credentials of a data directory (<dir>/credentials/default/admin/{ca,cert,key}.pem). */
export function devCredentials(dataDir: string): Promise<{ ca: string; cert: string; key: string }> {
  return readCredentialDir(join(dataDir, 'credentials', 'default', 'admin'));
}

/** Reads ca.pem, cert.pem and key.pem of a directory. */
export async function readCredentialDir(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(dir, f), 'utf8')));
  return { ca: ca!, cert: cert!, key: key! };
}

/**
 * Starts the server. With `http` (the default) it also asks for the HTTPS binding (`--http-port 0`), for the MSGENC
 * vectors; a server that does not announce one within a moment of listening runs without it.
 */
export async function startDevServer(opts: { timeoutMs?: number; extraArgs?: string[]; http?: boolean } = {}): Promise<DevServer> {
  const http = opts.http ?? true;
  const dataDir = await mkdtemp(join(tmpdir(), 'kmip-conformance-'));
  await writeHeaderCredentials(dataDir);
  const child: ChildProcess = spawn(
    process.execPath,
    ['kmip-server/main.ts', 'dev', '--port', '0', '--data-dir', dataDir, ...(http ? ['--http-port', '0'] : []), ...(opts.extraArgs ?? [])],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const errLines: string[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    errLines.push(...s.split('\n').filter((l) => l !== ''));
    if (errLines.length > 200) errLines.splice(0, errLines.length - 200);
  });
  const logTail = (): string => errLines.slice(-20).join('\n');
  let exited = false;
  const exitPromise = new Promise<void>((res) => child.once('exit', () => {
    exited = true;
    res();
  }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 10_000);
      await exitPromise;
      clearTimeout(t);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    type Addr = { host: string; port: number };
    const { host, port, httpAddr } = await new Promise<Addr & { httpAddr?: Addr }>((res, rej) => {
      let out = '';
      let grace: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => rej(new Error(`the server did not say "listening on" within ${opts.timeoutMs ?? 60_000} ms`)), opts.timeoutMs ?? 60_000);
      const addr = (m: RegExpExecArray): Addr => ({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
      const check = (final: boolean): void => {
        const m = LISTENING.exec(out);
        if (!m) return;
        const h = HTTP_LISTENING.exec(out);
        if (h || !http || final) {
          clearTimeout(timer);
          if (grace) clearTimeout(grace);
          res(h && http ? { ...addr(m), httpAddr: addr(h) } : addr(m));
        } else if (!grace) {
          grace = setTimeout(() => check(true), 2000);
        }
      };
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (s: string) => {
        out += s;
        check(false);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`the server exited (${signal ?? `code ${code}`}) before listening`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        rej(e);
      });
    });
    const creds = await devCredentials(dataDir);
    return { target: { host, port, ...creds, ...(httpAddr ? { http: httpAddr } : {}) }, dataDir, logTail, stop };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}${errLines.length ? `\n--- server stderr ---\n${logTail()}` : ''}`);
  }
}
