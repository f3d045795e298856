/**
 * RSA key components: PKCS#1 DER ↔ the numbers KMIP's Transparent RSA keys carry. A transparent
 * private key may give only some of them (KMIP 1.4 §2.1.7.4: Private Exponent, or P and Q, or the
 * prime exponents); the rest are derived so the key can be encoded as PKCS#1.
 */
import { randomInt } from 'node:crypto';
import { DER, DerError, children, expect, intValue, integer, readOne, sequence } from './der.ts';

export interface RsaPrivateNumbers {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qi: bigint;
}

export interface RsaPublicNumbers {
  n: bigint;
  e: bigint;
}

export function parsePkcs1Private(der: Uint8Array): RsaPrivateNumbers {
  const items = children(expect(readOne(der), DER.SEQUENCE, 'RSAPrivateKey'));
  if (items.length < 9) throw new DerError('RSAPrivateKey has too few fields');
  const [, n, e, d, p, q, dp, dq, qi] = items.slice(0, 9).map(intValue) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  return { n, e, d, p, q, dp, dq, qi };
}

export function encodePkcs1Private(k: RsaPrivateNumbers): Uint8Array {
  return sequence(integer(0n), integer(k.n), integer(k.e), integer(k.d), integer(k.p), integer(k.q), integer(k.dp), integer(k.dq), integer(k.qi));
}

export function parsePkcs1Public(der: Uint8Array): RsaPublicNumbers {
  const items = children(expect(readOne(der), DER.SEQUENCE, 'RSAPublicKey'));
  if (items.length !== 2) throw new DerError('RSAPublicKey must have two fields');
  return { n: intValue(items[0]!), e: intValue(items[1]!) };
}

export function encodePkcs1Public(k: RsaPublicNumbers): Uint8Array {
  return sequence(integer(k.n), integer(k.e));
}

// ---- arithmetic ----

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = ((base % mod) + mod) % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y) [x, y] = [y, x % y];
  return x;
}

export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new DerError('value has no modular inverse');
  return ((oldS % m) + m) % m;
}

/**
 * Recovers p and q from n, e and d (the classic randomized method, NIST SP 800-56B C.2): k = de - 1
 * is a multiple of λ(n); a random g of order dividing k reveals a square root of 1 other than ±1.
 */
export function factorModulus(n: bigint, e: bigint, d: bigint): [bigint, bigint] {
  const k = d * e - 1n;
  if (k <= 0n || k % 2n !== 0n) throw new DerError('inconsistent RSA exponents');
  let t = k;
  while (t % 2n === 0n) t /= 2n;
  for (let attempt = 0; attempt < 100; attempt++) {
    const g = BigInt(randomInt(2, 2 ** 31));
    let x = modPow(g, t, n);
    if (x === 1n || x === n - 1n) continue;
    for (let s = t; s < k; s *= 2n) {
      const y = (x * x) % n;
      if (y === 1n) {
        const p = gcd(x - 1n, n);
        if (p > 1n && p < n) return p > n / p ? [p, n / p] : [n / p, p];
        break;
      }
      if (y === n - 1n) break;
      x = y;
    }
  }
  throw new DerError('the RSA modulus could not be factored from its exponents');
}

/** Completes partial RSA private numbers (KMIP's Transparent RSA Private Key allows several subsets). */
export function completePrivate(parts: Partial<RsaPrivateNumbers> & { n: bigint }): RsaPrivateNumbers {
  const { n } = parts;
  let { p, q, e, d } = parts;
  if ((p === undefined) !== (q === undefined)) throw new DerError('P and Q must be given together');
  if (p === undefined || q === undefined) {
    if (e === undefined || d === undefined) throw new DerError('a Transparent RSA Private Key needs P and Q, or both exponents');
    [p, q] = factorModulus(n, e, d);
  }
  if (p * q !== n) throw new DerError('P × Q differs from the Modulus');
  const phi = (p - 1n) * (q - 1n);
  const lambda = phi / gcd(p - 1n, q - 1n);
  if (e === undefined) {
    if (d === undefined) throw new DerError('a Transparent RSA Private Key needs a Public or Private Exponent');
    e = modInverse(d, phi);
  }
  if (d === undefined) d = modInverse(e, lambda);
  if ((d * e) % lambda !== 1n) throw new DerError('the RSA exponents do not match the primes');
  const dp = parts.dp ?? d % (p - 1n);
  const dq = parts.dq ?? d % (q - 1n);
  const qi = parts.qi ?? modInverse(q, p);
  return { n, e, d, p, q, dp, dq, qi };
}

/** Bit length of a positive integer. */
export function bitLength(v: bigint): number {
  return v <= 0n ? 0 : v.toString(2).length;
}
