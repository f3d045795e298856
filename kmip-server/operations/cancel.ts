import { Tag } from '../ttlv/tag.ts';
import { CancellationResult } from '../ttlv/enums.ts';
import { bytes, enumeration } from '../ttlv/types.ts';
import { reqBytes } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

/**
 * Cancel (1.4 §4.27, 2.1 §6.1.5). Every request is answered synchronously, so no correlation value matches a
 * pending or recently completed asynchronous operation: the Cancellation Result is Unavailable.
 */
export const cancel: OperationHandler = async (payload) => {
  const acv = reqBytes(payload, Tag.AsynchronousCorrelationValue);
  return [bytes(Tag.AsynchronousCorrelationValue, acv), enumeration(Tag.CancellationResult, CancellationResult.Unavailable)];
};
