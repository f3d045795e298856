import { Tag } from '../ttlv/tag.ts';
import { int } from '../ttlv/types.ts';
import { reqBytes } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';

/**
 * RNG Seed (1.4 §4.36, 2.1 §6.1.50): the answer's Data Length is "the amount of seed data used", and this server
 * uses none, so it answers 0, which the spec names as the way to say the seed was not accepted (and a client must
 * not treat as an error).
 *
 * node:crypto exposes no way to add entropy to OpenSSL's DRBG (no RAND_add / RAND_seed), and that DRBG is already
 * seeded and reseeded from the operating system; mixing client bytes into some other buffer would only pretend.
 * The optional vectors CS-RNG-O-1..4 show the four answers a server may give (all used, part, none, Permission
 * Denied); this is the third. The Data is still required and read, so a malformed request fails as one.
 */
export const rngSeed: OperationHandler = async (payload) => {
  reqBytes(payload, Tag.Data);
  return [int(Tag.DataLength, 0)];
};
