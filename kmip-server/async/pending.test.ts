import test from 'ava';
import { CancellationResult, Operation, ResultReason, ResultStatus } from '../ttlv/enums.ts';
import { text } from '../ttlv/types.ts';
import { Tag } from '../ttlv/tag.ts';
import type { ItemOutcome } from '../operations/context.ts';
import { PendingOperations, type AsyncOptions } from './pending.ts';

const ALICE = 'scope-a\u0000alice';
const BOB = 'scope-a\u0000bob';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A job that counts its runs and, with `gate`, does not finish until released. */
function job(result: Partial<ItemOutcome> = {}, gate?: Promise<void>) {
  const state = { runs: 0 };
  const run = async (): Promise<ItemOutcome> => {
    state.runs++;
    await gate;
    return { operation: Operation.Locate, status: ResultStatus.Success, payload: [text(Tag.UniqueIdentifier, 'k1')], ...result };
  };
  return { state, run };
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

function table(t: { teardown(fn: () => void): void }, opts: Partial<AsyncOptions> = {}) {
  const p = new PendingOperations({ startDelayMs: 60_000, pollWaitMs: 50, ...opts });
  t.teardown(() => void p.close());
  return p;
}

test('Poll starts a queued operation and answers its outcome once; a second Poll finds nothing', async (t) => {
  const p = table(t);
  const j = job();
  const acv = p.submit(ALICE, Operation.Locate, j.run)!;
  t.is(acv.length, 16);
  const first = await p.poll(ALICE, acv);
  t.like(first, { operation: Operation.Locate, status: ResultStatus.Success });
  t.is((first as ItemOutcome).payload?.length, 1);
  t.is(j.state.runs, 1);
  t.is(await p.poll(ALICE, acv), undefined);
  // Still remembered as finished: Cancel says so.
  t.is(p.cancel(ALICE, acv), CancellationResult.Completed);
});

test('Poll while the operation runs answers pending, then the outcome when it is done', async (t) => {
  const p = table(t);
  const g = gate();
  const j = job({}, g.p);
  const acv = p.submit(ALICE, Operation.Locate, j.run)!;
  t.is(await p.poll(ALICE, acv), 'pending');
  t.is(p.cancel(ALICE, acv), CancellationResult.UnableToCancel);
  g.open();
  t.like(await p.poll(ALICE, acv), { status: ResultStatus.Success });
  t.is(j.state.runs, 1);
});

test('Cancel before the start cancels: the operation never runs, Poll answers Operation Canceled By Requester', async (t) => {
  const p = table(t, { startDelayMs: 30 });
  const j = job();
  const acv = p.submit(ALICE, Operation.Archive, j.run)!;
  t.is(p.cancel(ALICE, acv), CancellationResult.Canceled);
  await sleep(80);
  t.is(j.state.runs, 0);
  t.is(p.cancel(ALICE, acv), CancellationResult.Canceled);
  t.like(await p.poll(ALICE, acv), { operation: Operation.Archive, status: ResultStatus.OperationFailed, reason: ResultReason.OperationCanceledByRequester });
});

test('without a Poll the operation starts after the delay; Cancel then reports how it ended', async (t) => {
  const p = table(t, { startDelayMs: 20 });
  const ok = job();
  const bad = job({ status: ResultStatus.OperationFailed, reason: ResultReason.ItemNotFound });
  const a = p.submit(ALICE, Operation.Locate, ok.run)!;
  const b = p.submit(ALICE, Operation.Locate, bad.run)!;
  await sleep(80);
  t.is(ok.state.runs, 1);
  t.is(p.cancel(ALICE, a), CancellationResult.Completed);
  t.is(p.cancel(ALICE, b), CancellationResult.Failed);
  // Cancel does not take the result: Poll still gets it.
  t.like(await p.poll(ALICE, b), { status: ResultStatus.OperationFailed, reason: ResultReason.ItemNotFound });
});

test('another client neither polls nor cancels an operation it did not submit', async (t) => {
  const p = table(t);
  const j = job();
  const acv = p.submit(ALICE, Operation.Locate, j.run)!;
  t.is(await p.poll(BOB, acv), undefined);
  t.is(p.cancel(BOB, acv), CancellationResult.Unavailable);
  t.is(j.state.runs, 0, 'a foreign Poll does not start it either');
  t.like(await p.poll(ALICE, acv), { status: ResultStatus.Success });
  t.is(p.cancel(ALICE, new Uint8Array(16)), CancellationResult.Unavailable);
});

test('limits per client and in total refuse new entries; polled entries make room first', async (t) => {
  const p = table(t, { maxPerClient: 2, maxTotal: 3 });
  const a1 = p.submit(ALICE, Operation.Locate, job().run)!;
  t.truthy(p.submit(ALICE, Operation.Locate, job().run));
  t.is(p.submit(ALICE, Operation.Locate, job().run), undefined, 'Alice is at her limit');
  t.truthy(p.submit(BOB, Operation.Locate, job().run));
  t.is(p.submit('scope-b\u0000carol', Operation.Locate, job().run), undefined, 'the table is full');
  t.is(p.size(), 3);
  await p.poll(ALICE, a1); // delivered: only a tombstone now, evicted for a new entry
  t.truthy(p.submit(ALICE, Operation.Locate, job().run));
  t.is(p.size(ALICE), 2);
  t.is(p.cancel(ALICE, a1), CancellationResult.Unavailable, 'the evicted tombstone is gone');
});

test('finished operations are forgotten after the TTL', async (t) => {
  const p = table(t, { startDelayMs: 0, resultTtlMs: 40 });
  const acv = p.submit(ALICE, Operation.Locate, job().run)!;
  await sleep(10);
  t.is(p.cancel(ALICE, acv), CancellationResult.Completed);
  await sleep(80);
  t.is(p.size(), 0);
  t.is(await p.poll(ALICE, acv), undefined);
});

test('limits of 0 refuse everything', (t) => {
  const p = table(t, { maxTotal: 0 });
  t.is(p.submit(ALICE, Operation.Locate, job().run), undefined);
});

test('an operation that throws ends as General Failure and is reported', async (t) => {
  const errors: unknown[] = [];
  const p = new PendingOperations({ startDelayMs: 60_000 }, (err) => errors.push(err));
  t.teardown(() => void p.close());
  const acv = p.submit(ALICE, Operation.Locate, async () => {
    throw new Error('boom');
  })!;
  t.like(await p.poll(ALICE, acv), { operation: Operation.Locate, status: ResultStatus.OperationFailed, reason: ResultReason.GeneralFailure });
  t.is(errors.length, 1);
});

test('a view answers a repeated Poll in one message the same, without taking a second result', async (t) => {
  const p = table(t);
  const acv = p.submit(ALICE, Operation.Locate, job().run)!;
  const view = p.view(ALICE);
  const first = await view.poll(acv);
  t.like(first, { status: ResultStatus.Success });
  t.is(await view.poll(acv), first);
  view.settle(true);
  t.is(await p.view(ALICE).poll(acv), undefined, 'a new message finds it taken once the first answered');
});

test('close drops queued operations and waits for running ones', async (t) => {
  const p = new PendingOperations({ startDelayMs: 60_000, pollWaitMs: 10 });
  const queued = job();
  const g = gate();
  const running = job({}, g.p);
  p.submit(ALICE, Operation.Locate, queued.run);
  const acv = p.submit(ALICE, Operation.Locate, running.run)!;
  t.is(await p.poll(ALICE, acv), 'pending');
  let closed = false;
  const closing = p.close().then(() => (closed = true));
  await sleep(20);
  t.false(closed);
  g.open();
  await closing;
  t.is(queued.state.runs, 0);
  t.is(p.submit(ALICE, Operation.Locate, job().run), undefined);
});

test('results waiting for their Poll are bounded in bytes: beyond the budget new requests are refused until polled', async (t) => {
  const big = { payload: Array.from({ length: 20 }, (_, i) => text(Tag.UniqueIdentifier, `uid-${i}-${'x'.repeat(40)}`)) };
  const p = table(t, { maxResultBytes: 1000, startDelayMs: 0 });
  const a = p.submit(ALICE, Operation.Locate, job(big).run)!;
  // Started in the background; wait until its result is held.
  for (let i = 0; i < 100 && p.heldBytes === 0; i++) await sleep(5);
  t.true(p.heldBytes > 1000, `${p.heldBytes} bytes held`);
  t.is(p.submit(BOB, Operation.Locate, job().run), undefined, 'over the byte budget: answered synchronously');
  const r = await p.poll(ALICE, a);
  t.is((r as ItemOutcome).payload!.length, 20);
  t.is(p.heldBytes, 0, 'a polled result no longer counts');
  t.truthy(p.submit(BOB, Operation.Locate, job().run));
});

test('a view settles what its Poll was handed: given back, the next Poll gets it; while handed, another Poll hears pending', async (t) => {
  const p = new PendingOperations({ startDelayMs: 0 });
  t.teardown(() => void p.close());
  const outcome = { operation: 10, status: 0, payload: [] };
  const acv = p.submit('me', 10, async () => outcome)!;
  const first = p.view('me');
  t.is(await first.poll(acv), outcome);
  t.is(await p.view('me').poll(acv), 'pending', 'held by the first message until it answers');
  first.settle(false);
  const second = p.view('me');
  t.is(await second.poll(acv), outcome, 'given back: the next Poll gets it');
  second.settle(true);
  t.is(await p.view('me').poll(acv), undefined, 'delivered once');
});
