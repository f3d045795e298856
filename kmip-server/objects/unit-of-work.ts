import type { ListFilter, ObjectRecord, ObjectStore, WriteOp } from '../store/types.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { KmipError } from '../messages/errors.ts';
import { ManagedObject } from './managed-object.ts';
import type { ObjectCache } from './object-cache.ts';

/**
 * An object a commit wrote: its stored record before the message (undefined when it is new, or when
 * this unit of work never read it) and the object as written. For server-to-client Notify / Put.
 */
export interface CommittedChange {
  uid: string;
  /** Never stored before this commit. */
  created: boolean;
  before: Readonly<ObjectRecord> | undefined;
  after: ManagedObject;
}

/** A saved object: a private copy for later reads of this message, and its encoding for the commit. */
interface Pending {
  obj: ManagedObject;
  record: ObjectRecord;
}

/**
 * The writes of one request message, applied to the store in a single atomic `write` before the
 * response is sent. Reads see the message's own earlier writes, so a batch can Create then Get.
 * A failed item under the Undo continuation option discards everything by not committing.
 *
 * Every read returns an object the caller owns: changing it changes nothing until `save`.
 * Decoded stored objects come from an optional ObjectCache shared by the server's units of work.
 *
 * Ownership (a header sub-identity, auth/header-credential.ts): objects the message makes get its
 * `owner`; an object with an owner is reachable only by a message with the same owner. `get`
 * refuses another owner's object with Permission Denied, `list` leaves it out; `listAll` sees the
 * whole scope, for checks that span it (name uniqueness), never for answers.
 */
export class UnitOfWork {
  readonly #store: ObjectStore;
  readonly #scope: string;
  readonly #cache: ObjectCache | undefined;
  readonly #owner: string | undefined;
  readonly #pending = new Map<string, Pending | null>();
  readonly #order: string[] = [];
  /** The stored record each uid had when this unit of work first read it (what a commit changed). */
  readonly #read = new Map<string, Readonly<ObjectRecord>>();

  constructor(store: ObjectStore, scope: string, cache?: ObjectCache, owner?: string) {
    this.#store = store;
    this.#scope = scope;
    this.#cache = cache;
    this.#owner = owner;
  }

  get scope(): string {
    return this.#scope;
  }

  /** The message's header sub-identity, if it named one. */
  get owner(): string | undefined {
    return this.#owner;
  }

  #visible(obj: ManagedObject): boolean {
    return obj.owner === undefined || obj.owner === this.#owner;
  }

  /** An object of the scope; one another sub-identity owns is refused (Permission Denied). */
  async get(uid: string): Promise<ManagedObject | undefined> {
    const obj = await this.#load(uid);
    if (obj && !this.#visible(obj)) throw new KmipError(ResultReason.PermissionDenied, `object ${uid} belongs to another header credential`);
    return obj;
  }

  async #load(uid: string): Promise<ManagedObject | undefined> {
    // A client may send an empty Unique Identifier; no object has one (the stores refuse it as a key).
    if (uid === '') return undefined;
    if (this.#pending.has(uid)) return this.#pending.get(uid)?.obj.clone() ?? undefined;
    if (this.#cache && this.#store.getShared) {
      const shared = await this.#store.getShared(this.#scope, uid);
      if (shared && !this.#read.has(uid)) this.#read.set(uid, shared);
      return shared && this.#cache.objectFor(shared);
    }
    const rec = await this.#store.get(this.#scope, uid);
    if (rec && !this.#read.has(uid)) this.#read.set(uid, rec);
    return rec && ManagedObject.fromRecord(rec);
  }

  /**
   * Queues `obj` for the commit. An object never stored before (revision 0, not yet saved in this
   * message) and without an owner gets the message's owner: whatever a sub-identity makes is its.
   * `shared`: the server's own object for the whole scope (the Certify CA), never owned.
   */
  save(obj: ManagedObject, opts: { shared?: boolean } = {}): void {
    if (!opts.shared && obj.revision === 0 && obj.owner === undefined && !this.#pending.get(obj.uid)) obj.owner = this.#owner;
    // Encoded now, so an object that cannot be encoded fails the operation that saved it.
    const record = obj.toRecord();
    if (!this.#pending.has(obj.uid)) this.#order.push(obj.uid);
    this.#pending.set(obj.uid, { obj: obj.clone(), record });
  }

  delete(uid: string): void {
    if (!this.#pending.has(uid)) this.#order.push(uid);
    this.#pending.set(uid, null);
  }

  /** Objects of the scope this message may see, matching the coarse filter, stored ones first, in creation order. */
  async list(filter: ListFilter = {}): Promise<ManagedObject[]> {
    return (await this.listAll(filter)).filter((o) => this.#visible(o));
  }

  /** Every object of the scope matching the filter, whoever owns it: for checks, never for answers. */
  async listAll(filter: ListFilter = {}): Promise<ManagedObject[]> {
    const stored = await this.#store.list(this.#scope, filter);
    const out: ManagedObject[] = [];
    for (const r of stored) {
      if (this.#pending.has(r.uid)) continue;
      if (!this.#read.has(r.uid)) this.#read.set(r.uid, r);
      out.push(ManagedObject.fromRecord(r));
    }
    for (const uid of this.#order) {
      const o = this.#pending.get(uid)?.obj;
      if (!o) continue;
      if (filter.objectType !== undefined && o.objectType !== filter.objectType) continue;
      if (filter.state !== undefined && o.state !== filter.state) continue;
      if (filter.name !== undefined && !o.names().includes(filter.name)) continue;
      out.push(o.clone());
    }
    return out;
  }

  get dirty(): boolean {
    return this.#pending.size > 0;
  }

  /** Writes everything atomically; resolves, once it is durable, with the objects written (deletes left out). */
  async commit(): Promise<CommittedChange[]> {
    if (this.#pending.size === 0) return [];
    const ops: WriteOp[] = [];
    const changes: CommittedChange[] = [];
    for (const uid of this.#order) {
      const p = this.#pending.get(uid);
      if (p === undefined) continue;
      if (p === null) ops.push({ kind: 'delete', scope: this.#scope, uid });
      else {
        ops.push(p.record.revision > 0 ? { kind: 'put', record: p.record, expectRevision: p.record.revision } : { kind: 'put', record: p.record });
        changes.push({ uid, created: p.record.revision === 0, before: this.#read.get(uid), after: p.obj });
      }
    }
    await this.#store.write(ops);
    this.#pending.clear();
    this.#order.length = 0;
    this.#read.clear();
    return changes;
  }

  rollback(): void {
    this.#pending.clear();
    this.#order.length = 0;
    this.#read.clear();
  }
}
