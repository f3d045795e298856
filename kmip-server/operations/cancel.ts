import { Tag } from '../ttlv/tag.ts';
import { CancellationResult } from '../ttlv/enums.ts';
import { bytes, enumeration } from '../ttlv/types.ts';
import { reqBytes } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

/**
 * Cancel (1.4 §4.27, 2.1 §6.1.5) of one of the caller's asynchronous operations (async/pending.ts): Canceled when it
 * had not started, Unable To Cancel while it runs, Completed or Failed once it finished, Unavailable when the
 * value matches no recent operation of the caller.
 */
export const cancel: OperationHandler = async (payload, ctx) => {
  const acv = reqBytes(payload, Tag.AsynchronousCorrelationValue);
  const result = ctx.pending?.cancel(acv) ?? CancellationResult.Unavailable;
  return [bytes(Tag.AsynchronousCorrelationValue, acv), enumeration(Tag.CancellationResult, result)];
};
