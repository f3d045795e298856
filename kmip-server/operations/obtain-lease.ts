import { Tag } from '../ttlv/tag.ts';
import { ResultReason, State } from '../ttlv/enums.ts';
import { ItemType, dateTime, interval, text } from '../ttlv/types.ts';
import { KmipError } from '../messages/errors.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, targetUid } from './common.ts';

/** The lease the server grants on an object: its Lease Time attribute when it has one, else the server's. */
export function leaseSeconds(ctx: OperationContext, obj: ManagedObject): number {
  const own = obj.one('Lease Time');
  return own?.type === ItemType.Interval ? own.value : ctx.server.leaseSeconds;
}

/**
 * Obtain Lease (1.4 §4.17, 2.1 §6.1.35): a Lease Time and the object's Last Change Date. Leases are given for
 * Active objects only; anything else (Pre-Active, Deactivated, Compromised, Destroyed, no state at all) is refused
 * with Permission Denied, as the 1.x vectors (TC-95) and the 2.x error table have it.
 */
export const obtainLease: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(obj);
  if (!obj.has('State') || obj.state !== State.Active) {
    throw new KmipError(ResultReason.PermissionDenied, 'the object is not Active: no lease is given');
  }
  return [
    text(Tag.UniqueIdentifier, obj.uid),
    interval(Tag.LeaseTime, leaseSeconds(ctx, obj)),
    dateTime(Tag.LastChangeDate, obj.date('Last Change Date') ?? obj.date('Initial Date') ?? ctx.now),
  ];
};
