import { randomUUID, createHash } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { HashingAlgorithm, KeyFormatType, ObjectType, State } from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidField, itemNotFound } from '../messages/errors.ts';
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
  if (!obj) throw itemNotFound(`object ${uid}`);
  if (obj.has('State')) applyDates(obj, ctx.now);
  return obj;
}

/** The attributes a request supplies: 1.x Template-Attribute or 2.x Attributes. */
export function requestAttributes(payload: StructureItem, ctx: OperationContext, container1x = Tag.TemplateAttribute, container2x = Tag.Attributes): AttributeEntry[] {
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
