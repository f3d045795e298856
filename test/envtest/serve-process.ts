/**
 * `kmip-server serve ...` as a child process, for the tests that check the real wiring (flags, policy from the
 * API server, stores): resolves with the port once the server prints that it listens on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER_MAIN = fileURLToPath(new URL('../../kmip-server/main.ts', import.meta.url));

export interface ServeProcess {
  port: number;
  /** Everything the server wrote on stderr (its JSON log). */
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `serve` with `args` (and `env` over this process's); rejects, with its stderr, if it exits or is not listening within 30 s. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [SERVER_MAIN, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start within 30 s:\n${stderr}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before listening:\n${stderr}`));
    });
  });
  return {
    port,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
