/**
 * The reconcile loop.
 *
 * The contract, as controller-runtime states it and every controller here keeps it: reconcile is
 * given a key ("namespace/name"), never an event. It reads the world as it is now (the object may
 * have changed many times, or be gone) and makes it converge on what the object asks for; running
 * it again with nothing changed changes nothing. Events only decide *when* a key is reconciled:
 * several changes before a worker is free collapse into one reconcile, and the same key never runs
 * on two workers at once.
 *
 * Outcomes: a result with `requeueAfter` schedules the key again (e.g. a certificate's renewal
 * time); a thrown error retries with per-key exponential backoff; a thrown TerminalError is logged
 * and counted but not retried, because retrying cannot help until the object changes (which
 * enqueues it anyway).
 */
import type { Logger } from 'pino';
import type { KubeObject } from './client.ts';
import { objectKey, type Informer } from './informer.ts';
import type { OperatorMetrics } from './metrics.ts';
import { ExponentialBackoff, WorkQueue } from './queue.ts';

export interface Result {
  /** Reconcile this key again after this many milliseconds. */
  requeueAfter?: number;
  /** Reconcile again after the key's backoff delay (as for an error, without logging one). */
  requeue?: boolean;
}

/** An error retrying cannot fix; the reconcile loop does not requeue it. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ReconcileContext {
  log: Logger;
}

export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<Result | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  /** Keys reconciled at once. Default 2. */
  workers?: number;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Backoff after errors. Default 50 ms doubling up to 5 minutes. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Keys reconciled on every start whether or not an informer holds them: for a controller whose
   * object is its configuration (the KMIP server), not a resource that may or may not exist yet.
   */
  alwaysKeys?: readonly string[];
}

/** Splits a "namespace/name" key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Controller {
  readonly name: string;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;
  readonly #primaries: Informer<KubeObject>[] = [];
  #queue: WorkQueue | undefined;
  #workers: Promise<void>[] = [];

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#log = opts.logger.child({ controller: opts.name });
  }

  /** The kind this controller reconciles: every change of one of its objects enqueues its key. */
  for<T extends KubeObject>(informer: Informer<T>): this {
    this.#primaries.push(informer as unknown as Informer<KubeObject>);
    informer.on((_e, obj) => this.enqueue(objectKey(obj)));
    return this;
  }

  /** A related kind: a change of one of its objects enqueues the keys `map` names. */
  watches<T extends KubeObject>(informer: Informer<T>, map: (obj: T) => Iterable<string>): this {
    informer.on((_e, obj, old) => {
      for (const key of map(obj)) this.enqueue(key);
      if (old && old !== obj) for (const key of map(old)) this.enqueue(key);
    });
    return this;
  }

  get running(): boolean {
    return this.#queue !== undefined;
  }

  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  /** Starts the workers and enqueues every object the primary informers hold. */
  start(): void {
    if (this.#queue) return;
    const m = this.#opts.metrics;
    const backoff = this.#opts.backoff ?? { baseMs: 50, maxMs: 5 * 60_000 };
    const queue = new WorkQueue({
      backoff: new ExponentialBackoff(backoff.baseMs, backoff.maxMs),
      onDepth: (n) => m.queueDepth.set({ name: this.name }, n),
      onAdd: () => m.queueAdds.inc({ name: this.name }),
    });
    this.#queue = queue;
    for (const inf of this.#primaries) for (const obj of inf.list()) queue.add(objectKey(obj));
    for (const key of this.#opts.alwaysKeys ?? []) queue.add(key);
    this.#workers = Array.from({ length: this.#opts.workers ?? 2 }, () => this.#work(queue));
    this.#log.info('controller started');
  }

  /** Stops handing out keys and waits for reconciles in progress to finish. */
  async stop(): Promise<void> {
    const queue = this.#queue;
    if (!queue) return;
    this.#queue = undefined;
    queue.shutdown();
    await Promise.all(this.#workers);
    this.#workers = [];
    this.#log.info('controller stopped');
  }

  async #work(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.#reconcileOne(queue, key);
      } finally {
        queue.done(key);
      }
    }
  }

  async #reconcileOne(queue: WorkQueue, key: string): Promise<void> {
    const m = this.#opts.metrics;
    const log = this.#log.child({ key });
    const labels = { controller: this.name };
    const end = m.reconcileDuration.startTimer(labels);
    m.activeWorkers.inc(labels);
    try {
      const result = (await this.#opts.reconcile(key, { log })) ?? {};
      if (result.requeueAfter !== undefined && result.requeueAfter > 0) {
        queue.forget(key);
        queue.addAfter(key, result.requeueAfter);
        m.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else if (result.requeue) {
        queue.addRateLimited(key);
        m.reconcileTotal.inc({ ...labels, result: 'requeue' });
      } else {
        queue.forget(key);
        m.reconcileTotal.inc({ ...labels, result: 'success' });
      }
    } catch (err) {
      m.reconcileErrors.inc(labels);
      if (err instanceof TerminalError) {
        queue.forget(key);
        m.reconcileTotal.inc({ ...labels, result: 'terminal_error' });
        log.error({ err: err.message }, 'reconcile failed; not retrying until the object changes');
      } else {
        const delay = queue.shuttingDown ? 0 : queue.addRateLimited(key);
        m.reconcileTotal.inc({ ...labels, result: 'error' });
        log.warn({ err: (err as Error).message, retryInMs: delay, failures: queue.failures(key) }, 'reconcile failed; will retry');
      }
    } finally {
      m.activeWorkers.dec(labels);
      end();
    }
  }
}
