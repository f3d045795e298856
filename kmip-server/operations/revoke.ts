import { Tag } from '../ttlv/tag.ts';
import { RevocationReasonCode, State } from '../ttlv/enums.ts';
import { text } from '../ttlv/types.ts';
import { optDate, reqEnum, reqStruct } from '../messages/tree.ts';
import { asAttributeValue } from '../messages/attributes.ts';
import { lifecycleError } from '../objects/lifecycle.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch } from './common.ts';

const COMPROMISE: ReadonlySet<number> = new Set([RevocationReasonCode.KeyCompromise, RevocationReasonCode.CACompromise]);

/**
 * Revoke: a compromise reason moves the object to Compromised (Destroyed Compromised if it was
 * already destroyed); any other reason deactivates it. The reason is kept as an attribute.
 */
export const revoke: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const reason = reqStruct(payload, Tag.RevocationReason);
  const code = reqEnum(reason, Tag.RevocationReasonCode);
  if (!obj.has('State')) throw lifecycleError(ctx.version, 'this object has no lifecycle state');
  if (COMPROMISE.has(code)) {
    if (obj.state === State.DestroyedCompromised || obj.state === State.Compromised) throw lifecycleError(ctx.version, 'the object is already compromised');
    obj.state = obj.state === State.Destroyed ? State.DestroyedCompromised : State.Compromised;
    obj.setDate('Compromise Date', ctx.now);
    obj.setDate('Compromise Occurrence Date', optDate(payload, Tag.CompromiseOccurrenceDate) ?? ctx.now);
  } else {
    if (obj.state !== State.Active && obj.state !== State.PreActive) throw lifecycleError(ctx.version, 'only a Pre-Active or Active object can be deactivated');
    obj.state = State.Deactivated;
    obj.setDate('Deactivation Date', ctx.now);
  }
  obj.set('Revocation Reason', asAttributeValue(reason));
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
