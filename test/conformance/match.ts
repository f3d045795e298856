/**
 * Compares a server's actual response (TTLV) with the expected response of a test vector (XML), binding the
 * vector's variables on the way.
 *
 * The rules, and every leniency they allow:
 *
 * - Shape. Every expected field must be present in the actual response with the same tag, item type and value,
 *   in the expected order (an in-order subsequence: the first actual item with that tag which matches is
 *   taken, so repeated tags are tried in turn). Result Status and Result Reason are ordinary fields, so
 *   they must be equal.
 * - Extra actual fields are allowed (servers may return more: optional attributes, a Result Reason on
 *   success, vendor data), EXCEPT a tag newer than the request's protocol version, anywhere in an extra
 *   subtree or among the children of a matched structure: a 1.x client does not know 2.x tags, and that is
 *   the interop failure that matters. Tags are dated by `since` from the generated spec tables.
 * - Order-insensitive lists: the payload of Get Attributes and Get Attribute List (the attributes, the
 *   2.x Attributes structure's children, the Attribute Names / References), the payload of Query (the
 *   Operation, Object Type... lists) and the Unique Identifiers of a Locate payload compare as sets: each
 *   expected item must match a distinct actual item, in any order. The spec fixes no order for these.
 * - Attribute Index numbering of an object the server generated: in a 1.x Get Attributes payload about such an
 *   object, the instances of an attribute the vector lists more than once match by value, and their expected
 *   indices must all occur among the actual instances, but which value has which index is not compared: the
 *   server numbers the instances it creates together (1.4 §2.1.1), e.g. Re-certify's copied and new Links
 *   (TC_134: v1.1 and v1.2 record opposite numberings). A single listed instance keeps its exact index.
 * - Query's Operation and Object Type lists describe the recording server: an expected entry may be absent
 *   when this server does not implement it (the actual list must still name some); extra entries are allowed
 *   as for any list. kmip-server/operations/query.test.ts checks the list is exactly the registered handlers
 *   the caller may run at the request's version.
 * - Variables. `$NAME` in an expected value binds to the actual value the first time it is seen and must be
 *   equal on every later use (in responses) and is sent back where a later request names it (a variable a
 *   request names that no expected response did takes the latest actual value of a field with the same tag:
 *   some vectors record a literal where they meant `$DATA_0` or `$MAC_DATA`). For
 *   `$UNIQUE_IDENTIFIER_N` the value must also differ from the other identifiers already bound (the Nth
 *   distinct identifier). `$NOW`, `$NOW+N`, `$NOW-N` are never bound: an actual DateTime matches when it lies
 *   within [file start + N - slack, now + N + slack] (slack 5 s by default): the server produced it while this
 *   file ran, or echoed a value the client computed the same way.
 * - Dates. A literal DateTime / DateTimeExtended in an expected response (the vectors' 2009-2020 dates, when
 *   the recording was made) compares by presence and type only, EXCEPT when the client itself sent that same
 *   literal for the same field earlier in the file (the same tag, or for a 1.x AttributeValue the same
 *   Attribute Name): a date the client set must come back exactly. The response header's Time Stamp is
 *   likewise presence and type only (or $NOW within the tolerance).
 * - Server randomness. Byte strings (and Big Integers) the server derived from material it generated compare
 *   by presence and type only: everything in an RNG Retrieve payload; everything in a batch item whose actual
 *   payload names (Unique / Private Key / Public Key Identifier) an object the server generated earlier in the
 *   run (an identifier bound while matching a Create, Create Key Pair, Re-key, Re-key Key Pair, Derive Key,
 *   Create Split Key, Join Split Key, Certify or Re-certify response; kept across the files of a run, which
 *   share the server): its key material, digests, ciphertexts, signatures, MACs; and everything in a batch item
 *   whose expected payload has an IV/Counter/Nonce the request did not send (the server chose the IV, so the
 *   ciphertext differs). Bytes of registered (client-supplied) keys, and what the server computes from them
 *   deterministically, compare exactly.
 * - Server-chosen content: Result Message (text ignored; it may also be absent), Server Correlation Value
 *   (text ignored; may be absent), Vendor Identification (text ignored), Query's Asynchronous Capability (the
 *   recording server had none; asynchronous processing is optional and this one offers it), Server Information (contents
 *   ignored, not checked for newer tags), the Random Number Generator attribute (present, but its contents
 *   describe the server's own RNG: ANSI X9.31 for the recording server, a DRBG for another), an Attribute Index of 0 (may be absent: 1.x servers may omit the
 *   default index).
 * - Randomized ciphertexts: RSA-OAEP only. An Encrypt answer's Data that differs from the recorded bytes passes when
 *   the runner supplies `randomizedCiphertext` for that request (an Encrypt under an RSA public key with OAEP
 *   parameters whose private key the vectors register, see oaep.ts) and the actual ciphertext decrypts to the
 *   request's Data; otherwise it fails as any other value. Every other ciphertext compares byte for byte.
 * - Server-to-client requests (Put, Notify: the server sends them, the run plays the client) are matched
 *   with the same rules as a response, the expected Request Message against the one received; their
 *   payload compares as a set (the spec fixes no order for the attributes they carry), and a Put of a
 *   key the server generated carries server randomness like a Get of it.
 * - Extracted vectors. With `collapseWhitespace` (the 1.0-1.2 vectors, extracted from documents, have runs of
 *   spaces such as "Cryptographic   Length"), text compares with whitespace runs collapsed.
 */
import { ItemType, type ItemTypeCode, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import {
  formatLeafText,
  itemTypeByName,
  itemTypeName,
  parseLeafText,
  resolveTag,
  tagLabel,
  type ValueContext,
  type XmlElement,
} from '../../kmip-server/ttlv/xml.ts';
import { tagByName, tagSince } from '../../kmip-server/ttlv/spec/names.ts';
import type { RandomizedCiphertext } from './oaep.ts';

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export interface Mismatch {
  /** Where, e.g. "ResponseMessage/BatchItem/ResponsePayload/UniqueIdentifier". */
  path: string;
  message: string;
  expected?: string;
  actual?: string;
  /** The actual batch item's result when it was not a success, to explain the mismatch. */
  note?: string;
}

export interface MatchOptions {
  /** Protocol version of the request this response answers. */
  requestVersion: ProtocolVersion;
  /** Collapse whitespace runs in text before comparing (the 1.0-1.2 vectors). */
  collapseWhitespace?: boolean;
  /** Seconds of slack for $NOW; default 5. */
  nowSlack?: number;
  /** The request sent (TTLV), to tell server-generated IVs from client-given ones. */
  request?: TtlvItem;
  /** For an Encrypt under an RSA-OAEP key: checks the actual ciphertext by decryption (oaep.ts). */
  randomizedCiphertext?: RandomizedCiphertext;
}

const TAG = {
  Attribute: tagOf('Attribute'),
  AttributeName: tagOf('Attribute Name'),
  AttributeValue: tagOf('Attribute Value'),
  AttributeIndex: tagOf('Attribute Index'),
  Attributes: tagOf('Attributes'),
  BatchItem: tagOf('Batch Item'),
  Operation: tagOf('Operation'),
  ResponsePayload: tagOf('Response Payload'),
  ResultStatus: tagOf('Result Status'),
  ResultReason: tagOf('Result Reason'),
  ResultMessage: tagOf('Result Message'),
  TimeStamp: tagOf('Time Stamp'),
  ServerCorrelationValue: tagOf('Server Correlation Value'),
  VendorIdentification: tagOf('Vendor Identification'),
  AsynchronousCapability: tagOf('Asynchronous Capability'),
  ServerInformation: tagOf('Server Information'),
  UniqueIdentifier: tagOf('Unique Identifier'),
  RequestPayload: tagOf('Request Payload'),
  RandomNumberGenerator: tagOf('Random Number Generator'),
  IVCounterNonce: tagOf('IV/Counter/Nonce'),
  Data: tagOf('Data'),
};

function tagOf(name: string): number {
  const t = tagByName(name);
  if (!t) throw new Error(`spec tables lack the tag ${name}`);
  return t.tag;
}

/** Operations whose response payload lists compare as sets. */
const SET_PAYLOADS = new Set(['GetAttributes', 'GetAttributeList', 'Query', 'Locate']);
/** Server-to-client requests whose payload compares as a set (the attributes a Put or Notify carries). */
const SET_REQUEST_PAYLOADS = new Set(['Put', 'Notify']);

const NOW_RE = /^NOW(?:([+-])(\d+))?$/;

const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Variables of one vector file: what responses bound, plus the clock and the dates the client sent. */
export class Scope {
  vars = new Map<string, TtlvItem>();
  /** Seconds since the epoch when the file started. */
  readonly fileStart: number;
  readonly clock: () => number;
  /** Literal DateTime values the client sent, by the field's tag (the attribute's tag for a 1.x AttributeValue). */
  readonly clientDates = new Map<number, Set<number>>();
  /**
   * Identifiers (actual values) of objects the server generated (Create, Create Key Pair, Re-key...). Shared by
   * the files of a run, as the server is: a key created in one file may be read in the next (TL-M-2, TL-M-3).
   */
  readonly generatedIds: Set<string>;
  /** The latest leaf of each tag in the actual responses so far (see resolveForRequest). */
  readonly lastSeen = new Map<number, TtlvItem>();

  constructor(opts: { clock?: () => number; fileStart?: number; generatedIds?: Set<string> } = {}) {
    this.generatedIds = opts.generatedIds ?? new Set();
    this.clock = opts.clock ?? (() => Math.floor(Date.now() / 1000));
    this.fileStart = opts.fileStart ?? this.clock();
  }

  /** Value for a `$NAME` in a request: $NOW±N is computed, anything else must have been bound by a response. */
  resolveForRequest(name: string, type: ItemTypeCode, tag: number): TtlvItem | undefined {
    const now = NOW_RE.exec(name);
    if (now) {
      const off = now[1] === undefined ? 0 : (now[1] === '-' ? -1 : 1) * Number(now[2]);
      const t = this.clock() + off;
      if (type === ItemType.DateTime) return { tag, type, value: t };
      if (type === ItemType.DateTimeExtended) return { tag, type, value: BigInt(t) * 1_000_000n };
      return undefined;
    }
    let v = this.vars.get(name);
    if (v === undefined) {
      // The vectors sometimes record a literal in the response where a later request names a variable
      // ($DATA_0 after an Encrypt with a random IV, $MAC_DATA after a MAC): bind it to the latest value the
      // server returned in a field of the same tag and type.
      const seen = this.lastSeen.get(tag);
      if (seen !== undefined && seen.type === type) {
        this.vars.set(name, seen);
        v = seen;
      }
    }
    return v === undefined ? undefined : ({ ...v, tag } as TtlvItem);
  }

  /** Records the leaves of an actual response (the latest of each tag wins). */
  noteResponse(item: TtlvItem): void {
    if (item.type === ItemType.Structure) for (const c of item.value) this.noteResponse(c);
    else this.lastSeen.set(item.tag, item);
  }

  /** Records the literal dates of a request (element form), so their echoes compare exactly. */
  noteRequest(el: XmlElement, attributeName?: string): void {
    if (el.attrs.type === 'DateTime' && el.attrs.value !== undefined && !el.attrs.value.startsWith('$')) {
      const tag = resolveTag(el.name, el.attrs.tag);
      const key = tag === TAG.AttributeValue && attributeName !== undefined ? tagByName(attributeName)?.tag : tag;
      if (key === undefined || tag === undefined) return;
      try {
        const v = parseLeafText(tag, ItemType.DateTime, el.attrs.value).value as number;
        let set = this.clientDates.get(key);
        if (!set) this.clientDates.set(key, (set = new Set()));
        set.add(v);
      } catch {
        // an unreadable date in a request fails when the request is built
      }
      return;
    }
    const an = el.children.find((c) => c.name === 'AttributeName')?.attrs.value;
    for (const c of el.children) this.noteRequest(c, el.name === 'Attribute' ? an : undefined);
  }
}

interface Ctx {
  path: string;
  attributeName?: string;
  /** XML name of the enclosing batch item's operation. */
  operation?: string;
  /** Inside a GetAttributes payload. */
  inGetAttributes?: boolean;
  /** Inside a batch item whose byte strings the server produced from random material (see the header). */
  serverRandom?: boolean;
  /** The Attribute Name of the 1.x Attribute this item is inside, at any depth. */
  inAttribute?: string;
  /** Directly inside a Response Payload. */
  inPayload?: boolean;
}

interface State {
  scope: Scope;
  opts: MatchOptions;
  reqVersion: string;
  /** Expected batch items by position, to find the request's batch item of the same position. */
  batchIndex: Map<XmlElement, number>;
  /** Leaves matched so far: how far a failed candidate got, to report the closest one. */
  progress: number;
}

const versionKey = (v: string): number => {
  const [a, b] = v.split('.').map(Number);
  return (a ?? 0) * 1000 + (b ?? 0);
};

/**
 * Matches one actual response against the expected ResponseMessage element. Returns the first mismatch, or
 * undefined. Variables bound by a successful match stay bound in `scope`; a failed match may leave the
 * bindings it made before the mismatch.
 */
export function matchResponse(expected: XmlElement, actual: TtlvItem, scope: Scope, opts: MatchOptions): Mismatch | undefined {
  const batchIndex = new Map<XmlElement, number>();
  expected.children.filter((c) => c.name === 'BatchItem').forEach((b, i) => batchIndex.set(b, i));
  const st: State = { scope, opts, reqVersion: `${opts.requestVersion.major}.${opts.requestVersion.minor}`, batchIndex, progress: 0 };
  const tag = resolveTag(expected.name, expected.attrs.tag);
  if (tag !== actual.tag) {
    return { path: expected.name, message: 'different message', expected: expected.name, actual: tagLabel(actual.tag) };
  }
  const m = matchItem(expected, actual, { path: expected.name }, st);
  if (m && !m.note && actual.type === ItemType.Structure) {
    // Explain a mismatch outside the batch items (a Batch Count, say) by the items that failed.
    const notes = actual.value.filter((c) => c.tag === TAG.BatchItem).map(resultNote).filter((n) => n !== undefined);
    if (notes.length > 0) m.note = notes.join('; ');
  }
  return m;
}

/** Operations whose new objects (and everything computed from them) come from the server's randomness. */
const GENERATING = new Set(['Create', 'CreateKeyPair', 'ReKey', 'ReKeyKeyPair', 'DeriveKey', 'CreateSplitKey', 'JoinSplitKey', 'Certify', 'ReCertify']);

/**
 * A Locate for a fresh group member may make the key it returns (KMIP 1.1 §4.9, Object Group Member):
 * the server generated it, so its material is the server's randomness too.
 */
function asksForFreshMember(st: State): boolean {
  const req = st.opts.request;
  if (req?.type !== ItemType.Structure) return false;
  const seek = (i: TtlvItem): boolean => i.tag === tagOf('Object Group Member') || (i.type === ItemType.Structure && i.value.some(seek));
  return req.value.some(seek);
}

const TAG_CORRELATION_VALUE = tagOf('Correlation Value');
const TAG_ASYNC_CORRELATION_VALUE = tagOf('Asynchronous Correlation Value');

/** Whether the request this response answers carries `tag` anywhere. */
function requestCarries(st: State, tag: number): boolean {
  const req = st.opts.request;
  if (req?.type !== ItemType.Structure) return false;
  const seek = (i: TtlvItem): boolean => i.tag === tag || (i.type === ItemType.Structure && i.value.some(seek));
  return req.value.some(seek);
}

/** Tags that name a managed object in a payload. */
const ID_TAGS = new Set([TAG.UniqueIdentifier, tagOf('Private Key Unique Identifier'), tagOf('Public Key Unique Identifier')]);

/**
 * Is this batch item's output random from the client's point of view? True for RNG Retrieve, for an item whose
 * actual payload names an object the server generated (in this run), and for an item whose expected payload
 * carries an IV/Counter/Nonce the request did not send (the server chose the IV).
 */
function serverRandom(expItem: XmlElement, actItem: TtlvItem, op: string | undefined, st: State): boolean {
  if (op === 'RNGRetrieve') return true;
  // A server-to-client request (Put, Notify) is matched like a response: its payload is the server's.
  const payload = expItem.children.find((c) => c.name === 'ResponsePayload' || c.name === 'RequestPayload');
  if (!payload) return false;
  const payloadTag = payload.name === 'RequestPayload' ? TAG.RequestPayload : TAG.ResponsePayload;
  const actPayload = actItem.type === ItemType.Structure ? actItem.value.find((c) => c.tag === payloadTag) : undefined;
  if (actPayload?.type === ItemType.Structure) {
    for (const c of actPayload.value) {
      if (ID_TAGS.has(c.tag) && c.type === ItemType.TextString && st.scope.generatedIds.has(c.value)) return true;
    }
  }
  if (payload.children.some((c) => c.name === 'IVCounterNonce')) {
    const req = st.opts.request;
    const i = st.batchIndex.get(expItem) ?? 0;
    const reqItem = req?.type === ItemType.Structure ? req.value.filter((c) => c.tag === TAG.BatchItem)[i] : undefined;
    const reqPayload = reqItem?.type === ItemType.Structure ? reqItem.value.find((c) => c.tag === TAG.RequestPayload) : undefined;
    const sentIv = reqPayload?.type === ItemType.Structure && reqPayload.value.some((c) => c.tag === TAG.IVCounterNonce);
    if (!sentIv) return true;
  }
  return false;
}

function matchItem(exp: XmlElement, act: TtlvItem, ctx: Ctx, st: State): Mismatch | undefined {
  const tag = act.tag;
  const typeName = exp.attrs.type ?? 'Structure';
  const type = itemTypeByName(typeName);
  if (type === undefined) return { path: ctx.path, message: `the vector has an unknown type "${typeName}"` };
  if (act.type !== type) {
    return { path: ctx.path, message: 'different item type', expected: typeName, actual: itemTypeName(act.type) };
  }
  if (act.type === ItemType.Structure) {
    if (tag === TAG.ServerInformation) return undefined;
    // The Random Number Generator attribute describes the server's own RNG: present, contents its choice.
    if (tag === TAG.RandomNumberGenerator) return undefined;
    if (tag === TAG.AttributeValue && ctx.attributeName !== undefined && tagByName(ctx.attributeName)?.tag === TAG.RandomNumberGenerator) return undefined;
    const child: Ctx = { path: ctx.path };
    if (ctx.operation !== undefined) child.operation = ctx.operation;
    if (ctx.inGetAttributes) child.inGetAttributes = true;
    if (ctx.serverRandom) child.serverRandom = true;
    if (ctx.inAttribute !== undefined) child.inAttribute = ctx.inAttribute;
    if (tag === TAG.ResponsePayload) child.inPayload = true;
    let setMode = false;
    if (tag === TAG.BatchItem) {
      const op = exp.children.find((c) => c.name === 'Operation')?.attrs.value;
      if (op !== undefined) child.operation = op;
      else delete child.operation;
      if (serverRandom(exp, act, op, st)) child.serverRandom = true;
    }
    if (tag === TAG.Attribute) {
      const an = exp.children.find((c) => resolveTag(c.name, c.attrs.tag) === TAG.AttributeName)?.attrs.value;
      if (an !== undefined) {
        child.attributeName = an;
        child.inAttribute = an;
      }
    }
    if (tag === TAG.ResponsePayload && child.operation !== undefined && SET_PAYLOADS.has(child.operation)) {
      setMode = true;
      if (child.operation === 'GetAttributes') child.inGetAttributes = true;
    }
    if (tag === TAG.RequestPayload && child.operation !== undefined && SET_REQUEST_PAYLOADS.has(child.operation)) setMode = true;
    if (tag === TAG.Attributes && ctx.inGetAttributes) setMode = true;
    if (tag === TAG.ResponsePayload && child.operation === 'GetAttributes' && child.serverRandom) {
      return matchServerIndexed(exp.children, act.value, child, st);
    }
    const m = matchChildren(exp.children, act.value, setMode, child, st);
    if (m && tag === TAG.BatchItem && !m.note) {
      const note = resultNote(act);
      if (note) m.note = note;
    }
    return m;
  }
  const m = matchLeaf(exp, act, ctx, st);
  if (!m) st.progress++;
  return m;
}

const attrName = (e: XmlElement): string | undefined =>
  e.children.find((c) => resolveTag(c.name, c.attrs.tag) === TAG.AttributeName)?.attrs.value;
const expectedIndex = (e: XmlElement): number =>
  Number(e.children.find((c) => resolveTag(c.name, c.attrs.tag) === TAG.AttributeIndex)?.attrs.value ?? '0');
function actualIndex(a: TtlvItem): number {
  const i = a.type === ItemType.Structure ? a.value.find((c) => c.tag === TAG.AttributeIndex) : undefined;
  return i?.type === ItemType.Integer ? i.value : 0;
}
function actualName(a: TtlvItem): string | undefined {
  const n = a.type === ItemType.Structure ? a.value.find((c) => c.tag === TAG.AttributeName) : undefined;
  return n?.type === ItemType.TextString ? n.value : undefined;
}

/**
 * A 1.x Get Attributes payload about an object the server generated in this run (Create, Certify, Re-certify...):
 * the server numbered the instances of a multi-instance attribute it created together (Re-certify's copied Name
 * and Links beside the new ones), and the spec leaves that numbering to it (1.4 §2.1.1: "an index number assigned
 * by the key management server"; v1.1 and v1.2 of TC_134 record opposite numberings). So for an attribute the
 * vector lists more than once, each expected instance must match a distinct actual one by value, and the expected
 * Attribute Index values must all be among the actual instances' indices, but which value carries which index is
 * not compared. An attribute listed once keeps its exact index.
 */
function matchServerIndexed(expKids: XmlElement[], actKids: TtlvItem[], ctx: Ctx, st: State): Mismatch | undefined {
  const count = new Map<string, number>();
  for (const e of expKids) {
    const n = resolveTag(e.name, e.attrs.tag) === TAG.Attribute ? attrName(e) : undefined;
    if (n !== undefined) count.set(n, (count.get(n) ?? 0) + 1);
  }
  const multi = new Set([...count].filter(([, k]) => k > 1).map(([n]) => collapse(n)));
  if (multi.size === 0) return matchChildren(expKids, actKids, true, ctx, st);
  const isMulti = (e: XmlElement): boolean => resolveTag(e.name, e.attrs.tag) === TAG.Attribute && multi.has(collapse(attrName(e) ?? ''));
  const stripped = expKids.map((e) =>
    isMulti(e) ? { ...e, children: e.children.filter((c) => resolveTag(c.name, c.attrs.tag) !== TAG.AttributeIndex) } : e);
  const m = matchChildren(stripped, actKids, true, ctx, st);
  if (m) return m;
  for (const name of multi) {
    const want = expKids.filter((e) => isMulti(e) && collapse(attrName(e) ?? '') === name).map(expectedIndex).sort((a, b) => a - b);
    const have = actKids.filter((a) => a.tag === TAG.Attribute && collapse(actualName(a) ?? '') === name).map(actualIndex).sort((a, b) => a - b);
    const left = [...have];
    const missing = want.filter((i) => {
      const at = left.indexOf(i);
      if (at < 0) return true;
      left.splice(at, 1);
      return false;
    });
    if (missing.length > 0) {
      return {
        path: `${ctx.path}/Attribute`,
        message: `the instances of ${name} do not carry the expected Attribute Index values`,
        expected: want.join(', '),
        actual: have.join(', '),
      };
    }
  }
  return undefined;
}

/** "OperationFailed / ItemNotFound: message" for an actual batch item that did not succeed. */
function resultNote(batchItem: TtlvItem): string | undefined {
  if (batchItem.type !== ItemType.Structure) return undefined;
  const status = batchItem.value.find((c) => c.tag === TAG.ResultStatus);
  if (!status || status.value === 0) return undefined;
  const reason = batchItem.value.find((c) => c.tag === TAG.ResultReason);
  const msg = batchItem.value.find((c) => c.tag === TAG.ResultMessage);
  return `actual result ${formatLeafText(status)}${reason ? ` / ${formatLeafText(reason)}` : ''}${msg ? `: ${formatLeafText(msg)}` : ''}`;
}

const ISSUED_CERTIFICATE_FIELDS = new Set(['Certificate Identifier', 'Certificate Issuer', 'Certificate Length', 'X.509 Certificate Identifier', 'X.509 Certificate Issuer']);

const QUERY_SELF_DESCRIPTION = new Set([tagOf('Operation'), tagOf('Object Type')]);

/** Expected children that may be absent from the actual response. */
function optional(e: XmlElement, tag: number): boolean {
  if (tag === TAG.ResultMessage || tag === TAG.ServerCorrelationValue || tag === TAG.ServerInformation) return true;
  if (tag === TAG.AttributeIndex && (e.attrs.value ?? '').trim() === '0') return true;
  return false;
}

function matchChildren(expKids: XmlElement[], actKids: TtlvItem[], setMode: boolean, ctx: Ctx, st: State): Mismatch | undefined {
  const used = new Set<number>();
  let cursor = 0;
  const label = (i: number): string => {
    const a = actKids[i]!;
    const same = actKids.filter((x) => x.tag === a.tag).length;
    const k = actKids.slice(0, i).filter((x) => x.tag === a.tag).length;
    return `${ctx.path}/${tagLabel(a.tag)}${same > 1 ? `[${k}]` : ''}`;
  };
  for (const e of expKids) {
    const tag = resolveTag(e.name, e.attrs.tag);
    if (tag === undefined) return { path: `${ctx.path}/${e.name}`, message: `the vector has an unknown tag <${e.name}> (line ${e.line})` };
    // Of the candidates that fail, report the one that got furthest (matched most leaves first).
    let best: { m: Mismatch; progress: number } | undefined;
    let found = false;
    for (let i = setMode ? 0 : cursor; i < actKids.length; i++) {
      if (used.has(i) || actKids[i]!.tag !== tag) continue;
      const snap = new Map(st.scope.vars);
      const c: Ctx = { ...ctx, path: label(i) };
      const before = st.progress;
      const m = matchItem(e, actKids[i]!, c, st);
      if (!m) {
        used.add(i);
        if (!setMode) cursor = i + 1;
        found = true;
        break;
      }
      st.scope.vars = snap;
      const progress = st.progress - before;
      if (!best || progress > best.progress) best = { m, progress };
    }
    if (found) continue;
    // Query's Operation / Object Type lists describe the recording server: an entry this server does not
    // implement may be absent, as long as it lists some (query.test.ts checks the list is exactly ours).
    if (ctx.operation === 'Query' && QUERY_SELF_DESCRIPTION.has(tag) && actKids.some((a) => a.tag === tag)) continue;
    const leaf = e.attrs.type !== undefined && e.attrs.type !== 'Structure';
    if (best && (best.progress > 0 || !setMode || !leaf)) return best.m;
    if (best) {
      // A set where no item even began to match: say which expected item is missing.
      return { path: `${ctx.path}/${e.name}`, message: 'missing (no actual item matches)', expected: describeExpected(e), actual: 'absent' };
    }
    if (optional(e, tag)) continue;
    const path = `${ctx.path}/${e.name}`;
    const early = !setMode && actKids.some((a, i) => i < cursor && !used.has(i) && a.tag === tag);
    return {
      path,
      message: early ? 'present, but out of order' : 'missing',
      expected: describeExpected(e),
      actual: early ? 'earlier in the structure' : 'absent',
    };
  }
  for (let i = 0; i < actKids.length; i++) {
    if (used.has(i)) continue;
    const m = newerTag(actKids[i]!, label(i), st);
    if (m) return m;
  }
  return undefined;
}

/** A tag newer than the request's version anywhere in an extra subtree. */
function newerTag(item: TtlvItem, path: string, st: State): Mismatch | undefined {
  if (item.tag === TAG.ServerInformation) return undefined;
  const since = tagSince(item.tag);
  if (since !== undefined && versionKey(since) > versionKey(st.reqVersion)) {
    return {
      path,
      message: `extra field ${tagLabel(item.tag)} is a KMIP ${since} tag, newer than the request's version ${st.reqVersion}`,
      expected: 'absent',
      actual: item.type === ItemType.Structure ? 'Structure' : `${itemTypeName(item.type)} ${formatLeafText(item)}`,
    };
  }
  if (item.type === ItemType.Structure) {
    for (const c of item.value) {
      const m = newerTag(c, `${path}/${tagLabel(c.tag)}`, st);
      if (m) return m;
    }
  }
  return undefined;
}

function describeExpected(e: XmlElement): string {
  if (e.attrs.type === undefined || e.attrs.type === 'Structure') {
    const first = e.children[0];
    const hint = first && first.attrs.value !== undefined ? ` (${first.name} ${first.attrs.value})` : '';
    return `Structure ${e.name}${hint}`;
  }
  return `${e.attrs.type} ${e.attrs.value ?? ''}`;
}

function display(item: TtlvItem, vctx?: ValueContext): string {
  try {
    return formatLeafText(item, vctx);
  } catch {
    return String(item.value);
  }
}

function valuesEqual(a: TtlvItem, b: TtlvItem, collapseText: boolean): boolean {
  if (a.type !== b.type) return false;
  if (a.type === ItemType.ByteString) {
    const bv = b.value as Uint8Array;
    return a.value.length === bv.length && a.value.every((x, i) => x === bv[i]);
  }
  if (a.type === ItemType.TextString && collapseText) return collapse(a.value) === collapse(b.value as string);
  if (a.type === ItemType.Structure) {
    const bv = b.value as TtlvItem[];
    return a.value.length === bv.length && a.value.every((x, i) => x.tag === bv[i]!.tag && valuesEqual(x, bv[i]!, collapseText));
  }
  return a.value === b.value;
}

function matchLeaf(exp: XmlElement, act: TtlvItem, ctx: Ctx, st: State): Mismatch | undefined {
  const text = exp.attrs.value ?? '';
  const tag = act.tag;
  const vctx: ValueContext | undefined = ctx.attributeName === undefined ? undefined : { attributeName: ctx.attributeName };
  const collapseText = st.opts.collapseWhitespace === true;

  if (text.startsWith('$')) {
    const name = text.slice(1);
    const now = NOW_RE.exec(name);
    if (now) {
      if (act.type !== ItemType.DateTime && act.type !== ItemType.DateTimeExtended) {
        return { path: ctx.path, message: `${text} needs a date`, expected: text, actual: itemTypeName(act.type) };
      }
      const secs = act.type === ItemType.DateTime ? act.value : Number(act.value / 1_000_000n);
      const off = now[1] === undefined ? 0 : (now[1] === '-' ? -1 : 1) * Number(now[2]);
      const slack = st.opts.nowSlack ?? 5;
      const lo = st.scope.fileStart + off - slack;
      const hi = st.scope.clock() + off + slack;
      if (secs < lo || secs > hi) {
        return {
          path: ctx.path,
          message: `not within the ${text} window`,
          expected: `${text} (${display({ tag, type: ItemType.DateTime, value: lo })} .. ${display({ tag, type: ItemType.DateTime, value: hi })})`,
          actual: display(act),
        };
      }
      return undefined;
    }
    // A Correlation Value the server hands out for a new stream (the request carried none) is a
    // fresh value even when the vector reuses one variable name for several streams (TC-STREAM-ENC).
    // Likewise the Asynchronous Correlation Value of each new pending operation (TC_32: three
    // asynchronous Locates, one $ASYNCHRONOUS_CORRELATION_VALUE).
    const newStream = act.tag === TAG_CORRELATION_VALUE && !requestCarries(st, TAG_CORRELATION_VALUE);
    const newPending = act.tag === TAG_ASYNC_CORRELATION_VALUE && !requestCarries(st, TAG_ASYNC_CORRELATION_VALUE);
    const bound = newStream || newPending ? undefined : st.scope.vars.get(name);
    if (bound) {
      if (valuesEqual({ ...bound, tag } as TtlvItem, act, collapseText)) return undefined;
      return { path: ctx.path, message: `differs from the value bound to ${text}`, expected: `${text} = ${display(bound)}`, actual: display(act, vctx) };
    }
    if (name.startsWith('UNIQUE_IDENTIFIER')) {
      for (const [k, v] of st.scope.vars) {
        if (k.startsWith('UNIQUE_IDENTIFIER') && valuesEqual({ ...v, tag } as TtlvItem, act, false)) {
          return { path: ctx.path, message: `the server returned the identifier already bound to $${k}`, expected: `a new ${text}`, actual: display(act) };
        }
      }
    }
    st.scope.vars.set(name, act);
    const generating = ctx.operation !== undefined && (GENERATING.has(ctx.operation) || (ctx.operation === 'Locate' && asksForFreshMember(st)));
    if (generating && ID_TAGS.has(tag) && act.type === ItemType.TextString) {
      st.scope.generatedIds.add(act.value);
    }
    return undefined;
  }

  // Server-chosen content: presence and type only.
  if (
    tag === TAG.TimeStamp || tag === TAG.ResultMessage || tag === TAG.ServerCorrelationValue || tag === TAG.VendorIdentification
    || tag === TAG.AsynchronousCapability
  ) {
    return undefined;
  }

  // Bytes the server derived from its own randomness (see serverRandom): presence and type only.
  if (ctx.serverRandom && (act.type === ItemType.ByteString || act.type === ItemType.BigInteger)) return undefined;
  // A certificate the server issued (Certify) names the server's own CA, a random serial and its own
  // length: the recording server's values cannot be reproduced, so presence and type only.
  if (ctx.serverRandom && ISSUED_CERTIFICATE_FIELDS.has(ctx.inAttribute ?? '')) return undefined;

  let expItem: TtlvItem;
  try {
    expItem = parseLeafText(tag, act.type, text, vctx);
  } catch (e) {
    return { path: ctx.path, message: `the vector's value is unreadable: ${(e as Error).message}`, expected: text };
  }

  if (act.type === ItemType.DateTime || act.type === ItemType.DateTimeExtended) {
    const key = tag === TAG.AttributeValue && ctx.attributeName !== undefined ? tagByName(ctx.attributeName)?.tag : tag;
    const secs = act.type === ItemType.DateTime ? (expItem.value as number) : Number((expItem.value as bigint) / 1_000_000n);
    const clientSet = key !== undefined && st.scope.clientDates.get(key)?.has(secs) === true;
    if (!clientSet || valuesEqual(expItem, act, false)) return undefined;
    return { path: ctx.path, message: 'differs from the date the client set', expected: text, actual: display(act) };
  }

  if (valuesEqual(expItem, act, collapseText)) return undefined;
  const rc = st.opts.randomizedCiphertext;
  if (rc && ctx.operation === 'Encrypt' && ctx.inPayload && tag === TAG.Data && act.type === ItemType.ByteString) {
    if (rc.verify(act.value)) {
      rc.used = true;
      return undefined;
    }
    return { path: ctx.path, message: `not the recorded ciphertext, and does not decrypt to the request's Data (${rc.describe})`, expected: display(expItem), actual: display(act) };
  }
  return { path: ctx.path, message: 'different value', expected: display(expItem, vctx), actual: display(act, vctx) };
}

/** One line for a mismatch: "path: message (expected X, actual Y) [note]". */
export function formatMismatch(m: Mismatch): string {
  const ea = m.expected !== undefined || m.actual !== undefined ? ` (expected ${m.expected ?? '?'}, actual ${m.actual ?? '?'})` : '';
  return `${m.path}: ${m.message}${ea}${m.note ? ` [${m.note}]` : ''}`;
}
