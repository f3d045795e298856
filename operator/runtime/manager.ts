/**
 * The manager wires the runtime together: shared informers, the controllers, leader election, the
 * event recorder and the probe/metrics endpoint.
 *
 * Informers run on every instance (a standby keeps a warm cache and is ready to take over);
 * controllers run only on the leader. Becoming leader: wait for the caches, run the on-leading
 * hooks (e.g. make sure the CA exists), start the controllers. Losing leadership: stop the
 * controllers (reconciles in progress finish) and campaign again.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject, ResourceType } from './client.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { EventRecorder } from './events.ts';
import { startProbeServer, type ProbeServer } from './http.ts';
import { Informer } from './informer.ts';
import { LeaderElector } from './leader.ts';
import { OperatorMetrics } from './metrics.ts';

export interface ManagerOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: OperatorMetrics;
  /** Who this instance is in the lease and in Events; default <hostname>_<random>. */
  identity?: string;
  /** Lease-based leader election; false runs the controllers at once. */
  leaderElection?: false | {
    namespace: string;
    name: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** /healthz /readyz /metrics; false for none. */
  probe?: false | { port: number; host?: string };
  /** Informer timing (see InformerOptions). */
  informers?: { resyncMs?: number; watchdogMs?: number };
  /** Default workers per controller. Default 2. */
  workers?: number;
  /** Default error backoff per controller (see ControllerOptions). */
  backoff?: { baseMs: number; maxMs: number };
}

export class Manager {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  readonly events: EventRecorder;
  readonly #opts: ManagerOptions;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #controllers: Controller[] = [];
  readonly #onLeading: (() => Promise<void>)[] = [];
  #elector: LeaderElector | undefined;
  #probe: ProbeServer | undefined;
  #started = false;
  #stopping = false;
  #leading = false;

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    this.client = opts.client;
    this.log = opts.logger;
    this.metrics = opts.metrics ?? new OperatorMetrics();
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.events = new EventRecorder(this.client, { instance: this.identity, logger: this.log });
  }

  /** The shared informer for a resource type (and selector); created on first use. */
  informer<T extends KubeObject>(
    type: ResourceType, opts: { namespace?: string; labelSelector?: string; metadataOnly?: boolean } = {},
  ): Informer<T> {
    const key = `${type.group}/${type.plural}|${opts.namespace ?? ''}|${opts.labelSelector ?? ''}|${opts.metadataOnly ? 'meta' : 'full'}`;
    let inf = this.#informers.get(key);
    if (!inf) {
      if (this.#started) throw new Error(`informer for ${type.plural} requested after the manager started`);
      inf = new Informer<KubeObject>(this.client, type, {
        ...opts, ...this.#opts.informers, logger: this.log, metrics: this.metrics,
      });
      this.#informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  controller(opts: Omit<ControllerOptions, 'logger' | 'metrics'>): Controller {
    const c = new Controller({
      ...(this.#opts.workers !== undefined ? { workers: this.#opts.workers } : {}),
      ...(this.#opts.backoff ? { backoff: this.#opts.backoff } : {}),
      ...opts,
      logger: this.log,
      metrics: this.metrics,
    });
    this.#controllers.push(c);
    return c;
  }

  /** Runs each time this instance becomes leader, after the caches sync and before the controllers start. */
  onLeading(fn: () => Promise<void>): void {
    this.#onLeading.push(fn);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  get probePort(): number | undefined {
    return this.#probe?.port;
  }

  /** undefined when ready; else what is missing. */
  notReady(): string | undefined {
    if (this.#stopping) return 'shutting down';
    const unsynced = [...this.#informers.values()].filter((i) => !i.hasSynced()).map((i) => i.type.plural);
    return unsynced.length ? `caches not synced: ${unsynced.join(', ')}` : undefined;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#opts.probe) {
      this.#probe = await startProbeServer({ ...this.#opts.probe, metrics: this.metrics, notReady: () => this.notReady() });
    }
    for (const inf of this.#informers.values()) inf.start();
    const le = this.#opts.leaderElection;
    if (le) {
      this.#elector = new LeaderElector(this.client, {
        ...le,
        identity: this.identity,
        logger: this.log,
        metrics: this.metrics,
        onStartedLeading: () => this.#startLeading(),
        onStoppedLeading: () => this.#stopLeading(),
      });
      this.#elector.start();
    } else {
      this.metrics.isLeader.set(1);
      await this.#startLeading();
    }
  }

  async stop(): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    if (this.#elector) await this.#elector.stop();
    else await this.#stopLeading();
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    await this.#probe?.close();
    this.client.close();
  }

  async #startLeading(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync()));
    for (const fn of this.#onLeading) await fn();
    this.#leading = true;
    for (const c of this.#controllers) c.start();
  }

  async #stopLeading(): Promise<void> {
    this.#leading = false;
    await Promise.all(this.#controllers.map((c) => c.stop()));
  }
}
