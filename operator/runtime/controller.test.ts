import test from 'ava';
import { pino } from 'pino';
import { Controller, TerminalError, splitKey, type Result } from './controller.ts';
import { OperatorMetrics } from './metrics.ts';

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));
const logger = pino({ level: 'silent' });

async function counter(m: OperatorMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return metric?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0) ?? 0;
}

function make(reconcile: (key: string) => Promise<Result | void>, workers = 2) {
  const metrics = new OperatorMetrics();
  const c = new Controller({ name: 'test', reconcile, workers, logger, metrics, backoff: { baseMs: 10, maxMs: 40 } });
  return { c, metrics };
}

test('splitKey separates namespace and name', (t) => {
  t.deepEqual(splitKey('ns/a'), { namespace: 'ns', name: 'a' });
  t.deepEqual(splitKey('cluster-scoped'), { namespace: '', name: 'cluster-scoped' });
});

test('an error is retried with backoff until reconcile succeeds', async (t) => {
  let calls = 0;
  const { c, metrics } = make(async () => {
    calls++;
    if (calls < 3) throw new Error('transient');
  });
  c.start();
  c.enqueue('ns/a');
  await sleep(150);
  await c.stop();
  t.is(calls, 3);
  t.is(await counter(metrics, 'kube_kmip_operator_reconcile_total', { result: 'error' }), 2);
  t.is(await counter(metrics, 'kube_kmip_operator_reconcile_total', { result: 'success' }), 1);
});

test('a TerminalError is not retried', async (t) => {
  let calls = 0;
  const { c, metrics } = make(async () => {
    calls++;
    throw new TerminalError('cannot be fixed by retrying');
  });
  c.start();
  c.enqueue('ns/a');
  await sleep(120);
  await c.stop();
  t.is(calls, 1);
  t.is(await counter(metrics, 'kube_kmip_operator_reconcile_total', { result: 'terminal_error' }), 1);
  t.is(await counter(metrics, 'kube_kmip_operator_reconcile_errors_total', {}), 1);
});

test('requeueAfter reconciles the key again after the delay', async (t) => {
  const times: number[] = [];
  const { c } = make(async () => {
    times.push(Date.now());
    return times.length === 1 ? { requeueAfter: 60 } : undefined;
  });
  c.start();
  c.enqueue('ns/a');
  await sleep(150);
  await c.stop();
  t.is(times.length, 2);
  t.true(times[1]! - times[0]! >= 55);
});

test('one key never runs on two workers at once; changes during a reconcile collapse into one more', async (t) => {
  let running = 0;
  let maxRunning = 0;
  let calls = 0;
  const { c } = make(async () => {
    calls++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(30);
    running--;
  }, 4);
  c.start();
  c.enqueue('ns/a');
  await sleep(5);
  for (let i = 0; i < 10; i++) c.enqueue('ns/a');
  await sleep(120);
  await c.stop();
  t.is(maxRunning, 1);
  t.is(calls, 2);
});

test('different keys run in parallel up to the worker count', async (t) => {
  let running = 0;
  let maxRunning = 0;
  const { c } = make(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(30);
    running--;
  }, 3);
  c.start();
  for (const k of ['a', 'b', 'c', 'd', 'e']) c.enqueue(`ns/${k}`);
  await sleep(100);
  await c.stop();
  t.is(maxRunning, 3);
});

test('stop() waits for the reconcile in progress and enqueue() afterwards does nothing', async (t) => {
  let finished = false;
  const { c } = make(async () => {
    await sleep(40);
    finished = true;
  });
  c.start();
  c.enqueue('ns/a');
  await sleep(5);
  await c.stop();
  t.true(finished);
  t.false(c.running);
  c.enqueue('ns/b');
});
