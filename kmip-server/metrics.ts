/**
 * The KMIP server's Prometheus metrics, in a registry of their own (not prom-client's global one,
 * so two servers in one process, as tests run them, never share counters), and the plain-HTTP
 * listener that serves them (`--metrics-listen HOST:PORT`, GET /metrics).
 *
 * Tenancy: one server holds the keys of many teams, and whoever may scrape /metrics is not one of
 * them. Every label value here therefore comes from a small fixed set (KMIP operation and Result
 * Reason names, protocol versions, refusal reasons): never an object's Unique Identifier or Name,
 * key material, a scope, role, credential or user name, a certificate field or a client address.
 * Anything a client sends that is not in such a set is counted as "unknown".
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Operation, ResultReason, ResultStatus } from './ttlv/enums.ts';
import { isSupported, versionString, type ProtocolVersion } from './messages/version.ts';
import { listenOn } from './listen.ts';

/** Why a KMIP connection was closed before it could send a message. */
export type RefusalReason = 'limit' | 'unknown-credential' | 'handshake';

const OPERATION_NAMES = new Map<number, string>(Object.entries(Operation).map(([name, code]) => [code, name]));
const REASON_NAMES = new Map<number, string>(Object.entries(ResultReason).map(([name, code]) => [code, name]));

/** Sub-millisecond answers are the norm (~12k messages/s per core); slow ones wait on storage or commit races. */
const MESSAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #operations: Counter<'operation' | 'status'>;
  readonly #messages: Histogram<'version'>;
  readonly #refused: Counter<'reason'>;
  /** Labelled children resolved once per (operation, status) and per version: the hot path only increments. */
  readonly #itemChildren = new Map<number, Counter.Internal>();
  readonly #messageChildren = new Map<number, Histogram.Internal<'version'>>();
  #connections: () => number = () => 0;
  #asyncOperations: () => number = () => 0;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#operations = new Counter({
      name: 'kube_kmip_operations_total',
      help: 'Batch items answered, per KMIP operation and status (success, pending, undone, or the Result Reason of a failure).',
      labelNames: ['operation', 'status'], registers,
    });
    this.#messages = new Histogram({
      name: 'kube_kmip_message_duration_seconds',
      help: 'Time from a request message\'s decoding to its encoded response, per protocol version of the response.',
      labelNames: ['version'], buckets: MESSAGE_BUCKETS, registers,
    });
    this.#refused = new Counter({
      name: 'kube_kmip_connections_refused_total',
      help: 'KMIP connections closed before their first message: limit (max connections), unknown-credential, handshake (TLS failed or timed out).',
      labelNames: ['reason'], registers,
    });
    const self = this;
    new Gauge({
      name: 'kube_kmip_connections', help: 'Open KMIP (TTLV) connections.', registers,
      collect() {
        this.set(self.#connections());
      },
    });
    new Gauge({
      name: 'kube_kmip_async_operations', help: 'Asynchronous operations held for Poll (queued, running or finished and not yet collected).', registers,
      collect() {
        this.set(self.#asyncOperations());
      },
    });
    // Pre-create the refusal series so a dashboard sees 0 rather than no data.
    for (const r of ['limit', 'unknown-credential', 'handshake'] as const) this.#refused.labels(r).inc(0);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'kube_kmip_' });
  }

  /** Where the gauges read from when scraped (the server's connection set and asynchronous table). */
  observe(sources: { connections?: () => number; asyncOperations?: () => number }): void {
    if (sources.connections) this.#connections = sources.connections;
    if (sources.asyncOperations) this.#asyncOperations = sources.asyncOperations;
  }

  /** One batch item of a response. `operation` undefined: a message refused whole (no batch item could be read). */
  item(operation: number | undefined, status: number, reason: number | undefined): void {
    const op = operation !== undefined && OPERATION_NAMES.has(operation) ? operation : 0;
    // Status and reason in one small number: the Result Status (0-3; 0xfff unknown), or 0x1000 + the reason of a
    // failure (0x1fff: unknown reason).
    const st = status !== ResultStatus.OperationFailed
      ? (status >= 0 && status <= 3 ? status : 0xfff)
      : 0x1000 + (reason !== undefined && REASON_NAMES.has(reason) ? reason : 0xfff);
    const key = op * 0x2000 + st;
    let child = this.#itemChildren.get(key);
    if (!child) {
      child = this.#operations.labels(OPERATION_NAMES.get(op) ?? 'unknown', statusLabel(status, reason));
      this.#itemChildren.set(key, child);
    }
    child.inc();
  }

  /** One request message answered, in `seconds`, in protocol `version`. */
  message(version: ProtocolVersion, seconds: number): void {
    const known = isSupported(version);
    const key = known ? version.major * 1000 + version.minor : -1;
    let child = this.#messageChildren.get(key);
    if (!child) {
      child = this.#messages.labels(known ? versionString(version) : 'unknown');
      this.#messageChildren.set(key, child);
    }
    child.observe(seconds);
  }

  refused(reason: RefusalReason): void {
    this.#refused.labels(reason).inc();
  }
}

function statusLabel(status: number, reason: number | undefined): string {
  switch (status) {
    case ResultStatus.Success: return 'success';
    case ResultStatus.OperationPending: return 'pending';
    case ResultStatus.OperationUndone: return 'undone';
    case ResultStatus.OperationFailed: return (reason !== undefined && REASON_NAMES.get(reason)) || 'unknown';
    default: return 'unknown';
  }
}

export interface MetricsListener {
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Plain HTTP, GET /metrics only, on its own port: never the KMIP TLS port, whose every connection
 * must present a client certificate. Nothing here reads a request body, and a slow client is cut off.
 */
export async function startMetricsListener(metrics: ServerMetrics, listen: { host: string; port: number }, log: Logger): Promise<MetricsListener> {
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 10_000, maxHeaderSize: 8192 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const reply = (status: number, body: string, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body);
    if (path !== '/metrics') return reply(404, 'not found: GET /metrics\n');
    if (req.method !== 'GET') return reply(405, 'method not allowed: GET /metrics\n', { allow: 'GET' });
    metrics.registry.metrics().then(
      (text) => reply(200, text, { 'content-type': metrics.registry.contentType }),
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        reply(500, 'collecting metrics failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  const address = await listenOn(server, listen);
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** http://HOST:PORT/metrics, with an IPv6 host in brackets. */
export function metricsUrl(a: { host: string; port: number }): string {
  return `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/metrics`;
}
