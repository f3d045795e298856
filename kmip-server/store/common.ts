/**
 * Helpers shared by the store backends: input validation and the errors the contract leaves to
 * backends. Nothing here touches key material beyond checking its type.
 */
import type { ListFilter, ObjectRecord, WriteOp } from './types.ts';

/**
 * A put names a uid that already belongs to another scope. Uids are server-generated, so this
 * means a bug or a forged uid; the write is refused rather than letting one scope overwrite (or
 * learn about) another scope's object.
 */
export class StoreUidInUseError extends Error {
  readonly code = 'STORE_UID_IN_USE';
  readonly uid: string;
  constructor(uid: string) {
    super(`object ${uid} cannot be stored: the uid is in use by another scope`);
    this.uid = uid;
  }
}

/** The store was used after `close()`. */
export class StoreClosedError extends Error {
  readonly code = 'STORE_CLOSED';
  constructor() {
    super('object store is closed');
  }
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function checkKey(what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${what} must be a non-empty string`);
}

export function checkScopeUid(scope: unknown, uid: unknown): void {
  checkKey('scope', scope);
  checkKey('uid', uid);
}

export function checkFilter(filter: ListFilter | undefined): void {
  if (filter === undefined) return;
  if (filter.objectType !== undefined && !isNonNegativeInt(filter.objectType)) {
    throw new TypeError('filter.objectType must be a non-negative integer');
  }
  if (filter.state !== undefined && !isNonNegativeInt(filter.state)) {
    throw new TypeError('filter.state must be a non-negative integer');
  }
  if (filter.name !== undefined && typeof filter.name !== 'string') {
    throw new TypeError('filter.name must be a string');
  }
}

function checkRecord(r: ObjectRecord): void {
  if (r === null || typeof r !== 'object') throw new TypeError('put record must be an object');
  checkScopeUid(r.scope, r.uid);
  if (!isNonNegativeInt(r.objectType)) throw new TypeError(`object ${r.uid}: objectType must be a non-negative integer`);
  if (!isNonNegativeInt(r.state)) throw new TypeError(`object ${r.uid}: state must be a non-negative integer`);
  if (!Array.isArray(r.names) || !r.names.every((n) => typeof n === 'string')) {
    throw new TypeError(`object ${r.uid}: names must be an array of strings`);
  }
  if (!(r.attributes instanceof Uint8Array)) throw new TypeError(`object ${r.uid}: attributes must be a Uint8Array`);
  if (r.owner !== undefined && (typeof r.owner !== 'string' || r.owner.length === 0)) {
    throw new TypeError(`object ${r.uid}: owner must be a non-empty string when set`);
  }
  // Never mention the material's value, only its type.
  if (r.material !== null && !(r.material instanceof Uint8Array)) {
    throw new TypeError(`object ${r.uid}: material must be a Uint8Array or null`);
  }
}

/** Rejects malformed operations before any of them is applied. */
export function checkOps(ops: readonly WriteOp[]): void {
  if (!Array.isArray(ops)) throw new TypeError('write expects an array of operations');
  for (const op of ops) {
    if (op === null || typeof op !== 'object') throw new TypeError('write operation must be an object');
    if (op.kind === 'put') {
      checkRecord(op.record);
      if (op.expectRevision !== undefined && !isNonNegativeInt(op.expectRevision)) {
        throw new TypeError(`object ${op.record.uid}: expectRevision must be a non-negative integer`);
      }
    } else if (op.kind === 'delete') {
      checkScopeUid(op.scope, op.uid);
    } else {
      throw new TypeError(`unknown write operation kind ${String((op as { kind: unknown }).kind)}`);
    }
  }
}

/** A copy of `b` in a fresh, unshared ArrayBuffer (never a Buffer pool slice). */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
