import { randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, ObjectType } from '../ttlv/enums.ts';
import { bytes, enumeration, struct, text } from '../ttlv/types.ts';
import { invalidField, missingData } from '../messages/errors.ts';
import { reqEnum } from '../messages/tree.ts';
import type { OperationHandler } from './context.ts';
import { RAW, attrEnum, attrInt, checkClientAttributes, digestAttribute, keyBlock, newObject, requestAttributes } from './common.ts';

/** Key lengths (bits) the server generates per symmetric algorithm; undefined = any multiple of 8. */
const SYMMETRIC_LENGTHS: ReadonlyMap<number, readonly number[] | undefined> = new Map<number, readonly number[] | undefined>([
  [CryptographicAlgorithm.AES, [128, 192, 256]],
  [CryptographicAlgorithm.DES3, [112, 168, 192]],
  [CryptographicAlgorithm.DES, [56, 64]],
  [CryptographicAlgorithm.HMAC_SHA1, undefined],
  [CryptographicAlgorithm.HMAC_SHA224, undefined],
  [CryptographicAlgorithm.HMAC_SHA256, undefined],
  [CryptographicAlgorithm.HMAC_SHA384, undefined],
  [CryptographicAlgorithm.HMAC_SHA512, undefined],
  [CryptographicAlgorithm.HMAC_MD5, undefined],
  [CryptographicAlgorithm.ChaCha20, [256]],
  [CryptographicAlgorithm.Camellia, [128, 192, 256]],
  [CryptographicAlgorithm.ARIA, [128, 192, 256]],
  [CryptographicAlgorithm.Blowfish, undefined],
  [CryptographicAlgorithm.RC4, undefined],
]);

/** Bytes of key material for a length in bits (DES-family lengths exclude parity bits). */
function materialBytes(algorithm: number, bits: number): number {
  if (algorithm === CryptographicAlgorithm.DES3) return 24;
  if (algorithm === CryptographicAlgorithm.DES) return 8;
  return bits / 8;
}

/** Create: the server generates a Symmetric Key (the only object type KMIP's Create makes). */
export const create: OperationHandler = async (payload, ctx) => {
  const objectType = reqEnum(payload, Tag.ObjectType);
  if (objectType !== ObjectType.SymmetricKey) throw invalidField('Create makes Symmetric Keys only; use Create Key Pair or Register');
  const attrs = requestAttributes(payload, ctx);
  checkClientAttributes(attrs);
  const algorithm = attrEnum(attrs, 'Cryptographic Algorithm');
  if (algorithm === undefined) throw missingData('Cryptographic Algorithm is required');
  if (!SYMMETRIC_LENGTHS.has(algorithm)) throw invalidField('Cryptographic Algorithm is not a symmetric algorithm this server generates');
  const allowed = SYMMETRIC_LENGTHS.get(algorithm);
  const length = attrInt(attrs, 'Cryptographic Length') ?? (allowed ? allowed[allowed.length - 1] : undefined);
  if (length === undefined) throw missingData('Cryptographic Length is required');
  if (allowed ? !allowed.includes(length) : length <= 0 || length % 8 !== 0 || length > 8192) {
    throw invalidField(`Cryptographic Length ${length} is not valid for this algorithm`);
  }
  if (attrInt(attrs, 'Cryptographic Usage Mask') === undefined) throw missingData('Cryptographic Usage Mask is required');

  const material = randomBytes(materialBytes(algorithm, length));
  const body = struct(Tag.SymmetricKey, [keyBlock(RAW, bytes(Tag.KeyMaterial, material), algorithm, length)]);
  const obj = newObject(ctx, ObjectType.SymmetricKey, body, attrs);
  if (!obj.has('Cryptographic Length')) obj.set('Cryptographic Length', { tag: Tag.AttributeValue, type: 2, value: length });
  obj.add('Digest', digestAttribute(material, RAW));
  ctx.uow.save(obj);
  ctx.placeholder.id = obj.uid;
  return [enumeration(Tag.ObjectType, objectType), text(Tag.UniqueIdentifier, obj.uid)];
};
