/**
 * ObjectStore on Kubernetes ConfigMaps: the server needs no volume, and several replicas share one
 * store through the API server (etcd).
 *
 * Layout (namespace N, one store per namespace)
 * ---------------------------------------------
 * - Each object is one ConfigMap, named from its uid: `kmip-<uid>` when the uid is already a DNS
 *   label (the server's uids are lowercase UUIDs), else `kmip-h-<sha256(uid)[:40]>`. The name
 *   depends on the uid only, not the scope: the API server itself then enforces that a uid exists
 *   once (StoreUidInUseError when another scope holds it), with no check-then-create race.
 *   - data: format, uid, scope, objectType, state, names (JSON), revision, created
 *   - binaryData: attributes (TTLV, not secret), material (sealed; absent once destroyed)
 *   - labels: app.kubernetes.io/managed-by=kube-kmip, app.kubernetes.io/component=kmip-object,
 *     kubekmip.io/scope=<h(scope)>, kubekmip.io/object-type=<n>, kubekmip.io/state=<n>, and one
 *     name.kubekmip.io/<h(name)>=true per Name value, h = sha256 hex[:32] (label values allow
 *     63 characters of [A-Za-z0-9._-]; scopes and names are arbitrary text). Label selectors narrow
 *     a List on the server; the data is still checked exactly (hashes are only an index).
 *   - annotation kubekmip.io/write-id: which `write` call produced this version (see below).
 * - Material is sealed by the same Envelope as the sqlite store: AES-256-GCM under a per-scope data
 *   key, AAD = scope + uid. Each scope's data key, wrapped by the KEK (never in plaintext), is an
 *   immutable Secret `kmip-dk-<sha256(scope)[:40]>` (data: wrapped, scope), created by whichever
 *   replica needs it first (create-if-absent; the loser adopts the winner's key). `open()` unwraps
 *   every stored data key and a KEK check value (Secret kmip-kek-check, written by the first
 *   replica ever), so a wrong KEK fails at startup, not at the first Get, even in an empty store.
 * - A ConfigMap holds at most 1 MiB of data: a larger object is refused with
 *   StoreObjectTooLargeError before anything is written.
 *
 * Revisions and concurrency
 * -------------------------
 * `revision` is our own counter (data.revision, +1 per put, 1 on create); `metadata.resourceVersion`
 * is the compare-and-swap token: every update is a PUT carrying the resourceVersion the decision
 * was based on, every delete a DELETE with a resourceVersion precondition, every create a POST
 * (fails if the name exists). A put with `expectRevision` is checked against the stored revision;
 * when the API answers 409, the current version is re-read from the API and the check is redone,
 * so a stale cache can delay but never fool the check: StoreConflictError means the stored
 * revision really differs. Writes of one store instance that touch the same uid are applied in
 * the order `write` was called (a per-uid FIFO), writes to different uids run concurrently.
 *
 * What `write([...])` guarantees (Kubernetes has no multi-object transaction)
 * -------------------------------------------------------------------------
 * - Each op is atomic and durable on its own: the API server answers after etcd has committed it
 *   (a quorum of etcd members has it in its log). `write` resolves only after every op has been
 *   acknowledged, so an acknowledged write survives the crash of this process or of any replica.
 * - Ops are applied in order, one after another.
 * - Validation, size limits and every expectRevision / uid-ownership check are done for the whole
 *   batch before the first op is sent (against the cache, re-checked against the API before a
 *   refusal). So the ordinary failures (conflicts, a uid of another scope, too large, malformed)
 *   leave nothing applied.
 * - If op k still fails after ops 0..k-1 were applied (a concurrent writer won a race after the
 *   pre-check, or the API failed), the applied ops are compensated in reverse order, each again
 *   with resourceVersion preconditions (a created object deleted, an updated one restored, a
 *   deleted one re-created, each with its previous content, revision and place in creation
 *   order), and the original error is thrown: nothing of the batch remains. If a
 *   compensation itself fails (API unreachable, or another writer changed the object meanwhile:
 *   then that writer's newer version is kept rather than overwritten) StoreIncompleteWriteError
 *   lists the uids whose ops remain applied; it is not a StoreConflictError, so the dispatcher
 *   does not retry the message and the client gets a failure.
 * - NOT guaranteed: isolation and crash atomicity. While a batch is being applied, other readers
 *   (this replica's cache, other replicas) can see a prefix of it; if this process dies between
 *   ops, the prefix stays. For the server this means: a Create Key Pair (two puts: private, then
 *   public key, in one message) can leave, after a crash at the wrong moment, a private key whose
 *   Link names a public key that was never written. The client got no answer for that message and
 *   never learnt either uid; the orphan is an ordinary object of its scope (Locate finds it,
 *   Destroy removes it). Single-op messages (Create, Register, Activate, Revoke, Destroy, attribute
 *   edits) are fully atomic.
 * - A lost answer (timeout, connection reset, 5xx) is resolved before going on: the object is
 *   re-read and the write-id annotation tells whether the write took effect; only then is it
 *   retried or reported.
 *
 * Reads
 * -----
 * A Reflector (list + watch with bookmarks, watchdog, periodic relist) keeps every object of the
 * namespace in memory, material still sealed. The cache applies a version only if its
 * resourceVersion is newer than what it holds (and not older than a delete it saw), and every
 * acknowledged write of this instance goes into it at once, so a replica reads its own writes.
 * - get: from the cache; a miss is read through from the API, so an object created on another
 *   replica is visible to a Get here immediately, even before the watch delivers it.
 * - list/count: from the cache, in creation order (`created`: a hybrid logical clock, microseconds,
 *   never behind anything this replica has seen: order follows issue order on one replica and
 *   causality across replicas).
 * - A change made on another replica to an object this replica already caches reaches this
 *   replica's get/list when the watch delivers it (typically milliseconds). Such a stale read can
 *   never cause a lost update: every write is compare-and-swapped against the API.
 *   With `consistentReads: true`, get/list/count read the API instead (quorum reads; list uses the
 *   label selectors), for linearizable reads at the cost of one API round trip each.
 * - While the API server is unreachable, reads are served from the cache; writes fail.
 *
 * Needs RBAC in the namespace: configmaps get/list/watch/create/update/delete, secrets
 * get/list/create/delete (delete: a scope's data key goes with the scope, see deleteScope).
 * All replicas must be given the same KEK (checked at open, see above).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { collectionPath, KubeApiError, type KubeClient, type KubeObject } from '../k8s/client.ts';
import { Reflector } from '../k8s/reflector.ts';
import { checkFilter, checkOps, checkScopeUid, copyBytes, StoreClosedError, StoreUidInUseError } from './common.ts';
import { Envelope, type DataKeyStore } from './kek.ts';
import { StoreConflictError, type ListFilter, type ObjectRecord, type ObjectStore, type WriteOp } from './types.ts';

/** ConfigMap data limit enforced by the API server (data + binaryData). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
const FORMAT = '1';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const COMPONENT = 'app.kubernetes.io/component';
const MANAGER = 'kube-kmip';
const OBJECT_COMPONENT = 'kmip-object';
const DATA_KEY_COMPONENT = 'kmip-data-key';
const KEK_CHECK_COMPONENT = 'kmip-kek-check';
/** A Secret holding a random key wrapped by the KEK under a reserved scope: proves every replica has the same KEK. */
export const KEK_CHECK_NAME = 'kmip-kek-check';
const KEK_CHECK_SCOPE = '\u0000kube-kmip/kek-check';
const LABEL_SCOPE = 'kubekmip.io/scope';
const LABEL_TYPE = 'kubekmip.io/object-type';
const LABEL_STATE = 'kubekmip.io/state';
const NAME_LABEL_PREFIX = 'name.kubekmip.io/';
const WRITE_ID = 'kubekmip.io/write-id';
const FIELD_MANAGER = 'kube-kmip';
export const OBJECT_SELECTOR = `${MANAGED_BY}=${MANAGER},${COMPONENT}=${OBJECT_COMPONENT}`;
export const DATA_KEY_SELECTOR = `${MANAGED_BY}=${MANAGER},${COMPONENT}=${DATA_KEY_COMPONENT}`;
/**
 * Attempts of one op that keeps losing compare-and-swap races (unconditional puts and deletes
 * racing other writers); between attempts a short random pause (growing to 50 ms) breaks the lockstep.
 */
const MAX_ATTEMPTS = 16;
const pause = (attempt: number) => new Promise<void>((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));

/** The object does not fit in a ConfigMap. Nothing of the batch was written. */
export class StoreObjectTooLargeError extends Error {
  readonly code = 'STORE_OBJECT_TOO_LARGE';
  readonly uid: string;
  readonly size: number;
  constructor(uid: string, size: number) {
    super(`object ${uid} is too large for the configmap store: ${size} bytes of data, a ConfigMap holds at most ${CONFIGMAP_MAX_BYTES} (1 MiB)`);
    this.uid = uid;
    this.size = size;
  }
}

/**
 * A batch failed after some of its ops were applied, and undoing them failed too: the ops on
 * `uids` remain applied. Not a StoreConflictError: the caller must not assume nothing happened.
 */
export class StoreIncompleteWriteError extends Error {
  readonly code = 'STORE_INCOMPLETE_WRITE';
  readonly uids: string[];
  constructor(uids: string[], cause: unknown) {
    super(`write partly applied and could not be undone (objects ${uids.join(', ')}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.uids = uids;
  }
}

export interface ConfigMapStoreOptions {
  client: KubeClient;
  namespace: string;
  /** 32-byte key-encryption key (see kek.ts). */
  kek: Uint8Array;
  /** get/list/count read the API instead of the watch cache (linearizable, slower). Default false. */
  consistentReads?: boolean;
  logger?: Logger;
  /** Reflector tuning (k8s/reflector.ts). */
  watchdogMs?: number;
  relistMs?: number;
}

// ------------------------------------------------------------------------------------------------
// Naming and encoding

const hex = (s: string, n: number) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, n);
const DNS_LABELISH = /^[a-z0-9](?:[-a-z0-9]{0,198}[a-z0-9])?$/;

/** The ConfigMap name of an object: readable for DNS-safe uids, hashed otherwise (the two never collide). */
export function objectName(uid: string): string {
  return DNS_LABELISH.test(uid) && !uid.startsWith('h-') ? `kmip-${uid}` : `kmip-h-${hex(uid, 40)}`;
}

export function dataKeyName(scope: string): string {
  return `kmip-dk-${hex(scope, 40)}`;
}

export const scopeLabel = (scope: string) => hex(scope, 32);
export const nameLabel = (name: string) => `${NAME_LABEL_PREFIX}${hex(name, 32)}`;

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** -1/0/1, or undefined when a resourceVersion is not a decimal etcd revision. */
function compareRv(a: string, b: string): number | undefined {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One stored object version, as cached (material still sealed, byte fields base64). */
interface Entry {
  name: string;
  rv: string;
  uid: string;
  scope: string;
  objectType: number;
  state: number;
  names: string[];
  attributes: string;
  material: string | null;
  revision: number;
  created: number;
  writeId: string | undefined;
  /** ObjectRecord.owner (data.owner, only when set). */
  owner: string | undefined;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

const nonNegInt = (s: string | undefined): number | undefined => {
  if (s === undefined || !/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
};

function parseConfigMap(cm: ConfigMap): Entry | undefined {
  const d = cm.data ?? {};
  const name = cm.metadata?.name;
  const rv = cm.metadata?.resourceVersion;
  if (!name || !rv || d['format'] !== FORMAT || !d['uid'] || d['scope'] === undefined) return undefined;
  const objectType = nonNegInt(d['objectType']);
  const state = nonNegInt(d['state']);
  const revision = nonNegInt(d['revision']);
  const created = nonNegInt(d['created']);
  let names: unknown;
  try {
    names = JSON.parse(d['names'] ?? '[]');
  } catch {
    return undefined;
  }
  if (objectType === undefined || state === undefined || revision === undefined || created === undefined) return undefined;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return undefined;
  const attributes = cm.binaryData?.['attributes'];
  if (attributes === undefined) return undefined;
  return {
    name, rv, uid: d['uid'], scope: d['scope'], objectType, state, names: names as string[],
    attributes, material: cm.binaryData?.['material'] ?? null, revision, created,
    writeId: cm.metadata?.annotations?.[WRITE_ID],
    owner: d['owner'] || undefined,
  };
}

/** Data bytes as the API server counts them against the 1 MiB limit (keys counted too, to be safe). */
function dataSize(e: Omit<Entry, 'name' | 'rv'>, rawAttributes: number, rawMaterial: number): number {
  const data = dataFields(e);
  let n = 0;
  for (const [k, v] of Object.entries(data)) n += k.length + Buffer.byteLength(v, 'utf8');
  n += 'attributes'.length + rawAttributes;
  if (e.material !== null) n += 'material'.length + rawMaterial;
  return n;
}

function dataFields(e: Omit<Entry, 'name' | 'rv'>): Record<string, string> {
  return {
    format: FORMAT,
    uid: e.uid,
    scope: e.scope,
    objectType: String(e.objectType),
    state: String(e.state),
    names: JSON.stringify(e.names),
    revision: String(e.revision),
    created: String(e.created),
    ...(e.owner !== undefined ? { owner: e.owner } : {}),
  };
}

function labelsOf(e: Omit<Entry, 'name' | 'rv'>): Record<string, string> {
  const labels: Record<string, string> = {
    [MANAGED_BY]: MANAGER,
    [COMPONENT]: OBJECT_COMPONENT,
    [LABEL_SCOPE]: scopeLabel(e.scope),
    [LABEL_TYPE]: String(e.objectType),
    [LABEL_STATE]: String(e.state),
  };
  for (const n of e.names) labels[nameLabel(n)] = 'true';
  return labels;
}

function configMapBody(namespace: string, e: Omit<Entry, 'rv'>, rv?: string): ConfigMap {
  const binaryData: Record<string, string> = { attributes: e.attributes };
  if (e.material !== null) binaryData['material'] = e.material;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: e.name,
      namespace,
      labels: labelsOf(e),
      ...(e.writeId ? { annotations: { [WRITE_ID]: e.writeId } } : {}),
      ...(rv ? { resourceVersion: rv } : {}),
    },
    data: dataFields(e),
    binaryData,
  } as ConfigMap;
}

// ------------------------------------------------------------------------------------------------
// Per-uid FIFO: batches of this instance touching a uid run in call order.

class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();
  /** Enqueues synchronously (so call order is kept); resolves with the release function. */
  acquire(keys: readonly string[]): Promise<() => void> {
    const uniq = [...new Set(keys)];
    const waits: Promise<void>[] = [];
    for (const k of uniq) {
      const t = this.#tails.get(k);
      if (t) waits.push(t);
    }
    const { promise: done, resolve } = Promise.withResolvers<void>();
    for (const k of uniq) this.#tails.set(k, done);
    const release = () => {
      resolve();
      for (const k of uniq) if (this.#tails.get(k) === done) this.#tails.delete(k);
    };
    return Promise.all(waits).then(() => release);
  }
}

/** Wrapped data keys held in memory; loaded from / created as Secrets by the store before use. */
class LoadedDataKeys implements DataKeyStore {
  readonly wrapped = new Map<string, Uint8Array>();
  getWrapped(scope: string): Uint8Array | undefined {
    return this.wrapped.get(scope);
  }
  putWrappedIfAbsent(scope: string): Uint8Array {
    // The store loads or creates every data key (as a Secret) before sealing with it.
    const cur = this.wrapped.get(scope);
    if (cur) return cur;
    throw new Error(`data key of scope ${scope} used before it was stored`);
  }
}

type Planned =
  | { kind: 'delete'; name: string; scope: string; uid: string }
  | {
      kind: 'put';
      name: string;
      record: ObjectRecord;
      uid: string;
      scope: string;
      objectType: number;
      state: number;
      names: string[];
      attributes: string;
      rawAttributes: number;
      plaintext: Uint8Array | null;
      sealed: string | null;
      rawSealed: number;
      expectRevision: number | undefined;
      /** Creation stamp reserved when `write` was called (used if this put creates the object). */
      stamp: number;
    };

interface Applied {
  p: Planned;
  before: Entry | undefined;
  after: Entry | undefined;
}

// ------------------------------------------------------------------------------------------------

export class ConfigMapStore implements ObjectStore {
  readonly #client: KubeClient;
  readonly #ns: string;
  readonly #cmPath: string;
  readonly #secretPath: string;
  readonly #consistent: boolean;
  readonly #log: Logger | undefined;
  readonly #keys = new LoadedDataKeys();
  readonly #keyLoads = new Map<string, Promise<void>>();
  readonly #env: Envelope;
  readonly #reflector: Reflector<ConfigMap>;
  readonly #queue = new KeyedQueue();
  readonly #inflight = new Set<Promise<unknown>>();
  /** The cache: ConfigMap name -> newest version seen; and by scope for list/count. */
  readonly #byName = new Map<string, Entry>();
  readonly #byScope = new Map<string, Map<string, Entry>>();
  /** Deletions seen: versions at or below `rv` of that name are stale. */
  readonly #tombstones = new Map<string, { rv: string; at: number }>();
  readonly #warned = new Set<string>();
  #clock = 0;
  #closed = false;

  private constructor(opts: ConfigMapStoreOptions) {
    this.#client = opts.client;
    this.#ns = opts.namespace;
    this.#cmPath = collectionPath('v1', 'configmaps', opts.namespace);
    this.#secretPath = collectionPath('v1', 'secrets', opts.namespace);
    this.#consistent = opts.consistentReads ?? false;
    this.#log = opts.logger;
    this.#env = new Envelope(opts.kek, this.#keys);
    this.#reflector = new Reflector<ConfigMap>({
      client: opts.client,
      path: this.#cmPath,
      labelSelector: OBJECT_SELECTOR,
      handler: {
        replace: (items, rv) => this.#replace(items, rv),
        apply: (type, cm) => {
          if (type === 'DELETED') {
            const name = cm.metadata?.name;
            if (name) this.#forget(name, cm.metadata?.resourceVersion ?? '');
          } else this.#observeConfigMap(cm);
        },
      },
      ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
      ...(opts.relistMs !== undefined ? { relistMs: opts.relistMs } : {}),
      onError: (err) => this.#log?.warn({ namespace: this.#ns, err: (err as Error).message }, 'object store watch failed; retrying'),
    });
  }

  /**
   * Opens the store in `namespace`: loads and unwraps every stored data key (a wrong KEK fails
   * here, with ENVELOPE_KEK_MISMATCH), then lists the objects into the cache.
   */
  static async open(opts: ConfigMapStoreOptions): Promise<ConfigMapStore> {
    const s = new ConfigMapStore(opts);
    try {
      await s.#checkKek();
      const { items } = await s.#client.listAll<SecretObject>(s.#secretPath, { labelSelector: DATA_KEY_SELECTOR });
      for (const sec of items) {
        const loaded = s.#parseDataKey(sec);
        if (!loaded) continue;
        s.#keys.wrapped.set(loaded.scope, loaded.wrapped);
        s.#env.verifyDataKey(loaded.scope);
      }
      await s.#reflector.start();
    } catch (err) {
      s.#closed = true;
      s.#env.wipe();
      await s.#reflector.stop().catch(() => {});
      throw err;
    }
    return s;
  }

  /**
   * The first replica to open a namespace stores a random value wrapped by its KEK; every later
   * open unwraps it. A replica started with another KEK fails here even before any scope has a
   * data key (it would otherwise create data keys the others cannot unwrap).
   */
  async #checkKek(): Promise<void> {
    const path = `${this.#secretPath}/${KEK_CHECK_NAME}`;
    let sec = await this.#client.get<SecretObject>(path);
    if (!sec) {
      const probe = new Uint8Array(randomBytes(32));
      const wrapped = this.#env.wrapDataKey(KEK_CHECK_SCOPE, probe);
      probe.fill(0);
      try {
        sec = await this.#client.request<SecretObject>('POST', this.#secretPath, {
          body: {
            apiVersion: 'v1', kind: 'Secret', type: 'kubekmip.io/kek-check', immutable: true,
            metadata: { name: KEK_CHECK_NAME, namespace: this.#ns, labels: { [MANAGED_BY]: MANAGER, [COMPONENT]: KEK_CHECK_COMPONENT } },
            data: { wrapped: b64(wrapped) },
          },
          query: { fieldManager: FIELD_MANAGER },
        });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict)) throw err;
        sec = await this.#client.get<SecretObject>(path);
      }
    }
    const w = sec?.data?.['wrapped'];
    if (w === undefined) throw new Error(`Secret ${this.#ns}/${KEK_CHECK_NAME} has no wrapped key`);
    this.#env.unwrapDataKey(KEK_CHECK_SCOPE, unb64(w)).fill(0); // throws ENVELOPE_KEK_MISMATCH
  }

  /** Counters of the watch behind the cache (tests, metrics). */
  get reflectorStats(): Reflector<ConfigMap>['stats'] {
    return this.#reflector.stats;
  }

  #check(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  // ---------------------------------------------------------------------------------------------
  // Cache

  #setEntry(e: Entry): void {
    const old = this.#byName.get(e.name);
    if (old && old.scope !== e.scope) this.#byScope.get(old.scope)?.delete(e.name);
    this.#byName.set(e.name, e);
    let m = this.#byScope.get(e.scope);
    if (!m) this.#byScope.set(e.scope, (m = new Map()));
    m.set(e.name, e);
    if (e.created > this.#clock) this.#clock = e.created;
  }

  #dropEntry(name: string): void {
    const old = this.#byName.get(name);
    if (!old) return;
    this.#byName.delete(name);
    const m = this.#byScope.get(old.scope);
    m?.delete(name);
    if (m && m.size === 0) this.#byScope.delete(old.scope);
  }

  /** Takes a version into the cache unless the cache already has it or something newer. */
  #observe(e: Entry): Entry {
    const t = this.#tombstones.get(e.name);
    const ct = t ? compareRv(e.rv, t.rv) : undefined;
    if (ct !== undefined && ct <= 0) return e;
    const cur = this.#byName.get(e.name);
    if (cur) {
      const c = compareRv(e.rv, cur.rv);
      if (c !== undefined && c <= 0) return cur;
    }
    this.#setEntry(e);
    return e;
  }

  #observeConfigMap(cm: ConfigMap): Entry | undefined {
    const e = parseConfigMap(cm);
    if (!e) {
      const name = cm.metadata?.name ?? '?';
      if (!this.#warned.has(name)) {
        this.#warned.add(name);
        this.#log?.warn({ namespace: this.#ns, configMap: name }, 'ignoring a ConfigMap labelled as a kube-kmip object that does not parse as one');
      }
      return undefined;
    }
    return this.#observe(e);
  }

  /** A deletion seen at `rv`: drop the cached version unless it is newer, remember the deletion. */
  #forget(name: string, rv: string): void {
    const cur = this.#byName.get(name);
    if (cur && (compareRv(cur.rv, rv) ?? 0) > 0) return;
    this.#dropEntry(name);
    const t = this.#tombstones.get(name);
    if (!t || (compareRv(rv, t.rv) ?? 1) > 0) this.#tombstones.set(name, { rv, at: Date.now() });
  }

  #replace(items: ConfigMap[], listRv: string): void {
    const seen = new Set<string>();
    for (const cm of items) {
      const e = this.#observeConfigMap(cm);
      if (e) seen.add(e.name);
      else if (cm.metadata?.name) seen.add(cm.metadata.name);
    }
    for (const [name, e] of [...this.#byName]) {
      // Not in the list: deleted before the list was taken, unless we hold a version written after it.
      if (!seen.has(name) && !((compareRv(e.rv, listRv) ?? -1) > 0)) this.#dropEntry(name);
    }
    const cutoff = Date.now() - 120_000;
    for (const [name, t] of this.#tombstones) if (t.at < cutoff) this.#tombstones.delete(name);
  }

  /** The current version from the API (a quorum read), merged into the cache. */
  async #fetch(name: string): Promise<Entry | undefined> {
    const cm = await this.#client.get<ConfigMap>(`${this.#cmPath}/${name}`);
    if (!cm) {
      const cur = this.#byName.get(name);
      if (cur) this.#forget(name, cur.rv);
      return undefined;
    }
    const e = parseConfigMap(cm);
    if (!e) throw new Error(`ConfigMap ${this.#ns}/${name} exists but is not a kube-kmip object`);
    return this.#observe(e);
  }

  /** A creation stamp: microseconds, strictly after every stamp this instance issued or saw. */
  #stamp(): number {
    const next = Math.max(Date.now() * 1000, this.#clock + 1);
    this.#clock = next;
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // Data keys

  #parseDataKey(sec: SecretObject): { scope: string; wrapped: Uint8Array } | undefined {
    const scopeB64 = sec.data?.['scope'];
    const wrappedB64 = sec.data?.['wrapped'];
    if (scopeB64 === undefined || wrappedB64 === undefined) return undefined;
    const scope = Buffer.from(scopeB64, 'base64').toString('utf8');
    if (sec.metadata?.name !== dataKeyName(scope)) return undefined;
    return { scope, wrapped: unb64(wrappedB64) };
  }

  /** Makes the wrapped data key of `scope` available to the Envelope: loaded, or (if `create`) created. */
  async #loadDataKey(scope: string, create: boolean): Promise<void> {
    if (this.#keys.wrapped.has(scope)) return;
    const pending = this.#keyLoads.get(scope);
    if (pending) {
      await pending;
      if (this.#keys.wrapped.has(scope) || !create) return;
    }
    const p = (async () => {
      const name = dataKeyName(scope);
      let sec = await this.#client.get<SecretObject>(`${this.#secretPath}/${name}`);
      if (!sec && create) {
        const fresh = new Uint8Array(randomBytes(32));
        const wrapped = this.#env.wrapDataKey(scope, fresh);
        fresh.fill(0);
        const body = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: this.#ns, labels: { [MANAGED_BY]: MANAGER, [COMPONENT]: DATA_KEY_COMPONENT, [LABEL_SCOPE]: scopeLabel(scope) } },
          type: 'kubekmip.io/data-key',
          immutable: true,
          data: { wrapped: b64(wrapped), scope: Buffer.from(scope, 'utf8').toString('base64') },
        };
        try {
          sec = await this.#client.request<SecretObject>('POST', this.#secretPath, { body, query: { fieldManager: FIELD_MANAGER } });
        } catch (err) {
          // Another replica created it first: use theirs.
          if (!(err instanceof KubeApiError && err.conflict)) throw err;
          sec = await this.#client.get<SecretObject>(`${this.#secretPath}/${name}`);
        }
      }
      if (!sec) return;
      const loaded = this.#parseDataKey(sec);
      if (!loaded || loaded.scope !== scope) throw new Error(`Secret ${this.#ns}/${name} is not the data key of scope ${scope}`);
      this.#keys.wrapped.set(scope, loaded.wrapped);
    })();
    this.#keyLoads.set(scope, p);
    try {
      await p;
    } finally {
      this.#keyLoads.delete(scope);
    }
  }

  async #toRecord(e: Entry): Promise<ObjectRecord> {
    let material: Uint8Array | null = null;
    if (e.material !== null) {
      await this.#loadDataKey(e.scope, false);
      material = this.#env.open(e.scope, e.uid, unb64(e.material));
    }
    return {
      uid: e.uid,
      scope: e.scope,
      objectType: e.objectType,
      state: e.state,
      names: [...e.names],
      attributes: unb64(e.attributes),
      material,
      revision: e.revision,
      ...(e.owner !== undefined ? { owner: e.owner } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  async get(scope: string, uid: string): Promise<ObjectRecord | undefined> {
    this.#check();
    checkScopeUid(scope, uid);
    const name = objectName(uid);
    const e = this.#consistent ? await this.#fetch(name) : (this.#byName.get(name) ?? (await this.#fetch(name)));
    this.#check();
    if (!e || e.scope !== scope || e.uid !== uid) return undefined;
    return this.#toRecord(e);
  }

  #matches(e: Entry, scope: string, filter: ListFilter): boolean {
    if (e.scope !== scope) return false;
    if (filter.objectType !== undefined && e.objectType !== filter.objectType) return false;
    if (filter.state !== undefined && e.state !== filter.state) return false;
    if (filter.name !== undefined && !e.names.includes(filter.name)) return false;
    return true;
  }

  async #listEntries(scope: string, filter: ListFilter): Promise<Entry[]> {
    let entries: Entry[];
    if (this.#consistent) {
      const sel = [OBJECT_SELECTOR, `${LABEL_SCOPE}=${scopeLabel(scope)}`];
      if (filter.objectType !== undefined) sel.push(`${LABEL_TYPE}=${filter.objectType}`);
      if (filter.state !== undefined) sel.push(`${LABEL_STATE}=${filter.state}`);
      if (filter.name !== undefined) sel.push(nameLabel(filter.name));
      const { items } = await this.#client.listAll<ConfigMap>(this.#cmPath, { labelSelector: sel.join(',') }, 200);
      entries = [];
      for (const cm of items) {
        const e = parseConfigMap(cm);
        if (e) entries.push(this.#observe(e));
      }
    } else {
      entries = [...(this.#byScope.get(scope)?.values() ?? [])];
    }
    return entries
      .filter((e) => this.#matches(e, scope, filter))
      .sort((a, b) => a.created - b.created || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async list(scope: string, filter: ListFilter = {}): Promise<ObjectRecord[]> {
    this.#check();
    checkFilter(filter);
    if (typeof scope !== 'string') throw new TypeError('scope must be a string');
    const entries = await this.#listEntries(scope, filter);
    const out: ObjectRecord[] = [];
    for (const e of entries) out.push(await this.#toRecord(e));
    return out;
  }

  async count(scope: string): Promise<number> {
    this.#check();
    if (this.#consistent) return (await this.#listEntries(scope, {})).length;
    return this.#byScope.get(scope)?.size ?? 0;
  }

  async countByScope(): Promise<Map<string, number>> {
    this.#check();
    const counts = new Map<string, number>();
    if (this.#consistent) {
      const { items } = await this.#client.listAll<ConfigMap>(this.#cmPath, { labelSelector: OBJECT_SELECTOR }, 200);
      for (const cm of items) {
        const e = parseConfigMap(cm);
        if (e && this.#observe(e).material !== null) counts.set(e.scope, (counts.get(e.scope) ?? 0) + 1);
      }
      return counts;
    }
    for (const [scope, m] of this.#byScope) {
      let n = 0;
      for (const e of m.values()) if (e.material !== null) n++;
      if (n > 0) counts.set(scope, n);
    }
    return counts;
  }

  /**
   * Deletes the scope's ConfigMaps, then its data key Secret. The objects are listed from the API,
   * not the cache, so one another replica created a moment ago goes too; writes of this instance
   * to those uids wait for the deletion (the per-uid queue). Several replicas may purge the same
   * scope at once: what one deleted is simply gone for the others.
   */
  async deleteScope(scope: string): Promise<number> {
    this.#check();
    if (typeof scope !== 'string' || scope.length === 0) throw new TypeError('scope must be a non-empty string');
    const { items } = await this.#client.listAll<ConfigMap>(this.#cmPath, { labelSelector: `${OBJECT_SELECTOR},${LABEL_SCOPE}=${scopeLabel(scope)}` }, 200);
    const names = new Set<string>();
    for (const cm of items) {
      const e = parseConfigMap(cm);
      if (e && e.scope === scope) names.add(this.#observe(e).name); // the label is a hash: check the scope itself
    }
    for (const e of this.#byScope.get(scope)?.values() ?? []) names.add(e.name);
    const turn = this.#queue.acquire([...names]);
    const run = (async () => {
      const release = await turn;
      let removed = 0;
      try {
        this.#check();
        for (const name of names) {
          // A uid never changes scope (StoreUidInUseError), so the name alone is safe to delete.
          try {
            const res = await this.#client.request<KubeObject | undefined>('DELETE', `${this.#cmPath}/${name}`);
            this.#forget(name, res?.metadata?.resourceVersion ?? this.#byName.get(name)?.rv ?? '');
            removed++;
          } catch (err) {
            if (!(err instanceof KubeApiError && err.notFound)) throw err;
            this.#forget(name, this.#byName.get(name)?.rv ?? '');
          }
        }
        try {
          await this.#client.request('DELETE', `${this.#secretPath}/${dataKeyName(scope)}`);
        } catch (err) {
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
        this.#keys.wrapped.delete(scope);
        // A later write to this scope must make a new key, not seal under the deleted one.
        this.#env.clearCache();
      } finally {
        release();
      }
      return removed;
    })();
    this.#inflight.add(run);
    try {
      return await run;
    } finally {
      this.#inflight.delete(run);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  async write(ops: WriteOp[]): Promise<void> {
    this.#check();
    checkOps(ops);
    if (ops.length === 0) return;
    // Everything the caller handed over is copied now: its buffers may change once we yield.
    const planned: Planned[] = ops.map((op): Planned => {
      if (op.kind === 'delete') return { kind: 'delete', name: objectName(op.uid), scope: op.scope, uid: op.uid };
      const r = op.record;
      return {
        kind: 'put',
        name: objectName(r.uid),
        record: r,
        uid: r.uid,
        scope: r.scope,
        objectType: r.objectType,
        state: r.state,
        names: [...r.names],
        attributes: b64(r.attributes),
        rawAttributes: r.attributes.length,
        plaintext: r.material === null ? null : copyBytes(r.material),
        sealed: null,
        rawSealed: 0,
        expectRevision: op.expectRevision,
        stamp: this.#stamp(),
      };
    });
    // Joins the per-uid queues synchronously, so same-uid batches apply in call order.
    const turn = this.#queue.acquire(planned.map((p) => p.name));
    const run = (async () => {
      const release = await turn;
      try {
        this.#check();
        await this.#writeInTurn(planned);
      } finally {
        release();
        for (const p of planned) if (p.kind === 'put') p.plaintext?.fill(0);
      }
    })();
    this.#inflight.add(run);
    try {
      await run;
    } finally {
      this.#inflight.delete(run);
    }
  }

  async #writeInTurn(planned: Planned[]): Promise<void> {
    // Seal (creating scopes' data keys as needed) and check sizes: before anything is written.
    for (const scope of new Set(planned.flatMap((p) => (p.kind === 'put' && p.plaintext ? [p.scope] : [])))) {
      await this.#loadDataKey(scope, true);
    }
    for (const p of planned) {
      if (p.kind !== 'put') continue;
      if (p.plaintext) {
        const sealed = this.#env.seal(p.scope, p.uid, p.plaintext);
        p.sealed = b64(sealed);
        p.rawSealed = sealed.length;
        p.plaintext.fill(0);
      }
      const size = dataSize(this.#entryFor(p, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'x'.repeat(24)), p.rawAttributes, p.rawSealed);
      if (size > CONFIGMAP_MAX_BYTES) throw new StoreObjectTooLargeError(p.uid, size);
    }

    // Pre-check every condition of the batch against the cache; re-check against the API before
    // refusing (the cache may lag). A refusal here leaves nothing applied.
    try {
      this.#precheck(planned, (name) => this.#byName.get(name));
    } catch (err) {
      if (!(err instanceof StoreConflictError || err instanceof StoreUidInUseError)) throw err;
      const names = [...new Set(planned.map((p) => p.name))];
      const fresh = new Map<string, Entry | undefined>();
      await Promise.all(names.map(async (n) => fresh.set(n, await this.#fetch(n))));
      this.#precheck(planned, (name) => fresh.get(name));
    }

    const writeId = randomBytes(12).toString('hex');
    const applied: Applied[] = [];
    try {
      for (const p of planned) {
        const a = await this.#applyOne(p, writeId);
        if (a) applied.push(a);
      }
    } catch (err) {
      if (applied.length > 0) await this.#compensate(applied, err);
      throw err;
    }
    for (const a of applied) if (a.p.kind === 'put' && a.after) a.p.record.revision = a.after.revision;
  }

  #entryFor(p: Extract<Planned, { kind: 'put' }>, revision: number, created: number, writeId: string): Omit<Entry, 'rv'> {
    return {
      name: p.name, uid: p.uid, scope: p.scope, objectType: p.objectType, state: p.state, names: p.names,
      attributes: p.attributes, material: p.sealed, revision, created, writeId, owner: p.record.owner,
    };
  }

  /** Checks the batch's conditions in order against `lookup`, each op seeing the ones before it. */
  #precheck(planned: Planned[], lookup: (name: string) => Entry | undefined): void {
    const overlay = new Map<string, { scope: string; uid: string; revision: number } | null>();
    for (const p of planned) {
      const cur = overlay.has(p.name) ? (overlay.get(p.name) ?? undefined) : lookup(p.name);
      if (p.kind === 'delete') {
        if (cur && cur.scope === p.scope && cur.uid === p.uid) overlay.set(p.name, null);
        continue;
      }
      if (cur && (cur.scope !== p.scope || cur.uid !== p.uid)) throw new StoreUidInUseError(p.uid);
      const actual = cur ? cur.revision : 0;
      if (p.expectRevision !== undefined && p.expectRevision !== actual) throw new StoreConflictError(p.uid, p.expectRevision, actual);
      overlay.set(p.name, { scope: p.scope, uid: p.uid, revision: actual + 1 });
    }
  }

  /**
   * Applies one op with compare-and-swap, re-reading and re-deciding when a race is lost.
   * Returns what it changed, or undefined when there was nothing to do (a delete of nothing).
   */
  async #applyOne(p: Planned, writeId: string): Promise<Applied | undefined> {
    let cur = this.#byName.get(p.name);
    let fresh = false;
    let tried: { before: Entry | undefined; revision: number } | undefined;
    let attempt = 1;
    /** Re-reads the current version from the API; after a lost race, first pauses a little. */
    const reread = async (lostRace = false) => {
      if (lostRace) await pause(attempt);
      cur = await this.#fetch(p.name);
      fresh = true;
    };
    for (; ; attempt++) {
      if (attempt > MAX_ATTEMPTS) {
        // Kept losing to other writers: report it as the conflict it is (the caller may retry).
        throw new StoreConflictError(p.uid, tried ? tried.revision - 1 : (cur?.revision ?? 0), cur?.revision ?? 0);
      }
      if (p.kind === 'delete') {
        if (!cur || cur.scope !== p.scope || cur.uid !== p.uid) {
          if (fresh) return undefined;
          await reread();
          continue;
        }
        const before: Entry = cur;
        try {
          const res = await this.#client.request<KubeObject | undefined>('DELETE', `${this.#cmPath}/${p.name}`, {
            body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: before.rv } },
          });
          this.#forget(p.name, res?.metadata?.resourceVersion ?? before.rv);
          return { p, before, after: undefined };
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err;
          if (err.notFound) {
            this.#forget(p.name, before.rv);
            return undefined;
          }
          if (err.conflict) {
            await reread(true);
            continue;
          }
          if (!err.ambiguous) throw err;
          await reread();
          // Gone now: our delete (or another) took effect. Same version still there: it did not.
          if (!cur) return { p, before, after: undefined };
          continue;
        }
      }

      // put. After a lost race or a lost answer, the re-read version may be our own write.
      if (tried && cur && cur.writeId === writeId && cur.revision === tried.revision) return { p, before: tried.before, after: cur };
      if (cur && (cur.scope !== p.scope || cur.uid !== p.uid)) {
        if (!fresh) {
          await reread();
          continue;
        }
        throw new StoreUidInUseError(p.uid);
      }
      const actual = cur ? cur.revision : 0;
      if (p.expectRevision !== undefined && p.expectRevision !== actual) {
        if (!fresh) {
          await reread();
          continue;
        }
        throw new StoreConflictError(p.uid, p.expectRevision, actual);
      }
      const before: Entry | undefined = cur;
      const next = this.#entryFor(p, actual + 1, before ? before.created : p.stamp, writeId);
      tried = { before, revision: next.revision };
      try {
        const res = before
          ? await this.#client.request<ConfigMap>('PUT', `${this.#cmPath}/${p.name}`, {
              body: configMapBody(this.#ns, next, before.rv),
              query: { fieldManager: FIELD_MANAGER },
            })
          : await this.#client.request<ConfigMap>('POST', this.#cmPath, {
              body: configMapBody(this.#ns, next),
              query: { fieldManager: FIELD_MANAGER },
            });
        const after = parseConfigMap(res);
        if (!after) throw new Error(`the API server returned an unreadable ConfigMap for ${p.name}`);
        this.#observe(after);
        return { p, before, after };
      } catch (err) {
        if (!(err instanceof KubeApiError)) throw err;
        // 409: AlreadyExists (create) or a stale resourceVersion (update); 404: deleted under us;
        // ambiguous (no answer, 5xx): the re-read tells whether it took effect.
        if (err.conflict || (err.notFound && before) || err.ambiguous) {
          await reread(err.conflict);
          continue;
        }
        throw err;
      }
    }
  }

  /** Undoes applied ops in reverse order; throws StoreIncompleteWriteError if any cannot be undone. */
  async #compensate(applied: Applied[], cause: unknown): Promise<void> {
    const undoId = randomBytes(12).toString('hex');
    // The version each touched object is at now, as far as this batch knows (null: absent).
    const at = new Map<string, string | null>();
    for (const a of applied) at.set(a.p.name, a.after ? a.after.rv : null);
    const stuck: string[] = [];
    for (const a of [...applied].reverse()) {
      const name = a.p.name;
      const rv = at.get(name) ?? null;
      try {
        if (a.after && !a.before) {
          if (rv === null) throw new Error('unexpected state');
          await this.#client.request('DELETE', `${this.#cmPath}/${name}`, {
            body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: rv } },
          });
          this.#forget(name, rv);
          at.set(name, null);
        } else if (a.before) {
          const restore = { ...a.before, writeId: a.before.writeId ?? undoId };
          const res =
            rv === null
              ? await this.#client.request<ConfigMap>('POST', this.#cmPath, { body: configMapBody(this.#ns, restore), query: { fieldManager: FIELD_MANAGER } })
              : await this.#client.request<ConfigMap>('PUT', `${this.#cmPath}/${name}`, {
                  body: configMapBody(this.#ns, restore, rv),
                  query: { fieldManager: FIELD_MANAGER },
                });
          const e = parseConfigMap(res);
          if (e) this.#observe(e);
          at.set(name, res.metadata?.resourceVersion ?? null);
        }
      } catch (err) {
        stuck.push(a.p.uid);
        this.#log?.error(
          { namespace: this.#ns, uid: a.p.uid, op: a.p.kind, err: (err as Error).message },
          'could not undo an op of a failed write batch; it remains applied',
        );
      }
    }
    if (stuck.length > 0) throw new StoreIncompleteWriteError([...new Set(stuck)], cause);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Writes already accepted finish (or fail) first; no new ones start.
    await Promise.allSettled([...this.#inflight]);
    await this.#reflector.stop();
    this.#env.wipe();
    this.#byName.clear();
    this.#byScope.clear();
    this.#tombstones.clear();
  }
}
