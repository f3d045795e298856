import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, CryptographicUsageMask, LinkType, ObjectType, RecommendedCurve, ResultReason } from '../ttlv/enums.ts';
import { ItemType, enumeration, int, struct, text, type StructureItem } from '../ttlv/types.ts';
import { KmipError, invalidField, missingData } from '../messages/errors.ts';
import { optStruct } from '../messages/tree.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { curveByEnum, nistCurveForLength } from '../crypto/curves.ts';
import { generateKeyPair, type KeyPairSpec } from '../crypto/generate.ts';
import { defaultPrivateFormat, defaultPublicFormat, familyOfAlgorithm, privateKeyMaterial, publicKeyMaterial, type KeyFamily } from '../crypto/keys.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  attrEnum, attrInt, checkClientAttributes, digestAttribute, keyBlock, linkValue, mergeAttributeLayers, newObject, setServerAttributes, templateAttributes,
} from './common.ts';
import { attributeContainer, materialDigestInput, takeRequestedFormat } from './create.ts';

/** The attributes each half of a key pair gets, and the Key Format Types a 2.x client asked for. */
export interface PairAttributes {
  priv: AttributeEntry[];
  pub: AttributeEntry[];
  privFormat?: number;
  pubFormat?: number;
}

const CONTAINERS = {
  common: [Tag.CommonTemplateAttribute, Tag.CommonAttributes],
  priv: [Tag.PrivateKeyTemplateAttribute, Tag.PrivateKeyAttributes],
  pub: [Tag.PublicKeyTemplateAttribute, Tag.PublicKeyAttributes],
} as const;

/**
 * The request's Common / Private / Public attributes over `base` (Re-key Key Pair's copied attributes).
 * Precedence, lowest first (1.4 §4.2): common templates, common attributes, the part's templates, the
 * part's attributes. Multi-instance attributes accumulate.
 */
export async function pairAttributes(payload: StructureItem, ctx: OperationContext, base: { priv: AttributeEntry[]; pub: AttributeEntry[] } = { priv: [], pub: [] }): Promise<PairAttributes> {
  const part = async ([tag1x, tag2x]: readonly [number, number]) => {
    const { attrs, format } = takeRequestedFormat(parseAttributeList(attributeContainer(payload, ctx, tag1x, tag2x)));
    checkClientAttributes(attrs);
    return { attrs, format, templates: await templateAttributes(ctx, optStruct(payload, tag1x)) };
  };
  const common = await part(CONTAINERS.common);
  const priv = await part(CONTAINERS.priv);
  const pub = await part(CONTAINERS.pub);
  const out: PairAttributes = {
    priv: mergeAttributeLayers([base.priv, common.templates, common.attrs, priv.templates, priv.attrs]),
    pub: mergeAttributeLayers([base.pub, common.templates, common.attrs, pub.templates, pub.attrs]),
  };
  const privFormat = priv.format ?? common.format;
  const pubFormat = pub.format ?? common.format;
  if (privFormat !== undefined) out.privFormat = privFormat;
  if (pubFormat !== undefined) out.pubFormat = pubFormat;
  return out;
}

/** One value for both halves: they may each give it, but not differently. */
function agreed<T>(a: T | undefined, b: T | undefined, name: string): T | undefined {
  if (a !== undefined && b !== undefined && a !== b) throw invalidField(`the private and public keys ask for different ${name}`);
  return a ?? b;
}

function recommendedCurve(attrs: readonly AttributeEntry[]): number | undefined {
  const v = attrs.find((a) => a.name === 'Cryptographic Domain Parameters')?.value;
  if (v?.type !== ItemType.Structure) return undefined;
  const c = v.value.find((i) => i.tag === Tag.RecommendedCurve);
  return c?.type === ItemType.Enumeration ? c.value : undefined;
}

export interface PairParameters {
  algorithm: number;
  family: KeyFamily;
  spec: KeyPairSpec;
  /** Cryptographic Length of both keys. */
  length: number;
}

/** What to generate: RSA 1024-4096 (e = 65537 unless given), EC on a named curve, Ed25519, Ed448. */
export function pairParameters(attrs: PairAttributes, publicExponent = 65537): PairParameters {
  const algorithm = agreed(attrEnum(attrs.priv, 'Cryptographic Algorithm'), attrEnum(attrs.pub, 'Cryptographic Algorithm'), 'Cryptographic Algorithms');
  if (algorithm === undefined) throw missingData('Cryptographic Algorithm is required');
  const length = agreed(attrInt(attrs.priv, 'Cryptographic Length'), attrInt(attrs.pub, 'Cryptographic Length'), 'Cryptographic Lengths');
  const family = familyOfAlgorithm(algorithm);
  switch (family) {
    case 'rsa': {
      const bits = length ?? 2048;
      if (bits < 1024 || bits > 4096 || bits % 8 !== 0) throw invalidField(`RSA keys are generated with 1024 to 4096 bits, not ${bits}`);
      return { algorithm, family, length: bits, spec: { family, bits, publicExponent } };
    }
    case 'ec': {
      const curveId = agreed(recommendedCurve(attrs.priv), recommendedCurve(attrs.pub), 'curves');
      const curve = curveId !== undefined ? curveByEnum(curveId) : length !== undefined ? nistCurveForLength(length) : curveByEnum(RecommendedCurve.P_256);
      if (!curve) throw invalidField(curveId !== undefined ? 'this server does not generate keys on that curve' : `no named curve has ${length} bits`);
      if (length !== undefined && length !== curve.bits) throw invalidField(`Cryptographic Length ${length} does not match the curve's ${curve.bits} bits`);
      return { algorithm, family, length: curve.bits, spec: { family, curve } };
    }
    case 'ed25519':
    case 'ed448': {
      const bits = family === 'ed25519' ? 256 : 448;
      if (length !== undefined && length !== bits && length !== (family === 'ed25519' ? 255 : 456)) throw invalidField(`Cryptographic Length ${length} does not match ${family}`);
      return { algorithm, family, length: bits, spec: { family } };
    }
    default:
      throw invalidField('Create Key Pair generates RSA, EC (ECDSA, ECDH, ECMQV), Ed25519 and Ed448 keys only');
  }
}

/** Usage masks when the request gives none (the mask SHALL always have a value). */
function defaultMasks(algorithm: number, family: KeyFamily): { priv: number; pub: number } {
  const M = CryptographicUsageMask;
  if (family === 'rsa') return { priv: M.Sign | M.Decrypt | M.UnwrapKey, pub: M.Verify | M.Encrypt | M.WrapKey };
  if (algorithm === CryptographicAlgorithm.ECDH || algorithm === CryptographicAlgorithm.ECMQV) return { priv: M.KeyAgreement, pub: M.KeyAgreement };
  return { priv: M.Sign, pub: M.Verify };
}

/** Refuses a request for quantum-safe keys (2.1 §4.45): no algorithm this server generates is. */
export function refuseQuantumSafe(attrs: readonly AttributeEntry[]): void {
  const q = attrs.find((a) => a.name === 'Quantum Safe')?.value;
  if (q?.type === ItemType.Boolean && q.value) throw new KmipError(ResultReason.GeneralFailure, 'the requested key would not be quantum safe');
}

/**
 * Generates a key pair and makes its two objects (not yet saved): keys in the requested or default
 * formats, Digests, server attributes, and Links each way (Private Key → Public Key Link, Public Key →
 * Private Key Link).
 */
export async function makeKeyPair(ctx: OperationContext, attrs: PairAttributes, params: PairParameters): Promise<{ priv: ManagedObject; pub: ManagedObject }> {
  refuseQuantumSafe([...attrs.priv, ...attrs.pub]);
  const { privateKey, publicKey } = await generateKeyPair(params.spec);
  const masks = defaultMasks(params.algorithm, params.family);
  const build = (objectType: number, tag: number, partAttrs: AttributeEntry[], requested: number | undefined, dflt: number, mask: number): ManagedObject => {
    const format = requested ?? dflt;
    const material = objectType === ObjectType.PrivateKey ? privateKeyMaterial(privateKey, format) : publicKeyMaterial(publicKey, format);
    if (!material) throw invalidField('the requested Key Format Type cannot hold this kind of key');
    const body = struct(tag, [keyBlock(format, material, params.algorithm, params.length)]);
    const obj = newObject(ctx, objectType, body, partAttrs);
    if (!obj.has('Cryptographic Algorithm')) obj.set('Cryptographic Algorithm', enumeration(Tag.AttributeValue, params.algorithm));
    if (!obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, params.length));
    if (!obj.has('Cryptographic Usage Mask')) obj.set('Cryptographic Usage Mask', int(Tag.AttributeValue, mask));
    if (params.spec.family === 'ec' && !obj.has('Cryptographic Domain Parameters')) {
      obj.set('Cryptographic Domain Parameters', struct(Tag.AttributeValue, [enumeration(Tag.RecommendedCurve, params.spec.curve.curve)]));
    }
    obj.add('Digest', digestAttribute(materialDigestInput(material), format));
    if (format !== dflt) {
      const std = objectType === ObjectType.PrivateKey ? privateKeyMaterial(privateKey, dflt) : publicKeyMaterial(publicKey, dflt);
      if (std) obj.add('Digest', digestAttribute(materialDigestInput(std), dflt));
    }
    setServerAttributes(obj, ctx, { generated: true, keyFormat: format });
    return obj;
  };
  const priv = build(ObjectType.PrivateKey, Tag.PrivateKey, attrs.priv, attrs.privFormat, defaultPrivateFormat(params.family), masks.priv);
  const pub = build(ObjectType.PublicKey, Tag.PublicKey, attrs.pub, attrs.pubFormat, defaultPublicFormat(params.family), masks.pub);
  priv.add('Link', linkValue(LinkType.PublicKeyLink, pub.uid));
  pub.add('Link', linkValue(LinkType.PrivateKeyLink, priv.uid));
  return { priv, pub };
}

/** Create Key Pair: generates a public/private key pair; the ID Placeholder becomes the private key. */
export const createKeyPair: OperationHandler = async (payload, ctx) => {
  const attrs = await pairAttributes(payload, ctx);
  const { priv, pub } = await makeKeyPair(ctx, attrs, pairParameters(attrs));
  ctx.uow.save(priv);
  ctx.uow.save(pub);
  ctx.placeholder.id = priv.uid;
  return [text(Tag.PrivateKeyUniqueIdentifier, priv.uid), text(Tag.PublicKeyUniqueIdentifier, pub.uid)];
};
