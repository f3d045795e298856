import type { ListFilter, ObjectRecord, ObjectStore, WriteOp } from '../store/types.ts';
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
 */
export class UnitOfWork {
  readonly #store: ObjectStore;
  readonly #scope: string;
  readonly #cache: ObjectCache | undefined;
  readonly #pending = new Map<string, Pending | null>();
  readonly #order: string[] = [];
  /** The stored record each uid had when this unit of work first read it (what a commit changed). */
  readonly #read = new Map<string, Readonly<ObjectRecord>>();

  constructor(store: ObjectStore, scope: string, cache?: ObjectCache) {
    this.#store = store;
    this.#scope = scope;
    this.#cache = cache;
  }

  get scope(): string {
    return this.#scope;
  }

  async get(uid: string): Promise<ManagedObject | undefined> {
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

  save(obj: ManagedObject): void {
    // Encoded now, so an object that cannot be encoded fails the operation that saved it.
    const record = obj.toRecord();
    if (!this.#pending.has(obj.uid)) this.#order.push(obj.uid);
    this.#pending.set(obj.uid, { obj: obj.clone(), record });
  }

  delete(uid: string): void {
    if (!this.#pending.has(uid)) this.#order.push(uid);
    this.#pending.set(uid, null);
  }

  /** Objects of the scope matching the coarse filter, stored ones first, in creation order. */
  async list(filter: ListFilter = {}): Promise<ManagedObject[]> {
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
