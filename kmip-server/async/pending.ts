import { randomBytes } from 'node:crypto';
import { CancellationResult, ResultReason, ResultStatus } from '../ttlv/enums.ts';
import type { Identity } from '../auth/identity.ts';
import type { ItemOutcome, PendingView } from '../operations/context.ts';
import { encodedLength } from '../ttlv/writer.ts';

/**
 * Asynchronous processing (KMIP 1.4 §6.7-6.8, §4.27-4.28; 2.1 §9.1-9.2, §6.1.5, §6.1.38): the table of operations a
 * client submitted with the Asynchronous Indicator and was answered Operation Pending for.
 *
 * - A submitted operation waits `startDelayMs`, then runs in the background; a Poll for it starts it at once. So a
 *   Cancel sent right after Operation Pending reliably cancels it (Canceled), and a client that polls does not wait.
 *   Once started it runs to its end (Unable To Cancel), exactly once, and commits like any synchronous request.
 * - Poll of a running operation waits up to `pollWaitMs` for it, then answers Operation Pending. Poll of a finished
 *   one answers its outcome, once: the result is then dropped (key material does not linger) and only the fact
 *   that it finished is kept until the TTL, for Cancel (Completed / Failed). A later Poll finds no outstanding
 *   operation, as the spec's Poll error says. "Once" means once in an answer that went out whole: when the Poll's
 *   answer was over the client's Maximum Response Size, or its message failed to commit, the result stays for the
 *   next Poll (PendingView.settle). A Poll of a canceled operation answers Operation Canceled By Requester.
 * - Every entry belongs to the client that submitted it (scope + credential): another client's Poll finds nothing
 *   and its Cancel answers Unavailable, exactly as for a value that never existed.
 * - Bounded: at most `maxPerClient` entries per client and `maxTotal` in all, polled ones evicted first, and results
 *   not yet polled of at most `maxResultBytes` in all (a Locate's answer can be large); when full, `submit` refuses
 *   and the caller answers synchronously (the server decides what runs asynchronously). Results of operations
 *   already running may pass the byte budget by their own size; nothing new is taken until polls bring it down.
 * - Memory only: a restart forgets every entry, and a Poll reaching another replica finds nothing there. The
 *   operations themselves are durable once they ran, like any other.
 */
export interface AsyncOptions {
  /** How long a submitted operation waits before it starts in the background (a Poll starts it sooner). */
  startDelayMs: number;
  /** Entries (pending, or finished and remembered) one client may have at once. */
  maxPerClient: number;
  /** Entries across all clients. 0 turns asynchronous processing off. */
  maxTotal: number;
  /** How long a finished operation is remembered: its result until polled, then the fact that it finished. */
  resultTtlMs: number;
  /** How long a Poll waits for a running operation before it answers Operation Pending. */
  pollWaitMs: number;
  /** Encoded bytes of finished results not yet polled, across all clients. */
  maxResultBytes: number;
}

export const DEFAULT_ASYNC_OPTIONS: AsyncOptions = {
  startDelayMs: 1000,
  maxPerClient: 100,
  maxTotal: 10_000,
  resultTtlMs: 10 * 60_000,
  pollWaitMs: 1000,
  maxResultBytes: 64 * 1024 * 1024,
};

/** The owner key of an identity's entries: its scope, its credential (opaque ids) and its header sub-identity. */
export function ownerOf(identity: Identity): string {
  // The header sub-identity too: two users behind one certificate must not poll each other's results.
  return `${identity.scopeId}\u0000${identity.credentialId}\u0000${identity.owner ?? ''}`;
}

/**
 * handed: a message's Poll has the outcome but its answer has not gone out yet; the result is kept until that
 * message settles (PendingView.settle): delivered if its answer carried the result, back to done if not (the answer
 * was over the client's Maximum Response Size, or the message's commit failed), so a later Poll still gets it.
 */
type State = 'queued' | 'running' | 'done' | 'handed' | 'delivered';

interface Job {
  /** Hex of the correlation value. */
  key: string;
  owner: string;
  operation: number;
  state: State;
  /** queued: what to run. */
  run?: () => Promise<ItemOutcome>;
  /** queued: the start timer; done/delivered: the expiry timer. */
  timer?: NodeJS.Timeout;
  /** running: settles when done. */
  finished?: Promise<void>;
  /** done: the whole outcome; delivered: without its payload. */
  outcome?: ItemOutcome;
  /** done: the encoded size of the payload held (counted in #heldBytes). */
  bytes?: number;
  canceled?: boolean;
}

export class PendingOperations {
  readonly #opts: AsyncOptions;
  readonly #onError: (err: unknown, operation: number) => void;
  /** By the hex of the correlation value; insertion order is submission order (eviction takes the oldest). */
  readonly #jobs = new Map<string, Job>();
  readonly #perOwner = new Map<string, number>();
  /** Encoded bytes of the payloads of finished, not yet polled results. */
  #heldBytes = 0;
  #closed = false;

  constructor(opts: Partial<AsyncOptions> = {}, onError: (err: unknown, operation: number) => void = () => undefined) {
    this.#opts = { ...DEFAULT_ASYNC_OPTIONS, ...opts };
    this.#onError = onError;
  }

  /** Encoded bytes of results waiting for their Poll. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Entries held, for one owner or in all. */
  size(owner?: string): number {
    return owner === undefined ? this.#jobs.size : (this.#perOwner.get(owner) ?? 0);
  }

  /**
   * Records an operation to run later and returns its Asynchronous Correlation Value, or undefined when the
   * limits leave no room (the caller then runs it synchronously, or refuses it when asynchrony was mandatory).
   * `run` must not throw for anything the client sent; if it does, the outcome is General Failure.
   */
  submit(owner: string, operation: number, run: () => Promise<ItemOutcome>): Uint8Array | undefined {
    if (this.#closed || !this.#room(owner)) return undefined;
    const correlation = randomBytes(16);
    const key = correlation.toString('hex');
    const job: Job = { key, owner, operation, state: 'queued', run };
    job.timer = setTimeout(() => this.#start(job), this.#opts.startDelayMs).unref();
    this.#jobs.set(key, job);
    this.#perOwner.set(owner, this.size(owner) + 1);
    return correlation;
  }

  /** Poll (see the class comment): the outcome, 'pending', or undefined when the owner has no such outstanding operation. */
  async poll(owner: string, correlation: Uint8Array): Promise<ItemOutcome | 'pending' | undefined> {
    const [answer, job] = await this.#hand(owner, correlation);
    if (job) this.#deliver(job);
    return answer;
  }

  /** Poll's first half: the answer, and the job now handed to the caller, which must settle it (#deliver or #giveBack). */
  async #hand(owner: string, correlation: Uint8Array): Promise<[ItemOutcome | 'pending' | undefined, Job?]> {
    const job = this.#find(owner, correlation);
    if (!job || job.state === 'delivered') return [undefined];
    if (job.state === 'queued') this.#start(job);
    if (job.state === 'running') await settledWithin(job.finished!, this.#opts.pollWaitMs);
    // Still running, or another message's Poll holds the result and has not answered yet.
    if (job.state === 'running' || job.state === 'handed') return ['pending'];
    if (job.state !== 'done') return [undefined];
    job.state = 'handed';
    return [job.outcome!, job];
  }

  /** The answer carrying the result went out: drop the payload (key material does not linger), remember the fact. */
  #deliver(job: Job): void {
    if (job.state !== 'handed') return;
    job.state = 'delivered';
    this.#release(job);
    const { payload: _dropped, ...kept } = job.outcome!;
    job.outcome = kept;
  }

  /** The answer did not carry the result: a later Poll gets it. */
  #giveBack(job: Job): void {
    if (job.state === 'handed') job.state = 'done';
  }

  /** Cancel: a Cancellation Result value (see the class comment). */
  cancel(owner: string, correlation: Uint8Array): number {
    const job = this.#find(owner, correlation);
    if (!job) return CancellationResult.Unavailable;
    switch (job.state) {
      case 'queued':
        clearTimeout(job.timer);
        delete job.run;
        job.canceled = true;
        this.#finish(job, {
          operation: job.operation,
          status: ResultStatus.OperationFailed,
          reason: ResultReason.OperationCanceledByRequester,
          message: 'the operation was canceled before it started',
        });
        return CancellationResult.Canceled;
      case 'running':
        return CancellationResult.UnableToCancel;
      default:
        if (job.canceled) return CancellationResult.Canceled;
        return job.outcome?.status === ResultStatus.Success ? CancellationResult.Completed : CancellationResult.Failed;
    }
  }

  /**
   * Poll and Cancel for one owner, as one request message sees them: a message that is run again (a lost commit
   * race, dispatcher.ts) gets the same Poll answer again instead of finding the result already taken.
   */
  view(owner: string): PendingView {
    const polled = new Map<string, ItemOutcome | 'pending' | undefined>();
    const handed: Job[] = [];
    return {
      poll: async (correlation) => {
        const key = Buffer.from(correlation).toString('hex');
        if (polled.has(key)) return polled.get(key);
        const [answer, job] = await this.#hand(owner, correlation);
        if (job) handed.push(job);
        polled.set(key, answer);
        return answer;
      },
      cancel: (correlation) => this.cancel(owner, correlation),
      settle: (delivered) => {
        for (const job of handed.splice(0)) {
          if (delivered) this.#deliver(job);
          else this.#giveBack(job);
        }
        polled.clear();
      },
    };
  }

  /** Stops taking work, drops what has not started, and waits for what is running. */
  async close(): Promise<void> {
    this.#closed = true;
    const running: Promise<void>[] = [];
    for (const job of this.#jobs.values()) {
      clearTimeout(job.timer);
      if (job.state === 'running') running.push(job.finished!);
    }
    await Promise.allSettled(running);
    for (const job of this.#jobs.values()) clearTimeout(job.timer);
    this.#jobs.clear();
    this.#perOwner.clear();
    this.#heldBytes = 0;
  }

  #find(owner: string, correlation: Uint8Array): Job | undefined {
    const job = this.#jobs.get(Buffer.from(correlation).toString('hex'));
    return job && job.owner === owner ? job : undefined;
  }

  #room(owner: string): boolean {
    if (this.#opts.maxTotal === 0 || this.#opts.maxPerClient === 0) return false;
    if (this.#heldBytes >= this.#opts.maxResultBytes) return false;
    if (this.size(owner) >= this.#opts.maxPerClient) this.#evictDelivered((j) => j.owner === owner);
    if (this.#jobs.size >= this.#opts.maxTotal) this.#evictDelivered(() => true);
    return this.size(owner) < this.#opts.maxPerClient && this.#jobs.size < this.#opts.maxTotal;
  }

  /** Forgets the oldest entry already polled that matches: it only remembers that an operation finished. */
  #evictDelivered(match: (job: Job) => boolean): void {
    for (const job of this.#jobs.values()) {
      if (job.state === 'delivered' && match(job)) {
        this.#forget(job);
        return;
      }
    }
  }

  #start(job: Job): void {
    if (job.state !== 'queued' || this.#closed) return;
    clearTimeout(job.timer);
    const run = job.run!;
    delete job.run;
    job.state = 'running';
    job.finished = Promise.resolve()
      .then(run)
      .catch((err: unknown): ItemOutcome => {
        this.#onError(err, job.operation);
        return { operation: job.operation, status: ResultStatus.OperationFailed, reason: ResultReason.GeneralFailure, message: 'internal error' };
      })
      .then((outcome) => this.#finish(job, outcome));
  }

  #finish(job: Job, outcome: ItemOutcome): void {
    job.state = 'done';
    job.outcome = outcome;
    job.bytes = (outcome.payload ?? []).reduce((n, item) => n + encodedLength(item), 0);
    this.#heldBytes += job.bytes;
    if (this.#closed) return;
    job.timer = setTimeout(() => this.#forget(job), this.#opts.resultTtlMs).unref();
  }

  #release(job: Job): void {
    this.#heldBytes -= job.bytes ?? 0;
    job.bytes = 0;
  }

  #forget(job: Job): void {
    clearTimeout(job.timer);
    if (this.#jobs.get(job.key) !== job) return;
    this.#release(job);
    this.#jobs.delete(job.key);
    const n = this.size(job.owner) - 1;
    if (n > 0) this.#perOwner.set(job.owner, n);
    else this.#perOwner.delete(job.owner);
  }
}

/** Waits for `p`, but no longer than `ms`. */
async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
