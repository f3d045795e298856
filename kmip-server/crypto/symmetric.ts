/**
 * Symmetric encryption for Encrypt / Decrypt (and the Encrypt derivation method): AES in ECB, CBC, CFB (128-bit
 * feedback), OFB, CTR, GCM, CCM and XTS; Triple DES in ECB, CBC, CFB and OFB; ChaCha20 and ChaCha20-Poly1305.
 * All through node:crypto. A cipher is opened once and fed by parts (Init / Final Indicator streaming) or in one go.
 *
 * Choices KMIP leaves open, made here:
 * - Padding Method absent means no padding (the vectors: ECB over 16 bytes gives 16 bytes); PKCS5 is PKCS#7 padding
 *   to the cipher's block. Stream modes (CTR, CFB, OFB, GCM, ChaCha20) ignore the Padding Method.
 * - The IV must be given unless Random IV is true (then the server makes one and returns it). A mode that needs one
 *   and has none is a `missing-iv` error.
 * - GCM, CCM and ChaCha20-Poly1305 tags: Tag Length in bytes, 16 when absent. GCM and ChaCha20-Poly1305 allow 4, 8
 *   and 12 to 16 (node's GCM limits, SP 800-38D); CCM 4 to 16, even.
 * - IV Length (only used to size a generated IV) is in bits as the spec says; a value that cannot be bits of a usable
 *   IV (under 64, or not a multiple of 8) is read as bytes, which is what some clients send (IV Length 12 for GCM).
 * - CTR: a 16-byte IV is the initial counter block. A shorter one is a nonce: the block is nonce || counter, the
 *   counter (big-endian, the rest of the block) starting at Initial Counter Value (0 when absent; RFC 3686 uses 1).
 *   node increments the whole 128-bit block, so a Counter Length shorter than that only matters on overflow.
 * - ChaCha20: a 16-byte IV is OpenSSL's counter (32-bit little-endian) || 96-bit nonce. A 12-byte nonce (RFC 8439)
 *   gets a 32-bit counter, an 8-byte nonce (the original ChaCha20) a 64-bit counter, both little-endian from
 *   Initial Counter Value (default 0).
 * - XTS and CCM need the whole data at once: streamed, they process it at Final.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type CipherCCM, type KeyObject, type Cipheriv, type DecipherCCM, type Decipheriv } from 'node:crypto';
import { BlockCipherMode, CryptographicAlgorithm, PaddingMethod } from '../ttlv/enums.ts';
import { randomNonce } from './random-pool.ts';
import { CryptoError, badKey, badParams, cryptoFailure, unsupported } from './crypto-error.ts';
import type { CryptoParams } from './params.ts';

export type Direction = 'encrypt' | 'decrypt';

export interface SymmetricOptions {
  params: CryptoParams;
  /** The client's IV/Counter/Nonce. */
  iv?: Uint8Array | undefined;
  /** Authenticated Encryption Additional Data. */
  aad?: Uint8Array | undefined;
  /** The key as a KeyObject already made from the same bytes (key-use.ts secretKeyObject), to skip making one. */
  keyObject?: KeyObject | undefined;
}

export interface SymmetricCipher {
  readonly aead: boolean;
  /** Tag bytes for an AEAD cipher (0 otherwise). */
  readonly tagLength: number;
  /** The IV the server made (Random IV), to return to the client. */
  readonly generatedIv: Buffer | undefined;
  /** Processes everything at final (XTS, CCM). */
  readonly buffered: boolean;
  update(data: Uint8Array): Buffer;
  /** Decrypt of an AEAD cipher: the tag to check, before final. */
  setTag(tag: Uint8Array): void;
  final(): Buffer;
  /** Encrypt of an AEAD cipher: the tag, after final. */
  tag(): Buffer | undefined;
}

type Aead = 'gcm' | 'ccm' | 'chacha20-poly1305';

interface Plan {
  cipher: string;
  /** The IV node takes, from the client's one; null when the mode takes none. */
  iv: (given: Uint8Array) => Buffer | null;
  needsIv: boolean;
  /** Bytes of a generated IV. */
  randomIvBytes: number;
  /** Block mode with padding (ECB, CBC). */
  padded: boolean;
  aead?: Aead;
  buffered?: boolean;
}

export const GCM_TAG_LENGTHS: ReadonlySet<number> = new Set([4, 8, 12, 13, 14, 15, 16]);
const CCM_TAG_LENGTHS: ReadonlySet<number> = new Set([4, 6, 8, 10, 12, 14, 16]);

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function exactIv(bytes: number, what: string): (given: Uint8Array) => Buffer {
  return (given) => {
    if (given.length !== bytes) throw badParams(`${what} needs an IV of ${bytes} bytes`);
    return Buffer.from(given);
  };
}

/** Bytes of a generated IV from IV Length (see the module comment), or the mode's default. */
function ivBytesFrom(params: CryptoParams, fallback: number): number {
  const l = params.ivLength;
  if (l === undefined || l <= 0) return fallback;
  return l % 8 === 0 && l >= 64 ? l / 8 : l;
}

function counterBlock(size: number, initial: number, littleEndian: boolean): Buffer {
  const out = Buffer.alloc(size);
  let v = BigInt(initial);
  if (v < 0n) throw badParams('Initial Counter Value must not be negative');
  for (let i = 0; i < size; i++) {
    out[littleEndian ? i : size - 1 - i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw badParams('Initial Counter Value does not fit the counter');
  return out;
}

function aesPlan(key: Uint8Array, p: CryptoParams): Plan {
  const mode = p.blockCipherMode;
  if (mode === undefined) throw badParams('AES needs a Block Cipher Mode');
  if (mode === BlockCipherMode.XTS) {
    if (key.length !== 32 && key.length !== 64) throw badKey('AES-XTS needs a 256- or 512-bit key (two AES keys)');
    return { cipher: `aes-${key.length * 4}-xts`, iv: exactIv(16, 'XTS'), needsIv: true, randomIvBytes: 16, padded: false, buffered: true };
  }
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw badKey('an AES key is 128, 192 or 256 bits');
  const bits = key.length * 8;
  switch (mode) {
    case BlockCipherMode.ECB: return { cipher: `aes-${bits}-ecb`, iv: () => null, needsIv: false, randomIvBytes: 0, padded: true };
    case BlockCipherMode.CBC: return { cipher: `aes-${bits}-cbc`, iv: exactIv(16, 'CBC'), needsIv: true, randomIvBytes: 16, padded: true };
    case BlockCipherMode.CFB: return { cipher: `aes-${bits}-cfb`, iv: exactIv(16, 'CFB'), needsIv: true, randomIvBytes: 16, padded: false };
    case BlockCipherMode.OFB: return { cipher: `aes-${bits}-ofb`, iv: exactIv(16, 'OFB'), needsIv: true, randomIvBytes: 16, padded: false };
    case BlockCipherMode.CTR:
      return {
        cipher: `aes-${bits}-ctr`,
        iv: (given) => {
          if (given.length === 16) return Buffer.from(given);
          if (given.length === 0 || given.length > 16) throw badParams('CTR needs a counter block of 16 bytes or a shorter nonce');
          return Buffer.concat([given, counterBlock(16 - given.length, p.initialCounterValue ?? 0, false)]);
        },
        needsIv: true,
        randomIvBytes: Math.min(16, ivBytesFrom(p, 16)),
        padded: false,
      };
    case BlockCipherMode.GCM:
      return {
        cipher: `aes-${bits}-gcm`,
        iv: (given) => {
          if (given.length === 0) throw badParams('GCM needs a non-empty IV');
          return Buffer.from(given);
        },
        needsIv: true,
        randomIvBytes: ivBytesFrom(p, 12),
        padded: false,
        aead: 'gcm',
      };
    case BlockCipherMode.CCM:
      return {
        cipher: `aes-${bits}-ccm`,
        iv: (given) => {
          if (given.length < 7 || given.length > 13) throw badParams('CCM needs a nonce of 7 to 13 bytes');
          return Buffer.from(given);
        },
        needsIv: true,
        randomIvBytes: Math.min(13, Math.max(7, ivBytesFrom(p, 12))),
        padded: false,
        aead: 'ccm',
        buffered: true,
      };
    default:
      throw unsupported('this Block Cipher Mode is not supported for AES');
  }
}

function tdesPlan(key: Uint8Array, p: CryptoParams): Plan {
  const base = key.length === 24 ? 'des-ede3' : key.length === 16 ? 'des-ede' : undefined;
  if (!base) throw badKey('a Triple DES key is 128 or 192 bits (with parity)');
  switch (p.blockCipherMode) {
    case undefined: throw badParams('Triple DES needs a Block Cipher Mode');
    case BlockCipherMode.ECB: return { cipher: `${base}-ecb`, iv: () => null, needsIv: false, randomIvBytes: 0, padded: true };
    case BlockCipherMode.CBC: return { cipher: `${base}-cbc`, iv: exactIv(8, 'CBC'), needsIv: true, randomIvBytes: 8, padded: true };
    case BlockCipherMode.CFB: return { cipher: `${base}-cfb`, iv: exactIv(8, 'CFB'), needsIv: true, randomIvBytes: 8, padded: false };
    case BlockCipherMode.OFB: return { cipher: `${base}-ofb`, iv: exactIv(8, 'OFB'), needsIv: true, randomIvBytes: 8, padded: false };
    default: throw unsupported('this Block Cipher Mode is not supported for Triple DES');
  }
}

function chachaPlan(key: Uint8Array, p: CryptoParams): Plan {
  if (key.length !== 32) throw badKey('a ChaCha20 key is 256 bits');
  return {
    cipher: 'chacha20',
    iv: (given) => {
      if (given.length === 16) return Buffer.from(given);
      if (given.length === 12) return Buffer.concat([counterBlock(4, p.initialCounterValue ?? 0, true), given]);
      if (given.length === 8) return Buffer.concat([counterBlock(8, p.initialCounterValue ?? 0, true), given]);
      throw badParams('ChaCha20 needs a nonce of 8 or 12 bytes, or a 16-byte counter and nonce');
    },
    needsIv: true,
    randomIvBytes: 12,
    padded: false,
  };
}

function chachaPolyPlan(key: Uint8Array, p: CryptoParams): Plan {
  if (key.length !== 32) throw badKey('a ChaCha20-Poly1305 key is 256 bits');
  if (p.blockCipherMode !== undefined && p.blockCipherMode !== BlockCipherMode.AEAD) throw badParams('ChaCha20-Poly1305 takes Block Cipher Mode AEAD or none');
  return { cipher: 'chacha20-poly1305', iv: exactIv(12, 'ChaCha20-Poly1305'), needsIv: true, randomIvBytes: 12, padded: false, aead: 'chacha20-poly1305' };
}

function plan(algorithm: number, key: Uint8Array, p: CryptoParams): Plan {
  if (p.cryptographicAlgorithm !== undefined && p.cryptographicAlgorithm !== algorithm) {
    throw badParams('the Cryptographic Algorithm of the parameters is not the key\'s');
  }
  switch (algorithm) {
    case CryptographicAlgorithm.AES: return aesPlan(key, p);
    case CryptographicAlgorithm.DES3: return tdesPlan(key, p);
    case CryptographicAlgorithm.ChaCha20: return chachaPlan(key, p);
    case CryptographicAlgorithm.ChaCha20Poly1305: return chachaPolyPlan(key, p);
    default: throw unsupported('this key\'s algorithm is not supported for encryption');
  }
}

/** The Tag Length to use, checked against what the AEAD allows. */
function tagLengthOf(aead: Aead, p: CryptoParams): number {
  const t = p.tagLength ?? 16;
  const ok = aead === 'ccm' ? CCM_TAG_LENGTHS.has(t) : GCM_TAG_LENGTHS.has(t);
  if (!ok) throw new CryptoError('tag-length', `invalid tag length ${t}`);
  return t;
}

/** Runs a node call, turning its errors into a CryptoError that says only what failed. */
function guard<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw cryptoFailure(what);
  }
}


export function openSymmetric(direction: Direction, algorithm: number, key: Uint8Array, opts: SymmetricOptions): SymmetricCipher {
  const p = opts.params;
  const pl = plan(algorithm, key, p);
  if (pl.padded && p.paddingMethod !== undefined && p.paddingMethod !== PaddingMethod.None && p.paddingMethod !== PaddingMethod.PKCS5) {
    throw unsupported('only Padding Method None and PKCS5 are supported');
  }
  const tagLength = pl.aead ? tagLengthOf(pl.aead, p) : 0;

  let generatedIv: Buffer | undefined;
  let given = opts.iv;
  if (pl.needsIv && given === undefined) {
    if (direction === 'encrypt' && p.randomIv === true) {
      generatedIv = randomNonce(pl.randomIvBytes);
      given = generatedIv;
    } else {
      throw new CryptoError('missing-iv', 'this mode needs an IV/Counter/Nonce');
    }
  }
  const iv = pl.needsIv ? pl.iv(given!) : null;
  const k = asBuffer(key);
  const aad = opts.aad && opts.aad.length > 0 ? asBuffer(opts.aad) : undefined;
  if (aad && !pl.aead) throw badParams('Authenticated Encryption Additional Data needs an authenticated mode');

  const make = (plaintextLength?: number): Cipheriv | Decipheriv => guard('cipher setup failed', () => {
    const options = pl.aead ? { authTagLength: tagLength } : undefined;
    // A KeyObject, not the bytes: Node 24 checks a raw key against every key type first, which
    // cost about 20 µs per cipher (four times the AES-GCM work on a small message).
    const key = opts.keyObject ?? createSecretKey(k);
    const c = direction === 'encrypt'
      ? createCipheriv(pl.cipher, key, iv, options as never) as Cipheriv
      : createDecipheriv(pl.cipher, key, iv, options as never) as Decipheriv;
    if (pl.padded) c.setAutoPadding(p.paddingMethod === PaddingMethod.PKCS5);
    if (pl.aead === 'ccm') {
      (c as CipherCCM).setAAD(aad ?? Buffer.alloc(0), { plaintextLength: plaintextLength ?? 0 });
    } else if (aad) {
      (c as unknown as { setAAD(b: Buffer): unknown }).setAAD(aad);
    }
    return c;
  });

  let expectedTag: Buffer | undefined;
  let outTag: Buffer | undefined;
  let done = false;

  if (pl.buffered) {
    // XTS and CCM: everything at final.
    const parts: Buffer[] = [];
    return {
      aead: pl.aead !== undefined,
      tagLength,
      generatedIv,
      buffered: true,
      update: (data) => {
        parts.push(Buffer.from(data));
        return Buffer.alloc(0);
      },
      setTag: (tag) => {
        expectedTag = Buffer.from(tag);
      },
      final: () => {
        if (done) throw cryptoFailure('the cipher is finished');
        done = true;
        const all = Buffer.concat(parts);
        if (pl.cipher.endsWith('xts') && all.length < 16) throw cryptoFailure('XTS needs at least 16 bytes of data');
        const c = make(all.length);
        if (direction === 'decrypt' && pl.aead) {
          if (!expectedTag || expectedTag.length !== tagLength) throw cryptoFailure('authentication failed');
          (c as DecipherCCM).setAuthTag(expectedTag);
        }
        const out = guard(direction === 'decrypt' && pl.aead ? 'authentication failed' : `${direction}ion failed`, () => Buffer.concat([c.update(all), c.final()]));
        if (direction === 'encrypt' && pl.aead) outTag = (c as CipherCCM).getAuthTag();
        return out;
      },
      tag: () => outTag,
    };
  }

  const c = make();
  return {
    aead: pl.aead !== undefined,
    tagLength,
    generatedIv,
    buffered: false,
    update: (data) => guard(`${direction}ion failed`, () => c.update(data)),
    setTag: (tag) => {
      expectedTag = Buffer.from(tag);
    },
    final: () => {
      if (done) throw cryptoFailure('the cipher is finished');
      done = true;
      if (direction === 'decrypt' && pl.aead) {
        if (!expectedTag || expectedTag.length !== tagLength) throw cryptoFailure('authentication failed');
        guard('authentication failed', () => (c as DecipherCCM).setAuthTag(expectedTag!));
      }
      const out = guard(direction === 'decrypt' && pl.aead ? 'authentication failed' : `${direction}ion failed`, () => c.final());
      if (direction === 'encrypt' && pl.aead) outTag = (c as CipherCCM).getAuthTag();
      return out;
    },
    tag: () => outTag,
  };
}

/** One-shot encryption: ciphertext, tag (AEAD) and the generated IV (Random IV). */
export function encryptOnce(algorithm: number, key: Uint8Array, data: Uint8Array, opts: SymmetricOptions): { data: Buffer; tag?: Buffer; iv?: Buffer } {
  const c = openSymmetric('encrypt', algorithm, key, opts);
  const out = Buffer.concat([c.update(data), c.final()]);
  const tag = c.tag();
  return { data: out, ...(tag ? { tag } : {}), ...(c.generatedIv ? { iv: c.generatedIv } : {}) };
}

/** One-shot decryption; `tag` for an AEAD cipher. */
export function decryptOnce(algorithm: number, key: Uint8Array, data: Uint8Array, opts: SymmetricOptions & { tag?: Uint8Array | undefined }): Buffer {
  const c = openSymmetric('decrypt', algorithm, key, opts);
  if (c.aead) {
    if (!opts.tag) throw cryptoFailure('authentication failed: no tag');
    c.setTag(opts.tag);
  }
  return Buffer.concat([c.update(data), c.final()]);
}
