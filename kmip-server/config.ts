import { parseArgs } from 'node:util';
import { DEFAULT_ASYNC_OPTIONS, type AsyncOptions } from './async/pending.ts';
import { DEFAULT_SERVER_LIMITS, DEFAULT_TLS12_CIPHERS, LEGACY_TLS12_CIPHERS, type ServerLimits } from './server.ts';

/** Command-line configuration shared by `serve` and `dev`. Every flag has an env var twin. */
export interface CliConfig {
  command: 'serve' | 'dev' | 'help';
  listen: Array<{ host: string; port: number }>;
  httpListen: Array<{ host: string; port: number }>;
  /** Plain-HTTP GET /metrics (Prometheus); absent: no such listener. */
  metricsListen?: { host: string; port: number };
  dataDir: string;
  manifests?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  kekFile?: string;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  limits: ServerLimits;
  /** Asynchronous processing: start delay, entries per client and in all, result TTL (async/pending.ts). */
  async: AsyncOptions;
  logLevel: string;
  /** serve: where policy comes from: YAML files (--manifests) or the cluster's custom resources. */
  policy: 'files' | 'kubernetes';
  /** serve: the object store backend. */
  store: 'sqlite' | 'configmap';
  /** Namespace whose KmipScope/KmipRole/KmipClientCredential are watched (--policy kubernetes). */
  namespace?: string;
  /** Watch those resources in every namespace instead. */
  allNamespaces: boolean;
  /** Namespace of the ConfigMap store (default: --namespace, else the pod's own namespace). */
  storeNamespace?: string;
  kubeconfig?: string;
  /** serve: how often the TLS files are read again (a renewed certificate, a rotated CA); 0 never. */
  tlsReloadIntervalMs: number;
  /** serve --policy kubernetes: how often every KmipScope's object count is reported again. */
  scopeReportIntervalMs: number;
  /** dev: host:port that receives Notify and Put for the admin credential (spec.notifications). */
  notifyEndpoint?: string;
}

export const USAGE = `Usage: kmip-server <serve|dev> [options]

  dev     Development server: its own CA, a 'default' scope with an 'admin' role allowed
          everything, client credentials in <data-dir>/credentials/default/admin/.
  serve   Production server: certificates, KEK and policy are given.

Options:
  --host H                 listen address (dev; default 127.0.0.1)
  --port P                 listen port (default 5696; 0 picks a free one)
  --listen H:P             listen address, repeatable (serve)
  --http-port P            also serve POST /kmip over HTTPS (TTLV, JSON, XML) on this port
  --http-listen H:P        the same, repeatable (serve)
  --metrics-listen H:P     serve Prometheus metrics over plain HTTP (GET /metrics) on this address,
                           a port of its own (0 picks a free one); off by default; see docs/metrics.md
  --data-dir D             where the SQLite database lives (dev default: .kmip-dev)
  --manifests DIR          KmipScope/KmipRole/KmipClientCredential YAML files (policy)
  --notify-endpoint H:P    dev: send KMIP Notify and Put for the admin credential to this
                           listener (it must present the admin certificate); see docs/clients.md
  --tls-cert F --tls-key F server certificate and key (serve)
  --client-ca F            CA certificates that issue client certificates (serve)
  --kek-file F             32-byte key-encryption key (created if missing, except with --store
                           configmap: then it must exist, e.g. a mounted Secret); or env KMIP_KEK (base64)
  --policy P               serve: files (default; --manifests) or kubernetes (KmipScope/KmipRole/
                           KmipClientCredential watched in the cluster)
  --namespace NS           namespace of those resources (default: the pod's own namespace)
  --all-namespaces         watch them in every namespace instead
  --store S                serve: sqlite (default; in --data-dir) or configmap (one ConfigMap per object)
  --store-namespace NS     namespace of the ConfigMap store (default: --namespace, else the pod's)
  --kubeconfig F           Kubernetes credentials (default: in-cluster, else $KUBECONFIG or ~/.kube/config)
  --tls-reload-interval-ms N  serve: re-read --tls-cert/--tls-key/--client-ca this often and use
                           them when they changed (renewal, CA rotation); default 30000, 0 never
  --scope-report-interval-ms N  serve --policy kubernetes: recount the objects of every KmipScope and
                           report them in its status this often (also soon after writes); default 60000
  --tls-min-version V      TLSv1.2 (default) or TLSv1.3
  --tls12-ciphers LIST     OpenSSL cipher list for TLS 1.2 (default: ECDHE with AES-GCM/ChaCha20)
  --legacy-ciphers         also offer the CBC-SHA256 suites old PyKMIP clients need
  --max-message-bytes N    default ${DEFAULT_SERVER_LIMITS.maxMessageBytes}
  --max-connections N      default ${DEFAULT_SERVER_LIMITS.maxConnections}
  --max-depth N            deepest Structure nesting; default ${DEFAULT_SERVER_LIMITS.maxDepth}
  --max-batch-items N      batch items per message; default ${DEFAULT_SERVER_LIMITS.maxBatchItems}
  --idle-timeout-ms N      default ${DEFAULT_SERVER_LIMITS.idleTimeoutMs}
  --message-timeout-ms N   a started message must arrive whole within this; default ${DEFAULT_SERVER_LIMITS.messageTimeoutMs}
  --handshake-timeout-ms N default ${DEFAULT_SERVER_LIMITS.handshakeTimeoutMs}
  --async-start-delay-ms N a request sent with the Asynchronous Indicator is answered Operation Pending
                           and runs after this delay, or at its first Poll; until then Cancel cancels it;
                           default ${DEFAULT_ASYNC_OPTIONS.startDelayMs}
  --async-max-per-client N pending or remembered asynchronous operations per client (scope and
                           credential); beyond it requests are answered synchronously; default ${DEFAULT_ASYNC_OPTIONS.maxPerClient}
  --async-max-total N      the same across all clients; 0 answers everything synchronously; default ${DEFAULT_ASYNC_OPTIONS.maxTotal}
  --async-result-ttl-ms N  how long a finished asynchronous operation is remembered for Poll/Cancel
                           (in memory only); default ${DEFAULT_ASYNC_OPTIONS.resultTtlMs}
  --async-max-result-bytes N  encoded bytes of finished results not yet polled, across all clients;
                           beyond it requests are answered synchronously; default ${DEFAULT_ASYNC_OPTIONS.maxResultBytes}
  --log-level L            pino level (default info)
`;

export function parseCli(argv: string[]): CliConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'http-port': { type: 'string' },
      'http-listen': { type: 'string', multiple: true },
      'metrics-listen': { type: 'string' },
      'data-dir': { type: 'string' },
      manifests: { type: 'string' },
      'notify-endpoint': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'client-ca': { type: 'string' },
      'kek-file': { type: 'string' },
      'tls-min-version': { type: 'string' },
      'tls12-ciphers': { type: 'string' },
      'legacy-ciphers': { type: 'boolean' },
      'max-message-bytes': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-depth': { type: 'string' },
      'max-batch-items': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'message-timeout-ms': { type: 'string' },
      'handshake-timeout-ms': { type: 'string' },
      'async-start-delay-ms': { type: 'string' },
      'async-max-per-client': { type: 'string' },
      'async-max-total': { type: 'string' },
      'async-result-ttl-ms': { type: 'string' },
      'async-max-result-bytes': { type: 'string' },
      'log-level': { type: 'string' },
      policy: { type: 'string' },
      namespace: { type: 'string' },
      'all-namespaces': { type: 'boolean' },
      store: { type: 'string' },
      'store-namespace': { type: 'string' },
      kubeconfig: { type: 'string' },
      'tls-reload-interval-ms': { type: 'string' },
      'scope-report-interval-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = values.help ? 'help' : (positionals[0] ?? 'help');
  if (command !== 'serve' && command !== 'dev' && command !== 'help') throw new Error(`unknown command "${command}"`);
  const int = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
    return n;
  };
  const port = values.port ?? process.env.KMIP_PORT;
  const kmipPort = port === undefined ? 5696 : tcpPort('port', port);
  const scopeReportIntervalMs = int('scope-report-interval-ms', values['scope-report-interval-ms'], 60_000);
  if (scopeReportIntervalMs === 0) throw new Error('--scope-report-interval-ms must be positive');
  const host = values.host ?? process.env.KMIP_HOST ?? '127.0.0.1';
  const listen = (values.listen ?? []).map((v) => hostPort('listen', v));
  if (listen.length === 0) listen.push({ host, port: kmipPort });
  const httpListen = (values['http-listen'] ?? []).map((v) => hostPort('http-listen', v));
  if (values['http-port'] !== undefined) httpListen.push({ host, port: tcpPort('http-port', values['http-port']) });
  const metricsListen = metricsListenOf(values['metrics-listen'] ?? process.env.KMIP_METRICS_LISTEN, [...listen, ...httpListen]);
  const min = values['tls-min-version'] ?? 'TLSv1.2';
  if (min !== 'TLSv1.2' && min !== 'TLSv1.3') throw new Error('--tls-min-version must be TLSv1.2 or TLSv1.3');
  const policy = values.policy ?? process.env.KMIP_POLICY ?? 'files';
  if (policy !== 'files' && policy !== 'kubernetes') throw new Error('--policy must be files or kubernetes');
  const store = values.store ?? process.env.KMIP_STORE ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'configmap') throw new Error('--store must be sqlite or configmap');
  // A flag wins over the other one's environment twin.
  const namespace = values.namespace ?? (values['all-namespaces'] ? undefined : process.env.KMIP_NAMESPACE);
  const allNamespaces = values['all-namespaces'] ?? (values.namespace ? false : process.env.KMIP_ALL_NAMESPACES === 'true');
  if (namespace && allNamespaces) throw new Error('give --namespace or --all-namespaces, not both');
  const storeNamespace = values['store-namespace'] ?? process.env.KMIP_STORE_NAMESPACE;
  let ciphers = values['tls12-ciphers'] ?? DEFAULT_TLS12_CIPHERS;
  if (values['legacy-ciphers']) ciphers = `${ciphers}:${LEGACY_TLS12_CIPHERS}`;
  return {
    command,
    listen,
    httpListen,
    ...(metricsListen ? { metricsListen } : {}),
    dataDir: values['data-dir'] ?? process.env.KMIP_DATA_DIR ?? (command === 'dev' ? '.kmip-dev' : '/var/lib/kube-kmip'),
    ...(values.manifests ? { manifests: values.manifests } : {}),
    ...notifyEndpointOf(command, values['notify-endpoint']),
    ...(values['tls-cert'] ? { tlsCert: values['tls-cert'] } : {}),
    ...(values['tls-key'] ? { tlsKey: values['tls-key'] } : {}),
    ...(values['client-ca'] ? { clientCa: values['client-ca'] } : {}),
    ...(values['kek-file'] ? { kekFile: values['kek-file'] } : {}),
    tlsMinVersion: min,
    ciphers,
    limits: {
      ...DEFAULT_SERVER_LIMITS,
      maxMessageBytes: int('max-message-bytes', values['max-message-bytes'], DEFAULT_SERVER_LIMITS.maxMessageBytes),
      maxConnections: int('max-connections', values['max-connections'], DEFAULT_SERVER_LIMITS.maxConnections),
      maxDepth: int('max-depth', values['max-depth'], DEFAULT_SERVER_LIMITS.maxDepth),
      maxBatchItems: int('max-batch-items', values['max-batch-items'], DEFAULT_SERVER_LIMITS.maxBatchItems),
      idleTimeoutMs: int('idle-timeout-ms', values['idle-timeout-ms'], DEFAULT_SERVER_LIMITS.idleTimeoutMs),
      messageTimeoutMs: int('message-timeout-ms', values['message-timeout-ms'], DEFAULT_SERVER_LIMITS.messageTimeoutMs),
      handshakeTimeoutMs: int('handshake-timeout-ms', values['handshake-timeout-ms'], DEFAULT_SERVER_LIMITS.handshakeTimeoutMs),
    },
    async: {
      ...DEFAULT_ASYNC_OPTIONS,
      startDelayMs: int('async-start-delay-ms', values['async-start-delay-ms'], DEFAULT_ASYNC_OPTIONS.startDelayMs),
      maxPerClient: int('async-max-per-client', values['async-max-per-client'], DEFAULT_ASYNC_OPTIONS.maxPerClient),
      maxTotal: int('async-max-total', values['async-max-total'], DEFAULT_ASYNC_OPTIONS.maxTotal),
      resultTtlMs: int('async-result-ttl-ms', values['async-result-ttl-ms'], DEFAULT_ASYNC_OPTIONS.resultTtlMs),
      maxResultBytes: int('async-max-result-bytes', values['async-max-result-bytes'], DEFAULT_ASYNC_OPTIONS.maxResultBytes),
    },
    logLevel: values['log-level'] ?? process.env.LOG_LEVEL ?? 'info',
    policy,
    store,
    ...(namespace ? { namespace } : {}),
    allNamespaces,
    ...(storeNamespace ? { storeNamespace } : {}),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    tlsReloadIntervalMs: int('tls-reload-interval-ms', values['tls-reload-interval-ms'], 30_000),
    scopeReportIntervalMs,
  };
}

/** --notify-endpoint: dev only (in serve the KmipClientCredential's spec.notifications says it). */
/** A TCP port: digits only, at most 65535 (0 lets the system choose, for tests). */
function tcpPort(flag: string, v: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new Error(`--${flag}: "${v}" is not a port (0-65535)`);
  return Number(v);
}

/** HOST:PORT, the host a name, an IPv4 address or an IPv6 address in brackets (returned without them). */
function hostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([^:\]]*)$/.exec(v);
  if (!m) throw new Error(`--${flag} ${v}: expected HOST:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: tcpPort(flag, m[2]!) };
}

function notifyEndpointOf(command: string, v: string | undefined): { notifyEndpoint?: string } {
  if (v === undefined) return {};
  if (command !== 'dev') throw new Error('--notify-endpoint is a dev option: with serve, set spec.notifications on the KmipClientCredential');
  hostPort('notify-endpoint', v);
  return { notifyEndpoint: v };
}

/**
 * --metrics-listen HOST:PORT: plain HTTP, so never a port a KMIP (mutual TLS) listener has; the
 * port must be given (0 picks a free one).
 */
function metricsListenOf(v: string | undefined, kmip: Array<{ host: string; port: number }>): { host: string; port: number } | undefined {
  if (v === undefined) return undefined;
  const l = hostPort('metrics-listen', v);
  if (l.port !== 0 && kmip.some((k) => k.port === l.port)) throw new Error(`--metrics-listen ${v}: port ${l.port} is a KMIP listener's; give metrics a port of their own`);
  return l;
}
