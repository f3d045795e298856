import { randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, ResultReason } from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { encode } from '../ttlv/writer.ts';
import { KmipError, invalidField, missingData } from '../messages/errors.ts';
import { optStruct, reqEnum } from '../messages/tree.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { atLeast } from '../messages/version.ts';
import { convertKeyBlock } from '../crypto/formats.ts';
import { materialOf } from '../crypto/key-block.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  RAW, attrEnum, attrInt, checkClientAttributes, digestAttribute, keyBlock, mergeAttributeLayers, newObject,
  setServerAttributes, templateAttributes,
} from './common.ts';

/**
 * Key lengths (bits) the server generates per symmetric algorithm; undefined = any multiple of 8 up to 8192.
 * The server only stores such keys: which ones it can also use is the crypto operations' business.
 */
export const SYMMETRIC_LENGTHS: ReadonlyMap<number, readonly number[] | undefined> = new Map<number, readonly number[] | undefined>([
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
  [CryptographicAlgorithm.ChaCha20Poly1305, [256]],
  [CryptographicAlgorithm.Camellia, [128, 192, 256]],
  [CryptographicAlgorithm.ARIA, [128, 192, 256]],
  [CryptographicAlgorithm.Blowfish, undefined],
  [CryptographicAlgorithm.RC4, undefined],
  [CryptographicAlgorithm.RC2, undefined],
  [CryptographicAlgorithm.RC5, undefined],
  [CryptographicAlgorithm.CAST5, [40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128]],
  [CryptographicAlgorithm.IDEA, [128]],
  [CryptographicAlgorithm.SKIPJACK, [80]],
  [CryptographicAlgorithm.Twofish, [128, 192, 256]],
  [CryptographicAlgorithm.MARS, [128, 192, 256]],
  [CryptographicAlgorithm.SEED, [128]],
  [CryptographicAlgorithm.SM4, [128]],
  [CryptographicAlgorithm.GOST28147_89, [256]],
  [CryptographicAlgorithm.Poly1305, [256]],
  [CryptographicAlgorithm.HMAC_SHA3_224, undefined],
  [CryptographicAlgorithm.HMAC_SHA3_256, undefined],
  [CryptographicAlgorithm.HMAC_SHA3_384, undefined],
  [CryptographicAlgorithm.HMAC_SHA3_512, undefined],
]);

/** Bytes of key material for a length in bits (DES-family lengths exclude parity bits). */
export function materialBytes(algorithm: number, bits: number): number {
  if (algorithm === CryptographicAlgorithm.DES3) return 24;
  if (algorithm === CryptographicAlgorithm.DES) return 8;
  return bits / 8;
}

/** Checks algorithm and length, filling the default length; returns the length to generate. */
export function symmetricLength(algorithm: number | undefined, requested: number | undefined): { algorithm: number; length: number } {
  if (algorithm === undefined) throw missingData('Cryptographic Algorithm is required');
  if (!SYMMETRIC_LENGTHS.has(algorithm)) throw invalidField('Cryptographic Algorithm is not a symmetric algorithm this server generates');
  const allowed = SYMMETRIC_LENGTHS.get(algorithm);
  const length = requested ?? (allowed ? allowed[allowed.length - 1] : undefined);
  if (length === undefined) throw missingData('Cryptographic Length is required');
  if (allowed ? !allowed.includes(length) : length <= 0 || length % 8 !== 0 || length > 8192) {
    throw invalidField(`Cryptographic Length ${length} is not valid for this algorithm`);
  }
  return { algorithm, length };
}

/**
 * A new Symmetric Key in `format` (Raw, or Transparent Symmetric Key) from fresh random bytes, with its
 * Digests: one over the stored form and, for a non-default format, one over Raw (2.1 §4.26).
 */
export function generateSymmetricKey(algorithm: number, length: number, format: number = RAW): { body: StructureItem; digests: TtlvItem[] } {
  const material = bytes(Tag.KeyMaterial, randomBytes(materialBytes(algorithm, length)));
  const raw = keyBlock(RAW, material, algorithm, length);
  const block = format === RAW ? raw : convertKeyBlock(ObjectType.SymmetricKey, raw, format);
  const stored = materialOf(block);
  if (!stored) throw new Error('converted key block lost its material');
  const digests = [digestAttribute(materialDigestInput(stored), format)];
  if (format !== RAW) digests.push(digestAttribute(materialDigestInput(material), RAW));
  return { body: struct(Tag.SymmetricKey, [block]), digests };
}

/** What a Digest hashes (1.4 §3.17): a byte-string Key Material itself, a structure's TTLV encoding. */
export function materialDigestInput(material: TtlvItem): Uint8Array {
  return material.type === ItemType.ByteString ? material.value : encode(material);
}

/**
 * The Key Format Type a 2.x client asks generated material to be stored in (2.1 §4.26), removed from the
 * attributes the object gets (the server sets that attribute itself).
 */
export function takeRequestedFormat(attrs: AttributeEntry[]): { attrs: AttributeEntry[]; format?: number } {
  const format = attrEnum(attrs, 'Key Format Type');
  const rest = attrs.filter((a) => a.name !== 'Key Format Type');
  return format === undefined ? { attrs: rest } : { attrs: rest, format };
}

/** The request's attribute container: the 2.x one (Attributes, Common Attributes ...) or the 1.x Template-Attribute. */
export function attributeContainer(payload: StructureItem, ctx: OperationContext, tag1x: number, tag2x: number): StructureItem | undefined {
  return atLeast(ctx.version, 2, 0) ? optStruct(payload, tag2x) ?? optStruct(payload, tag1x) : optStruct(payload, tag1x) ?? optStruct(payload, tag2x);
}

/** Explicit attributes of a request over the 1.x Templates it names (explicit ones win). */
export async function layeredAttributes(payload: StructureItem, ctx: OperationContext, tag1x: number, tag2x: number): Promise<AttributeEntry[]> {
  const explicit = parseAttributeList(attributeContainer(payload, ctx, tag1x, tag2x));
  const { attrs } = takeRequestedFormat(explicit);
  checkClientAttributes(attrs);
  const templates = await templateAttributes(ctx, optStruct(payload, tag1x));
  return mergeAttributeLayers([templates, explicit]);
}

/**
 * A request for a Quantum Safe key (2.1 §4.45) is refused unless the key resists Grover's search:
 * a 256-bit (or longer) symmetric key. The vectors (QS-M-2-21) expect General Failure.
 */
export function refuseUnsafe(attrs: readonly AttributeEntry[], algorithm: number, length: number): void {
  const q = attrs.find((a) => a.name === 'Quantum Safe')?.value;
  const safe = length >= 256 && algorithm !== CryptographicAlgorithm.DES3 && algorithm !== CryptographicAlgorithm.DES;
  if (q?.type === ItemType.Boolean && q.value && !safe) throw new KmipError(ResultReason.GeneralFailure, 'the requested key would not be quantum safe');
}

/** Create: the server generates a Symmetric Key (the only object type KMIP's Create makes). */
export const create: OperationHandler = async (payload, ctx) => {
  const objectType = reqEnum(payload, Tag.ObjectType);
  if (objectType !== ObjectType.SymmetricKey) throw invalidField('Create makes Symmetric Keys only; use Create Key Pair or Register');
  const { attrs, format } = takeRequestedFormat(await layeredAttributes(payload, ctx, Tag.TemplateAttribute, Tag.Attributes));
  const { algorithm, length } = symmetricLength(attrEnum(attrs, 'Cryptographic Algorithm'), attrInt(attrs, 'Cryptographic Length'));
  // No Usage Mask is allowed (TC-CS-CORVAL-1-14 creates one without): such a key serves Get but no
  // cryptographic operation, since an absent mask grants no use (crypto/key-use.ts).
  refuseUnsafe(attrs, algorithm, length);
  if (format !== undefined && format !== RAW && format !== KeyFormatType.TransparentSymmetricKey) {
    throw invalidField('a Symmetric Key is generated in Raw or Transparent Symmetric Key format only');
  }

  const { body, digests } = generateSymmetricKey(algorithm, length, format ?? RAW);
  const obj = newObject(ctx, ObjectType.SymmetricKey, body, attrs);
  if (!obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, length));
  for (const d of digests) obj.add('Digest', d);
  setServerAttributes(obj, ctx, { generated: true, keyFormat: format ?? RAW });
  ctx.uow.save(obj);
  ctx.placeholder.id = obj.uid;
  return [enumeration(Tag.ObjectType, objectType), text(Tag.UniqueIdentifier, obj.uid)];
};
