import test from 'ava';
import { randomBytes } from 'node:crypto';
import { SplitKeyMethod as M } from '../ttlv/enums.ts';
import {
  SplitError, gf256Inv, gf256Mul, gf65536Inv, gf65536Mul, joinShares, primeAbove, splitSecret, type Share, type SplitSpec,
} from './split.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Every subset of `items` of size k. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

const failure = (t: import('ava').ExecutionContext, f: () => unknown, kind: 'invalid' | 'failure' = 'failure'): void => {
  const err = t.throws(f, { instanceOf: SplitError });
  t.is(err?.kind, kind);
};

test('GF(2^8) (0x11D) and GF(2^16) arithmetic: every non-zero element has an inverse', (t) => {
  for (let a = 1; a < 256; a++) t.is(gf256Mul(a, gf256Inv(a)), 1);
  t.is(gf256Mul(0x80, 2), 0x1d); // x^8 = x^4 + x^3 + x^2 + 1
  for (let i = 0; i < 2000; i++) {
    const a = 1 + Math.floor(Math.random() * 0xffff);
    const b = 1 + Math.floor(Math.random() * 0xffff);
    const c = Math.floor(Math.random() * 0x10000);
    t.is(gf65536Mul(a, gf65536Inv(a)), 1);
    t.is(gf65536Mul(a, b), gf65536Mul(b, a));
    t.is(gf65536Mul(gf65536Mul(a, b), c), gf65536Mul(a, gf65536Mul(b, c)));
    t.is(gf65536Mul(a, b ^ c), gf65536Mul(a, b) ^ gf65536Mul(a, c));
  }
  // y * y = y + m
  t.is(gf65536Mul(0x0100, 0x0100), 0x013a);
});

test('the OASIS TC_SJ_2/3 GF(2^8) shares (2 of 4) join to the key, in every pair', (t) => {
  const shares: Share[] = [
    '66C46A7754F94DE420C7B1A7FFF5EC56', 'CF93D1E2A7E593CD5B8D6247F4E5D49C', 'A855B891F61AD9217240D8EC061E37DA', '803DBAD55CDD329FAD19D99AE2C5A415',
  ].map((h, i) => ({ id: i + 1, value: unhex(h) }));
  for (const pair of subsets(shares, 2)) {
    t.is(hex(joinShares(pair, { method: M.PolynomialSharingGF2_8, threshold: 2 })), '0102030405060708090a0b0c0d0e0f10');
  }
  t.is(hex(joinShares(shares, { method: M.PolynomialSharingGF2_8, threshold: 2 })), '0102030405060708090a0b0c0d0e0f10');
});

test('the OASIS TC_SJ_4 XOR shares join to the key', (t) => {
  const shares = ['d4b92c299199298e30dee13b967e6dda', '35ea4f615686230c7b11538693674e89', '3478ddd2e1f89f2005011d26d9fff37c', 'd429bd9e23e192aa47c4a497d1e8df3f']
    .map((h, i) => ({ id: i + 1, value: unhex(h) }));
  t.is(hex(joinShares(shares, { method: M.XOR, threshold: 4 })), '0102030405060708090a0b0c0d0e0f10');
  failure(t, () => joinShares(shares.slice(1), { method: M.XOR, threshold: 4 }));
});

const specs: [string, SplitSpec, number][] = [
  ['XOR 4 of 4', { method: M.XOR, parts: 4, threshold: 4 }, 16],
  ['XOR 1 of 1', { method: M.XOR, parts: 1, threshold: 1 }, 16],
  ['GF(2^8) 3 of 5', { method: M.PolynomialSharingGF2_8, parts: 5, threshold: 3 }, 32],
  ['GF(2^8) 1 of 3', { method: M.PolynomialSharingGF2_8, parts: 3, threshold: 1 }, 16],
  ['GF(2^8) 5 of 5', { method: M.PolynomialSharingGF2_8, parts: 5, threshold: 5 }, 24],
  ['GF(2^16) 3 of 6', { method: M.PolynomialSharingGF2_16, parts: 6, threshold: 3 }, 32],
  ['GF(2^16) 2 of 2', { method: M.PolynomialSharingGF2_16, parts: 2, threshold: 2 }, 16],
  ['prime field 3 of 5', { method: M.PolynomialSharingPrimeField, parts: 5, threshold: 3, prime: primeAbove(128) }, 16],
  ['prime field 2 of 4 (client prime 2^521-1)', { method: M.PolynomialSharingPrimeField, parts: 4, threshold: 2, prime: 2n ** 521n - 1n }, 32],
];

for (const [name, spec, size] of specs) {
  test(`${name}: every threshold subset joins, every smaller one fails, extra parts are checked`, (t) => {
    const secret = new Uint8Array(randomBytes(size));
    secret[0] = 0; // a leading zero byte must survive the prime field's integers
    const shares = splitSecret(secret, spec);
    t.deepEqual(shares.map((s) => s.id), Array.from({ length: spec.parts }, (_, i) => i + 1));
    const params = { method: spec.method, threshold: spec.threshold, ...(spec.prime !== undefined ? { prime: spec.prime } : {}) };
    for (let k = spec.threshold; k <= spec.parts; k++) {
      for (const subset of subsets(shares, k)) t.is(hex(joinShares(subset, params, size)), hex(secret));
      // order does not matter
      t.is(hex(joinShares([...shares].reverse(), params, size)), hex(secret));
    }
    for (const subset of subsets(shares, spec.threshold - 1)) failure(t, () => joinShares(subset, params, size));
    // a repeated part does not count twice
    if (spec.threshold > 1) failure(t, () => joinShares(Array.from({ length: spec.threshold }, () => shares[0]!), params, size));
    if (spec.threshold > 1 && spec.method !== M.XOR) {
      // shares alone are not the secret (overwhelmingly likely for random coefficients)
      t.true(shares.some((s) => hex(s.value) !== hex(secret)));
    }
  });
}

test('a part of another split is caught when more than the threshold is given', (t) => {
  const secret = new Uint8Array(randomBytes(16));
  const spec: SplitSpec = { method: M.PolynomialSharingGF2_8, parts: 4, threshold: 2 };
  const a = splitSecret(secret, spec);
  const b = splitSecret(secret, spec);
  failure(t, () => joinShares([a[0]!, a[1]!, b[2]!], spec));
  const p = primeAbove(128);
  const pa = splitSecret(secret, { ...spec, method: M.PolynomialSharingPrimeField, prime: p });
  const pb = splitSecret(secret, { ...spec, method: M.PolynomialSharingPrimeField, prime: p });
  failure(t, () => joinShares([pa[0]!, pa[1]!, pb[3]!], { method: M.PolynomialSharingPrimeField, threshold: 2, prime: p }, 16));
  // two different values for one Key Part Identifier
  failure(t, () => joinShares([a[0]!, { id: 1, value: b[0]!.value }], spec));
});

test('bad parameters are refused as invalid', (t) => {
  const key = new Uint8Array(16);
  failure(t, () => splitSecret(key, { method: M.XOR, parts: 4, threshold: 2 }), 'invalid');
  failure(t, () => splitSecret(key, { method: M.PolynomialSharingGF2_8, parts: 2, threshold: 3 }), 'invalid');
  failure(t, () => splitSecret(key, { method: M.PolynomialSharingGF2_8, parts: 256, threshold: 3 }), 'invalid');
  failure(t, () => splitSecret(key, { method: M.PolynomialSharingGF2_8, parts: 3, threshold: 0 }), 'invalid');
  failure(t, () => splitSecret(key, { method: 0x80000001, parts: 3, threshold: 2 }), 'invalid');
  failure(t, () => splitSecret(new Uint8Array(15), { method: M.PolynomialSharingGF2_16, parts: 3, threshold: 2 }), 'invalid');
  failure(t, () => splitSecret(key, { method: M.PolynomialSharingPrimeField, parts: 3, threshold: 2 }), 'invalid');
  failure(t, () => splitSecret(key, { method: M.PolynomialSharingPrimeField, parts: 3, threshold: 2, prime: 2n ** 127n - 1n }), 'invalid'); // too small
  failure(t, () => splitSecret(key, { method: M.PolynomialSharingPrimeField, parts: 3, threshold: 2, prime: 2n ** 129n }), 'invalid'); // not prime
  failure(t, () => splitSecret(new Uint8Array(0), { method: M.XOR, parts: 2, threshold: 2 }), 'invalid');
});

test('primeAbove gives the smallest prime above 2^bits', (t) => {
  t.is(primeAbove(8), 257n);
  t.is(primeAbove(16), 65537n);
  t.is(primeAbove(128), 2n ** 128n + 51n);
  t.throws(() => primeAbove(4096), { instanceOf: SplitError });
});
