/**
 * Password hashes for header credentials (KMIP Username and Password, Device), in the PHC string
 * format with scrypt from node:crypto:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<hash>
 *
 * ln is log2 of the CPU/memory cost N, r the block size, p the parallelism; salt and hash are
 * base64 without padding (the PHC alphabet, the same as passlib's scrypt strings). Only hashes are
 * ever stored in a KmipClientCredential; a password is never stored, logged or echoed in an error.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of N. */
  ln: number;
  r: number;
  p: number;
}

export interface ParsedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

/** What `hashPassword` uses: N = 32768, r = 8, p = 1 (32 MiB, tens of milliseconds). */
export const DEFAULT_PARAMS: ScryptParams = { ln: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/**
 * Bounds on what a stored hash may ask for: the parameters come from a custom resource, and each
 * verification holds 128·N·r bytes, so an absurd one must not be able to exhaust the server.
 */
const LIMITS = { minLn: 10, maxLn: 20, maxR: 32, maxP: 16, maxMem: 256 * 1024 * 1024, minSalt: 8, maxSalt: 64, minHash: 16, maxHash: 64 };

/** A password hash that cannot be used; the message says why, never what it holds. */
export class MalformedHashError extends Error {
  readonly code = 'MALFORMED_PASSWORD_HASH';
}

const B64 = /^[A-Za-z0-9+/]+$/;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

function fromB64(s: string): Buffer {
  if (!B64.test(s) || s.length % 4 === 1) throw new MalformedHashError('password hash: salt or hash is not unpadded base64');
  return Buffer.from(s, 'base64');
}

const memoryOf = (p: ScryptParams): number => 128 * 2 ** p.ln * p.r * p.p;

function checkParams(p: ScryptParams): void {
  if (p.ln < LIMITS.minLn || p.ln > LIMITS.maxLn) throw new MalformedHashError(`password hash: ln must be ${LIMITS.minLn}..${LIMITS.maxLn}`);
  if (p.r < 1 || p.r > LIMITS.maxR) throw new MalformedHashError(`password hash: r must be 1..${LIMITS.maxR}`);
  if (p.p < 1 || p.p > LIMITS.maxP) throw new MalformedHashError(`password hash: p must be 1..${LIMITS.maxP}`);
  if (memoryOf(p) > LIMITS.maxMem) throw new MalformedHashError('password hash: parameters need more than 256 MiB');
}

/** Parses and bounds-checks a `$scrypt$` string; throws MalformedHashError. */
export function parsePasswordHash(phc: string): ParsedHash {
  const m = PHC.exec(phc);
  if (!m) throw new MalformedHashError('password hash: expected $scrypt$ln=N,r=R,p=P$<salt>$<hash>');
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  checkParams(params);
  const salt = fromB64(m[4]!);
  const hash = fromB64(m[5]!);
  if (salt.length < LIMITS.minSalt || salt.length > LIMITS.maxSalt) throw new MalformedHashError(`password hash: salt must be ${LIMITS.minSalt}..${LIMITS.maxSalt} bytes`);
  if (hash.length < LIMITS.minHash || hash.length > LIMITS.maxHash) throw new MalformedHashError(`password hash: hash must be ${LIMITS.minHash}..${LIMITS.maxHash} bytes`);
  return { ...params, salt, hash };
}

function derive(password: string, salt: Buffer, length: number, p: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: 2 ** p.ln, r: p.r, p: p.p, maxmem: memoryOf(p) + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new `$scrypt$` string for `password` (fresh random salt). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/**
 * Whether `password` matches the parsed hash (constant-time comparison). Runs scrypt on the libuv
 * thread pool, so a verification does not stall other connections.
 */
export async function verifyPassword(password: string, h: ParsedHash): Promise<boolean> {
  const got = await derive(password, h.salt, h.hash.length, h);
  return timingSafeEqual(got, h.hash);
}

/**
 * A hash that matches no password (its hash is random): verified against when a request names no
 * declared user, so an unknown name costs as long as a wrong password and does not stand out.
 */
export function decoyHash(params: ScryptParams = DEFAULT_PARAMS): ParsedHash {
  return { ...params, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };
}
