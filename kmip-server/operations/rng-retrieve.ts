import { randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { bytes } from '../ttlv/types.ts';
import { invalidField } from '../messages/errors.ts';
import { reqInt } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

/** The most bytes one RNG Retrieve returns. */
export const RNG_RETRIEVE_MAX = 1024 * 1024;

/**
 * RNG Retrieve (1.4 §4.35, 2.1 §6.1.49): Data Length random bytes from node's CSPRNG (OpenSSL's DRBG, which the
 * Random Number Generator attribute describes). RNG Parameters, if sent, are not honoured: there is one RNG.
 */
export const rngRetrieve: OperationHandler = async (payload) => {
  const n = reqInt(payload, Tag.DataLength);
  if (n <= 0) throw invalidField('Data Length must be positive');
  if (n > RNG_RETRIEVE_MAX) throw invalidField(`Data Length above ${RNG_RETRIEVE_MAX} bytes is not served`);
  return [bytes(Tag.Data, randomBytes(n))];
};
