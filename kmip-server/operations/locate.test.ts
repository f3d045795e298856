import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicUsageMask, LinkType, ObjectGroupMember, ObjectType, ResultReason, RevocationReasonCode, StorageStatusMask } from '../ttlv/enums.ts';
import { ItemType, bool, dateTime, enumeration, int, struct, text, type TtlvItem } from '../ttlv/types.ts';
import {
  V1_2, V1_4, V2_1, attr1x, attributeValues, createKey, field, harness, identity, nameValue, uidItem, uidOf, uidsOf, vendorAttr,
} from './harness.fixture.ts';

/** A 1.x Locate payload from 2.x-form attribute items (names from their tags). */
const NAMES: Record<number, string> = {
  [Tag.ObjectType]: 'Object Type',
  [Tag.Name]: 'Name',
  [Tag.ObjectGroup]: 'Object Group',
  [Tag.CryptographicUsageMask]: 'Cryptographic Usage Mask',
  [Tag.ActivationDate]: 'Activation Date',
  [Tag.State]: 'State',
  [Tag.Link]: 'Link',
};
const locate1x = (attrs: TtlvItem[], extra: TtlvItem[] = []): TtlvItem[] => [...extra, ...attrs.map((a) => attr1x(NAMES[a.tag] ?? '', a))];
const locate2x = (attrs: TtlvItem[], extra: TtlvItem[] = []): TtlvItem[] => [...extra, struct(Tag.Attributes, attrs)];
const symmetric = enumeration(Tag.ObjectType, ObjectType.SymmetricKey);

test('Locate by Name and Object Type (1.x and 2.x forms); the ID Placeholder is set for one result', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4, [nameValue('loc-1')]);
  await createKey(h, V1_4, [nameValue('loc-2')]);
  const r = await h.one(V1_4, 'Locate', locate1x([symmetric, nameValue('loc-1')]));
  t.is(r.status, 0, r.message);
  t.deepEqual(uidsOf(r), [uid]);
  t.deepEqual(field(r, Tag.LocatedItems), int(Tag.LocatedItems, 1));
  const r2 = await h.one(V2_1, 'Locate', locate2x([nameValue('loc-1')]));
  t.deepEqual(uidsOf(r2), [uid]);
  // Locate then Get without an identifier: the placeholder carries the located object.
  const [, got] = await h.send(V1_2, [
    { operation: 'Locate', payload: locate1x([nameValue('loc-1')]) },
    { operation: 'Get', payload: [] },
  ]);
  t.is(got!.status, 0, got!.message);
  t.is(uidOf(got!), uid);
  // A Name matches on the fields given: Name Value alone is enough.
  const partial = await h.one(V1_4, 'Locate', [attr1x('Name', struct(Tag.AttributeValue, [text(Tag.NameValue, 'loc-1')]))]);
  t.deepEqual(uidsOf(partial), [uid]);
});

test('Locate: most recent first; Maximum Items, Offset Items, Located Items; no Located Items before 1.3', async (t) => {
  const h = harness();
  const a = await createKey(h, V1_4, [text(Tag.ObjectGroup, 'g')]);
  const b = await createKey(h, V1_4, [text(Tag.ObjectGroup, 'g')]);
  const c = await createKey(h, V1_4, [text(Tag.ObjectGroup, 'g')]);
  const all = await h.one(V1_4, 'Locate', locate1x([text(Tag.ObjectGroup, 'g')]));
  t.deepEqual(uidsOf(all), [c, b, a]);
  const page = await h.one(V1_4, 'Locate', locate1x([text(Tag.ObjectGroup, 'g')], [int(Tag.MaximumItems, 1), int(Tag.OffsetItems, 1)]));
  t.deepEqual(uidsOf(page), [b]);
  t.deepEqual(field(page, Tag.LocatedItems), int(Tag.LocatedItems, 3));
  const old = await h.one(V1_2, 'Locate', locate1x([text(Tag.ObjectGroup, 'g')]));
  t.deepEqual(uidsOf(old), [c, b, a]);
  t.is(field(old, Tag.LocatedItems), undefined, 'Located Items is a 1.3 field');
  // Several results empty the ID Placeholder: a following Get without an identifier fails.
  const [, get] = await h.send(V1_4, [
    { operation: 'Locate', payload: locate1x([text(Tag.ObjectGroup, 'g')]) },
    { operation: 'Get', payload: [] },
  ]);
  t.is(get!.status, 1);
  const none = await h.one(V1_4, 'Locate', locate1x([text(Tag.ObjectGroup, 'nothing')]));
  t.deepEqual(uidsOf(none), []);
  t.deepEqual(field(none, Tag.LocatedItems), int(Tag.LocatedItems, 0));
});

test('Locate: Cryptographic Usage Mask matches when every requested bit is set', async (t) => {
  const h = harness();
  const both = await createKey(h, V2_1); // Encrypt | Decrypt
  const enc = await h.one(V2_1, 'Locate', locate2x([int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt)]));
  t.deepEqual(uidsOf(enc), [both]);
  const sign = await h.one(V2_1, 'Locate', locate2x([int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Sign)]));
  t.deepEqual(uidsOf(sign), []);
});

test('Locate: a date given twice is an inclusive range, once an exact value', async (t) => {
  const h = harness();
  const base = Math.floor(Date.now() / 1000) + 100_000;
  const k1 = await createKey(h, V1_4, [dateTime(Tag.ActivationDate, base)]);
  const k2 = await createKey(h, V1_4, [dateTime(Tag.ActivationDate, base + 100)]);
  await createKey(h, V1_4, [dateTime(Tag.ActivationDate, base + 200)]);
  const range = await h.one(V1_4, 'Locate', locate1x([dateTime(Tag.ActivationDate, base), dateTime(Tag.ActivationDate, base + 100)]));
  t.deepEqual(uidsOf(range), [k2, k1]);
  const exact = await h.one(V1_4, 'Locate', locate1x([dateTime(Tag.ActivationDate, base + 100)]));
  t.deepEqual(uidsOf(exact), [k2]);
});

test('Locate: custom attributes, Link without Link Type, Application Specific Information, State', async (t) => {
  const h = harness();
  const target = await createKey(h, V2_1);
  const k = await createKey(h, V2_1, [vendorAttr('x', 'tape', text(Tag.AttributeValue, 'A1'))]);
  t.is((await h.one(V2_1, 'AddAttribute', [uidItem(k), struct(Tag.NewAttribute, [
    struct(Tag.Link, [enumeration(Tag.LinkType, LinkType.ReplacedObjectLink), text(Tag.LinkedObjectIdentifier, target)]),
  ])])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', [attr1x('x-tape', text(Tag.AttributeValue, 'A1'))])), [k]);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([vendorAttr('x', 'tape', text(Tag.AttributeValue, 'A1'))]))), [k]);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([struct(Tag.Link, [text(Tag.LinkedObjectIdentifier, target)])]))), [k]);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', [attr1x('x-tape', text(Tag.AttributeValue, 'B2'))])), []);
  const asi = (data?: string) => struct(Tag.ApplicationSpecificInformation, [
    text(Tag.ApplicationNamespace, 'LIBRARY-LTO'), ...(data === undefined ? [] : [text(Tag.ApplicationData, data)]),
  ]);
  const tape = await createKey(h, V2_1, [asi('0123')]);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([symmetric, asi('0123')]))), [tape]);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([asi()]))), [tape]);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([asi('9999')]))), []);
  t.is((await h.one(V1_4, 'Activate', [uidItem(k)])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([enumeration(Tag.State, 2 /* Active */)]))), [k]);
  const unknown = await h.one(V1_4, 'Locate', [attr1x('Nonsense', text(Tag.AttributeValue, 'x'))]);
  t.is(unknown.reason, ResultReason.InvalidField);
});

test('Locate: archived objects only with the Archival Storage bit; Recover brings them back', async (t) => {
  const h = harness();
  const uid = await createKey(h, V1_4, [nameValue('arch')]);
  t.is((await h.one(V1_4, 'Archive', [uidItem(uid)])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([nameValue('arch')]))), []);
  const both = StorageStatusMask.OnLineStorage | StorageStatusMask.ArchivalStorage;
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([nameValue('arch')], [int(Tag.StorageStatusMask, both)]))), [uid]);
  t.is((await h.one(V1_4, 'Recover', [uidItem(uid)])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([nameValue('arch')]))), [uid]);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([nameValue('arch')], [int(Tag.StorageStatusMask, StorageStatusMask.ArchivalStorage)]))), []);
});

test('Locate: destroyed objects only with Destroyed Storage (2.x) or a destroyed State (1.x)', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [nameValue('gone')]);
  t.is((await h.one(V2_1, 'Destroy', [uidItem(uid)])).status, 0);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([nameValue('gone')]))), []);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([nameValue('gone')], [int(Tag.StorageStatusMask, StorageStatusMask.DestroyedStorage)]))), [uid]);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([nameValue('gone')]))), []);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([nameValue('gone'), enumeration(Tag.State, 5 /* Destroyed */)]))), [uid]);
});

test('Locate: Group Member Fresh serves the oldest fresh object; none left gives nothing', async (t) => {
  const h = harness();
  const a = await createKey(h, V1_4, [text(Tag.ObjectGroup, 'fresh-g'), bool(Tag.Fresh, true)]);
  const b = await createKey(h, V1_4, [text(Tag.ObjectGroup, 'fresh-g'), bool(Tag.Fresh, true)]);
  await createKey(h, V1_4, [text(Tag.ObjectGroup, 'fresh-g'), bool(Tag.Fresh, false)]);
  const req = locate1x([text(Tag.ObjectGroup, 'fresh-g')], [int(Tag.MaximumItems, 1), enumeration(Tag.ObjectGroupMember, ObjectGroupMember.GroupMemberFresh)]);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', req)), [a]);
  // What Get does when it serves the object (see common.ts markServed): Fresh becomes false.
  t.is((await h.one(V2_1, 'SetAttribute', [uidItem(a), struct(Tag.NewAttribute, [bool(Tag.Fresh, false)])])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', req)), [b]);
  t.is((await h.one(V2_1, 'SetAttribute', [uidItem(b), struct(Tag.NewAttribute, [bool(Tag.Fresh, false)])])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', req)), []);
});

test('Locate: Group Member Fresh in the default group makes a fresh AES key when none is left (callers who may Create)', async (t) => {
  const h = harness();
  const req = locate1x([text(Tag.ObjectGroup, 'default')], [int(Tag.MaximumItems, 1), enumeration(Tag.ObjectGroupMember, ObjectGroupMember.GroupMemberFresh)]);
  const [loc, attrs] = await h.send(V1_4, [{ operation: 'Locate', payload: req }, { operation: 'GetAttributes', payload: [text(Tag.AttributeName, 'Fresh')] }]);
  const [uid] = uidsOf(loc!);
  t.truthy(uid);
  t.is(attrs!.status, 0, attrs!.message);
  t.deepEqual(await attributeValues(h, uid!, 'Fresh'), [bool(Tag.AttributeValue, true)]);
  t.deepEqual(await attributeValues(h, uid!, 'Cryptographic Length'), [int(Tag.AttributeValue, 256)]);
  // A caller who may not Create gets nothing made for it.
  const reader = identity('scope-a', ['operation_locate']);
  t.is((await h.one(V2_1, 'SetAttribute', [uidItem(uid!), struct(Tag.NewAttribute, [bool(Tag.Fresh, false)])])).status, 0);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', req, reader)), []);
});

test('Locate: Group Member Default serves the group round-robin', async (t) => {
  const h = harness();
  const g = [text(Tag.ObjectGroup, 'rr')];
  const k = [await createKey(h, V1_4, g), await createKey(h, V1_4, g), await createKey(h, V1_4, g)];
  const req = locate1x(g, [int(Tag.MaximumItems, 1), enumeration(Tag.ObjectGroupMember, ObjectGroupMember.GroupMemberDefault)]);
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) seen.push(...uidsOf(await h.one(V1_4, 'Locate', req)));
  t.deepEqual(seen, [k[0], k[1], k[2], k[0]]);
});

test('Locate never returns another scope\'s objects', async (t) => {
  const h = harness();
  const a = identity('scope-a');
  const b = identity('scope-b');
  const mine = await createKey(h, V2_1, [nameValue('shared-name')], a);
  const theirs = await createKey(h, V2_1, [nameValue('shared-name')], b);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([]), b)), [theirs]);
  t.deepEqual(uidsOf(await h.one(V2_1, 'Locate', locate2x([nameValue('shared-name')]), b)), [theirs]);
  t.deepEqual(uidsOf(await h.one(V1_4, 'Locate', locate1x([symmetric]), a)), [mine]);
  t.is((await h.one(V2_1, 'Get', [uidItem(mine)], b)).reason, ResultReason.ObjectNotFound);
  t.is((await h.one(V1_4, 'Get', [uidItem(mine)], b)).reason, ResultReason.ItemNotFound);
  // Adding a name another scope uses is no clash.
  t.is((await h.one(V2_1, 'AddAttribute', [uidItem(theirs), struct(Tag.NewAttribute, [nameValue('only-in-a')])], b)).status, 0);
  t.is((await h.one(V2_1, 'AddAttribute', [uidItem(mine), struct(Tag.NewAttribute, [nameValue('only-in-a')])], a)).status, 0);
});

test('Locate sees the batch\'s own earlier writes', async (t) => {
  const h = harness();
  const uid = await createKey(h, V2_1, [nameValue('batch')]);
  const [, , loc] = await h.send(V2_1, [
    { operation: 'Revoke', payload: [uidItem(uid), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.CessationOfOperation)])] },
    { operation: 'AddAttribute', payload: [uidItem(uid), struct(Tag.NewAttribute, [vendorAttr('x', 'mark', text(Tag.AttributeValue, 'y'))])] },
    { operation: 'Locate', payload: locate2x([vendorAttr('x', 'mark', text(Tag.AttributeValue, 'y'))]) },
  ]);
  t.deepEqual(uidsOf(loc!), [uid]);
  t.is(field(loc!, Tag.LocatedItems)?.type, ItemType.Integer);
});
