/**
 * In-memory ObjectStore for unit tests. Same semantics as the durable backends (scopes,
 * creation order, revisions, atomic batches, StoreConflictError), without persistence or
 * encryption. Byte strings are copied in and out so callers can never alias stored state.
 */
import { checkFilter, checkOps, checkScopeUid, copyBytes, StoreClosedError, StoreUidInUseError } from './common.ts';
import { StoreConflictError, type ListFilter, type ObjectRecord, type ObjectStore, type WriteOp } from './types.ts';

interface Entry {
  seq: number;
  scope: string;
  objectType: number;
  state: number;
  names: string[];
  attributes: Uint8Array;
  material: Uint8Array | null;
  revision: number;
  owner: string | undefined;
}

function toRecord(uid: string, e: Entry): ObjectRecord {
  return {
    uid,
    scope: e.scope,
    objectType: e.objectType,
    state: e.state,
    names: [...e.names],
    attributes: copyBytes(e.attributes),
    material: e.material === null ? null : copyBytes(e.material),
    revision: e.revision,
    ...(e.owner !== undefined ? { owner: e.owner } : {}),
  };
}

export class MemoryStore implements ObjectStore {
  // Map iteration order is insertion order; a put on an existing uid replaces the value in place
  // (keeping its position), a delete + re-create moves it to the end: creation order for free.
  #objects = new Map<string, Entry>();
  #seq = 0;
  #closed = false;
  /** Records handed out by getShared, per entry (entries are replaced, never changed, once stored). */
  readonly #shared = new WeakMap<Entry, Readonly<ObjectRecord>>();

  #check(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  async get(scope: string, uid: string): Promise<ObjectRecord | undefined> {
    this.#check();
    checkScopeUid(scope, uid);
    const e = this.#objects.get(uid);
    return e && e.scope === scope ? toRecord(uid, e) : undefined;
  }

  /** The entry's record, made once and frozen: every put makes a new entry, so it never goes stale. */
  async getShared(scope: string, uid: string): Promise<Readonly<ObjectRecord> | undefined> {
    this.#check();
    checkScopeUid(scope, uid);
    const e = this.#objects.get(uid);
    if (!e || e.scope !== scope) return undefined;
    let r = this.#shared.get(e);
    if (!r) {
      r = toRecord(uid, e);
      Object.freeze(r.names);
      this.#shared.set(e, Object.freeze(r));
    }
    return r;
  }

  async list(scope: string, filter?: ListFilter): Promise<ObjectRecord[]> {
    this.#check();
    checkFilter(filter);
    const out: ObjectRecord[] = [];
    for (const [uid, e] of this.#objects) {
      if (e.scope !== scope) continue;
      if (filter?.objectType !== undefined && e.objectType !== filter.objectType) continue;
      if (filter?.state !== undefined && e.state !== filter.state) continue;
      if (filter?.name !== undefined && !e.names.includes(filter.name)) continue;
      out.push(toRecord(uid, e));
    }
    return out;
  }

  async count(scope: string): Promise<number> {
    this.#check();
    let n = 0;
    for (const e of this.#objects.values()) if (e.scope === scope) n++;
    return n;
  }

  async countByScope(): Promise<Map<string, number>> {
    this.#check();
    const counts = new Map<string, number>();
    for (const e of this.#objects.values()) if (e.material !== null) counts.set(e.scope, (counts.get(e.scope) ?? 0) + 1);
    return counts;
  }

  async deleteScope(scope: string): Promise<number> {
    this.#check();
    if (typeof scope !== 'string' || scope.length === 0) throw new TypeError('scope must be a non-empty string');
    let n = 0;
    for (const [uid, e] of this.#objects) {
      if (e.scope !== scope) continue;
      this.#objects.delete(uid); // deleting the current entry keeps Map iteration valid
      n++;
    }
    return n;
  }

  async write(ops: WriteOp[]): Promise<void> {
    this.#check();
    checkOps(ops);
    // Stage every op against an overlay (null = deleted) so a failing op leaves nothing applied.
    const staged = new Map<string, Entry | null>();
    const lookup = (uid: string): Entry | undefined => {
      const s = staged.get(uid);
      return s === null ? undefined : (s ?? this.#objects.get(uid));
    };
    const revisions: Array<[ObjectRecord, number]> = [];
    for (const op of ops) {
      if (op.kind === 'delete') {
        const cur = lookup(op.uid);
        if (cur && cur.scope === op.scope) staged.set(op.uid, null);
        continue;
      }
      const r = op.record;
      const cur = lookup(r.uid);
      if (cur && cur.scope !== r.scope) throw new StoreUidInUseError(r.uid);
      const actual = cur ? cur.revision : 0;
      if (op.expectRevision !== undefined && op.expectRevision !== actual) {
        throw new StoreConflictError(r.uid, op.expectRevision, actual);
      }
      const entry: Entry = {
        seq: cur ? cur.seq : 0, // 0: assigned at commit
        scope: r.scope,
        objectType: r.objectType,
        state: r.state,
        names: [...r.names],
        attributes: copyBytes(r.attributes),
        material: r.material === null ? null : copyBytes(r.material),
        revision: actual + 1,
        owner: r.owner,
      };
      if (staged.get(r.uid) === null) staged.delete(r.uid); // re-created: keep op order
      staged.set(r.uid, entry);
      revisions.push([r, entry.revision]);
    }
    // Commit: staging order matches op order, so new objects get sequence numbers in op order.
    for (const [uid, e] of staged) {
      if (e === null) {
        this.#objects.delete(uid);
      } else if (e.seq === 0) {
        e.seq = ++this.#seq;
        this.#objects.delete(uid); // a re-create after a staged delete goes to the end
        this.#objects.set(uid, e);
      } else {
        this.#objects.set(uid, e);
      }
    }
    for (const [r, rev] of revisions) r.revision = rev;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#objects.clear();
  }
}
