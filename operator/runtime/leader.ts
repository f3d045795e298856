/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 *
 * - A candidate takes the lease when it is free (no holder), released, or expired. Expiry is judged
 *   by this process's own clock from the moment it last saw the lease change, never by comparing
 *   its clock with the holder's renewTime, so clock skew between nodes cannot elect two leaders.
 * - The leader renews every `retryPeriodMs`; when it has not managed to renew for `renewDeadlineMs`
 *   it stops leading (its controllers are stopped) before the lease can expire for the others,
 *   which is why renewDeadline must be shorter than leaseDuration.
 * - Every write is a PUT carrying the observed resourceVersion: of two candidates racing, one wins.
 * - On stop the leader releases the lease (empty holder) so a successor need not wait it out.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, type KubeClient, type KubeObject } from './client.ts';
import type { OperatorMetrics } from './metrics.ts';
import { Leases } from './resources.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a lease is good for after its last renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up leadership. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  logger: Logger;
  metrics?: OperatorMetrics;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => Promise<void> | void;
}

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** metav1.MicroTime. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  readonly #client: KubeClient;
  readonly #o: Required<Omit<LeaderElectionOptions, 'metrics'>> & { metrics?: OperatorMetrics };
  readonly #log: Logger;
  #running = false;
  #leader = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** The last lease record seen, and when (local clock) it was first seen in that state. */
  #observed: { key: string; at: number } | undefined;

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    const o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    if (!(o.renewDeadlineMs < o.leaseDurationMs)) throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    if (!(o.retryPeriodMs < o.renewDeadlineMs)) throw new Error('leader election: retryPeriod must be shorter than renewDeadline');
    this.#client = client;
    this.#o = o;
    this.#log = opts.logger.child({ lease: `${o.namespace}/${o.name}`, identity: o.identity });
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops campaigning; a leader stops leading (callbacks awaited) and releases the lease. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      // Campaign.
      while (this.#running && !(await this.#tryAcquireOrRenew(this.#o.renewDeadlineMs))) await this.#sleep(this.#o.retryPeriodMs);
      if (!this.#running) break;
      this.#leader = true;
      this.#o.metrics?.isLeader.set(1);
      this.#log.info('became leader');
      try {
        await this.#o.onStartedLeading();
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'starting as leader failed; giving up leadership');
        await this.#lose();
        await this.#release();
        await this.#sleep(this.#o.retryPeriodMs);
        continue;
      }
      // Lead: renew until we cannot, or are stopped.
      let lastRenew = Date.now();
      while (this.#running) {
        await this.#sleep(this.#o.retryPeriodMs);
        if (!this.#running) break;
        // No request may outlive the renew deadline: a hung one must not keep us leading past it.
        const left = this.#o.renewDeadlineMs - (Date.now() - lastRenew);
        if (left > 0 && (await this.#tryAcquireOrRenew(left))) {
          lastRenew = Date.now();
        } else if (Date.now() - lastRenew >= this.#o.renewDeadlineMs) {
          this.#log.warn('could not renew the lease in time; stopping leading');
          break;
        }
      }
      await this.#lose();
      if (!this.#running) await this.#release();
    }
  }

  async #lose(): Promise<void> {
    this.#leader = false;
    this.#o.metrics?.isLeader.set(0);
    try {
      await this.#o.onStoppedLeading();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'stopping as leader failed');
    }
    this.#log.info('stopped leading');
  }

  /** One attempt, its requests bounded by `timeoutMs` in all; true when this instance holds the lease afterwards. */
  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const left = () => ({ timeoutMs: Math.max(1, deadline - Date.now()) });
    const { namespace, name, identity } = this.#o;
    const now = new Date();
    const durationSeconds = Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000));
    let lease: Lease | undefined;
    try {
      lease = await this.#client.get<Lease>(Leases, namespace, name, left());
      if (!lease) {
        await this.#client.create(Leases, {
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        } as Lease, left());
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const seenKey = `${holder}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`;
      if (this.#observed?.key !== seenKey) this.#observed = { key: seenKey, at: now.getTime() };
      const validForMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== identity && this.#observed.at + validForMs > now.getTime()) return false;
      const mine = holder === identity;
      await this.#client.replace(Leases, {
        metadata: { name, namespace, resourceVersion: lease.metadata.resourceVersion },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      } as Lease, left());
      return true;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) this.#log.warn({ err: (err as Error).message }, 'lease request failed');
      return false;
    }
  }

  async #release(): Promise<void> {
    const { namespace, name, identity } = this.#o;
    try {
      const lease = await this.#client.get<Lease>(Leases, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = microTime(new Date());
      await this.#client.replace(Leases, {
        metadata: { name, namespace, resourceVersion: lease.metadata.resourceVersion },
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      } as Lease);
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        res();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        res();
      };
    });
  }
}
