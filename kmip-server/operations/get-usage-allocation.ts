import { Tag } from '../ttlv/tag.ts';
import { ObjectType, ResultReason, State } from '../ttlv/enums.ts';
import { ItemType, long, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidField } from '../messages/errors.ts';
import { find } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, touch, versionedError } from './common.ts';
import { bigOf } from './attribute-write.ts';

/** Objects that apply cryptographic protection (encrypt, sign, MAC, wrap): keys. */
const PROTECTING: ReadonlySet<number> = new Set([ObjectType.SymmetricKey, ObjectType.PrivateKey, ObjectType.PublicKey, ObjectType.SplitKey, ObjectType.PGPKey]);

/**
 * Get Usage Allocation (1.4 §4.18, 2.1 §6.1.23): takes Usage Limits Count units from the object's Usage Limits.
 * Only for a key that has Usage Limits and may protect now (Active, before its Protect Stop Date).
 * 1.x reasons: Invalid Message (no count), Illegal Operation (no limits / cannot protect), Permission Denied (not
 * enough left). 2.x: Attribute Not Found, Invalid Object Type, Wrong Key Lifecycle State, Usage Limit Exceeded.
 */
export const getUsageAllocation: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const count = bigOf(find(payload, Tag.UsageLimitsCount));
  if (count === undefined) throw new KmipError(ResultReason.InvalidMessage, 'Get Usage Allocation needs Usage Limits Count');
  if (count <= 0n) throw invalidField('Usage Limits Count must be positive');
  if (!PROTECTING.has(obj.objectType)) {
    throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.IllegalOperation, 'this object does not apply cryptographic protection');
  }
  const limits = obj.one('Usage Limits');
  if (limits?.type !== ItemType.Structure) throw versionedError(ctx, ResultReason.AttributeNotFound, ResultReason.IllegalOperation, 'the object has no Usage Limits');
  const stop = obj.date('Protect Stop Date');
  if (!obj.has('State') || obj.state !== State.Active || (stop !== undefined && stop <= ctx.now)) {
    throw versionedError(ctx, ResultReason.WrongKeyLifecycleState, ResultReason.IllegalOperation, 'the object may not apply protection now');
  }
  const left = bigOf(limits.value.find((i) => i.tag === Tag.UsageLimitsCount)) ?? bigOf(limits.value.find((i) => i.tag === Tag.UsageLimitsTotal)) ?? 0n;
  if (count > left) throw versionedError(ctx, ResultReason.UsageLimitExceeded, ResultReason.PermissionDenied, 'unable to allocate the requested amount');

  const rest: TtlvItem[] = [];
  let placed = false;
  for (const i of limits.value) {
    if (i.tag === Tag.UsageLimitsCount) {
      rest.push(long(Tag.UsageLimitsCount, left - count));
      placed = true;
    } else {
      rest.push(i);
      if (i.tag === Tag.UsageLimitsTotal && !limits.value.some((x) => x.tag === Tag.UsageLimitsCount)) {
        rest.push(long(Tag.UsageLimitsCount, left - count));
        placed = true;
      }
    }
  }
  if (!placed) rest.push(long(Tag.UsageLimitsCount, left - count));
  obj.set('Usage Limits', struct(Tag.AttributeValue, rest));
  touch(obj, ctx);
  ctx.uow.save(obj);
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
