import { Tag } from '../ttlv/tag.ts';
import { Operation, ValidityIndicator } from '../ttlv/enums.ts';
import { bytes, enumeration, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { invalidField, missingData } from '../messages/errors.ts';
import { optBytes, optText } from '../messages/tree.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { STREAMS, partsOf, unknownCorrelation } from '../crypto/by-parts.ts';
import { unsupported } from '../crypto/crypto-error.ts';
import { asymmetricKey, chargeUsage, checkUse, kmipErrors, paramsFor, type KeyUse } from '../crypto/key-use.ts';
import { openSignatureStream, signOnce, signatureSpec, verifyOnce, type SignatureInput, type SignatureStream } from '../crypto/signature.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { loadObject, targetUid, touch } from './common.ts';

/**
 * Sign (1.4 §4.31, 2.1 §6.1.55) and, through the same code, Signature Verify (1.4 §4.32, 2.1 §6.1.56): RSA
 * PKCS#1 v1.5 and PSS, ECDSA (DER signatures), Ed25519 / Ed448 (crypto/signature.ts), over Data, a Digested Data
 * (RSA), or data given by parts. Sign needs a Private Key; Signature Verify a Public Key, a Certificate or a
 * Private Key (its public half). Usage Limits are charged by Sign only, in bytes of data (or digest) or in uses.
 */
export const sign: OperationHandler = (payload, ctx) => signatureOperation('sign', payload, ctx);

type SignUse = Extract<KeyUse, 'sign' | 'verify'>;

interface SignatureState {
  uid: string;
  stream: SignatureStream;
  /** Verify: a Signature Data given before the final part. */
  signature?: Uint8Array;
}

async function usable(ctx: OperationContext, uid: string, use: KeyUse): Promise<ManagedObject> {
  const obj = await loadObject(ctx, uid);
  checkUse(obj, use, ctx.version, ctx.now);
  return obj;
}

function charge(ctx: OperationContext, obj: ManagedObject, use: KeyUse, n: number, first: boolean): void {
  if (use === 'sign' && chargeUsage(obj, n, first)) {
    touch(obj, ctx);
    ctx.uow.save(obj);
  }
}

function result(use: SignUse, uid: string, stream: { sign(): Buffer; verify(s: Uint8Array): boolean }, signature: Uint8Array | undefined): TtlvItem[] {
  const id = text(Tag.UniqueIdentifier, uid);
  if (use === 'sign') return [id, bytes(Tag.SignatureData, stream.sign())];
  if (signature === undefined) throw missingData('Signature Verify needs Signature Data');
  return [id, enumeration(Tag.ValidityIndicator, stream.verify(signature) ? ValidityIndicator.Valid : ValidityIndicator.Invalid)];
}

export async function signatureOperation(use: SignUse, payload: StructureItem, ctx: OperationContext): Promise<TtlvItem[]> {
  const operation = use === 'sign' ? Operation.Sign : Operation.SignatureVerify;
  const parts = partsOf(payload, ctx.version);
  const data = optBytes(payload, Tag.Data);
  const digested = optBytes(payload, Tag.DigestedData);
  const signature = use === 'verify' ? optBytes(payload, Tag.SignatureData) : undefined;
  if (data !== undefined && digested !== undefined) throw invalidField('give Data or Digested Data, not both');

  return kmipErrors(ctx.version, async () => {
    if (parts.kind === 'continue') {
      if (digested !== undefined) throw invalidField('Digested Data cannot be given by parts');
      const st = STREAMS.get(parts.correlation, { scope: ctx.uow.scope, operation, uid: optText(payload, Tag.UniqueIdentifier) }) as SignatureState | undefined;
      if (!st) throw unknownCorrelation(ctx.version);
      try {
        const obj = await usable(ctx, st.uid, use);
        charge(ctx, obj, use, data?.length ?? 0, false);
        if (data) st.stream.update(data);
        if (signature !== undefined) st.signature = signature;
        if (!parts.final) return [text(Tag.UniqueIdentifier, st.uid), bytes(Tag.CorrelationValue, parts.correlation)];
        STREAMS.close(parts.correlation);
        return result(use, st.uid, st.stream, st.signature);
      } catch (err) {
        STREAMS.close(parts.correlation);
        throw err;
      }
    }

    const obj = await usable(ctx, targetUid(payload, ctx), use);
    const key = asymmetricKey(obj, use === 'sign' ? 'private' : 'public', ctx.version);
    const spec = signatureSpec(key, paramsFor(payload, obj), use);

    if (parts.kind === 'init') {
      if (digested !== undefined) throw unsupported('Digested Data is single-part only');
      charge(ctx, obj, use, data?.length ?? 0, true);
      const stream = openSignatureStream(key, spec, use);
      if (data) stream.update(data);
      const st: SignatureState = { uid: obj.uid, stream, ...(signature !== undefined ? { signature } : {}) };
      const correlation = STREAMS.open({ scope: ctx.uow.scope, operation, uid: obj.uid }, st);
      return [text(Tag.UniqueIdentifier, obj.uid), bytes(Tag.CorrelationValue, correlation)];
    }

    let input: SignatureInput;
    if (digested !== undefined) input = { digest: digested };
    else if (data !== undefined) input = { data };
    else throw missingData(`${use === 'sign' ? 'Sign' : 'Signature Verify'} needs Data or Digested Data`);
    charge(ctx, obj, use, (data ?? digested)!.length, true);
    const once = {
      sign: () => signOnce(key, spec, input),
      verify: (s: Uint8Array) => verifyOnce(key, spec, input, s),
    };
    return result(use, obj.uid, once, signature);
  });
}
