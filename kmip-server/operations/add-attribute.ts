import { Tag } from '../ttlv/tag.ts';
import { text } from '../ttlv/types.ts';
import { invalidField } from '../messages/errors.ts';
import { emitAttribute } from '../messages/attributes.ts';
import { optStruct } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';
import {
  attribute1x, attribute2x, checkUniqueName, checkWritable, is2x, isMulti, settle, singleValued, storedValue,
  type RequestAttribute,
} from './attribute-write.ts';

/**
 * Add Attribute (1.4 §4.14, 2.1 §6.1.2): a new instance of an attribute; the first one of a single-valued
 * attribute. 1.x: `Attribute` (no Attribute Index) in, the stored attribute with its new index out. 2.x: `New
 * Attribute` in, the Unique Identifier out.
 */
export const addAttribute: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const na = is2x(ctx) ? optStruct(payload, Tag.NewAttribute) : undefined;
  const attr: RequestAttribute = na ? attribute2x(na) : attribute1x(payload);
  if (attr.index !== undefined && !is2x(ctx)) throw invalidField('Add Attribute takes no Attribute Index');
  checkWritable(ctx, 'add', attr.name, obj, false);
  if (!isMulti(attr.name) && obj.has(attr.name)) throw singleValued(ctx, attr.name);
  await checkUniqueName(ctx, obj, attr.name, attr.value);
  const value = storedValue(attr.name, attr.value);
  const index = obj.add(attr.name, value);
  settle(obj, ctx, attr.name);
  touch(obj, ctx);
  ctx.uow.save(obj);
  const uid = text(Tag.UniqueIdentifier, obj.uid);
  return is2x(ctx) ? [uid] : [uid, emitAttribute({ name: attr.name, value }, ctx.version, index)];
};
