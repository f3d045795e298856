import { Tag } from '../ttlv/tag.ts';
import { reqText } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

/** Log (2.0+): a client's message for the server's audit log, attributed to its credential. */
export const log: OperationHandler = async (payload, ctx) => {
  const message = reqText(payload, Tag.LogMessage);
  // Bounded so a client cannot flood the log with one request.
  ctx.log({ clientLogMessage: message.slice(0, 4096) }, 'client log message');
  return [];
};
