import { Tag } from '../ttlv/tag.ts';
import { ObjectType, Operation } from '../ttlv/enums.ts';
import { bytes, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, missingData } from '../messages/errors.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { optBytes, optText } from '../messages/tree.ts';
import { atLeast } from '../messages/version.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { STREAMS, partsOf, unknownCorrelation } from '../crypto/by-parts.ts';
import { cryptoFailure, unsupported } from '../crypto/crypto-error.ts';
import {
  asymmetricKey, chargeUsage, checkUse, keyAlgorithm, kmipErrors, paramsFor, protects, secretKeyObject, secretMaterial, type KeyUse,
} from '../crypto/key-use.ts';
import { rsaDecrypt, rsaEncrypt } from '../crypto/rsa-cipher.ts';
import { openSymmetric, type Direction, type SymmetricCipher } from '../crypto/symmetric.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { loadObject, targetUid, touch } from './common.ts';

/**
 * Encrypt (1.4 §4.29, 2.1 §6.1.17) and, through the same code, Decrypt (1.4 §4.30, 2.1 §6.1.11): symmetric
 * ciphers (crypto/symmetric.ts) single-part or by parts, RSA (crypto/rsa-cipher.ts) single-part.
 *
 * The authentication tag of GCM, CCM and ChaCha20-Poly1305 travels in Authenticated Encryption Tag from 1.4 on; at
 * 1.2 and 1.3, which have no such field, it is appended to Data — in both directions, never both at once (OpenBao's
 * seal stores Data || tag). A Decrypt without the tag field takes the tag from the end of Data at any version.
 * A Random IV the server makes is returned in IV/Counter/Nonce. Usage Limits are charged by Encrypt only.
 */
export const encrypt: OperationHandler = (payload, ctx) => cipherOperation('encrypt', payload, ctx);

interface CipherStream {
  uid: string;
  cipher: SymmetricCipher;
  /** Encrypt below 1.4: the tag goes at the end of the final Data. */
  tagInData: boolean;
  /** Decrypt with the tag at the end of the data: the last tag-length bytes seen so far. */
  holdback?: Buffer;
}

const EMPTY = Buffer.alloc(0);

async function usable(ctx: OperationContext, uid: string, use: KeyUse): Promise<ManagedObject> {
  const obj = await loadObject(ctx, uid);
  checkUse(obj, use, ctx.version, ctx.now);
  return obj;
}

/** Usage Limits for a protecting use; saves the object when they changed. */
function charge(ctx: OperationContext, obj: ManagedObject, use: KeyUse, bytes: number, firstPart: boolean): void {
  if (!protects(use)) return;
  if (chargeUsage(obj, bytes, firstPart)) {
    touch(obj, ctx);
    ctx.uow.save(obj);
  }
}

/** Holds back the last `n` bytes of what has arrived so far; returns what may be deciphered now. */
function holdBack(st: CipherStream, data: Uint8Array, n: number): Buffer {
  const all = Buffer.concat([st.holdback ?? EMPTY, data]);
  const cut = Math.max(0, all.length - n);
  st.holdback = Buffer.from(all.subarray(cut));
  return all.subarray(0, cut);
}

export async function cipherOperation(direction: Direction, payload: StructureItem, ctx: OperationContext): Promise<TtlvItem[]> {
  const use: KeyUse = direction;
  const operation = direction === 'encrypt' ? Operation.Encrypt : Operation.Decrypt;
  const parts = partsOf(payload, ctx.version);
  const data = optBytes(payload, Tag.Data);
  const v14 = atLeast(ctx.version, 1, 4);

  return kmipErrors(ctx.version, async () => {
    if (parts.kind === 'continue') {
      const asked = optText(payload, Tag.UniqueIdentifier);
      const key = { scope: ctx.uow.scope, operation, uid: asked };
      const st = STREAMS.get(parts.correlation, key) as CipherStream | undefined;
      if (!st) throw unknownCorrelation(ctx.version);
      try {
        const obj = await usable(ctx, st.uid, use);
        charge(ctx, obj, use, data?.length ?? 0, false);
        const uid = text(Tag.UniqueIdentifier, st.uid);
        const input = st.holdback !== undefined ? holdBack(st, data ?? EMPTY, st.cipher.tagLength) : (data ?? EMPTY);
        const out = st.cipher.update(input);
        if (!parts.final) {
          return [uid, ...(out.length > 0 ? [bytes(Tag.Data, out)] : []), bytes(Tag.CorrelationValue, parts.correlation)];
        }
        STREAMS.close(parts.correlation);
        if (st.holdback !== undefined) st.cipher.setTag(st.holdback);
        const last = Buffer.concat([out, st.cipher.final()]);
        return finishItems(uid, last, st.cipher, st.tagInData);
      } catch (err) {
        STREAMS.close(parts.correlation);
        throw err;
      }
    }

    const obj = await usable(ctx, targetUid(payload, ctx), use);
    const params = paramsFor(payload, obj);
    const uid = text(Tag.UniqueIdentifier, obj.uid);
    const iv = optBytes(payload, Tag.IVCounterNonce);
    const aad = optBytes(payload, Tag.AuthenticatedEncryptionAdditionalData);
    const tagField = optBytes(payload, Tag.AuthenticatedEncryptionTag);
    if (parts.kind === 'single' && data === undefined) throw missingData(`${direction === 'encrypt' ? 'Encrypt' : 'Decrypt'} needs Data`);

    if (obj.objectType !== ObjectType.SymmetricKey) {
      if (parts.kind === 'init') throw unsupported('RSA encryption is single-part only');
      const key = asymmetricKey(obj, direction === 'encrypt' ? 'public' : 'private', ctx.version);
      if (key.asymmetricKeyType !== 'rsa') throw unsupported('only RSA keys encrypt and decrypt');
      charge(ctx, obj, use, data!.length, true);
      const out = direction === 'encrypt' ? rsaEncrypt(key, params, data!) : rsaDecrypt(key, params, data!);
      return [uid, bytes(Tag.Data, out)];
    }

    const algorithm = keyAlgorithm(obj);
    if (algorithm === undefined) throw new KmipError(ResultReason.InvalidField, 'the key has no Cryptographic Algorithm');
    const cipher = openSymmetric(direction, algorithm, secretMaterial(obj), { params, iv, aad, keyObject: secretKeyObject(obj) });
    charge(ctx, obj, use, data?.length ?? 0, true);
    const tagInData = direction === 'encrypt' && !v14;
    // Decrypt of an AEAD cipher: the tag field, or the tail of the data.
    const tailTag = direction === 'decrypt' && cipher.aead && tagField === undefined;
    if (direction === 'decrypt' && cipher.aead && tagField !== undefined) cipher.setTag(tagField);
    const ivItems = cipher.generatedIv ? [bytes(Tag.IVCounterNonce, cipher.generatedIv)] : [];

    if (parts.kind === 'init') {
      if (cipher.buffered) throw unsupported('this mode needs all its data at once: it cannot be used by parts');
      const st: CipherStream = { uid: obj.uid, cipher, tagInData, ...(tailTag ? { holdback: EMPTY } : {}) };
      const input = tailTag ? holdBack(st, data ?? EMPTY, cipher.tagLength) : (data ?? EMPTY);
      const out = cipher.update(input);
      const correlation = STREAMS.open({ scope: ctx.uow.scope, operation, uid: obj.uid }, st);
      return [uid, ...(out.length > 0 ? [bytes(Tag.Data, out)] : []), ...ivItems, bytes(Tag.CorrelationValue, correlation)];
    }

    let input = data!;
    if (tailTag) {
      if (input.length < cipher.tagLength) throw cryptoFailure('authentication failed: the data is shorter than the tag');
      cipher.setTag(input.subarray(input.length - cipher.tagLength));
      input = input.subarray(0, input.length - cipher.tagLength);
    }
    const out = Buffer.concat([cipher.update(input), cipher.final()]);
    const items = finishItems(uid, out, cipher, tagInData, true);
    return [...items.slice(0, 2), ...ivItems, ...items.slice(2)];
  });
}

/** The response of a last (or only) part: Data (with the tag appended below 1.4), then the tag field from 1.4. */
function finishItems(uid: TtlvItem, out: Buffer, cipher: SymmetricCipher, tagInData: boolean, alwaysData = false): TtlvItem[] {
  const tag = cipher.tag();
  const data = tag && tagInData ? Buffer.concat([out, tag]) : out;
  const items: TtlvItem[] = [uid];
  if (alwaysData || data.length > 0) items.push(bytes(Tag.Data, data));
  if (tag && !tagInData) items.push(bytes(Tag.AuthenticatedEncryptionTag, tag));
  return items;
}
