import test from 'ava';
import { ExponentialBackoff, WorkQueue } from './queue.ts';

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

test('a key added several times before a worker takes it is handed out once', async (t) => {
  const q = new WorkQueue();
  q.add('ns/a');
  q.add('ns/b');
  q.add('ns/a');
  q.add('ns/a');
  t.is(q.length, 2);
  t.is(await q.get(), 'ns/a');
  t.is(await q.get(), 'ns/b');
  t.is(q.length, 0);
});

test('a key added while being processed is not handed to a second worker, but comes back after done()', async (t) => {
  const q = new WorkQueue();
  q.add('k');
  const key = await q.get();
  t.is(key, 'k');
  q.add('k');
  q.add('k');
  t.is(q.length, 0, 'not queued while processing');
  let second: string | undefined;
  void q.get().then((k) => (second = k));
  await sleep(5);
  t.is(second, undefined, 'a second worker waits');
  q.done('k');
  await sleep(0);
  t.is(second, 'k', 'handed out once more after done');
  q.done('k');
  t.is(q.length, 0);
});

test('a waiting worker gets the next key as soon as it is added', async (t) => {
  const q = new WorkQueue();
  const got = q.get();
  q.add('x');
  t.is(await got, 'x');
});

test('exponential backoff per key doubles from base to max and forget() resets it', (t) => {
  const b = new ExponentialBackoff(10, 100);
  t.deepEqual([b.when('a'), b.when('a'), b.when('a'), b.when('a'), b.when('a'), b.when('a')], [10, 20, 40, 80, 100, 100]);
  t.is(b.when('b'), 10, 'keys back off independently');
  t.is(b.failures('a'), 6);
  b.forget('a');
  t.is(b.when('a'), 10);
  for (let i = 0; i < 2000; i++) b.when('c');
  t.is(b.when('c'), 100, 'no overflow after many failures');
});

test('addRateLimited delays by the key\'s backoff; forget() starts again from base', async (t) => {
  const q = new WorkQueue({ backoff: new ExponentialBackoff(20, 1000) });
  t.is(q.addRateLimited('k'), 20);
  t.is(q.length, 0);
  await sleep(40);
  t.is(q.length, 1);
  t.is(await q.get(), 'k');
  q.done('k');
  t.is(q.addRateLimited('k'), 40);
  q.forget('k');
  t.is(q.addRateLimited('k'), 20);
  q.shutdown();
});

test('addAfter keeps the earliest schedule for a key', async (t) => {
  const q = new WorkQueue();
  q.addAfter('k', 500);
  q.addAfter('k', 20);
  q.addAfter('k', 300);
  await sleep(60);
  t.is(q.length, 1);
  t.is(await q.get(), 'k');
  q.done('k');
  await sleep(10);
  t.is(q.length, 0, 'the later schedules were dropped, not kept');
  q.shutdown();
});

test('shutdown releases waiting workers and drops scheduled keys', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.addAfter('later', 20);
  q.shutdown();
  t.is(await waiting, undefined);
  q.add('ignored');
  t.is(await q.get(), undefined);
  await sleep(40);
  t.is(q.length, 0);
});

test('depth is reported as keys come and go', async (t) => {
  const depths: number[] = [];
  const q = new WorkQueue({ onDepth: (n) => depths.push(n) });
  q.add('a');
  q.add('b');
  await q.get();
  t.deepEqual(depths, [1, 2, 1]);
});
