import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Framer } from './ttlv/framer.ts';
import { TtlvError, type DecodeLimits } from './ttlv/types.ts';
import { Dispatcher } from './dispatcher.ts';
import { DEFAULT_ASYNC_OPTIONS, PendingOperations, type AsyncOptions } from './async/pending.ts';
import { authenticate, describePeer, type PeerCertificate } from './auth/authenticate.ts';
import type { PolicySource } from './policy/model.ts';
import type { ObjectStore } from './store/types.ts';
import type { ServerInfo } from './operations/context.ts';
import { createKmipHttpsServer } from './http.ts';
import { Notifier } from './notify/notifier.ts';
import { Outbox } from './outbox.ts';
import { listenOn } from './listen.ts';
import type { DeliveryLimits } from './notify/delivery.ts';
import { ServerMetrics, startMetricsListener, type MetricsListener } from './metrics.ts';

/** TLS 1.2 suites offered by default: ECDHE with AES-GCM or ChaCha20 only. */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The CBC-SHA256 suites PyKMIP 0.10-era clients and servers use; off unless asked for. */
export const LEGACY_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256', 'AES128-SHA256', 'AES256-SHA256',
].join(':');

/** Resolves when the socket's write buffer has drained or the socket is gone. */
function drained(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

export interface ServerLimits extends DecodeLimits {
  maxBatchItems: number;
  maxConnections: number;
  /** A connection with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** A TLS handshake must finish within this. */
  handshakeTimeoutMs: number;
  /** A message, once started, must arrive whole within this (slow-loris guard). */
  messageTimeoutMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxMessageBytes: 1024 * 1024,
  maxDepth: 32,
  maxItems: 100_000,
  maxBatchItems: 1000,
  maxConnections: 1024,
  idleTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 10_000,
  messageTimeoutMs: 30_000,
};

export interface KmipServerOptions {
  listen: Array<{ host: string; port: number }>;
  tls: {
    certPem: string;
    keyPem: string;
    /** PEM of the kube-kmip CA certificates that issue client certificates. */
    caPem: string;
    minVersion?: 'TLSv1.2' | 'TLSv1.3';
    /** TLS 1.2 cipher list (OpenSSL names). TLS 1.3 suites are always Node's defaults. */
    ciphers?: string;
  };
  limits?: Partial<ServerLimits>;
  store: ObjectStore;
  policy: PolicySource;
  logger: Logger;
  info?: Partial<ServerInfo>;
  /** Optional HTTPS listeners for POST /kmip (TTLV, JSON or XML bodies), same authentication. */
  httpListen?: Array<{ host: string; port: number }>;
  /** Asynchronous processing (Asynchronous Indicator, Poll, Cancel): delays, limits, TTL (async/pending.ts). */
  async?: Partial<AsyncOptions>;
  /** Server-to-client Notify / Put delivery limits (notify/delivery.ts). */
  notifications?: Partial<DeliveryLimits>;
  /** Prometheus metrics to count into (metrics.ts); made here when only `metricsListen` is given. */
  metrics?: ServerMetrics;
  /** A plain-HTTP listener for GET /metrics; absent: none. */
  metricsListen?: { host: string; port: number };
}

export interface RunningServer {
  addresses: Array<{ host: string; port: number }>;
  httpAddresses: Array<{ host: string; port: number }>;
  /** Where GET /metrics is served, when `metricsListen` was given. */
  metricsAddress?: { host: string; port: number };
  connections(): number;
  /**
   * Replaces the server certificate, key and client CA bundle for new connections (live ones keep
   * theirs). Throws, changing nothing, when the new material does not load.
   */
  reloadTls(material: Pick<KmipServerOptions['tls'], 'certPem' | 'keyPem' | 'caPem'>): void;
  close(): Promise<void>;
}

/**
 * The KMIP listener: TLS with client certificates required, one Framer per connection, messages
 * answered strictly in order, limits on size, depth, items, connections and time.
 */
export async function startKmipServer(opts: KmipServerOptions): Promise<RunningServer> {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...opts.limits };
  const log = opts.logger;
  // Both change on reloadTls (a renewed server certificate, a rotated CA); caCerts in place, since
  // the HTTPS binding holds the same array.
  let tlsMaterial = opts.tls;
  const caCerts = splitPem(tlsMaterial.caPem).map((p) => new X509Certificate(p));
  // No table at all when its limits allow no entry: Query then reports no Asynchronous Capability.
  const asyncOpts = { ...DEFAULT_ASYNC_OPTIONS, ...opts.async };
  const pending = asyncOpts.maxTotal > 0 && asyncOpts.maxPerClient > 0
    ? new PendingOperations(asyncOpts, (err, op) => log.error({ err, op }, 'asynchronous operation failed with an internal error'))
    : undefined;
  // Notify and Put to subscribed credentials (KmipClientCredential spec.notifications), after commit.
  const notifier = new Notifier({
    policy: opts.policy,
    tls: () => ({ certPem: tlsMaterial.certPem, keyPem: tlsMaterial.keyPem, caCerts, ...(tlsMaterial.minVersion ? { minVersion: tlsMaterial.minVersion } : {}) }),
    logger: log,
    ...(opts.notifications ? { limits: opts.notifications } : {}),
  });
  const metrics = opts.metrics ?? (opts.metricsListen ? new ServerMetrics() : undefined);
  const dispatcher = new Dispatcher({
    store: opts.store,
    limits,
    server: {
      vendorIdentification: 'kube-kmip',
      serverInformation: 'kube-kmip KMIP server',
      leaseSeconds: 3600,
      ...opts.info,
    },
    audit: (fields, message) => log.info(fields, message),
    onInternalError: (err, op) => log.error({ err, op }, 'operation failed with an internal error'),
    ...(pending ? { pending } : {}),
    onCommit: (identity, version, changes) => notifier.committed(identity, version, changes),
    ...(metrics ? { metrics } : {}),
  });

  const secureContextOptions = (): tls.SecureContextOptions => {
    // Uploaded certificates are trust anchors too: the client brings its own certificate.
    const uploaded = new Set<string>();
    for (const c of opts.policy.current().byFingerprint.values()) for (const p of c.uploadedCertificatesPem) uploaded.add(p);
    return {
      cert: tlsMaterial.certPem,
      key: tlsMaterial.keyPem,
      ca: [tlsMaterial.caPem, ...uploaded],
      minVersion: tlsMaterial.minVersion ?? 'TLSv1.2',
      ciphers: tlsMaterial.ciphers ?? DEFAULT_TLS12_CIPHERS,
      honorCipherOrder: true,
    };
  };

  // A TCP connection closed before any TLS error (kubelet and load-balancer TCP probes, port scans)
  // is no failed handshake: counting it would bury real ones (bad certificates, timeouts) in probes.
  const countHandshakeFailure = (err: Error) => {
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') metrics?.refused('handshake');
  };
  const sockets = new Set<tls.TLSSocket>();
  metrics?.observe({ connections: () => sockets.size, asyncOperations: () => pending?.size() ?? 0 });
  const servers: tls.Server[] = [];
  const onPolicyChange = () => {
    const ctx = secureContextOptions();
    for (const s of servers) s.setSecureContext(ctx);
  };
  opts.policy.on('change', onPolicyChange);

  const handle = (socket: tls.TLSSocket) => {
    if (sockets.size >= limits.maxConnections) {
      log.warn({ remote: socket.remoteAddress }, 'connection refused: too many connections');
      metrics?.refused('limit');
      socket.destroy();
      return;
    }
    const cert = socket.getPeerX509Certificate();
    if (!socket.authorized || !cert) {
      metrics?.refused('handshake');
      socket.destroy();
      return;
    }
    const peer: PeerCertificate = describePeer(cert, caCerts);
    if (!authenticate(peer, opts.policy.current())) {
      log.warn({ remote: socket.remoteAddress, serial: peer.serialNumber }, 'connection refused: certificate belongs to no live credential');
      metrics?.refused('unknown-credential');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    serveConnection(socket, peer);
  };

  // Replies go out together at the end of each event-loop turn (outbox.ts).
  const outbox = new Outbox();

  const serveConnection = (socket: tls.TLSSocket, peer: PeerCertificate) => {
    const framer = new Framer(limits.maxMessageBytes);
    const queue: Buffer[] = [];
    let busy = false;
    let partialTimer: NodeJS.Timeout | undefined;

    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (queue.length > 0 && !socket.destroyed) {
          const frame = queue.shift()!;
          const identity = authenticate(peer, opts.policy.current());
          if (!identity) {
            log.info({ serial: peer.serialNumber }, 'closing connection: credential revoked');
            socket.destroy();
            return;
          }
          identity.recheck = () => authenticate(peer, opts.policy.current());
          const reply = await dispatcher.handle(frame, identity);
          if (!reply) {
            socket.destroy();
            return;
          }
          // Back-pressure from the client: a reader that does not keep up gets no more answers
          // computed until what was written has drained (or the connection is gone).
          if (outbox.send(socket, reply) > socket.writableHighWaterMark) await outbox.flushed();
          if (socket.writableNeedDrain && !socket.destroyed) await drained(socket);
        }
      } catch (err) {
        log.error({ err }, 'connection failed');
        socket.destroy();
      } finally {
        busy = false;
        if (queue.length > 0 && !socket.destroyed) void pump();
        else if (socket.isPaused() && !socket.destroyed) socket.resume();
      }
    };

    socket.on('data', (chunk: Buffer) => {
      const wasPending = framer.pending > 0;
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch (err) {
        log.info({ reason: err instanceof TtlvError ? err.code : 'error' }, 'closing connection: unreadable stream');
        socket.destroy();
        return;
      }
      // The deadline runs from a message's first byte, not its latest: a client trickling one
      // byte at a time must not hold a connection open forever.
      if (framer.pending === 0) clearTimeout(partialTimer);
      else if (!wasPending || frames.length > 0) {
        clearTimeout(partialTimer);
        partialTimer = setTimeout(() => socket.destroy(), limits.messageTimeoutMs);
      }
      if (frames.length === 0) return;
      queue.push(...frames);
      // Back-pressure: a client that pipelines faster than we answer stops being read until the
      // queue drains (pump resumes it).
      if (queue.length > 16) socket.pause();
      void pump();
    });
    socket.on('close', () => clearTimeout(partialTimer));
    socket.on('error', () => socket.destroy());
  };

  // Everything started so far is stopped again when a later listener cannot bind (a port in use), so a failed
  // start leaves no open port or timer behind.
  const undoStart = async () => {
    opts.policy.off('change', onPolicyChange);
    await notifier.close();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await pending?.close();
  };
  const addresses: Array<{ host: string; port: number }> = [];
  const httpAddresses: Array<{ host: string; port: number }> = [];
  let metricsListener: MetricsListener | undefined;
  try {
    for (const l of opts.listen) {
      const server = tls.createServer({
        ...secureContextOptions(),
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: limits.handshakeTimeoutMs,
      });
      server.on('secureConnection', handle);
      // Node reports a handshake timeout or failure here but leaves the socket open: close it, or
      // silent TCP connections would pile up.
      server.on('tlsClientError', (err, socket) => {
        log.debug({ err: err.message, remote: socket.remoteAddress }, 'TLS handshake failed');
        countHandshakeFailure(err);
        socket.destroy();
      });
      servers.push(server);
      addresses.push(await listenOn(server, l));
    }
    for (const l of opts.httpListen ?? []) {
      const server = createKmipHttpsServer(
        { ...secureContextOptions(), handshakeTimeout: limits.handshakeTimeoutMs },
        {
          dispatcher, policy: opts.policy, caCerts, maxMessageBytes: limits.maxMessageBytes, logger: log,
          ...(metrics ? { onRefused: () => metrics.refused('unknown-credential') } : {}),
        },
      );
      server.on('tlsClientError', (err, socket) => {
        countHandshakeFailure(err);
        socket.destroy();
      });
      servers.push(server);
      httpAddresses.push(await listenOn(server, l));
    }
    if (opts.metricsListen && metrics) {
      try {
        metricsListener = await startMetricsListener(metrics, opts.metricsListen, log);
      } catch (err) {
        throw new Error(`--metrics-listen ${opts.metricsListen.host}:${opts.metricsListen.port}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    await undoStart();
    throw err;
  }

  return {
    addresses,
    httpAddresses,
    ...(metricsListener ? { metricsAddress: metricsListener.address } : {}),
    connections: () => sockets.size,
    reloadTls(material) {
      // Build everything first: a bad certificate or key throws here and the old context stays.
      const next = { ...tlsMaterial, ...material };
      const nextCa = splitPem(next.caPem).map((p) => new X509Certificate(p));
      if (nextCa.length === 0) throw new Error('the client CA bundle holds no certificate');
      tls.createSecureContext({ cert: next.certPem, key: next.keyPem, ca: next.caPem });
      tlsMaterial = next;
      caCerts.splice(0, caCerts.length, ...nextCa);
      onPolicyChange();
    },
    async close() {
      opts.policy.off('change', onPolicyChange);
      await metricsListener?.close();
      await notifier.close();
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      // Operations already running finish (and commit) before the caller closes the store.
      await pending?.close();
    },
  };
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
