import { Tag } from '../ttlv/tag.ts';
import { text } from '../ttlv/types.ts';
import type { OperationHandler } from './context.ts';
import { isArchived, loadObject, targetUid, touch } from './common.ts';

/**
 * Recover (1.4 §4.23, 2.1 §6.1.42): an archived object comes back on-line; the server deletes its Archive Date
 * (1.4 §3.32). Recovering an on-line object changes nothing and succeeds.
 */
export const recover: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  if (isArchived(obj)) {
    obj.remove('Archive Date');
    touch(obj, ctx);
    ctx.uow.save(obj);
  }
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
