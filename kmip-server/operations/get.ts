import { Tag } from '../ttlv/tag.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { ItemType, enumeration, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, featureNotSupported } from '../messages/errors.ts';
import { optEnum, optStruct } from '../messages/tree.ts';
import { convertKeyBlock } from '../crypto/formats.ts';
import type { OperationHandler } from './context.ts';
import { OBJECT_TAG, loadObject, targetUid } from './common.ts';

/** Get: returns the object itself, in the requested Key Format Type when one is asked for. */
export const get: OperationHandler = async (payload, ctx) => {
  const uid = targetUid(payload, ctx);
  const obj = await loadObject(ctx, uid);
  if (!obj.body) throw new KmipError(ResultReason.ItemNotFound, `object ${uid} has been destroyed`);
  if (optStruct(payload, Tag.KeyWrappingSpecification)) throw featureNotSupported('key wrapping on Get is not supported yet');
  const format = optEnum(payload, Tag.KeyFormatType);
  const compression = optEnum(payload, Tag.KeyCompressionType);
  if (compression !== undefined) throw new KmipError(ResultReason.KeyCompressionTypeNotSupported, 'key compression is not supported');
  let body = obj.body;
  if (format !== undefined) {
    const blockIndex = body.value.findIndex((i) => i.tag === Tag.KeyBlock);
    const block = body.value[blockIndex];
    if (!block || block.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this object has no Key Block');
    const converted = convertKeyBlock(obj.objectType, block, format);
    body = struct(body.tag, body.value.map((i, j): TtlvItem => (j === blockIndex ? converted : i)));
  }
  if (OBJECT_TAG[obj.objectType] === undefined) throw new KmipError(ResultReason.GeneralFailure, 'unknown object type');
  return [enumeration(Tag.ObjectType, obj.objectType), text(Tag.UniqueIdentifier, obj.uid), body];
};
