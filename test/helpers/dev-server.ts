/**
 * The dev server as a real child process, for integration and interop suites.
 *
 *   const server = await startDevServer(t);              // fresh temp data dir, port 0
 *   const again = await startDevServer(t, { dataDir });  // reuse a data dir (restart)
 *
 * It runs `kmip-server/main.ts dev --port 0 --data-dir D` on this very Node (process.execPath),
 * waits for the one stdout line `listening on 127.0.0.1:<port>`, and registers a teardown that
 * stops it (SIGTERM, then SIGKILL) and removes the temp dir it made. A safety net SIGKILLs every
 * server still running when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const MAIN = join(REPO_ROOT, 'kmip-server', 'main.ts');

/** Anything with ava's `teardown` (a test's or a hook's execution context). */
export type Teardown = Pick<ExecutionContext, 'teardown'>;

/** Files of a dev credential directory (D/credentials/<scope>/<name>). */
export interface CredentialFiles {
  dir: string;
  /** Paths. */
  ca: string;
  cert: string;
  key: string;
  pykmipConf: string;
  /** Contents. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface DevServer {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  /** The admin credential (scope default, role admin, operation_all). */
  readonly credentials: CredentialFiles;
  readonly process: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stderr so far (JSON log lines), for failure messages. */
  logs(): string;
  /** stdout so far (the lines that say where the server listens). */
  stdout(): string;
  /** Resident set size in KiB, from /proc/<pid>/status. */
  rssKb(): number;
  /** SIGTERM (graceful), SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** Use this data dir (kept afterwards) instead of a fresh temp one (removed afterwards). */
  dataDir?: string;
  /** More command-line flags, e.g. ['--idle-timeout-ms', '2000']. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the listening line; default 30 s. */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A temp directory removed at teardown. */
export async function tempDir(t: Teardown, prefix = 'kube-kmip-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function readCredential(dir: string): Promise<CredentialFiles> {
  const p = { dir, ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), pykmipConf: join(dir, 'pykmip.conf') };
  const [caPem, certPem, keyPem] = await Promise.all([readFile(p.ca, 'utf8'), readFile(p.cert, 'utf8'), readFile(p.key, 'utf8')]);
  return { ...p, caPem, certPem, keyPem };
}

export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Starts a dev server; throws (with its stderr) if it exits or stays silent instead of listening. */
export async function startDevServer(t: Teardown, opts: StartOptions = {}): Promise<DevServer> {
  const dataDir = opts.dataDir ?? join(await tempDir(t, 'kube-kmip-dev-'), 'data');
  const args = [MAIN, 'dev', '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      res({ code, signal });
    });
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    // Keep the tail only: a long run must not grow the test process.
    stderr = (stderr + s).slice(-256 * 1024);
  });

  const stopChild = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const r = await exited;
    clearTimeout(timer);
    return r;
  };
  t.teardown(() => stopChild(2000).then(() => undefined));

  let stdout = '';
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => fail(`no listening line within ${opts.startTimeoutMs ?? 30_000} ms`), opts.startTimeoutMs ?? 30_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      rej(new Error(`dev server did not start: ${why}\nstdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`));
    };
    child.stdout!.setEncoding('utf8');
    const onData = (s: string) => {
      stdout += s;
      const m = /listening on (\S+):(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        child.removeListener('exit', onExit);
        child.stdout!.off('data', onData);
        res(Number(m[2]));
      }
    };
    child.stdout!.on('data', onData);
    const onExit = (code: number | null, signal: string | null) => fail(`exited (code ${code}, signal ${signal})`);
    child.once('exit', onExit);
  });
  // Keep draining stdout so the child never blocks on a full pipe (and keep its start only).
  child.stdout!.on('data', (s: string) => {
    if (stdout.length < 64 * 1024) stdout += s;
  });

  const credentials = await readCredential(join(dataDir, 'credentials', 'default', 'admin'));
  return {
    host: '127.0.0.1',
    port,
    dataDir,
    pid: child.pid!,
    credentials,
    process: child,
    exited,
    logs: () => stderr,
    stdout: () => stdout,
    rssKb: () => rssKb(child.pid!),
    stop: stopChild,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Teardown for suite-wide fixtures made in `test.before`: a hook's own teardown runs as soon as the
 * hook ends, so register `run` with `test.after.always` instead.
 */
export function suiteTeardown(): Teardown & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    teardown: (fn: () => unknown) => {
      fns.push(fn);
    },
    async run() {
      for (const fn of fns.reverse()) await fn();
    },
  } as Teardown & { run(): Promise<void> };
}
