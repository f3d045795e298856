/**
 * A keyed, de-duplicating, rate-limited work queue (client-go's workqueue, smaller).
 *
 * - A key is in the queue at most once: adding it again before a worker takes it does nothing.
 * - A key is never handed to two workers at once: added while being processed, it is queued again
 *   when the worker calls done(), so the newest state is always reconciled after the last change.
 * - addRateLimited backs off per key, exponentially, until forget() (a success) resets it.
 * - addAfter schedules a key; an earlier schedule for the same key wins.
 */

/** Per-key exponential backoff: base, 2·base, 4·base ... capped at max. */
export class ExponentialBackoff {
  readonly #failures = new Map<string, number>();
  readonly baseMs: number;
  readonly maxMs: number;

  constructor(baseMs = 5, maxMs = 5 * 60_000) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new Error(`backoff needs 0 < base (${baseMs}) <= max (${maxMs})`);
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** The delay before the next attempt for `key`, counting this failure. */
  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2**n overflows to Infinity long after it passes any sensible max; min() handles both.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }
}

export interface QueueOptions {
  backoff?: ExponentialBackoff;
  /** Called whenever the number of keys waiting changes. */
  onDepth?: (depth: number) => void;
  /** Called for every add that was not a duplicate. */
  onAdd?: () => void;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  /** Keys waiting in #queue, or added while processing (to be re-queued on done). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #backoff: ExponentialBackoff;
  readonly #onDepth: (depth: number) => void;
  readonly #onAdd: () => void;
  #shuttingDown = false;

  constructor(opts: QueueOptions = {}) {
    this.#backoff = opts.backoff ?? new ExponentialBackoff();
    this.#onDepth = opts.onDepth ?? (() => {});
    this.#onAdd = opts.onAdd ?? (() => {});
  }

  /** Keys waiting for a worker (not counting those being processed or scheduled for later). */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#onAdd();
    if (this.#processing.has(key)) return; // done() re-queues it
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#onDepth(this.#queue.length);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    // setTimeout takes at most 2^31-1 ms; a longer wait is cut short, which only re-reconciles early.
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, Math.min(delayMs, 2 ** 31 - 1));
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /** Re-queue after this key's next backoff delay; returns the delay. */
  addRateLimited(key: string): number {
    const delay = this.#backoff.when(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset the key's backoff (call after a successful reconcile). */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  failures(key: string): number {
    return this.#backoff.failures(key);
  }

  /** The next key, waiting for one if needed; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#onDepth(this.#queue.length);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The worker is finished with `key`; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys: waiting get() calls resolve to undefined; scheduled adds are dropped. */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
    this.#queue.length = 0;
    this.#dirty.clear();
    this.#onDepth(0);
  }
}
