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
 * - `countByScope` and `deleteScope` serve the scope's lifecycle (KmipScope status.objectCount and
 *   deletionPolicy Force), not KMIP requests.
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
  /**
   * The header sub-identity owning the object (opaque to the store; auth/header-credential.ts).
   * Absent: no owner. Set when the object is made and kept as it is by later puts of the caller.
   */
  owner?: string;
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
  /**
   * Optional read without a copy: the record may be the backend's cached one, so the caller must
   * never change it (bytes included). A backend returns the same object again only while the
   * stored object is unchanged, so callers may key derived data (decoded objects) on its identity.
   */
  getShared?(scope: string, uid: string): Promise<Readonly<ObjectRecord> | undefined>;
  /** Objects of a scope matching the coarse filter, in creation order. */
  list(scope: string, filter?: ListFilter): Promise<ObjectRecord[]>;
  write(ops: WriteOp[]): Promise<void>;
  count(scope: string): Promise<number>;
  /**
   * How many objects each scope holds that still have their material (destroyed objects, kept as
   * metadata, are left out: they hold nothing a scope's deletion should wait for). Scopes with no
   * such object are left out.
   */
  countByScope(): Promise<Map<string, number>>;
  /**
   * Removes every object of `scope` for good, and the scope's data key where the backend keeps
   * one, so copies of the sealed material left anywhere (backups, etcd history) can no longer be
   * opened (crypto-shredding). Other scopes are untouched. Resolves with how many objects were
   * removed; a scope that holds nothing is not an error. A write racing with it may still land
   * afterwards: callers that must see the scope empty count again.
   */
  deleteScope(scope: string): Promise<number>;
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
