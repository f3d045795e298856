import { Tag } from '../ttlv/tag.ts';
import { text } from '../ttlv/types.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';

/**
 * Archive (1.4 §4.22, 2.1 §6.1.4): the object goes to archival storage, marked by its Archive Date. Until it is
 * recovered, Locate finds it only with the Archival Storage bit and operations on it (Get ...) fail with Object
 * Archived; its attributes stay readable. Archiving an archived object fails with Object Archived.
 */
export const archive: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  obj.setDate('Archive Date', ctx.now);
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
