/**
 * Durable ObjectStore on node:sqlite.
 *
 * - WAL journal, synchronous=FULL: a resolved `write` has been fsynced to the WAL.
 * - Every `write` commits atomically in a BEGIN IMMEDIATE ... COMMIT transaction (ROLLBACK on any
 *   error); writes issued in the same event-loop turn share one transaction (group commit), each
 *   in its own SAVEPOINT.
 * - Material is sealed by an Envelope (per-scope data key wrapped by the KEK, AES-256-GCM, AAD
 *   binding scope and uid) before it reaches the database, and opened on read.
 * - Schema changes are numbered migrations tracked in PRAGMA user_version.
 * - Statements are prepared once and cached; the hot path (get) is one indexed lookup.
 *
 * node:sqlite is synchronous: each method runs to completion on the event loop, so operations of
 * one store never interleave; `write` queues its batch and the queue is flushed on setImmediate. The store is meant to be the only writer of its file; other
 * connections are tolerated (busy timeout) but not expected.
 */
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  checkFilter,
  checkOps,
  checkScopeUid,
  copyBytes,
  StoreClosedError,
  StoreUidInUseError,
} from './common.ts';
import { Envelope, type DataKeyStore } from './kek.ts';
import { StoreConflictError, type ListFilter, type ObjectRecord, type ObjectStore, type WriteOp } from './types.ts';

export interface SqliteStoreOptions {
  /** Database file path (created with mode 0600 if missing), or ':memory:'. */
  path: string;
  /** 32-byte key-encryption key (see kek.ts). */
  kek: Uint8Array;
  /** How long a statement waits for a lock held by another connection. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** The database was written by a newer version of this server. */
export class SchemaTooNewError extends Error {
  readonly code = 'STORE_SCHEMA_TOO_NEW';
}

/**
 * Numbered schema migrations: MIGRATIONS[i] takes user_version i to i+1. Append only; never edit a
 * step that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema.
  `
  CREATE TABLE objects (
    created_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         TEXT    NOT NULL UNIQUE,
    scope       TEXT    NOT NULL,
    object_type INTEGER NOT NULL,
    state       INTEGER NOT NULL,
    names       TEXT    NOT NULL DEFAULT '[]', -- JSON array, as given (the names table indexes it)
    attributes  BLOB    NOT NULL,
    material    BLOB,                          -- sealed by the Envelope; NULL once destroyed
    revision    INTEGER NOT NULL
  );
  CREATE INDEX objects_scope_seq ON objects (scope, created_seq);
  CREATE INDEX objects_scope_type_state ON objects (scope, object_type, state, created_seq);
  CREATE TABLE names (
    scope TEXT NOT NULL,
    uid   TEXT NOT NULL,
    name  TEXT NOT NULL,
    PRIMARY KEY (uid, name)
  ) WITHOUT ROWID;
  CREATE INDEX names_scope_name ON names (scope, name, uid);
  CREATE TABLE data_keys (
    scope   TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: the header sub-identity owning an object (NULL: none), see ObjectRecord.owner.
  `
  ALTER TABLE objects ADD COLUMN owner TEXT;
  `,
];

/** A record callers may change freely without touching the cached one. */
const copyRecord = (r: Readonly<ObjectRecord>): ObjectRecord => ({
  ...r,
  names: [...r.names],
  attributes: r.attributes.slice(),
  material: r.material === null ? null : r.material.slice(),
});

/** Records kept decrypted in memory for reads (Get is the hot path). */
const READ_CACHE_ENTRIES = 4096;

const COLUMNS = 'uid, scope, object_type, state, names, attributes, material, revision, owner';

interface Row {
  uid: string;
  scope: string;
  object_type: number;
  state: number;
  names: string;
  attributes: Uint8Array;
  material: Uint8Array | null;
  revision: number;
  owner: string | null;
}

type PreparedOp =
  | { kind: 'delete'; scope: string; uid: string }
  | {
      kind: 'put';
      /** The caller's record: its `revision` is set once the batch commits. */
      record: ObjectRecord;
      uid: string;
      scope: string;
      objectType: number;
      state: number;
      names: string[];
      namesJson: string;
      attributes: Uint8Array;
      sealed: Uint8Array | null;
      expectRevision: number | undefined;
      owner: string | null;
    };

interface PendingBatch {
  ops: PreparedOp[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Existing {
  scope: string;
  revision: number;
  names: string;
}

function migrate(db: DatabaseSync): void {
  const version = (): number => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version() > MIGRATIONS.length) {
    throw new SchemaTooNewError(
      `database schema version ${version()} is newer than this server supports (${MIGRATIONS.length})`,
    );
  }
  if (version() === MIGRATIONS.length) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    // Re-read under the write lock: another process may have migrated meanwhile.
    for (let v = version(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

export class SqliteStore implements ObjectStore {
  readonly #db: DatabaseSync;
  readonly #env: Envelope;
  #closed = false;

  readonly #get: StatementSync;
  readonly #existing: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  readonly #delete: StatementSync;
  readonly #deleteNames: StatementSync;
  readonly #insertName: StatementSync;
  readonly #count: StatementSync;
  readonly #lists = new Map<string, StatementSync>();
  #pending: PendingBatch[] = [];
  #flushTimer: NodeJS.Immediate | undefined;
  /**
   * Recently read records, material decrypted, by uid (at most READ_CACHE_ENTRIES, least recently
   * used evicted). Rows are read only between transactions (node:sqlite is synchronous), and every
   * committed write drops its uids, so an entry is always the committed state. An entry is never
   * changed, only replaced: `get` callers get copies, `getShared` callers the entry itself.
   */
  readonly #cache = new Map<string, Readonly<ObjectRecord>>();

  private constructor(db: DatabaseSync, kek: Uint8Array) {
    this.#db = db;
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM objects WHERE uid = ? AND scope = ?`);
    this.#existing = db.prepare('SELECT scope, revision, names FROM objects WHERE uid = ?');
    this.#insert = db.prepare(
      'INSERT INTO objects (uid, scope, object_type, state, names, attributes, material, revision, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#update = db.prepare(
      'UPDATE objects SET object_type = ?, state = ?, names = ?, attributes = ?, material = ?, revision = ?, owner = ? WHERE uid = ?',
    );
    this.#delete = db.prepare('DELETE FROM objects WHERE uid = ? AND scope = ?');
    this.#deleteNames = db.prepare('DELETE FROM names WHERE uid = ?');
    this.#insertName = db.prepare('INSERT OR IGNORE INTO names (scope, uid, name) VALUES (?, ?, ?)');
    this.#count = db.prepare('SELECT count(*) AS n FROM objects WHERE scope = ?');

    const getKey = db.prepare('SELECT wrapped FROM data_keys WHERE scope = ?');
    const putKey = db.prepare('INSERT INTO data_keys (scope, wrapped) VALUES (?, ?) ON CONFLICT (scope) DO NOTHING');
    const keys: DataKeyStore = {
      getWrapped: (scope) => (getKey.get(scope) as { wrapped: Uint8Array } | undefined)?.wrapped,
      putWrappedIfAbsent: (scope, wrapped) => {
        putKey.run(scope, wrapped);
        return (getKey.get(scope) as { wrapped: Uint8Array }).wrapped;
      },
    };
    this.#env = new Envelope(kek, keys);
  }

  /**
   * Opens (creating and migrating as needed) the database at `path`. Fails if the KEK cannot
   * unwrap the stored data keys, so a misconfigured key is caught at startup rather than at the
   * first Get, and keys of one database are never wrapped under two KEKs.
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const { path, kek, busyTimeoutMs = 5000 } = options;
    if (path !== ':memory:') {
      // Create the file ourselves so it (and the -wal/-shm files SQLite derives from it) is 0600.
      try {
        closeSync(openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: false });
    let store: SqliteStore;
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      const mode = (db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string }).journal_mode;
      if (path !== ':memory:' && mode.toLowerCase() !== 'wal') {
        throw new Error(`cannot enable WAL journal mode on ${path} (got ${mode})`);
      }
      db.exec('PRAGMA synchronous = FULL');
      // Deleted/overwritten content (e.g. sealed material of a destroyed key) is zeroed on disk.
      db.exec('PRAGMA secure_delete = ON');
      migrate(db);
      store = new SqliteStore(db, kek);
      const scopes = db.prepare('SELECT scope FROM data_keys').all() as Array<{ scope: string }>;
      for (const { scope } of scopes) store.#env.verifyDataKey(scope);
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  #check(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  #toRecord(r: Row): ObjectRecord {
    return {
      uid: r.uid,
      scope: r.scope,
      objectType: r.object_type,
      state: r.state,
      names: JSON.parse(r.names) as string[],
      attributes: r.attributes,
      material: r.material === null ? null : this.#env.open(r.scope, r.uid, r.material),
      revision: r.revision,
      ...(r.owner !== null ? { owner: r.owner } : {}),
    };
  }

  async get(scope: string, uid: string): Promise<ObjectRecord | undefined> {
    const rec = this.#read(scope, uid);
    return rec && copyRecord(rec);
  }

  /**
   * The cached record itself (frozen; its bytes must not be changed either): the same object until
   * a write to the uid commits, the entry is evicted, or the store forgets it otherwise.
   */
  async getShared(scope: string, uid: string): Promise<Readonly<ObjectRecord> | undefined> {
    return this.#read(scope, uid);
  }

  #read(scope: string, uid: string): Readonly<ObjectRecord> | undefined {
    this.#check();
    checkScopeUid(scope, uid);
    const hit = this.#cache.get(uid);
    if (hit && hit.scope === scope) {
      // Most recently used last, so the oldest entry is the first to go.
      this.#cache.delete(uid);
      this.#cache.set(uid, hit);
      return hit;
    }
    const row = this.#get.get(uid, scope) as Row | undefined;
    if (!row) return undefined;
    const rec = this.#toRecord(row);
    Object.freeze(rec.names);
    Object.freeze(rec);
    this.#cache.set(uid, rec);
    if (this.#cache.size > READ_CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    return rec;
  }

  async list(scope: string, filter: ListFilter = {}): Promise<ObjectRecord[]> {
    this.#check();
    checkFilter(filter);
    const hasType = filter.objectType !== undefined;
    const hasState = filter.state !== undefined;
    const hasName = filter.name !== undefined;
    const key = `${+hasType}${+hasState}${+hasName}`;
    let stmt = this.#lists.get(key);
    if (!stmt) {
      let sql = `SELECT ${COLUMNS.replace(/(\w+)/g, 'o.$1')} FROM objects o WHERE o.scope = ?`;
      if (hasType) sql += ' AND o.object_type = ?';
      if (hasState) sql += ' AND o.state = ?';
      if (hasName) sql += ' AND o.uid IN (SELECT n.uid FROM names n WHERE n.scope = ? AND n.name = ?)';
      sql += ' ORDER BY o.created_seq';
      stmt = this.#db.prepare(sql);
      this.#lists.set(key, stmt);
    }
    const params: Array<string | number> = [scope];
    if (hasType) params.push(filter.objectType!);
    if (hasState) params.push(filter.state!);
    if (hasName) params.push(scope, filter.name!);
    return (stmt.all(...params) as unknown as Row[]).map((r) => this.#toRecord(r));
  }

  async count(scope: string): Promise<number> {
    this.#check();
    return (this.#count.get(scope) as { n: number }).n;
  }

  /**
   * Queues the batch and resolves once it is committed. Batches issued in the same event-loop
   * turn are group-committed: one transaction (one fsync) holds each batch in its own SAVEPOINT,
   * so a failing batch is rolled back alone and the others still commit atomically.
   */
  write(ops: WriteOp[]): Promise<void> {
    try {
      this.#check();
      checkOps(ops);
      if (ops.length === 0) return Promise.resolve();
      // Snapshot now (the caller's buffers may change before the flush) and seal outside the
      // transaction, so the write lock is held only for the SQL. Data keys are created and
      // committed before any transaction: a rolled-back batch cannot lose one.
      const prepared: PreparedOp[] = ops.map((op): PreparedOp => {
        if (op.kind === 'delete') return { kind: 'delete', scope: op.scope, uid: op.uid };
        const r = op.record;
        return {
          kind: 'put',
          record: r,
          uid: r.uid,
          scope: r.scope,
          objectType: r.objectType,
          state: r.state,
          names: [...r.names],
          namesJson: JSON.stringify(r.names),
          attributes: copyBytes(r.attributes),
          sealed: r.material === null ? null : this.#env.seal(r.scope, r.uid, r.material),
          expectRevision: op.expectRevision,
          owner: r.owner ?? null,
        };
      });
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      this.#pending.push({ ops: prepared, resolve, reject });
      if (this.#flushTimer === undefined) this.#flushTimer = setImmediate(() => this.#flush());
      return promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Applies one batch inside the open transaction; returns the new revision of each put. */
  #apply(ops: PreparedOp[]): number[] {
    const revisions: number[] = [];
    for (const op of ops) {
      if (op.kind === 'delete') {
        if (this.#delete.run(op.uid, op.scope).changes > 0) this.#deleteNames.run(op.uid);
        continue;
      }
      const cur = this.#existing.get(op.uid) as Existing | undefined;
      if (cur && cur.scope !== op.scope) throw new StoreUidInUseError(op.uid);
      const actual = cur ? cur.revision : 0;
      if (op.expectRevision !== undefined && op.expectRevision !== actual) {
        throw new StoreConflictError(op.uid, op.expectRevision, actual);
      }
      const revision = actual + 1;
      if (cur) {
        this.#update.run(op.objectType, op.state, op.namesJson, op.attributes, op.sealed, revision, op.owner, op.uid);
        if (cur.names !== op.namesJson) {
          this.#deleteNames.run(op.uid);
          for (const n of op.names) this.#insertName.run(op.scope, op.uid, n);
        }
      } else {
        this.#insert.run(op.uid, op.scope, op.objectType, op.state, op.namesJson, op.attributes, op.sealed, revision, op.owner);
        for (const n of op.names) this.#insertName.run(op.scope, op.uid, n);
      }
      revisions.push(revision);
    }
    return revisions;
  }

  #flush(): void {
    if (this.#flushTimer !== undefined) clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    const batches = this.#pending;
    this.#pending = [];
    if (batches.length === 0) return;
    const db = this.#db;
    const outcomes: Array<{ ok: true; revisions: number[] } | { ok: false; error: unknown }> = [];
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const b of batches) {
        if (batches.length === 1) {
          outcomes.push({ ok: true, revisions: this.#apply(b.ops) }); // a lone batch fails the txn
          continue;
        }
        db.exec('SAVEPOINT batch');
        try {
          outcomes.push({ ok: true, revisions: this.#apply(b.ops) });
          db.exec('RELEASE batch');
        } catch (error) {
          db.exec('ROLLBACK TO batch');
          db.exec('RELEASE batch');
          outcomes.push({ ok: false, error });
        }
      }
      db.exec('COMMIT');
    } catch (error) {
      for (const b of batches) for (const op of b.ops) this.#cache.delete(op.uid);
      // BEGIN/COMMIT failed (busy, I/O error, ...) or the lone batch failed: nothing committed.
      try {
        if (db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // The transaction is gone either way; report the original error.
      }
      for (const b of batches) b.reject(error);
      return;
    }
    // Committed rows are read again from the database next time (decrypted once, then cached).
    for (const b of batches) for (const op of b.ops) this.#cache.delete(op.uid);
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const o = outcomes[i]!;
      if (!o.ok) {
        b.reject(o.error);
        continue;
      }
      let j = 0;
      for (const op of b.ops) if (op.kind === 'put') op.record.revision = o.revisions[j++]!;
      b.resolve();
    }
  }

  async countByScope(): Promise<Map<string, number>> {
    this.#check();
    const rows = this.#db.prepare('SELECT scope, count(*) AS n FROM objects WHERE material IS NOT NULL GROUP BY scope').all() as Array<{ scope: string; n: number }>;
    return new Map(rows.map((r) => [r.scope, r.n]));
  }

  /**
   * Deletes the scope's rows and its wrapped data key in one transaction. secure_delete zeroes the
   * freed pages; the checkpoint afterwards moves them into the database file and truncates the WAL,
   * which would otherwise keep the old pages (the wrapped key among them) until the next automatic
   * checkpoint.
   */
  async deleteScope(scope: string): Promise<number> {
    this.#check();
    if (typeof scope !== 'string' || scope.length === 0) throw new TypeError('scope must be a non-empty string');
    // Batches already accepted commit first: none of them can land after the purge.
    this.#flush();
    const db = this.#db;
    let removed: number;
    db.exec('BEGIN IMMEDIATE');
    try {
      removed = Number(db.prepare('DELETE FROM objects WHERE scope = ?').run(scope).changes);
      db.prepare('DELETE FROM names WHERE scope = ?').run(scope);
      db.prepare('DELETE FROM data_keys WHERE scope = ?').run(scope);
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
    this.#cache.clear();
    // The unwrapped data key goes too (the others are unwrapped again when next used): a later
    // write to this scope must make a new key, not seal under one that is no longer stored.
    this.#env.clearCache();
    try {
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch {
      // Busy (another connection reading): the automatic checkpoint gets to it later.
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush(); // commit batches already accepted
    this.#closed = true;
    this.#lists.clear();
    this.#cache.clear();
    this.#env.wipe();
    this.#db.close();
  }
}
