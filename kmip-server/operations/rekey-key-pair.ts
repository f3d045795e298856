import { Tag } from '../ttlv/tag.ts';
import { LinkType, ObjectType, ResultReason } from '../ttlv/enums.ts';
import { ItemType, enumeration, struct, text } from '../ttlv/types.ts';
import { missingData } from '../messages/errors.ts';
import { optStruct, optText } from '../messages/tree.ts';
import type { AttributeEntry } from '../messages/attributes.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { formatOf, materialOf } from '../crypto/key-block.ts';
import { KeyMaterialError, keyFacts, privateFormatsFor, privateKeyFrom, publicFormatsFor, type KeyFacts } from '../crypto/keys.ts';
import type { OperationHandler } from './context.ts';
import { linkValue, loadObject, mergeAttributeLayers, versionedError } from './common.ts';
import { makeKeyPair, pairAttributes, pairParameters, type PairAttributes } from './create-key-pair.ts';
import { checkReplaceable, inheritedAttributes, requestOffset, retire } from './rekey.ts';

/** Dates an Offset moves for a key pair (1.4 Table 176). */
const PAIR_DATES = ['Activation Date', 'Deactivation Date'] as const;

function linkedUid(obj: ManagedObject, linkType: number): string | undefined {
  for (const v of obj.all('Link')) {
    if (v.type !== ItemType.Structure) continue;
    const t = v.value.find((i) => i.tag === Tag.LinkType);
    const id = v.value.find((i) => i.tag === Tag.LinkedObjectIdentifier);
    if (t?.type === ItemType.Enumeration && t.value === linkType && id?.type === ItemType.TextString) return id.value;
  }
  return undefined;
}

/** What the existing private key is, read from its material (undefined when it cannot be read). */
function storedKeyFacts(obj: ManagedObject): { facts: KeyFacts; publicExponent?: number } | undefined {
  const block = obj.body ? optStruct(obj.body, Tag.KeyBlock) : undefined;
  const format = block ? formatOf(block) : undefined;
  const material = block ? materialOf(block) : undefined;
  if (format === undefined || !material) return undefined;
  try {
    const key = privateKeyFrom(format, material);
    const e = key.asymmetricKeyDetails?.publicExponent;
    return e === undefined ? { facts: keyFacts(key) } : { facts: keyFacts(key), publicExponent: Number(e) };
  } catch (err) {
    if (err instanceof KeyMaterialError) return undefined;
    throw err;
  }
}

/**
 * Re-key Key Pair: a new key pair of the same algorithm and size replaces an existing one. Both new keys
 * inherit their predecessor's attributes and names; each old key gets a Replacement Object Link, each new
 * one its pair link and a Replaced Object Link. The ID Placeholder becomes the new private key.
 */
export const rekeyKeyPair: OperationHandler = async (payload, ctx) => {
  const uid = optText(payload, Tag.PrivateKeyUniqueIdentifier) ?? ctx.placeholder.id;
  if (uid === undefined) throw missingData('no Private Key Unique Identifier and no ID Placeholder');
  const oldPriv = await loadObject(ctx, uid);
  checkReplaceable(ctx, oldPriv, ObjectType.PrivateKey, 'Private Key');
  const pubUid = linkedUid(oldPriv, LinkType.PublicKeyLink);
  if (pubUid === undefined) throw versionedError(ctx, ResultReason.InvalidField, ResultReason.PermissionDenied, 'the private key has no Public Key Link');
  const oldPub = await loadObject(ctx, pubUid);
  checkReplaceable(ctx, oldPub, ObjectType.PublicKey, 'Public Key');

  const requested = await pairAttributes(payload, ctx);
  const offset = requestOffset(payload, [...requested.priv, ...requested.pub], PAIR_DATES);
  const base = { priv: inheritedAttributes(oldPriv, ctx, offset, PAIR_DATES), pub: inheritedAttributes(oldPub, ctx, offset, PAIR_DATES) };
  const stored = storedKeyFacts(oldPriv);
  const curve = stored?.facts.curve;
  if (curve && !base.priv.some((a) => a.name === 'Cryptographic Domain Parameters')) {
    const dp: AttributeEntry = { name: 'Cryptographic Domain Parameters', value: struct(Tag.AttributeValue, [enumeration(Tag.RecommendedCurve, curve.curve)]) };
    base.priv.push(dp);
    base.pub.push({ ...dp });
  }
  const attrs: PairAttributes = { priv: mergeAttributeLayers([base.priv, requested.priv]), pub: mergeAttributeLayers([base.pub, requested.pub]) };
  const params = pairParameters(attrs, stored?.publicExponent);
  // The new keys keep the old ones' formats unless the request names others.
  const keep = (obj: ManagedObject, allowed: number[]): number | undefined => {
    const f = obj.body ? optStruct(obj.body, Tag.KeyBlock) : undefined;
    const format = f ? formatOf(f) : undefined;
    return format !== undefined && allowed.includes(format) ? format : undefined;
  };
  const privFormat = requested.privFormat ?? keep(oldPriv, privateFormatsFor(params.family));
  const pubFormat = requested.pubFormat ?? keep(oldPub, publicFormatsFor(params.family));
  if (privFormat !== undefined) attrs.privFormat = privFormat;
  if (pubFormat !== undefined) attrs.pubFormat = pubFormat;

  const { priv, pub } = await makeKeyPair(ctx, attrs, params);
  priv.add('Link', linkValue(LinkType.ReplacedObjectLink, oldPriv.uid));
  pub.add('Link', linkValue(LinkType.ReplacedObjectLink, oldPub.uid));
  retire(ctx, oldPriv, priv);
  retire(ctx, oldPub, pub);
  for (const o of [oldPriv, oldPub, priv, pub]) ctx.uow.save(o);
  ctx.placeholder.id = priv.uid;
  return [text(Tag.PrivateKeyUniqueIdentifier, priv.uid), text(Tag.PublicKeyUniqueIdentifier, pub.uid)];
};
