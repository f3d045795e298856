import { Tag } from '../ttlv/tag.ts';
import { enumeration, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { operationNotSupported } from '../messages/errors.ts';
import { atLeast } from '../messages/version.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid } from './common.ts';
import { get } from './get.ts';
import { visibleAttributes } from './get-attributes.ts';

/**
 * Export (1.4 §4.40, 2.1 §6.1.18): the object as Get returns it — Key Format Type, Key Wrap Type, Key Compression
 * Type and Key Wrapping Specification mean what they mean for Get, and Get's Sensitive / Extractable rules hold — with
 * all of its attributes the request's version knows (1.4: Attribute items; 2.x: one Attributes structure), in the
 * shape Import takes back.
 *
 * A destroyed object's material is gone and "SHALL not be returned": its Object Type, Unique Identifier and
 * attributes are, without the object structure (Import accepts that for a Destroyed State).
 * KMIP 1.4 and later: a 1.0-1.3 request is Operation Not Supported.
 */
export const exportObject: OperationHandler = async (payload, ctx) => {
  if (!atLeast(ctx.version, 1, 4)) throw operationNotSupported('Export is a KMIP 1.4 operation');
  const uid = targetUid(payload, ctx);
  const before = await loadObject(ctx, uid);
  assertNotArchived(before);
  let object: TtlvItem[] = [];
  if (before.body) {
    const asked = struct(payload.tag, [text(Tag.UniqueIdentifier, uid), ...payload.value.filter((i) => i.tag !== Tag.UniqueIdentifier)]);
    object = (await get(asked, ctx)).slice(2);
  }
  // Read after Get: serving the object clears Fresh.
  const obj = await loadObject(ctx, uid);
  const attrs = visibleAttributes(obj, ctx.version);
  ctx.placeholder.id = uid;
  ctx.log({ operation: 'Export', uid, withObject: object.length > 0 }, 'object exported');
  return [
    enumeration(Tag.ObjectType, obj.objectType),
    text(Tag.UniqueIdentifier, uid),
    ...(atLeast(ctx.version, 2, 0) ? [struct(Tag.Attributes, attrs)] : attrs),
    ...object,
  ];
};
