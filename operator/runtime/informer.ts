/**
 * An informer: a local cache of one resource type kept current by list + watch, telling handlers
 * what changed.
 *
 * Watches can go quiet without closing (a half-dead connection, a proxy that stops forwarding), so:
 * - a watchdog restarts a watch that has sent nothing (not even a bookmark) for `watchdogMs`;
 * - the server is asked to end each watch after a randomised `timeoutSeconds`, and it is resumed
 *   from the last resourceVersion seen;
 * - every `resyncMs` the informer relists everything, delivers what it missed and hands every
 *   object to the handlers again as an update, so level-based controllers re-check the world;
 * - a 410 Gone (the resourceVersion is too old) or any error leads to a fresh list, after a backoff
 *   when errors repeat.
 */
import type { Logger } from 'pino';
import { isGone, type KubeClient, type KubeObject, type ResourceType, type WatchEvent } from './client.ts';
import type { OperatorMetrics } from './metrics.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old: T | undefined) => void;

export interface InformerOptions {
  /** Only this namespace (default: all). */
  namespace?: string;
  labelSelector?: string;
  /**
   * Cache only metadata (PartialObjectMetadata): enough to map Secrets to their owners, without
   * holding their data (keys) in memory. Controllers GET the full object when they need it.
   */
  metadataOnly?: boolean;
  /** Full relist and resync period. Default 10 minutes. */
  resyncMs?: number;
  /** A watch silent this long is restarted. Default 2 minutes. */
  watchdogMs?: number;
  /** Server-side watch timeout range, in seconds. Default 300..600. */
  watchTimeoutSeconds?: [number, number];
  logger: Logger;
  metrics?: OperatorMetrics;
}

export const objectKey = (o: KubeObject): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');

type StopReason = 'closed' | 'silent' | 'gone' | 'relist' | 'stopped';

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  readonly #client: KubeClient;
  readonly #opts: InformerOptions;
  readonly #log: Logger;
  readonly #cache = new Map<string, T>();
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #syncWaiters: (() => void)[] = [];
  #resourceVersion = '';
  #synced = false;
  #running = false;
  #relistDue = false;
  #watch: { abort: AbortController; reason: StopReason } | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #stopped = new AbortController();

  constructor(client: KubeClient, type: ResourceType, opts: InformerOptions) {
    this.type = type;
    this.#client = client;
    this.#opts = opts;
    this.#log = opts.logger.child({ informer: type.plural, ...(opts.labelSelector ? { selector: opts.labelSelector } : {}) });
  }

  /** Handlers run synchronously on the informer's loop; they should only enqueue keys. */
  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
    // A handler added after the first list still hears of every object once.
    for (const obj of this.#cache.values()) this.#call(handler, 'add', obj, undefined);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((res) => this.#syncWaiters.push(res));
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopped = new AbortController();
    const resync = this.#opts.resyncMs ?? 10 * 60_000;
    this.#resyncTimer = setInterval(() => {
      this.#relistDue = true;
      this.#endWatch('relist');
    }, resync);
    this.#resyncTimer.unref();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#resyncTimer);
    this.#stopped.abort();
    this.#endWatch('stopped');
    await this.#loop;
  }

  #endWatch(reason: StopReason): void {
    if (!this.#watch) return;
    this.#watch.reason = reason;
    this.#watch.abort.abort();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        if (!this.#resourceVersion || this.#relistDue) await this.#relist();
        const started = Date.now();
        const reason = await this.#watchOnce();
        if (reason === 'stopped') break;
        if (reason === 'gone') this.#resourceVersion = '';
        if (reason !== 'relist') this.#opts.metrics?.watchRestarts.inc({ resource: this.type.plural, reason });
        if (reason === 'silent') this.#log.warn('watch was silent too long; restarted');
        // A watch the server ends at once, again and again, must not spin: back off as for errors.
        if (reason === 'closed' && Date.now() - started < 1000) {
          failures++;
          await sleep(Math.min(250 * 2 ** (failures - 1), 30_000), this.#stopped.signal);
        } else {
          failures = 0;
        }
      } catch (err) {
        if (!this.#running) break;
        this.#resourceVersion = '';
        if (isGone(err)) {
          this.#opts.metrics?.watchRestarts.inc({ resource: this.type.plural, reason: 'gone' });
          continue;
        }
        failures++;
        this.#opts.metrics?.watchRestarts.inc({ resource: this.type.plural, reason: 'error' });
        const delay = Math.min(250 * 2 ** (failures - 1), 30_000);
        this.#log.warn({ err: (err as Error).message, retryInMs: delay }, 'list/watch failed');
        await sleep(delay, this.#stopped.signal);
      }
    }
  }

  async #relist(): Promise<void> {
    const resync = this.#relistDue;
    this.#relistDue = false;
    const list = await this.#client.list<T>(this.type, this.#opts.namespace, {
      ...(this.#opts.labelSelector ? { labelSelector: this.#opts.labelSelector } : {}),
      ...(this.#opts.metadataOnly ? { metadataOnly: true } : {}),
    });
    this.#opts.metrics?.relists.inc({ resource: this.type.plural });
    const seen = new Set<string>();
    for (const obj of list.items) {
      // List items carry no apiVersion/kind; handlers and controllers may want them.
      const item = this.#typed(obj);
      const key = objectKey(item);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, item);
      if (!old) this.#emit('add', item, undefined);
      else if (resync || old.metadata.resourceVersion !== item.metadata.resourceVersion) this.#emit('update', item, old);
    }
    for (const [key, old] of [...this.#cache]) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#emit('delete', old, old);
    }
    this.#resourceVersion = list.metadata.resourceVersion ?? '';
    if (!this.#synced) {
      this.#synced = true;
      this.#log.debug({ objects: this.#cache.size }, 'synced');
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  async #watchOnce(): Promise<StopReason> {
    if (!this.#running) return 'stopped'; // stopped while listing
    const [lo, hi] = this.#opts.watchTimeoutSeconds ?? [300, 600];
    const w = { abort: new AbortController(), reason: 'closed' as StopReason };
    this.#watch = w;
    const watchdogMs = this.#opts.watchdogMs ?? 120_000;
    let dog: NodeJS.Timeout | undefined;
    const pet = () => {
      clearTimeout(dog);
      dog = setTimeout(() => this.#endWatch('silent'), watchdogMs);
      dog.unref();
    };
    pet();
    try {
      await this.#client.watch<T>(this.type, this.#opts.namespace, {
        resourceVersion: this.#resourceVersion,
        timeoutSeconds: Math.floor(lo + Math.random() * (hi - lo)),
        labelSelector: this.#opts.labelSelector,
      }, (e) => this.#onEvent(e, w), { signal: w.abort.signal, onActivity: pet, ...(this.#opts.metadataOnly ? { metadataOnly: true } : {}) });
    } catch (err) {
      if (!w.abort.signal.aborted) throw err;
    } finally {
      clearTimeout(dog);
      this.#watch = undefined;
    }
    return this.#running ? w.reason : 'stopped';
  }

  #onEvent(e: WatchEvent<T>, w: { abort: AbortController; reason: StopReason }): void {
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number; message?: string };
      if (status.code === 410) {
        w.reason = 'gone';
      } else {
        this.#log.warn({ code: status.code, message: status.message }, 'watch reported an error; relisting');
        this.#resourceVersion = '';
      }
      w.abort.abort();
      return;
    }
    const obj = this.#typed(e.object);
    const rv = obj.metadata.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    if (e.type === 'DELETED') {
      this.#cache.delete(key);
      this.#emit('delete', obj, old);
      return;
    }
    if (old && old.metadata.resourceVersion === rv) return;
    this.#cache.set(key, obj);
    this.#emit(old ? 'update' : 'add', obj, old);
  }

  #typed(obj: T): T {
    if (obj.apiVersion && obj.kind) return obj;
    const apiVersion = this.type.group ? `${this.type.group}/${this.type.version}` : this.type.version;
    return { ...obj, apiVersion, kind: this.type.kind };
  }

  #emit(event: InformerEvent, obj: T, old: T | undefined): void {
    for (const h of this.#handlers) this.#call(h, event, obj, old);
  }

  #call(h: InformerHandler<T>, event: InformerEvent, obj: T, old: T | undefined): void {
    try {
      h(event, obj, old);
    } catch (err) {
      this.#log.error({ err: (err as Error).message, event, object: objectKey(obj) }, 'informer handler threw');
    }
  }
}
