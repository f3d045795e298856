import { Tag } from './ttlv/tag.ts';
import { BatchErrorContinuationOption, Operation, ResultReason, ResultStatus } from './ttlv/enums.ts';
import { enumSinceIndex, versionIndex } from './ttlv/spec/names.ts';
import { decode } from './ttlv/reader.ts';
import { encode } from './ttlv/writer.ts';
import {
  ItemType, TtlvError, bytes as byteItem, dateTime, enumeration, int, struct, text,
  type DecodeLimits, type StructureItem, type TtlvItem,
} from './ttlv/types.ts';
import { KmipError } from './messages/errors.ts';
import { atLeast, responseVersion, type ProtocolVersion } from './messages/version.ts';
import { find, findAll, isStruct, optBool, optEnum, optInt, optStruct, optText } from './messages/tree.ts';
import { UnitOfWork, type CommittedChange } from './objects/unit-of-work.ts';
import { ObjectCache } from './objects/object-cache.ts';
import { OPERATION_PERMISSION } from './operations/permissions.ts';
import { HANDLERS } from './operations/registry.ts';
import type { ItemOutcome, OperationContext, OperationHandler, OutcomeHandler, PendingView, ServerInfo } from './operations/context.ts';
import type { Identity } from './auth/identity.ts';
import { applyHeaderCredential } from './auth/header-credential.ts';
import type { ObjectStore } from './store/types.ts';
import { StoreConflictError } from './store/types.ts';
import { StoreUidInUseError } from './store/common.ts';
import { ownerOf, type PendingOperations } from './async/pending.ts';
import { headerCredentialKey } from './policy/header-credentials.ts';
import { asyncIndicator, mayRunAsynchronously } from './async/indicator.ts';
import type { ServerMetrics } from './metrics.ts';

/** Times a message is run when its commit loses a race with another connection. */
/**
 * How long a message that keeps losing commit races is run again (with a random pause growing to
 * 250 ms between runs), so writers on one hot object (several replicas sharing the ConfigMap
 * store) take turns instead of colliding again in lock-step. A message is always run at least
 * MIN_ATTEMPTS times.
 */
const CONFLICT_RETRY_MS = 15_000;
const MIN_ATTEMPTS = 8;
const conflictPause = (attempt: number) => new Promise<void>((r) => setTimeout(r, Math.random() * Math.min(250, 2 ** attempt)));

export interface DispatcherOptions {
  store: ObjectStore;
  limits: DecodeLimits & { maxBatchItems: number };
  server: ServerInfo;
  /** Audit lines from operations (Log, Interop), with the caller's credential. */
  audit?: (fields: Record<string, unknown>, message: string) => void;
  /** Called for failures the client sees only as General Failure (logged by the caller). */
  onInternalError?: (err: unknown, op: number) => void;
  /** Asynchronous operations (async/pending.ts); absent: every request is answered synchronously. */
  pending?: PendingOperations;
  /**
   * Called once a message's writes are durable, before its response is sent; must not block or throw
   * (server-to-client Notify and Put, notify/notifier.ts).
   */
  onCommit?: (identity: Identity, version: ProtocolVersion, changes: CommittedChange[]) => void;
  /** Counts every response's batch items and times every message (metrics.ts); absent: nothing is measured. */
  metrics?: ServerMetrics;
}

type ItemResult = ItemOutcome & { batchId?: Uint8Array };

/** A response and what it says, for the metrics. */
interface Answer {
  reply: Buffer;
  version: ProtocolVersion;
  results: readonly ItemResult[];
}

/**
 * Turns one request message into one response message. Never throws for anything the client
 * sent: malformed input becomes an Invalid Message response; only an unreadable header returns
 * null, telling the connection to close.
 */
export class Dispatcher {
  readonly #opts: DispatcherOptions;
  /** Decoded objects shared by every message's unit of work, kept while the store keeps their records (objects/object-cache.ts). */
  readonly #objects = new ObjectCache();

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
  }

  async handle(frame: Uint8Array, identity: Identity): Promise<Buffer | null> {
    const metrics = this.#opts.metrics;
    if (!metrics) return (await this.#answer(frame, identity))?.reply ?? null;
    const started = performance.now();
    const answer = await this.#answer(frame, identity);
    if (!answer) return null;
    metrics.message(answer.version, (performance.now() - started) / 1000);
    // As the response carries them: a Poll that collects a finished operation counts under that operation.
    for (const r of answer.results) metrics.item(r.operation, r.status, r.reason);
    return answer.reply;
  }

  async #answer(frame: Uint8Array, identity: Identity): Promise<Answer | null> {
    let message: TtlvItem;
    try {
      message = decode(frame, this.#opts.limits);
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      const version = sniffVersion(frame);
      if (!version) return null;
      return this.#errorResponse(version, ResultReason.InvalidMessage, `malformed message: ${err.message}`);
    }
    if (message.tag !== Tag.RequestMessage || message.type !== ItemType.Structure) {
      return this.#errorResponse({ major: 1, minor: 0 }, ResultReason.InvalidMessage, 'not a Request Message');
    }
    let header: StructureItem | undefined;
    let major: number | undefined;
    let minor: number | undefined;
    try {
      header = optStruct(message, Tag.RequestHeader);
      const pv = header && optStruct(header, Tag.ProtocolVersion);
      major = pv && optInt(pv, Tag.ProtocolVersionMajor);
      minor = pv && optInt(pv, Tag.ProtocolVersionMinor);
    } catch (err) {
      // A header field of the wrong item type: there is no version to answer in but the oldest.
      if (!(err instanceof KmipError)) throw err;
      return this.#errorResponse({ major: 1, minor: 0 }, ResultReason.InvalidMessage, `malformed Request Header: ${err.message}`);
    }
    if (!header || major === undefined || minor === undefined) {
      return this.#errorResponse({ major: 1, minor: 0 }, ResultReason.InvalidMessage, 'missing Request Header or Protocol Version');
    }
    const version = responseVersion({ major, minor });
    try {
      return await this.#handleMessage(message, header, version, await applyHeaderCredential(header, identity));
    } catch (err) {
      if (err instanceof KmipError) return this.#errorResponse(version, err.reason, err.message);
      throw err;
    }
  }

  async #handleMessage(message: StructureItem, header: StructureItem, version: ProtocolVersion, identity: Identity): Promise<Answer> {
    const items = findAll(message, Tag.BatchItem);
    const batchCount = optInt(header, Tag.BatchCount);
    if (batchCount === undefined) throw new KmipError(ResultReason.InvalidMessage, 'Request Header lacks Batch Count');
    if (batchCount !== items.length) throw new KmipError(ResultReason.InvalidMessage, `Batch Count ${batchCount} but ${items.length} batch items`);
    if (items.length === 0) throw new KmipError(ResultReason.InvalidMessage, 'no batch items');
    if (items.length > this.#opts.limits.maxBatchItems) {
      throw new KmipError(ResultReason.InvalidMessage, `more than ${this.#opts.limits.maxBatchItems} batch items`);
    }
    // Echoed as it came, so it must be what the spec says it is (a Text String) before anything runs.
    let clientCorrelation: TtlvItem | undefined;
    try {
      clientCorrelation = optText(header, Tag.ClientCorrelationValue) !== undefined ? find(header, Tag.ClientCorrelationValue) : undefined;
    } catch (err) {
      if (!(err instanceof KmipError)) throw err;
      throw new KmipError(ResultReason.InvalidMessage, `malformed Request Header: ${err.message}`);
    }
    const continuation = optEnum(header, Tag.BatchErrorContinuationOption) ?? BatchErrorContinuationOption.Stop;
    const maxResponseSize = optInt(header, Tag.MaximumResponseSize);

    const view = this.#opts.pending?.view(ownerOf(identity));
    let results: ItemResult[];
    try {
      results = this.#submitAsync(header, items, version, identity) ?? await this.#runBatch(items, continuation, version, identity, view);
    } catch (err) {
      view?.settle(false);
      throw err;
    }

    let out = encode(this.#response(version, results, clientCorrelation));
    const tooLarge = maxResponseSize !== undefined && out.length > maxResponseSize;
    // A polled result this answer cannot carry stays for the next Poll (with a larger Maximum Response Size).
    view?.settle(!tooLarge);
    if (tooLarge) {
      for (const r of results) {
        if (r.payload) {
          r.status = ResultStatus.OperationFailed;
          r.reason = ResultReason.ResponseTooLarge;
          r.message = `response exceeds Maximum Response Size ${maxResponseSize}`;
          delete r.payload;
        }
      }
      out = encode(this.#response(version, results, clientCorrelation));
    }
    return { reply: out, version, results };
  }

  /**
   * Runs a message's batch items in order and commits them together. `pending` is created once per message, so a
   * message run again after a lost commit race answers its Polls as the first run did.
   */
  async #runBatch(items: TtlvItem[], continuation: number, version: ProtocolVersion, identity: Identity, pending?: PendingView): Promise<ItemResult[]> {
    let allowed: number[] | undefined;
    const allowedOperations = () =>
      (allowed ??= Object.entries(OPERATION_PERMISSION)
        .filter(([code, perm]) => HANDLERS.has(Number(code)) && identity.operations.has(perm))
        .map(([code]) => Number(code)));
    const log = (fields: Record<string, unknown>, message: string) =>
      this.#opts.audit?.({ ...fields, credential: identity.credentialName, scope: identity.scopeName, ...(identity.headerIdentity ? { headerIdentity: identity.headerIdentity } : {}) }, message);

    // A message runs against a snapshot and commits at the end. When another connection changed an
    // object this message also changed, nothing was written: run the whole message again on fresh
    // state (bounded), so concurrent clients never see a spurious failure.
    let results: ItemResult[] = [];
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const uow = new UnitOfWork(this.#opts.store, identity.scopeId, this.#objects, identity.owner);
      const placeholder: { id?: string } = {};
      const now = Math.floor(Date.now() / 1000);
      results = [];
      let failed = false;
      for (const item of items) {
        if (!isStruct(item)) throw new KmipError(ResultReason.InvalidMessage, 'Batch Item is not a structure');
        const op = optEnum(item, Tag.Operation);
        const base: Pick<ItemResult, 'operation' | 'batchId'> = { ...(op !== undefined ? { operation: op } : {}), ...batchIdOf(item) };
        if (failed && continuation !== BatchErrorContinuationOption.Continue) break;
        const ctx: OperationContext = { version, identity, uow, placeholder, now, server: this.#opts.server, allowedOperations, log, ...(pending ? { pending } : {}) };
        const result = await this.#runItem(item, op, ctx);
        results.push({ ...base, ...result });
        if (result.status === ResultStatus.OperationFailed) failed = true;
      }

      if (failed && continuation === BatchErrorContinuationOption.Undo) {
        uow.rollback();
        for (const r of results) {
          // The payload stays: it tells the client what would have been (BL-M-2-21 expects it).
          if (r.status === ResultStatus.Success) r.status = ResultStatus.OperationUndone;
        }
        break;
      }
      try {
        const committed = await uow.commit();
        if (committed.length > 0) this.#opts.onCommit?.(identity, version, committed);
        break;
      } catch (err) {
        const conflict = err instanceof StoreConflictError;
        if (conflict && (attempt < MIN_ATTEMPTS || Date.now() - started < CONFLICT_RETRY_MS)) {
          await conflictPause(attempt);
          continue;
        }
        // An Import naming a Unique Identifier another scope holds: refused, never overwritten (operations/import.ts).
        const taken = err instanceof StoreUidInUseError;
        // Nothing was acknowledged: every item that wrote fails together, and a polled result waits for the next Poll.
        if (!taken) this.#opts.onInternalError?.(err, 0);
        pending?.settle(false);
        for (const r of results) {
          if (r.status === ResultStatus.Success) {
            r.status = ResultStatus.OperationFailed;
            r.reason = taken ? ResultReason.ObjectAlreadyExists : ResultReason.GeneralFailure;
            r.message = taken ? 'a Unique Identifier in this message is not available' : conflict ? 'object changed concurrently; retry' : 'storage failure';
            delete r.payload;
          }
        }
        break;
      }
    }

    return results;
  }

  async #runItem(item: StructureItem, op: number | undefined, ctx: OperationContext): Promise<ItemOutcome> {
    try {
      const handler = admit(item, op, ctx.identity, ctx.version);
      const payload = optStruct(item, Tag.RequestPayload) ?? struct(Tag.RequestPayload, []);
      const out = await handler(payload, ctx);
      // Poll answers with the polled operation's own outcome.
      return Array.isArray(out) ? { status: ResultStatus.Success, payload: out } : out;
    } catch (err) {
      if (err instanceof KmipError) return { status: ResultStatus.OperationFailed, reason: err.reason, message: err.message };
      if (err instanceof TtlvError) return { status: ResultStatus.OperationFailed, reason: ResultReason.InvalidMessage, message: err.message };
      this.#opts.onInternalError?.(err, op ?? 0);
      return { status: ResultStatus.OperationFailed, reason: ResultReason.GeneralFailure, message: 'internal error' };
    }
  }

  /**
   * A request whose header asks for asynchronous processing (async/): its one batch item is checked and
   * authorized now, recorded in the pending table and answered Operation Pending with a fresh Asynchronous
   * Correlation Value; Poll collects its outcome later. Undefined: answer the message synchronously, which the
   * server may always do unless asynchrony is mandatory: for a batch of several items (their ID Placeholder and
   * batch order tie them together), for operations that stay synchronous, and when the table is full.
   */
  #submitAsync(header: StructureItem, items: TtlvItem[], version: ProtocolVersion, identity: Identity): ItemResult[] | undefined {
    const mode = this.#opts.pending && asyncIndicator(header);
    if (!mode) return undefined;
    const refuse = (reason: number, message: string): ItemResult[] => items.map((item) => {
      const op = isStruct(item) ? optEnum(item, Tag.Operation) : undefined;
      return { ...(op !== undefined ? { operation: op } : {}), ...batchIdOf(item), status: ResultStatus.OperationFailed, reason, message };
    });
    if (items.length > 1) {
      return mode === 'mandatory' ? refuse(ResultReason.FeatureNotSupported, 'asynchronous processing takes one batch item per message') : undefined;
    }
    const item = items[0]!;
    if (!isStruct(item)) throw new KmipError(ResultReason.InvalidMessage, 'Batch Item is not a structure');
    const op = optEnum(item, Tag.Operation);
    if (op === undefined || !mayRunAsynchronously(op, mode)) return undefined;
    const base = { operation: op, ...batchIdOf(item) };
    try {
      admit(item, op, identity, version);
    } catch (err) {
      if (err instanceof KmipError) return [{ ...base, status: ResultStatus.OperationFailed, reason: err.reason, message: err.message }];
      throw err;
    }
    const correlation = this.#opts.pending!.submit(ownerOf(identity), op, async () => {
      // Runs later: the credential may have been deleted or its role narrowed since (admit checks the role again).
      const current = identity.recheck ? identity.recheck() : identity;
      if (!current) return { ...base, status: ResultStatus.OperationFailed, reason: ResultReason.PermissionDenied, message: 'the credential no longer exists' };
      if (identity.recheck && identity.headerIdentity !== undefined && !(current.headerCredentials ?? []).some((h) => headerCredentialKey(h) === identity.headerIdentity)) {
        return { ...base, status: ResultStatus.OperationFailed, reason: ResultReason.PermissionDenied, message: 'the header credential is no longer declared' };
      }
      const now: Identity = { ...current, ...(identity.owner !== undefined ? { owner: identity.owner } : {}), ...(identity.headerIdentity !== undefined ? { headerIdentity: identity.headerIdentity } : {}) };
      const [result] = await this.#runBatch([item], BatchErrorContinuationOption.Stop, version, now);
      const { batchId: _poll, ...outcome } = result!; // a Poll answers with its own Unique Batch Item ID
      return outcome;
    });
    if (correlation) return [{ ...base, status: ResultStatus.OperationPending, correlation }];
    return mode === 'mandatory' && atLeast(version, 2, 0) ? refuse(ResultReason.ServerLimitExceeded, 'too many pending asynchronous operations') : undefined;
  }

  #response(version: ProtocolVersion, results: ItemResult[], clientCorrelation?: TtlvItem): StructureItem {
    const header: TtlvItem[] = [
      struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, version.major), int(Tag.ProtocolVersionMinor, version.minor)]),
      dateTime(Tag.TimeStamp, Math.floor(Date.now() / 1000)),
    ];
    if (clientCorrelation && atLeast(version, 1, 4)) header.push(clientCorrelation);
    header.push(int(Tag.BatchCount, results.length));
    const items = results.map((r) => {
      const c: TtlvItem[] = [];
      if (r.operation !== undefined) c.push(enumeration(Tag.Operation, r.operation));
      if (r.batchId) c.push(byteItem(Tag.UniqueBatchItemID, r.batchId));
      c.push(enumeration(Tag.ResultStatus, r.status));
      if (r.reason !== undefined) c.push(enumeration(Tag.ResultReason, r.reason));
      if (r.message !== undefined) c.push(text(Tag.ResultMessage, r.message));
      if (r.correlation) c.push(byteItem(Tag.AsynchronousCorrelationValue, r.correlation));
      if (r.payload) c.push(struct(Tag.ResponsePayload, r.payload));
      return struct(Tag.BatchItem, c);
    });
    return struct(Tag.ResponseMessage, [struct(Tag.ResponseHeader, header), ...items]);
  }

  #errorResponse(version: ProtocolVersion, reason: number, message: string): Answer {
    const v = responseVersion(version);
    const results = [{ status: ResultStatus.OperationFailed, reason, message }];
    return { reply: encode(this.#response(v, results)), version: v, results };
  }
}

/** Checks what every batch item must pass before it runs (now or, asynchronously, later) and returns its handler. */
function admit(item: StructureItem, op: number | undefined, identity: Identity, version: ProtocolVersion): OperationHandler | OutcomeHandler {
  if (op === undefined) throw new KmipError(ResultReason.InvalidMessage, 'Batch Item lacks Operation');
  // An operation newer than the message's version does not exist for its client, and its answer would carry tags
  // that client cannot read (Encrypt's Data at 1.0, say). Discover Versions is how a client of any version asks.
  if (op !== Operation.DiscoverVersions && !operationIn(op, version)) {
    throw new KmipError(ResultReason.OperationNotSupported, `operation ${op} is not part of KMIP ${version.major}.${version.minor}`);
  }
  const ext = optStruct(item, Tag.MessageExtension);
  if (ext && optBool(ext, Tag.CriticalityIndicator) === true) {
    throw new KmipError(ResultReason.FeatureNotSupported, 'unsupported critical message extension');
  }
  const handler = HANDLERS.get(op);
  if (!handler) throw new KmipError(ResultReason.OperationNotSupported, `operation ${op} is not supported`);
  const perm = OPERATION_PERMISSION[op];
  if (!perm || !identity.operations.has(perm)) throw new KmipError(ResultReason.PermissionDenied, `role does not allow ${perm ?? op}`);
  return handler;
}

/** Whether the Operation enumeration has `op` in `version` (spec tables). */
function operationIn(op: number, version: ProtocolVersion): boolean {
  const v = versionIndex(version);
  return v < 0 || enumSinceIndex('Operation', op) <= v;
}

function batchIdOf(item: TtlvItem): { batchId?: Uint8Array } {
  const id = isStruct(item) ? find(item, Tag.UniqueBatchItemID) : undefined;
  return id?.type === ItemType.ByteString ? { batchId: id.value } : {};
}

/**
 * Finds the protocol version in a message too broken to decode, so the error answer can be in
 * the client's version. Layout of a well-formed start: Request Message, Request Header,
 * Protocol Version, Major, Minor (each 8-byte header; integers padded to 16 bytes).
 */
function sniffVersion(frame: Uint8Array): ProtocolVersion | null {
  if (frame.length < 8 * 3 + 16 * 2) return null;
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const tagAt = (o: number) => b.readUIntBE(o, 3);
  if (tagAt(0) !== Tag.RequestMessage || tagAt(8) !== Tag.RequestHeader || tagAt(16) !== Tag.ProtocolVersion) return null;
  if (tagAt(24) !== Tag.ProtocolVersionMajor || tagAt(40) !== Tag.ProtocolVersionMinor) return null;
  return { major: b.readInt32BE(32), minor: b.readInt32BE(48) };
}
