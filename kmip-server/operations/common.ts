import { randomUUID, createHash } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, DRBGAlgorithm, HashingAlgorithm, KeyFormatType, ObjectType, RNGAlgorithm, State } from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidField, itemNotFound, objectNotFound } from '../messages/errors.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { atLeast } from '../messages/version.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { ruleByName } from '../messages/attribute-rules.ts';
import { optStruct, optText } from '../messages/tree.ts';
import { ManagedObject } from '../objects/managed-object.ts';
import { applyDates } from '../objects/lifecycle.ts';
import type { OperationContext } from './context.ts';

/** Object Type enumeration → the tag of the structure that carries that object. */
export const OBJECT_TAG: Readonly<Record<number, number>> = {
  [ObjectType.Certificate]: Tag.Certificate,
  [ObjectType.SymmetricKey]: Tag.SymmetricKey,
  [ObjectType.PublicKey]: Tag.PublicKey,
  [ObjectType.PrivateKey]: Tag.PrivateKey,
  [ObjectType.SplitKey]: Tag.SplitKey,
  [ObjectType.Template]: Tag.Template,
  [ObjectType.SecretData]: Tag.SecretData,
  [ObjectType.OpaqueObject]: Tag.OpaqueObject,
  [ObjectType.PGPKey]: Tag.PGPKey,
};

/** The Unique Identifier of a request, or the ID Placeholder when it is omitted. */
export function targetUid(payload: StructureItem, ctx: OperationContext): string {
  const uid = optText(payload, Tag.UniqueIdentifier);
  if (uid !== undefined) return uid;
  if (ctx.placeholder.id !== undefined) return ctx.placeholder.id;
  throw new KmipError(ResultReason.MissingData, 'no Unique Identifier and no ID Placeholder');
}

/** Loads an object of the caller's scope; another scope's objects do not exist for the caller. */
export async function loadObject(ctx: OperationContext, uid: string): Promise<ManagedObject> {
  const obj = await ctx.uow.get(uid);
  if (!obj) throw objectNotFound(ctx.version, uid);
  if (obj.has('State')) applyDates(obj, ctx.now);
  return obj;
}

/** The attributes a request supplies: 1.x Template-Attribute or 2.x Attributes. */
export function requestAttributes(payload: StructureItem, ctx: OperationContext, container1x: number = Tag.TemplateAttribute, container2x: number = Tag.Attributes): AttributeEntry[] {
  const c = atLeast(ctx.version, 2, 0) ? optStruct(payload, container2x) ?? optStruct(payload, container1x) : optStruct(payload, container1x) ?? optStruct(payload, container2x);
  return parseAttributeList(c);
}

/** Attributes the client may set when an object is made; server-owned ones are refused. */
export function checkClientAttributes(attrs: readonly AttributeEntry[]): void {
  const counts = new Map<string, number>();
  for (const a of attrs) {
    const rule = ruleByName(a.name);
    if (rule && rule.client === 'server') throw new KmipError(ResultReason.InvalidField, `attribute ${a.name} is set by the server`);
    const n = (counts.get(a.name) ?? 0) + 1;
    counts.set(a.name, n);
    if (rule && !rule.multi && n > 1) throw new KmipError(ResultReason.InvalidField, `attribute ${a.name} may have only one instance`);
  }
}

export function newUid(): string {
  return randomUUID();
}

/**
 * A new object with the attributes every object carries from birth: Unique Identifier, Object
 * Type, State, Initial Date, Last Change Date, Original Creation Date, and the client's ones.
 * An Activation Date at or before now makes it Active at once (KMIP's state rules).
 */
export function newObject(ctx: OperationContext, objectType: number, body: StructureItem | null, clientAttrs: readonly AttributeEntry[]): ManagedObject {
  const uid = newUid();
  const obj = new ManagedObject({ uid, scope: ctx.uow.scope, objectType, attributes: [], body });
  obj.set('Unique Identifier', text(Tag.AttributeValue, uid));
  obj.set('Object Type', enumeration(Tag.AttributeValue, objectType));
  for (const a of clientAttrs) obj.add(a.name, a.value);
  obj.state = State.PreActive;
  obj.setDate('Initial Date', ctx.now);
  obj.setDate('Last Change Date', ctx.now);
  obj.setDate('Original Creation Date', ctx.now);
  applyDates(obj, ctx.now);
  return obj;
}

export function touch(obj: ManagedObject, ctx: OperationContext): void {
  obj.setDate('Last Change Date', ctx.now);
}

/** Digest attribute (SHA-256 over the key material in its stored format), as the vectors expect. */
export function digestAttribute(material: Uint8Array, keyFormatType: number): TtlvItem {
  const d = createHash('sha256').update(material).digest();
  return struct(Tag.AttributeValue, [
    enumeration(Tag.HashingAlgorithm, HashingAlgorithm.SHA_256),
    bytes(Tag.DigestValue, d),
    enumeration(Tag.KeyFormatType, keyFormatType),
  ]);
}

/** Key Block { Key Format Type, Key Value { Key Material }, Algorithm, Length }. */
export function keyBlock(format: number, material: TtlvItem, algorithm?: number, length?: number): StructureItem {
  const c: TtlvItem[] = [enumeration(Tag.KeyFormatType, format), struct(Tag.KeyValue, [material])];
  if (algorithm !== undefined) c.push(enumeration(Tag.CryptographicAlgorithm, algorithm));
  if (length !== undefined) c.push(int(Tag.CryptographicLength, length));
  return struct(Tag.KeyBlock, c);
}

export const RAW = KeyFormatType.Raw;

/** Reads an enumeration attribute value from a list of entries. */
export function attrEnum(attrs: readonly AttributeEntry[], name: string): number | undefined {
  const v = attrs.find((a) => a.name === name)?.value;
  if (v === undefined) return undefined;
  if (v.type !== ItemType.Enumeration) throw invalidField(`${name} is not an enumeration`);
  return v.value;
}

export function attrInt(attrs: readonly AttributeEntry[], name: string): number | undefined {
  const v = attrs.find((a) => a.name === name)?.value;
  if (v === undefined) return undefined;
  if (v.type !== ItemType.Integer) throw invalidField(`${name} is not an integer`);
  return v.value;
}

// Archive state, Fresh, and version-dependent Result Reasons (used by Locate, Archive / Recover, Check, the
// attribute operations; Get should call assertNotArchived and markServed).

/** True while an object is archived: Archive sets Archive Date, Recover deletes it (1.4 §3.32, 2.1 §4.5). */
export function isArchived(obj: ManagedObject): boolean {
  return obj.has('Archive Date');
}

/** Refuses an archived object with Object Archived (1.4 §11: Get, Check, Add/Modify/Delete Attribute ...). */
export function assertNotArchived(obj: ManagedObject): void {
  if (isArchived(obj)) throw new KmipError(ResultReason.ObjectArchived, `object ${obj.uid} is archived; Recover it first`);
}

/**
 * An object has been served to a client (Get): Fresh becomes false (1.4 §3.34). Returns true when it changed,
 * in which case the caller saves the object.
 */
export function markServed(obj: ManagedObject): boolean {
  const fresh = obj.one('Fresh');
  if (fresh?.type !== ItemType.Boolean || !fresh.value) return false;
  obj.set('Fresh', { tag: Tag.AttributeValue, type: ItemType.Boolean, value: false });
  return true;
}

/** An error whose reason depends on the request's version: 2.x has finer reasons than 1.x (e.g. Attribute Read Only vs Permission Denied). */
export function versionedError(ctx: OperationContext, reason2x: KmipError['reason'], reason1x: KmipError['reason'], message: string): KmipError {
  return new KmipError(atLeast(ctx.version, 2, 0) ? reason2x : reason1x, message);
}

// Attribute layering, 1.x Templates and server-set attributes (Create, Create Key Pair, Register, Re-key, Re-key Key Pair).

/**
 * Merges attribute layers, lowest precedence first: a later layer's single-instance attribute replaces an
 * earlier one; multi-instance attributes (Name, Link, custom attributes ...) accumulate (1.4 §4.2 order of
 * precedence; custom attributes may have several instances, 1.4 §3.39).
 */
export function mergeAttributeLayers(layers: readonly (readonly AttributeEntry[])[]): AttributeEntry[] {
  let out: AttributeEntry[] = [];
  for (const layer of layers) {
    const replaced = new Set(layer.filter((a) => !(ruleByName(a.name)?.multi ?? true)).map((a) => a.name));
    out = [...out.filter((a) => !replaced.has(a.name)), ...layer];
  }
  return out;
}

/**
 * The attributes of the 1.x Templates a Template-Attribute names with Name items, in order (a later
 * template wins). A template's own names identify it and are not applied.
 */
export async function templateAttributes(ctx: OperationContext, container: StructureItem | undefined): Promise<AttributeEntry[]> {
  if (!container) return [];
  const layers: AttributeEntry[][] = [];
  for (const n of container.value) {
    if (n.tag !== Tag.Name || n.type !== ItemType.Structure) continue;
    const name = optText(n, Tag.NameValue);
    if (name === undefined) throw invalidField('a template Name lacks its Name Value');
    const found = (await ctx.uow.list({ objectType: ObjectType.Template, name })).filter((o) => o.body);
    const template = found[found.length - 1];
    if (!template?.body) throw itemNotFound(`template ${name}`);
    layers.push(parseAttributeList(template.body).filter((a) => a.name !== 'Name'));
  }
  return mergeAttributeLayers(layers);
}

export const linkValue = (linkType: number, uid: string): TtlvItem =>
  struct(Tag.AttributeValue, [enumeration(Tag.LinkType, linkType), text(Tag.LinkedObjectIdentifier, uid)]);

/** The RNG behind node's randomBytes and key generation: OpenSSL's default CTR-DRBG over AES-256. */
export const SERVER_RNG: TtlvItem = struct(Tag.AttributeValue, [
  enumeration(Tag.RNGAlgorithm, RNGAlgorithm.DRBG),
  enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
  int(Tag.CryptographicLength, 256),
  enumeration(Tag.DRBGAlgorithm, DRBGAlgorithm.CTR),
]);

const KEYLIKE: ReadonlySet<number> = new Set([
  ObjectType.SymmetricKey, ObjectType.PrivateKey, ObjectType.PublicKey, ObjectType.SplitKey, ObjectType.SecretData, ObjectType.PGPKey,
]);

/**
 * Attributes the server sets on a new cryptographic object (each sent only to versions that have it):
 * Fresh, Lease Time, Sensitive / Always Sensitive, Extractable / Never Extractable, Short Unique
 * Identifier, Key Format Type, and for server-generated material the Random Number Generator.
 */
export function setServerAttributes(obj: ManagedObject, ctx: OperationContext, opts: { generated: boolean; keyFormat?: number }): void {
  const bool = (v: boolean): TtlvItem => ({ tag: Tag.AttributeValue, type: ItemType.Boolean, value: v });
  if (!obj.has('Fresh')) obj.set('Fresh', bool(true));
  if (!obj.has('Lease Time')) obj.set('Lease Time', { tag: Tag.AttributeValue, type: ItemType.Interval, value: ctx.server.leaseSeconds });
  obj.set('Short Unique Identifier', bytes(Tag.AttributeValue, createHash('sha256').update(obj.uid).digest()));
  if (KEYLIKE.has(obj.objectType)) {
    const sensitive = obj.one('Sensitive');
    const extractable = obj.one('Extractable');
    if (!sensitive) obj.set('Sensitive', bool(false));
    if (!extractable) obj.set('Extractable', bool(true));
    obj.set('Always Sensitive', bool(sensitive?.type === ItemType.Boolean && sensitive.value));
    obj.set('Never Extractable', bool(extractable?.type === ItemType.Boolean && !extractable.value));
  }
  if (opts.keyFormat !== undefined) obj.set('Key Format Type', enumeration(Tag.AttributeValue, opts.keyFormat));
  if (opts.generated && !obj.has('Random Number Generator')) obj.set('Random Number Generator', SERVER_RNG);
  // 2.x: where the object is protected (the store is software); set once the attribute has its rule.
  if (ruleByName('Protection Storage Mask') && !obj.has('Protection Storage Mask')) obj.set('Protection Storage Mask', int(Tag.AttributeValue, 1 /* Software */));
}
