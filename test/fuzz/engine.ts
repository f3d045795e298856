// A structure-aware fuzzer for the dispatcher: it takes the request messages of the OASIS vectors
// (every operation, every version, shapes real clients send), changes them the way a buggy or hostile
// client would (wrong item types, missing and repeated fields, extreme values, another operation's
// payload, foreign tags, flipped bytes) and sends them to a Dispatcher. Whatever arrives, the
// dispatcher must answer with a Response Message the client can read, or (header unreadable) ask
// for the connection to close; it must never throw and never fail with an internal error: each of
// those is a check the server is missing, which a client sees as General Failure and the operator
// as an error in the log. Most requests come from the scope's admin; some from a client of another scope, whose
// successful answers must never name an object of the first; some from a reader role, which must never succeed at
// an operation its role does not allow; and some from a credential with a declared header user (Fred, as in
// TC_111), whose objects no other message may reach, and whose wrong password must fail every item.
//
// Deterministic for a seed, so a failure found once is found again (the report names seed and case).
//
//   node test/fuzz/run.ts [--seed N] [--iterations N]     (the test runs a fixed seed, see fuzz.test.ts)
import { Dispatcher } from '../../kmip-server/dispatcher.ts';
import { MemoryStore } from '../../kmip-server/store/memory.ts';
import { PendingOperations } from '../../kmip-server/async/pending.ts';
import { ALL_PERMISSIONS, OPERATION_PERMISSION } from '../../kmip-server/operations/permissions.ts';
import { decode } from '../../kmip-server/ttlv/reader.ts';
import { encode } from '../../kmip-server/ttlv/writer.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { CredentialType, Operation } from '../../kmip-server/ttlv/enums.ts';
import { hashPassword, parsePasswordHash } from '../../kmip-server/auth/password-hash.ts';
import { ItemType, type ItemTypeCode, type StructureItem, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { elementToTtlv, serializeXml, toXml, type XmlElement } from '../../kmip-server/ttlv/xml.ts';
import type { Identity } from '../../kmip-server/auth/identity.ts';
import { findVectorsDir, listVectorFiles, readVectorSteps } from '../conformance/vectors.ts';
import { VERSIONS, attributeNamesNewerThan, enumValuesNewerThan, tagsNewerThan } from '../helpers/wire-versions.ts';
import { tagByName, type Version } from '../../kmip-server/ttlv/spec/names.ts';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Corpus {
  /** Request messages of the vectors, as XML elements (variables resolved per use). */
  requests: XmlElement[];
  /** Every tag the requests use, for swapping one for another. */
  tags: number[];
}

/** The client-to-server requests of every vector file. */
export function loadCorpus(dir: string = findVectorsDir()): Corpus {
  const requests: XmlElement[] = [];
  for (const f of listVectorFiles(dir)) {
    for (const s of readVectorSteps(f.path)) if (!s.serverToClient) requests.push(s.request);
  }
  const tags = new Set<number>();
  const visit = (it: TtlvItem) => {
    tags.add(it.tag);
    if (it.type === ItemType.Structure) it.value.forEach(visit);
  };
  for (const r of requests.slice(0, 400)) {
    try {
      visit(elementToTtlv(r, { resolveVariable: () => undefined }));
    } catch {
      // a request with variables of a type the placeholder cannot stand for: its tags come from others
    }
  }
  return { requests, tags: [...tags].sort((a, b) => a - b) };
}

export interface Finding {
  /** Which iteration, for reproducing with the same seed. */
  iteration: number;
  kind: 'threw' | 'internal-error' | 'unreadable-response' | 'not-a-response' | 'newer-than-version' | 'other-scope' | 'other-owner' | 'not-allowed';
  detail: string;
  /** The request that caused it, in the XML form of the vectors (bytes as hex when it did not decode). */
  request: string;
}

export interface FuzzReport {
  iterations: number;
  /** Requests answered, by whether the dispatcher closed the connection instead. */
  answered: number;
  closed: number;
  /** Batch items answered Success (the fuzzer also reaches the operations, not only the decoder). */
  successes: number;
  /** Of those, items Fred sent with his header credential (the header user path is exercised too). */
  headerUserSuccesses: number;
  findings: Finding[];
}

const VERSION_PAIRS: Array<[number, number]> = [[1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [2, 0], [2, 1]];
const OPERATIONS = Object.values(Operation) as number[];

/** Values a careless or hostile client sends, per item type. */
function oddLeaf(tag: number, type: ItemTypeCode, r: () => number): TtlvItem {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (type) {
    case ItemType.Integer:
      return { tag, type, value: pick([0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 7, 4096, 65536, 100_000_000]) };
    case ItemType.LongInteger:
      return { tag, type, value: pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 1n << 40n]) };
    case ItemType.BigInteger:
      return { tag, type, value: pick([0n, -1n, 1n, (1n << 4096n) - 1n, -(1n << 100n)]) };
    case ItemType.Enumeration:
      return { tag, type, value: pick([0, 1, 2, 0xffffffff, 0x80000000, 0x7fffffff, Math.floor(r() * 64), 0x80000001]) };
    case ItemType.Boolean:
      return { tag, type, value: r() < 0.5 };
    case ItemType.TextString:
      return {
        tag,
        type,
        value: pick(['', ' ', 'x'.repeat(70_000), '\u0000', 'é\u{1F511}', '../../etc/passwd', '%s%n', '-1', '2147483648', 'AES', 'a\nb']),
      };
    case ItemType.ByteString: {
      const n = pick([0, 1, 7, 15, 16, 17, 31, 32, 33, 64, 255, 4096, 70_000]);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
      return { tag, type, value: b };
    }
    case ItemType.DateTime:
      return { tag, type, value: pick([0, -1, 1, 2 ** 31, 253402300799, 253402300800, -62135596800, Math.floor(Date.now() / 1000)]) };
    case ItemType.Interval:
      return { tag, type, value: pick([0, 1, 0xffffffff, 86400]) };
    case ItemType.DateTimeExtended:
      return { tag, type, value: pick([0n, -1n, 2n ** 63n - 1n, BigInt(Date.now()) * 1000n]) };
    default:
      return { tag, type: ItemType.Structure, value: [] };
  }
}

const LEAF_TYPES: ItemTypeCode[] = [
  ItemType.Integer, ItemType.LongInteger, ItemType.BigInteger, ItemType.Enumeration, ItemType.Boolean,
  ItemType.TextString, ItemType.ByteString, ItemType.DateTime, ItemType.Interval,
];

/** Every item of the tree with its parent (the root has none). */
function nodes(root: TtlvItem): Array<{ item: TtlvItem; parent?: StructureItem; index: number }> {
  const out: Array<{ item: TtlvItem; parent?: StructureItem; index: number }> = [{ item: root, index: -1 }];
  const walk = (s: StructureItem) => {
    s.value.forEach((c, i) => {
      out.push({ item: c, parent: s, index: i });
      if (c.type === ItemType.Structure) walk(c);
    });
  };
  if (root.type === ItemType.Structure) walk(root);
  return out;
}

/** Whether `item` sits somewhere inside a Request Payload of `msg`. */
function underPayload(msg: StructureItem, item: TtlvItem): boolean {
  const search = (s: StructureItem, inside: boolean): boolean => s.value.some((c) => {
    const here = inside || s.tag === Tag.RequestPayload;
    if (c === item) return here;
    return c.type === ItemType.Structure && search(c, here);
  });
  return search(msg, false);
}

function clone(it: TtlvItem): TtlvItem {
  if (it.type === ItemType.Structure) return { ...it, value: it.value.map(clone) };
  if (it.type === ItemType.ByteString) return { ...it, value: Uint8Array.prototype.slice.call(it.value) };
  return { ...it };
}

/** Applies one random change to the message (in place) and says what it was. */
export function mutate(msg: StructureItem, r: () => number, corpus: Corpus): string {
  const all = nodes(msg);
  if (all.length < 2) return 'none';
  // Mostly inside a payload: the header's checks are few, the operations' many.
  const inPayload = nodes(msg).filter((n) => n.parent !== undefined && n.item.tag !== Tag.RequestPayload && underPayload(msg, n.item));
  const pickNode = () => (inPayload.length > 0 && r() < 0.75
    ? inPayload[Math.floor(r() * inPayload.length)]!
    : all[1 + Math.floor(r() * (all.length - 1))]!);
  const choice = Math.floor(r() * 11);
  switch (choice) {
    case 0: { // another leaf type, same tag
      const n = pickNode();
      if (!n.parent) return 'none';
      const type = LEAF_TYPES[Math.floor(r() * LEAF_TYPES.length)]!;
      n.parent.value[n.index] = oddLeaf(n.item.tag, type, r);
      return `retype ${n.item.tag.toString(16)}`;
    }
    case 1: { // an odd value of the same type
      const n = pickNode();
      if (!n.parent || n.item.type === ItemType.Structure) return 'none';
      n.parent.value[n.index] = oddLeaf(n.item.tag, n.item.type, r);
      return `odd value ${n.item.tag.toString(16)}`;
    }
    case 2: { // a field missing
      const n = pickNode();
      if (!n.parent) return 'none';
      n.parent.value.splice(n.index, 1);
      return `drop ${n.item.tag.toString(16)}`;
    }
    case 3: { // a field twice
      const n = pickNode();
      if (!n.parent) return 'none';
      n.parent.value.splice(n.index, 0, clone(n.item));
      return `repeat ${n.item.tag.toString(16)}`;
    }
    case 4: { // another tag in its place
      const n = pickNode();
      if (!n.parent) return 'none';
      const tag = corpus.tags[Math.floor(r() * corpus.tags.length)]!;
      n.parent.value[n.index] = { ...n.item, tag } as TtlvItem;
      return `retag ${n.item.tag.toString(16)}->${tag.toString(16)}`;
    }
    case 5: { // a structure emptied, or a leaf made an empty structure
      const n = pickNode();
      if (!n.parent) return 'none';
      n.parent.value[n.index] = { tag: n.item.tag, type: ItemType.Structure, value: [] };
      return `empty ${n.item.tag.toString(16)}`;
    }
    case 6: { // another operation with this payload
      const ops = all.filter((n) => n.item.tag === Tag.Operation && n.parent);
      if (ops.length === 0) return 'none';
      const n = ops[Math.floor(r() * ops.length)]!;
      const op = OPERATIONS[Math.floor(r() * OPERATIONS.length)]!;
      n.parent!.value[n.index] = { tag: Tag.Operation, type: ItemType.Enumeration, value: op };
      return `operation ${op.toString(16)}`;
    }
    case 7: { // another protocol version
      const pv = all.find((n) => n.item.tag === Tag.ProtocolVersion && n.item.type === ItemType.Structure);
      if (!pv || pv.item.type !== ItemType.Structure) return 'none';
      const [major, minor] = r() < 0.85 ? VERSION_PAIRS[Math.floor(r() * VERSION_PAIRS.length)]! : [Math.floor(r() * 4), Math.floor(r() * 9)];
      pv.item.value = [
        { tag: Tag.ProtocolVersionMajor, type: ItemType.Integer, value: major },
        { tag: Tag.ProtocolVersionMinor, type: ItemType.Integer, value: minor },
      ];
      return `version ${major}.${minor}`;
    }
    case 8: { // a field moved into another structure
      const n = pickNode();
      const structs = all.filter((x) => x.item.type === ItemType.Structure && x.item !== n.item);
      if (!n.parent || structs.length === 0) return 'none';
      const to = structs[Math.floor(r() * structs.length)]!.item as StructureItem;
      if (nodes(n.item).some((x) => x.item === to)) return 'none';
      n.parent.value.splice(n.index, 1);
      to.value.splice(Math.floor(r() * (to.value.length + 1)), 0, n.item);
      return `move ${n.item.tag.toString(16)}`;
    }
    case 9: { // a field of another request grafted in
      const n = pickNode();
      const structs = all.filter((x) => x.item.type === ItemType.Structure);
      const donor = corpus.requests[Math.floor(r() * corpus.requests.length)]!;
      let other: TtlvItem;
      try {
        other = elementToTtlv(donor, { resolveVariable: (_n, type, tag) => oddLeaf(tag, type, r) });
      } catch {
        return 'none';
      }
      const graft = nodes(other);
      const piece = graft[1 + Math.floor(r() * (graft.length - 1))]?.item;
      if (!piece || structs.length === 0) return 'none';
      const to = structs[Math.floor(r() * structs.length)]!.item as StructureItem;
      to.value.splice(Math.floor(r() * (to.value.length + 1)), 0, clone(piece));
      return `graft ${piece.tag.toString(16)} near ${n.item.tag.toString(16)}`;
    }
    default: { // a deep nest
      const n = pickNode();
      if (!n.parent) return 'none';
      let it: TtlvItem = n.item;
      for (let i = 0; i < 1 + Math.floor(r() * 40); i++) it = { tag: n.item.tag, type: ItemType.Structure, value: [it] };
      n.parent.value[n.index] = it;
      return `nest ${n.item.tag.toString(16)}`;
    }
  }
}

export interface FuzzOptions {
  seed: number;
  iterations: number;
  corpus?: Corpus;
  /** Called after each case (progress). */
  onCase?: (i: number) => void;
}

/**
 * Runs the fuzzer: first every corpus request unchanged (so objects, pairs, certificates and
 * streams exist to be named), then `iterations` changed ones. Identifiers the vectors leave as
 * variables are filled with identifiers the server has handed out so far.
 */
export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const corpus = opts.corpus ?? loadCorpus();
  const r = prng(opts.seed);
  const store = new MemoryStore();
  const internal: unknown[] = [];
  const pending = new PendingOperations({ startDelayMs: 5, pollWaitMs: 5, resultTtlMs: 5_000 }, (err) => internal.push(err));
  const dispatcher = new Dispatcher({
    store,
    pending,
    limits: { maxMessageBytes: 1 << 20, maxDepth: 32, maxItems: 100_000, maxBatchItems: 64 },
    server: { vendorIdentification: 'kube-kmip-fuzz', serverInformation: 'fuzz', leaseSeconds: 3600 },
    onInternalError: (err) => internal.push(err),
  });
  const identity = (scope: string, name: string, operations: readonly string[]): Identity => ({
    scopeId: scope, roleId: `${name}-role`, scopeName: `ns/${scope}`, roleName: `ns/${name}`, credentialName: `ns/${name}`, credentialId: `${name}-cred`,
    operations: new Set(operations),
  });
  // Most requests come from the scope's admin. Some come from a client of another scope, who must never reach an
  // object of this one, and some from a client of this scope whose role allows reading only.
  const owner = identity('fuzz', 'admin', ALL_PERMISSIONS);
  const stranger = identity('elsewhere', 'stranger', ALL_PERMISSIONS);
  const READER_OPERATIONS = new Set<number>([Operation.Get, Operation.GetAttributes, Operation.Locate]);
  const reader = identity('fuzz', 'reader', [...READER_OPERATIONS].map((op) => OPERATION_PERMISSION[op]!));
  // A credential of this scope with a declared header user, as TC_111 uses: what Fred makes is Fred's alone.
  const fred: Identity = {
    ...identity('fuzz', 'fred', ALL_PERMISSIONS),
    headerCredentials: [{ kind: 'user', username: 'Fred', passwordHash: parsePasswordHash(await hashPassword('password1', { ln: 10, r: 8, p: 1 })) }],
  };
  const uids: string[] = [];
  const ownerUids = new Set<string>();
  /** Identifiers first seen in Fred's answers (his objects, mostly): more to aim the others' requests at. */
  const fredUids = new Set<string>();
  const bytesSeen: Uint8Array[] = [];
  const remember = (it: TtlvItem) => {
    if (it.tag === Tag.UniqueIdentifier && it.type === ItemType.TextString && !ownerUids.has(it.value)) {
      ownerUids.add(it.value);
      if (uids.length < 500) uids.push(it.value);
    } else if ((it.tag === Tag.CorrelationValue || it.tag === Tag.AsynchronousCorrelationValue) && it.type === ItemType.ByteString && bytesSeen.length < 100) bytesSeen.push(it.value);
    if (it.type === ItemType.Structure) it.value.forEach(remember);
  };
  const resolve = (_name: string, type: ItemTypeCode, tag: number): TtlvItem | undefined => {
    if (type === ItemType.TextString && uids.length > 0 && r() < 0.9) return { tag, type, value: uids[Math.floor(r() * uids.length)]! };
    if (type === ItemType.ByteString && bytesSeen.length > 0 && r() < 0.7) return { tag, type, value: bytesSeen[Math.floor(r() * bytesSeen.length)]! };
    if (type === ItemType.DateTime) return { tag, type, value: Math.floor(Date.now() / 1000) };
    return oddLeaf(tag, type, r);
  };
  const rememberFred = (it: TtlvItem) => {
    if (it.tag === Tag.UniqueIdentifier && it.type === ItemType.TextString && !ownerUids.has(it.value) && !fredUids.has(it.value)) {
      fredUids.add(it.value);
      if (uids.length < 600) uids.push(it.value);
    }
    if (it.type === ItemType.Structure) it.value.forEach(rememberFred);
  };
  /** Unique Identifiers of `set` anywhere in a payload. */
  const allUids = { has: (_: string) => true };
  const uidsIn = (set: { has(uid: string): boolean }, it: TtlvItem, out: string[] = []): string[] => {
    if (it.tag === Tag.UniqueIdentifier && it.type === ItemType.TextString && set.has(it.value)) out.push(it.value);
    if (it.type === ItemType.Structure) for (const c of it.value) uidsIn(set, c, out);
    return out;
  };
  const authentication = (password: string): StructureItem => ({
    tag: Tag.Authentication,
    type: ItemType.Structure,
    value: [{
      tag: Tag.Credential,
      type: ItemType.Structure,
      value: [
        { tag: Tag.CredentialType, type: ItemType.Enumeration, value: CredentialType.UsernameAndPassword },
        { tag: Tag.CredentialValue, type: ItemType.Structure, value: [
          { tag: Tag.Username, type: ItemType.TextString, value: 'Fred' },
          { tag: Tag.Password, type: ItemType.TextString, value: password },
        ] },
      ],
    }],
  });

  const report: FuzzReport = { iterations: 0, answered: 0, closed: 0, successes: 0, headerUserSuccesses: 0, findings: [] };
  const send = async (iteration: number, frame: Uint8Array, shown: () => string, who: Identity = owner, auth: 'none' | 'right' | 'wrong' = 'none') => {
    internal.length = 0;
    let out: Buffer | null;
    try {
      out = await dispatcher.handle(frame, who);
    } catch (err) {
      report.findings.push({ iteration, kind: 'threw', detail: describe(err), request: shown() });
      return;
    }
    for (const err of internal) report.findings.push({ iteration, kind: 'internal-error', detail: describe(err), request: shown() });
    if (out === null) {
      report.closed++;
      return;
    }
    report.answered++;
    let msg: TtlvItem;
    try {
      msg = decode(out);
    } catch (err) {
      report.findings.push({ iteration, kind: 'unreadable-response', detail: describe(err), request: shown() });
      return;
    }
    if (msg.tag !== Tag.ResponseMessage || msg.type !== ItemType.Structure) {
      report.findings.push({ iteration, kind: 'not-a-response', detail: `tag ${msg.tag.toString(16)}`, request: shown() });
      return;
    }
    if (who === owner) remember(msg);
    if (who === fred && auth === 'right') rememberFred(msg);
    // Nothing newer than the answer's own version (a client of that version could not read it).
    const version = responseVersionOf(msg);
    if (version) {
      // Custom attributes are the client's own data (any name, any value), stored and returned as they came; so is
      // the Operation a batch item echoes (whatever the client asked for, answered Operation Not Supported).
      const own = withoutCustomValues(msg);
      const names = version.startsWith('1.') ? attributeNamesNewerThan(own, version).filter((n) => !n.endsWith('(not a KMIP attribute)')) : [];
      const newer = [...tagsNewerThan(own, version), ...names, ...enumValuesNewerThan(withoutAttributeEchoes(own), version).filter(checkedEnum)];
      if (newer.length > 0) report.findings.push({ iteration, kind: 'newer-than-version', detail: `${version}: ${newer.slice(0, 3).join(', ')}`, request: shown() });
    }
    for (const b of msg.value) {
      if (b.tag !== Tag.BatchItem || b.type !== ItemType.Structure) continue;
      if (!b.value.some((x) => x.tag === Tag.ResultStatus && x.type === ItemType.Enumeration && x.value === 0)) continue;
      report.successes++;
      if (who === fred && auth === 'right') report.headerUserSuccesses++;
      const op = b.value.find((x) => x.tag === Tag.Operation);
      const payload = b.value.find((x) => x.tag === Tag.ResponsePayload);
      if (who === stranger && payload) {
        const leaked = [...uidsIn(ownerUids, payload), ...uidsIn(fredUids, payload)];
        if (leaked.length > 0) report.findings.push({ iteration, kind: 'other-scope', detail: `another scope's client got ${leaked[0]} (operation ${op?.value})`, request: shown() });
      }
      if (who !== fred && payload) {
        // The store says who owns each object named: nothing owned by a header user may reach anyone else.
        for (const uid of uidsIn(allUids, payload)) {
          if (uid === '') continue; // echoed from the request (no object has it; the store refuses it as a key)
          const rec = await store.get(who.scopeId, uid);
          if (rec?.owner !== undefined) {
            report.findings.push({ iteration, kind: 'other-owner', detail: `a message without Fred's header credential got his ${uid} (operation ${op?.value})`, request: shown() });
            break;
          }
        }
      }
      if (who === fred && auth === 'wrong') {
        report.findings.push({ iteration, kind: 'not-allowed', detail: `a wrong header password, yet operation ${op?.value} succeeded`, request: shown() });
      }
      if (who === reader && (op?.type !== ItemType.Enumeration || !READER_OPERATIONS.has(op.value))) {
        report.findings.push({ iteration, kind: 'not-allowed', detail: `a role allowed ${[...READER_OPERATIONS].join(', ')} succeeded with operation ${op?.value}`, request: shown() });
      }
    }
  };

  try {
    // The corpus as it is: builds up keys, pairs, certificates, split keys, streams to aim at.
    for (const el of corpus.requests) {
      let req: TtlvItem;
      try {
        req = elementToTtlv(el, { resolveVariable: resolve });
      } catch {
        continue;
      }
      await send(-1, encode(req), () => serializeXml(el));
    }
    for (let i = 0; i < opts.iterations; i++) {
      const el = corpus.requests[Math.floor(r() * corpus.requests.length)]!;
      let req: TtlvItem;
      try {
        req = elementToTtlv(el, { resolveVariable: resolve });
      } catch {
        continue;
      }
      if (req.type !== ItemType.Structure) continue;
      const changes = 1 + Math.floor(r() * 3);
      for (let k = 0; k < changes; k++) mutate(req, r, corpus);
      let frame: Uint8Array;
      try {
        frame = encode(req);
      } catch {
        continue; // a value the writer refuses (the fuzzer's own doing), not something a client can send
      }
      const pick = r();
      const who = pick < 0.6 ? owner : pick < 0.75 ? stranger : pick < 0.87 ? reader : fred;
      // Fred's messages carry his header credential, put in after the changes so it stays as sent; one in five
      // with a wrong password. (None of his bytes are flipped: a flipped header could stop being a header.)
      let auth: 'none' | 'right' | 'wrong' = 'none';
      if (who === fred) {
        const header = req.value.find((c) => c.tag === Tag.RequestHeader);
        if (header?.type === ItemType.Structure && !header.value.some((c) => c.tag === Tag.Authentication)) {
          auth = r() < 0.8 ? 'right' : 'wrong';
          header.value.splice(Math.min(1, header.value.length), 0, authentication(auth === 'right' ? 'password1' : 'password2'));
        }
        try {
          frame = encode(req);
        } catch {
          continue;
        }
      }
      let shown = () => toXml(req);
      if (who !== fred && r() < 0.1) {
        // Bytes a broken TTLV writer would send: flips after the outer header.
        const b = Uint8Array.prototype.slice.call(frame) as Uint8Array;
        for (let k = 0; k < 1 + Math.floor(r() * 4); k++) b[8 + Math.floor(r() * (b.length - 8))] = Math.floor(r() * 256);
        frame = b;
        shown = () => Buffer.from(b).toString('hex');
      }
      await send(i, frame, shown, who, auth);
      report.iterations++;
      opts.onCase?.(i);
    }
  } finally {
    await pending.close();
    await store.close();
  }
  return report;
}

/**
 * Enumeration values the version check looks at. Left out: the Operation a batch item echoes; values of the
 * attribute an attribute-writing operation echoes (the client's own, at its own version); and fields of an object's
 * body (its Key Block's Cryptographic Algorithm, a Split Key's method), which go back as stored: a 1.0 client that
 * asks for an EC key gets Cryptographic Algorithm EC (1.2), since a Key Block without its algorithm is invalid.
 */
function checkedEnum(path: string): boolean {
  if (path.startsWith('/Response Message/Batch Item/Operation =')) return false;
  if (/\/Response Payload\/(Symmetric Key|Private Key|Public Key|Split Key|Secret Data|PGP Key|Template)\//.test(path)) return false;
  return true;
}

/** Attribute-writing operations answer with the attribute the client sent; their batch items are left out. */
const ATTRIBUTE_WRITES = new Set<number>([Operation.AddAttribute, Operation.ModifyAttribute, Operation.DeleteAttribute, Operation.SetAttribute, Operation.AdjustAttribute]);
function withoutAttributeEchoes(msg: TtlvItem): TtlvItem {
  if (msg.type !== ItemType.Structure) return msg;
  return {
    ...msg,
    value: msg.value.filter((b) => {
      if (b.tag !== Tag.BatchItem || b.type !== ItemType.Structure) return true;
      const op = b.value.find((x) => x.tag === Tag.Operation);
      return !(op?.type === ItemType.Enumeration && ATTRIBUTE_WRITES.has(op.value));
    }),
  };
}

/** `msg` with the values of custom (non-standard) attributes left out. */
function withoutCustomValues(it: TtlvItem): TtlvItem {
  if (it.type !== ItemType.Structure) return it;
  if (it.tag === Tag.Attribute) {
    const name = it.value.find((c) => c.tag === Tag.AttributeName);
    const vendor = it.value.some((c) => c.tag === Tag.VendorIdentification);
    if (vendor || (name?.type === ItemType.TextString && !tagByName(name.value))) return { ...it, value: it.value.filter((c) => c.tag !== Tag.AttributeValue) };
  }
  return { ...it, value: it.value.map(withoutCustomValues) };
}

/** The answer's Protocol Version when it is one this server speaks. */
function responseVersionOf(msg: StructureItem): Version | undefined {
  const header = msg.value.find((c) => c.tag === Tag.ResponseHeader);
  const pv = header?.type === ItemType.Structure ? header.value.find((c) => c.tag === Tag.ProtocolVersion) : undefined;
  if (pv?.type !== ItemType.Structure) return undefined;
  const num = (t: number) => {
    const x = pv.value.find((c) => c.tag === t);
    return x?.type === ItemType.Integer ? x.value : undefined;
  };
  const v = `${num(Tag.ProtocolVersionMajor)}.${num(Tag.ProtocolVersionMinor)}` as Version;
  return VERSIONS.includes(v) ? v : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return String(err);
}
