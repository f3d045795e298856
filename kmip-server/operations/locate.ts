import { randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm, CryptographicUsageMask, ObjectGroupMember, ObjectType, Operation, State, StorageStatusMask,
} from '../ttlv/enums.ts';
import { ItemType, bool, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { invalidField } from '../messages/errors.ts';
import { attributeVisible, parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { isCustomName, ruleByName } from '../messages/attribute-rules.ts';
import { optEnum, optInt, optStruct } from '../messages/tree.ts';
import { atLeast } from '../messages/version.ts';
import { applyDates } from '../objects/lifecycle.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { ListFilter } from '../store/types.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { OPERATION_PERMISSION } from './permissions.ts';
import { RAW, digestAttribute, isArchived, keyBlock, newObject, setServerAttributes } from './common.ts';
import { bigOf, isGone, sameValue } from './attribute-write.ts';

/** The request's attributes grouped by name, in request order. */
interface Criterion {
  name: string;
  values: TtlvItem[];
}

/** A Date-Time at (or near) its largest value means "any" (1.4 §4.9, 2.1 §6.1.28). */
const DATE_ANY = 2 ** 62;

/** The server's default object group: Locate of a fresh member generates one on demand (1.4 §4.9, server policy). */
export const DEFAULT_GROUP = 'default';

/**
 * Where Group Member Default stands in each group: the default member is served round-robin, advancing on every
 * Locate that names it (server policy, 1.4 §4.9; the TC-153 vectors show round-robin). Per process, not stored:
 * it is a serving policy, not object state.
 */
const defaultPointer = new Map<string, string>();
const MAX_POINTERS = 10_000;

/**
 * Locate (1.4 §4.9, 2.1 §6.1.28): the Unique Identifiers of the caller's objects matching every attribute given.
 *
 * - Matching: equal values; structures match on the fields the request gives (Name without Name Type, Link
 *   without Link Type ...); Cryptographic Usage Mask matches when every requested bit is set; Usage Limits when
 *   the object's count and total are at least the requested ones; a Date-Time given twice is an inclusive range,
 *   at its largest value it matches anything. Several values of one attribute must all be present.
 * - Storage Status Mask: on-line objects by default; archived ones only with Archival Storage; destroyed ones
 *   only with Destroyed Storage (2.x), or (1.x, which has no such bit) when the request asks for a destroyed State.
 * - Order: most recently created first (2.1 §6.1.28); Group Member Fresh serves the oldest fresh object first.
 *   Offset Items skips, Maximum Items caps; Located Items (1.3+) counts every match.
 * - ID Placeholder: set when exactly one identifier is returned, emptied otherwise.
 * - Object Group Member (1.1+): Group Member Fresh keeps objects whose Fresh is true (in the "default" group a
 *   fresh AES-256 key is generated when none is left, for a caller who may Create); Group Member Default returns
 *   the group's default object, round-robin over the group's members.
 */
export const locate: OperationHandler = async (payload, ctx) => {
  const criteria = readCriteria(payload, ctx);
  const maxItems = optInt(payload, Tag.MaximumItems);
  const offset = optInt(payload, Tag.OffsetItems) ?? 0;
  const storage = optInt(payload, Tag.StorageStatusMask);
  const member = optEnum(payload, Tag.ObjectGroupMember);
  if (maxItems !== undefined && maxItems < 0) throw invalidField('Maximum Items is negative');
  if (offset < 0) throw invalidField('Offset Items is negative');
  if (member !== undefined && member !== ObjectGroupMember.GroupMemberFresh && member !== ObjectGroupMember.GroupMemberDefault) {
    throw invalidField('unknown Object Group Member');
  }

  const candidates = await ctx.uow.list(coarseFilter(criteria));
  const wantsDestroyed = criteria.some((c) => c.name === 'State' && c.values.some((v) => v.type === ItemType.Enumeration && (v.value === State.Destroyed || v.value === State.DestroyedCompromised)));
  let matches = candidates.filter((o) => {
    if (o.has('State')) applyDates(o, ctx.now);
    return inStorage(o, storage, ctx, wantsDestroyed) && criteria.every((c) => matchesCriterion(o, c));
  }); // creation order, oldest first

  if (member === ObjectGroupMember.GroupMemberFresh) {
    matches = matches.filter((o) => isTrue(o.one('Fresh')));
    if (matches.length === 0) {
      const made = freshDefaultMember(criteria, ctx);
      if (made) matches = [made];
    }
  } else if (member === ObjectGroupMember.GroupMemberDefault && matches.length > 0) {
    const key = `${ctx.uow.scope}\n${JSON.stringify(criteria.find((c) => c.name === 'Object Group')?.values.map((v) => v.value) ?? [])}`;
    const last = defaultPointer.get(key);
    const at = last === undefined ? -1 : matches.findIndex((o) => o.uid === last);
    const next = matches[(at + 1) % matches.length]!;
    if (defaultPointer.size >= MAX_POINTERS && !defaultPointer.has(key)) defaultPointer.clear();
    defaultPointer.set(key, next.uid);
    matches = [next];
  } else {
    matches.reverse(); // most recent first
  }

  const located = matches.length;
  const end = maxItems === undefined ? undefined : offset + maxItems;
  const uids = matches.slice(offset, end).map((o) => o.uid);
  if (uids.length === 1) ctx.placeholder.id = uids[0]!;
  else delete ctx.placeholder.id;

  const out: TtlvItem[] = [];
  if (atLeast(ctx.version, 1, 3)) out.push(int(Tag.LocatedItems, located));
  for (const uid of uids) out.push(text(Tag.UniqueIdentifier, uid));
  return out;
};

/** The request's attributes: 2.x `Attributes` (may be empty), 1.x `Attribute` items; Attribute Index is ignored. */
function readCriteria(payload: StructureItem, ctx: OperationContext): Criterion[] {
  const container = atLeast(ctx.version, 2, 0) ? optStruct(payload, Tag.Attributes) : undefined;
  const attrs: AttributeEntry[] = parseAttributeList(container ?? payload);
  const out: Criterion[] = [];
  for (const a of attrs) {
    if (ruleByName(a.name) ? !attributeVisible(a.name, ctx.version) : !isCustomName(a.name)) throw invalidField(`unknown attribute ${a.name}`);
    const c = out.find((x) => x.name === a.name);
    if (c) c.values.push(a.value);
    else out.push({ name: a.name, values: [a.value] });
  }
  return out;
}

/** What the store can narrow on first: one Object Type, one Name Value. */
function coarseFilter(criteria: readonly Criterion[]): ListFilter {
  const filter: ListFilter = {};
  const type = criteria.find((c) => c.name === 'Object Type');
  if (type && type.values.length === 1 && type.values[0]!.type === ItemType.Enumeration) filter.objectType = type.values[0]!.value;
  const name = criteria.find((c) => c.name === 'Name');
  const nv = name && name.values.length === 1 && name.values[0]!.type === ItemType.Structure
    ? name.values[0]!.value.find((i) => i.tag === Tag.NameValue)
    : undefined;
  if (nv?.type === ItemType.TextString) filter.name = nv.value;
  return filter;
}

function inStorage(o: ManagedObject, mask: number | undefined, ctx: OperationContext, wantsDestroyed: boolean): boolean {
  if (isGone(o)) {
    if (atLeast(ctx.version, 2, 0)) return mask !== undefined && (mask & StorageStatusMask.DestroyedStorage) !== 0;
    return wantsDestroyed;
  }
  if (isArchived(o)) return mask !== undefined && (mask & StorageStatusMask.ArchivalStorage) !== 0;
  return mask === undefined || (mask & StorageStatusMask.OnLineStorage) !== 0;
}

const isTrue = (v: TtlvItem | undefined): boolean => v?.type === ItemType.Boolean && v.value;

function matchesCriterion(o: ManagedObject, c: Criterion): boolean {
  const have = o.all(c.name);
  if (c.name === 'Cryptographic Usage Mask') {
    return c.values.every((v) => v.type === ItemType.Integer && have.some((h) => h.type === ItemType.Integer && (h.value & v.value) === v.value));
  }
  if (c.name === 'Usage Limits') return c.values.every((v) => have.some((h) => usageLimitsCover(h, v)));
  if (c.values.every((v) => v.type === ItemType.DateTime)) {
    const dates = c.values.map((v) => v.value as number).filter((d) => d < DATE_ANY);
    if (dates.length === 0) return true;
    const lo = Math.min(...dates);
    const hi = Math.max(...dates);
    return have.some((h) => h.type === ItemType.DateTime && h.value >= lo && h.value <= hi);
  }
  return c.values.every((v) => have.some((h) => partialMatch(v, h)));
}

/** The request's fields must all be present in the candidate; structures recursively, leaves by equality. */
function partialMatch(want: TtlvItem, have: TtlvItem): boolean {
  if (want.type !== have.type) return false;
  if (want.type === ItemType.Structure) {
    const children = (have as StructureItem).value;
    return want.value.every((w) => children.some((h) => h.tag === w.tag && partialMatch(w, h)));
  }
  return sameValue(want, have);
}

/** A candidate's Usage Limits has at least the requested count and total, in the requested unit. */
function usageLimitsCover(have: TtlvItem, want: TtlvItem): boolean {
  if (have.type !== ItemType.Structure || want.type !== ItemType.Structure) return false;
  const field = (s: StructureItem, tag: number) => s.value.find((i) => i.tag === tag);
  for (const tag of [Tag.UsageLimitsCount, Tag.UsageLimitsTotal]) {
    const w = bigOf(field(want, tag));
    if (w === undefined) continue;
    const h = bigOf(field(have, tag));
    if (h === undefined || h < w) return false;
  }
  const wu = field(want, Tag.UsageLimitsUnit);
  const hu = field(have, Tag.UsageLimitsUnit);
  return wu === undefined || (hu !== undefined && sameValue(wu, hu));
}

/**
 * Server policy for Group Member Fresh on the default group: when no fresh member is left, a new AES-256 key is
 * made on the fly (1.4 §4.9 allows it). Only when the request asks for nothing but the group (and perhaps Object
 * Type Symmetric Key), and only for a caller who may Create.
 */
function freshDefaultMember(criteria: readonly Criterion[], ctx: OperationContext): ManagedObject | undefined {
  const group = criteria.find((c) => c.name === 'Object Group');
  if (!group || group.values.length !== 1 || group.values[0]!.type !== ItemType.TextString || group.values[0]!.value !== DEFAULT_GROUP) return undefined;
  for (const c of criteria) {
    if (c.name === 'Object Group') continue;
    if (c.name === 'Object Type' && c.values.every((v) => v.type === ItemType.Enumeration && v.value === ObjectType.SymmetricKey)) continue;
    return undefined;
  }
  const perm = OPERATION_PERMISSION[Operation.Create];
  if (perm === undefined || !ctx.identity.operations.has(perm)) return undefined;
  const material = randomBytes(32);
  const body = struct(Tag.SymmetricKey, [keyBlock(RAW, bytes(Tag.KeyMaterial, material), CryptographicAlgorithm.AES, 256)]);
  const obj = newObject(ctx, ObjectType.SymmetricKey, body, [
    { name: 'Cryptographic Algorithm', value: enumeration(Tag.AttributeValue, CryptographicAlgorithm.AES) },
    { name: 'Cryptographic Length', value: int(Tag.AttributeValue, 256) },
    { name: 'Cryptographic Usage Mask', value: int(Tag.AttributeValue, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt) },
    { name: 'Object Group', value: text(Tag.AttributeValue, DEFAULT_GROUP) },
    { name: 'Fresh', value: bool(Tag.AttributeValue, true) },
  ]);
  obj.add('Digest', digestAttribute(material, RAW));
  setServerAttributes(obj, ctx, { generated: true, keyFormat: RAW });
  ctx.uow.save(obj);
  return obj;
}
