/**
 * Asynchronous processing through the dispatcher (which requests go pending, which stay synchronous, what Poll
 * and Cancel answer), over the in-memory store. End to end over TLS: test/integration/async.test.ts.
 */
import test from 'ava';
import { Dispatcher } from '../dispatcher.ts';
import { MemoryStore } from '../store/memory.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { Tag } from '../ttlv/tag.ts';
import { AsynchronousIndicator, CancellationResult, QueryFunction, ResultReason, ResultStatus } from '../ttlv/enums.ts';
import { bool, bytes, enumeration, int, ItemType, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { parseResponse, requestMessage, type BatchItemSpec, type BatchResult, type ProtocolVersion } from '../client/client.ts';
import type { Identity } from '../auth/identity.ts';
import { V1_2, V1_4, V2_1, createAes, harness, identity, uidItem } from '../operations/harness.fixture.ts';
import { PendingOperations, type AsyncOptions } from './pending.ts';

const ASYNC_1X: TtlvItem[] = [bool(Tag.AsynchronousIndicator, true)];
const asyncIndicator2x = (v: number): TtlvItem[] => [enumeration(Tag.AsynchronousIndicator, v)];

function server(t: { teardown(fn: () => void): void }, opts: Partial<AsyncOptions> = {}) {
  const pending = new PendingOperations({ startDelayMs: 60_000, ...opts });
  t.teardown(() => void pending.close());
  const dispatcher = new Dispatcher({
    store: new MemoryStore(),
    limits: { maxMessageBytes: 1 << 20, maxDepth: 32, maxItems: 100_000, maxBatchItems: 64 },
    server: { vendorIdentification: 'kube-kmip-test', serverInformation: 'test', leaseSeconds: 3600 },
    onInternalError: (err) => {
      throw err;
    },
    pending,
  });
  const send = async (version: ProtocolVersion, items: BatchItemSpec[], header: TtlvItem[] = [], who: Identity = identity('scope-a')): Promise<BatchResult[]> => {
    const out = await dispatcher.handle(encode(requestMessage(version, items, { extra: header })), who);
    return parseResponse(decode(out!)).items;
  };
  const one = async (version: ProtocolVersion, operation: string, payload: TtlvItem[], header: TtlvItem[] = [], who?: Identity) =>
    (await send(version, [{ operation, payload }], header, who))[0]!;
  const poll = (version: ProtocolVersion, acv: Uint8Array, who?: Identity) => one(version, 'Poll', [bytes(Tag.AsynchronousCorrelationValue, acv)], [], who);
  const cancel = async (version: ProtocolVersion, acv: Uint8Array, who?: Identity) => {
    const r = await one(version, 'Cancel', [bytes(Tag.AsynchronousCorrelationValue, acv)], [], who);
    const result = r.payload?.value.find((i) => i.tag === Tag.CancellationResult);
    return result?.type === ItemType.Enumeration ? result.value : undefined;
  };
  const createKey = async (version: ProtocolVersion) => {
    const r = await one(version, 'Create', createAes(version));
    const uid = r.payload?.value.find((i) => i.tag === Tag.UniqueIdentifier);
    if (uid?.type !== ItemType.TextString) throw new Error(`Create failed: ${r.reasonName}`);
    return uid.value;
  };
  return { pending, send, one, poll, cancel, createKey };
}

const uidOf = (p: StructureItem | undefined) => p?.value.find((i) => i.tag === Tag.UniqueIdentifier)?.value;

test('an asynchronous Get is answered Operation Pending; Poll answers it as Get, with the Poll\'s batch item id', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V1_2);
  const pendingAnswer = await s.one(V1_2, 'Get', [uidItem(uid)], ASYNC_1X);
  t.is(pendingAnswer.statusName, 'OperationPending');
  t.is(pendingAnswer.operationName, 'Get');
  t.is(pendingAnswer.payload, undefined);
  const acv = pendingAnswer.asynchronousCorrelationValue!;
  t.is(acv.length, 16);
  const [done] = await s.send(V1_2, [{ operation: 'Poll', uniqueBatchItemId: Uint8Array.of(7), payload: [bytes(Tag.AsynchronousCorrelationValue, acv)] }]);
  t.is(done!.operationName, 'Get');
  t.is(done!.status, ResultStatus.Success);
  t.deepEqual([...done!.uniqueBatchItemId!], [7]);
  t.is(uidOf(done!.payload), uid);
  // Taken: a second Poll finds no outstanding operation (1.x: Item Not Found).
  t.is((await s.poll(V1_2, acv)).reason, ResultReason.ItemNotFound);
});

test('a failing asynchronous operation is polled as that failure', async (t) => {
  const s = server(t);
  const r = await s.one(V1_4, 'Get', [uidItem('no-such-object')], ASYNC_1X);
  const done = await s.poll(V1_4, r.asynchronousCorrelationValue!);
  t.is(done.operationName, 'Get');
  t.is(done.status, ResultStatus.OperationFailed);
  t.is(done.reason, ResultReason.ItemNotFound);
  t.is(await s.cancel(V1_4, r.asynchronousCorrelationValue!), CancellationResult.Failed);
});

test('Permission Denied is answered at once, never pending', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V1_4);
  const reader = identity('scope-a', ['operation_get', 'operation_poll']);
  const r = await s.one(V1_4, 'Destroy', [uidItem(uid)], ASYNC_1X, reader);
  t.is(r.status, ResultStatus.OperationFailed);
  t.is(r.reason, ResultReason.PermissionDenied);
  t.is(s.pending.size(), 0);
});

test('Cancel before the start: Canceled, the operation never runs, Poll says Operation Canceled By Requester', async (t) => {
  const s = server(t, { startDelayMs: 50 });
  const uid = await s.createKey(V1_4);
  const r = await s.one(V1_4, 'Destroy', [uidItem(uid)], ASYNC_1X);
  t.is(r.statusName, 'OperationPending');
  t.is(await s.cancel(V1_4, r.asynchronousCorrelationValue!), CancellationResult.Canceled);
  await new Promise((res) => setTimeout(res, 120));
  t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, ResultStatus.Success, 'the key was not destroyed');
  const polled = await s.poll(V1_4, r.asynchronousCorrelationValue!);
  t.is(polled.operationName, 'Destroy');
  t.is(polled.reason, ResultReason.OperationCanceledByRequester);
});

test('another client of the same scope cannot poll or cancel the operation', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V2_1);
  const other: Identity = { ...identity('scope-a'), credentialName: 'ns/other', credentialId: 'other-cred' };
  const r = await s.one(V2_1, 'Get', [uidItem(uid)], asyncIndicator2x(AsynchronousIndicator.Optional));
  const acv = r.asynchronousCorrelationValue!;
  t.is((await s.poll(V2_1, acv, other)).reason, ResultReason.InvalidAsynchronousCorrelationValue);
  t.is(await s.cancel(V2_1, acv, other), CancellationResult.Unavailable);
  t.is((await s.poll(V2_1, acv)).status, ResultStatus.Success);
});

test('what stays synchronous: no or Prohibited indicator, several batch items, Query, Poll and Cancel', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V2_1);
  t.is((await s.one(V2_1, 'Get', [uidItem(uid)])).status, ResultStatus.Success);
  t.is((await s.one(V2_1, 'Get', [uidItem(uid)], asyncIndicator2x(AsynchronousIndicator.Prohibited))).status, ResultStatus.Success);
  t.is((await s.one(V1_4, 'Get', [uidItem(uid)], [bool(Tag.AsynchronousIndicator, false)])).status, ResultStatus.Success);
  const two = await s.send(V2_1, [{ operation: 'Get', payload: [uidItem(uid)] }, { operation: 'Get', payload: [uidItem(uid)] }], asyncIndicator2x(AsynchronousIndicator.Optional));
  t.deepEqual(two.map((r) => r.status), [ResultStatus.Success, ResultStatus.Success]);
  t.is((await s.one(V2_1, 'Query', [enumeration(Tag.QueryFunction, QueryFunction.QueryOperations)], asyncIndicator2x(AsynchronousIndicator.Optional))).status, ResultStatus.Success);
  const poll = await s.one(V2_1, 'Poll', [bytes(Tag.AsynchronousCorrelationValue, new Uint8Array(16))], asyncIndicator2x(AsynchronousIndicator.Mandatory));
  t.is(poll.reason, ResultReason.InvalidAsynchronousCorrelationValue);
  t.is(await s.cancel(V2_1, new Uint8Array(16)), CancellationResult.Unavailable);
  t.is(s.pending.size(), 0);
});

test('Mandatory: several batch items are refused, and a full table is Server Limit Exceeded; Optional falls back to synchronous', async (t) => {
  const s = server(t, { maxPerClient: 1 });
  const uid = await s.createKey(V2_1);
  const mandatory = asyncIndicator2x(AsynchronousIndicator.Mandatory);
  const two = await s.send(V2_1, [{ operation: 'Get', payload: [uidItem(uid)] }, { operation: 'Get', payload: [uidItem(uid)] }], mandatory);
  t.deepEqual(two.map((r) => r.reason), [ResultReason.FeatureNotSupported, ResultReason.FeatureNotSupported]);
  t.is((await s.one(V2_1, 'Get', [uidItem(uid)], mandatory)).statusName, 'OperationPending');
  t.is((await s.one(V2_1, 'Get', [uidItem(uid)], mandatory)).reason, ResultReason.ServerLimitExceeded);
  const optional = await s.one(V2_1, 'Get', [uidItem(uid)], asyncIndicator2x(AsynchronousIndicator.Optional));
  t.is(optional.status, ResultStatus.Success, 'answered synchronously');
  t.is(uidOf(optional.payload), uid);
});

test('Query reports Asynchronous Capability only when the server takes asynchronous requests', async (t) => {
  const capability = async (one: (v: ProtocolVersion, op: string, p: TtlvItem[]) => Promise<BatchResult>) => {
    const r = await one(V1_4, 'Query', [enumeration(Tag.QueryFunction, QueryFunction.QueryCapabilities)]);
    const info = r.payload?.value.find((i) => i.tag === Tag.CapabilityInformation) as StructureItem | undefined;
    return info?.value.find((i) => i.tag === Tag.AsynchronousCapability)?.value;
  };
  const s = server(t);
  t.is(await capability((v, op, p) => s.one(v, op, p)), true);
  const sync = harness();
  t.is(await capability((v, op, p) => sync.one(v, op, p)), false);
});

test('two header sub-identities of one credential cannot poll or cancel each other\'s operations', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V1_4);
  const fred: Identity = { ...identity('scope-a'), owner: 'scope-a-cred/user:Fred', headerIdentity: 'user:Fred' };
  const barney: Identity = { ...identity('scope-a'), owner: 'scope-a-cred/user:Barney', headerIdentity: 'user:Barney' };
  const r = await s.one(V1_4, 'Get', [uidItem(uid)], ASYNC_1X, fred);
  const acv = r.asynchronousCorrelationValue!;
  t.is((await s.poll(V1_4, acv, barney)).reason, ResultReason.ItemNotFound);
  t.is((await s.poll(V1_4, acv)).reason, ResultReason.ItemNotFound); // no header credential: not Fred either
  t.is(await s.cancel(V1_4, acv, barney), CancellationResult.Unavailable);
  t.is((await s.poll(V1_4, acv, fred)).status, ResultStatus.Success);
});

test('an operation that starts after its credential is gone or its role narrowed is refused, not run', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V1_4);
  let current: Identity | undefined = identity('scope-a');
  const who: Identity = { ...identity('scope-a'), recheck: () => current };
  // Role narrowed between submission and start: admit() sees the current operations.
  const a = await s.one(V1_4, 'Destroy', [uidItem(uid)], ASYNC_1X, who);
  t.is(a.statusName, 'OperationPending');
  current = identity('scope-a', ['operation_get']);
  const ra = await s.poll(V1_4, a.asynchronousCorrelationValue!, who);
  t.is(ra.operationName, 'Destroy');
  t.is(ra.reason, ResultReason.PermissionDenied);
  // Credential deleted: nothing runs.
  current = identity('scope-a');
  const b = await s.one(V1_4, 'Destroy', [uidItem(uid)], ASYNC_1X, who);
  current = undefined;
  const rb = await s.poll(V1_4, b.asynchronousCorrelationValue!, who);
  t.is(rb.reason, ResultReason.PermissionDenied);
  // A header user taken out of the credential's spec: its pending work does not run either.
  const fredPolicy = { kind: 'user' as const, username: 'Fred', passwordHash: 'unused' };
  current = { ...identity('scope-a'), headerCredentials: [fredPolicy] as unknown as Identity['headerCredentials'] };
  const fred: Identity = { ...who, owner: 'scope-a-cred/user:Fred', headerIdentity: 'user:Fred' };
  const c = await s.one(V1_4, 'Get', [uidItem(uid)], ASYNC_1X, fred);
  t.is((await s.poll(V1_4, c.asynchronousCorrelationValue!, fred)).status, ResultStatus.Success, 'still declared: runs');
  const d = await s.one(V1_4, 'Destroy', [uidItem(uid)], ASYNC_1X, fred);
  current = identity('scope-a');
  t.is((await s.poll(V1_4, d.asynchronousCorrelationValue!, fred)).reason, ResultReason.PermissionDenied);
  // The key is still there.
  t.is((await s.one(V1_4, 'Get', [uidItem(uid)])).status, ResultStatus.Success);
});

test('a Poll answered Response Too Large leaves the result for the next Poll, which gets it once', async (t) => {
  const s = server(t);
  const uid = await s.createKey(V1_4);
  const acv = (await s.one(V1_4, 'Get', [uidItem(uid)], ASYNC_1X)).asynchronousCorrelationValue!;
  const pollItem = [{ operation: 'Poll', payload: [bytes(Tag.AsynchronousCorrelationValue, acv)] }];
  const [small] = await s.send(V1_4, pollItem, [int(Tag.MaximumResponseSize, 64)]);
  t.is(small!.status, ResultStatus.OperationFailed);
  t.is(small!.reason, ResultReason.ResponseTooLarge);
  t.true(s.pending.heldBytes > 0, 'the key is still held for its Poll');
  const [whole] = await s.send(V1_4, pollItem, [int(Tag.MaximumResponseSize, 1 << 20)]);
  t.is(whole!.status, ResultStatus.Success);
  t.is(uidOf(whole!.payload), uid);
  t.is(s.pending.heldBytes, 0, 'delivered: the key material is dropped');
  t.is((await s.poll(V1_4, acv)).reason, ResultReason.ItemNotFound, 'and only once');
});
