/**
 * The client's side of the server-to-client operations (Notify, Put) for a conformance run: a TLS
 * listener on 127.0.0.1 that the server under test connects to (the run's credential subscribes
 * it: KmipClientCredential spec.notifications, `dev --notify-endpoint`). It presents the run's
 * client certificate (the server checks the endpoint is that credential) and requires the server
 * to present a certificate of the run's CA.
 *
 * Requests are answered at once with a plain Success unless the runner holds them: while a vector
 * file with server-to-client steps runs, they queue (bounded) for `next`, and the runner answers
 * each with the vector's recorded response. So pushes caused by other files never wait on anyone.
 */
import tls from 'node:tls';
import { Framer } from '../../kmip-server/ttlv/framer.ts';
import { decode } from '../../kmip-server/ttlv/reader.ts';
import { encode } from '../../kmip-server/ttlv/writer.ts';
import { ItemType, dateTime, int, struct, enumeration, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { tagByName } from '../../kmip-server/ttlv/spec/names.ts';

/** One request the server sent. */
export interface Push {
  request: TtlvItem;
  /** Answers it (once); later calls do nothing. */
  reply(response: TtlvItem): void;
  /** Answers it with a plain Success for its operation. */
  replySuccess(): void;
}

export interface PushSource {
  /** Queue requests for `next` (true) or answer them at once (false, the default); false also answers what waits. */
  hold(on: boolean): void;
  /** The next held request, or undefined after `timeoutMs`. */
  next(timeoutMs: number): Promise<Push | undefined>;
}

export interface PushListener extends PushSource {
  host: string;
  port: number;
  /** `host:port`, for the server's subscription. */
  endpoint: string;
  /** Sets the certificate it presents, its key and the CA the server's certificate must chain to. */
  setCredentials(c: { ca: string; cert: string; key: string }): void;
  /** Requests received so far. */
  received(): number;
  close(): Promise<void>;
}

const tag = (name: string): number => {
  const t = tagByName(name);
  if (!t) throw new Error(`spec tables lack ${name}`);
  return t.tag;
};
const T = {
  RequestHeader: tag('Request Header'),
  ProtocolVersion: tag('Protocol Version'),
  BatchItem: tag('Batch Item'),
  Operation: tag('Operation'),
  ResponseMessage: tag('Response Message'),
  ResponseHeader: tag('Response Header'),
  TimeStamp: tag('Time Stamp'),
  BatchCount: tag('Batch Count'),
  ResultStatus: tag('Result Status'),
};

/** A Response Message with one Success batch item for the request's operation, in its version, no payload. */
export function successFor(request: TtlvItem): TtlvItem {
  const kids = request.type === ItemType.Structure ? request.value : [];
  const header = kids.find((c) => c.tag === T.RequestHeader);
  const pv = header?.type === ItemType.Structure ? header.value.find((c) => c.tag === T.ProtocolVersion) : undefined;
  const item = kids.find((c) => c.tag === T.BatchItem);
  const op = item?.type === ItemType.Structure ? item.value.find((c) => c.tag === T.Operation) : undefined;
  return struct(T.ResponseMessage, [
    struct(T.ResponseHeader, [
      ...(pv ? [pv] : []),
      dateTime(T.TimeStamp, Math.floor(Date.now() / 1000)),
      int(T.BatchCount, 1),
    ]),
    struct(T.BatchItem, [...(op ? [op] : []), enumeration(T.ResultStatus, 0)]),
  ]);
}

/** Held requests beyond this are answered at once (a runaway server cannot grow the queue). */
const HOLD_LIMIT = 1000;

export async function startPushListener(): Promise<PushListener> {
  let holding = false;
  let count = 0;
  const queue: Push[] = [];
  const waiters: Array<(p: Push | undefined) => void> = [];
  const sockets = new Set<tls.TLSSocket>();
  // No certificate until setCredentials: the run learns its credential only once the server has made it.
  const server = tls.createServer({ requestCert: true, rejectUnauthorized: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    const framer = new Framer(1 << 22);
    sock.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const f of frames) {
        count++;
        const request = decode(f);
        let done = false;
        const reply = (response: TtlvItem): void => {
          if (done) return;
          done = true;
          if (!sock.destroyed) sock.write(encode(response));
        };
        const push: Push = { request, reply, replySuccess: () => reply(successFor(request)) };
        const waiter = waiters.shift();
        if (!holding || (!waiter && queue.length >= HOLD_LIMIT)) push.replySuccess();
        else if (waiter) waiter(push);
        else queue.push(push);
      }
    });
  });
  server.on('tlsClientError', (_e, s) => s.destroy());
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    host: '127.0.0.1',
    port,
    endpoint: `127.0.0.1:${port}`,
    setCredentials(c) {
      server.setSecureContext({ cert: c.cert, key: c.key, ca: c.ca });
    },
    hold(on) {
      holding = on;
      if (!on) for (const p of queue.splice(0)) p.replySuccess();
    },
    next(timeoutMs) {
      const p = queue.shift();
      if (p) return Promise.resolve(p);
      return new Promise((resolve) => {
        const w = (x: Push | undefined): void => {
          clearTimeout(timer);
          resolve(x);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          resolve(undefined);
        }, timeoutMs);
        waiters.push(w);
      });
    },
    received: () => count,
    async close() {
      for (const w of waiters.splice(0)) w(undefined);
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
