/**
 * Hostile and broken input against the dev server (a child process, real TLS with the admin
 * credential). After each case the server must have answered an error or closed that connection,
 * must keep serving a well-behaved client on another connection throughout, and its resident
 * memory must stay bounded.
 *
 * Timeouts: the shared server runs with --idle-timeout-ms. The message timeout (slow client) and
 * the handshake timeout have no command-line flag yet; the slow-client test asks for
 * --message-timeout-ms and falls back to the 30 s default when the server refuses the flag.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { KmipClient, V1_4, attributes, nameAttribute, parseResponse, requestMessage } from '../../kmip-server/client/client.ts';
import { Framer } from '../../kmip-server/ttlv/framer.ts';
import { decode } from '../../kmip-server/ttlv/reader.ts';
import { encode } from '../../kmip-server/ttlv/writer.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { CryptographicAlgorithm, CryptographicUsageMask, ObjectType } from '../../kmip-server/ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, type StructureItem, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { startDevServer, suiteTeardown, type DevServer } from '../helpers/dev-server.ts';
import { ResultReason, ResultStatus, connectAs, reasonName, sleep, uidItem } from '../helpers/kmip.ts';

const IDLE_TIMEOUT_MS = 4000;
const MESSAGE_TIMEOUT_MS = 2000;
const DEFAULT_MESSAGE_TIMEOUT_MS = 30_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Allowed growth of the server's RSS over its warmed-up baseline. */
const RSS_BOUND_KB = 150 * 1024;

const suite = suiteTeardown();
let server: DevServer;
let baselineRssKb = 0;

test.before(async () => {
  server = await startDevServer(suite, { args: ['--idle-timeout-ms', String(IDLE_TIMEOUT_MS)] });
  // Warm up (TLS, SQLite, JIT) before taking the baseline.
  const c = await connectAs(server);
  for (let i = 0; i < 20; i++) await c.get(await c.create());
  await c.close();
  baselineRssKb = server.rssKb();
});
test.after.always(() => suite.run());

// ---------------------------------------------------------------------------------------------------------------
// A well-behaved client running alongside each case

interface GoodClient {
  /** Successful round trips so far. */
  readonly ok: number;
  stop(): Promise<{ ok: number; errors: string[] }>;
}

function goodClient(srv: DevServer): GoodClient {
  let running = true;
  let ok = 0;
  const errors: string[] = [];
  const loop = (async () => {
    let c: KmipClient | undefined;
    while (running) {
      try {
        c ??= await connectAs(srv, srv.credentials, { version: V1_4 });
        const uid = await c.create({ name: `good-${randomUUID()}` });
        const got = await c.get(uid);
        if (!got.value.some((i) => i.tag === Tag.SymmetricKey)) throw new Error('Get returned no Symmetric Key');
        ok++;
      } catch (err) {
        errors.push((err as Error).message);
        await c?.close().catch(() => undefined);
        c = undefined;
      }
      await sleep(10);
    }
    await c?.close().catch(() => undefined);
  })();
  return {
    get ok() {
      return ok;
    },
    async stop() {
      running = false;
      await loop;
      return { ok, errors };
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Runs `attack` with a good client alongside (served before, during and after it), then checks
 * the good client never failed, the server is alive, and its RSS stayed within the bound.
 */
async function underAttack(t: ExecutionContext, attack: () => Promise<void>, srv: DevServer = server, baseline = baselineRssKb): Promise<void> {
  const good = goodClient(srv);
  try {
    await until('the good client to be served before the attack', () => good.ok >= 1, 10_000);
    const before = good.ok;
    const started = Date.now();
    await attack();
    const during = good.ok - before;
    t.log(`good client: ${during} round trips during ${Date.now() - started} ms of attack`);
    const after = good.ok;
    await until('the good client to be served after the attack', () => good.ok >= after + 2, 10_000);
  } finally {
    const { errors } = await good.stop();
    t.deepEqual(errors, [], 'the good client never failed');
  }
  t.is(srv.process.exitCode, null, 'the server is still running');
  t.is(srv.process.signalCode, null);
  const rss = srv.rssKb();
  t.log(`server RSS ${Math.round(rss / 1024)} MiB (baseline ${Math.round(baseline / 1024)} MiB)`);
  t.true(rss - baseline < RSS_BOUND_KB, `RSS grew by ${Math.round((rss - baseline) / 1024)} MiB`);
}

// ---------------------------------------------------------------------------------------------------------------
// Raw probes

interface ProbeResult {
  /** The server closed the connection (or reset it) within the wait. */
  closed: boolean;
  /** When it closed, ms after the last byte was written. */
  closedAfterMs?: number;
  /** When it closed, ms after the first byte was written. */
  closedAfterFirstMs?: number;
  /** Whole messages the server wrote. */
  frames: Buffer[];
  /** Connection-level error, if any (EPIPE / ECONNRESET when closed mid-write). */
  error?: string;
}

/**
 * Opens a mutual-TLS connection with the admin credential, writes `chunks` (with `gapMs` between
 * them), then waits up to `waitMs` for the server to answer and/or close. With `untilFrames`, returns
 * as soon as that many answers arrived (the connection still open).
 */
function probe(srv: DevServer, chunks: Buffer[], opts: { waitMs?: number; gapMs?: number; untilFrames?: number } = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const frames: Buffer[] = [];
    const framer = new Framer(64 * 1024 * 1024);
    let lastWrite = Date.now();
    let firstWrite: number | undefined;
    let error: string | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const socket = tls.connect({
      host: srv.host,
      port: srv.port,
      ca: srv.credentials.caPem,
      cert: srv.credentials.certPem,
      key: srv.credentials.keyPem,
    });
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const now = Date.now();
      resolve({ closed, ...(closed ? { closedAfterMs: now - lastWrite, closedAfterFirstMs: now - (firstWrite ?? now) } : {}), frames, ...(error ? { error } : {}) });
    };
    socket.on('data', (d: Buffer) => {
      try {
        frames.push(...framer.push(d));
      } catch (err) {
        error = `unreadable answer: ${(err as Error).message}`;
      }
      if (opts.untilFrames !== undefined && frames.length >= opts.untilFrames) finish(false);
    });
    socket.on('error', (e) => {
      error = e.message;
    });
    socket.on('close', () => finish(true));
    socket.once('secureConnect', async () => {
      for (const [i, c] of chunks.entries()) {
        if (i > 0 && opts.gapMs) await sleep(opts.gapMs);
        if (socket.destroyed) break;
        firstWrite ??= Date.now();
        await new Promise<void>((r) => socket.write(c, () => r()));
        lastWrite = Date.now();
      }
      timer = setTimeout(() => finish(false), opts.waitMs ?? 3000);
    });
  });
}

/** The answers' batch items as [status, reason] pairs. */
function results(frames: Buffer[]): Array<[number, number | undefined]> {
  return frames.flatMap((f) => parseResponse(decode(f)).items.map((i): [number, number | undefined] => [i.status, i.reason]));
}

/** The server answered errors only, or closed the connection: never a success. */
function errorOrClosed(t: ExecutionContext, r: ProbeResult, what: string): void {
  const answers = results(r.frames);
  t.true(r.closed || answers.length > 0, `${what}: the server neither answered nor closed the connection`);
  for (const [status, reason] of answers) {
    t.not(status, ResultStatus.Success, `${what}: answered Success`);
    t.log(`${what}: answered ${reasonName(reason)}`);
  }
  if (answers.length === 0) t.log(`${what}: closed after ${r.closedAfterMs} ms${r.error ? ` (${r.error})` : ''}`);
}

/** The server answered exactly one Invalid Message error (it could read the header). */
function invalidMessage(t: ExecutionContext, r: ProbeResult, what: string): void {
  t.deepEqual(results(r.frames), [[ResultStatus.OperationFailed, ResultReason.InvalidMessage]], `${what}: expected one Invalid Message answer`);
}

const createItem = (name: string): { operation: string; payload: TtlvItem[] } => ({
  operation: 'Create',
  payload: [
    enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
    attributes(V1_4, [
      enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
      int(Tag.CryptographicLength, 256),
      int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt),
      nameAttribute(name),
    ]),
  ],
});

/** A request whose Batch Count says `count` whatever the items are. */
function withBatchCount(msg: StructureItem, count: number): StructureItem {
  const header = msg.value[0] as StructureItem;
  const patched = struct(header.tag, header.value.map((i) => (i.tag === Tag.BatchCount ? int(Tag.BatchCount, count) : i)));
  return struct(msg.tag, [patched, ...msg.value.slice(1)]);
}

/** Whether an object named `name` exists (Locate by name through a fresh admin connection). */
async function located(name: string): Promise<string[]> {
  const c = await connectAs(server, server.credentials, { version: V1_4 });
  try {
    return await c.locate(name);
  } finally {
    await c.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------

test('random bytes: answered with an error or closed', async (t) => {
  await underAttack(t, async () => {
    const probes = await Promise.all(Array.from({ length: 20 }, () => probe(server, [randomBytes(8192)])));
    for (const [i, r] of probes.entries()) errorOrClosed(t, r, `random bytes #${i}`);
  });
});

test('random bytes after a valid header: answered with Invalid Message', async (t) => {
  await underAttack(t, async () => {
    // A real request header, then garbage inside the message: the server can tell the version.
    const valid = Buffer.from(encode(requestMessage(V1_4, [{ operation: 'Discover Versions', payload: [] }])));
    const header = valid.subarray(0, 8 + 8 + 40); // Request Message, Request Header, Protocol Version
    for (let i = 0; i < 10; i++) {
      const junk = randomBytes(4096);
      const body = Buffer.concat([header.subarray(8), junk]);
      const frame = Buffer.concat([valid.subarray(0, 4), u32(body.length), body]);
      const r = await probe(server, [frame], { untilFrames: 1 });
      errorOrClosed(t, r, `garbage after header #${i}`);
    }
  });
});

test('truncated valid TTLV: answered with Invalid Message, and the connection stays usable', async (t) => {
  await underAttack(t, async () => {
    const full = Buffer.from(encode(requestMessage(V1_4, [createItem(`trunc-${randomUUID()}`)])));
    const good = Buffer.from(encode(requestMessage(V1_4, [{ operation: 'Discover Versions', payload: [] }])));
    for (const keep of [0.3, 0.5, 0.8, 0.95]) {
      // Cut the message, and make the outer length agree with what is left: the inner items overrun.
      const cut = Math.floor((full.length * keep) / 8) * 8;
      const frame = Buffer.from(full.subarray(0, cut));
      frame.writeUInt32BE(cut - 8, 4);
      const r = await probe(server, [frame, good], { untilFrames: 2 });
      t.false(r.closed, `cut at ${cut}/${full.length}: connection kept`);
      t.deepEqual(results(r.frames), [
        [ResultStatus.OperationFailed, ResultReason.InvalidMessage],
        [ResultStatus.Success, undefined],
      ], `cut at ${cut}/${full.length}: Invalid Message, then the next request is served`);
    }
    // An inner item whose length runs past the end of the message.
    const itemAt = good.indexOf(Buffer.from([0x42, 0x00, 0x0f, 0x01])); // Batch Item (a Structure)
    t.true(itemAt > 0);
    const lying = Buffer.from(good);
    lying.writeUInt32BE(0xfffffff0, itemAt + 4);
    invalidMessage(t, await probe(server, [lying], { untilFrames: 1 }), 'inner length past the end');
  });
});

test('a message declaring 4 GiB is refused at once without buffering', async (t) => {
  await underAttack(t, async () => {
    const header = Buffer.from([0x42, 0x00, 0x78, 0x01, 0xff, 0xff, 0xff, 0xff]);
    const r = await probe(server, [header, randomBytes(64 * 1024)], { waitMs: 5000 });
    errorOrClosed(t, r, '4 GiB declared');
    t.true(r.closed, 'the connection is closed: there is no way to skip 4 GiB');
    t.true((r.closedAfterMs ?? Infinity) < 2000, `closed promptly (${r.closedAfterMs} ms), not after a timeout`);
  });
});

test('a 2 MiB message (over the 1 MiB default limit) is refused; one just under is served', async (t) => {
  await underAttack(t, async () => {
    const name = `big-${randomUUID()}`;
    const big = (size: number) =>
      Buffer.from(encode(requestMessage(V1_4, [{
        operation: 'Register',
        payload: [
          enumeration(Tag.ObjectType, ObjectType.OpaqueObject),
          attributes(V1_4, [nameAttribute(name)]),
          struct(Tag.OpaqueObject, [enumeration(Tag.OpaqueDataType, 0x80000000 /* vendor-defined; PyKMIP's NONE */), bytes(Tag.OpaqueDataValue, randomBytes(size))]),
        ],
      }])));
    const over = big(2 * 1024 * 1024);
    const r = await probe(server, [over], { waitMs: 5000 });
    errorOrClosed(t, r, '2 MiB message');
    t.true(r.closed || results(r.frames).every(([, reason]) => reason !== undefined));
    t.deepEqual(await located(name), [], 'nothing from the oversized message was stored');
    const under = big(1024 * 1024 - 1024);
    t.true(under.length <= 1024 * 1024);
    const ok = await probe(server, [under], { untilFrames: 1, waitMs: 10_000 });
    t.deepEqual(results(ok.frames), [[ResultStatus.Success, undefined]], 'a message under the limit is served');
  });
});

test('structures nested 1000 deep: answered with Invalid Message', async (t) => {
  await underAttack(t, async () => {
    let nested: StructureItem = struct(Tag.Attribute, []);
    for (let i = 1; i < 1000; i++) nested = struct(Tag.Attribute, [nested]);
    const frame = Buffer.from(encode(requestMessage(V1_4, [{ operation: 'Get', payload: [nested] }])));
    const r = await probe(server, [frame], { untilFrames: 1 });
    errorOrClosed(t, r, '1000 deep');
    invalidMessage(t, r, '1000 deep');
    // Nesting at the very top, before any header: nothing to answer in, the connection may close.
    const bare = Buffer.alloc(8 * 1000);
    for (let i = 0; i < 1000; i++) {
      bare.writeUIntBE(0x420078, i * 8, 3);
      bare[i * 8 + 3] = ItemType.Structure;
      bare.writeUInt32BE(8 * (1000 - i - 1), i * 8 + 4);
    }
    errorOrClosed(t, await probe(server, [bare]), '1000 deep from the top');
  });
});

test('a Batch Count that lies is Invalid Message and runs no batch item', async (t) => {
  await underAttack(t, async () => {
    for (const [count, items] of [[5, 1], [0, 1], [2 ** 31 - 1, 1], [1, 3], [-1, 2]] as const) {
      const name = `batch-lie-${randomUUID()}`;
      const msg = withBatchCount(requestMessage(V1_4, Array.from({ length: items }, () => createItem(name))), count);
      const r = await probe(server, [Buffer.from(encode(msg))], { untilFrames: 1 });
      invalidMessage(t, r, `Batch Count ${count} with ${items} items`);
      t.deepEqual(await located(name), [], `Batch Count ${count} with ${items} items: no Create ran`);
    }
  });
});

test('unknown item types: Invalid Message inside a message, closed at the top', async (t) => {
  await underAttack(t, async () => {
    const msg = Buffer.from(encode(requestMessage(V1_4, [{ operation: 'Get', payload: [uidItem('some-object')] }])));
    const at = msg.indexOf(Buffer.from([0x42, 0x00, 0x94])); // Unique Identifier
    t.true(at > 0);
    for (const type of [0x00, 0x0c, 0x0f, 0x80, 0xff]) {
      const patched = Buffer.from(msg);
      patched[at + 3] = type;
      invalidMessage(t, await probe(server, [patched], { untilFrames: 1 }), `item type 0x${type.toString(16)}`);
      const top = Buffer.from(msg);
      top[3] = type;
      errorOrClosed(t, await probe(server, [top]), `top-level item type 0x${type.toString(16)}`);
    }
  });
});

test('a slow client that sends half a message and stops is closed after the message timeout', async (t) => {
  // Needs a server whose message timeout the test can set; the flag may not exist yet.
  let srv: DevServer;
  let timeoutMs = MESSAGE_TIMEOUT_MS;
  try {
    srv = await startDevServer(t, { args: ['--message-timeout-ms', String(MESSAGE_TIMEOUT_MS)] });
  } catch (err) {
    t.log(`the server refused --message-timeout-ms; using its default ${DEFAULT_MESSAGE_TIMEOUT_MS} ms (${(err as Error).message.split('\n')[0]})`);
    srv = await startDevServer(t);
    timeoutMs = DEFAULT_MESSAGE_TIMEOUT_MS;
  }
  const c = await connectAs(srv);
  await c.get(await c.create());
  await c.close();
  const baseline = srv.rssKb();
  await underAttack(t, async () => {
    const full = Buffer.from(encode(requestMessage(V1_4, [createItem(`slow-${randomUUID()}`)])));
    const half = full.subarray(0, Math.floor(full.length / 2));
    // One byte at a time, each well within the timeout, for longer than the timeout: the message as
    // a whole is late, so the trickle must be cut off (a per-chunk timer would let it live forever).
    const gapMs = Math.max(50, Math.floor(timeoutMs / 30));
    const count = Math.ceil((timeoutMs + 5000) / gapMs);
    t.true(count < full.length, 'the trickle never completes the message');
    const trickle = Array.from(full.subarray(0, count), (b) => Buffer.from([b]));
    const [a, b, slow] = await Promise.all([
      probe(srv, [half], { waitMs: timeoutMs + 5000 }),
      probe(srv, [full.subarray(0, 8)], { waitMs: timeoutMs + 5000 }),
      probe(srv, trickle, { waitMs: 3000, gapMs }),
    ]);
    for (const [what, r] of [['half a message', a], ['just the header', b]] as const) {
      t.true(r.closed, `${what}: closed`);
      t.deepEqual(results(r.frames), [], `${what}: nothing answered`);
      t.true((r.closedAfterMs ?? 0) >= timeoutMs - 250, `${what}: not before the timeout (${r.closedAfterMs} ms)`);
      t.true((r.closedAfterMs ?? Infinity) <= timeoutMs + 3000, `${what}: soon after the timeout (${r.closedAfterMs} ms)`);
    }
    t.true(slow.closed, 'the trickling client is closed');
    t.deepEqual(results(slow.frames), []);
    t.true((slow.closedAfterFirstMs ?? Infinity) <= timeoutMs + 3000,
      `the trickling client is closed once its message is late (${slow.closedAfterFirstMs} ms after its first byte; timeout ${timeoutMs} ms)`);
  }, srv, baseline);
});

test('200 idle connections: the server keeps serving, then closes them after the idle timeout', async (t) => {
  await underAttack(t, async () => {
    const sockets: tls.TLSSocket[] = [];
    const openedAt = new Map<tls.TLSSocket, number>();
    const closedAt = new Map<tls.TLSSocket, number>();
    const start = Date.now();
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => new Promise<void>((resolve, reject) => {
        const s = tls.connect({ host: server.host, port: server.port, ca: server.credentials.caPem, cert: server.credentials.certPem, key: server.credentials.keyPem });
        s.once('secureConnect', () => {
          openedAt.set(s, Date.now());
          resolve();
        });
        s.once('error', reject);
        s.on('error', () => undefined);
        s.on('close', () => closedAt.set(s, Date.now()));
        sockets.push(s);
      })));
    }
    t.log(`200 connections open after ${Date.now() - start} ms`);
    // While they idle, a fresh client is served promptly.
    const c = await connectAs(server);
    const t0 = Date.now();
    await c.get(await c.create());
    t.true(Date.now() - t0 < 3000, `served promptly with 200 idle connections open (${Date.now() - t0} ms)`);
    await c.close();
    const deadline = Date.now() + IDLE_TIMEOUT_MS + 4000;
    while (closedAt.size < sockets.length && Date.now() < deadline) await sleep(100);
    t.is(closedAt.size, sockets.length, `all idle connections closed within the idle timeout (${closedAt.size}/${sockets.length})`);
    const lifetimes = sockets.filter((s) => closedAt.has(s)).map((s) => closedAt.get(s)! - openedAt.get(s)!);
    t.true(Math.min(...lifetimes) >= IDLE_TIMEOUT_MS - 250, `none closed before the idle timeout (shortest ${Math.min(...lifetimes)} ms)`);
    t.true(Math.max(...lifetimes) <= IDLE_TIMEOUT_MS + 3000, `none kept long after it (longest ${Math.max(...lifetimes)} ms)`);
    for (const s of sockets) s.destroy();
  });
});

test('bare TCP connections that never start TLS are closed by the handshake timeout', async (t) => {
  await underAttack(t, async () => {
    const closed = await Promise.all(Array.from({ length: 50 }, () => new Promise<number>((resolve) => {
      const s = net.connect(server.port, server.host);
      const start = Date.now();
      const timer = setTimeout(() => {
        s.destroy();
        resolve(Infinity);
      }, DEFAULT_HANDSHAKE_TIMEOUT_MS + 5000);
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - start);
      });
    })));
    const worst = Math.max(...closed);
    t.true(worst <= DEFAULT_HANDSHAKE_TIMEOUT_MS + 3000, `all 50 closed (slowest after ${worst} ms)`);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

test('300 requests pipelined in one write are all answered, in order, on that connection', async (t) => {
  // Replies wait for the end of the event-loop turn (kmip-server/outbox.ts); a connection's replies
  // must still leave in the order its requests came.
  const c = await connectAs(server);
  const uid = await c.create();
  await c.close();
  const N = 300;
  const messages = Array.from({ length: N }, (_, i) => {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(i);
    return Buffer.from(encode(requestMessage(V1_4, [{ operation: 'Get', payload: [uidItem(uid)], uniqueBatchItemId: id }])));
  });
  const r = await probe(server, [Buffer.concat(messages)], { untilFrames: N, waitMs: 20_000 });
  t.is(r.frames.length, N, `all ${N} answered (${r.error ?? 'no error'})`);
  const ids = r.frames.map((f) => {
    const [item] = parseResponse(decode(f)).items;
    t.is(item?.status, ResultStatus.Success);
    return Buffer.from(item!.uniqueBatchItemId!).readUInt32BE();
  });
  t.deepEqual(ids, Array.from({ length: N }, (_, i) => i), 'answers in request order');
});

test('a client that pipelines and never reads: the server stops answering it, stays bounded, and serves others', async (t) => {
  // Each Query answer is a few KiB. Writing 40 MiB of requests without reading one answer would,
  // without back-pressure, make the server hold every answer in memory.
  const query = Buffer.from(encode(requestMessage(V1_4, [{
    operation: 'Query',
    payload: [1, 2, 3, 4, 5, 6].map((f) => enumeration(Tag.QueryFunction, f)),
  }])));
  await underAttack(t, async () => {
    const socket = tls.connect({ host: server.host, port: server.port, ca: server.credentials.caPem, cert: server.credentials.certPem, key: server.credentials.keyPem });
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('secureConnect', () => r()));
    socket.pause(); // never read
    const burst = Buffer.concat(Array.from({ length: 256 }, () => query));
    let written = 0;
    const deadline = Date.now() + 4000;
    // Write until 40 MiB went out or the server stops taking them (the kernel buffers fill).
    while (written < 40 * 1024 * 1024 && Date.now() < deadline) {
      written += burst.length;
      if (!socket.write(burst)) {
        const drained = await Promise.race([new Promise((r) => socket.once('drain', () => r(true))), sleep(500).then(() => false)]);
        if (!drained) break;
      }
    }
    t.log(`wrote ${Math.round(written / 1024)} KiB of pipelined Query requests without reading; the server stopped taking them`);
    t.true(written < 40 * 1024 * 1024, 'the server stopped reading the client that does not read its answers');
    socket.destroy();
  });
});
