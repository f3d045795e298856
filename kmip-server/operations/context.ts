import type { StructureItem, TtlvItem } from '../ttlv/types.ts';
import type { ProtocolVersion } from '../messages/version.ts';
import type { UnitOfWork } from '../objects/unit-of-work.ts';
import type { Identity } from '../auth/identity.ts';

/** Server-wide facts an operation may need (Query answers, limits, defaults). */
export interface ServerInfo {
  vendorIdentification: string;
  serverInformation: string;
  /** Lease Time granted by Obtain Lease and reported on objects, in seconds. */
  leaseSeconds: number;
}

/** Everything one batch item's handler may use. One context per batch item. */
export interface OperationContext {
  /** The request's protocol version (what the response must not exceed). */
  version: ProtocolVersion;
  identity: Identity;
  /** The message's unit of work: reads see earlier items' writes; committed before replying. */
  uow: UnitOfWork;
  /** ID Placeholder shared by the items of one message. */
  placeholder: { id?: string };
  /** Current time in whole seconds since the epoch (one value per message). */
  now: number;
  server: ServerInfo;
  /** Writes an audit line attributed to the caller (never key material). */
  log: (fields: Record<string, unknown>, message: string) => void;
  /** Operations this server implements and this identity may run (for Query); computed on demand. */
  allowedOperations: () => readonly number[];
  /** The caller's asynchronous operations (Poll, Cancel); absent when the server answers everything synchronously. */
  pending?: PendingView;
}

/**
 * One batch item's answer as the response carries it. Most handlers return only a payload (Success); Poll returns
 * the polled operation's own outcome: its Operation, Result Status, Reason, Message and payload.
 */
export interface ItemOutcome {
  operation?: number;
  status: number;
  reason?: number;
  message?: string;
  /** Asynchronous Correlation Value, with Result Status Operation Pending. */
  correlation?: Uint8Array;
  payload?: TtlvItem[];
}

/** What Poll and Cancel may do with the caller's own pending operations (async/pending.ts). */
export interface PendingView {
  /** The finished operation's outcome, 'pending' while it runs, or undefined: no outstanding operation of the caller has this value. */
  poll(correlation: Uint8Array): Promise<ItemOutcome | 'pending' | undefined>;
  /** A Cancellation Result value. */
  cancel(correlation: Uint8Array): number;
  /**
   * The message's answer is final: `delivered` when it carries what Poll returned, false when it does not (over the
   * Maximum Response Size, or the commit failed and the payloads were dropped); the results then wait for a later Poll.
   */
  settle(delivered: boolean): void;
}

/**
 * An operation: request payload in, response payload items out. Throws KmipError on failure.
 * One file per operation under operations/, registered in operations/registry.ts.
 */
export type OperationHandler = (payload: StructureItem, ctx: OperationContext) => Promise<TtlvItem[]>;

/** An operation that answers with a whole outcome instead of a payload (Poll: the polled operation's result). */
export type OutcomeHandler = (payload: StructureItem, ctx: OperationContext) => Promise<ItemOutcome>;
