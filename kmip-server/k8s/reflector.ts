/**
 * List-then-watch of one collection, kept running: the informer loop under the policy source and
 * the ConfigMap store's cache.
 *
 * - The initial list (paginated) is handed to `replace`; `start()` resolves once it is applied.
 * - A watch from the list's resourceVersion follows, with bookmarks; each event goes to `apply`.
 * - Watchdog: a watch that delivers nothing (no event, no bookmark; the API server sends a
 *   bookmark about every minute) for `watchdogMs` is abandoned and reopened from the last
 *   resourceVersion: a half-open connection cannot freeze the cache.
 * - Periodic relist every `relistMs`: a fresh list replaces the cache, repairing anything a missed
 *   event could have left wrong. A 410 Gone (resourceVersion too old) relists at once.
 * - Errors back off exponentially (1 s to 30 s) and are reported through `onError`; the loop keeps
 *   going until `stop()`.
 */
import type { KubeClient, KubeObject, WatchEvent } from './client.ts';
import { KubeApiError } from './client.ts';

export interface ReflectorHandler<T> {
  /** The complete collection as of `resourceVersion` (initial list and every relist). */
  replace(items: T[], resourceVersion: string): void;
  /** One watch event (ADDED, MODIFIED or DELETED), in order. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
}

export interface ReflectorOptions<T> {
  client: KubeClient;
  /** Collection path, e.g. /api/v1/namespaces/ns/configmaps (see collectionPath). */
  path: string;
  labelSelector?: string;
  handler: ReflectorHandler<T>;
  /** Reopen a watch silent for this long. Default 90 s (> the API server's 1-minute bookmarks). */
  watchdogMs?: number;
  /** Full relist period. Default 10 min; 0 disables. */
  relistMs?: number;
  /** Server-side watch timeout (the server ends the watch cleanly). Default 5 min, jittered. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  onError?: (err: unknown) => void;
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  watchdogRestarts: number;
  events: number;
  errors: number;
  /** Date.now() of the last successful list and the last watch activity. */
  lastListAt: number;
  lastActivityAt: number;
  resourceVersion: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Reflector<T extends KubeObject = KubeObject> {
  readonly #o: Required<Omit<ReflectorOptions<T>, 'labelSelector' | 'onError'>> & Pick<ReflectorOptions<T>, 'labelSelector' | 'onError'>;
  readonly #stop = new AbortController();
  #watchAbort: AbortController | undefined;
  #needList = true;
  #running: Promise<void> | undefined;
  readonly #synced = Promise.withResolvers<void>();
  readonly stats: ReflectorStats = {
    lists: 0, watches: 0, watchdogRestarts: 0, events: 0, errors: 0, lastListAt: 0, lastActivityAt: 0, resourceVersion: '',
  };

  constructor(opts: ReflectorOptions<T>) {
    this.#o = {
      ...opts,
      watchdogMs: opts.watchdogMs ?? 90_000,
      relistMs: opts.relistMs ?? 10 * 60_000,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
      pageSize: opts.pageSize ?? 500,
    };
    // Unobserved rejections of `synced` must not crash the process when stop() comes first.
    this.#synced.promise.catch(() => {});
  }

  /** Starts the loop; resolves after the initial list has been handed to the handler. */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#synced.promise;
  }

  /** Resolves after the initial list (rejects if stopped first). */
  synced(): Promise<void> {
    return this.#synced.promise;
  }

  /** Forces a relist now (the current watch is closed and reopened after it). */
  relist(): void {
    this.#needList = true;
    this.#watchAbort?.abort();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#watchAbort?.abort();
    this.#synced.reject(new Error('reflector stopped'));
    await this.#running;
  }

  async #run(): Promise<void> {
    let backoff = 1000;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        if (this.#needList) await this.#list();
        await this.#watch();
        backoff = 1000;
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        if (err instanceof KubeApiError && err.gone) this.#needList = true;
        this.#o.onError?.(err);
        await sleep(backoff + Math.floor(Math.random() * 250), signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  async #list(): Promise<void> {
    const query = this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {};
    const { items, resourceVersion } = await this.#o.client.listAll<T>(this.#o.path, query, this.#o.pageSize);
    if (this.#stop.signal.aborted) return;
    this.#o.handler.replace(items, resourceVersion);
    this.stats.lists++;
    this.stats.lastListAt = Date.now();
    this.stats.resourceVersion = resourceVersion;
    this.#needList = false;
    this.#synced.resolve();
  }

  async #watch(): Promise<void> {
    const ac = new AbortController();
    this.#watchAbort = ac;
    if (this.#stop.signal.aborted) return;
    this.stats.watches++;
    this.stats.lastActivityAt = Date.now();
    let watchdogFired = false;
    const tick = setInterval(() => {
      const now = Date.now();
      if (now - this.stats.lastActivityAt > this.#o.watchdogMs) {
        watchdogFired = true;
        ac.abort();
      } else if (this.#o.relistMs > 0 && now - this.stats.lastListAt > this.#o.relistMs) {
        this.#needList = true;
        ac.abort();
      }
    }, Math.max(50, Math.min(1000, Math.floor(this.#o.watchdogMs / 4))));
    tick.unref();
    let gone = false;
    const openedAt = Date.now();
    try {
      const jitter = Math.floor(Math.random() * Math.max(1, this.#o.watchTimeoutSeconds / 5));
      await this.#o.client.watch<T>(
        this.#o.path,
        {
          resourceVersion: this.stats.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.#o.watchTimeoutSeconds + jitter,
          labelSelector: this.#o.labelSelector,
        },
        (ev: WatchEvent<T>) => {
          this.stats.lastActivityAt = Date.now();
          if (ev.type === 'ERROR') {
            const st = ev.object as { code?: number; reason?: string; message?: string };
            if (st.code === 410 || st.reason === 'Expired' || st.reason === 'Gone') {
              gone = true;
              ac.abort();
              return;
            }
            throw new Error(`watch error event: ${st.message ?? st.reason ?? 'unknown'}`);
          }
          const rv = ev.object?.metadata?.resourceVersion;
          if (ev.type !== 'BOOKMARK') {
            this.stats.events++;
            this.#o.handler.apply(ev.type, ev.object);
          }
          if (rv) this.stats.resourceVersion = rv;
        },
        ac.signal,
        () => (this.stats.lastActivityAt = Date.now()),
      );
    } finally {
      clearInterval(tick);
      this.#watchAbort = undefined;
    }
    if (gone) this.#needList = true;
    if (watchdogFired) this.stats.watchdogRestarts++;
    // A watch the server closes at once, again and again, must not become a busy loop.
    if (!ac.signal.aborted && Date.now() - openedAt < 1000) throw new Error('watch closed by the server right after it opened');
  }
}
