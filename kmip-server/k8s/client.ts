/**
 * A small JSON client for the Kubernetes API, for the server's hot paths (object store, policy
 * watches): keep-alive connections, raw JSON in and out (no model (de)serialisation), typed errors
 * carrying the API's Status reason, and watch streams the caller can abort.
 *
 * Authentication comes from a @kubernetes/client-node KubeConfig (client certificates, bearer
 * tokens, in-cluster service-account tokens that rotate, exec/auth plugins): the TLS material is
 * read once for the connection pool, the Authorization header is re-derived at most once a second.
 *
 * Nothing here logs; error messages carry the method, path and the API's message, never a
 * request body (the object store's bodies hold sealed key material).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** The Kubernetes `Status` object an API error carries. */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

/** The API answered with an error status, or the request failed in transport (`status` 0). */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API_ERROR';
  /** HTTP status; 0 when no answer arrived (connection error, timeout). */
  readonly status: number;
  /** The Status reason (NotFound, AlreadyExists, Conflict, Expired, Gone, Invalid, ...). */
  readonly reason: string | undefined;
  readonly apiMessage: string | undefined;
  constructor(method: string, path: string, status: number, st: KubeStatus | undefined, cause?: unknown) {
    const what = status === 0 ? `transport error: ${(cause as Error | undefined)?.message ?? 'unknown'}` : `HTTP ${status}${st?.reason ? ` ${st.reason}` : ''}`;
    super(`Kubernetes API ${method} ${path.split('?')[0]}: ${what}${st?.message ? `: ${st.message}` : ''}`, cause ? { cause } : undefined);
    this.status = status;
    this.reason = st?.reason;
    this.apiMessage = st?.message;
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  /** 409: AlreadyExists on create, Conflict on a stale resourceVersion or failed precondition. */
  get conflict(): boolean {
    return this.status === 409;
  }
  /** 410 Gone / Expired: a resourceVersion or continue token too old to serve. */
  get gone(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
  /**
   * The request may or may not have taken effect: no answer arrived, or the server failed in a
   * way that does not say (timeouts, 5xx). A 4xx is a definite refusal.
   */
  get ambiguous(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** The fields every Kubernetes object has that this code looks at. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
}

export interface KubeList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Serialised as JSON. */
  body?: unknown;
  /** Default application/json (merge patches: application/merge-patch+json). */
  contentType?: string;
  timeoutMs?: number;
}

export interface KubeClientOptions {
  /** Per-request time limit (not for watches). Default 30 s. */
  timeoutMs?: number;
  /** Most concurrent connections for ordinary requests. Default 32. */
  maxSockets?: number;
  userAgent?: string;
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Transport errors after which a GET is simply retried once (a keep-alive socket the server closed). */
const RETRYABLE_TRANSPORT = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export class KubeClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #agent: http.Agent;
  readonly #watchAgent: http.Agent;
  readonly #mod: typeof http | typeof https;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  #headers: Record<string, string> = {};
  #headersAt = 0;
  #headersPending: Promise<Record<string, string>> | undefined;

  private constructor(kc: KubeConfig, server: string, tlsOpts: https.AgentOptions, opts: KubeClientOptions) {
    this.#kc = kc;
    this.server = server.replace(/\/+$/, '');
    const secure = this.server.startsWith('https:');
    this.#mod = secure ? https : http;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#userAgent = opts.userAgent ?? 'kube-kmip';
    const common = { ...tlsOpts };
    // Idle pooled sockets are dropped after 30 s, well before the API server's own idle timeout,
    // so a request rarely meets a socket the server has just closed.
    this.#agent = secure
      ? new https.Agent({ ...common, keepAlive: true, maxSockets: opts.maxSockets ?? 32, timeout: 30_000 })
      : new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 32, timeout: 30_000 });
    // Watches hold their connection for minutes with gaps between events: their own pool, no idle timeout.
    this.#watchAgent = secure ? new https.Agent({ ...common, keepAlive: false }) : new http.Agent({ keepAlive: false });
  }

  static async fromKubeConfig(kc: KubeConfig, opts: KubeClientOptions = {}): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const o: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(o);
    const tlsOpts: https.AgentOptions = {};
    if (o.ca) tlsOpts.ca = o.ca;
    if (o.cert) tlsOpts.cert = o.cert;
    if (o.key) tlsOpts.key = o.key;
    if (o.rejectUnauthorized !== undefined) tlsOpts.rejectUnauthorized = o.rejectUnauthorized;
    if (o.servername) tlsOpts.servername = o.servername;
    if (cluster.skipTLSVerify) tlsOpts.rejectUnauthorized = false;
    return new KubeClient(kc, cluster.server, tlsOpts, opts);
  }

  /** Authorization (and impersonation) headers, re-derived from the kubeconfig at most once a second. */
  async #authHeaders(): Promise<Record<string, string>> {
    if (Date.now() - this.#headersAt < 1000) return this.#headers;
    this.#headersPending ??= (async () => {
      try {
        const o: https.RequestOptions = { headers: {} };
        await this.#kc.applyToHTTPSOptions(o);
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(o.headers ?? {})) if (typeof v === 'string') h[k] = v;
        if (o.auth) h['Authorization'] = `Basic ${Buffer.from(o.auth).toString('base64')}`;
        this.#headers = h;
        this.#headersAt = Date.now();
        return h;
      } finally {
        this.#headersPending = undefined;
      }
    })();
    return this.#headersPending;
  }

  /** A request; resolves with the parsed JSON body of a 2xx answer, rejects with KubeApiError otherwise. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const full = path + queryString(opts.query);
    try {
      return await this.#once<T>(method, full, opts);
    } catch (err) {
      // A reused keep-alive socket the server had closed: retry reads once.
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      if (method === 'GET' && err instanceof KubeApiError && err.status === 0 && cause?.code && RETRYABLE_TRANSPORT.has(cause.code)) {
        return this.#once<T>(method, full, opts);
      }
      throw err;
    }
  }

  async #once<T>(method: string, full: string, opts: RequestOptions): Promise<T> {
    const headers: Record<string, string> = {
      ...(await this.#authHeaders()),
      Accept: 'application/json',
      'User-Agent': this.#userAgent,
    };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const url = new URL(this.server + full);
    return new Promise<T>((resolve, reject) => {
      const req = this.#mod.request(url, { method, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new KubeApiError(method, full, 0, undefined, e)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(body as T);
          else {
            const st = body && typeof body === 'object' ? (body as KubeStatus) : { message: text.slice(0, 500) };
            reject(new KubeApiError(method, full, status, st));
          }
        });
      });
      req.setTimeout(opts.timeoutMs ?? this.#timeoutMs, () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? this.#timeoutMs} ms`)));
      req.on('error', (e) => reject(new KubeApiError(method, full, 0, undefined, e)));
      req.end(payload);
    });
  }

  /** GET that resolves undefined on 404. */
  async get<T>(path: string, query?: Query): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, query ? { query } : {});
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return undefined;
      throw err;
    }
  }

  /** Every item of a collection, following `continue` tokens; the list's resourceVersion. */
  async listAll<T>(path: string, query: Query = {}, pageSize = 500): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.request<KubeList<T>>('GET', path, { query: { ...query, limit: pageSize, continue: cont } });
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  /**
   * Opens a watch and calls `onEvent` for each event, in order. Resolves when the server ends the
   * stream (or `signal` aborts it); rejects with KubeApiError when the watch cannot start or the
   * connection fails. `onActivity` is called for every chunk received (watchdogs).
   */
  async watch<T = KubeObject>(
    path: string,
    query: Query,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
    onActivity?: () => void,
  ): Promise<void> {
    const full = path + queryString({ ...query, watch: 1 });
    const headers = { ...(await this.#authHeaders()), Accept: 'application/json', 'User-Agent': this.#userAgent };
    const url = new URL(this.server + full);
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const req = this.#mod.request(url, { method: 'GET', headers, agent: this.#watchAgent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let st: KubeStatus | undefined;
            try {
              st = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeStatus;
            } catch {
              st = undefined;
            }
            settle(new KubeApiError('WATCH', full, status, st));
          });
          res.on('error', (e) => settle(new KubeApiError('WATCH', full, 0, undefined, e)));
          return;
        }
        let pending: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          onActivity?.();
          let start = 0;
          for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
            const line = pending.length > 0 ? Buffer.concat([...pending, chunk.subarray(start, nl)]) : chunk.subarray(start, nl);
            pending = [];
            start = nl + 1;
            if (line.length === 0) continue;
            let ev: WatchEvent<T>;
            try {
              ev = JSON.parse(line.toString('utf8')) as WatchEvent<T>;
            } catch {
              req.destroy();
              settle(new KubeApiError('WATCH', full, 0, undefined, new Error('unparseable watch event')));
              return;
            }
            if (settled) return;
            try {
              onEvent(ev);
            } catch (err) {
              req.destroy();
              settle(err);
              return;
            }
          }
          if (start < chunk.length) pending.push(chunk.subarray(start));
        });
        res.on('end', () => settle());
        res.on('error', (e) => settle(new KubeApiError('WATCH', full, 0, undefined, e)));
        res.on('close', () => settle());
      });
      const onAbort = () => {
        req.destroy();
        settle();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => settle(new KubeApiError('WATCH', full, 0, undefined, e)));
      req.end();
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.#agent.destroy();
    this.#watchAgent.destroy();
  }
}

/** `/api/v1/namespaces/NS/<plural>` or `/apis/<group>/<version>/...`; all namespaces when `namespace` is undefined. */
export function collectionPath(apiVersion: string, plural: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}
