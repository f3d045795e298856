import { Tag } from '../ttlv/tag.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { reqBytes } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';
import { versionedError } from './common.ts';

/**
 * Poll (1.4 §4.28, 2.1 §6.1.38). This server answers every request synchronously and never returns Operation
 * Pending, so no Asynchronous Correlation Value is ever outstanding: Poll fails with Invalid Asynchronous
 * Correlation Value (2.x) or Item Not Found (1.4 §11.29).
 */
export const poll: OperationHandler = async (payload, ctx) => {
  reqBytes(payload, Tag.AsynchronousCorrelationValue);
  throw versionedError(ctx, ResultReason.InvalidAsynchronousCorrelationValue, ResultReason.ItemNotFound, 'no outstanding asynchronous operation has this correlation value');
};
