/**
 * Starts a fresh development server for a conformance run: `node kmip-server/main.ts dev --port 0 --data-dir
 * <fresh temp dir>`, waits for its "listening on HOST:PORT" line, and reads the admin credentials it writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
