import { Tag } from '../ttlv/tag.ts';
import { BlockCipherMode, CryptographicAlgorithm, DerivationMethod, KeyFormatType, LinkType, ObjectType, ResultReason, SecretDataType } from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, text, type StructureItem } from '../ttlv/types.ts';
import { KmipError, invalidField, missingData } from '../messages/errors.ts';
import { findAll, optBytes, optInt, optStruct, reqEnum, reqStruct } from '../messages/tree.ts';
import { convertKeyBlock } from '../crypto/formats.ts';
import { badParams, unsupported } from '../crypto/crypto-error.ts';
import { checkUse, keyAlgorithm, kmipErrors, secretMaterial } from '../crypto/key-use.ts';
import { hashDerive, hkdf, hmacDerive, pbkdf2 } from '../crypto/kdf.ts';
import { firstParams, hashOfAlgorithm, parseParams, type CryptoParams } from '../crypto/params.ts';
import { encryptOnce } from '../crypto/symmetric.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationHandler } from './context.ts';
import { RAW, attrEnum, attrInt, digestAttribute, keyBlock, linkValue, loadObject, newObject, setServerAttributes, touch } from './common.ts';
import { layeredAttributes, materialBytes, materialDigestInput, symmetricLength, takeRequestedFormat } from './create.ts';

/** Longest Secret Data a derivation makes, in bits. */
const MAX_SECRET_BITS = 8192;

/**
 * Derive Key (1.4 §4.6, 2.1 §6.1.14): a new Symmetric Key or Secret Data from a key or Secret Data whose Usage Mask
 * allows Derive Key, by PBKDF2, HASH, HMAC, ENCRYPT or HKDF (crypto/kdf.ts says how each reads its inputs). The
 * first Unique Identifier is the derivation key; a second one may name a Secret Data that supplies the Derivation
 * Data (giving both is Invalid Message, 1.4 §11.7). The new object links to its bases with Derivation Base Object
 * links, the bases to it with Derived Key links, and it becomes the ID Placeholder. The ID Placeholder is never
 * used in place of a Unique Identifier here (the spec forbids it).
 *
 * Cryptographic Parameters come from the Derivation Parameters, else the key's first Cryptographic Parameters. The
 * spec asks the server to refuse a key with no matching Cryptographic Parameters attribute; the vector
 * TC-DERIVEKEY-1 derives with a key that has none, so this server does not insist.
 */
export const deriveKey: OperationHandler = async (payload, ctx) => {
  const objectType = reqEnum(payload, Tag.ObjectType);
  if (objectType !== ObjectType.SymmetricKey && objectType !== ObjectType.SecretData) throw invalidField('Derive Key makes a Symmetric Key or Secret Data');
  const uids = findAll(payload, Tag.UniqueIdentifier).map((i) => {
    if (i.type !== ItemType.TextString) throw invalidField('Unique Identifier is not a text string');
    return i.value;
  });
  if (uids.length === 0) throw missingData('Derive Key needs the Unique Identifier of the derivation key');
  const method = reqEnum(payload, Tag.DerivationMethod);
  const dp = reqStruct(payload, Tag.DerivationParameters);

  const { attrs, format } = takeRequestedFormat(await layeredAttributes(payload, ctx, Tag.TemplateAttribute, Tag.Attributes));
  const bits = attrInt(attrs, 'Cryptographic Length');
  if (bits === undefined) throw missingData('Derive Key needs a Cryptographic Length');
  let algorithm: number | undefined;
  let size: number;
  if (objectType === ObjectType.SymmetricKey) {
    const checked = symmetricLength(attrEnum(attrs, 'Cryptographic Algorithm'), bits);
    algorithm = checked.algorithm;
    size = materialBytes(algorithm, bits);
    if (format !== undefined && format !== RAW && format !== KeyFormatType.TransparentSymmetricKey) {
      throw invalidField('a derived Symmetric Key is stored in Raw or Transparent Symmetric Key format');
    }
  } else {
    if (bits <= 0 || bits % 8 !== 0 || bits > MAX_SECRET_BITS) throw invalidField(`Cryptographic Length must be a multiple of 8 up to ${MAX_SECRET_BITS}`);
    size = bits / 8;
  }

  const bases: ManagedObject[] = [];
  for (const uid of uids) {
    const obj = await loadObject(ctx, uid);
    checkUse(obj, 'derive', ctx.version, ctx.now);
    bases.push(obj);
  }
  const base = bases[0]!;
  const extra = bases.slice(1);
  if (extra.some((o) => o.objectType !== ObjectType.SecretData)) throw invalidField('only a Secret Data may follow the derivation key');
  if (extra.length > 1) throw invalidField('at most one Secret Data may supply the derivation data');
  const given = optBytes(dp, Tag.DerivationData);
  if (given !== undefined && extra.length > 0) throw new KmipError(ResultReason.InvalidMessage, 'derivation data given both as Derivation Data and as a Secret Data object');
  const data = given ?? (extra[0] ? secretMaterial(extra[0]) : undefined);

  const out = await kmipErrors(ctx.version, () => derive(method, dp, base, data, size));
  const block = keyBlock(objectType === ObjectType.SymmetricKey ? RAW : KeyFormatType.Opaque, bytes(Tag.KeyMaterial, out), algorithm, algorithm !== undefined ? bits : undefined);
  const stored = format !== undefined && format !== RAW ? convertKeyBlock(objectType, block, format) : block;
  const body: StructureItem = objectType === ObjectType.SymmetricKey
    ? struct(Tag.SymmetricKey, [stored])
    : struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Seed), stored]);

  const obj = newObject(ctx, objectType, body, attrs);
  if (!obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, bits));
  const storedMaterial = stored.value.find((i) => i.tag === Tag.KeyValue);
  const material = storedMaterial?.type === ItemType.Structure ? storedMaterial.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
  const storedFormat = format ?? (objectType === ObjectType.SymmetricKey ? RAW : KeyFormatType.Opaque);
  if (material) obj.add('Digest', digestAttribute(materialDigestInput(material), storedFormat));
  if (storedFormat !== RAW && objectType === ObjectType.SymmetricKey) obj.add('Digest', digestAttribute(out, RAW));
  setServerAttributes(obj, ctx, { generated: false, keyFormat: storedFormat });
  for (const b of bases) {
    obj.add('Link', linkValue(LinkType.DerivationBaseObjectLink, b.uid));
    b.add('Link', linkValue(LinkType.DerivedKeyLink, obj.uid));
    touch(b, ctx);
    ctx.uow.save(b);
  }
  ctx.uow.save(obj);
  ctx.placeholder.id = obj.uid;
  return [text(Tag.UniqueIdentifier, obj.uid)];
};

/** The derivation's Cryptographic Parameters: the Derivation Parameters' own, else the key's first. */
function paramsOf(dp: StructureItem, base: ManagedObject): CryptoParams {
  return parseParams(optStruct(dp, Tag.CryptographicParameters) ?? firstParams(base.all('Cryptographic Parameters')));
}

function derive(method: number, dp: StructureItem, base: ManagedObject, data: Uint8Array | undefined, size: number): Buffer {
  const p = paramsOf(dp, base);
  const key = secretMaterial(base);
  const needData = (): Uint8Array => {
    if (data === undefined) throw badParams('this derivation method needs Derivation Data');
    return data;
  };
  switch (method) {
    case DerivationMethod.HASH: {
      if (p.hashingAlgorithm === undefined) throw badParams('the HASH derivation needs a Hashing Algorithm');
      return hashDerive(p.hashingAlgorithm, data ?? key, size);
    }
    case DerivationMethod.HMAC: {
      const hash = p.hashingAlgorithm ?? hashOfAlgorithm(keyAlgorithm(base));
      if (hash === undefined) throw badParams('the HMAC derivation needs a Hashing Algorithm or an HMAC key');
      return hmacDerive(hash, key, needData(), size);
    }
    case DerivationMethod.PBKDF2: {
      const salt = optBytes(dp, Tag.Salt);
      const iterations = optInt(dp, Tag.IterationCount);
      if (salt === undefined || iterations === undefined) throw badParams('PBKDF2 needs Salt and Iteration Count');
      return pbkdf2(p.hashingAlgorithm, data ?? key, salt, iterations, size);
    }
    case DerivationMethod.HKDF:
      return hkdf(p.hashingAlgorithm, key, optBytes(dp, Tag.Salt) ?? new Uint8Array(0), data ?? new Uint8Array(0), size);
    case DerivationMethod.ENCRYPT: {
      const algorithm = keyAlgorithm(base);
      if (algorithm === undefined) throw badParams('the derivation key has no Cryptographic Algorithm');
      // "An empty IV is assumed if not provided" (1.4 §4.6): a zero IV of the cipher's size for the modes that need one.
      const ivSize = algorithm === CryptographicAlgorithm.DES3 ? 8 : algorithm === CryptographicAlgorithm.ChaCha20Poly1305 ? 12 : 16;
      const iv = optBytes(dp, Tag.InitializationVector) ?? (p.blockCipherMode === BlockCipherMode.ECB ? undefined : Buffer.alloc(ivSize));
      const { data: ct } = encryptOnce(algorithm, key, needData(), { params: p, iv });
      if (ct.length < size) throw new KmipError(ResultReason.CryptographicFailure, `the derivation yields ${ct.length} bytes, ${size} were asked`);
      return ct.subarray(0, size);
    }
    default:
      throw unsupported('this Derivation Method is not supported (PBKDF2, HASH, HMAC, ENCRYPT and HKDF are)');
  }
}
