/**
 * Delivery of server-to-client messages to one subscribed credential's endpoint: a bounded FIFO
 * (the oldest message goes when it is full, with a warning), one message in flight at a time so
 * the client sees them in commit order, one TLS connection kept while there is traffic, a short
 * timeout per message and a retry with backoff when the endpoint cannot be reached.
 *
 * The connection is mutual TLS with the roles reversed: the server connects with its own server
 * certificate (it carries clientAuth for this), and the endpoint must present a certificate that
 * maps to the very credential that subscribed (same serial and fingerprint, or the same uploaded
 * certificate, as for an incoming connection: auth/authenticate.ts). Anything else would push key
 * material to whoever listens at an address. Node's own chain check is off for this socket: it
 * would demand serverAuth of a client certificate; the check below is the stricter one (issued by
 * the client CA bundle and live for that credential, or the credential's own uploaded certificate,
 * within its validity), and the TLS handshake itself proves the endpoint holds its key.
 */
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Framer } from '../ttlv/framer.ts';
import { credentialOf, describePeer } from '../auth/authenticate.ts';
import type { CredentialPolicy, PolicySource } from '../policy/model.ts';
import { answerResult } from './messages.ts';

export interface DeliveryLimits {
  /** Messages held per endpoint; the oldest is dropped beyond this. */
  queueLimit: number;
  /** Connect + handshake + answer, per message. */
  timeoutMs: number;
  /** First pause after a failure; doubles up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Tries per message before it is dropped. */
  maxAttempts: number;
  /** An idle connection is closed after this. */
  idleMs: number;
  /** Largest answer accepted. */
  maxAnswerBytes: number;
}

export const DEFAULT_DELIVERY_LIMITS: DeliveryLimits = {
  queueLimit: 1000,
  timeoutMs: 10_000,
  backoffMs: 500,
  maxBackoffMs: 30_000,
  maxAttempts: 6,
  idleMs: 30_000,
  maxAnswerBytes: 64 * 1024,
};

/** One message to send; `bytes` may hold key material: never logged. */
export interface Outgoing {
  operation: 'Put' | 'Notify';
  uid: string;
  bytes: Buffer;
}

export interface DeliveryCounters {
  delivered: number;
  /** Answered with a failure, or given up after maxAttempts. */
  failed: number;
  /** Dropped because the queue was full. */
  dropped: number;
}

export interface DeliveryDeps {
  endpoint: string;
  /** The subscribed credential: namespace/name, scope and role ids. */
  credential: Pick<CredentialPolicy, 'namespace' | 'name' | 'scopeId' | 'roleId'>;
  policy: PolicySource;
  /** The server's current certificate and key, and the client CA bundle. */
  tls: () => { certPem: string; keyPem: string; caCerts: readonly X509Certificate[]; minVersion?: 'TLSv1.2' | 'TLSv1.3' };
  logger: Logger;
  limits: DeliveryLimits;
  counters: DeliveryCounters;
}

export function sameCredential(a: DeliveryDeps['credential'], b: DeliveryDeps['credential']): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.scopeId === b.scopeId && a.roleId === b.roleId;
}

/** "host:port", "[v6]:port" -> host, port. */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(endpoint.slice(i + 1)) };
}

export class EndpointDelivery {
  readonly #d: DeliveryDeps;
  readonly #queue: Outgoing[] = [];
  #running = false;
  #closed = false;
  #socket: tls.TLSSocket | undefined;
  #idle: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
  }

  get queued(): number {
    return this.#queue.length;
  }

  enqueue(msg: Outgoing): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#d.limits.queueLimit) {
      const gone = this.#queue.shift()!;
      this.#d.counters.dropped++;
      this.#d.logger.warn(
        { endpoint: this.#d.endpoint, credential: this.#name, operation: gone.operation, uid: gone.uid, queueLimit: this.#d.limits.queueLimit },
        'notification queue full: dropped the oldest message',
      );
    }
    this.#queue.push(msg);
    if (!this.#running) void this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    this.#wake?.();
    this.#disconnect();
  }

  get #name(): string {
    return `${this.#d.credential.namespace}/${this.#d.credential.name}`;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      let attempt = 0;
      while (!this.#closed && this.#queue.length > 0) {
        const msg = this.#queue[0]!;
        const started = Date.now();
        let result: string;
        try {
          result = await this.#send(msg);
        } catch (err) {
          this.#disconnect();
          attempt++;
          const log = { endpoint: this.#d.endpoint, credential: this.#name, operation: msg.operation, uid: msg.uid, attempt, error: (err as Error).message };
          if (attempt >= this.#d.limits.maxAttempts) {
            if (this.#queue[0] === msg) this.#queue.shift();
            this.#d.counters.failed++;
            this.#d.logger.warn(log, 'notification not delivered: gave up');
            attempt = 0;
            continue;
          }
          this.#d.logger.info(log, 'notification not delivered yet: retrying');
          await this.#pause(Math.min(this.#d.limits.maxBackoffMs, this.#d.limits.backoffMs * 2 ** (attempt - 1)));
          continue;
        }
        attempt = 0;
        if (this.#queue[0] === msg) this.#queue.shift();
        const fields = { endpoint: this.#d.endpoint, credential: this.#name, operation: msg.operation, uid: msg.uid, result, ms: Date.now() - started };
        if (result === 'Success') {
          this.#d.counters.delivered++;
          this.#d.logger.info(fields, 'notification delivered');
        } else {
          this.#d.counters.failed++;
          this.#d.logger.warn(fields, 'notification refused by the client');
        }
      }
    } finally {
      this.#running = false;
      if (!this.#closed && this.#queue.length > 0) void this.#run();
      else this.#armIdle();
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    if (this.#socket) {
      this.#idle = setTimeout(() => this.#disconnect(), this.#d.limits.idleMs);
      this.#idle.unref();
    }
  }

  #disconnect(): void {
    clearTimeout(this.#idle);
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  /** Sends one message and reads its answer; throws on a transport failure or an endpoint that is not the credential. */
  async #send(msg: Outgoing): Promise<string> {
    clearTimeout(this.#idle);
    const deadline = Date.now() + this.#d.limits.timeoutMs;
    const socket = this.#socket ?? (this.#socket = await this.#connect(deadline));
    return await new Promise<string>((resolve, reject) => {
      const framer = new Framer(this.#d.limits.maxAnswerBytes);
      const timer = setTimeout(() => finish(new Error(`no answer within ${this.#d.limits.timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
      const onData = (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = framer.push(chunk);
        } catch (err) {
          finish(err as Error);
          return;
        }
        if (frames.length > 0) finish(undefined, answerResult(frames[0]!));
      };
      const onClose = () => finish(new Error('the endpoint closed the connection'));
      const onError = (err: Error) => finish(err);
      const finish = (err?: Error, result?: string) => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onError);
        if (err) reject(err);
        else resolve(result!);
      };
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.once('error', onError);
      socket.write(msg.bytes);
    });
  }

  #connect(deadline: number): Promise<tls.TLSSocket> {
    const material = this.#d.tls();
    const { host, port } = splitEndpoint(this.#d.endpoint);
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host,
        port,
        cert: material.certPem,
        key: material.keyPem,
        // Checked below against the subscribed credential instead (see the file comment).
        rejectUnauthorized: false,
        minVersion: material.minVersion ?? 'TLSv1.2',
        ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
      });
      const timer = setTimeout(() => fail(new Error(`no TLS connection within ${this.#d.limits.timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        const problem = this.#checkPeer(socket);
        if (problem) {
          fail(new Error(problem));
          return;
        }
        socket.setNoDelay(true);
        socket.on('error', () => socket.destroy());
        socket.once('close', () => {
          if (this.#socket === socket) this.#socket = undefined;
        });
        resolve(socket);
      });
    });
  }

  /** Why the endpoint is not the subscribed credential, or undefined when it is. */
  #checkPeer(socket: tls.TLSSocket): string | undefined {
    const cert = socket.getPeerX509Certificate();
    if (!cert) return 'the endpoint presented no certificate';
    const now = Date.now();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return 'the endpoint\'s certificate is not valid now';
    const peer = describePeer(cert, this.#d.tls().caCerts);
    const cred = credentialOf(peer, this.#d.policy.current());
    if (!cred || !sameCredential(cred, this.#d.credential)) {
      this.#d.logger.warn(
        { endpoint: this.#d.endpoint, credential: this.#name, serial: peer.serialNumber, fingerprint: peer.fingerprint },
        'notification endpoint presented a certificate of another or no credential: nothing sent',
      );
      return 'the endpoint\'s certificate does not belong to the subscribed credential';
    }
    return undefined;
  }
}
