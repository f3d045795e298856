/**
 * What Add / Modify / Delete / Set / Adjust Attribute share: reading "the attribute" of a request in its 1.x
 * or 2.x form, the write rules (attribute-rules.ts plus the per-attribute rules of 1.4 §3 / 2.1 §4 that the
 * table cannot express: lifecycle dates, Usage Limits, unique Names), and value comparison.
 *
 * Reasons: 2.x has specific ones (Attribute Read Only, Attribute Single Valued, Non Unique Name Attribute ...);
 * 1.x answers with the reasons of its §11 tables (Permission Denied, Illegal Operation, Invalid Field, Item Not
 * Found), which is also what its test vectors expect.
 */
import { Tag } from '../ttlv/tag.ts';
import { ResultReason, State } from '../ttlv/enums.ts';
import { ItemType, long, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidField, missingData } from '../messages/errors.ts';
import { atLeast } from '../messages/version.ts';
import { attributeVisible, parseAttribute2x, parseAttributeStruct, type AttributeEntry } from '../messages/attributes.ts';
import { isCustomName, ruleByName, type AttributeRule } from '../messages/attribute-rules.ts';
import { optStruct } from '../messages/tree.ts';
import { applyDates, lifecycleError } from '../objects/lifecycle.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationContext } from './context.ts';
import { versionedError } from './common.ts';

export type WriteKind = 'add' | 'modify' | 'delete' | 'set' | 'adjust';

export const is2x = (ctx: OperationContext): boolean => atLeast(ctx.version, 2, 0);

/** A request's attribute: canonical name, value (tagged Attribute Value) and the 1.x Attribute Index if given. */
export interface RequestAttribute extends AttributeEntry {
  index?: number;
}

/** The 1.x `Attribute` structure of a payload (Add / Modify Attribute). */
export function attribute1x(payload: StructureItem): RequestAttribute {
  const a = optStruct(payload, Tag.Attribute);
  if (!a) throw missingData('the request has no Attribute');
  return parseAttributeStruct(a);
}

/**
 * The attribute inside a 2.x New Attribute / Current Attribute structure: exactly one item, the attribute's own
 * tag or a Vendor Attribute (`Attribute { Vendor Identification, Attribute Name, Attribute Value }`).
 */
export function attribute2x(container: StructureItem): AttributeEntry {
  const [item, ...rest] = container.value;
  if (!item) throw missingData(`${container.tag === Tag.NewAttribute ? 'New' : 'Current'} Attribute is empty`);
  if (rest.length > 0) throw invalidField(`${container.tag === Tag.NewAttribute ? 'New' : 'Current'} Attribute holds more than one attribute`);
  return parseAttribute2x(item);
}

// ---------------------------------------------------------------------------------------------------------------
// Who may write what

/** Dates a client may change only in the early states (1.4 §3.24-3.27: Pre-Active; 2.1 §4.18, 4.40, 4.41 also Active). */
const LIFECYCLE_DATES: ReadonlySet<string> = new Set(['Activation Date', 'Process Start Date', 'Protect Stop Date', 'Deactivation Date']);

/** Custom attributes whose names start with y- are the server's (1.4 §3.39); so are 2.x Vendor Attributes of vendor "y". */
const isServerCustom = (name: string): boolean => /^y-/i.test(name);

/** The rule of a standard attribute the request's version knows, undefined for a custom one; unknown names fail. */
export function writableRule(ctx: OperationContext, name: string): AttributeRule | undefined {
  const rule = ruleByName(name);
  if (rule) {
    if (!attributeVisible(name, ctx.version)) throw invalidField(`attribute ${name} does not exist in KMIP ${ctx.version.major}.${ctx.version.minor}`);
    return rule;
  }
  if (!isCustomName(name)) throw invalidField(`unknown attribute ${name}`);
  return undefined;
}

/** The read-only error: 2.x names it per operation (its §6 tables), 1.x says Permission Denied (1.4 §11.15-11.17). */
export function readOnly(ctx: OperationContext, kind: WriteKind, name: string): KmipError {
  const r2x = kind === 'modify' || kind === 'delete' ? ResultReason.AttributeReadOnly : ResultReason.ReadOnlyAttribute;
  return versionedError(ctx, r2x, ResultReason.PermissionDenied, `attribute ${name} may not be ${kind === 'delete' ? 'deleted' : 'changed'} by a client`);
}

/**
 * Refuses a write the rules forbid. `existing` tells whether the write changes an existing instance (Modify, Set
 * or Adjust of a present attribute) or creates the first one (Add, Set of an absent attribute).
 */
export function checkWritable(ctx: OperationContext, kind: WriteKind, name: string, obj: ManagedObject, existing: boolean): void {
  const rule = writableRule(ctx, name);
  if (!rule) {
    if (isServerCustom(name)) throw readOnly(ctx, kind, name);
    return;
  }
  if (rule.client === 'server') throw readOnly(ctx, kind, name);
  if (kind === 'delete') {
    if (!rule.deletable) throw readOnly(ctx, kind, name);
    if (name === 'Usage Limits' && allocated(obj)) throw readOnly(ctx, kind, `${name} (an allocation has been obtained)`);
    return;
  }
  if (!existing) return; // creating the first instance: allowed for 'create' and 'initial' attributes alike
  if (LIFECYCLE_DATES.has(name)) {
    const state = obj.state;
    const ok = state === State.PreActive || (is2x(ctx) && name !== 'Activation Date' && state === State.Active);
    if (!ok || !obj.has('State')) throw lifecycleError(ctx.version, `${name} may not be changed in the object's current state`);
    return;
  }
  if (rule.client === 'initial') throw readOnly(ctx, kind, name);
  if (name === 'Usage Limits' && allocated(obj)) throw readOnly(ctx, kind, `${name} (an allocation has been obtained)`);
}

/** A second instance of a single-valued attribute. */
export function singleValued(ctx: OperationContext, name: string): KmipError {
  return versionedError(ctx, ResultReason.AttributeSingleValued, ResultReason.IllegalOperation, `attribute ${name} already exists and may have only one instance`);
}

export function isMulti(name: string): boolean {
  return ruleByName(name)?.multi ?? true; // custom attributes may have several instances
}

export const attributeNotFound = (ctx: OperationContext, name: string, kind: WriteKind): KmipError =>
  // 1.4 §11.16: Modify of an absent attribute is Invalid Field ("needs to first be added"); Delete is Item Not Found.
  versionedError(ctx, ResultReason.AttributeNotFound, kind === 'modify' ? ResultReason.InvalidField : ResultReason.ItemNotFound, `the object has no attribute ${name}`);

export const instanceNotFound = (ctx: OperationContext, name: string): KmipError =>
  versionedError(ctx, ResultReason.AttributeInstanceNotFound, ResultReason.ItemNotFound, `no such instance of attribute ${name}`);

// ---------------------------------------------------------------------------------------------------------------
// Values

/** Deep equality of two values, ignoring the outer tag (an Attribute Value and a 2.x tagged attribute compare equal). */
export function sameValue(a: TtlvItem, b: TtlvItem): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case ItemType.Structure: {
      const bs = (b as StructureItem).value;
      return a.value.length === bs.length && a.value.every((c, i) => c.tag === bs[i]!.tag && sameValue(c, bs[i]!));
    }
    case ItemType.ByteString:
      return Buffer.from(a.value).equals(Buffer.from((b as { value: Uint8Array }).value));
    default:
      return a.value === b.value;
  }
}

/** Index (among the instances of `name`) of the instance equal to `value`, or -1. */
export function instanceIndex(obj: ManagedObject, name: string, value: TtlvItem): number {
  return obj.all(name).findIndex((v) => sameValue(v, value));
}

/** True once Get Usage Allocation has taken from the limits (the count no longer equals the total). */
export function allocated(obj: ManagedObject): boolean {
  const u = obj.one('Usage Limits');
  if (u?.type !== ItemType.Structure) return false;
  const total = bigOf(u.value.find((c) => c.tag === Tag.UsageLimitsTotal));
  const count = bigOf(u.value.find((c) => c.tag === Tag.UsageLimitsCount));
  return total !== undefined && count !== undefined && total !== count;
}

export function bigOf(i: TtlvItem | undefined): bigint | undefined {
  if (i?.type === ItemType.LongInteger || i?.type === ItemType.BigInteger) return i.value;
  if (i?.type === ItemType.Integer) return BigInt(i.value);
  return undefined;
}

/**
 * Usage Limits as stored: Total, Count, Unit (1.4 §3.21). A client sets Total and Unit; the server sets Count to
 * the Total when the limits are created or changed (before any allocation).
 */
export function usageLimitsValue(value: TtlvItem, current?: TtlvItem): TtlvItem {
  if (value.type !== ItemType.Structure) throw invalidField('Usage Limits is not a structure');
  const cur = current?.type === ItemType.Structure ? current.value : [];
  const pick = (tag: number) => value.value.find((c) => c.tag === tag) ?? cur.find((c) => c.tag === tag);
  const total = bigOf(pick(Tag.UsageLimitsTotal));
  const unit = pick(Tag.UsageLimitsUnit);
  if (total === undefined) throw missingData('Usage Limits needs Usage Limits Total');
  if (total < 0n) throw invalidField('Usage Limits Total is negative');
  if (unit?.type !== ItemType.Enumeration) throw missingData('Usage Limits needs Usage Limits Unit');
  return struct(Tag.AttributeValue, [long(Tag.UsageLimitsTotal, total), long(Tag.UsageLimitsCount, total), unit]);
}

/** The value to store for an attribute a client writes (normalizes Usage Limits, refuses Application Data to generate). */
export function storedValue(name: string, value: TtlvItem, current?: TtlvItem): TtlvItem {
  if (name === 'Application Specific Information' && value.type === ItemType.Structure && !value.value.some((c) => c.tag === Tag.ApplicationData)) {
    // The server would have to generate the data for the namespace; it supports none (Query lists no namespaces).
    throw new KmipError(ResultReason.ApplicationNamespaceNotSupported, 'the server generates Application Data for no namespace: give Application Data');
  }
  const v = name === 'Usage Limits' ? usageLimitsValue(value, current) : value;
  return v.tag === Tag.AttributeValue ? v : ({ ...v, tag: Tag.AttributeValue } as TtlvItem);
}

/**
 * Names are unique among the live objects of a scope (2.1 §6.1.2: Non Unique Name Attribute; 1.4 §11.15: Illegal
 * Operation). `skipIndex` is the instance being replaced, which may keep its own value.
 */
export async function checkUniqueName(ctx: OperationContext, obj: ManagedObject, name: string, value: TtlvItem, skipIndex?: number): Promise<void> {
  if (name !== 'Name' || value.type !== ItemType.Structure) return;
  const nv = value.value.find((c) => c.tag === Tag.NameValue);
  if (nv?.type !== ItemType.TextString) throw missingData('Name needs a Name Value');
  const clash = () => versionedError(ctx, ResultReason.NonUniqueNameAttribute, ResultReason.IllegalOperation, `the name ${JSON.stringify(nv.value)} is already in use`);
  const own = obj.all('Name');
  for (let i = 0; i < own.length; i++) {
    const o = own[i]!;
    if (i === skipIndex || o.type !== ItemType.Structure) continue;
    const ov = o.value.find((c) => c.tag === Tag.NameValue);
    if (ov?.type === ItemType.TextString && ov.value === nv.value) throw clash();
  }
  // Names are unique in the whole scope, other header credentials' objects included.
  for (const other of await ctx.uow.listAll({ name: nv.value })) {
    if (other.uid === obj.uid || isGone(other)) continue;
    throw clash();
  }
}

/** Destroyed objects keep their metadata but no longer hold their names or appear in Locate. */
export function isGone(obj: ManagedObject): boolean {
  const s = obj.has('State') ? obj.state : undefined;
  return s === State.Destroyed || s === State.DestroyedCompromised || obj.has('Destroy Date');
}

/** After a date changed: the state the dates now imply (an Activation Date in the past makes the object Active). */
export function settle(obj: ManagedObject, ctx: OperationContext, name: string): void {
  if (LIFECYCLE_DATES.has(name) && obj.has('State')) applyDates(obj, ctx.now);
}

/** Replaces the `index`-th instance of `name` in place (its position among the object's attributes is kept). */
export function replaceInstance(obj: ManagedObject, name: string, index: number, value: TtlvItem): void {
  let seen = -1;
  const at = obj.attributes.findIndex((a) => a.name === name && ++seen === index);
  if (at < 0) throw new KmipError(ResultReason.ItemNotFound, `no instance ${index} of attribute ${name}`);
  obj.attributes[at] = { name, value };
}
