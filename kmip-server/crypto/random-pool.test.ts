import test from 'ava';
import { randomNonce } from './random-pool.ts';

test('nonces have the asked length, are independent copies, and never repeat across pool refills', (t) => {
  const seen = new Set<string>();
  // 12-byte IVs across several 4 KiB refills, and odd sizes that straddle a refill.
  for (let i = 0; i < 3000; i++) {
    const n = i % 7 === 0 ? 17 : 12;
    const iv = randomNonce(n);
    t.is(iv.length, n);
    const hex = iv.toString('hex');
    if (seen.has(hex)) return t.fail(`repeated nonce ${hex}`);
    seen.add(hex);
  }
  const a = randomNonce(16);
  const before = Buffer.from(a);
  randomNonce(16);
  t.deepEqual(a, before, 'a handed-out nonce is not changed by later draws');
  t.is(randomNonce(1000).length, 1000, 'large requests are served directly');
});

test('the bytes look random: no constant or zero output', (t) => {
  const all = Buffer.concat(Array.from({ length: 400 }, () => randomNonce(12)));
  const counts = new Array(256).fill(0);
  for (const b of all) counts[b]++;
  // 4800 bytes: every value expected ~19 times; a stuck or zeroed pool would fail this badly.
  t.true(Math.max(...counts) < 60, `max byte count ${Math.max(...counts)}`);
  t.true(counts.filter((c) => c === 0).length < 5);
});
