import { Tag } from '../ttlv/tag.ts';
import { InteropFunction } from '../ttlv/enums.ts';
import { invalidField } from '../messages/errors.ts';
import { optText, reqEnum } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

const FUNCTIONS: ReadonlySet<number> = new Set(Object.values(InteropFunction));

/**
 * Interop (2.0+): the markers an interoperability test sends around a test case (Begin, End,
 * Reset with the test's identifier). They change nothing here; the server records them in its
 * log so a test run can be matched to the server's side.
 */
export const interop: OperationHandler = async (payload, ctx) => {
  const fn = reqEnum(payload, Tag.InteropFunction);
  if (!FUNCTIONS.has(fn as (typeof InteropFunction)[keyof typeof InteropFunction])) throw invalidField('unknown Interop Function');
  ctx.log({ interopFunction: fn, interopIdentifier: optText(payload, Tag.InteropIdentifier) }, 'interop marker');
  return [];
};
