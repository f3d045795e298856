/**
 * Keys stored wrapped: a Register or Import whose Key Block carries Key Wrapping Data (1.4 §2.1.5, 2.1 §2.1.5) is kept
 * exactly as given; the server neither checks nor uses the key until a client asks it to unwrap. This module decides
 * what Get and Export serve of such a key, and unwraps it under a key of the caller's scope when asked.
 *
 * - Get with neither Key Wrap Type nor Key Wrapping Specification, or Key Wrap Type As Registered: the key as
 *   registered, still wrapped (1.4 §4.11: a key is served in the form it was registered in; the server never
 *   unwraps unasked).
 * - A Key Wrapping Specification equal to the stored Key Wrapping Data (same method, key, parameters, encoding, no
 *   attributes): the stored value, which is already that answer.
 * - Key Wrap Type Not Wrapped, or a specification naming another key or other parameters: unwrapped with the key
 *   the Key Wrapping Data names, then served as any plaintext key (converted, or wrapped again as specified).
 *
 * Unwrapping is "processing protected data", so it follows Decrypt's rules (key-use.ts): the unwrapping key (the AES
 * key, or the private key an RSA public key links to) must be in the caller's scope, Active, Deactivated or
 * Compromised, and allow Unwrap Key. AES Key Wrap checks integrity: a wrong key is a Cryptographic Failure, never a
 * garbage key.
 */
import { Tag } from '../ttlv/tag.ts';
import {
  BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption, KeyWrapType, LinkType, ObjectType, PaddingMethod,
  ResultReason, State, WrappingMethod,
} from '../ttlv/enums.ts';
import { ItemType, bytes, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { KmipError, featureNotSupported, invalidField, missingData } from '../messages/errors.ts';
import { find, findAll, optBytes, optEnum, optStruct, reqEnum, reqText } from '../messages/tree.ts';
import { lifecycleError } from '../objects/lifecycle.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { formatOf, isWrapped, materialOf } from '../crypto/key-block.ts';
import { KeyMaterialError, privateKeyFrom } from '../crypto/keys.ts';
import { WrapError, aesKeyUnwrap, rsaUnwrap } from '../crypto/wrap.ts';
import type { OperationContext } from './context.ts';
import { isArchived, loadObject, versionedError } from './common.ts';

/** Decode limits for an unwrapped TTLV Key Value: one key, never a message. */
const KEY_VALUE_LIMITS = { maxMessageBytes: 1 << 20, maxDepth: 16, maxItems: 10_000 };

/** The Key Block of an object structure and its index, or undefined for objects without one. */
function keyBlockAt(body: StructureItem): { block: StructureItem; index: number } | undefined {
  const index = body.value.findIndex((i) => i.tag === Tag.KeyBlock);
  const block = body.value[index];
  return block?.type === ItemType.Structure ? { block, index } : undefined;
}

/** True when the object structure holds a wrapped Key Block. */
export function isStoredWrapped(body: StructureItem): boolean {
  const kb = keyBlockAt(body);
  return kb !== undefined && isWrapped(kb.block);
}

/**
 * What Get / Export start from (see the module comment). `asStored`: the stored, still wrapped, body is the answer
 * and no conversion or wrapping follows. Otherwise `body` is plaintext.
 */
export async function servedBody(
  ctx: OperationContext, body: StructureItem, req: { format?: number; compression?: number; wrapType?: number }, spec: StructureItem | undefined,
): Promise<{ body: StructureItem; asStored: boolean }> {
  const kb = keyBlockAt(body);
  if (!kb || !isWrapped(kb.block)) return { body, asStored: false };
  const kwd = optStruct(kb.block, Tag.KeyWrappingData)!;
  const same = spec !== undefined && sameWrapping(spec, kwd);
  if (req.wrapType === KeyWrapType.NotWrapped) {
    if (spec) throw invalidField('Key Wrap Type Not Wrapped contradicts a Key Wrapping Specification');
    return { body: await unwrapBody(ctx, body), asStored: false };
  }
  if (req.wrapType === KeyWrapType.AsRegistered || !spec || same) {
    if (spec && !same) throw invalidField('Key Wrap Type As Registered: the key is registered wrapped otherwise than this Key Wrapping Specification asks');
    if (req.format !== undefined && req.format !== formatOf(kb.block)) {
      throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'the key is stored wrapped: it is served in its registered Key Format Type unless Key Wrap Type Not Wrapped is asked');
    }
    if (req.compression !== undefined) throw new KmipError(ResultReason.KeyCompressionTypeNotSupported, 'the key is stored wrapped: it cannot be recompressed');
    return { body, asStored: true };
  }
  return { body: await unwrapBody(ctx, body), asStored: false };
}

/** A Key Wrapping Specification that asks for exactly the stored wrapping (TTLV encoding is the default of both). */
function sameWrapping(spec: StructureItem, kwd: StructureItem): boolean {
  if (findAll(spec, Tag.AttributeName).length > 0) return false;
  const enc = (s: StructureItem) => optEnum(s, Tag.EncodingOption) ?? EncodingOption.TTLVEncoding;
  const bytesOf = (i: TtlvItem | undefined) => (i ? Buffer.from(encode(i)).toString('hex') : '');
  return optEnum(spec, Tag.WrappingMethod) === optEnum(kwd, Tag.WrappingMethod)
    && enc(spec) === enc(kwd)
    && bytesOf(find(spec, Tag.EncryptionKeyInformation)) === bytesOf(find(kwd, Tag.EncryptionKeyInformation))
    && bytesOf(find(spec, Tag.MACSignatureKeyInformation)) === bytesOf(find(kwd, Tag.MACSignatureKeyInformation));
}

/**
 * The object structure with its Key Block unwrapped: Key Wrapping Data removed, Key Value in plaintext. The wrapped
 * value is a Key Value byte string (TTLV-encoded Key Value, or with No Encoding the bare Key Material), or, as
 * TC-WRAP-1-14 registers it, a Key Value structure whose Key Material bytes are wrapped (No Encoding).
 */
export async function unwrapBody(ctx: OperationContext, body: StructureItem): Promise<StructureItem> {
  const kb = keyBlockAt(body);
  if (!kb || !isWrapped(kb.block)) return body;
  const { block, index } = kb;
  const kwd = optStruct(block, Tag.KeyWrappingData)!;
  const method = reqEnum(kwd, Tag.WrappingMethod);
  if (method !== WrappingMethod.Encrypt || find(kwd, Tag.MACSignatureKeyInformation)) {
    throw featureNotSupported('only keys wrapped by the Encrypt method (no MAC or signature) can be unwrapped');
  }
  const info = optStruct(kwd, Tag.EncryptionKeyInformation);
  if (!info) throw missingData('the Key Wrapping Data lacks Encryption Key Information');
  const encoding = optEnum(kwd, Tag.EncodingOption) ?? EncodingOption.TTLVEncoding;
  if (encoding !== EncodingOption.TTLVEncoding && encoding !== EncodingOption.NoEncoding) throw new KmipError(ResultReason.EncodingOptionError, 'unknown Encoding Option');

  const kv = find(block, Tag.KeyValue);
  let wrapped: Uint8Array | undefined;
  if (kv?.type === ItemType.ByteString) wrapped = kv.value;
  else if (kv?.type === ItemType.Structure && encoding === EncodingOption.NoEncoding) wrapped = optBytes(kv, Tag.KeyMaterial);
  if (!wrapped) {
    if (!kv) throw new KmipError(ResultReason.KeyValueNotPresent, 'the wrapped key has no Key Value on this server');
    throw invalidField('a wrapped Key Value is a byte string, or with No Encoding a Key Value whose Key Material is a byte string');
  }

  const unwrapper = await unwrappingKey(ctx, reqText(info, Tag.UniqueIdentifier));
  const params = optStruct(info, Tag.CryptographicParameters) ?? paramsOf(unwrapper.named) ?? paramsOf(unwrapper.key);
  const plain = unwrapWith(unwrapper.key, params, wrapped);

  let keyValue: StructureItem;
  if (encoding === EncodingOption.NoEncoding) {
    const material = bytes(Tag.KeyMaterial, plain);
    keyValue = kv?.type === ItemType.Structure
      ? struct(Tag.KeyValue, kv.value.map((i): TtlvItem => (i.tag === Tag.KeyMaterial ? material : i)))
      : struct(Tag.KeyValue, [material]);
  } else {
    let decoded: TtlvItem | undefined;
    try {
      decoded = decode(plain, KEY_VALUE_LIMITS);
    } catch {
      decoded = undefined;
    }
    if (decoded?.tag !== Tag.KeyValue || decoded.type !== ItemType.Structure || !find(decoded, Tag.KeyMaterial)) {
      throw new KmipError(ResultReason.CryptographicFailure, 'the unwrapped value is not a TTLV-encoded Key Value');
    }
    keyValue = decoded;
  }
  const plainBlock = struct(Tag.KeyBlock, block.value
    .filter((i) => i.tag !== Tag.KeyWrappingData)
    .map((i): TtlvItem => (i.tag === Tag.KeyValue ? keyValue : i)));
  return struct(body.tag, body.value.map((i, j): TtlvItem => (j === index ? plainBlock : i)));
}

const paramsOf = (obj: ManagedObject): StructureItem | undefined => {
  const v = obj.one('Cryptographic Parameters');
  return v?.type === ItemType.Structure ? v : undefined;
};

/**
 * The key that unwraps: the named AES key or RSA private key, or for a named RSA public key (what wrapped) the
 * private key its Private Key Link names. `named` is the object the Key Wrapping Data names.
 */
async function unwrappingKey(ctx: OperationContext, uid: string): Promise<{ named: ManagedObject; key: ManagedObject }> {
  const named = await loadWrapping(ctx, uid);
  let key = named;
  if (named.objectType === ObjectType.PublicKey) {
    const link = named.all('Link').find((l) => l.type === ItemType.Structure && optEnum(l, Tag.LinkType) === LinkType.PrivateKeyLink);
    const privUid = link?.type === ItemType.Structure ? find(link, Tag.LinkedObjectIdentifier) : undefined;
    if (privUid?.type !== ItemType.TextString) throw versionedError(ctx, ResultReason.WrappingObjectNotFound, ResultReason.ItemNotFound, `wrapping key ${uid} has no private key on this server`);
    key = await loadWrapping(ctx, privUid.value);
  }
  if (key.objectType !== ObjectType.SymmetricKey && key.objectType !== ObjectType.PrivateKey) {
    throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.IllegalOperation, `object ${uid} is not a key that can unwrap`);
  }
  const state = key.state;
  if (state !== State.Active && state !== State.Deactivated && state !== State.Compromised) throw lifecycleError(ctx.version, `unwrapping key ${key.uid} is not in a state that allows unwrapping`);
  const mask = key.one('Cryptographic Usage Mask');
  const bits = mask?.type === ItemType.Integer ? mask.value : 0;
  if (!(bits & (CryptographicUsageMask.UnwrapKey | CryptographicUsageMask.Unrestricted))) {
    throw versionedError(ctx, ResultReason.IncompatibleCryptographicUsageMask, ResultReason.PermissionDenied, `key ${key.uid} may not unwrap keys`);
  }
  return { named, key };
}

/** A wrapping object of the caller's scope with its key value, with Get's wrapping-object errors. */
async function loadWrapping(ctx: OperationContext, uid: string): Promise<ManagedObject> {
  let obj: ManagedObject;
  try {
    obj = await loadObject(ctx, uid);
  } catch (err) {
    if (err instanceof KmipError && (err.reason === ResultReason.ItemNotFound || err.reason === ResultReason.ObjectNotFound)) {
      throw versionedError(ctx, ResultReason.WrappingObjectNotFound, ResultReason.ItemNotFound, `wrapping key ${uid} not found`);
    }
    throw err;
  }
  if (isArchived(obj)) throw versionedError(ctx, ResultReason.WrappingObjectArchived, ResultReason.ObjectArchived, `wrapping key ${uid} is archived`);
  if (!obj.body) throw versionedError(ctx, ResultReason.WrappingObjectDestroyed, ResultReason.ItemNotFound, `wrapping key ${uid} has been destroyed`);
  return obj;
}

function unwrapWith(key: ManagedObject, params: StructureItem | undefined, wrapped: Uint8Array): Uint8Array {
  const block = key.body ? optStruct(key.body, Tag.KeyBlock) : undefined;
  const format = block ? formatOf(block) : undefined;
  const material = block ? materialOf(block) : undefined;
  if (!block || format === undefined || !material || isWrapped(block)) throw featureNotSupported('the unwrapping key has no usable key value');
  try {
    if (key.objectType === ObjectType.SymmetricKey) {
      const alg = optEnum(block, Tag.CryptographicAlgorithm) ?? algorithmOf(key);
      if (alg !== CryptographicAlgorithm.AES) throw featureNotSupported('symmetric unwrapping keys must be AES keys');
      const k = material.type === ItemType.ByteString ? material.value : material.type === ItemType.Structure ? optBytes(material, Tag.Key) : undefined;
      if (!k) throw featureNotSupported('the unwrapping key has no usable key value');
      return aesKeyUnwrap(k, wrapped, (params && optEnum(params, Tag.BlockCipherMode)) ?? BlockCipherMode.NISTKeyWrap);
    }
    const priv = privateKeyFrom(format, material);
    if (priv.asymmetricKeyType !== 'rsa') throw featureNotSupported('asymmetric unwrapping keys must be RSA keys');
    return rsaUnwrap(priv, wrapped, (params && optEnum(params, Tag.PaddingMethod)) ?? PaddingMethod.OAEP, params && optEnum(params, Tag.HashingAlgorithm));
  } catch (err) {
    if (err instanceof KmipError) throw err;
    if (err instanceof WrapError) throw err.kind === 'failure' ? new KmipError(ResultReason.CryptographicFailure, err.message) : featureNotSupported(err.message);
    if (err instanceof KeyMaterialError) throw new KmipError(ResultReason.CryptographicFailure, err.message);
    throw new KmipError(ResultReason.CryptographicFailure, 'unwrapping failed');
  }
}

function algorithmOf(obj: ManagedObject): number | undefined {
  const v = obj.one('Cryptographic Algorithm');
  return v?.type === ItemType.Enumeration ? v.value : undefined;
}
