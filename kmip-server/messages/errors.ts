import { ResultReason } from '../ttlv/enums.ts';

type Reason = (typeof ResultReason)[keyof typeof ResultReason];

/**
 * The one error type operations throw. It carries the KMIP Result Reason so the dispatcher turns
 * it into a failed batch item without string matching. Messages go to the client: never put key
 * material or secrets in them.
 */
export class KmipError extends Error {
  readonly reason: Reason;
  constructor(reason: Reason, message: string) {
    super(message);
    this.name = 'KmipError';
    this.reason = reason;
  }
}

export const itemNotFound = (what = 'object') => new KmipError(ResultReason.ItemNotFound, `${what} not found`);
/** A managed object that does not exist for the caller: Item Not Found in 1.x, Object Not Found in 2.x. */
export const objectNotFound = (version: { major: number }, uid: string) =>
  new KmipError(version.major >= 2 ? ResultReason.ObjectNotFound : ResultReason.ItemNotFound, `object ${uid} not found`);
export const permissionDenied = (message = 'permission denied') => new KmipError(ResultReason.PermissionDenied, message);
export const invalidMessage = (message: string) => new KmipError(ResultReason.InvalidMessage, message);
export const invalidField = (message: string) => new KmipError(ResultReason.InvalidField, message);
export const missingData = (message: string) => new KmipError(ResultReason.MissingData, message);
export const featureNotSupported = (message: string) => new KmipError(ResultReason.FeatureNotSupported, message);
export const operationNotSupported = (message: string) => new KmipError(ResultReason.OperationNotSupported, message);
export const illegalOperation = (message: string) => new KmipError(ResultReason.IllegalOperation, message);
export const wrongKeyLifecycleState = (message: string) => new KmipError(ResultReason.WrongKeyLifecycleState, message);
export const cryptographicFailure = (message: string) => new KmipError(ResultReason.CryptographicFailure, message);
export const incompatibleUsageMask = (message: string) =>
  new KmipError(ResultReason.IncompatibleCryptographicUsageMask, message);
