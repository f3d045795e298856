/**
 * Reloads the server certificate, key and client CA bundle when their files change, so a renewed
 * server certificate or a rotated CA takes effect without a restart.
 *
 * The files are read again on a fixed interval and compared by content, not watched with
 * fs.watch: a Secret mounted in a pod is updated by swapping a `..data` symlink, which file
 * watchers see unreliably, and the kubelet takes up to a minute to do it anyway. A half-written or
 * mismatched set (the certificate renewed, the key not yet) fails to load and is retried on the
 * next tick; the running context stays until a whole set loads.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RunningServer } from './server.ts';

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface TlsReloader {
  /** Reads the files now and reloads when they changed; resolves to whether it reloaded. */
  check(): Promise<boolean>;
  stop(): void;
}

export function watchTlsFiles(
  server: Pick<RunningServer, 'reloadTls'>, files: TlsFiles, initial: { certPem: string; keyPem: string; caPem: string },
  opts: { intervalMs: number; logger: Logger },
): TlsReloader {
  let current = `${initial.certPem}\0${initial.keyPem}\0${initial.caPem}`;
  let lastError = '';
  let running: Promise<boolean> | undefined;

  const check = async (): Promise<boolean> => {
    let material;
    try {
      const [certPem, keyPem, caPem] = await Promise.all([readFile(files.cert, 'utf8'), readFile(files.key, 'utf8'), readFile(files.ca, 'utf8')]);
      material = { certPem, keyPem, caPem };
    } catch (err) {
      report(`cannot read the TLS files: ${(err as Error).message}`);
      return false;
    }
    const next = `${material.certPem}\0${material.keyPem}\0${material.caPem}`;
    if (next === current) return false;
    try {
      server.reloadTls(material);
    } catch (err) {
      // Never the key's content: only what failed.
      report(`new TLS files do not load (kept the previous ones): ${(err as Error).message.split('\n')[0]}`);
      return false;
    }
    current = next;
    lastError = '';
    opts.logger.info({ cert: files.cert, ca: files.ca }, 'reloaded the server certificate and client CA bundle');
    return true;
  };
  const report = (message: string) => {
    if (message !== lastError) opts.logger.warn(message);
    lastError = message;
  };
  const timer = setInterval(() => {
    running ??= check().finally(() => { running = undefined; });
  }, opts.intervalMs);
  timer.unref();
  return {
    check: () => (running ??= check().finally(() => { running = undefined; })),
    stop: () => clearInterval(timer),
  };
}
