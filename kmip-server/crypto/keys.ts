/**
 * Asymmetric key material in KMIP's Key Format Types (1.4 §2.1.3, §2.1.7; 2.1 §2.1.3, §2.1.7) read
 * into node KeyObjects and written back out. Every parse failure is a KeyMaterialError whose
 * message names the format, never the bytes.
 */
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, KeyFormatType } from '../ttlv/enums.ts';
import { ItemType, bigInt, bytes, enumeration, struct, type TtlvItem } from '../ttlv/types.ts';
import {
  DER, DerError, bigIntToBytes, bitString, bytesToBigInt, children, derNull, expect, explicit, integer, oid, octetString, readOne, sequence,
} from './der.ts';
import { curveByEnum, curveByOpenssl, fieldBytes, type CurveInfo } from './curves.ts';
import { completePrivate, encodePkcs1Private, encodePkcs1Public, parsePkcs1Private, parsePkcs1Public, type RsaPrivateNumbers } from './rsa.ts';

export class KeyMaterialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMaterialError';
  }
}

export type KeyFamily = 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'dsa' | 'dh' | 'x25519' | 'x448';

const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';
const RSA_ENCRYPTION_OID = '1.2.840.113549.1.1.1';

/** Transparent EC formats: 1.0-1.2 had one per algorithm, all with the same layout as Transparent EC. */
export const TRANSPARENT_EC_PRIVATE: ReadonlySet<number> = new Set([
  KeyFormatType.TransparentECPrivateKey, KeyFormatType.TransparentECDSAPrivateKey, KeyFormatType.TransparentECDHPrivateKey, KeyFormatType.TransparentECMQVPrivateKey,
]);
export const TRANSPARENT_EC_PUBLIC: ReadonlySet<number> = new Set([
  KeyFormatType.TransparentECPublicKey, KeyFormatType.TransparentECDSAPublicKey, KeyFormatType.TransparentECDHPublicKey, KeyFormatType.TransparentECMQVPublicKey,
]);

/** The key family each asymmetric Cryptographic Algorithm names. */
export function familyOfAlgorithm(alg: number): KeyFamily | undefined {
  switch (alg) {
    case CryptographicAlgorithm.RSA: return 'rsa';
    case CryptographicAlgorithm.EC:
    case CryptographicAlgorithm.ECDSA:
    case CryptographicAlgorithm.ECDH:
    case CryptographicAlgorithm.ECMQV: return 'ec';
    case CryptographicAlgorithm.DSA: return 'dsa';
    case CryptographicAlgorithm.DH: return 'dh';
    case CryptographicAlgorithm.Ed25519: return 'ed25519';
    case CryptographicAlgorithm.Ed448: return 'ed448';
    default: return undefined;
  }
}

export interface KeyFacts {
  family: KeyFamily;
  /** Cryptographic Length: modulus bits (RSA, DSA), curve size (EC, EdDSA). */
  bits: number;
  curve?: CurveInfo;
}

export function keyFacts(key: KeyObject): KeyFacts {
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'rsa':
    case 'rsa-pss':
      return { family: 'rsa', bits: d.modulusLength ?? 0 };
    case 'dsa':
      return { family: 'dsa', bits: d.modulusLength ?? 0 };
    case 'ec': {
      const curve = d.namedCurve !== undefined ? curveByOpenssl(d.namedCurve) : undefined;
      if (!curve) throw new KeyMaterialError('the key is on an elliptic curve this server does not support');
      return { family: 'ec', bits: curve.bits, curve };
    }
    case 'ed25519': return { family: 'ed25519', bits: 256 };
    case 'ed448': return { family: 'ed448', bits: 448 };
    case 'x25519': return { family: 'x25519', bits: 256 };
    case 'x448': return { family: 'x448', bits: 448 };
    case 'dh': return { family: 'dh', bits: 0 };
    default: throw new KeyMaterialError('unsupported key type');
  }
}

const formatName = (f: number): string => Object.entries(KeyFormatType).find(([, v]) => v === f)?.[0] ?? `Key Format Type ${f}`;

function asBytes(material: TtlvItem, format: number): Uint8Array {
  if (material.type !== ItemType.ByteString) throw new KeyMaterialError(`${formatName(format)} key material must be a byte string`);
  return material.value;
}

function asStruct(material: TtlvItem, format: number): TtlvItem[] {
  if (material.type !== ItemType.Structure) throw new KeyMaterialError(`${formatName(format)} key material must be a structure`);
  return material.value;
}

function fieldBig(items: readonly TtlvItem[], tag: number, name: string, required: true): bigint;
function fieldBig(items: readonly TtlvItem[], tag: number, name: string, required?: false): bigint | undefined;
function fieldBig(items: readonly TtlvItem[], tag: number, name: string, required = false): bigint | undefined {
  const i = items.find((x) => x.tag === tag);
  if (!i) {
    if (required) throw new KeyMaterialError(`Key Material lacks ${name}`);
    return undefined;
  }
  if (i.type !== ItemType.BigInteger) throw new KeyMaterialError(`${name} must be a Big Integer`);
  if (i.value < 0n) throw new KeyMaterialError(`${name} must not be negative`);
  return i.value;
}

function fieldCurve(items: readonly TtlvItem[]): CurveInfo {
  const i = items.find((x) => x.tag === Tag.RecommendedCurve);
  if (!i || i.type !== ItemType.Enumeration) throw new KeyMaterialError('Key Material lacks Recommended Curve');
  const c = curveByEnum(i.value);
  if (!c) throw new KeyMaterialError('unsupported Recommended Curve');
  return c;
}

/** Runs a parser, turning node and DER failures into a KeyMaterialError that names only the format. */
function guarded<T>(format: number, what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof KeyMaterialError) throw err;
    const detail = err instanceof DerError ? `: ${err.message}` : '';
    throw new KeyMaterialError(`the ${what} is not a valid ${formatName(format)} key${detail}`);
  }
}

/** True for a PKCS#8 EncryptedPrivateKeyInfo (it is stored as given: the server has no passphrase). */
export function isEncryptedPkcs8(der: Uint8Array): boolean {
  try {
    const top = children(expect(readOne(der), DER.SEQUENCE, 'PKCS#8'));
    return top.length === 2 && top[0]!.tag === DER.SEQUENCE && top[1]!.tag === DER.OCTET_STRING;
  } catch {
    return false;
  }
}

// ---- private keys ----

export function privateKeyFrom(format: number, material: TtlvItem): KeyObject {
  return guarded(format, 'private key', () => {
    switch (format) {
      case KeyFormatType.PKCS_1:
        return createPrivateKey({ key: Buffer.from(asBytes(material, format)), format: 'der', type: 'pkcs1' });
      case KeyFormatType.PKCS_8: {
        const der = asBytes(material, format);
        if (isEncryptedPkcs8(der)) throw new KeyMaterialError('the PKCS#8 key is encrypted');
        return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
      }
      case KeyFormatType.ECPrivateKey:
        return createPrivateKey({ key: Buffer.from(asBytes(material, format)), format: 'der', type: 'sec1' });
      case KeyFormatType.TransparentRSAPrivateKey:
        return createPrivateKey({ key: Buffer.from(encodePkcs1Private(rsaPrivateNumbers(asStruct(material, format)))), format: 'der', type: 'pkcs1' });
      default:
        if (TRANSPARENT_EC_PRIVATE.has(format)) return ecPrivateFromTransparent(asStruct(material, format));
        throw new KeyMaterialError(`${formatName(format)} is not a private key format this server reads`);
    }
  });
}

function rsaPrivateNumbers(items: readonly TtlvItem[]): RsaPrivateNumbers {
  const parts: Partial<RsaPrivateNumbers> & { n: bigint } = { n: fieldBig(items, Tag.Modulus, 'Modulus', true) };
  const opt: [keyof RsaPrivateNumbers, number, string][] = [
    ['d', Tag.PrivateExponent, 'Private Exponent'], ['e', Tag.PublicExponent, 'Public Exponent'], ['p', Tag.P, 'P'], ['q', Tag.Q, 'Q'],
    ['dp', Tag.PrimeExponentP, 'Prime Exponent P'], ['dq', Tag.PrimeExponentQ, 'Prime Exponent Q'], ['qi', Tag.CRTCoefficient, 'CRT Coefficient'],
  ];
  for (const [k, tag, name] of opt) {
    const v = fieldBig(items, tag, name);
    if (v !== undefined) parts[k] = v;
  }
  return completePrivate(parts);
}

function ecPrivateFromTransparent(items: readonly TtlvItem[]): KeyObject {
  const curve = fieldCurve(items);
  const d = bigIntToBytes(fieldBig(items, Tag.D, 'D', true), fieldBytes(curve));
  const ecdh = createECDH(curve.openssl);
  ecdh.setPrivateKey(Buffer.from(d));
  const q = ecdh.getPublicKey();
  const sec1 = sequence(integer(1n), octetString(d), explicit(0, oid(curve.oid)), explicit(1, bitString(q)));
  return createPrivateKey({ key: Buffer.from(sec1), format: 'der', type: 'sec1' });
}

/** The key in `format`, as a Key Material item; undefined when that format cannot hold this kind of key. */
export function privateKeyMaterial(key: KeyObject, format: number): TtlvItem | undefined {
  const facts = keyFacts(key);
  const der = (type: 'pkcs1' | 'pkcs8' | 'sec1'): Buffer => key.export({ format: 'der', type });
  switch (format) {
    case KeyFormatType.PKCS_1:
      return facts.family === 'rsa' ? bytes(Tag.KeyMaterial, der('pkcs1')) : undefined;
    case KeyFormatType.PKCS_8:
      return bytes(Tag.KeyMaterial, der('pkcs8'));
    case KeyFormatType.ECPrivateKey:
      return facts.family === 'ec' ? bytes(Tag.KeyMaterial, der('sec1')) : undefined;
    case KeyFormatType.TransparentRSAPrivateKey: {
      if (facts.family !== 'rsa') return undefined;
      const k = parsePkcs1Private(der('pkcs1'));
      return struct(Tag.KeyMaterial, [
        bigInt(Tag.Modulus, k.n), bigInt(Tag.PrivateExponent, k.d), bigInt(Tag.PublicExponent, k.e), bigInt(Tag.P, k.p), bigInt(Tag.Q, k.q),
        bigInt(Tag.PrimeExponentP, k.dp), bigInt(Tag.PrimeExponentQ, k.dq), bigInt(Tag.CRTCoefficient, k.qi),
      ]);
    }
    default: {
      if (!TRANSPARENT_EC_PRIVATE.has(format) || facts.family !== 'ec' || !facts.curve) return undefined;
      const items = children(expect(readOne(der('sec1')), DER.SEQUENCE, 'ECPrivateKey'));
      const d = expect(items[1], DER.OCTET_STRING, 'privateKey');
      return struct(Tag.KeyMaterial, [enumeration(Tag.RecommendedCurve, facts.curve.curve), bigInt(Tag.D, bytesToBigInt(d.content))]);
    }
  }
}

// ---- public keys ----

export function publicKeyFrom(format: number, material: TtlvItem): KeyObject {
  return guarded(format, 'public key', () => {
    switch (format) {
      case KeyFormatType.PKCS_1:
        return rsaPublicFromPkcs1(asBytes(material, format));
      case KeyFormatType.X_509:
        return createPublicKey({ key: Buffer.from(asBytes(material, format)), format: 'der', type: 'spki' });
      case KeyFormatType.TransparentRSAPublicKey: {
        const items = asStruct(material, format);
        return rsaPublicFromPkcs1(encodePkcs1Public({ n: fieldBig(items, Tag.Modulus, 'Modulus', true), e: fieldBig(items, Tag.PublicExponent, 'Public Exponent', true) }));
      }
      default: {
        if (!TRANSPARENT_EC_PUBLIC.has(format)) throw new KeyMaterialError(`${formatName(format)} is not a public key format this server reads`);
        const items = asStruct(material, format);
        const curve = fieldCurve(items);
        const q = items.find((i) => i.tag === Tag.QString);
        if (!q || q.type !== ItemType.ByteString) throw new KeyMaterialError('Key Material lacks Q String');
        const spki = sequence(sequence(oid(EC_PUBLIC_KEY_OID), oid(curve.oid)), bitString(q.value));
        return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      }
    }
  });
}

/**
 * An RSA public key from PKCS#1 RSAPublicKey DER, read through SubjectPublicKeyInfo: node 24 reads the
 * bare PKCS#1 form but then cannot export that KeyObject as PKCS#1 again ("Failed to encode public key").
 */
function rsaPublicFromPkcs1(der: Uint8Array): KeyObject {
  parsePkcs1Public(der); // exactly one RSAPublicKey, nothing trailing
  const spki = sequence(sequence(oid(RSA_ENCRYPTION_OID), derNull()), bitString(der));
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

export function publicKeyMaterial(key: KeyObject, format: number): TtlvItem | undefined {
  const facts = keyFacts(key);
  switch (format) {
    case KeyFormatType.PKCS_1:
      return facts.family === 'rsa' ? bytes(Tag.KeyMaterial, key.export({ format: 'der', type: 'pkcs1' })) : undefined;
    case KeyFormatType.X_509:
      return bytes(Tag.KeyMaterial, key.export({ format: 'der', type: 'spki' }));
    case KeyFormatType.TransparentRSAPublicKey: {
      if (facts.family !== 'rsa') return undefined;
      const k = parsePkcs1Public(key.export({ format: 'der', type: 'pkcs1' }));
      return struct(Tag.KeyMaterial, [bigInt(Tag.Modulus, k.n), bigInt(Tag.PublicExponent, k.e)]);
    }
    default: {
      if (!TRANSPARENT_EC_PUBLIC.has(format) || facts.family !== 'ec' || !facts.curve) return undefined;
      return struct(Tag.KeyMaterial, [enumeration(Tag.RecommendedCurve, facts.curve.curve), bytes(Tag.QString, ecPoint(key))]);
    }
  }
}

/** The EC public point as SubjectPublicKeyInfo carries it (the BIT STRING's octets). */
export function ecPoint(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const spki = children(expect(readOne(pub.export({ format: 'der', type: 'spki' })), DER.SEQUENCE, 'SubjectPublicKeyInfo'));
  const bits = expect(spki[1], DER.BIT_STRING, 'subjectPublicKey');
  return bits.content.subarray(1);
}

// ---- formats by key family ----

/** Formats a private key of this family can be returned in (Get conversions). */
export function privateFormatsFor(family: KeyFamily): number[] {
  switch (family) {
    case 'rsa': return [KeyFormatType.PKCS_1, KeyFormatType.PKCS_8, KeyFormatType.TransparentRSAPrivateKey];
    case 'ec': return [KeyFormatType.ECPrivateKey, KeyFormatType.PKCS_8, ...TRANSPARENT_EC_PRIVATE];
    default: return [KeyFormatType.PKCS_8];
  }
}

export function publicFormatsFor(family: KeyFamily): number[] {
  switch (family) {
    case 'rsa': return [KeyFormatType.PKCS_1, KeyFormatType.X_509, KeyFormatType.TransparentRSAPublicKey];
    case 'ec': return [KeyFormatType.X_509, ...TRANSPARENT_EC_PUBLIC];
    default: return [KeyFormatType.X_509];
  }
}

/** The format a server-generated key is stored in (what the vectors show on Get without a format). */
export function defaultPrivateFormat(family: KeyFamily): number {
  return family === 'rsa' ? KeyFormatType.PKCS_1 : family === 'ec' ? KeyFormatType.ECPrivateKey : KeyFormatType.PKCS_8;
}

export function defaultPublicFormat(family: KeyFamily): number {
  return family === 'rsa' ? KeyFormatType.PKCS_1 : KeyFormatType.X_509;
}

/** Structural check of transparent formats this server stores but does not read (DSA, DH). */
export function checkTransparentFields(format: number, material: TtlvItem): boolean {
  const need: Record<number, number[]> = {
    [KeyFormatType.TransparentDSAPrivateKey]: [Tag.P, Tag.Q, Tag.G, Tag.X],
    [KeyFormatType.TransparentDSAPublicKey]: [Tag.P, Tag.Q, Tag.G, Tag.Y],
    [KeyFormatType.TransparentDHPrivateKey]: [Tag.P, Tag.G, Tag.X],
    [KeyFormatType.TransparentDHPublicKey]: [Tag.P, Tag.G, Tag.Y],
  };
  const tags = need[format];
  if (!tags) return false;
  const items = asStruct(material, format);
  for (const t of tags) {
    const i = items.find((x) => x.tag === t);
    if (!i || i.type !== ItemType.BigInteger || i.value < 0n) throw new KeyMaterialError(`${formatName(format)} key material lacks a required Big Integer`);
  }
  return true;
}
