import { randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { LinkType, ObjectType, ResultReason, SplitKeyMethod } from '../ttlv/enums.ts';
import { ItemType, bigInt, bool, bytes, enumeration, int, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { KmipError, invalidField } from '../messages/errors.ts';
import { find, optText, reqEnum, reqInt } from '../messages/tree.ts';
import type { AttributeEntry } from '../messages/attributes.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { keyAlgorithm, secretMaterial } from '../crypto/key-use.ts';
import { SplitError, primeAbove, splitSecret } from '../crypto/split.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  RAW, assertNotArchived, attrEnum, attrInt, digestAttribute, keyBlock, linkValue, loadObject, newObject, setServerAttributes, touch, versionedError,
} from './common.ts';
import { layeredAttributes, materialBytes, symmetricLength, takeRequestedFormat } from './create.ts';

/**
 * Create Split Key (1.4 §4.38, 2.1 §6.1.10): the server splits a key into Split Key Parts parts, any Split Key
 * Threshold of which rebuild it (crypto/split.ts: XOR, Shamir over GF(2^8), GF(2^16) or a prime field), and
 * registers every part as a Split Key object. The response lists the parts' identifiers in Key Part Identifier
 * order; the ID Placeholder becomes part 1.
 *
 * - The key: the Symmetric Key or Secret Data named by the Unique Identifier (never the ID Placeholder: without an
 *   identifier the server makes the key), else a fresh Symmetric Key of the requested Cryptographic Algorithm and
 *   Length, which is not kept: only its parts exist.
 * - A key whose Extractable is false is not split (its parts would let it out). The parts of a Sensitive key are
 *   Sensitive.
 * - Each part's Key Block is Raw, with the key's Cryptographic Algorithm and Length (the key's attributes win over
 *   the request's, 1.4 §4.38); the request's other attributes (Name, Usage Mask, Object Group ...) go to every
 *   part, the key's Usage Mask when the request gives none.
 * - Links: each part has a Parent Link to the key that was split, the key a Child Link to each part.
 * - Polynomial Sharing Prime Field: the request's Prime Field Size, else the smallest prime above 2^L.
 */
export const createSplitKey: OperationHandler = async (payload, ctx) => {
  const objectType = reqEnum(payload, Tag.ObjectType);
  if (objectType !== ObjectType.SplitKey) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.InvalidField, 'Create Split Key makes Split Key objects');
  const parts = reqInt(payload, Tag.SplitKeyParts);
  const threshold = reqInt(payload, Tag.SplitKeyThreshold);
  const method = reqEnum(payload, Tag.SplitKeyMethod);
  const primeItem = find(payload, Tag.PrimeFieldSize);
  if (primeItem && primeItem.type !== ItemType.BigInteger) throw invalidField('Prime Field Size must be a Big Integer');
  const { attrs, format } = takeRequestedFormat(await layeredAttributes(payload, ctx, Tag.TemplateAttribute, Tag.Attributes));
  if (format !== undefined && format !== RAW) throw invalidField('Split Keys are made in Raw format only');

  const uid = optText(payload, Tag.UniqueIdentifier);
  const source = uid === undefined ? undefined : await loadObject(ctx, uid);
  const key = source ? keyToSplit(ctx, source) : freshKey(attrs);
  let prime: bigint | undefined;
  let shares;
  try {
    if (method === SplitKeyMethod.PolynomialSharingPrimeField) prime = primeItem?.type === ItemType.BigInteger ? primeItem.value : primeAbove(key.secret.length * 8);
    shares = splitSecret(key.secret, { method, parts, threshold, ...(prime !== undefined ? { prime } : {}) });
  } catch (err) {
    if (err instanceof SplitError) throw new KmipError(err.kind === 'invalid' ? ResultReason.InvalidField : ResultReason.CryptographicFailure, err.message);
    throw err;
  } finally {
    key.secret.fill(0);
  }

  const partAttrs = attrs.filter((a) => a.name !== 'Cryptographic Algorithm' && a.name !== 'Cryptographic Length');
  const out: TtlvItem[] = [];
  for (const share of shares) {
    const header: TtlvItem[] = [
      int(Tag.SplitKeyParts, parts), int(Tag.KeyPartIdentifier, share.id), int(Tag.SplitKeyThreshold, threshold), enumeration(Tag.SplitKeyMethod, method),
    ];
    if (prime !== undefined) header.push(bigInt(Tag.PrimeFieldSize, prime));
    const body = struct(Tag.SplitKey, [...header, keyBlock(RAW, bytes(Tag.KeyMaterial, share.value), key.algorithm, key.length)]);
    const part = newObject(ctx, ObjectType.SplitKey, body, partAttrs);
    if (key.algorithm !== undefined) part.set('Cryptographic Algorithm', enumeration(Tag.AttributeValue, key.algorithm));
    if (key.length !== undefined) part.set('Cryptographic Length', int(Tag.AttributeValue, key.length));
    if (!part.has('Cryptographic Usage Mask') && key.usageMask) part.set('Cryptographic Usage Mask', key.usageMask);
    if (key.sensitive) part.set('Sensitive', bool(Tag.AttributeValue, true));
    part.add('Digest', digestAttribute(share.value, RAW));
    setServerAttributes(part, ctx, { generated: true, keyFormat: RAW });
    if (source) {
      part.add('Link', linkValue(LinkType.ParentLink, source.uid));
      source.add('Link', linkValue(LinkType.ChildLink, part.uid));
    }
    ctx.uow.save(part);
    if (share.id === 1) ctx.placeholder.id = part.uid;
    out.push(text(Tag.UniqueIdentifier, part.uid));
  }
  if (source) {
    touch(source, ctx);
    ctx.uow.save(source);
  }
  return out;
};

interface KeyToSplit {
  secret: Uint8Array;
  algorithm?: number;
  length?: number;
  usageMask?: TtlvItem;
  sensitive: boolean;
}

/** The bytes and facts of an existing key, after the checks that it may be split. */
function keyToSplit(ctx: OperationContext, obj: ManagedObject): KeyToSplit {
  assertNotArchived(obj);
  if (obj.objectType !== ObjectType.SymmetricKey && obj.objectType !== ObjectType.SecretData) {
    throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.InvalidField, 'Create Split Key splits Symmetric Keys and Secret Data');
  }
  if (!obj.body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.PermissionDenied, `object ${obj.uid} has been destroyed`);
  if (flag(obj, 'Key Value Present') === false) throw new KmipError(ResultReason.KeyValueNotPresent, `object ${obj.uid} has no key value on this server`);
  if (flag(obj, 'Extractable') === false) throw new KmipError(ResultReason.NotExtractable, 'the key is not extractable: its parts would reveal it');
  const raw = secretMaterial(obj);
  const secret = Uint8Array.from(raw);
  raw.fill(0);
  const out: KeyToSplit = { secret, sensitive: flag(obj, 'Sensitive') === true };
  const algorithm = keyAlgorithm(obj);
  if (algorithm !== undefined) out.algorithm = algorithm;
  const length = cryptographicLength(obj);
  out.length = length ?? secret.length * 8;
  const mask = obj.one('Cryptographic Usage Mask');
  if (mask) out.usageMask = mask;
  return out;
}

/** A fresh Symmetric Key of the requested algorithm and length. */
function freshKey(attrs: readonly AttributeEntry[]): KeyToSplit {
  const { algorithm, length } = symmetricLength(attrEnum(attrs, 'Cryptographic Algorithm'), attrInt(attrs, 'Cryptographic Length'));
  return { secret: new Uint8Array(randomBytes(materialBytes(algorithm, length))), algorithm, length, sensitive: false };
}

function flag(obj: ManagedObject, name: string): boolean | undefined {
  const v = obj.one(name);
  return v?.type === ItemType.Boolean ? v.value : undefined;
}

/** The key's Cryptographic Length: the attribute, else the Key Block's. */
function cryptographicLength(obj: ManagedObject): number | undefined {
  const v = obj.one('Cryptographic Length');
  if (v?.type === ItemType.Integer) return v.value;
  const block = obj.body?.value.find((i) => i.tag === Tag.KeyBlock);
  const b = block?.type === ItemType.Structure ? block.value.find((i) => i.tag === Tag.CryptographicLength) : undefined;
  return b?.type === ItemType.Integer ? b.value : undefined;
}
