import { Tag } from '../ttlv/tag.ts';
import { State } from '../ttlv/enums.ts';
import { text } from '../ttlv/types.ts';
import { objectNotFound } from '../messages/errors.ts';
import { lifecycleError } from '../objects/lifecycle.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';

/**
 * Destroy: the key material is erased; the object's metadata stays (state Destroyed, or
 * Destroyed Compromised) so its history can still be read. An Active object must be revoked first.
 */
export const destroy: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  if (obj.has('State')) {
    if (obj.state === State.Active) throw lifecycleError(ctx.version, 'an Active object must be revoked before it is destroyed');
    if (obj.state === State.Destroyed || obj.state === State.DestroyedCompromised) throw objectNotFound(ctx.version, obj.uid);
    obj.state = obj.state === State.Compromised ? State.DestroyedCompromised : State.Destroyed;
    obj.setDate('Destroy Date', ctx.now);
  } else {
    obj.setDate('Destroy Date', ctx.now);
  }
  obj.body = null;
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
