import { Tag } from '../ttlv/tag.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { text, type TtlvItem } from '../ttlv/types.ts';
import { invalidField } from '../messages/errors.ts';
import { emitAttribute } from '../messages/attributes.ts';
import { optStruct } from '../messages/tree.ts';
import { compareVersions } from '../messages/version.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch, versionedError } from './common.ts';
import {
  attribute1x, attribute2x, attributeNotFound, checkUniqueName, checkWritable, instanceIndex, instanceNotFound, is2x,
  replaceInstance, settle, storedValue,
} from './attribute-write.ts';

/**
 * Modify Attribute (1.4 §4.15, 2.1 §6.1.34): replaces one existing instance.
 * 1.x: `Attribute` with an optional Attribute Index (default 0; KMIP 1.0 requires it when there are several
 * instances); the response carries the attribute's new value and index.
 * 2.x: `New Attribute`, with `Current Attribute` naming the instance by value (needed when there are several);
 * the response carries the Unique Identifier only.
 */
export const modifyAttribute: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const na = is2x(ctx) ? optStruct(payload, Tag.NewAttribute) : undefined;
  let name: string;
  let newValue: TtlvItem;
  let index: number;
  if (na) {
    const next = attribute2x(na);
    const ca = optStruct(payload, Tag.CurrentAttribute);
    const current = ca ? attribute2x(ca) : undefined;
    if (current && current.name !== next.name) throw invalidField('Current Attribute and New Attribute name different attributes');
    name = next.name;
    newValue = next.value;
    checkWritable(ctx, 'modify', name, obj, true);
    const instances = obj.all(name);
    if (instances.length === 0) throw attributeNotFound(ctx, name, 'modify');
    if (current) {
      index = instanceIndex(obj, name, current.value);
      if (index < 0) throw instanceNotFound(ctx, name);
    } else {
      if (instances.length > 1) {
        throw versionedError(ctx, ResultReason.MultiValuedAttribute, ResultReason.InvalidField, `attribute ${name} has several instances: name one with Current Attribute`);
      }
      index = 0;
    }
  } else {
    const attr = attribute1x(payload);
    name = attr.name;
    newValue = attr.value;
    checkWritable(ctx, 'modify', name, obj, true);
    const instances = obj.all(name);
    if (instances.length === 0) throw attributeNotFound(ctx, name, 'modify');
    if (attr.index === undefined && instances.length > 1 && compareVersions(ctx.version, { major: 1, minor: 0 }) === 0) {
      throw invalidField(`attribute ${name} has several instances: KMIP 1.0 needs an Attribute Index`);
    }
    index = attr.index ?? 0;
    if (index < 0 || index >= instances.length) throw instanceNotFound(ctx, name);
  }
  await checkUniqueName(ctx, obj, name, newValue, index);
  const value = storedValue(name, newValue, obj.all(name)[index]);
  replaceInstance(obj, name, index, value);
  settle(obj, ctx, name);
  touch(obj, ctx);
  ctx.uow.save(obj);
  const uid = text(Tag.UniqueIdentifier, obj.uid);
  return is2x(ctx) ? [uid] : [uid, emitAttribute({ name, value }, ctx.version, index)];
};
