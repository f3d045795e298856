import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { decode } from './ttlv/reader.ts';
import { encode } from './ttlv/writer.ts';
import { fromJson, toJson } from './ttlv/json.ts';
import { fromXml, toXml } from './ttlv/xml.ts';
import type { Dispatcher } from './dispatcher.ts';
import { authenticate, describePeer } from './auth/authenticate.ts';
import type { PolicySource } from './policy/model.ts';

/**
 * The HTTPS binding of the KMIP Additional Message Encodings: `POST /kmip`, one request message
 * per HTTP request, the Content-Type choosing TTLV (application/octet-stream), JSON
 * (application/json) or XML (application/xml, text/xml); the answer uses the same encoding.
 * Authentication is the same mutual TLS as the TTLV listener.
 */
type Encoding = 'ttlv' | 'json' | 'xml';

const CONTENT_TYPES: Record<Encoding, string> = {
  ttlv: 'application/octet-stream',
  json: 'application/json',
  xml: 'application/xml',
};

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === 'application/octet-stream' || t === 'application/x-kmip' || t === 'application/kmip') return 'ttlv';
  if (t === 'application/json' || t === 'application/kmip+json') return 'json';
  if (t === 'application/xml' || t === 'text/xml' || t === 'application/kmip+xml') return 'xml';
  return undefined;
}

export interface HttpBindingOptions {
  dispatcher: Dispatcher;
  policy: PolicySource;
  caCerts: readonly X509Certificate[];
  maxMessageBytes: number;
  logger: Logger;
  /** Counts a request refused for want of a live credential (metrics.ts), as the TLS listener counts its connections. */
  onRefused?: () => void;
}

export function kmipHttpHandler(opts: HttpBindingOptions) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const fail = (status: number, message: string) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`${message}\n`);
    };
    if (req.url !== '/kmip') return fail(404, 'not found: POST /kmip');
    if (req.method !== 'POST') return fail(405, 'method not allowed: POST /kmip');
    const encoding = encodingOf(req.headers['content-type']);
    if (!encoding) return fail(415, 'unsupported Content-Type: use application/octet-stream, application/json or application/xml');
    const socket = req.socket as TLSSocket;
    const cert = socket.getPeerX509Certificate();
    const peer = cert && socket.authorized ? describePeer(cert, opts.caCerts) : undefined;
    const identity = peer && authenticate(peer, opts.policy.current());
    if (!identity) {
      opts.onRefused?.();
      return fail(403, 'client certificate belongs to no live credential');
    }
    identity.recheck = () => authenticate(peer!, opts.policy.current());
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > opts.maxMessageBytes) return fail(413, 'message too large');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxMessageBytes) {
        fail(413, 'message too large');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      void (async () => {
        const body = Buffer.concat(chunks);
        let frame: Uint8Array;
        try {
          frame = encoding === 'ttlv' ? body : encode(encoding === 'json' ? fromJson(body.toString('utf8')) : fromXml(body.toString('utf8')));
        } catch (err) {
          return fail(400, `unreadable ${encoding.toUpperCase()} message: ${(err as Error).message}`);
        }
        const reply = await opts.dispatcher.handle(frame, identity);
        if (!reply) return fail(400, 'unreadable message');
        const out = encoding === 'ttlv' ? reply : encoding === 'json' ? toJson(decode(reply, { maxMessageBytes: Infinity, maxDepth: 64, maxItems: 1e7 })) : toXml(decode(reply, { maxMessageBytes: Infinity, maxDepth: 64, maxItems: 1e7 }));
        res.writeHead(200, { 'content-type': CONTENT_TYPES[encoding] }).end(out);
      })().catch((err) => {
        opts.logger.error({ err }, 'HTTP binding failed');
        fail(500, 'internal error');
      });
    });
  };
}

export function createKmipHttpsServer(tlsOptions: https.ServerOptions, binding: HttpBindingOptions): https.Server {
  const server = https.createServer({ ...tlsOptions, requestCert: true, rejectUnauthorized: true }, kmipHttpHandler(binding));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}
