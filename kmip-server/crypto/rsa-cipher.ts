/**
 * RSA encryption for Encrypt / Decrypt: RSAES-OAEP and RSAES-PKCS1-v1_5 (RFC 8017 §7).
 *
 * OAEP's hash is the Hashing Algorithm (SHA-1 when absent, RFC 8017's default); MGF1's hash is the Mask Generator
 * Hashing Algorithm, and when that is absent KMIP's default, SHA-1 (1.4 §3.6, 2.1 §4.16) — not the OAEP hash. So a
 * 1.2/1.3 client that cannot send the Mask Generator fields (they are 1.4 tags) gets MGF1-SHA-1 both ways, and a 1.4
 * client that sends MGF1 with the OAEP hash gets that: each is consistent with itself. P Source is the OAEP label.
 * node's OAEP uses one hash for both; when they differ, OAEP is encoded here (RFC 8017 §7.1) around a raw RSA
 * operation. PKCS#1 v1.5 decryption uses OpenSSL's implicit rejection: a malformed ciphertext gives a
 * pseudo-random result instead of an error (no padding oracle).
 */
import { constants, createHash, privateDecrypt, publicEncrypt, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { HashingAlgorithm, MaskGenerator, PaddingMethod } from '../ttlv/enums.ts';
import { CryptoError, badKey, badParams, cryptoFailure, unsupported } from './crypto-error.ts';
import { hashBytes, hashName, type CryptoParams } from './params.ts';

export interface OaepSpec {
  hash: number;
  mgfHash: number;
  label: Uint8Array;
}

export function oaepSpec(p: CryptoParams): OaepSpec {
  if (p.maskGenerator !== undefined && p.maskGenerator !== MaskGenerator.MGF1) throw unsupported('only the MGF1 mask generator is supported');
  const hash = p.hashingAlgorithm ?? HashingAlgorithm.SHA_1;
  const mgfHash = p.maskGeneratorHashingAlgorithm ?? HashingAlgorithm.SHA_1;
  if (!hashName(hash) || !hashName(mgfHash)) throw unsupported('unsupported Hashing Algorithm for OAEP');
  return { hash, mgfHash, label: p.pSource ?? new Uint8Array(0) };
}

function modulusBytes(key: KeyObject): number {
  if (key.asymmetricKeyType !== 'rsa') throw badKey('the key is not an RSA key');
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw badKey('the RSA key has no modulus length');
  return Math.ceil(bits / 8);
}

/** MGF1 (RFC 8017 §B.2.1). */
export function mgf1(hash: number, seed: Uint8Array, length: number): Buffer {
  const name = hashName(hash)!;
  const out: Buffer[] = [];
  let have = 0;
  const c = Buffer.alloc(4);
  for (let i = 0; have < length; i++) {
    c.writeUInt32BE(i);
    const h = createHash(name).update(seed).update(c).digest();
    out.push(h);
    have += h.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

const xor = (a: Uint8Array, b: Uint8Array): Buffer => {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
};

/** EME-OAEP encoding (RFC 8017 §7.1.1 step 2). */
export function oaepEncode(spec: OaepSpec, k: number, message: Uint8Array, seed: Uint8Array = randomBytes(hashBytes(spec.hash)!)): Buffer {
  const hLen = hashBytes(spec.hash)!;
  if (message.length > k - 2 * hLen - 2) throw cryptoFailure('the data is too long for this key and padding');
  const lHash = createHash(hashName(spec.hash)!).update(spec.label).digest();
  const db = Buffer.concat([lHash, Buffer.alloc(k - message.length - 2 * hLen - 2), Buffer.of(1), message]);
  const maskedDb = xor(db, mgf1(spec.mgfHash, seed, k - hLen - 1));
  const maskedSeed = xor(seed, mgf1(spec.mgfHash, maskedDb, hLen));
  return Buffer.concat([Buffer.of(0), maskedSeed, maskedDb]);
}

/**
 * EME-OAEP decoding (RFC 8017 §7.1.2 step 3). Every check is folded into one flag and the scan for the 0x01
 * separator does not stop early, so the time taken says little about which check failed; there is one error.
 */
export function oaepDecode(spec: OaepSpec, k: number, em: Uint8Array): Buffer {
  const hLen = hashBytes(spec.hash)!;
  if (em.length !== k || k < 2 * hLen + 2) throw cryptoFailure('decryption failed');
  const lHash = createHash(hashName(spec.hash)!).update(spec.label).digest();
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = xor(maskedSeed, mgf1(spec.mgfHash, maskedDb, hLen));
  const db = xor(maskedDb, mgf1(spec.mgfHash, seed, k - hLen - 1));
  let bad = em[0]! | (timingSafeEqual(db.subarray(0, hLen), lHash) ? 0 : 1);
  // Find the first 0x01 after the zero run, without branching on secret bytes.
  let found = 0;
  let index = 0;
  let invalid = 0;
  for (let i = hLen; i < db.length; i++) {
    const b = db[i]!;
    const isOne = b === 1 ? 1 : 0;
    const isZero = b === 0 ? 1 : 0;
    const first = isOne & (found ^ 1);
    index = first ? i : index;
    invalid |= (found ^ 1) & (isZero ^ 1) & (isOne ^ 1);
    found |= isOne;
  }
  bad |= invalid | (found ^ 1);
  if (bad !== 0) throw cryptoFailure('decryption failed');
  return Buffer.from(db.subarray(index + 1));
}

function rawPublic(key: KeyObject, block: Buffer): Buffer {
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, block);
}

function rawPrivate(key: KeyObject, block: Buffer): Buffer {
  return privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block);
}

function guarded<T>(message: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw cryptoFailure(message);
  }
}

function paddingOf(p: CryptoParams): number {
  if (p.paddingMethod === undefined) throw badParams('RSA encryption needs a Padding Method (OAEP or PKCS1 v1.5)');
  return p.paddingMethod;
}

/** Encrypts with an RSA public key (a private KeyObject works too: its public half is used). */
export function rsaEncrypt(key: KeyObject, p: CryptoParams, data: Uint8Array): Buffer {
  const k = modulusBytes(key);
  const padding = paddingOf(p);
  if (padding === PaddingMethod.PKCS1V1_5) {
    if (data.length > k - 11) throw cryptoFailure('the data is too long for this key and padding');
    return guarded('encryption failed', () => publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data));
  }
  if (padding !== PaddingMethod.OAEP) throw unsupported('RSA encryption supports OAEP and PKCS1 v1.5 padding');
  const spec = oaepSpec(p);
  if (spec.hash === spec.mgfHash) {
    if (data.length > k - 2 * hashBytes(spec.hash)! - 2) throw cryptoFailure('the data is too long for this key and padding');
    return guarded('encryption failed', () => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName(spec.hash)!, oaepLabel: spec.label }, data));
  }
  const em = oaepEncode(spec, k, data);
  return guarded('encryption failed', () => rawPublic(key, em));
}

/** Decrypts with an RSA private key. */
export function rsaDecrypt(key: KeyObject, p: CryptoParams, data: Uint8Array): Buffer {
  const k = modulusBytes(key);
  if (data.length !== k) throw cryptoFailure('decryption failed');
  const padding = paddingOf(p);
  if (padding === PaddingMethod.PKCS1V1_5) {
    return guarded('decryption failed', () => privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data));
  }
  if (padding !== PaddingMethod.OAEP) throw unsupported('RSA decryption supports OAEP and PKCS1 v1.5 padding');
  const spec = oaepSpec(p);
  if (spec.hash === spec.mgfHash) {
    return guarded('decryption failed', () => privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName(spec.hash)!, oaepLabel: spec.label }, data));
  }
  const em = guarded('decryption failed', () => rawPrivate(key, Buffer.from(data)));
  return oaepDecode(spec, k, em);
}

/** Raw RSA (for PSS with a separate MGF hash, and PKCS#1 v1.5 signatures over a digest). */
export const rsaRaw = { public: rawPublic, private: rawPrivate, modulusBytes };
