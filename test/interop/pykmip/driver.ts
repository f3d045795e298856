/**
 * The TypeScript side of driver.py. Python with PyKMIP costs about a second of CPU to start, so
 * there is one long-lived /usr/bin/python3 process per KMIP version (lane); a test takes its lane
 * for its duration (tests of one version run one after another, versions in parallel) and gets a
 * fresh PyKMIP connection, opened from the credential's generated pykmip.conf as a user would.
 * Each process has its own empty HOME so a developer's ~/.pykmip/pykmip.conf never leaks in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SYSTEM_PYTHON } from '../../setup/pykmip.ts';
import type { Teardown } from '../../helpers/dev-server.ts';

const DRIVER = fileURLToPath(new URL('./driver.py', import.meta.url));

/** PyKMIP's KMIPVersion names; null = PyKMIP's default (1.2). */
export type PykmipVersion = 'KMIP_1_0' | 'KMIP_1_1' | 'KMIP_1_2' | 'KMIP_1_3' | 'KMIP_1_4' | null;

export interface PykmipError {
  type: string;
  status: string | null;
  reason: string | null;
  message: string | null;
  trace?: string;
}

export class PykmipFailure extends Error {
  readonly error: PykmipError;
  constructor(op: string, error: PykmipError) {
    super(`PyKMIP ${op} failed: ${error.type}${error.reason ? ` ${error.reason}` : ''}${error.message ? `: ${error.message}` : ''}${error.trace ? `\n${error.trace}` : ''}`);
    this.name = 'PykmipFailure';
    this.error = error;
  }
}

type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: PykmipError };

/** One driver.py process. */
class DriverProcess {
  readonly #child: ChildProcess;
  readonly #home: string;
  readonly #pending = new Map<number, (a: Answer) => void>();
  #next = 1;
  #stderr = '';
  exitError: Error | undefined;

  constructor() {
    this.#home = mkdtempSync(join(tmpdir(), 'pykmip-home-'));
    this.#child = spawn(SYSTEM_PYTHON, [DRIVER], {
      env: { PATH: '/usr/bin:/bin', HOME: this.#home, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-16_000);
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const a = JSON.parse(line) as Answer;
      const resolve = this.#pending.get(a.id);
      this.#pending.delete(a.id);
      resolve?.(a);
    });
    this.#child.once('exit', (code, signal) => {
      rmSync(this.#home, { recursive: true, force: true });
      this.exitError = new Error(`PyKMIP driver exited (code ${code}, signal ${signal}): ${this.#stderr.slice(-2000)}`);
      for (const [id, resolve] of this.#pending) resolve(this.#exited(id));
      this.#pending.clear();
    });
  }

  #exited(id: number): Answer {
    return { id, ok: false, error: { type: 'DriverExited', status: null, reason: null, message: this.exitError?.message ?? 'exited' } };
  }

  answer(op: string, args: Record<string, unknown>): Promise<Answer> {
    if (this.exitError) return Promise.resolve(this.#exited(0));
    const id = this.#next++;
    return new Promise<Answer>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  async stop(): Promise<void> {
    if (this.exitError) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** A version's process and the queue of tests waiting for it. */
interface Lane {
  process: DriverProcess;
  tail: Promise<void>;
}
const lanes = new Map<string, Lane>();

/** Ends every driver process (call from test.after.always). */
export async function stopDrivers(): Promise<void> {
  await Promise.all([...lanes.values()].map((l) => l.process.stop()));
  lanes.clear();
}

/** A PyKMIP connection for one test. */
export class PyKmip {
  readonly #process: DriverProcess;

  private constructor(process: DriverProcess) {
    this.#process = process;
  }

  /**
   * Waits for the version's lane, then opens a new PyKMIP connection with the credential's
   * pykmip.conf. Closed and the lane released at teardown.
   */
  static async open(t: Teardown, configFile: string, version: PykmipVersion): Promise<PyKmip> {
    const key = version ?? 'default';
    let lane = lanes.get(key);
    if (!lane || lane.process.exitError) {
      lane = { process: new DriverProcess(), tail: Promise.resolve() };
      lanes.set(key, lane);
    }
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const before = lane.tail;
    lane.tail = before.then(() => mine);
    await before;
    const py = new PyKmip(lane.process);
    t.teardown(async () => {
      await py.answer('close').catch(() => undefined);
      release();
    });
    await py.call('open', { config_file: configFile, version });
    return py;
  }

  /** Resolves with the operation's result; rejects with PykmipFailure. */
  async call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const a = await this.answer(op, args);
    if (!a.ok) throw new PykmipFailure(op, a.error);
    return a.result as T;
  }

  /** The raw answer, success or failure. */
  answer(op: string, args: Record<string, unknown> = {}): Promise<Answer> {
    return this.#process.answer(op, args);
  }

  /** The error of a call expected to fail; throws if it succeeded. */
  async failure(op: string, args: Record<string, unknown> = {}): Promise<PykmipError> {
    const a = await this.answer(op, args);
    if (a.ok) throw new Error(`PyKMIP ${op} succeeded but was expected to fail (result ${JSON.stringify(a.result)})`);
    return a.error;
  }
}
