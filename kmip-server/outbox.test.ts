import test from 'ava';
import { Outbox, type ReplySink } from './outbox.ts';

class Sink implements ReplySink {
  destroyed = false;
  readonly name: string;
  readonly log: string[];
  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }
  write(chunk: Uint8Array): boolean {
    this.log.push(`${this.name}:${Buffer.from(chunk).toString()}`);
    return true;
  }
}

/** An outbox whose flush runs when the test says, standing in for the end of the loop turn. */
function manual(): { outbox: Outbox; flush: () => void; scheduled: () => number } {
  const queued: Array<() => void> = [];
  const outbox = new Outbox((f) => queued.push(f));
  return { outbox, flush: () => queued.shift()!(), scheduled: () => queued.length };
}

test('replies are written only at the end of the turn, all together, in the order they were sent', (t) => {
  const log: string[] = [];
  const { outbox, flush, scheduled } = manual();
  const a = new Sink('a', log);
  const b = new Sink('b', log);
  outbox.send(a, Buffer.from('1'));
  outbox.send(b, Buffer.from('1'));
  outbox.send(a, Buffer.from('2'));
  t.deepEqual(log, [], 'nothing written before the flush');
  t.is(scheduled(), 1, 'one flush for the whole turn');
  flush();
  t.deepEqual(log, ['a:1', 'b:1', 'a:2']);
  t.is(outbox.size, 0);
  outbox.send(b, Buffer.from('3'));
  t.is(scheduled(), 1, 'the next turn schedules its own flush');
  flush();
  t.deepEqual(log.at(-1), 'b:3');
});

test('a connection closed before the flush loses only its own replies', (t) => {
  const log: string[] = [];
  const { outbox, flush } = manual();
  const gone = new Sink('gone', log);
  const live = new Sink('live', log);
  outbox.send(gone, Buffer.from('x'));
  outbox.send(live, Buffer.from('y'));
  gone.destroyed = true;
  flush();
  t.deepEqual(log, ['live:y']);
});

test('send counts the bytes queued per connection; flushed() resolves after the flush and the count restarts', async (t) => {
  const log: string[] = [];
  const { outbox, flush } = manual();
  const a = new Sink('a', log);
  const b = new Sink('b', log);
  t.is(outbox.send(a, Buffer.alloc(10, 0x61)), 10);
  t.is(outbox.send(b, Buffer.alloc(5, 0x62)), 5);
  t.is(outbox.send(a, Buffer.alloc(7, 0x61)), 17);
  let done = false;
  const waiting = outbox.flushed().then(() => {
    done = true;
  });
  await Promise.resolve();
  t.false(done, 'not before the flush');
  flush();
  await waiting;
  t.true(done);
  t.is(log.length, 3);
  t.is(outbox.send(a, Buffer.alloc(3, 0x61)), 3, 'counted afresh after the flush');
  let again = false;
  void outbox.flushed().then(() => {
    again = true;
  });
  await new Promise((r) => setImmediate(r));
  t.false(again, 'pending while a reply is queued');
  flush();
  await new Promise((r) => setImmediate(r));
  t.true(again);
});

test('flushed() with nothing queued resolves at once', async (t) => {
  const outbox = new Outbox(() => t.fail('nothing to schedule'));
  await outbox.flushed();
  t.pass();
});

test('a turn that queues more than the byte threshold writes at once, so memory and waiting stay bounded', (t) => {
  const log: string[] = [];
  const queued: Array<() => void> = [];
  const outbox = new Outbox((f) => queued.push(f), 10);
  const a = new Sink('a', log);
  const b = new Sink('b', log);
  t.is(outbox.send(a, Buffer.from('123456')), 6);
  t.deepEqual(log, []);
  t.is(outbox.send(b, Buffer.from('7890ab')), 0, 'written: nothing left queued');
  t.deepEqual(log, ['a:123456', 'b:7890ab']);
  t.is(outbox.size, 0);
  outbox.send(a, Buffer.from('c'));
  queued.shift()!(); // the flush scheduled by the first send also takes what came after
  t.deepEqual(log.at(-1), 'a:c');
});
