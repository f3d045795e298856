/**
 * Policy from the cluster: KmipScope, KmipRole and KmipClientCredential (kubekmip.io/v1alpha1) in
 * one namespace or in all of them, each kept by a Reflector (list, then watch with bookmarks, a
 * watchdog that reopens a silent watch, and a periodic relist; see k8s/reflector.ts).
 *
 * The resources become a PolicySnapshot through `policyFromResources`, the same function the file
 * source uses, so a cluster and a manifest directory grant exactly the same things.
 *
 * - `current()` is the empty policy (nobody gets in) until `ready()` resolves, i.e. until all three
 *   kinds have been listed once: a half-loaded policy would report spurious problems and could
 *   grant a credential before the role that narrows it arrives.
 * - After that, every applied watch event (and every relist that changed something) rebuilds the
 *   snapshot and emits 'change'. Events that arrive together (one network read) are coalesced
 *   into one rebuild, on the microtask queue: by the time any request is served, the snapshot
 *   reflects them. The server authenticates every request against `current()`, so an edited role
 *   or a deleted credential applies to the very next request, on open connections too.
 * - When the API server is unreachable the last snapshot stays in force (availability over
 *   freshness) while the reflectors retry; `status()` tells how old it is.
 *
 * Logged: resource names and policy problems. Never logged: resource bodies (an uploaded
 * certificate is public anyway; no private key ever passes through here).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { collectionPath, type KubeClient } from '../k8s/client.ts';
import { Reflector, type ReflectorHandler } from '../k8s/reflector.ts';
import { buildSnapshot, type PolicySnapshot, type PolicySource } from './model.ts';
import { API_GROUP, policyFromResources, type KubeResource, type PolicyProblem } from './resources.ts';

export const POLICY_API_VERSION = `${API_GROUP}/v1alpha1`;

const POLICY_KINDS = [
  { kind: 'KmipScope', plural: 'kmipscopes' },
  { kind: 'KmipRole', plural: 'kmiproles' },
  { kind: 'KmipClientCredential', plural: 'kmipclientcredentials' },
] as const;

export interface KubernetesPolicyOptions {
  client: KubeClient;
  /** Watch this namespace; undefined watches all namespaces (needs cluster-wide list/watch RBAC). */
  namespace?: string;
  logger?: Logger;
  /** Reflector tuning (see k8s/reflector.ts). */
  watchdogMs?: number;
  relistMs?: number;
  watchTimeoutSeconds?: number;
}

export interface KubernetesPolicyStatus {
  ready: boolean;
  /** Per kind: resources held, Date.now() of the last list and of the last watch activity. */
  kinds: Record<string, { count: number; lastListAt: number; lastActivityAt: number; watchdogRestarts: number; errors: number }>;
  problems: PolicyProblem[];
}

const rvOf = (r: KubeResource | undefined) => (r?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
const keyOf = (r: KubeResource) => `${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`;

/** The resources of one kind, as the reflector last reported them. */
class KindCache implements ReflectorHandler<KubeResource> {
  readonly kind: string;
  readonly items = new Map<string, KubeResource>();
  readonly #changed: () => void;
  constructor(kind: string, changed: () => void) {
    this.kind = kind;
    this.#changed = changed;
  }
  // List items of custom resources carry kind, but be sure: policyFromResources sorts by kind.
  #norm(r: KubeResource): KubeResource {
    return r.kind === this.kind ? r : { ...r, kind: this.kind };
  }
  replace(items: KubeResource[]): void {
    const next = new Map(items.map((r) => [keyOf(r), this.#norm(r)]));
    let changed = next.size !== this.items.size;
    for (const [k, r] of next) {
      if (rvOf(this.items.get(k)) !== rvOf(r)) changed = true;
    }
    this.items.clear();
    for (const [k, r] of next) this.items.set(k, r);
    if (changed) this.#changed();
  }
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', r: KubeResource): void {
    if (type === 'DELETED') this.items.delete(keyOf(r));
    else this.items.set(keyOf(r), this.#norm(r));
    this.#changed();
  }
}

export class KubernetesPolicySource extends EventEmitter implements PolicySource {
  readonly #log: Logger | undefined;
  readonly #caches: KindCache[];
  readonly #reflectors: Reflector<KubeResource>[];
  readonly #ready: Promise<void>;
  #isReady = false;
  #rebuildQueued = false;
  #closed = false;
  #snapshot: PolicySnapshot = buildSnapshot([], [], []);
  #problemKeys = new Set<string>();
  problems: PolicyProblem[] = [];

  constructor(opts: KubernetesPolicyOptions) {
    super();
    this.#log = opts.logger;
    const ns = opts.namespace;
    this.#caches = POLICY_KINDS.map((k) => new KindCache(k.kind, () => this.#queueRebuild()));
    this.#reflectors = POLICY_KINDS.map(
      (k, i) =>
        new Reflector<KubeResource>({
          client: opts.client,
          path: collectionPath(POLICY_API_VERSION, k.plural, ns),
          handler: this.#caches[i]!,
          ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
          ...(opts.relistMs !== undefined ? { relistMs: opts.relistMs } : {}),
          ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
          onError: (err) => this.#log?.warn({ kind: k.kind, namespace: ns ?? '*', err: (err as Error).message }, 'policy watch failed; retrying'),
        }),
    );
    this.#ready = Promise.all(this.#reflectors.map((r) => r.start())).then(() => {
      this.#isReady = true;
      this.#rebuild();
      this.#log?.info(
        { namespace: ns ?? '*', scopes: this.#snapshot.scopes.size, roles: this.#snapshot.roles.size, credentials: this.#caches[2]!.items.size },
        'policy loaded from Kubernetes',
      );
    });
    this.#ready.catch(() => {});
  }

  /** Starts watching (see the constructor options); resolves at once, see `ready()`. */
  static start(opts: KubernetesPolicyOptions): KubernetesPolicySource {
    return new KubernetesPolicySource(opts);
  }

  /** Resolves once all three kinds have been listed and the first snapshot is in force. */
  ready(): Promise<void> {
    return this.#ready;
  }

  current(): PolicySnapshot {
    return this.#snapshot;
  }

  status(): KubernetesPolicyStatus {
    const kinds: KubernetesPolicyStatus['kinds'] = {};
    this.#reflectors.forEach((r, i) => {
      const c = this.#caches[i]!;
      kinds[c.kind] = {
        count: c.items.size,
        lastListAt: r.stats.lastListAt,
        lastActivityAt: r.stats.lastActivityAt,
        watchdogRestarts: r.stats.watchdogRestarts,
        errors: r.stats.errors,
      };
    });
    return { ready: this.#isReady, kinds, problems: this.problems };
  }

  /**
   * The KmipScope resources as last listed or watched, including those being deleted (the
   * snapshot leaves those out); for the scope status reporter (k8s/scope-status.ts).
   */
  scopeResources(): KubeResource[] {
    return [...this.#caches[0]!.items.values()];
  }

  /** The reflectors' counters (tests, metrics). */
  reflectorStats(): Array<Reflector<KubeResource>['stats']> {
    return this.#reflectors.map((r) => r.stats);
  }

  #queueRebuild(): void {
    if (!this.#isReady || this.#rebuildQueued || this.#closed) return;
    this.#rebuildQueued = true;
    queueMicrotask(() => {
      this.#rebuildQueued = false;
      if (!this.#closed) this.#rebuild();
    });
  }

  #rebuild(): void {
    const resources: KubeResource[] = [];
    for (const c of this.#caches) resources.push(...c.items.values());
    const { snapshot, problems } = policyFromResources(resources);
    this.#snapshot = snapshot;
    this.problems = problems;
    const keys = new Set(problems.map((p) => `${p.resource}\u0000${p.message}`));
    for (const p of problems) {
      if (!this.#problemKeys.has(`${p.resource}\u0000${p.message}`)) this.#log?.warn(p, 'policy problem');
    }
    this.#problemKeys = keys;
    this.emit('change');
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }
}
