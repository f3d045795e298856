/**
 * A KMIP client connection over TLS: whole TTLV messages out, whole TTLV messages in.
 *
 * One request is outstanding at a time; further `send` calls queue behind it and go out in call
 * order. A response is the next whole message the server writes (KMIP over TLS has no request ids
 * at the transport level). A request that times out, a malformed frame or a closed socket fail the
 * pending request and everything queued, and leave the connection closed.
 */
import * as tls from 'node:tls';
import { Framer } from '../ttlv/framer.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { DEFAULT_LIMITS, type DecodeLimits, type TtlvItem } from '../ttlv/types.ts';

export interface ConnectOptions {
  host: string;
  port: number;
  /** PEM: the CA that issued the server certificate. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM: the client certificate and its key. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI and the name the server certificate is checked against; default `host` unless it is an IP. */
  servername?: string;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** Time to wait for the TLS handshake, and for each response; default 30 s. */
  timeoutMs?: number;
  /** Largest response accepted; default DEFAULT_LIMITS.maxMessageBytes. */
  maxMessageBytes?: number;
  /** Limits for decoding responses in `send`. */
  limits?: DecodeLimits;
}

export class KmipConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KmipConnectionError';
  }
}

interface Waiter {
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
}

const isIp = (h: string): boolean => /^[0-9.]+$/.test(h) || h.includes(':');

export class KmipConnection {
  readonly #socket: tls.TLSSocket;
  readonly #framer: Framer;
  readonly #timeoutMs: number;
  readonly #limits: DecodeLimits;
  /** Frames that arrived with nobody waiting (a server that writes unasked); handed to the next waiter. */
  #unclaimed: Buffer[] = [];
  #waiter: Waiter | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed: Error | undefined;

  private constructor(socket: tls.TLSSocket, opts: ConnectOptions) {
    this.#socket = socket;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#limits = opts.limits ?? { ...DEFAULT_LIMITS, maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes };
    this.#framer = new Framer(opts.maxMessageBytes ?? this.#limits.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = this.#framer.push(chunk);
      } catch (e) {
        this.#fail(new KmipConnectionError(`malformed response stream: ${(e as Error).message}`, { cause: e }));
        return;
      }
      for (const f of frames) {
        const w = this.#waiter;
        if (w) {
          this.#waiter = undefined;
          w.resolve(f);
        } else this.#unclaimed.push(f);
      }
    });
    socket.on('error', (e) => this.#fail(new KmipConnectionError(`connection error: ${e.message}`, { cause: e })));
    socket.on('close', () => this.#fail(new KmipConnectionError('connection closed by the server')));
  }

  /** Opens a TLS connection (mutual TLS when `cert` and `key` are given). */
  static connect(opts: ConnectOptions): Promise<KmipConnection> {
    return new Promise((resolve, reject) => {
      const tlsOpts: tls.ConnectionOptions = {
        host: opts.host,
        port: opts.port,
        rejectUnauthorized: opts.rejectUnauthorized ?? true,
      };
      if (opts.ca !== undefined) tlsOpts.ca = opts.ca;
      if (opts.cert !== undefined) tlsOpts.cert = opts.cert;
      if (opts.key !== undefined) tlsOpts.key = opts.key;
      const servername = opts.servername ?? (isIp(opts.host) ? undefined : opts.host);
      if (servername !== undefined) tlsOpts.servername = servername;
      if (opts.minVersion !== undefined) tlsOpts.minVersion = opts.minVersion;
      if (opts.maxVersion !== undefined) tlsOpts.maxVersion = opts.maxVersion;
      if (opts.ciphers !== undefined) tlsOpts.ciphers = opts.ciphers;
      const socket = tls.connect(tlsOpts);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KmipConnectionError(`TLS handshake with ${opts.host}:${opts.port} timed out`));
      }, opts.timeoutMs ?? 30_000);
      const onError = (e: Error): void => {
        clearTimeout(timer);
        reject(new KmipConnectionError(`cannot connect to ${opts.host}:${opts.port}: ${e.message}`, { cause: e }));
      };
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new KmipConnection(socket, opts));
      });
    });
  }

  /** The negotiated TLS protocol and cipher, for reports. */
  get tlsInfo(): { protocol: string | null; cipher: string } {
    return { protocol: this.#socket.getProtocol(), cipher: this.#socket.getCipher().name };
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Sends one encoded message and resolves with the next whole message the server writes. */
  sendRaw(bytes: Uint8Array): Promise<Buffer> {
    const run = (): Promise<Buffer> => this.#exchange(bytes);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Encodes a message, sends it and decodes the response. */
  async send(message: TtlvItem): Promise<TtlvItem> {
    const frame = await this.sendRaw(encode(message));
    return decode(frame, this.#limits);
  }

  #exchange(bytes: Uint8Array): Promise<Buffer> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        const err = new KmipConnectionError(`no response within ${this.#timeoutMs} ms`);
        reject(err);
        this.#fail(err);
      }, this.#timeoutMs);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        f();
      };
      const early = this.#unclaimed.shift();
      this.#socket.write(bytes);
      if (early) {
        // The server wrote something before this request: still answer with what arrives first.
        done(() => resolve(early));
        return;
      }
      this.#waiter = { resolve: (fr) => done(() => resolve(fr)), reject: (e) => done(() => reject(e)) };
    });
  }

  #fail(err: Error): void {
    if (!this.#closed) this.#closed = err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  /** Closes the connection (after a TLS close_notify); pending requests fail. */
  close(): Promise<void> {
    if (this.#socket.destroyed) {
      this.#fail(new KmipConnectionError('connection closed'));
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#socket.destroy();
      }, 1000);
      this.#socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (!this.#closed) this.#closed = new KmipConnectionError('connection closed');
      this.#socket.end();
    });
  }
}
