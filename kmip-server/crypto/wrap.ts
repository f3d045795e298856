/**
 * Key wrapping for Get's Key Wrapping Specification (KMIP 1.4 §2.1.5-2.1.6), and unwrapping of keys registered or
 * imported wrapped: AES Key Wrap (RFC 3394, "NIST Key Wrap") and AES Key Wrap with Padding (RFC 5649) under a
 * symmetric key, RSA-OAEP or PKCS#1 v1.5 under a public key (unwrapped with its private key). Pure functions: which
 * key may wrap or unwrap is decided by the caller.
 */
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { BlockCipherMode, HashingAlgorithm, PaddingMethod } from '../ttlv/enums.ts';

/** `unsupported`: a mode, padding or key this module does not wrap with; `failure`: the value did not unwrap. */
export class WrapError extends Error {
  readonly kind: 'unsupported' | 'failure';
  constructor(message: string, kind: 'unsupported' | 'failure' = 'unsupported') {
    super(message);
    this.name = 'WrapError';
    this.kind = kind;
  }
}

/** Default initial values of RFC 3394 §2.2.3.1 and RFC 5649 §3. */
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const KWP_IV = Buffer.from('a65959a6', 'hex');

/** AES Key Wrap (mode NIST Key Wrap) or AES Key Wrap with Padding of `plaintext` under `kek`. */
export function aesKeyWrap(kek: Uint8Array, plaintext: Uint8Array, mode: number = BlockCipherMode.NISTKeyWrap): Uint8Array {
  if (![16, 24, 32].includes(kek.length)) throw new WrapError('the wrapping key is not an AES-128, -192 or -256 key');
  const bits = kek.length * 8;
  let cipher;
  if (mode === BlockCipherMode.NISTKeyWrap) {
    if (plaintext.length < 16 || plaintext.length % 8 !== 0) throw new WrapError('AES Key Wrap needs a multiple of 8 bytes, at least 16; use AES Key Wrap with Padding');
    cipher = createCipheriv(`id-aes${bits}-wrap`, kek, KW_IV);
  } else if (mode === BlockCipherMode.AESKeyWrapPadding) {
    cipher = createCipheriv(`id-aes${bits}-wrap-pad`, kek, KWP_IV);
  } else {
    throw new WrapError('symmetric wrapping supports the NIST Key Wrap and AES Key Wrap Padding block cipher modes only');
  }
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

const OAEP_HASHES: Readonly<Record<number, string>> = {
  [HashingAlgorithm.SHA_1]: 'sha1',
  [HashingAlgorithm.SHA_224]: 'sha224',
  [HashingAlgorithm.SHA_256]: 'sha256',
  [HashingAlgorithm.SHA_384]: 'sha384',
  [HashingAlgorithm.SHA_512]: 'sha512',
};

/** RSA encryption of `plaintext` under a public key: OAEP (SHA-1 unless a hash is named) or PKCS#1 v1.5. */
export function rsaWrap(key: KeyObject, plaintext: Uint8Array, padding: number = PaddingMethod.OAEP, hashing?: number): Uint8Array {
  if (padding === PaddingMethod.OAEP) {
    const oaepHash = OAEP_HASHES[hashing ?? HashingAlgorithm.SHA_1];
    if (!oaepHash) throw new WrapError('unsupported OAEP hashing algorithm');
    return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);
  }
  if (padding === PaddingMethod.PKCS1V1_5) return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, plaintext);
  throw new WrapError('RSA wrapping supports OAEP and PKCS#1 v1.5 padding only');
}

/**
 * AES Key Unwrap (RFC 3394 §2.2.2 / RFC 5649 §3): the plaintext, or WrapError when the integrity check fails (a wrong
 * key, a damaged value, or a value not wrapped this way). Never returns unchecked bytes.
 */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array, mode: number = BlockCipherMode.NISTKeyWrap): Uint8Array {
  if (![16, 24, 32].includes(kek.length)) throw new WrapError('the wrapping key is not an AES-128, -192 or -256 key');
  const bits = kek.length * 8;
  let decipher;
  if (mode === BlockCipherMode.NISTKeyWrap) {
    if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new WrapError('an AES Key Wrap value is a multiple of 8 bytes, at least 24', 'failure');
    decipher = createDecipheriv(`id-aes${bits}-wrap`, kek, KW_IV);
  } else if (mode === BlockCipherMode.AESKeyWrapPadding) {
    if (wrapped.length < 16 || wrapped.length % 8 !== 0) throw new WrapError('an AES Key Wrap with Padding value is a multiple of 8 bytes, at least 16', 'failure');
    decipher = createDecipheriv(`id-aes${bits}-wrap-pad`, kek, KWP_IV);
  } else {
    throw new WrapError('symmetric unwrapping supports the NIST Key Wrap and AES Key Wrap Padding block cipher modes only');
  }
  try {
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    throw new WrapError('the wrapped key failed its integrity check: wrong wrapping key or damaged value', 'failure');
  }
}

/**
 * RSA decryption of a wrapped key under a private key, the inverse of rsaWrap (OAEP with one hash for OAEP and MGF1,
 * SHA-1 unless named; or PKCS#1 v1.5, which OpenSSL answers with implicit rejection instead of an error).
 */
export function rsaUnwrap(key: KeyObject, wrapped: Uint8Array, padding: number = PaddingMethod.OAEP, hashing?: number): Uint8Array {
  try {
    if (padding === PaddingMethod.OAEP) {
      const oaepHash = OAEP_HASHES[hashing ?? HashingAlgorithm.SHA_1];
      if (!oaepHash) throw new WrapError('unsupported OAEP hashing algorithm');
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, wrapped);
    }
    if (padding === PaddingMethod.PKCS1V1_5) return privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, wrapped);
  } catch (err) {
    if (err instanceof WrapError) throw err;
    throw new WrapError('the wrapped key could not be decrypted: wrong wrapping key or damaged value', 'failure');
  }
  throw new WrapError('RSA unwrapping supports OAEP and PKCS#1 v1.5 padding only');
}
