import { Tag } from '../ttlv/tag.ts';
import { LinkType, ObjectType, ResultReason } from '../ttlv/enums.ts';
import { ItemType, dateTime, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidMessage } from '../messages/errors.ts';
import { optInterval, optStruct } from '../messages/tree.ts';
import type { AttributeEntry } from '../messages/attributes.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { formatOf } from '../crypto/key-block.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  RAW, assertNotArchived, attrEnum, attrInt, linkValue, loadObject, mergeAttributeLayers, newObject, setServerAttributes, targetUid, touch,
  versionedError,
} from './common.ts';
import { generateSymmetricKey, layeredAttributes, refuseUnsafe, symmetricLength, takeRequestedFormat } from './create.ts';

/** What a replacement key never inherits (1.4 Table 173 / 177): the server sets these anew, or not at all. */
const NOT_COPIED: ReadonlySet<string> = new Set([
  'Unique Identifier', 'Object Type', 'State', 'Initial Date', 'Last Change Date', 'Original Creation Date', 'Destroy Date',
  'Compromise Occurrence Date', 'Compromise Date', 'Revocation Reason', 'Digest', 'Link', 'Random Number Generator', 'Fresh',
  'Archive Date', 'Short Unique Identifier', 'Key Value Present', 'Always Sensitive', 'Never Extractable', 'Key Format Type',
  'Lease Time', 'Usage Limits', 'Activation Date', 'Process Start Date', 'Protect Stop Date', 'Deactivation Date',
]);

const LIFECYCLE_DATES = ['Activation Date', 'Process Start Date', 'Protect Stop Date', 'Deactivation Date'] as const;

/**
 * The attributes a replacement key takes from the key it replaces: everything a client could have set,
 * names included (they move), Usage Limits with a full count, and the dates, moved by an Offset:
 * Activation = now + Offset and every other date shifted by as much (1.4 Tables 172, 176). Re-key Key
 * Pair shifts only Activation and Deactivation.
 */
export function inheritedAttributes(old: ManagedObject, ctx: OperationContext, offset: number | undefined, shifted: readonly string[] = LIFECYCLE_DATES): AttributeEntry[] {
  const out = old.attributes.filter((a) => !NOT_COPIED.has(a.name)).map((a) => ({ ...a }));
  const limits = old.one('Usage Limits');
  if (limits?.type === ItemType.Structure) {
    const total = limits.value.find((i) => i.tag === Tag.UsageLimitsTotal);
    out.push({
      name: 'Usage Limits',
      value: struct(Tag.AttributeValue, limits.value.map((i): TtlvItem => (i.tag === Tag.UsageLimitsCount && total ? { ...total, tag: Tag.UsageLimitsCount } : i))),
    });
  }
  const oldActivation = old.date('Activation Date');
  const newActivation = offset === undefined ? undefined : ctx.now + offset;
  for (const name of LIFECYCLE_DATES) {
    const d = old.date(name);
    if (newActivation === undefined || !shifted.includes(name)) {
      if (d !== undefined) out.push({ name, value: dateTime(Tag.AttributeValue, d) });
    } else if (name === 'Activation Date') {
      out.push({ name, value: dateTime(Tag.AttributeValue, newActivation) });
    } else if (d !== undefined) {
      if (oldActivation === undefined) {
        throw versionedError(ctx, ResultReason.InvalidField, ResultReason.IllegalOperation, `an Offset cannot move ${name}: the existing key has no Activation Date`);
      }
      out.push({ name, value: dateTime(Tag.AttributeValue, d + (newActivation - oldActivation)) });
    }
  }
  return out;
}

/** The request's Offset, refused alongside explicit lifecycle dates (1.4 Table 331: Invalid Message). */
export function requestOffset(payload: StructureItem, explicit: readonly AttributeEntry[], dates: readonly string[] = LIFECYCLE_DATES): number | undefined {
  const offset = optInterval(payload, Tag.Offset);
  if (offset !== undefined && explicit.some((a) => dates.includes(a.name))) {
    throw invalidMessage('Offset cannot be given together with lifecycle dates');
  }
  return offset;
}

/** Checks an object may be replaced: not archived, not destroyed, the right type, key material present. */
export function checkReplaceable(ctx: OperationContext, obj: ManagedObject, objectType: number, what: string): void {
  assertNotArchived(obj);
  if (obj.objectType !== objectType) {
    throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.PermissionDenied, `object ${obj.uid} is not a ${what}`);
  }
  if (!obj.body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.PermissionDenied, `object ${obj.uid} has been destroyed`);
  const present = obj.one('Key Value Present');
  if (present?.type === ItemType.Boolean && !present.value) throw new KmipError(ResultReason.KeyValueNotPresent, `object ${obj.uid} has no key value on this server`);
}

/** Links the pair both ways and moves the names: the old key loses them, the new one already has them. */
export function retire(ctx: OperationContext, old: ManagedObject, replacement: ManagedObject): void {
  old.remove('Name');
  old.add('Link', linkValue(LinkType.ReplacementObjectLink, replacement.uid));
  touch(old, ctx);
}

/** Re-key: a new Symmetric Key of the same algorithm and length replaces an existing one. */
export const rekey: OperationHandler = async (payload, ctx) => {
  const old = await loadObject(ctx, targetUid(payload, ctx));
  checkReplaceable(ctx, old, ObjectType.SymmetricKey, 'Symmetric Key');
  const explicit = await layeredAttributes(payload, ctx, Tag.TemplateAttribute, Tag.Attributes);
  const offset = requestOffset(payload, explicit);
  const { attrs, format } = takeRequestedFormat(mergeAttributeLayers([inheritedAttributes(old, ctx, offset), explicit]));
  const oldBlock = old.body ? optStruct(old.body, Tag.KeyBlock) : undefined;
  const { algorithm, length } = symmetricLength(attrEnum(attrs, 'Cryptographic Algorithm'), attrInt(attrs, 'Cryptographic Length'));
  refuseUnsafe(attrs, algorithm, length);
  const keyFormat = format ?? (oldBlock && formatOf(oldBlock)) ?? RAW;

  const { body, digests } = generateSymmetricKey(algorithm, length, keyFormat);
  const replacement = newObject(ctx, ObjectType.SymmetricKey, body, attrs);
  if (!replacement.has('Cryptographic Length')) replacement.set('Cryptographic Length', int(Tag.AttributeValue, length));
  for (const d of digests) replacement.add('Digest', d);
  replacement.add('Link', linkValue(LinkType.ReplacedObjectLink, old.uid));
  setServerAttributes(replacement, ctx, { generated: true, keyFormat });
  retire(ctx, old, replacement);
  ctx.uow.save(old);
  ctx.uow.save(replacement);
  ctx.placeholder.id = replacement.uid;
  return [text(Tag.UniqueIdentifier, replacement.uid)];
};
