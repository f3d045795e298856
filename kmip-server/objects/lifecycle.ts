import { State } from '../ttlv/enums.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { KmipError } from '../messages/errors.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import type { ManagedObject } from './managed-object.ts';

/**
 * Date-driven transitions of the KMIP state machine (1.4 §3.22, 2.1 §3.57): an object whose
 * Activation Date has passed is Active, one whose Deactivation Date has passed is Deactivated.
 * Applied whenever an object is read, so no timer is needed. Returns whether it changed.
 */
export function applyDates(obj: ManagedObject, now: number): boolean {
  const before = obj.state;
  const activation = obj.date('Activation Date');
  const deactivation = obj.date('Deactivation Date');
  if (obj.state === State.PreActive && activation !== undefined && activation <= now) obj.state = State.Active;
  if ((obj.state === State.Active || obj.state === State.PreActive) && deactivation !== undefined && deactivation <= now) {
    obj.state = State.Deactivated;
  }
  return obj.state !== before;
}

/**
 * The error for an operation the object's state forbids. 2.x has Wrong Key Lifecycle State; 1.x
 * has no such reason and its test vectors expect Permission Denied.
 */
export function lifecycleError(version: ProtocolVersion, message: string): KmipError {
  return new KmipError(atLeast(version, 2, 0) ? ResultReason.WrongKeyLifecycleState : ResultReason.PermissionDenied, message);
}

export const hasState = (obj: ManagedObject): boolean => obj.has('State');
