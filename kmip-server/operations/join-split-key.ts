import { timingSafeEqual } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, KeyFormatType, LinkType, ObjectType, ResultReason, SecretDataType, SplitKeyMethod } from '../ttlv/enums.ts';
import { ItemType, bool, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, cryptographicFailure, invalidField, missingData } from '../messages/errors.ts';
import { find, findAll, optEnum, optInt, optStruct } from '../messages/tree.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { formatOf, isWrapped, materialOf } from '../crypto/key-block.ts';
import { convertKeyBlock } from '../crypto/formats.ts';
import { secretMaterial } from '../crypto/key-use.ts';
import { SplitError, bitLength, joinShares, type Share } from '../crypto/split.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  RAW, assertNotArchived, attrEnum, attrInt, digestAttribute, keyBlock, loadObject, newObject, setServerAttributes, versionedError,
} from './common.ts';
import { layeredAttributes, materialBytes, materialDigestInput, symmetricLength, takeRequestedFormat } from './create.ts';

/**
 * Join Split Key (1.4 §4.39, 2.1 §6.1.27): Split Keys recombined into a new Symmetric Key or Secret Data
 * (crypto/split.ts), which becomes the ID Placeholder. The Split Keys themselves are left as they are.
 *
 * - Every identifier must name a Split Key of one split: same Parts, Threshold, Method and Prime Field Size, shares
 *   of one length (else Invalid Field). Fewer distinct Key Part Identifiers than the threshold is Cryptographic
 *   Failure (1.4 Table 363; the TC_SJ vectors), checked before anything about the new object.
 * - Parts beyond the threshold must lie on the same polynomial; parts with a common Parent Link to a key that still
 *   exists must rebuild that key. Either mismatch is Cryptographic Failure.
 * - The new object's attributes come from the request; Cryptographic Algorithm and Length default to the parts'
 *   (a Symmetric Key needs an algorithm), the Usage Mask to the parts', and it is Sensitive when a part is.
 *   A Secret Data gets the request's Secret Data Type, else Seed.
 */
export const joinSplitKey: OperationHandler = async (payload, ctx) => {
  const objectType = reqObjectType(payload, ctx);
  const uids = findAll(payload, Tag.UniqueIdentifier).map((i) => {
    if (i.type !== ItemType.TextString) throw invalidField('Unique Identifier is not a text string');
    return i.value;
  });
  if (uids.length === 0) throw missingData('Join Split Key needs the Unique Identifiers of the Split Keys');
  const parts: Part[] = [];
  for (const uid of uids) parts.push(readPart(ctx, await loadObject(ctx, uid)));
  const first = parts[0]!;
  for (const p of parts) {
    if (p.parts !== first.parts || p.threshold !== first.threshold || p.method !== first.method || p.prime !== first.prime || p.share.length !== first.share.length) {
      throw invalidField('the Split Keys are not parts of one split');
    }
  }
  const distinct = new Set(parts.map((p) => p.id)).size;
  if (distinct < first.threshold) throw cryptographicFailure(`${distinct} distinct part(s) given; the Split Key Threshold is ${first.threshold}`);

  const { attrs, format } = takeRequestedFormat(await layeredAttributes(payload, ctx, Tag.TemplateAttribute, Tag.Attributes));
  let algorithm = attrEnum(attrs, 'Cryptographic Algorithm') ?? first.algorithm;
  let bits = attrInt(attrs, 'Cryptographic Length') ?? first.length;
  if (objectType === ObjectType.SymmetricKey) ({ algorithm, length: bits } = symmetricLength(algorithm, bits ?? defaultBits(algorithm, first)));
  else algorithm = undefined;
  const size = bits === undefined ? undefined : algorithm !== undefined ? materialBytes(algorithm, bits) : Math.ceil(bits / 8);

  let secret: Uint8Array;
  try {
    secret = joinShares(parts.map((p): Share => ({ id: p.id, value: p.share })), {
      method: first.method, threshold: first.threshold, ...(first.prime !== undefined ? { prime: first.prime } : {}),
    }, size);
  } catch (err) {
    if (err instanceof SplitError) throw err.kind === 'invalid' ? invalidField(err.message) : cryptographicFailure(err.message);
    throw err;
  }
  if (size !== undefined && secret.length !== size) throw invalidField('Cryptographic Length does not match the length of the joined key');
  await checkParent(ctx, parts, secret);
  bits ??= secret.length * 8;

  let body: StructureItem;
  let storedFormat: number;
  if (objectType === ObjectType.SymmetricKey) {
    if (format !== undefined && format !== RAW && format !== KeyFormatType.TransparentSymmetricKey) {
      throw invalidField('a Symmetric Key is stored in Raw or Transparent Symmetric Key format');
    }
    storedFormat = format ?? RAW;
    const raw = keyBlock(RAW, bytes(Tag.KeyMaterial, secret), algorithm, bits);
    body = struct(Tag.SymmetricKey, [storedFormat === RAW ? raw : convertKeyBlock(ObjectType.SymmetricKey, raw, storedFormat)]);
  } else {
    if (format !== undefined && format !== KeyFormatType.Opaque) throw invalidField('a Secret Data is stored in Opaque format');
    storedFormat = KeyFormatType.Opaque;
    const type = optEnum(payload, Tag.SecretDataType) ?? SecretDataType.Seed;
    body = struct(Tag.SecretData, [enumeration(Tag.SecretDataType, type), keyBlock(KeyFormatType.Opaque, bytes(Tag.KeyMaterial, secret))]);
  }

  const obj = newObject(ctx, objectType, body, attrs);
  if (algorithm !== undefined && !obj.has('Cryptographic Algorithm')) obj.set('Cryptographic Algorithm', enumeration(Tag.AttributeValue, algorithm));
  if (!obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, bits));
  if (!obj.has('Cryptographic Usage Mask') && first.usageMask) obj.set('Cryptographic Usage Mask', first.usageMask);
  if (parts.some((p) => p.sensitive)) obj.set('Sensitive', bool(Tag.AttributeValue, true));
  const block = optStruct(body, Tag.KeyBlock);
  const material = block && materialOf(block);
  if (material) obj.add('Digest', digestAttribute(materialDigestInput(material), storedFormat));
  if (storedFormat !== RAW && objectType === ObjectType.SymmetricKey) obj.add('Digest', digestAttribute(secret, RAW));
  setServerAttributes(obj, ctx, { generated: false, keyFormat: storedFormat });
  ctx.uow.save(obj);
  ctx.placeholder.id = obj.uid;
  return [text(Tag.UniqueIdentifier, obj.uid)];
};

function reqObjectType(payload: StructureItem, ctx: OperationContext): number {
  const t = find(payload, Tag.ObjectType);
  if (t?.type !== ItemType.Enumeration) throw missingData('Join Split Key needs the Object Type to form');
  if (t.value !== ObjectType.SymmetricKey && t.value !== ObjectType.SecretData) {
    throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.InvalidField, 'Join Split Key forms a Symmetric Key or Secret Data');
  }
  return t.value;
}

interface Part {
  uid: string;
  parts: number;
  id: number;
  threshold: number;
  method: number;
  prime?: bigint;
  share: Uint8Array;
  algorithm?: number;
  length?: number;
  usageMask?: TtlvItem;
  sensitive: boolean;
  parent?: string;
}

/** A Split Key's fields and share, after the checks that it may be joined. */
function readPart(ctx: OperationContext, obj: ManagedObject): Part {
  assertNotArchived(obj);
  if (obj.objectType !== ObjectType.SplitKey) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.InvalidField, `object ${obj.uid} is not a Split Key`);
  const body = obj.body;
  if (!body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.PermissionDenied, `object ${obj.uid} has been destroyed`);
  const block = optStruct(body, Tag.KeyBlock);
  if (!block || !materialOf(block)) {
    if (block && isWrapped(block)) throw new KmipError(ResultReason.FeatureNotSupported, `Split Key ${obj.uid} is stored wrapped: the server cannot join it`);
    throw new KmipError(ResultReason.KeyValueNotPresent, `Split Key ${obj.uid} has no key value on this server`);
  }
  const format = formatOf(block);
  if (format !== RAW && format !== KeyFormatType.Opaque && format !== KeyFormatType.TransparentSymmetricKey) {
    throw new KmipError(ResultReason.KeyFormatTypeNotSupported, `Split Key ${obj.uid} is not in Raw format`);
  }
  const num = (tag: number, name: string): number => {
    const v = optInt(body, tag);
    if (v === undefined) throw invalidField(`Split Key ${obj.uid} lacks ${name}`);
    return v;
  };
  const method = optEnum(body, Tag.SplitKeyMethod);
  if (method === undefined) throw invalidField(`Split Key ${obj.uid} lacks Split Key Method`);
  const part: Part = {
    uid: obj.uid,
    parts: num(Tag.SplitKeyParts, 'Split Key Parts'),
    id: num(Tag.KeyPartIdentifier, 'Key Part Identifier'),
    threshold: num(Tag.SplitKeyThreshold, 'Split Key Threshold'),
    method,
    share: new Uint8Array(secretMaterial(obj)),
    sensitive: obj.one('Sensitive')?.value === true,
  };
  const prime = find(body, Tag.PrimeFieldSize);
  if (prime?.type === ItemType.BigInteger) part.prime = prime.value;
  if (method === SplitKeyMethod.PolynomialSharingPrimeField && part.prime === undefined) throw invalidField(`Split Key ${obj.uid} lacks Prime Field Size`);
  const alg = obj.one('Cryptographic Algorithm') ?? find(block, Tag.CryptographicAlgorithm);
  if (alg?.type === ItemType.Enumeration) part.algorithm = alg.value;
  const len = obj.one('Cryptographic Length') ?? find(block, Tag.CryptographicLength);
  if (len?.type === ItemType.Integer) part.length = len.value;
  const mask = obj.one('Cryptographic Usage Mask');
  if (mask) part.usageMask = mask;
  for (const l of obj.all('Link')) {
    if (l.type !== ItemType.Structure) continue;
    const type = l.value.find((i) => i.tag === Tag.LinkType);
    const id = l.value.find((i) => i.tag === Tag.LinkedObjectIdentifier);
    if (type?.value === LinkType.ParentLink && id?.type === ItemType.TextString) part.parent = id.value;
  }
  return part;
}

/**
 * The Cryptographic Length of a joined Symmetric Key neither the client nor the parts give: the share length for the
 * GF and XOR methods, the bytes below the prime for a prime field; DES-family keys are counted without parity.
 */
function defaultBits(algorithm: number | undefined, part: Part): number {
  const n = part.prime !== undefined ? Math.ceil((bitLength(part.prime) - 1) / 8) : part.share.length;
  if (algorithm === CryptographicAlgorithm.DES3) return n === 16 ? 112 : 168;
  if (algorithm === CryptographicAlgorithm.DES) return 56;
  return n * 8;
}

/** Parts split from a key that still exists must rebuild it. */
async function checkParent(ctx: OperationContext, parts: readonly Part[], secret: Uint8Array): Promise<void> {
  const parents = new Set(parts.map((p) => p.parent));
  if (parents.size > 1) throw cryptographicFailure('the Split Keys were split from different keys');
  const uid = parts[0]!.parent;
  if (uid === undefined) return;
  const parent = await ctx.uow.get(uid);
  if (!parent?.body) return;
  let original: Buffer;
  try {
    original = secretMaterial(parent);
  } catch {
    return;
  }
  const same = original.length === secret.length && timingSafeEqual(original, secret);
  original.fill(0);
  if (!same) throw cryptographicFailure('the Split Keys do not rebuild the key they were split from');
}
