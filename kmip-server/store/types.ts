/**
 * The storage contract every backend (sqlite, configmap, memory) implements.
 *
 * The store knows nothing of KMIP encoding: attributes and key material arrive as opaque byte
 * strings (TTLV encodings made by the operations layer). Only the few fields Locate narrows on
 * first (scope, object type, state, names) are broken out so a backend can index them.
 *
 * Contract:
 * - Objects are partitioned by `scope`; a lookup with the wrong scope finds nothing.
 * - `write` applies all of its operations atomically, and resolves only once they are durable:
 *   the server answers a client after `write` resolves, so an acknowledged Create survives a crash.
 * - `material` is secret. Backends encrypt it at rest and never log it.
 * - `revision` increases by one on every put of a uid; a put carrying `expectRevision` fails with
 *   `StoreConflictError` when the stored revision differs (optimistic concurrency).
 */
export interface ObjectRecord {
  uid: string;
  scope: string;
  /** KMIP Object Type enumeration value. */
  objectType: number;
  /** KMIP State enumeration value. */
  state: number;
  /** Values of the Name attribute, indexed for Locate. */
  names: string[];
  /** TTLV encoding of the object's attributes (not secret). */
  attributes: Uint8Array;
  /** TTLV encoding of the object's cryptographic body; null once destroyed. Secret. */
  material: Uint8Array | null;
  /** 0 for a record never stored; the store sets the stored revision. */
  revision: number;
}

export type WriteOp =
  | { kind: 'put'; record: ObjectRecord; expectRevision?: number }
  | { kind: 'delete'; scope: string; uid: string };

export interface ListFilter {
  objectType?: number;
  state?: number;
  name?: string;
}

export interface ObjectStore {
  get(scope: string, uid: string): Promise<ObjectRecord | undefined>;
  /** Objects of a scope matching the coarse filter, in creation order. */
  list(scope: string, filter?: ListFilter): Promise<ObjectRecord[]>;
  write(ops: WriteOp[]): Promise<void>;
  count(scope: string): Promise<number>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  readonly code = 'STORE_CONFLICT';
  readonly uid: string;
  constructor(uid: string, expected: number, actual: number) {
    super(`object ${uid} changed concurrently: expected revision ${expected}, found ${actual}`);
    this.uid = uid;
  }
}
