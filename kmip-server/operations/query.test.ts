import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import { ObjectType, Operation, QueryFunction, RNGAlgorithm } from '../ttlv/enums.ts';
import { ItemType, enumeration, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { V1_0, V1_2, V1_4, V2_1, harness, identity } from './harness.fixture.ts';
import { HANDLERS } from './registry.ts';

const q = (...fns: number[]): TtlvItem[] => fns.map((f) => enumeration(Tag.QueryFunction, f));
const values = (payload: StructureItem | undefined, tag: number): number[] =>
  (payload?.value ?? []).filter((i) => i.tag === tag && i.type === ItemType.Enumeration).map((i) => i.value as number);

test('Query Operations: the implemented operations the caller may run, none newer than the request', async (t) => {
  const h = harness();
  const v21 = await h.one(V2_1, 'Query', q(QueryFunction.QueryOperations));
  t.is(v21.status, 0, v21.message);
  const ops21 = values(v21.payload, Tag.Operation);
  t.deepEqual(ops21, [...HANDLERS.keys()].sort((a, b) => a - b));
  t.true(ops21.includes(Operation.SetAttribute));
  const v10 = values((await h.one(V1_0, 'Query', q(QueryFunction.QueryOperations))).payload, Tag.Operation);
  t.true(v10.includes(Operation.Locate));
  t.false(v10.includes(Operation.SetAttribute), 'Set Attribute is a 2.0 operation');
  t.false(v10.includes(Operation.DiscoverVersions), 'Discover Versions is a 1.1 operation');
  const reader = identity('scope-r', ['operation_query', 'operation_locate', 'operation_get']);
  const limited = values((await h.one(V1_4, 'Query', q(QueryFunction.QueryOperations), reader)).payload, Tag.Operation);
  t.deepEqual(limited, [Operation.Locate, Operation.Get, Operation.Query]);
});

test('Query Objects and Server Information, answered in the request\'s version', async (t) => {
  const h = harness();
  const r14 = await h.one(V1_4, 'Query', q(QueryFunction.QueryServerInformation, QueryFunction.QueryObjects));
  const types14 = values(r14.payload, Tag.ObjectType);
  t.true(types14.includes(ObjectType.SymmetricKey));
  t.true(types14.includes(ObjectType.Template));
  // Response order follows the spec's table, not the request's.
  const tags = r14.payload!.value.map((i) => i.tag);
  t.true(tags.lastIndexOf(Tag.ObjectType) < tags.indexOf(Tag.VendorIdentification));
  t.deepEqual(r14.payload!.value.find((i) => i.tag === Tag.VendorIdentification), text(Tag.VendorIdentification, 'kube-kmip-test'));
  t.deepEqual(r14.payload!.value.find((i) => i.tag === Tag.ServerInformation), struct(Tag.ServerInformation, []));
  const r21 = await h.one(V2_1, 'Query', q(QueryFunction.QueryObjects, QueryFunction.QueryServerInformation));
  t.false(values(r21.payload, Tag.ObjectType).includes(ObjectType.Template), 'no Template after 1.4');
  t.deepEqual(r21.payload!.value.find((i) => i.tag === Tag.ServerInformation), struct(Tag.ServerInformation, [text(Tag.ProductName, 'kube-kmip test server')]));
  const r12 = await h.one(V1_2, 'Query', q(QueryFunction.QueryObjects));
  t.true(values(r12.payload, Tag.ObjectType).includes(ObjectType.PGPKey));
});

test('Query Capabilities, RNGs and Storage Protection Masks only where the version has them', async (t) => {
  const h = harness();
  const r14 = await h.one(V1_4, 'Query', q(QueryFunction.QueryCapabilities, QueryFunction.QueryRNGs));
  const cap = r14.payload!.value.find((i) => i.tag === Tag.CapabilityInformation) as StructureItem;
  t.truthy(cap);
  t.true(cap.value.some((i) => i.tag === Tag.BatchUndoCapability), 'Batch Undo Capability is 1.4');
  t.false(cap.value.some((i) => i.tag === Tag.QuantumSafeCapability), 'Quantum Safe Capability is 2.0');
  t.deepEqual(r14.payload!.value.find((i) => i.tag === Tag.RNGParameters), struct(Tag.RNGParameters, [enumeration(Tag.RNGAlgorithm, RNGAlgorithm.Unspecified)]));
  const r13 = await h.one({ major: 1, minor: 3 }, 'Query', q(QueryFunction.QueryCapabilities));
  const cap13 = r13.payload!.value.find((i) => i.tag === Tag.CapabilityInformation) as StructureItem;
  t.false(cap13.value.some((i) => i.tag === Tag.BatchUndoCapability));
  const r12 = await h.one(V1_2, 'Query', q(QueryFunction.QueryCapabilities, QueryFunction.QueryRNGs));
  t.deepEqual(r12.payload?.value ?? [], [], 'Capability Information and RNG Parameters are 1.3 fields');
  const r21 = await h.one(V2_1, 'Query', q(QueryFunction.QueryStorageProtectionMasks, QueryFunction.QueryProfiles, QueryFunction.QueryApplicationNamespaces, QueryFunction.QueryExtensionMap));
  t.deepEqual(r21.payload?.value, [struct(Tag.ProtectionStorageMasks, [])]);
});
