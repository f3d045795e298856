import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import { BatchErrorContinuationOption, CancellationResult, CryptographicUsageMask, ResultReason, RevocationReasonCode, UsageLimitsUnit } from '../ttlv/enums.ts';
import { ItemType, bytes, dateTime, enumeration, int, interval, long, struct, text } from '../ttlv/types.ts';
import { V1_0, V1_4, V2_1, attr1x, attributeValues, createKey, field, harness, nameValue, uidItem, uidOf, type Harness } from './harness.fixture.ts';

const usageLimits = (total: bigint) =>
  attr1x('Usage Limits', struct(Tag.AttributeValue, [long(Tag.UsageLimitsTotal, total), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Byte)]));

async function activeKey(h: Harness, extra = [] as Parameters<typeof createKey>[2]): Promise<string> {
  const uid = await createKey(h, V1_4, extra);
  const r = await h.one(V1_4, 'Activate', [uidItem(uid)]);
  if (r.status !== 0) throw new Error(r.message);
  return uid;
}

// ---------------------------------------------------------------------------------------------------------------
// Check

test('Check: allowed usage returns the identifier; a refused mask fails (Incompatible Cryptographic Usage Mask / Permission Denied)', async (t) => {
  const h = harness();
  const uid = await activeKey(h); // Encrypt | Decrypt
  const ok = await h.one(V2_1, 'Check', [uidItem(uid), int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt)]);
  t.is(ok.status, 0, ok.message);
  t.is(uidOf(ok), uid);
  const sign = int(Tag.CryptographicUsageMask, CryptographicUsageMask.Sign);
  t.is((await h.one(V2_1, 'Check', [uidItem(uid), sign])).reason, ResultReason.IncompatibleCryptographicUsageMask);
  t.is((await h.one(V1_4, 'Check', [uidItem(uid), sign])).reason, ResultReason.PermissionDenied);
});

test('Check: usage count against Usage Limits, lease against the server\'s lease; a failure empties the ID Placeholder', async (t) => {
  const h = harness();
  const uid = await activeKey(h);
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), usageLimits(100n)])).status, 0);
  t.is((await h.one(V1_4, 'Check', [uidItem(uid), long(Tag.UsageLimitsCount, 100n)])).status, 0);
  t.is((await h.one(V2_1, 'Check', [uidItem(uid), long(Tag.UsageLimitsCount, 101n)])).reason, ResultReason.UsageLimitExceeded);
  t.is((await h.one(V1_4, 'Check', [uidItem(uid), interval(Tag.LeaseTime, 3600)])).status, 0);
  t.is((await h.one(V1_4, 'Check', [uidItem(uid), interval(Tag.LeaseTime, 3601)])).reason, ResultReason.PermissionDenied);
  const byName = [attr1x('Name', nameValue('checked'))];
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Name', nameValue('checked'))])).status, 0);
  const continueOnError = [enumeration(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Continue)];
  const [, okCheck, okGet] = await h.send(V1_4, [
    { operation: 'Locate', payload: byName },
    { operation: 'Check', payload: [long(Tag.UsageLimitsCount, 50n)] },
    { operation: 'Get', payload: [] },
  ], undefined, continueOnError);
  t.is(okCheck!.status, 0, okCheck!.message);
  t.is(okGet!.status, 0, okGet!.message);
  const [, check, get] = await h.send(V1_4, [
    { operation: 'Locate', payload: byName },
    { operation: 'Check', payload: [long(Tag.UsageLimitsCount, 500n)] },
    { operation: 'Get', payload: [] },
  ], undefined, continueOnError);
  t.is(check!.status, 1);
  t.is(get!.status, 1, 'the Get after a refused Check has no identifier to work on');
});

// ---------------------------------------------------------------------------------------------------------------
// Get Usage Allocation

test('Get Usage Allocation: takes from the count until it runs out', async (t) => {
  const h = harness();
  const uid = await activeKey(h);
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), usageLimits(1000n)])).status, 0);
  t.is((await h.one(V1_4, 'GetUsageAllocation', [uidItem(uid), long(Tag.UsageLimitsCount, 600n)])).status, 0);
  const [limits] = await attributeValues(h, uid, 'Usage Limits');
  t.deepEqual(limits, struct(Tag.AttributeValue, [long(Tag.UsageLimitsTotal, 1000n), long(Tag.UsageLimitsCount, 400n), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Byte)]));
  t.is((await h.one(V1_4, 'GetUsageAllocation', [uidItem(uid), long(Tag.UsageLimitsCount, 500n)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'GetUsageAllocation', [uidItem(uid), long(Tag.UsageLimitsCount, 500n)])).reason, ResultReason.UsageLimitExceeded);
  t.is((await h.one(V1_4, 'GetUsageAllocation', [uidItem(uid), long(Tag.UsageLimitsCount, 400n)])).status, 0);
  // Once allocated, the client may no longer change or delete the limits.
  t.is((await h.one(V1_4, 'DeleteAttribute', [uidItem(uid), text(Tag.AttributeName, 'Usage Limits')])).reason, ResultReason.PermissionDenied);
});

test('Get Usage Allocation failures: no count, no Usage Limits, not Active', async (t) => {
  const h = harness();
  const active = await activeKey(h);
  t.is((await h.one(V1_4, 'GetUsageAllocation', [uidItem(active)])).reason, ResultReason.InvalidMessage);
  t.is((await h.one(V1_4, 'GetUsageAllocation', [uidItem(active), long(Tag.UsageLimitsCount, 1n)])).reason, ResultReason.IllegalOperation);
  t.is((await h.one(V2_1, 'GetUsageAllocation', [uidItem(active), long(Tag.UsageLimitsCount, 1n)])).reason, ResultReason.AttributeNotFound);
  const preActive = await createKey(h, V1_4);
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(preActive), usageLimits(10n)])).status, 0);
  t.is((await h.one(V1_4, 'GetUsageAllocation', [uidItem(preActive), long(Tag.UsageLimitsCount, 1n)])).reason, ResultReason.IllegalOperation);
  t.is((await h.one(V2_1, 'GetUsageAllocation', [uidItem(preActive), long(Tag.UsageLimitsCount, 1n)])).reason, ResultReason.WrongKeyLifecycleState);
});

// ---------------------------------------------------------------------------------------------------------------
// Obtain Lease

test('Obtain Lease: Active objects get the server lease and their Last Change Date; others are refused', async (t) => {
  const h = harness();
  const uid = await activeKey(h);
  const r = await h.one(V1_4, 'ObtainLease', [uidItem(uid)]);
  t.is(r.status, 0, r.message);
  t.deepEqual(field(r, Tag.LeaseTime), interval(Tag.LeaseTime, 3600));
  const [lcd] = await attributeValues(h, uid, 'Last Change Date');
  t.deepEqual(field(r, Tag.LastChangeDate), { ...lcd!, tag: Tag.LastChangeDate });
  const revoke = [uidItem(uid), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)])];
  t.is((await h.one(V1_4, 'Revoke', revoke)).status, 0);
  t.is((await h.one(V1_4, 'ObtainLease', [uidItem(uid)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'ObtainLease', [uidItem(uid)])).reason, ResultReason.PermissionDenied);
  const pre = await createKey(h, V1_4);
  t.is((await h.one(V1_4, 'ObtainLease', [uidItem(pre)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V1_4, 'ObtainLease', [uidItem('missing')])).reason, ResultReason.ItemNotFound);
});

// ---------------------------------------------------------------------------------------------------------------
// Archive / Recover

test('Archive sets Archive Date; archived objects refuse changes and leases until Recover removes it', async (t) => {
  const h = harness();
  const uid = await activeKey(h);
  t.is((await h.one(V1_4, 'Archive', [uidItem(uid)])).status, 0);
  const [date] = await attributeValues(h, uid, 'Archive Date');
  t.is(date?.type, ItemType.DateTime, 'attributes stay readable');
  t.is((await h.one(V1_4, 'Archive', [uidItem(uid)])).reason, ResultReason.ObjectArchived);
  t.is((await h.one(V1_4, 'ObtainLease', [uidItem(uid)])).reason, ResultReason.ObjectArchived);
  t.is((await h.one(V1_4, 'Check', [uidItem(uid)])).reason, ResultReason.ObjectArchived);
  t.is((await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('x-a', text(Tag.AttributeValue, 'b'))])).reason, ResultReason.ObjectArchived);
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Archive Date', dateTime(Tag.AttributeValue, 1))])).reason, ResultReason.ObjectArchived);
  const rec = await h.one(V1_4, 'Recover', [uidItem(uid)]);
  t.is(rec.status, 0, rec.message);
  t.deepEqual(await attributeValues(h, uid, 'Archive Date'), []);
  t.is((await h.one(V1_4, 'ObtainLease', [uidItem(uid)])).status, 0);
  t.is((await h.one(V1_4, 'Recover', [uidItem(uid)])).status, 0, 'recovering an on-line object is harmless');
  t.is((await h.one(V1_4, 'Recover', [uidItem('missing')])).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Archive Date', dateTime(Tag.AttributeValue, 1))])).reason, ResultReason.PermissionDenied, 'only the server sets Archive Date');
});

// ---------------------------------------------------------------------------------------------------------------
// Poll / Cancel

test('Poll of a value nothing is pending under: Item Not Found in 1.x, Invalid Asynchronous Correlation Value in 2.x', async (t) => {
  const h = harness();
  const acv = bytes(Tag.AsynchronousCorrelationValue, Buffer.from('0102', 'hex'));
  t.is((await h.one(V1_4, 'Poll', [acv])).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V2_1, 'Poll', [acv])).reason, ResultReason.InvalidAsynchronousCorrelationValue);
  t.is((await h.one(V2_1, 'Poll', [])).reason, ResultReason.MissingData);
});

test('Cancel of a value that matches nothing: Cancellation Result Unavailable', async (t) => {
  const h = harness();
  const acv = bytes(Tag.AsynchronousCorrelationValue, Buffer.from('abcd', 'hex'));
  for (const v of [V1_0, V2_1]) {
    const r = await h.one(v, 'Cancel', [acv]);
    t.is(r.status, 0, r.message);
    t.deepEqual(r.payload?.value, [acv, enumeration(Tag.CancellationResult, CancellationResult.Unavailable)]);
  }
});
