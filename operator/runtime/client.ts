/**
 * A small typed REST client for the Kubernetes API: get, list, watch, server-side apply, merge
 * patch, create, replace and delete on any resource type, by path.
 *
 * Authentication and TLS come from client-node's KubeConfig (kubeconfig file, in-cluster service
 * account, exec plugins): `applyToHTTPSOptions` is asked before every request, so rotating tokens
 * are picked up. The transport is node:https with one keep-alive agent. Why not the generated API
 * classes: client-node 2.x builds a new undici Agent (a new TLS connection) for every call, and
 * its patch methods need a middleware (`setHeaderOptions('Content-Type',
 * PatchStrategy.ServerSideApply)`) to send an apply patch; here the content type is simply set.
 */
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import type { ObjectMeta } from '../api/kind.ts';

/** The field manager every write of the operator uses (server-side apply ownership). */
export const FIELD_MANAGER = 'kube-kmip-operator';

/** Where a kind lives in the API. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);

// One definition of object metadata for the CRD types and the runtime alike.
export type { ObjectMeta };
export type OwnerReference = NonNullable<ObjectMeta['ownerReferences']>[number];

/** Any object the API server returns. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** A failed API call: the HTTP status and the Status object's reason and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.status === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.status === 409 && err.reason === 'AlreadyExists';
/** HTTP 410: the resourceVersion a watch or list asked for is older than etcd keeps. */
export const isGone = (err: unknown): boolean => err instanceof ApiError && err.status === 410;

type Query = Record<string, string | number | boolean | undefined>;

/** Accept headers asking for PartialObjectMetadata: names, labels, annotations, owners; no data. */
export const METADATA_ONLY = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
  object: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json',
} as const;

export interface RequestOptions {
  query?: Query;
  accept?: string;
  body?: unknown;
  contentType?: string;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface DeleteOptions {
  /** Delete only this incarnation of the object / this version of it. */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export class KubeClient {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly #agent = new https.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.#kc = kc;
    this.#server = new URL(cluster.server);
  }

  /** From a kubeconfig file, or in-cluster configuration when `path` is undefined and it is available. */
  static load(path?: string): KubeClient {
    const kc = new KubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  get server(): string {
    return this.#server.origin;
  }

  close(): void {
    this.#agent.destroy();
  }

  /** The path of a collection (`name` undefined) or an object, optionally of a subresource. */
  path(t: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
    const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const obj = name !== undefined ? `/${encodeURIComponent(name)}` : '';
    return `${base}${ns}/${t.plural}${obj}${subresource ? `/${subresource}` : ''}`;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.#send(method, path, opts);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (status >= 400) {
      const s = (parsed ?? {}) as { reason?: string; message?: string };
      throw new ApiError(status, s.reason ?? '', `${method} ${path}: HTTP ${status}: ${s.message ?? text.slice(0, 500)}`);
    }
    return parsed as T;
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string, opts: { timeoutMs?: number } = {}): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', this.path(t, namespace, name), opts);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(
    t: ResourceType, namespace?: string, opts: { labelSelector?: string; fieldSelector?: string; metadataOnly?: boolean } = {},
  ): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<ObjectList<T>>('GET', this.path(t, namespace), {
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: 500, continue: cont },
        ...(opts.metadataOnly ? { accept: METADATA_ONLY.list } : {}),
      });
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, metadata: { ...(resourceVersion !== undefined ? { resourceVersion } : {}) } };
  }

  /**
   * Server-side apply of `obj` (it must carry apiVersion, kind, name and, if namespaced, namespace)
   * with the operator's field manager, forcing ownership of the fields it sets. With
   * `subresource: 'status'` only status is applied, and the object must exist (no create).
   */
  async apply<T extends KubeObject>(t: ResourceType, obj: KubeObject, opts: { subresource?: 'status'; force?: boolean } = {}): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error(`apply ${t.kind}: metadata.name is required`);
    return this.request<T>('PATCH', this.path(t, obj.metadata.namespace, name, opts.subresource), {
      query: { fieldManager: FIELD_MANAGER, force: opts.force ?? true },
      body: { ...obj, apiVersion: apiVersionOf(t), kind: t.kind },
      contentType: PatchStrategy.ServerSideApply,
    });
  }

  /** JSON merge patch (RFC 7386). Never creates: a missing object is a 404. */
  async mergePatch<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', this.path(t, namespace, name, subresource), {
      query: { fieldManager: FIELD_MANAGER },
      body: patch,
      contentType: PatchStrategy.MergePatch,
    });
  }

  async create<T extends KubeObject>(t: ResourceType, obj: KubeObject, opts: { timeoutMs?: number } = {}): Promise<T> {
    return this.request<T>('POST', this.path(t, obj.metadata.namespace), {
      ...opts,
      query: { fieldManager: FIELD_MANAGER },
      body: { ...obj, apiVersion: apiVersionOf(t), kind: t.kind },
    });
  }

  /** PUT: optimistic concurrency on obj.metadata.resourceVersion (409 when someone else wrote first). */
  async replace<T extends KubeObject>(t: ResourceType, obj: KubeObject, opts: { timeoutMs?: number } = {}): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error(`replace ${t.kind}: metadata.name is required`);
    return this.request<T>('PUT', this.path(t, obj.metadata.namespace, name), {
      ...opts,
      query: { fieldManager: FIELD_MANAGER },
      body: { ...obj, apiVersion: apiVersionOf(t), kind: t.kind },
    });
  }

  /** Deletes the object; false when it was already gone. */
  async delete(t: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.request('DELETE', this.path(t, namespace, name), {
        body: {
          apiVersion: 'v1', kind: 'DeleteOptions',
          ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
          ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
        },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * One watch request: calls `onEvent` for each event and `onActivity` whenever bytes arrive
   * (bookmarks included), resolves when the server ends the stream, rejects on an HTTP error or a
   * broken connection. Abort `signal` to end it early (it then resolves).
   */
  async watch<T>(
    t: ResourceType,
    namespace: string | undefined,
    query: Query,
    onEvent: (e: WatchEvent<T>) => void,
    opts: { signal: AbortSignal; onActivity?: () => void; metadataOnly?: boolean },
  ): Promise<void> {
    const path = this.path(t, namespace);
    const res = await this.#send('GET', path, {
      query: { ...query, watch: true, allowWatchBookmarks: true },
      timeoutMs: 0,
      ...(opts.metadataOnly ? { accept: METADATA_ONLY.object } : {}),
    }, opts.signal);
    if ((res.statusCode ?? 0) >= 400) {
      const text = await readBody(res);
      let s: { reason?: string; message?: string } = {};
      try {
        s = JSON.parse(text) as typeof s;
      } catch { /* not JSON */ }
      throw new ApiError(res.statusCode ?? 0, s.reason ?? '', `watch ${path}: HTTP ${res.statusCode}: ${s.message ?? text.slice(0, 500)}`);
    }
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        opts.onActivity?.();
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          let event: WatchEvent<T>;
          try {
            event = JSON.parse(line) as WatchEvent<T>;
          } catch {
            continue; // a line we cannot read is skipped; the periodic relist repairs what it hid
          }
          onEvent(event);
        }
      });
      res.on('end', () => resolve());
      res.on('error', (err) => (opts.signal.aborted ? resolve() : reject(err)));
      res.on('close', () => resolve());
    });
  }

  async #send(method: string, path: string, opts: RequestOptions, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(path, this.#server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const tls: https.RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(tls);
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string | number> = {
      ...(tls.headers as Record<string, string> | undefined),
      accept: opts.accept ?? 'application/json',
      'user-agent': FIELD_MANAGER,
    };
    if (payload !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(url, {
        method,
        agent: this.#agent,
        headers,
        ca: tls.ca, cert: tls.cert, key: tls.key, pfx: tls.pfx, passphrase: tls.passphrase,
        ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
        ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
        ...(signal ? { signal } : {}),
      }, resolve);
      const timeout = opts.timeoutMs ?? 30_000;
      if (timeout > 0) req.setTimeout(timeout, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeout} ms`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}
