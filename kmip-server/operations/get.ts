import { Tag } from '../ttlv/tag.ts';
import { VERSION_ORDER, enumSinceIndex, tagName, tagSinceIndex, versionIndex } from '../ttlv/spec/names.ts';
import {
  BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption, KeyCompressionType, KeyFormatType, KeyWrapType, ObjectType,
  PaddingMethod, ResultReason, State, WrappingMethod,
} from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { encode } from '../ttlv/writer.ts';
import { KmipError, featureNotSupported, invalidField, missingData, objectNotFound } from '../messages/errors.ts';
import { find, findAll, optBytes, optEnum, optStruct, optText, reqEnum, reqText } from '../messages/tree.ts';
import { canonicalName, emitAttribute } from '../messages/attributes.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import { lifecycleError } from '../objects/lifecycle.ts';
import { convertKeyBlock } from '../crypto/formats.ts';
import { formatOf, isWrapped, materialOf } from '../crypto/key-block.ts';
import { KeyMaterialError, keyFacts, publicKeyFrom } from '../crypto/keys.ts';
import { WrapError, aesKeyWrap, rsaWrap } from '../crypto/wrap.ts';
import { pkcs12KeyBlock } from '../crypto/pkcs12.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { OBJECT_TAG, assertNotArchived, isArchived, loadObject, markServed, versionedError } from './common.ts';
import { servedBody } from './key-unwrap.ts';

const flag = (obj: ManagedObject, name: string): boolean | undefined => {
  const v = obj.one(name);
  return v?.type === ItemType.Boolean ? v.value : undefined;
};

/**
 * Get: returns the object itself, in the requested Key Format Type when one is asked for (conversions in
 * crypto/formats.ts), wrapped when a Key Wrapping Specification asks. Serving it clears Fresh. A Sensitive
 * key is returned only wrapped, a non-Extractable one not at all.
 */
export const get: OperationHandler = async (payload, ctx) => {
  // No identifier and no ID Placeholder (an earlier Locate found nothing): there is no such item (TC-152).
  const uid = optText(payload, Tag.UniqueIdentifier) ?? ctx.placeholder.id;
  if (uid === undefined) throw objectNotFound(ctx.version, '(no Unique Identifier and no ID Placeholder)');
  const obj = await loadObject(ctx, uid);
  assertNotArchived(obj);
  if (!obj.body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.ItemNotFound, `object ${uid} has been destroyed`);
  if (OBJECT_TAG[obj.objectType] === undefined) throw new KmipError(ResultReason.GeneralFailure, 'unknown object type');
  // A PGP Key (1.2) has no encoding a 1.1 client could decode: say so rather than answer in tags it lacks.
  const since = enumSinceIndex('Object Type', obj.objectType);
  if (since > versionIndex(ctx.version)) {
    throw featureNotSupported(`this object type exists only from KMIP ${VERSION_ORDER[since]}; get it at that version or later`);
  }
  const wrapping = optStruct(payload, Tag.KeyWrappingSpecification);
  if (flag(obj, 'Extractable') === false) throw new KmipError(ResultReason.NotExtractable, 'the object is not extractable');
  if (flag(obj, 'Sensitive') === true && !wrapping) throw new KmipError(ResultReason.Sensitive, 'the object is sensitive: it is only returned wrapped');

  const req = {
    format: optEnum(payload, Tag.KeyFormatType),
    compression: optEnum(payload, Tag.KeyCompressionType),
    wrapType: optEnum(payload, Tag.KeyWrapType),
  };
  let body: StructureItem;
  if (asPkcs12(obj, obj.body, req)) {
    // A private key with its certificate chain in a password-protected PKCS#12 container (crypto/pkcs12.ts).
    if (wrapping) throw featureNotSupported('a PKCS#12 container is protected by its password and is not wrapped');
    const block = await pkcs12KeyBlock(obj, (u) => loadLinked(ctx, u), ctx.version);
    body = struct(obj.body.tag, obj.body.value.map((i): TtlvItem => (i.tag === Tag.KeyBlock ? block : i)));
  } else {
    // A key registered wrapped is served as registered unless unwrapping is asked for (key-unwrap.ts).
    const stored = await servedBody(ctx, obj.body, req, wrapping);
    body = stored.body;
    if (!stored.asStored) {
      body = returnedBody(obj, body, req);
      if (wrapping) body = await wrapBody(ctx, obj, body, wrapping);
    }
  }
  if (markServed(obj)) ctx.uow.save(obj);
  const newer = fieldNewerThan(body, ctx.version);
  if (newer) throw featureNotSupported(`this object holds ${newer}, which KMIP ${ctx.version.major}.${ctx.version.minor} cannot express; get it at a later version`);
  return [enumeration(Tag.ObjectType, obj.objectType), text(Tag.UniqueIdentifier, obj.uid), body];
}

/**
 * The name of a field of `body` newer than `version` (a Key Wrapping Data's Encoding Option, 1.1, in a key wrapped
 * at 1.4 and fetched at 1.0), or undefined. The body goes back as stored, so a field its reader cannot decode means
 * no answer rather than an unreadable one.
 */
function fieldNewerThan(body: StructureItem, version: ProtocolVersion): string | undefined {
  const v = versionIndex(version);
  if (v < 0 || v === VERSION_ORDER.length - 1) return undefined;
  const walk = (s: StructureItem): string | undefined => {
    for (const c of s.value) {
      const since = tagSinceIndex(c.tag);
      if (since > v) return `${tagName(c.tag) ?? 'a field'} (KMIP ${VERSION_ORDER[since]})`;
      if (c.type === ItemType.Structure) {
        const inner = walk(c);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return walk(body);
};

/** Get asks for PKCS#12 of a private key stored in another format (one stored as PKCS#12 is returned as stored). */
function asPkcs12(obj: ManagedObject, body: StructureItem, req: { format?: number; wrapType?: number }): boolean {
  if (req.format !== KeyFormatType.PKCS_12 || obj.objectType !== ObjectType.PrivateKey || req.wrapType === KeyWrapType.AsRegistered) return false;
  const block = optStruct(body, Tag.KeyBlock);
  return block !== undefined && formatOf(block) !== KeyFormatType.PKCS_12;
}

/** An object a PKCS#12 link names, undefined when the caller has no such object. */
async function loadLinked(ctx: OperationContext, uid: string): Promise<ManagedObject | undefined> {
  try {
    return await loadObject(ctx, uid);
  } catch (err) {
    if (err instanceof KmipError && (err.reason === ResultReason.ItemNotFound || err.reason === ResultReason.ObjectNotFound)) return undefined;
    throw err;
  }
}

function returnedBody(obj: ManagedObject, body: StructureItem, req: { format?: number; compression?: number; wrapType?: number }): StructureItem {
  const blockIndex = body.value.findIndex((i) => i.tag === Tag.KeyBlock);
  const block = body.value[blockIndex];
  if (!block || block.type !== ItemType.Structure) {
    // Certificates, opaque objects and templates have one form: as stored.
    if (req.format !== undefined && !(obj.objectType === ObjectType.Certificate && req.format === KeyFormatType.X_509)) {
      throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this object has no Key Block to convert');
    }
    return body;
  }
  // Key Wrap Type As Registered (1.4 §4.11): the key block exactly as the client gave it, wrapped or not.
  if (req.wrapType === KeyWrapType.AsRegistered) return body;
  if (isWrapped(block)) throw featureNotSupported('the key is stored wrapped; ask for Key Wrap Type As Registered');
  if (req.compression !== undefined) {
    const ec = obj.objectType === ObjectType.PublicKey || obj.objectType === ObjectType.PrivateKey;
    if (req.compression !== KeyCompressionType.ECPublicKeyTypeUncompressed || !ec) {
      throw new KmipError(ResultReason.KeyCompressionTypeNotSupported, 'only uncompressed elliptic curve points are supported');
    }
  }
  if (req.format === undefined) return body;
  const converted = convertKeyBlock(obj.objectType, block, req.format);
  return struct(body.tag, body.value.map((i, j): TtlvItem => (j === blockIndex ? converted : i)));
}

/**
 * Wraps the returned Key Value under the key a Key Wrapping Specification names (1.4 §2.1.6): Encrypt only,
 * with the wrapping key's usage mask allowing Wrap Key. TTLV encoding (the default) wraps the whole Key
 * Value, with any attributes asked for; No Encoding wraps the Key Material bytes alone.
 */
async function wrapBody(ctx: OperationContext, obj: ManagedObject, body: StructureItem, spec: StructureItem): Promise<StructureItem> {
  const method = reqEnum(spec, Tag.WrappingMethod);
  if (method !== WrappingMethod.Encrypt || find(spec, Tag.MACSignatureKeyInformation)) throw featureNotSupported('only the Encrypt wrapping method is supported');
  const info = optStruct(spec, Tag.EncryptionKeyInformation);
  if (!info) throw missingData('the Key Wrapping Specification lacks Encryption Key Information');
  const blockIndex = body.value.findIndex((i) => i.tag === Tag.KeyBlock);
  const block = body.value[blockIndex];
  if (!block || block.type !== ItemType.Structure) throw invalidField('only objects with a Key Block can be wrapped');
  if (isWrapped(block)) throw featureNotSupported('the key is already wrapped');
  const material = materialOf(block);
  if (!material) throw new KmipError(ResultReason.KeyValueNotPresent, 'the object has no key value on this server');

  const kek = await wrappingKey(ctx, reqText(info, Tag.UniqueIdentifier));
  const params = optStruct(info, Tag.CryptographicParameters) ?? asStruct(kek.one('Cryptographic Parameters'));
  const encoding = optEnum(spec, Tag.EncodingOption) ?? EncodingOption.TTLVEncoding;
  const names = findAll(spec, Tag.AttributeName).map((n) => (n.type === ItemType.TextString ? canonicalName(n.value) : ''));
  let plaintext: Uint8Array;
  if (encoding === EncodingOption.NoEncoding) {
    if (names.length > 0 || material.type !== ItemType.ByteString) throw new KmipError(ResultReason.EncodingOptionError, 'No Encoding wraps byte-string key material without attributes only');
    plaintext = material.value;
  } else if (encoding === EncodingOption.TTLVEncoding) {
    // The Key Value's attributes: 1.x Attribute structures, or one 2.x Attributes structure.
    const attrs = names.flatMap((name) => obj.all(name).map((value, i) => emitAttribute({ name, value }, ctx.version, i)));
    const carried = attrs.length === 0 ? [] : atLeast(ctx.version, 2, 0) ? [struct(Tag.Attributes, attrs)] : attrs;
    plaintext = encode(struct(Tag.KeyValue, [material, ...carried]));
  } else {
    throw new KmipError(ResultReason.EncodingOptionError, 'unknown Encoding Option');
  }

  const wrapped = wrapWith(kek, params, plaintext);
  const data: TtlvItem[] = [enumeration(Tag.WrappingMethod, method), info];
  const given = find(spec, Tag.EncodingOption);
  if (given) data.push(given);
  const newBlock = struct(Tag.KeyBlock, [
    ...block.value.map((i): TtlvItem => (i.tag === Tag.KeyValue ? bytes(Tag.KeyValue, wrapped) : i)),
    struct(Tag.KeyWrappingData, data),
  ]);
  return struct(body.tag, body.value.map((i, j): TtlvItem => (j === blockIndex ? newBlock : i)));
}

const asStruct = (v: TtlvItem | undefined): StructureItem | undefined => (v?.type === ItemType.Structure ? v : undefined);

/** The key a Get wraps with: present, on line, not destroyed, Active, allowed to Wrap Key. */
async function wrappingKey(ctx: OperationContext, uid: string): Promise<ManagedObject> {
  let kek: ManagedObject;
  try {
    kek = await loadObject(ctx, uid);
  } catch (err) {
    if (err instanceof KmipError && (err.reason === ResultReason.ItemNotFound || err.reason === ResultReason.ObjectNotFound)) {
      throw versionedError(ctx, ResultReason.WrappingObjectNotFound, ResultReason.ItemNotFound, `wrapping key ${uid} not found`);
    }
    throw err;
  }
  if (isArchived(kek)) throw versionedError(ctx, ResultReason.WrappingObjectArchived, ResultReason.ObjectArchived, `wrapping key ${uid} is archived`);
  if (!kek.body) throw versionedError(ctx, ResultReason.WrappingObjectDestroyed, ResultReason.ItemNotFound, `wrapping key ${uid} has been destroyed`);
  if (kek.state !== State.Active) throw lifecycleError(ctx.version, `wrapping key ${uid} is not active`);
  const mask = kek.one('Cryptographic Usage Mask');
  if (mask?.type !== ItemType.Integer || !(mask.value & CryptographicUsageMask.WrapKey)) {
    throw versionedError(ctx, ResultReason.IncompatibleCryptographicUsageMask, ResultReason.PermissionDenied, `wrapping key ${uid} may not wrap keys`);
  }
  return kek;
}

function wrapWith(kek: ManagedObject, params: StructureItem | undefined, plaintext: Uint8Array): Uint8Array {
  const block = kek.body ? optStruct(kek.body, Tag.KeyBlock) : undefined;
  const format = block ? formatOf(block) : undefined;
  const material = block ? materialOf(block) : undefined;
  if (!block || format === undefined || !material || isWrapped(block)) throw featureNotSupported('the wrapping key has no usable key value');
  try {
    if (kek.objectType === ObjectType.SymmetricKey) {
      if (optEnum(block, Tag.CryptographicAlgorithm) !== CryptographicAlgorithm.AES) throw featureNotSupported('symmetric wrapping keys must be AES keys');
      const key = material.type === ItemType.ByteString ? material.value : material.type === ItemType.Structure ? optBytes(material, Tag.Key) : undefined;
      if (!key) throw featureNotSupported('the wrapping key has no usable key value');
      return aesKeyWrap(key, plaintext, (params && optEnum(params, Tag.BlockCipherMode)) ?? BlockCipherMode.NISTKeyWrap);
    }
    if (kek.objectType === ObjectType.PublicKey) {
      const key = publicKeyFrom(format, material);
      if (keyFacts(key).family !== 'rsa') throw featureNotSupported('public wrapping keys must be RSA keys');
      return rsaWrap(key, plaintext, (params && optEnum(params, Tag.PaddingMethod)) ?? PaddingMethod.OAEP, params && optEnum(params, Tag.HashingAlgorithm));
    }
  } catch (err) {
    if (err instanceof KmipError) throw err;
    if (err instanceof WrapError) throw featureNotSupported(err.message);
    if (err instanceof KeyMaterialError) throw new KmipError(ResultReason.CryptographicFailure, err.message);
    throw new KmipError(ResultReason.CryptographicFailure, 'wrapping failed');
  }
  throw featureNotSupported('keys are wrapped with AES symmetric keys or RSA public keys only');
}
