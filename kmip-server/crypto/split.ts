/**
 * Secret sharing for Split Keys (KMIP 1.4 §2.2.5, 2.1 §13.1): a secret byte string cut into parts, of which any
 * Split Key Threshold recombine it and fewer reveal nothing.
 *
 * - XOR: threshold = parts; parts - 1 random strings and the secret XORed with all of them.
 * - Polynomial Sharing GF(2^8) (Shamir, byte by byte): GF(2^8) = GF(2)[x]/(x^8+x^4+x^3+x^2+1), the 285 (0x11D)
 *   field 2.1 §13.1 names; the OASIS vectors TC_SJ_2/3 are consistent with it and not with AES's 0x11B.
 * - Polynomial Sharing GF(2^16) (Shamir over 16-bit pieces): GF(2^16) = GF(2^8)[y]/(y^2+y+m), m = 0x3A, an element
 *   uy+v written as the bytes u, v. The product is (ry+s)(uy+v) = ((r+s)(u+v)+sv)y + (sv + ru·m), which is what
 *   the spec's inverse formula implies (its printed constant term "ru + svm" is a typo: y^2 = y + m). The secret
 *   must be a whole number of 16-bit pieces.
 * - Polynomial Sharing Prime Field (Shamir over the integers modulo Prime Field Size): the secret is one big-endian
 *   integer, which must be below the prime; each part is a residue written big-endian in as many bytes as the
 *   prime needs. Without a client-given prime the server uses the smallest prime above 2^L (L the secret's bits).
 *
 * The share of part i is the polynomial at x = i (the Key Part Identifier, 1 ..parts; in GF(2^16) the element
 * with u = i >> 8, v = i & 0xff). Joining interpolates at 0 with the first `threshold` distinct parts and checks
 * that every further part lies on the same polynomial, so parts of different splits are caught whenever the client
 * gives more than the threshold. Errors never carry key material.
 */
import { checkPrimeSync, randomBytes } from 'node:crypto';
import { SplitKeyMethod } from '../ttlv/enums.ts';

/** Why a split or a join cannot be done: bad parameters ('invalid') or parts that do not recombine ('failure'). */
export class SplitError extends Error {
  readonly kind: 'invalid' | 'failure';
  constructor(kind: 'invalid' | 'failure', message: string) {
    super(message);
    this.name = 'SplitError';
    this.kind = kind;
  }
}

/** One part: its Key Part Identifier and its share bytes. */
export interface Share {
  id: number;
  value: Uint8Array;
}

export interface SplitParams {
  /** Split Key Method enumeration value. */
  method: number;
  threshold: number;
  /** Prime Field Size (Polynomial Sharing Prime Field only). */
  prime?: bigint;
}

export interface SplitSpec extends SplitParams {
  parts: number;
}

/** Most parts one split makes (GF(2^8) has 255 non-zero points; the same bound for every method). */
export const MAX_PARTS = 255;
/** Largest secret, in bits, for which the server picks the prime itself (finding it takes ~0.5 s at 1024). */
export const MAX_AUTO_PRIME_BITS = 1024;
/** Largest Prime Field Size accepted, in bits. */
export const MAX_PRIME_BITS = 8192;

export const SUPPORTED_METHODS: ReadonlySet<number> = new Set([
  SplitKeyMethod.XOR, SplitKeyMethod.PolynomialSharingGF2_8, SplitKeyMethod.PolynomialSharingGF2_16, SplitKeyMethod.PolynomialSharingPrimeField,
]);

// ---- fields -------------------------------------------------------------------------------------------------

interface Field<E> {
  add(a: E, b: E): E;
  sub(a: E, b: E): E;
  mul(a: E, b: E): E;
  /** Throws SplitError('failure') for 0 (or a non-unit modulo a composite "prime"). */
  inv(a: E): E;
  eq(a: E, b: E): boolean;
  zero: E;
  one: E;
  point(id: number): E;
  random(): E;
  /** Bytes (secret or share) to field elements. */
  decode(b: Uint8Array): E[];
  /** Field elements back to `length` bytes. */
  encode(e: readonly E[], length: number): Uint8Array;
}

// GF(2^8) over 0x11D, where 2 generates the multiplicative group: log / exp tables.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    EXP[i + 255] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
}

export function gf256Mul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

export function gf256Inv(a: number): number {
  if (a === 0) throw new SplitError('failure', 'division by zero in GF(2^8)');
  return EXP[255 - LOG[a]!]!;
}

const GF256: Field<number> = {
  add: (a, b) => a ^ b,
  sub: (a, b) => a ^ b,
  mul: gf256Mul,
  inv: gf256Inv,
  eq: (a, b) => a === b,
  zero: 0,
  one: 1,
  point: (id) => id,
  random: () => randomBytes(1)[0]!,
  decode: (b) => Array.from(b),
  encode: (e) => Uint8Array.from(e),
};

const M16 = 0x3a;

/** (ry+s)(uy+v) in GF(2^16) = GF(2^8)[y]/(y^2+y+m); elements as u << 8 | v. */
export function gf65536Mul(a: number, b: number): number {
  const r = a >> 8, s = a & 0xff, u = b >> 8, v = b & 0xff;
  const sv = gf256Mul(s, v);
  const hi = gf256Mul(r ^ s, u ^ v) ^ sv;
  const lo = sv ^ gf256Mul(gf256Mul(r, u), M16);
  return (hi << 8) | lo;
}

/** (uy+v)^-1 = u d^-1 y + (u+v) d^-1, d = (u+v)v + m u^2. */
export function gf65536Inv(a: number): number {
  if (a === 0) throw new SplitError('failure', 'division by zero in GF(2^16)');
  const u = a >> 8, v = a & 0xff;
  const d = gf256Mul(u ^ v, v) ^ gf256Mul(M16, gf256Mul(u, u));
  const di = gf256Inv(d);
  return (gf256Mul(u, di) << 8) | gf256Mul(u ^ v, di);
}

const GF65536: Field<number> = {
  add: (a, b) => a ^ b,
  sub: (a, b) => a ^ b,
  mul: gf65536Mul,
  inv: gf65536Inv,
  eq: (a, b) => a === b,
  zero: 0,
  one: 1,
  point: (id) => id & 0xffff,
  random: () => randomBytes(2).readUInt16BE(0),
  decode: (b) => {
    if (b.length % 2 !== 0) throw new SplitError('invalid', 'Polynomial Sharing GF(2^16) needs a key of whole 16-bit pieces');
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 2) out.push((b[i]! << 8) | b[i + 1]!);
    return out;
  },
  encode: (e) => {
    const out = new Uint8Array(e.length * 2);
    e.forEach((x, i) => {
      out[2 * i] = x >> 8;
      out[2 * i + 1] = x & 0xff;
    });
    return out;
  },
};

export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** `n` big-endian in exactly `length` bytes; undefined when it does not fit. */
export function bigIntToBytes(n: bigint, length: number): Uint8Array | undefined {
  if (n < 0n) return undefined;
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const raw = n === 0n ? new Uint8Array(0) : Buffer.from(hex, 'hex');
  if (raw.length > length) return undefined;
  const out = new Uint8Array(length);
  out.set(raw, length - raw.length);
  return out;
}

export const bitLength = (n: bigint): number => (n <= 0n ? 0 : n.toString(2).length);

function primeField(p: bigint): Field<bigint> {
  const mod = (a: bigint): bigint => ((a % p) + p) % p;
  const bytes = Math.ceil(bitLength(p) / 8);
  return {
    add: (a, b) => mod(a + b),
    sub: (a, b) => mod(a - b),
    mul: (a, b) => mod(a * b),
    inv: (a) => {
      // Extended Euclid: a unit exists only when gcd(a, p) = 1 (always, for a prime and a != 0).
      let [r0, r1] = [mod(a), p];
      let [s0, s1] = [1n, 0n];
      while (r1 !== 0n) {
        const q = r0 / r1;
        [r0, r1] = [r1, r0 - q * r1];
        [s0, s1] = [s1, s0 - q * s1];
      }
      if (r0 !== 1n) throw new SplitError('failure', 'the Prime Field Size is not a prime');
      return mod(s0);
    },
    eq: (a, b) => a === b,
    zero: 0n,
    one: 1n,
    point: (id) => BigInt(id),
    random: () => bytesToBigInt(randomBytes(bytes + 8)) % p,
    decode: (b) => [bytesToBigInt(b)],
    encode: (e, length) => {
      const out = bigIntToBytes(e[0] ?? 0n, length);
      if (!out) throw new SplitError('failure', 'the recombined value does not fit the key length');
      return out;
    },
  };
}

// ---- primes -------------------------------------------------------------------------------------------------

/** The smallest prime above 2^bits (the prime the server uses when the client gives none). */
export function primeAbove(bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_AUTO_PRIME_BITS) {
    throw new SplitError('invalid', `the server picks a Prime Field Size for keys of up to ${MAX_AUTO_PRIME_BITS} bits; give one for longer keys`);
  }
  let c = (1n << BigInt(bits)) + 1n;
  while (!checkPrimeSync(c)) c += 2n;
  return c;
}

/** Checks a Prime Field Size for a secret of `secretBytes` bytes: a prime above 2^L. */
export function checkPrime(p: bigint, secretBytes: number): void {
  if (bitLength(p) > MAX_PRIME_BITS) throw new SplitError('invalid', `Prime Field Size is larger than ${MAX_PRIME_BITS} bits`);
  if (p <= 1n << BigInt(secretBytes * 8)) throw new SplitError('invalid', 'Prime Field Size must be larger than 2^L for a key of L bits');
  if (!checkPrimeSync(p)) throw new SplitError('invalid', 'Prime Field Size is not a prime');
}

// ---- split / join -------------------------------------------------------------------------------------------

function checkCounts(method: number, parts: number, threshold: number): void {
  if (!SUPPORTED_METHODS.has(method)) throw new SplitError('invalid', 'Split Key Method not supported');
  if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTS) throw new SplitError('invalid', `Split Key Parts must be between 1 and ${MAX_PARTS}`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > parts) throw new SplitError('invalid', 'Split Key Threshold must be between 1 and Split Key Parts');
  if (method === SplitKeyMethod.XOR && threshold !== parts) throw new SplitError('invalid', 'with the XOR method Split Key Threshold must equal Split Key Parts');
}

/** Bytes of each share for a secret of `secretBytes` bytes. */
export function shareLength(params: SplitParams, secretBytes: number): number {
  return params.method === SplitKeyMethod.PolynomialSharingPrimeField && params.prime !== undefined ? Math.ceil(bitLength(params.prime) / 8) : secretBytes;
}

/** Splits `secret` into `parts` shares, ids 1..parts. The prime method needs `spec.prime` (see primeAbove). */
export function splitSecret(secret: Uint8Array, spec: SplitSpec): Share[] {
  checkCounts(spec.method, spec.parts, spec.threshold);
  if (secret.length === 0) throw new SplitError('invalid', 'the key to split is empty');
  if (spec.method === SplitKeyMethod.XOR) return splitXor(secret, spec.parts);
  if (spec.method === SplitKeyMethod.PolynomialSharingPrimeField) {
    if (spec.prime === undefined) throw new SplitError('invalid', 'Polynomial Sharing Prime Field needs a Prime Field Size');
    checkPrime(spec.prime, secret.length);
    return splitPoly(primeField(spec.prime), secret, spec, shareLength(spec, secret.length));
  }
  return splitPoly(spec.method === SplitKeyMethod.PolynomialSharingGF2_8 ? GF256 : GF65536, secret, spec, secret.length);
}

function splitXor(secret: Uint8Array, parts: number): Share[] {
  const last = Uint8Array.from(secret);
  const out: Share[] = [];
  for (let id = 1; id < parts; id++) {
    const r = new Uint8Array(randomBytes(secret.length));
    for (let i = 0; i < last.length; i++) last[i] = last[i]! ^ r[i]!;
    out.push({ id, value: r });
  }
  out.push({ id: parts, value: last });
  return out;
}

function splitPoly<E>(f: Field<E>, secret: Uint8Array, spec: SplitSpec, length: number): Share[] {
  const elements = f.decode(secret);
  const ys: E[][] = Array.from({ length: spec.parts }, () => []);
  for (const s of elements) {
    // f(x) = s + c1 x + ... + c(t-1) x^(t-1), evaluated by Horner at each part's point.
    const c: E[] = Array.from({ length: spec.threshold - 1 }, () => f.random());
    for (let id = 1; id <= spec.parts; id++) {
      const x = f.point(id);
      let acc = f.zero;
      for (let k = c.length - 1; k >= 0; k--) acc = f.add(f.mul(acc, x), c[k]!);
      ys[id - 1]!.push(f.add(f.mul(acc, x), s));
    }
    c.fill(f.zero);
  }
  return ys.map((y, i) => ({ id: i + 1, value: f.encode(y, length) }));
}

/**
 * Recombines shares. Needs at least `threshold` distinct Key Part Identifiers ('failure' otherwise); a repeated id
 * must carry the same share. Parts beyond the threshold must agree with the others ('failure' otherwise).
 * `length` is the secret's length in bytes; only the prime method needs it (default: the bytes of 2^(bits(p)-1)).
 */
export function joinShares(shares: readonly Share[], params: SplitParams, length?: number): Uint8Array {
  if (!SUPPORTED_METHODS.has(params.method)) throw new SplitError('invalid', 'Split Key Method not supported');
  const distinct = new Map<number, Uint8Array>();
  for (const s of shares) {
    const seen = distinct.get(s.id);
    if (seen && !Buffer.from(seen).equals(Buffer.from(s.value))) throw new SplitError('failure', `two different parts claim Key Part Identifier ${s.id}`);
    if (!seen) distinct.set(s.id, s.value);
  }
  const list = [...distinct].map(([id, value]) => ({ id, value }));
  if (list.length < params.threshold || list.length === 0) {
    throw new SplitError('failure', `${list.length} distinct part(s) given; the Split Key Threshold is ${params.threshold}`);
  }
  const size = list[0]!.value.length;
  if (list.some((s) => s.value.length !== size)) throw new SplitError('failure', 'the parts differ in length');
  if (params.method === SplitKeyMethod.XOR) {
    const out = new Uint8Array(size);
    for (const s of list) for (let i = 0; i < size; i++) out[i] = out[i]! ^ s.value[i]!;
    return out;
  }
  if (params.method === SplitKeyMethod.PolynomialSharingPrimeField) {
    if (params.prime === undefined) throw new SplitError('invalid', 'Polynomial Sharing Prime Field needs a Prime Field Size');
    if (bitLength(params.prime) > MAX_PRIME_BITS) throw new SplitError('invalid', `Prime Field Size is larger than ${MAX_PRIME_BITS} bits`);
    const f = primeField(params.prime);
    if (list.some((s) => bytesToBigInt(s.value) >= params.prime!)) throw new SplitError('failure', 'a part is not a residue of the Prime Field Size');
    return joinPoly(f, list, params.threshold, length ?? Math.ceil((bitLength(params.prime) - 1) / 8));
  }
  const f = params.method === SplitKeyMethod.PolynomialSharingGF2_8 ? GF256 : GF65536;
  if (params.method === SplitKeyMethod.PolynomialSharingGF2_16 && size % 2 !== 0) throw new SplitError('failure', 'a GF(2^16) part is not whole 16-bit pieces');
  return joinPoly(f, list, params.threshold, size);
}

/** Lagrange basis values at `at` for the points xs: l_j(at) = prod_{m != j} (at - x_m) / (x_j - x_m). */
function basis<E>(f: Field<E>, xs: readonly E[], at: E): E[] {
  return xs.map((xj, j) => {
    let num = f.one;
    let den = f.one;
    xs.forEach((xm, m) => {
      if (m === j) return;
      num = f.mul(num, f.sub(at, xm));
      den = f.mul(den, f.sub(xj, xm));
    });
    return f.mul(num, f.inv(den));
  });
}

function combine<E>(f: Field<E>, l: readonly E[], ys: readonly E[][], k: number): E {
  let acc = f.zero;
  l.forEach((lj, j) => {
    acc = f.add(acc, f.mul(lj, ys[j]![k]!));
  });
  return acc;
}

function joinPoly<E>(f: Field<E>, shares: readonly Share[], threshold: number, length: number): Uint8Array {
  const used = shares.slice(0, threshold);
  const xs = used.map((s) => f.point(s.id));
  const ys = used.map((s) => f.decode(s.value));
  const count = ys[0]!.length;
  const atZero = basis(f, xs, f.zero);
  const secret: E[] = [];
  for (let k = 0; k < count; k++) secret.push(combine(f, atZero, ys, k));
  for (const extra of shares.slice(threshold)) {
    const l = basis(f, xs, f.point(extra.id));
    const want = f.decode(extra.value);
    for (let k = 0; k < count; k++) {
      if (!f.eq(combine(f, l, ys, k), want[k]!)) throw new SplitError('failure', 'the parts do not belong to one split');
    }
  }
  return f.encode(secret, length);
}
