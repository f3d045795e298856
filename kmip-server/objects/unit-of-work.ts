import type { ListFilter, ObjectStore, WriteOp } from '../store/types.ts';
import { ManagedObject } from './managed-object.ts';

/**
 * The writes of one request message, applied to the store in a single atomic `write` before the
 * response is sent. Reads see the message's own earlier writes, so a batch can Create then Get.
 * A failed item under the Undo continuation option discards everything by not committing.
 */
export class UnitOfWork {
  readonly #store: ObjectStore;
  readonly #scope: string;
  readonly #pending = new Map<string, ManagedObject | null>();
  readonly #order: string[] = [];

  constructor(store: ObjectStore, scope: string) {
    this.#store = store;
    this.#scope = scope;
  }

  get scope(): string {
    return this.#scope;
  }

  async get(uid: string): Promise<ManagedObject | undefined> {
    if (this.#pending.has(uid)) return this.#pending.get(uid)?.clone() ?? undefined;
    const rec = await this.#store.get(this.#scope, uid);
    return rec ? ManagedObject.fromRecord(rec) : undefined;
  }

  save(obj: ManagedObject): void {
    if (!this.#pending.has(obj.uid)) this.#order.push(obj.uid);
    this.#pending.set(obj.uid, obj.clone());
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
      out.push(ManagedObject.fromRecord(r));
    }
    for (const uid of this.#order) {
      const o = this.#pending.get(uid);
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

  async commit(): Promise<void> {
    if (this.#pending.size === 0) return;
    const ops: WriteOp[] = [];
    for (const uid of this.#order) {
      const o = this.#pending.get(uid);
      if (o === undefined) continue;
      if (o === null) ops.push({ kind: 'delete', scope: this.#scope, uid });
      else ops.push(o.revision > 0 ? { kind: 'put', record: o.toRecord(), expectRevision: o.revision } : { kind: 'put', record: o.toRecord() });
    }
    await this.#store.write(ops);
    this.#pending.clear();
    this.#order.length = 0;
  }

  rollback(): void {
    this.#pending.clear();
    this.#order.length = 0;
  }
}
