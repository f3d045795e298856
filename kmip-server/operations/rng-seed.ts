import { Tag } from '../ttlv/tag.ts';
import { int } from '../ttlv/types.ts';
import { reqBytes } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

/**
 * RNG Seed (1.4 §4.36, 2.1 §6.1.50): accepts the seed data and reports its length as the amount accepted.
 *
 * node:crypto exposes no way to add entropy to OpenSSL's DRBG (no RAND_add / RAND_seed), and that DRBG is already
 * seeded and reseeded from the operating system, so the bytes are accepted and discarded: they can neither help nor
 * weaken the generator. The optional vectors CS-RNG-O-1..4 show the four answers a server may give (all accepted,
 * part, none, Permission Denied); this is the first.
 */
export const rngSeed: OperationHandler = async (payload) => {
  const data = reqBytes(payload, Tag.Data);
  return [int(Tag.DataLength, data.length)];
};
