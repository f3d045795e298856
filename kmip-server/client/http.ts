/**
 * A KMIP client for the HTTPS binding (KMIP Additional Message Encodings: `POST /kmip`), sending each request
 * message as TTLV, JSON or XML and decoding the answer in the same encoding. Mutual TLS, one keep-alive
 * connection; requests go one at a time, in call order.
 */
import * as https from 'node:https';
import type * as tls from 'node:tls';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { fromJson, toJson } from '../ttlv/json.ts';
import { fromXml, toXml } from '../ttlv/xml.ts';
import { DEFAULT_LIMITS, type TtlvItem } from '../ttlv/types.ts';
import { KmipConnectionError } from './connection.ts';

export type HttpEncoding = 'ttlv' | 'json' | 'xml';

export const HTTP_CONTENT_TYPES: Readonly<Record<HttpEncoding, string>> = {
  ttlv: 'application/octet-stream',
  json: 'application/json',
  xml: 'application/xml',
};

export interface HttpConnectOptions {
  host: string;
  port: number;
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  minVersion?: tls.SecureVersion;
  ciphers?: string;
  /** Default 'ttlv'. */
  encoding?: HttpEncoding;
  /** Path of the binding; default /kmip. */
  path?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

/** An HTTP answer that is not 200 with a body in the request's encoding. */
export class KmipHttpError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`HTTP ${status}: ${body.trim().slice(0, 200)}`);
    this.name = 'KmipHttpError';
    this.status = status;
    this.body = body;
  }
}

export class KmipHttpClient {
  readonly #opts: HttpConnectOptions;
  readonly #agent: https.Agent;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: HttpConnectOptions) {
    this.#opts = opts;
    const agentOpts: https.AgentOptions = { keepAlive: true, maxSockets: 1 };
    if (opts.ca !== undefined) agentOpts.ca = opts.ca;
    if (opts.cert !== undefined) agentOpts.cert = opts.cert;
    if (opts.key !== undefined) agentOpts.key = opts.key;
    if (opts.servername !== undefined) agentOpts.servername = opts.servername;
    if (opts.minVersion !== undefined) agentOpts.minVersion = opts.minVersion;
    if (opts.ciphers !== undefined) agentOpts.ciphers = opts.ciphers;
    this.#agent = new https.Agent(agentOpts);
  }

  get encoding(): HttpEncoding {
    return this.#opts.encoding ?? 'ttlv';
  }

  /** POSTs one body with the encoding's content type; resolves with the response body. */
  postRaw(body: Buffer | string): Promise<Buffer> {
    const run = (): Promise<Buffer> => this.#post(body);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Sends a message in the client's encoding and decodes the answer. */
  async send(message: TtlvItem): Promise<TtlvItem> {
    const enc = this.encoding;
    const body = enc === 'ttlv' ? encode(message) : enc === 'json' ? toJson(message) : toXml(message);
    const answer = await this.postRaw(body);
    if (enc === 'ttlv') return decode(answer, DEFAULT_LIMITS);
    const text = answer.toString('utf8');
    return enc === 'json' ? fromJson(text) : fromXml(text);
  }

  #post(body: Buffer | string): Promise<Buffer> {
    const o = this.#opts;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: o.host,
          port: o.port,
          path: o.path ?? '/kmip',
          method: 'POST',
          agent: this.#agent,
          headers: { 'content-type': HTTP_CONTENT_TYPES[this.encoding], 'content-length': Buffer.byteLength(body) },
          timeout: o.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new KmipConnectionError(`HTTP response error: ${e.message}`, { cause: e })));
          res.on('end', () => {
            const all = Buffer.concat(chunks);
            if (res.statusCode !== 200) reject(new KmipHttpError(res.statusCode ?? 0, all.toString('utf8')));
            else resolve(all);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no response within ${o.timeoutMs ?? 30_000} ms`)));
      req.on('error', (e) => reject(new KmipConnectionError(`HTTPS request to ${o.host}:${o.port} failed: ${e.message}`, { cause: e })));
      req.end(body);
    });
  }

  /** Closes the kept-alive connection. */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
    this.#agent.destroy();
  }
}
