import test from 'ava';
import { ResultReason, ResultStatus } from './ttlv/enums.ts';
import { Tag } from './ttlv/tag.ts';
import { int, struct, text } from './ttlv/types.ts';
import { encode } from './ttlv/writer.ts';
import { decode } from './ttlv/reader.ts';
import { parseResponse } from './client/client.ts';
import { V1_4, V2_1, createKey, harness, identity, uidItem } from './operations/harness.fixture.ts';

test('concurrent Gets of a fresh key all succeed (a lost commit race is re-run, not failed)', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const results = await Promise.all(Array.from({ length: 16 }, () => h.one(V1_4, 'Get', [uidItem(uid)])));
  t.deepEqual(results.map((r) => r.status), Array(16).fill(ResultStatus.Success));
});

test('a role without the operation gets Permission Denied for that item only', async (t) => {
  const h = harness();
  const reader = identity('scope-a', ['operation_get']);
  const uid = await createKey(h, V2_1);
  const [get, destroy] = await h.send(V2_1, [
    { operation: 'Get', payload: [uidItem(uid)] },
    { operation: 'Destroy', payload: [uidItem(uid)] },
  ], reader, [{ tag: Tag.BatchErrorContinuationOption, type: 5, value: 2 }]);
  t.is(get!.status, ResultStatus.Success);
  t.is(destroy!.reason, ResultReason.PermissionDenied);
});

test('a message whose Batch Count lies is Invalid Message', async (t) => {
  const h = harness();
  const msg = struct(Tag.RequestMessage, [
    struct(Tag.RequestHeader, [struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, 1), int(Tag.ProtocolVersionMinor, 2)]), int(Tag.BatchCount, 3)]),
    struct(Tag.BatchItem, [{ tag: Tag.Operation, type: 5, value: 0x1e }, struct(Tag.RequestPayload, [])]),
  ]);
  const out = await h.dispatcher.handle(encode(msg), identity('scope-a'));
  const [item] = parseResponse(decode(out!)).items;
  t.is(item!.status, ResultStatus.OperationFailed);
  t.is(item!.reason, ResultReason.InvalidMessage);
});

test('a response never carries the ID placeholder uid of another scope', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [], identity('scope-a'));
  const r = await h.one(V2_1, 'Get', [text(Tag.UniqueIdentifier, uid)], identity('scope-b'));
  t.is(r.reason, ResultReason.ObjectNotFound);
});
