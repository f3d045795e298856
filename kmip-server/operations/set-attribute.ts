import { Tag } from '../ttlv/tag.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { text } from '../ttlv/types.ts';
import { operationNotSupported } from '../messages/errors.ts';
import { reqStruct } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch, versionedError } from './common.ts';
import { attribute2x, checkUniqueName, checkWritable, is2x, replaceInstance, settle, storedValue } from './attribute-write.ts';

/**
 * Set Attribute (2.1 §6.1.51, KMIP 2.0+): adds the attribute when the object has none, replaces it when it has
 * exactly one instance, and fails when it has several (Multi Valued Attribute).
 */
export const setAttribute: OperationHandler = async (payload, ctx) => {
  if (!is2x(ctx)) throw operationNotSupported('Set Attribute is a KMIP 2.0 operation');
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const { name, value: requested } = attribute2x(reqStruct(payload, Tag.NewAttribute));
  const instances = obj.all(name);
  if (instances.length > 1) throw versionedError(ctx, ResultReason.MultiValuedAttribute, ResultReason.InvalidField, `attribute ${name} has several instances`);
  const existing = instances.length === 1;
  checkWritable(ctx, 'set', name, obj, existing);
  await checkUniqueName(ctx, obj, name, requested, existing ? 0 : undefined);
  const value = storedValue(name, requested, instances[0]);
  if (existing) replaceInstance(obj, name, 0, value);
  else obj.add(name, value);
  settle(obj, ctx, name);
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
