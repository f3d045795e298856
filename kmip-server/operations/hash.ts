import { createHash, type Hash } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { Operation } from '../ttlv/enums.ts';
import { bytes, type TtlvItem } from '../ttlv/types.ts';
import { missingData } from '../messages/errors.ts';
import { optBytes } from '../messages/tree.ts';
import { STREAMS, partsOf, unknownCorrelation } from '../crypto/by-parts.ts';
import { unsupported } from '../crypto/crypto-error.ts';
import { kmipErrors, paramsFor } from '../crypto/key-use.ts';
import { hashName, hashOfAlgorithm } from '../crypto/params.ts';
import type { OperationHandler } from './context.ts';

/**
 * Hash (1.4 §4.37, 2.1 §6.1.24): the digest of Data with the Hashing Algorithm of the Cryptographic Parameters (or
 * a SHA-3 Cryptographic Algorithm), single-part or by parts. No object is involved.
 */
export const hash: OperationHandler = async (payload, ctx) => {
  const parts = partsOf(payload, ctx.version);
  const data = optBytes(payload, Tag.Data);
  const key = { scope: ctx.uow.scope, operation: Operation.Hash, uid: undefined };
  return kmipErrors(ctx.version, async (): Promise<TtlvItem[]> => {
    if (parts.kind === 'continue') {
      const h = STREAMS.get(parts.correlation, key) as Hash | undefined;
      if (!h) throw unknownCorrelation(ctx.version);
      if (data) h.update(data);
      if (!parts.final) return [bytes(Tag.CorrelationValue, parts.correlation)];
      STREAMS.close(parts.correlation);
      return [bytes(Tag.Data, h.digest())];
    }
    if (!payload.value.some((i) => i.tag === Tag.CryptographicParameters)) throw missingData('Hash needs Cryptographic Parameters with a Hashing Algorithm');
    const p = paramsFor(payload, undefined);
    const alg = p.hashingAlgorithm ?? hashOfAlgorithm(p.cryptographicAlgorithm);
    if (alg === undefined) throw missingData('Hash needs a Hashing Algorithm');
    const name = hashName(alg);
    if (!name) throw unsupported('this Hashing Algorithm is not supported');
    if (parts.kind === 'single' && data === undefined) throw missingData('Hash needs Data');
    const h = createHash(name);
    if (data) h.update(data);
    if (parts.kind === 'init') return [bytes(Tag.CorrelationValue, STREAMS.open(key, h))];
    return [bytes(Tag.Data, h.digest())];
  });
};
