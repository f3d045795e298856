/**
 * Signatures for Sign / Signature Verify: RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017 §8), ECDSA (DER-encoded
 * ECDSA-Sig-Value, as the KMIP vectors carry it) and EdDSA (Ed25519, Ed448), over data or over a Digested Data.
 *
 * Choices:
 * - The scheme follows the key: an RSA key signs RSA (PSS when Padding Method PSS or Digital Signature Algorithm
 *   RSASSA-PSS, else PKCS#1 v1.5), an EC key ECDSA, an Edwards key EdDSA. Sign refuses parameters that name another
 *   family; Signature Verify ignores them and checks with the key's scheme and the given hash (the 1.3 vector
 *   CS-AC-M-3-ECC verifies an ECDSA signature with parameters that say RSA / PSS and expects Valid).
 * - Hash: the Digital Signature Algorithm's, else Hashing Algorithm, else SHA-256 for RSA and the curve's size for
 *   ECDSA (SHA-256 up to 256-bit curves, SHA-384 up to 384, SHA-512 above). EdDSA hashes internally.
 * - PSS: MGF1 with the Mask Generator Hashing Algorithm, else with the signature hash (the vector CS-AC-M-2 is
 *   signed so); salt length Salt Length, else the hash length when signing, and any length when verifying.
 *   Trailer Field other than the standard 0xBC is not supported.
 * - Digested Data: RSA only (PKCS#1 v1.5 DigestInfo, or PSS encoded here); node:crypto cannot sign or verify a
 *   pre-hashed ECDSA or EdDSA input, so those are refused as unsupported.
 */
import {
  constants, createHash, createSign, createVerify, privateEncrypt, publicDecrypt, randomBytes, sign as nodeSign, timingSafeEqual,
  verify as nodeVerify, type Hash, type KeyObject, type Sign, type Verify,
} from 'node:crypto';
import { CryptographicAlgorithm, HashingAlgorithm, PaddingMethod } from '../ttlv/enums.ts';
import { CryptoError, badKey, badParams, cryptoFailure, unsupported } from './crypto-error.ts';
import { digestInfo, digitalSignatureParts, hashBytes, hashName, type CryptoParams } from './params.ts';
import { mgf1, rsaRaw } from './rsa-cipher.ts';

export type SignatureFamily = 'rsa' | 'ecdsa' | 'eddsa';

export interface SignatureSpec {
  family: SignatureFamily;
  pss: boolean;
  /** Absent for EdDSA. */
  hash?: number;
  mgfHash?: number;
  /** PSS salt bytes; absent when verifying any salt length. */
  saltLength?: number;
}

export function keyFamily(key: KeyObject): SignatureFamily {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': return 'rsa';
    case 'ec': return 'ecdsa';
    case 'ed25519':
    case 'ed448': return 'eddsa';
    default: throw badKey('the key cannot make or check signatures on this server');
  }
}

function familyOfAlgorithm(alg: number | undefined): SignatureFamily | 'dsa' | undefined {
  switch (alg) {
    case CryptographicAlgorithm.RSA: return 'rsa';
    case CryptographicAlgorithm.ECDSA:
    case CryptographicAlgorithm.EC: return 'ecdsa';
    case CryptographicAlgorithm.Ed25519:
    case CryptographicAlgorithm.Ed448: return 'eddsa';
    case CryptographicAlgorithm.DSA: return 'dsa';
    default: return undefined;
  }
}

function curveHash(key: KeyObject): number {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const bits = /521/.test(curve) ? 521 : /384/.test(curve) ? 384 : /512/.test(curve) ? 512 : 256;
  return bits <= 256 ? HashingAlgorithm.SHA_256 : bits <= 384 ? HashingAlgorithm.SHA_384 : HashingAlgorithm.SHA_512;
}

/** The scheme to use for this key and these parameters (see the module comment). */
export function signatureSpec(key: KeyObject, p: CryptoParams, use: 'sign' | 'verify'): SignatureSpec {
  const family = keyFamily(key);
  const parts = p.digitalSignatureAlgorithm !== undefined ? digitalSignatureParts(p.digitalSignatureAlgorithm) : undefined;
  if (p.digitalSignatureAlgorithm !== undefined && !parts) throw unsupported('this Digital Signature Algorithm is not supported');
  const asked = parts?.family ?? familyOfAlgorithm(p.cryptographicAlgorithm);
  const mismatch = asked !== undefined && asked !== family;
  if (mismatch && use === 'sign') throw badParams('the parameters name a signature algorithm of another key type');
  const hashAsked = parts?.hash ?? p.hashingAlgorithm;

  if (family === 'eddsa') return { family, pss: false };
  if (family === 'ecdsa') {
    const hash = hashAsked ?? curveHash(key);
    if (!hashName(hash)) throw unsupported('unsupported Hashing Algorithm for ECDSA');
    return { family, pss: false, hash };
  }
  const padding = mismatch ? undefined : p.paddingMethod;
  if (padding !== undefined && padding !== PaddingMethod.PSS && padding !== PaddingMethod.PKCS1V1_5) {
    throw unsupported('RSA signatures support PSS and PKCS1 v1.5 padding');
  }
  const pss = !mismatch && (parts?.pss === true || padding === PaddingMethod.PSS);
  const hash = hashAsked ?? HashingAlgorithm.SHA_256;
  if (!hashName(hash)) throw unsupported('unsupported Hashing Algorithm for RSA signatures');
  if (!pss) return { family, pss, hash };
  if (p.trailerField !== undefined && p.trailerField !== 1 && p.trailerField !== 0xbc) throw unsupported('only the standard PSS trailer field is supported');
  const mgfHash = p.maskGeneratorHashingAlgorithm ?? hash;
  if (!hashName(mgfHash)) throw unsupported('unsupported Mask Generator Hashing Algorithm');
  const saltLength = p.saltLength ?? (use === 'sign' ? hashBytes(hash)! : undefined);
  if (saltLength !== undefined && saltLength < 0) throw badParams('Salt Length must not be negative');
  return saltLength === undefined ? { family, pss, hash, mgfHash } : { family, pss, hash, mgfHash, saltLength };
}

/** What is signed: the data, or (RSA only) its digest. */
export type SignatureInput = { data: Uint8Array } | { digest: Uint8Array };

const nodeHash = (spec: SignatureSpec): string => hashName(spec.hash!)!;
const nodePss = (spec: SignatureSpec) => !spec.pss || spec.mgfHash === spec.hash;

function signOptions(key: KeyObject, spec: SignatureSpec) {
  if (spec.family === 'ecdsa') return { key, dsaEncoding: 'der' as const };
  if (spec.pss) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength ?? constants.RSA_PSS_SALTLEN_AUTO };
  return { key, padding: constants.RSA_PKCS1_PADDING };
}

function guard<T>(message: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw cryptoFailure(message);
  }
}

function checkDigest(spec: SignatureSpec, digest: Uint8Array): void {
  if (spec.family !== 'rsa') throw unsupported('Digested Data can be signed and verified with RSA keys only');
  if (digest.length !== hashBytes(spec.hash!)) throw badParams('Digested Data does not have the length of the Hashing Algorithm\'s output');
}

// ---- PSS encoded here (RFC 8017 §9.1), for a separate MGF1 hash or a Digested Data ----

function pssEncode(spec: SignatureSpec, mHash: Uint8Array, emBits: number): Buffer {
  const hLen = hashBytes(spec.hash!)!;
  const sLen = spec.saltLength ?? hLen;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + sLen + 2) throw badParams('the Salt Length is too long for this key');
  const salt = randomBytes(sLen);
  const h = createHash(nodeHash(spec)).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - sLen - hLen - 2), Buffer.of(1), salt]);
  const mask = mgf1(spec.mgfHash!, h, emLen - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.of(0xbc)]);
}

function pssVerify(spec: SignatureSpec, mHash: Uint8Array, em: Buffer, emBits: number): boolean {
  const hLen = hashBytes(spec.hash!)!;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if ((maskedDb[0]! & ~(0xff >> topBits) & 0xff) !== 0) return false;
  const db = Buffer.from(maskedDb);
  const mask = mgf1(spec.mgfHash!, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> topBits;
  const one = db.indexOf(1);
  if (one < 0 || db.subarray(0, one).some((b) => b !== 0)) return false;
  const salt = db.subarray(one + 1);
  if (spec.saltLength !== undefined && salt.length !== spec.saltLength) return false;
  const h2 = createHash(nodeHash(spec)).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return h2.length === h.length && timingSafeEqual(h2, h);
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw badKey('the RSA key has no modulus length');
  return bits;
}

function signDigest(key: KeyObject, spec: SignatureSpec, digest: Uint8Array): Buffer {
  checkDigest(spec, digest);
  if (!spec.pss) {
    const info = digestInfo(spec.hash!, digest);
    return guard('signing failed', () => privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, info));
  }
  const bits = modulusBits(key);
  const k = Math.ceil(bits / 8);
  const em = pssEncode(spec, digest, bits - 1);
  const block = Buffer.concat([Buffer.alloc(k - em.length), em]);
  return guard('signing failed', () => rsaRaw.private(key, block));
}

function verifyDigest(key: KeyObject, spec: SignatureSpec, digest: Uint8Array, signature: Uint8Array): boolean {
  checkDigest(spec, digest);
  const bits = modulusBits(key);
  const k = Math.ceil(bits / 8);
  if (signature.length !== k) return false;
  if (!spec.pss) {
    const expected = digestInfo(spec.hash!, digest);
    let got: Buffer;
    try {
      got = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      return false;
    }
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
  let m: Buffer;
  try {
    m = rsaRaw.public(key, Buffer.from(signature));
  } catch {
    return false;
  }
  const emLen = Math.ceil((bits - 1) / 8);
  if (emLen < k && m[0] !== 0) return false;
  return pssVerify(spec, digest, m.subarray(k - emLen), bits - 1);
}

/** One-shot signature. `key` is a private key. */
export function signOnce(key: KeyObject, spec: SignatureSpec, input: SignatureInput): Buffer {
  if ('digest' in input) return signDigest(key, spec, input.digest);
  if (spec.family === 'eddsa') return guard('signing failed', () => nodeSign(null, input.data, key));
  if (!nodePss(spec)) return signDigest(key, spec, createHash(nodeHash(spec)).update(input.data).digest());
  return guard('signing failed', () => nodeSign(nodeHash(spec), input.data, signOptions(key, spec)));
}

/** One-shot check; a malformed signature is simply not valid. `key` is a public key. */
export function verifyOnce(key: KeyObject, spec: SignatureSpec, input: SignatureInput, signature: Uint8Array): boolean {
  if ('digest' in input) return verifyDigest(key, spec, input.digest, signature);
  try {
    if (spec.family === 'eddsa') return nodeVerify(null, input.data, key, signature);
    if (!nodePss(spec)) return verifyDigest(key, spec, createHash(nodeHash(spec)).update(input.data).digest(), signature);
    return nodeVerify(nodeHash(spec), input.data, signOptions(key, spec), signature);
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    return false;
  }
}

// ---- by parts (Init / Final Indicator) ----

/** EdDSA has no incremental form in node: its parts are kept, up to this many bytes. */
export const EDDSA_STREAM_LIMIT = 4 * 1024 * 1024;

export interface SignatureStream {
  update(data: Uint8Array): void;
  /** A signing stream: the signature. */
  sign(): Buffer;
  /** A verifying stream: whether `signature` is valid. */
  verify(signature: Uint8Array): boolean;
}

export function openSignatureStream(key: KeyObject, spec: SignatureSpec, use: 'sign' | 'verify'): SignatureStream {
  const wrongUse = (): never => {
    throw cryptoFailure(`this stream does not ${use === 'sign' ? 'verify' : 'sign'}`);
  };
  if (spec.family === 'eddsa') {
    const parts: Buffer[] = [];
    let size = 0;
    const all = () => Buffer.concat(parts);
    return {
      update: (d) => {
        size += d.length;
        if (size > EDDSA_STREAM_LIMIT) throw cryptoFailure('too much data for an EdDSA signature by parts');
        parts.push(Buffer.from(d));
      },
      sign: () => (use === 'sign' ? signOnce(key, spec, { data: all() }) : wrongUse()),
      verify: (s) => (use === 'verify' ? verifyOnce(key, spec, { data: all() }, s) : wrongUse()),
    };
  }
  if (!nodePss(spec)) {
    const h: Hash = createHash(nodeHash(spec));
    return {
      update: (d) => void h.update(d),
      sign: () => (use === 'sign' ? signDigest(key, spec, h.digest()) : wrongUse()),
      verify: (s) => (use === 'verify' ? verifyDigest(key, spec, h.digest(), s) : wrongUse()),
    };
  }
  if (use === 'sign') {
    const signer: Sign = createSign(nodeHash(spec));
    return {
      update: (d) => void signer.update(d),
      sign: () => guard('signing failed', () => signer.sign(signOptions(key, spec))),
      verify: wrongUse,
    };
  }
  const verifier: Verify = createVerify(nodeHash(spec));
  return {
    update: (d) => void verifier.update(d),
    sign: wrongUse,
    verify: (s) => {
      try {
        return verifier.verify(signOptions(key, spec), s);
      } catch {
        return false;
      }
    },
  };
}
