import { Tag } from '../ttlv/tag.ts';
import { text } from '../ttlv/types.ts';
import { invalidField, missingData } from '../messages/errors.ts';
import { canonicalName, emitAttribute } from '../messages/attributes.ts';
import { optInt, optStruct, reqText } from '../messages/tree.ts';
import { compareVersions } from '../messages/version.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';
import { requestedNames } from './get-attributes.ts';
import { attribute2x, attributeNotFound, checkWritable, instanceIndex, instanceNotFound, is2x } from './attribute-write.ts';

/**
 * Delete Attribute (1.4 §4.16, 2.1 §6.1.13).
 * 1.x: Attribute Name and an optional Attribute Index (default 0; KMIP 1.0 requires it when there are several
 * instances); the response carries the deleted attribute and its index.
 * 2.x: `Current Attribute` deletes that instance; `Attribute Reference` alone deletes every instance; the
 * response carries the Unique Identifier only.
 */
export const deleteAttribute: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const uid = text(Tag.UniqueIdentifier, obj.uid);

  if (is2x(ctx)) {
    const ca = optStruct(payload, Tag.CurrentAttribute);
    if (ca) {
      const current = attribute2x(ca);
      checkWritable(ctx, 'delete', current.name, obj, true);
      if (!obj.has(current.name)) throw attributeNotFound(ctx, current.name, 'delete');
      const index = instanceIndex(obj, current.name, current.value);
      if (index < 0) throw instanceNotFound(ctx, current.name);
      obj.remove(current.name, index);
    } else {
      const names = requestedNames(payload.value);
      if (names.length === 0) throw missingData('Delete Attribute needs Current Attribute or Attribute Reference');
      if (names.length > 1) throw invalidField('Delete Attribute names more than one attribute');
      const name = names[0]!;
      checkWritable(ctx, 'delete', name, obj, true);
      if (!obj.has(name)) throw attributeNotFound(ctx, name, 'delete');
      obj.remove(name);
    }
    touch(obj, ctx);
    ctx.uow.save(obj);
    return [uid];
  }

  const name = canonicalName(reqText(payload, Tag.AttributeName));
  const requested = optInt(payload, Tag.AttributeIndex);
  checkWritable(ctx, 'delete', name, obj, true);
  const instances = obj.all(name);
  if (instances.length === 0) throw attributeNotFound(ctx, name, 'delete');
  if (requested === undefined && instances.length > 1 && compareVersions(ctx.version, { major: 1, minor: 0 }) === 0) {
    throw invalidField(`attribute ${name} has several instances: KMIP 1.0 needs an Attribute Index`);
  }
  const index = requested ?? 0;
  const value = instances[index];
  if (index < 0 || value === undefined) throw instanceNotFound(ctx, name);
  obj.remove(name, index);
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [uid, emitAttribute({ name, value }, ctx.version, index)];
};
