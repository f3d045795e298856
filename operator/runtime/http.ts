/**
 * The operator's plain-HTTP endpoint: /healthz (the process answers), /readyz (its caches are
 * synced and it is not shutting down) and /metrics (Prometheus text format).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OperatorMetrics } from './metrics.ts';

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(opts: {
  host?: string;
  port: number;
  metrics: OperatorMetrics;
  /** undefined when ready, else why not. */
  notReady: () => string | undefined;
}): Promise<ProbeServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') return send(200, 'ok\n');
    if (path === '/readyz') {
      const why = opts.notReady();
      return why === undefined ? send(200, 'ok\n') : send(503, `not ready: ${why}\n`);
    }
    if (path === '/metrics') {
      opts.metrics.registry.metrics().then(
        (text) => send(200, text, opts.metrics.registry.contentType),
        (err: Error) => send(500, `metrics: ${err.message}\n`),
      );
      return;
    }
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    }),
  };
}
