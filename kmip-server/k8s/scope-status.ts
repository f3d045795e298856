/**
 * The server's side of a KmipScope's lifecycle. The server holds the managed objects, so it
 * reports how many each scope holds, and it deletes them when a scope goes with deletionPolicy
 * Force; the operator decides from these reports when the scope may go
 * (operator/controllers/scope.ts).
 *
 * Reports: for every KmipScope the policy source holds, status.objectCount (objects that still
 * hold key material; destroyed ones, kept as metadata, are not counted), objectCountTime (when
 * counted) and objectCountGeneration (the scope's metadata.generation the count was made for),
 * written by server-side apply on the status subresource under the field manager
 * `kube-kmip-server`, with the resourceVersion it was read at (a scope changed or re-created
 * meanwhile refuses the write; the change brings another pass). The operator owns the conditions.
 * A pass runs at start, soon after the scopes change, at most `debounceMs` after writes through
 * the store (`notifyingWrites`), and every `intervalMs`. A status is written only when its count
 * or generation differ, or it is older than the interval, so replicas sharing a store
 * (configmap) mostly find the work done. Requesting deletion raises metadata.generation: a count
 * for the current generation was made after this server saw the deletion.
 *
 * Deletion:
 * - Force, objects left: the pass deletes them with `store.deleteScope` (the objects and the
 *   scope's data key), records a Normal Event ObjectsDeleted, and counts again (a write that raced
 *   in is caught by the next pass). The policy leaves such a scope out, so nothing new arrives.
 * - Retain: the scope stays in force, so its clients can still destroy what holds the deletion.
 * - A scope seen being deleted and now gone: what is left of it in the store (destroyed objects,
 *   the data key) is removed. A server restarted in between leaves that unreachable metadata.
 *
 * Needs RBAC: get/patch on kmipscopes/status (besides list/watch on kmipscopes for the policy),
 * create on events (events.k8s.io).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { collectionPath, KubeApiError, type KubeClient } from './client.ts';
import type { ObjectStore, WriteOp } from '../store/types.ts';

export const SCOPE_STATUS_FIELD_MANAGER = 'kube-kmip-server';
const API_VERSION = 'kubekmip.io/v1alpha1';

/** The KmipScope fields read here (the full schema lives in operator/api/scope.ts). */
export interface ScopeResource {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; deletionTimestamp?: string };
  spec?: { deletionPolicy?: unknown };
  status?: { objectCount?: unknown; objectCountTime?: unknown; objectCountGeneration?: unknown };
}

/** Where the reporter learns the scopes: the Kubernetes policy source. Emits 'change' when they may have changed. */
export interface ScopeSource {
  scopeResources(): readonly ScopeResource[];
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

export interface ScopeStatusReporterOptions {
  client: KubeClient;
  store: ObjectStore;
  scopes: ScopeSource;
  /** Recount every scope this often; an unchanged status is rewritten when older than this. Default 60 s. */
  intervalMs?: number;
  /** A write is reported at most this long after it. Default 2 s. */
  debounceMs?: number;
  logger?: Logger;
  now?: () => Date;
}

/** Scope changes are coalesced for this long before a pass (one watch burst, one pass). */
const CHANGE_DELAY_MS = 50;
/** After a failed pass, try again this soon (or at the interval, if sooner). */
const RETRY_MS = 5000;

export class ScopeStatusReporter {
  readonly #client: KubeClient;
  readonly #store: ObjectStore;
  readonly #scopes: ScopeSource;
  readonly #interval: number;
  readonly #debounce: number;
  readonly #log: Logger | undefined;
  readonly #now: () => Date;
  readonly #onChange = () => this.#schedule(CHANGE_DELAY_MS);
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Infinity;
  #ticker: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** Scopes seen with a deletionTimestamp, by uid ("namespace/name" for the log). */
  readonly #deleting = new Map<string, string>();
  /** Counters: passes completed, status writes, Force purges, failed passes (tests, metrics). */
  readonly stats = { passes: 0, writes: 0, scopesDeleted: 0, errors: 0 };

  constructor(opts: ScopeStatusReporterOptions) {
    this.#client = opts.client;
    this.#store = opts.store;
    this.#scopes = opts.scopes;
    this.#interval = opts.intervalMs ?? 60_000;
    this.#debounce = opts.debounceMs ?? 2000;
    this.#log = opts.logger;
    this.#now = opts.now ?? (() => new Date());
    if (!(this.#interval > 0)) throw new RangeError('intervalMs must be positive');
  }

  /** Starts reporting: a pass now, then on changes, writes and every interval. */
  static start(opts: ScopeStatusReporterOptions): ScopeStatusReporter {
    const r = new ScopeStatusReporter(opts);
    r.#scopes.on('change', r.#onChange);
    r.#ticker = setInterval(() => r.#schedule(0), r.#interval);
    r.#ticker.unref();
    r.#schedule(0);
    return r;
  }

  /** Tells the reporter that objects were written (see `notifyingWrites`). */
  written(): void {
    this.#schedule(this.#debounce);
  }

  /** Runs a pass no later than `ms` from now; an earlier one already planned stands. */
  #schedule(ms: number): void {
    if (this.#closed) return;
    const due = Date.now() + ms;
    if (due >= this.#dueAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dueAt = Infinity;
      void this.#pass();
    }, ms);
  }

  /** One pass at a time; a pass asked for during one runs right after it. */
  #pass(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = (async () => {
      try {
        await this.#report();
        this.stats.passes++;
      } catch (err) {
        this.stats.errors++;
        this.#log?.warn({ err: (err as Error).message }, 'reporting scope object counts failed; retrying');
        this.#schedule(Math.min(RETRY_MS, this.#interval));
      }
    })();
    this.#running = run.finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.#pass();
      }
    });
    return this.#running;
  }

  async #report(): Promise<void> {
    if (this.#closed) return;
    const counts = await this.#store.countByScope();
    const present = new Set<string>();
    let failure: unknown;
    for (const scope of this.#scopes.scopeResources()) {
      if (this.#closed) return;
      const { uid, namespace, name, deletionTimestamp } = scope.metadata ?? {};
      if (uid) present.add(uid);
      if (uid && deletionTimestamp) this.#deleting.set(uid, `${namespace}/${name}`);
      try {
        await this.#reportScope(scope, counts);
      } catch (err) {
        failure ??= err;
      }
    }
    // A scope seen being deleted and now gone is gone for good (a deletionTimestamp is never
    // withdrawn): what is left of it in the store (destroyed objects, kept as metadata, and its
    // data key) goes too. Nothing can reach it any more.
    for (const [uid, label] of this.#deleting) {
      if (present.has(uid) || this.#closed) continue;
      try {
        const removed = await this.#store.deleteScope(uid);
        this.#deleting.delete(uid);
        this.#log?.info({ scope: label, removed }, 'removed what was left in the store of a deleted scope');
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }

  async #reportScope(scope: ScopeResource, counts: ReadonlyMap<string, number>): Promise<void> {
    const { name, namespace, uid, resourceVersion, generation, deletionTimestamp } = scope.metadata ?? {};
    if (!name || !namespace || !uid || !resourceVersion || generation === undefined) return;
    const label = `${namespace}/${name}`;
    let count = counts.get(uid) ?? 0;
    if (deletionTimestamp && scope.spec?.deletionPolicy === 'Force' && count > 0) {
      const removed = await this.#store.deleteScope(uid);
      this.stats.scopesDeleted++;
      this.#log?.info({ scope: label, removed }, 'deleted the objects and the data key of a scope deleted with deletionPolicy Force');
      await this.#event(scope, 'ObjectsDeleted', `deleted ${removed} managed object${removed === 1 ? '' : 's'} and the scope's data key (deletionPolicy Force)`);
      count = (await this.#store.countByScope()).get(uid) ?? 0;
    }
    const st = scope.status ?? {};
    const at = typeof st.objectCountTime === 'string' ? Date.parse(st.objectCountTime) : NaN;
    const now = this.#now();
    // Less a tenth, so a pass on the interval does not just miss the one before it.
    const recent = now.getTime() - at < this.#interval * 0.9;
    if (st.objectCount === count && st.objectCountGeneration === generation && recent) return;
    const status = { objectCount: count, objectCountTime: now.toISOString(), objectCountGeneration: generation };
    try {
      await this.#client.request(
        'PATCH',
        `${collectionPath(API_VERSION, 'kmipscopes', namespace)}/${encodeURIComponent(name)}/status`,
        {
          // The resourceVersion makes the apply a compare-and-swap: it fails rather than land on a
          // scope changed since (or re-created under the same name); the change that moved the
          // resourceVersion reaches the policy source and brings another pass.
          body: { apiVersion: API_VERSION, kind: 'KmipScope', metadata: { name, namespace, resourceVersion }, status },
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: SCOPE_STATUS_FIELD_MANAGER, force: true },
        },
      );
      this.stats.writes++;
    } catch (err) {
      // Gone, or changed since it was read: the next pass reports on what it became.
      if (err instanceof KubeApiError && (err.notFound || err.conflict)) return;
      throw new Error(`failed to report the object count of KmipScope ${label}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A Normal Event about the scope, for `kubectl describe`; a failure to record one is only logged. */
  async #event(scope: ScopeResource, reason: string, note: string): Promise<void> {
    const { name, namespace, uid } = scope.metadata ?? {};
    const now = this.#now();
    try {
      await this.#client.request('POST', collectionPath('events.k8s.io/v1', 'events', namespace), {
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
          eventTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'), // MicroTime
          type: 'Normal',
          reason,
          action: 'Delete',
          note,
          reportingController: 'kubekmip.io/kmip-server',
          reportingInstance: hostname().slice(0, 128),
          regarding: { apiVersion: API_VERSION, kind: 'KmipScope', name, namespace, uid },
        },
      });
    } catch (err) {
      this.#log?.warn({ scope: `${namespace}/${name}`, reason, err: (err as Error).message }, 'could not record an event');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#scopes.off('change', this.#onChange);
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#ticker) clearInterval(this.#ticker);
    await this.#running;
  }
}

/**
 * `store`, with every successful write also calling `onWrite`. Reads and the other methods go
 * straight through.
 */
export function notifyingWrites(store: ObjectStore, onWrite: (ops: readonly WriteOp[]) => void): ObjectStore {
  return {
    get: (scope, uid) => store.get(scope, uid),
    list: (scope, filter) => store.list(scope, filter),
    count: (scope) => store.count(scope),
    countByScope: () => store.countByScope(),
    deleteScope: (scope) => store.deleteScope(scope),
    close: () => store.close(),
    async write(ops) {
      await store.write(ops);
      onWrite(ops);
    },
  };
}
