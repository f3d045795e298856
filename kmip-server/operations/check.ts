import { Tag } from '../ttlv/tag.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { ItemType, text } from '../ttlv/types.ts';
import { optInt, optInterval, find } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid, versionedError } from './common.ts';
import { bigOf } from './attribute-write.ts';
import { leaseSeconds } from './obtain-lease.ts';

/**
 * Check (1.4 §4.10, 2.1 §6.1.7): may the caller use the object for the given Cryptographic Usage Mask, Usage
 * Limits Count and Lease Time? Yes: the Unique Identifier. No: the ID Placeholder is emptied and the item fails
 * (2.x: Incompatible Cryptographic Usage Mask / Usage Limit Exceeded / Permission Denied for the lease; 1.x:
 * Permission Denied).
 */
export const check: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  const deny = (reason2x: (typeof ResultReason)[keyof typeof ResultReason], message: string) => {
    delete ctx.placeholder.id;
    return versionedError(ctx, reason2x, ResultReason.PermissionDenied, message);
  };

  const mask = optInt(payload, Tag.CryptographicUsageMask);
  if (mask !== undefined) {
    const has = obj.one('Cryptographic Usage Mask');
    const allowed = has?.type === ItemType.Integer ? has.value : 0;
    if ((allowed & mask) !== mask) throw deny(ResultReason.IncompatibleCryptographicUsageMask, 'the object\'s Cryptographic Usage Mask does not allow this use');
  }

  const count = bigOf(find(payload, Tag.UsageLimitsCount));
  if (count !== undefined) {
    const limits = obj.one('Usage Limits');
    const left = limits?.type === ItemType.Structure ? bigOf(limits.value.find((i) => i.tag === Tag.UsageLimitsCount)) : undefined;
    if (left !== undefined && count > left) throw deny(ResultReason.UsageLimitExceeded, 'the requested usage exceeds the object\'s remaining Usage Limits');
  }

  const lease = optInterval(payload, Tag.LeaseTime);
  if (lease !== undefined) {
    const granted = leaseSeconds(ctx, obj);
    if (granted !== 0 && lease > granted) throw deny(ResultReason.PermissionDenied, `the server grants leases of at most ${granted} seconds`);
  }
  return [text(Tag.UniqueIdentifier, obj.uid)];
};
