/**
 * State of the cryptographic operations done by parts (Init Indicator ... Correlation Value ... Final Indicator,
 * 1.4 §2.1.15-2.1.17): a cipher, MAC, hash or signature in progress, kept in memory by Correlation Value.
 *
 * The Correlation Value is 16 random bytes, not tied to a connection (a client may continue on another one), but
 * bound to the caller's scope, the operation and the object: anyone else presenting it finds nothing. Streams are
 * bounded: at most `maxStreams` in all and `maxPerScope` per scope (the oldest idle one of the scope, or else of
 * the server, is dropped to make room), and one idle for `idleMs` is forgotten. Nothing here is persisted: a
 * restart ends every stream (the client sees an unknown Correlation Value).
 */
import { randomBytes } from 'node:crypto';

export interface StreamKey {
  scope: string;
  operation: number;
  /** The object the stream uses (Hash has none). */
  uid: string | undefined;
}

interface Entry<T> extends StreamKey {
  state: T;
  lastUsed: number;
}

export interface StreamStoreOptions {
  maxStreams?: number;
  maxPerScope?: number;
  idleMs?: number;
  now?: () => number;
}

export class StreamStore<T = unknown> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #maxStreams: number;
  readonly #maxPerScope: number;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(opts: StreamStoreOptions = {}) {
    this.#maxStreams = opts.maxStreams ?? 4096;
    this.#maxPerScope = opts.maxPerScope ?? 256;
    this.#idleMs = opts.idleMs ?? 10 * 60 * 1000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Starts a stream; returns its Correlation Value. */
  open(key: StreamKey, state: T): Buffer {
    const now = this.#now();
    this.#expire(now);
    let inScope = 0;
    let oldestInScope: string | undefined;
    for (const [id, e] of this.#entries) {
      if (e.scope !== key.scope) continue;
      inScope++;
      oldestInScope ??= id;
    }
    if (inScope >= this.#maxPerScope && oldestInScope !== undefined) this.#entries.delete(oldestInScope);
    if (this.#entries.size >= this.#maxStreams) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    const value = randomBytes(16);
    this.#entries.set(value.toString('hex'), { ...key, state, lastUsed: now });
    return value;
  }

  /**
   * The stream with this Correlation Value, if it belongs to this scope, operation and object (an omitted
   * object identifier matches any); undefined otherwise. Marks it used.
   */
  get(value: Uint8Array, key: StreamKey): T | undefined {
    const now = this.#now();
    this.#expire(now);
    const id = Buffer.from(value).toString('hex');
    const e = this.#entries.get(id);
    if (!e || e.scope !== key.scope || e.operation !== key.operation) return undefined;
    if (key.uid !== undefined && e.uid !== undefined && key.uid !== e.uid) return undefined;
    e.lastUsed = now;
    // Re-insert: the map's order is least recently used first.
    this.#entries.delete(id);
    this.#entries.set(id, e);
    return e.state;
  }


  close(value: Uint8Array): void {
    this.#entries.delete(Buffer.from(value).toString('hex'));
  }

  #expire(now: number): void {
    for (const [id, e] of this.#entries) {
      if (now - e.lastUsed < this.#idleMs) break;
      this.#entries.delete(id);
    }
  }
}
