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
}

/**
 * An operation: request payload in, response payload items out. Throws KmipError on failure.
 * One file per operation under operations/, registered in operations/registry.ts.
 */
export type OperationHandler = (payload: StructureItem, ctx: OperationContext) => Promise<TtlvItem[]>;
