/**
 * MACs for MAC / MAC Verify (and the HMAC derivation method): HMAC over any hash node:crypto has (SHA-1, SHA-2,
 * SHA-3, MD5), and CMAC (NIST SP 800-38B) over AES or Triple DES. node:crypto has no CMAC (createHmac only does
 * HMAC, and the OpenSSL MAC API is not exposed), so CMAC is built here from the block cipher: CBC with a zero IV
 * over all blocks but the last, the last one masked with the subkey K1 or K2 and enciphered alone.
 *
 * Which MAC: the parameters' Cryptographic Algorithm when it is an HMAC (a key of any algorithm may be used as an
 * HMAC key, as vector CS-AC-M-4 does with an AES key), or AES / Triple DES or Block Cipher Mode CMAC for CMAC;
 * else the key's own algorithm (HMAC-x keys HMAC, AES and Triple DES keys CMAC); else the Hashing Algorithm with
 * HMAC. Both compute by parts.
 */
import { createCipheriv, createHmac, timingSafeEqual, type Cipheriv, type Hmac } from 'node:crypto';
import { BlockCipherMode, CryptographicAlgorithm } from '../ttlv/enums.ts';
import { badKey, badParams, unsupported } from './crypto-error.ts';
import { hashName, hashOfAlgorithm, isHmacAlgorithm, type CryptoParams } from './params.ts';

export type MacSpec = { kind: 'hmac'; hash: number } | { kind: 'cmac'; cipher: number };

const isCmacCipher = (a: number | undefined): a is number => a === CryptographicAlgorithm.AES || a === CryptographicAlgorithm.DES3;

/** The MAC for a key of `keyAlgorithm` (undefined for Secret Data) and these parameters. */
export function macSpec(keyAlgorithm: number | undefined, p: CryptoParams): MacSpec {
  const hmac = (hash: number | undefined): MacSpec => {
    if (hash === undefined || !hashName(hash)) throw unsupported('unsupported hash for HMAC');
    return { kind: 'hmac', hash };
  };
  if (isHmacAlgorithm(p.cryptographicAlgorithm)) return hmac(hashOfAlgorithm(p.cryptographicAlgorithm));
  if (isCmacCipher(p.cryptographicAlgorithm)) return { kind: 'cmac', cipher: p.cryptographicAlgorithm };
  if (p.blockCipherMode === BlockCipherMode.CMAC) {
    if (!isCmacCipher(keyAlgorithm)) throw badParams('CMAC needs an AES or Triple DES key');
    return { kind: 'cmac', cipher: keyAlgorithm };
  }
  if (p.cryptographicAlgorithm !== undefined) throw unsupported('this Cryptographic Algorithm is not a MAC this server computes');
  if (isHmacAlgorithm(keyAlgorithm)) return hmac(hashOfAlgorithm(keyAlgorithm));
  if (p.hashingAlgorithm !== undefined) return hmac(p.hashingAlgorithm);
  if (isCmacCipher(keyAlgorithm)) return { kind: 'cmac', cipher: keyAlgorithm };
  throw badParams('no MAC algorithm: give Cryptographic Parameters with an HMAC algorithm or a Hashing Algorithm');
}

export interface MacStream {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

export function openMac(spec: MacSpec, key: Uint8Array): MacStream {
  if (spec.kind === 'hmac') {
    if (key.length === 0) throw badKey('an HMAC key must not be empty');
    const h: Hmac = createHmac(hashName(spec.hash)!, key);
    return { update: (d) => void h.update(d), digest: () => h.digest() };
  }
  return new Cmac(spec.cipher, key);
}

export function macOnce(spec: MacSpec, key: Uint8Array, data: Uint8Array): Buffer {
  const m = openMac(spec, key);
  m.update(data);
  return m.digest();
}

/** Constant-time comparison of a computed MAC with the client's; a different length is simply not equal. */
export function macEquals(computed: Uint8Array, given: Uint8Array): boolean {
  return computed.length === given.length && timingSafeEqual(computed, given);
}

function ecbName(cipher: number, key: Uint8Array): { name: string; block: number } {
  if (cipher === CryptographicAlgorithm.AES) {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw badKey('an AES key is 128, 192 or 256 bits');
    return { name: `aes-${key.length * 8}`, block: 16 };
  }
  if (key.length === 24) return { name: 'des-ede3', block: 8 };
  if (key.length === 16) return { name: 'des-ede', block: 8 };
  throw badKey('a Triple DES key is 128 or 192 bits (with parity)');
}

/** Subkey doubling in GF(2^b) (SP 800-38B §6.1): shift left one bit, xor Rb if the top bit was set. */
function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(block.length);
  let carry = 0;
  for (let i = block.length - 1; i >= 0; i--) {
    const b = block[i]!;
    out[i] = ((b << 1) | carry) & 0xff;
    carry = b >> 7;
  }
  if (carry) out[block.length - 1]! ^= block.length === 16 ? 0x87 : 0x1b;
  return out;
}

/** CMAC by parts: full blocks go through CBC as they come, the last block (full or not) is held back. */
export class Cmac implements MacStream {
  readonly #k1: Buffer;
  readonly #k2: Buffer;
  readonly #ecb: () => Cipheriv;
  readonly #cbc: Cipheriv;
  readonly #block: number;
  #pending: Buffer = Buffer.alloc(0);
  /** The chaining value: the last ciphertext block of the CBC pass (zero at the start). */
  #chain: Buffer;
  #done = false;

  constructor(cipher: number, key: Uint8Array) {
    const { name, block } = ecbName(cipher, key);
    const k = Buffer.from(key);
    this.#block = block;
    this.#ecb = () => {
      const c = createCipheriv(`${name}-ecb`, k, null);
      c.setAutoPadding(false);
      return c;
    };
    const e = this.#ecb();
    const l = Buffer.concat([e.update(Buffer.alloc(block)), e.final()]);
    this.#k1 = dbl(l);
    this.#k2 = dbl(this.#k1);
    this.#cbc = createCipheriv(`${name}-cbc`, k, Buffer.alloc(block));
    this.#cbc.setAutoPadding(false);
    this.#chain = Buffer.alloc(block);
  }

  update(data: Uint8Array): void {
    if (this.#done) throw new Error('CMAC already finished');
    const all = Buffer.concat([this.#pending, data]);
    // Keep at least one byte back, so the last block is known at digest time.
    const full = all.length === 0 ? 0 : Math.floor((all.length - 1) / this.#block) * this.#block;
    if (full > 0) {
      const out = this.#cbc.update(all.subarray(0, full));
      this.#chain = Buffer.from(out.subarray(out.length - this.#block));
    }
    this.#pending = Buffer.from(all.subarray(full));
  }

  digest(): Buffer {
    if (this.#done) throw new Error('CMAC already finished');
    this.#done = true;
    const b = this.#block;
    let last: Buffer;
    if (this.#pending.length === b) {
      last = Buffer.from(this.#pending);
      for (let i = 0; i < b; i++) last[i]! ^= this.#k1[i]!;
    } else {
      last = Buffer.alloc(b);
      this.#pending.copy(last);
      last[this.#pending.length] = 0x80;
      for (let i = 0; i < b; i++) last[i]! ^= this.#k2[i]!;
    }
    for (let i = 0; i < b; i++) last[i]! ^= this.#chain[i]!;
    const e = this.#ecb();
    return Buffer.concat([e.update(last), e.final()]);
  }
}
