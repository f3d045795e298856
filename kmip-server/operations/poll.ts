import { Tag } from '../ttlv/tag.ts';
import { ResultReason, ResultStatus } from '../ttlv/enums.ts';
import { reqBytes } from '../messages/tree.ts';
import type { OutcomeHandler } from './context.ts';
import { versionedError } from './common.ts';

/**
 * Poll (1.4 §4.28, 2.1 §6.1.38): the outcome of one of the caller's asynchronous operations (async/pending.ts).
 * Finished: the operation's own response (its Operation, Result Status, payload), as a synchronous answer would
 * have been. Still running: Operation Pending with no payload. No outstanding operation of the caller has the
 * value (never issued, another client's, already polled, forgotten, or on another replica): Invalid Asynchronous
 * Correlation Value (2.x) or Item Not Found (1.4 §11.29).
 */
export const poll: OutcomeHandler = async (payload, ctx) => {
  const correlation = reqBytes(payload, Tag.AsynchronousCorrelationValue);
  const answer = await ctx.pending?.poll(correlation);
  if (answer === 'pending') return { status: ResultStatus.OperationPending, correlation };
  if (answer) return answer;
  throw versionedError(ctx, ResultReason.InvalidAsynchronousCorrelationValue, ResultReason.ItemNotFound, 'no outstanding asynchronous operation has this correlation value');
};
