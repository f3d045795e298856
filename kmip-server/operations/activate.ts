import { Tag } from '../ttlv/tag.ts';
import { State } from '../ttlv/enums.ts';
import { text } from '../ttlv/types.ts';
import { lifecycleError } from '../objects/lifecycle.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';

/** Activate: Pre-Active → Active, Activation Date = now. */
export const activate: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  if (!obj.has('State')) throw lifecycleError(ctx.version, 'this object has no lifecycle state');
  if (obj.state !== State.PreActive) throw lifecycleError(ctx.version, 'only a Pre-Active object can be activated');
  obj.state = State.Active;
  obj.setDate('Activation Date', ctx.now);
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
