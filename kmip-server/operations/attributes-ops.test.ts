import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import { AdjustmentType, BatchErrorContinuationOption, ResultReason, State, UsageLimitsUnit } from '../ttlv/enums.ts';
import { ItemType, bool, dateTime, enumeration, int, long, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { ManagedObject } from '../objects/managed-object.ts';
import {
  V1_0, V1_2, V1_4, V2_0, V2_1, attr1x, attributeValues, createAes, createKey, field, harness, nameValue, uidItem, vendorAttr,
  type Harness,
} from './harness.fixture.ts';

const FAILED = 1;

/** Rewrites a stored object (test setup only: e.g. to backdate its Last Change Date). */
async function patch(h: Harness, uid: string, scope: string, f: (o: ManagedObject) => void): Promise<void> {
  const rec = await h.store.get(scope, uid);
  if (!rec) throw new Error('no such object');
  const o = ManagedObject.fromRecord(rec);
  f(o);
  await h.store.write([{ kind: 'put', record: o.toRecord(), expectRevision: rec.revision }]);
}

const attrOf = (r: { payload?: StructureItem | undefined }): StructureItem | undefined => {
  const a = r.payload?.value.find((i) => i.tag === Tag.Attribute);
  return a?.type === ItemType.Structure ? a : undefined;
};
const child = (s: StructureItem | undefined, tag: number): TtlvItem | undefined => s?.value.find((i) => i.tag === tag);

// ---------------------------------------------------------------------------------------------------------------
// Add Attribute

test('1.x Add Attribute: custom attribute added, echoed without index, Last Change Date updated', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  await patch(h, uid, 'scope-a', (o) => o.setDate('Last Change Date', 1000));
  const r = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('x-purpose', text(Tag.AttributeValue, 'backup'))]);
  t.is(r.status, 0, r.message);
  t.deepEqual(field(r, Tag.UniqueIdentifier), text(Tag.UniqueIdentifier, uid));
  const a = attrOf(r);
  t.deepEqual(child(a, Tag.AttributeName), text(Tag.AttributeName, 'x-purpose'));
  t.is(child(a, Tag.AttributeIndex), undefined);
  t.deepEqual(child(a, Tag.AttributeValue), text(Tag.AttributeValue, 'backup'));
  t.deepEqual(await attributeValues(h, uid, 'x-purpose'), [text(Tag.AttributeValue, 'backup')]);
  const [lcd] = await attributeValues(h, uid, 'Last Change Date');
  t.true(lcd?.type === ItemType.DateTime && lcd.value > 1000);
});

test('1.x Add Attribute: a second Name gets index 1; the ID Placeholder names the object', async (t) => {
  const h = harness();
  const [, added] = await h.send(V1_2, [
    { operation: 'Create', payload: createAes(V1_2, [nameValue('k-one')]) },
    { operation: 'AddAttribute', payload: [attr1x('Name', nameValue('k-two'))] },
  ]);
  t.is(added!.status, 0, added!.message);
  t.deepEqual(child(attrOf(added!), Tag.AttributeIndex), int(Tag.AttributeIndex, 1));
});

test('Add Attribute refuses server-only attributes: Permission Denied (1.x), Read Only Attribute (2.x)', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1);
  const r1 = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Destroy Date', dateTime(Tag.AttributeValue, 5))]);
  t.is(r1.status, FAILED);
  t.is(r1.reason, ResultReason.PermissionDenied);
  const r2 = await h.one(V2_1, 'AddAttribute', [uidItem(uid), struct(Tag.NewAttribute, [dateTime(Tag.DestroyDate, 5)])]);
  t.is(r2.reason, ResultReason.ReadOnlyAttribute);
  const r3 = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('y-server', text(Tag.AttributeValue, 'x'))]);
  t.is(r3.reason, ResultReason.PermissionDenied, 'y- custom attributes belong to the server');
});

test('Add Attribute refuses a second instance of a single-valued attribute', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1);
  const ok = await h.one(V2_1, 'AddAttribute', [uidItem(uid), struct(Tag.NewAttribute, [text(Tag.Description, 'one')])]);
  t.is(ok.status, 0, ok.message);
  t.deepEqual(ok.payload?.value, [uidItem(uid)], '2.x answers with the Unique Identifier only');
  const again = await h.one(V2_1, 'AddAttribute', [uidItem(uid), struct(Tag.NewAttribute, [text(Tag.Description, 'two')])]);
  t.is(again.reason, ResultReason.AttributeSingleValued);
  const old = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Description', text(Tag.AttributeValue, 'three'))]);
  t.is(old.reason, ResultReason.IllegalOperation);
});

test('1.x Add Attribute with an Attribute Index is an Invalid Field; unknown names are refused', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const r = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('x-a', text(Tag.AttributeValue, 'v'), 0)]);
  t.is(r.reason, ResultReason.InvalidField);
  const u = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Nonsense', text(Tag.AttributeValue, 'v'))]);
  t.is(u.reason, ResultReason.InvalidField);
  const newer = await h.one(V1_2, 'AddAttribute', [uidItem(uid), attr1x('Description', text(Tag.AttributeValue, 'v'))]);
  t.is(newer.reason, ResultReason.InvalidField, 'Description does not exist in 1.2');
});

test('Names are unique: Non Unique Name Attribute (2.x), Illegal Operation (1.x)', async (t) => {
  const h = harness();
  const a = await createKey(h, V2_1, [nameValue('taken')]);
  const b = await createKey(h, V2_1);
  const own = await h.one(V2_1, 'AddAttribute', [uidItem(a), struct(Tag.NewAttribute, [nameValue('taken')])]);
  t.is(own.reason, ResultReason.NonUniqueNameAttribute);
  const other = await h.one(V1_4, 'AddAttribute', [uidItem(b), attr1x('Name', nameValue('taken'))]);
  t.is(other.reason, ResultReason.IllegalOperation);
  const fresh = await h.one(V2_1, 'AddAttribute', [uidItem(b), struct(Tag.NewAttribute, [nameValue('free')])]);
  t.is(fresh.status, 0, fresh.message);
});

test('Add Usage Limits: the server sets the count to the total', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const r = await h.one(V1_4, 'AddAttribute', [
    uidItem(uid),
    attr1x('Usage Limits', struct(Tag.AttributeValue, [long(Tag.UsageLimitsTotal, 1000n), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Byte)])),
  ]);
  t.is(r.status, 0, r.message);
  t.deepEqual(child(attrOf(r), Tag.AttributeValue), struct(Tag.AttributeValue, [
    long(Tag.UsageLimitsTotal, 1000n), long(Tag.UsageLimitsCount, 1000n), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Byte),
  ]));
});

test('Add Application Specific Information: the client gives Application Data (no namespace is generated)', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const asi = (data?: string) => attr1x('Application Specific Information', struct(Tag.AttributeValue, [
    text(Tag.ApplicationNamespace, 'LIBRARY-LTO'), ...(data === undefined ? [] : [text(Tag.ApplicationData, data)]),
  ]));
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), asi()])).reason, ResultReason.ApplicationNamespaceNotSupported);
  t.is((await h.one(V1_4, 'AddAttribute', [uidItem(uid), asi('0123')])).status, 0);
});

test('Add Attribute: an Activation Date in the past makes a Pre-Active key Active', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const r = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('Activation Date', dateTime(Tag.AttributeValue, 2))]);
  t.is(r.status, 0, r.message);
  t.deepEqual(await attributeValues(h, uid, 'State'), [enumeration(Tag.AttributeValue, State.Active)]);
});

test('Add Attribute on an archived object fails with Object Archived', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  t.is((await h.one(V1_4, 'Archive', [uidItem(uid)])).status, 0);
  const r = await h.one(V1_4, 'AddAttribute', [uidItem(uid), attr1x('x-a', text(Tag.AttributeValue, 'v'))]);
  t.is(r.reason, ResultReason.ObjectArchived);
});

test('Add Attribute of an unknown object: Item Not Found', async (t) => {
  const h = harness();
  const r = await h.one(V1_4, 'AddAttribute', [uidItem('nope'), attr1x('x-a', text(Tag.AttributeValue, 'v'))]);
  t.is(r.reason, ResultReason.ItemNotFound);
});

// ---------------------------------------------------------------------------------------------------------------
// Modify Attribute

test('1.x Modify Attribute: by index, echoed with the index; absent index means 0', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4, [nameValue('m-0'), nameValue('m-1')]);
  const r = await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Name', nameValue('m-1b'), 1)]);
  t.is(r.status, 0, r.message);
  t.deepEqual(child(attrOf(r), Tag.AttributeIndex), int(Tag.AttributeIndex, 1));
  const r0 = await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Name', nameValue('m-0b'))]);
  t.is(r0.status, 0, r0.message);
  t.is(child(attrOf(r0), Tag.AttributeIndex), undefined);
  t.deepEqual(await attributeValues(h, uid, 'Name'), [nameValue('m-0b', Tag.AttributeValue), nameValue('m-1b', Tag.AttributeValue)]);
});

test('1.x Modify Attribute failures: absent attribute, missing index, read-only, 1.0 needs an index', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4, [nameValue('n-0'), nameValue('n-1')]);
  t.is((await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Contact Information', text(Tag.AttributeValue, 'a'))])).reason, ResultReason.InvalidField);
  t.is((await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Name', nameValue('n-9'), 5)])).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Cryptographic Algorithm', enumeration(Tag.AttributeValue, 3))])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Object Type', enumeration(Tag.AttributeValue, 3))])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V1_0, 'ModifyAttribute', [uidItem(uid), attr1x('Name', nameValue('n-7'))])).reason, ResultReason.InvalidField);
});

test('Modify Activation Date: allowed while Pre-Active, refused once Active (Permission Denied / Wrong Key Lifecycle State)', async (t) => {
  const h = harness();
  const future = Math.floor(Date.now() / 1000) + 86_400;
  const uid = await createKey(h, V1_4, [dateTime(Tag.ActivationDate, future)]);
  const ok = await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Activation Date', dateTime(Tag.AttributeValue, future + 10))]);
  t.is(ok.status, 0, ok.message);
  const past = await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Activation Date', dateTime(Tag.AttributeValue, 100))]);
  t.is(past.status, 0, past.message);
  t.deepEqual(await attributeValues(h, uid, 'State'), [enumeration(Tag.AttributeValue, State.Active)]);
  const r1 = await h.one(V1_4, 'ModifyAttribute', [uidItem(uid), attr1x('Activation Date', dateTime(Tag.AttributeValue, 200))]);
  t.is(r1.reason, ResultReason.PermissionDenied);
  const r2 = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.NewAttribute, [dateTime(Tag.ActivationDate, 200)])]);
  t.is(r2.reason, ResultReason.WrongKeyLifecycleState);
  const r3 = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.NewAttribute, [dateTime(Tag.DeactivationDate, future)])]);
  t.is(r3.reason, ResultReason.AttributeNotFound, '2.x: Deactivation Date may change while Active, but it must exist first');
});

test('2.x Modify Attribute: Current Attribute picks the instance; several instances need it', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [nameValue('c-0'), nameValue('c-1')]);
  const amb = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.NewAttribute, [nameValue('c-x')])]);
  t.is(amb.reason, ResultReason.MultiValuedAttribute);
  const miss = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.CurrentAttribute, [nameValue('zz')]), struct(Tag.NewAttribute, [nameValue('c-x')])]);
  t.is(miss.reason, ResultReason.AttributeInstanceNotFound);
  const ok = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.CurrentAttribute, [nameValue('c-1')]), struct(Tag.NewAttribute, [nameValue('c-x')])]);
  t.is(ok.status, 0, ok.message);
  t.deepEqual(ok.payload?.value, [uidItem(uid)]);
  t.deepEqual(await attributeValues(h, uid, 'Name'), [nameValue('c-0', Tag.AttributeValue), nameValue('c-x', Tag.AttributeValue)]);
  const ro = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.NewAttribute, [enumeration(Tag.State, State.Compromised)])]);
  t.is(ro.reason, ResultReason.AttributeReadOnly);
});

test('2.x Modify of a Vendor Attribute', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1);
  t.is((await h.one(V2_1, 'AddAttribute', [uidItem(uid), struct(Tag.NewAttribute, [vendorAttr('x', 'attribute1', text(Tag.AttributeValue, 'v1'))])])).status, 0);
  const r = await h.one(V2_1, 'ModifyAttribute', [uidItem(uid), struct(Tag.NewAttribute, [vendorAttr('x', 'attribute1', text(Tag.AttributeValue, 'v2'))])]);
  t.is(r.status, 0, r.message);
  t.deepEqual(await attributeValues(h, uid, 'x-attribute1'), [text(Tag.AttributeValue, 'v2')]);
});

// ---------------------------------------------------------------------------------------------------------------
// Delete Attribute

test('1.x Delete Attribute: index 0 by default, the deleted value echoed; 1.0 needs an index for several', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_2, [nameValue('d-0'), nameValue('d-1')]);
  const v10 = await h.one(V1_0, 'DeleteAttribute', [uidItem(uid), text(Tag.AttributeName, 'Name')]);
  t.is(v10.reason, ResultReason.InvalidField);
  const r = await h.one(V1_2, 'DeleteAttribute', [uidItem(uid), text(Tag.AttributeName, 'Name')]);
  t.is(r.status, 0, r.message);
  t.deepEqual(child(attrOf(r), Tag.AttributeValue), nameValue('d-0', Tag.AttributeValue));
  t.deepEqual(await attributeValues(h, uid, 'Name'), [nameValue('d-1', Tag.AttributeValue)]);
  const idx = await h.one(V1_2, 'DeleteAttribute', [uidItem(uid), text(Tag.AttributeName, 'Name'), int(Tag.AttributeIndex, 3)]);
  t.is(idx.reason, ResultReason.ItemNotFound);
  const none = await h.one(V1_2, 'DeleteAttribute', [uidItem(uid), text(Tag.AttributeName, 'x-none')]);
  t.is(none.reason, ResultReason.ItemNotFound);
  const ro = await h.one(V1_2, 'DeleteAttribute', [uidItem(uid), text(Tag.AttributeName, 'Cryptographic Usage Mask')]);
  t.is(ro.reason, ResultReason.PermissionDenied);
});

test('2.x Delete Attribute: by Current Attribute one instance, by Attribute Reference all', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [nameValue('e-0'), nameValue('e-1'), nameValue('e-2')]);
  const one = await h.one(V2_1, 'DeleteAttribute', [uidItem(uid), struct(Tag.CurrentAttribute, [nameValue('e-1')])]);
  t.is(one.status, 0, one.message);
  t.deepEqual(await attributeValues(h, uid, 'Name'), [nameValue('e-0', Tag.AttributeValue), nameValue('e-2', Tag.AttributeValue)]);
  const all = await h.one(V2_1, 'DeleteAttribute', [uidItem(uid), enumeration(Tag.AttributeReference, Tag.Name)]);
  t.is(all.status, 0, all.message);
  t.deepEqual(await attributeValues(h, uid, 'Name'), []);
  const gone = await h.one(V2_1, 'DeleteAttribute', [uidItem(uid), enumeration(Tag.AttributeReference, Tag.Name)]);
  t.is(gone.reason, ResultReason.AttributeNotFound);
  const inst = await h.one(V2_1, 'DeleteAttribute', [uidItem(uid), struct(Tag.CurrentAttribute, [int(Tag.CryptographicUsageMask, 4)])]);
  t.is(inst.reason, ResultReason.AttributeReadOnly);
  t.is((await h.one(V2_1, 'AddAttribute', [uidItem(uid), struct(Tag.NewAttribute, [vendorAttr('x', 'tmp', int(Tag.AttributeValue, 1))])])).status, 0);
  const vendor = await h.one(V2_1, 'DeleteAttribute', [uidItem(uid), struct(Tag.AttributeReference, [text(Tag.VendorIdentification, 'x'), text(Tag.AttributeName, 'tmp')])]);
  t.is(vendor.status, 0, vendor.message);
});

// ---------------------------------------------------------------------------------------------------------------
// Set Attribute / Adjust Attribute

test('Set Attribute: adds when absent, replaces one instance, refuses several and read-only ones', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [nameValue('s-0'), nameValue('s-1')]);
  t.is((await h.one(V2_0, 'SetAttribute', [uidItem(uid), struct(Tag.NewAttribute, [text(Tag.ContactInformation, 'a@b')])])).status, 0);
  t.is((await h.one(V2_1, 'SetAttribute', [uidItem(uid), struct(Tag.NewAttribute, [text(Tag.ContactInformation, 'c@d')])])).status, 0);
  t.deepEqual(await attributeValues(h, uid, 'Contact Information'), [text(Tag.AttributeValue, 'c@d')]);
  t.is((await h.one(V2_1, 'SetAttribute', [uidItem(uid), struct(Tag.NewAttribute, [nameValue('s-2')])])).reason, ResultReason.MultiValuedAttribute);
  t.is((await h.one(V2_1, 'SetAttribute', [uidItem(uid), struct(Tag.NewAttribute, [enumeration(Tag.State, State.Active)])])).reason, ResultReason.ReadOnlyAttribute);
  t.is((await h.one(V1_4, 'SetAttribute', [uidItem(uid), attr1x('Contact Information', text(Tag.AttributeValue, 'x'))])).reason, ResultReason.OperationNotSupported);
});

test('Adjust Attribute: increments from 0, negates a Boolean, checks types', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1);
  const ref = struct(Tag.AttributeReference, [text(Tag.VendorIdentification, 'x'), text(Tag.AttributeName, 'counter')]);
  const inc = await h.one(V2_1, 'AdjustAttribute', [uidItem(uid), ref, enumeration(Tag.AdjustmentType, AdjustmentType.Increment), int(Tag.AdjustmentValue, 5)]);
  t.is(inc.status, 0, inc.message);
  const dec = await h.one(V2_1, 'AdjustAttribute', [uidItem(uid), ref, enumeration(Tag.AdjustmentType, AdjustmentType.Decrement)]);
  t.is(dec.status, 0, dec.message);
  t.deepEqual(await attributeValues(h, uid, 'x-counter'), [int(Tag.AttributeValue, 4)]);
  const bad = await h.one(V2_1, 'AdjustAttribute', [uidItem(uid), ref, enumeration(Tag.AdjustmentType, AdjustmentType.Increment), text(Tag.AdjustmentValue, '1')]);
  t.is(bad.reason, ResultReason.InvalidDataType);
  const neg = await h.one(V2_1, 'AdjustAttribute', [uidItem(uid), enumeration(Tag.AttributeReference, Tag.Sensitive), enumeration(Tag.AdjustmentType, AdjustmentType.Negate)]);
  t.is(neg.status, 0, neg.message);
  t.deepEqual(await attributeValues(h, uid, 'Sensitive'), [bool(Tag.AttributeValue, true)]);
  const ro = await h.one(V2_1, 'AdjustAttribute', [uidItem(uid), enumeration(Tag.AttributeReference, Tag.CryptographicLength), enumeration(Tag.AdjustmentType, AdjustmentType.Increment)]);
  t.is(ro.reason, ResultReason.ReadOnlyAttribute);
  t.is((await h.one(V1_4, 'AdjustAttribute', [uidItem(uid)])).reason, ResultReason.OperationNotSupported);
});

test('a failed attribute change in an Undo batch leaves the object unchanged', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4);
  const items = await h.send(V1_4, [
    { operation: 'AddAttribute', payload: [uidItem(uid), attr1x('x-a', text(Tag.AttributeValue, '1'))] },
    { operation: 'AddAttribute', payload: [uidItem(uid), attr1x('Unique Identifier', text(Tag.AttributeValue, 'zz'))] },
  ], undefined, [enumeration(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Undo)]);
  t.is(items[0]!.status, 3, 'Operation Undone');
  t.deepEqual(await attributeValues(h, uid, 'x-a'), []);
});
