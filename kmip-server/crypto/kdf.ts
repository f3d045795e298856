/**
 * Key derivation for Derive Key (1.4 §4.6, 2.1 §6.1.14): PBKDF2 (RFC 8018), HKDF (RFC 5869), and KMIP's HASH and
 * HMAC methods. The ENCRYPT method is symmetric encryption (crypto/symmetric.ts). Every function returns exactly
 * `length` bytes or throws: a length beyond what the method yields is a `failure` (1.4 §11.7: Cryptographic Failure).
 *
 * - HASH: the hash of the Derivation Data when given, else of the derivation key's material (1.4 §4.6: "over the
 *   derivation key or the derivation data"; the vector TC-DERIVEKEY-1 hashes the key), truncated to the length.
 * - HMAC: HMAC keyed with the derivation key over the Derivation Data, truncated.
 * - PBKDF2: the password is the Derivation Data, else the key (or Secret Data) material; PRF HMAC with the Hashing
 *   Algorithm, SHA-1 when absent (PKCS #5's default).
 * - HKDF: extract-and-expand with the key as input keying material, Salt as salt, Derivation Data as info, hash
 *   SHA-256 when absent.
 */
import { createHash, createHmac, hkdfSync, pbkdf2Sync } from 'node:crypto';
import { HashingAlgorithm } from '../ttlv/enums.ts';
import { badParams, cryptoFailure, unsupported } from './crypto-error.ts';
import { hashBytes, hashName } from './params.ts';

function name(hash: number): string {
  const n = hashName(hash);
  if (!n) throw unsupported('unsupported Hashing Algorithm for key derivation');
  return n;
}

function truncate(out: Buffer, length: number): Buffer {
  if (length <= 0) throw badParams('the derived length must be positive');
  if (length > out.length) throw cryptoFailure(`the derivation method yields ${out.length} bytes, ${length} were asked`);
  return out.subarray(0, length);
}

export function hashDerive(hash: number, input: Uint8Array, length: number): Buffer {
  return truncate(createHash(name(hash)).update(input).digest(), length);
}

export function hmacDerive(hash: number, key: Uint8Array, data: Uint8Array, length: number): Buffer {
  if (key.length === 0) throw badParams('an HMAC key must not be empty');
  return truncate(createHmac(name(hash), key).update(data).digest(), length);
}

/** Largest PBKDF2 iteration count accepted (a denial-of-service bound on one request). */
export const PBKDF2_MAX_ITERATIONS = 10_000_000;

export function pbkdf2(hash: number | undefined, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Buffer {
  const h = hash ?? HashingAlgorithm.SHA_1;
  const n = name(h);
  if (!Number.isInteger(iterations) || iterations < 1) throw badParams('Iteration Count must be a positive integer');
  if (iterations > PBKDF2_MAX_ITERATIONS) throw badParams(`Iteration Count above ${PBKDF2_MAX_ITERATIONS} is not accepted`);
  if (length <= 0) throw badParams('the derived length must be positive');
  if (length > (2 ** 32 - 1) * hashBytes(h)!) throw cryptoFailure('the derived length is too long for PBKDF2');
  return pbkdf2Sync(password, salt, iterations, length, n);
}

export function hkdf(hash: number | undefined, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  const h = hash ?? HashingAlgorithm.SHA_256;
  const n = name(h);
  if (length <= 0) throw badParams('the derived length must be positive');
  if (length > 255 * hashBytes(h)!) throw cryptoFailure('the derived length is too long for HKDF');
  if (info.length > 1024) throw badParams('HKDF info is limited to 1024 bytes');
  return Buffer.from(hkdfSync(n, ikm, salt, info, length));
}
