import { HEADER_BYTES, ItemType, TtlvError } from './types.ts';

/**
 * Splits a byte stream into whole TTLV messages. Keeps partial frames between chunks and refuses
 * a frame whose declared length exceeds the limit before buffering it, so a hostile length costs
 * nothing. No I/O: feed it chunks, it returns complete frames.
 */
export class Framer {
  readonly #maxMessageBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.#buffered;
  }

  /**
   * Adds a chunk and returns every frame it completes. Throws TtlvError when the next frame is
   * not a Structure or is larger than the limit; the stream is then unusable.
   */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#buffered < HEADER_BYTES) break;
      const head = this.#peek(HEADER_BYTES);
      if (head[3] !== ItemType.Structure) {
        throw new TtlvError('BAD_TYPE', `message starts with item type 0x${head[3]!.toString(16)}, not a Structure`);
      }
      const total = HEADER_BYTES + head.readUInt32BE(4);
      if (total > this.#maxMessageBytes) {
        throw new TtlvError('TOO_LARGE', `message of ${total} bytes exceeds the limit of ${this.#maxMessageBytes}`);
      }
      if (this.#buffered < total) break;
      frames.push(this.#take(total));
    }
    return frames;
  }

  /** The first header bytes of the pending frame, for an error reply to a message that failed. */
  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return frame;
  }
}
