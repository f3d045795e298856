/**
 * Small random values (IVs, nonces) from a pool of CSPRNG output, refilled 4 KiB at a time: one
 * call into OpenSSL's RNG per few hundred IVs instead of one per IV, which was the largest single
 * cost of an AES-GCM Encrypt of a small message. Each byte is handed out once; the caller gets
 * its own copy. Keys are not drawn from here (they come from randomBytes directly).
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

export function randomNonce(n: number): Buffer {
  if (n > 256) return randomFillSync(Buffer.alloc(n));
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  // Never hand out the same bytes twice, even to code that keeps the pool alive.
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
