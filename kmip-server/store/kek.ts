/**
 * Encryption of key material at rest.
 *
 * A key-encryption key (KEK, 32 bytes, from a file or a Kubernetes Secret) wraps one random data
 * key per scope; the data key seals each object's material with AES-256-GCM. Both layers bind
 * their context as additional authenticated data: a wrapped data key only unwraps for its scope,
 * a sealed material only opens for its scope and uid, so bytes copied between rows fail.
 *
 * Formats (all integers big-endian):
 *   sealed material  = version(1) | nonce(12) | ciphertext | tag(16)
 *     AAD = version | "kube-kmip/material" | u32 len | scope | u32 len | uid
 *   wrapped data key = version(1) | nonce(12) | ciphertext(32) | tag(16)
 *     AAD = version | "kube-kmip/data-key" | u32 len | scope
 * The version byte leaves room for KEK rotation or another algorithm later.
 *
 * No error message produced here contains key bytes or plaintext.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export const KEY_LENGTH = 32;
const VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const OVERHEAD = 1 + NONCE_LENGTH + TAG_LENGTH;
const WRAPPED_LENGTH = OVERHEAD + KEY_LENGTH;
const MATERIAL_LABEL = new TextEncoder().encode('kube-kmip/material');
const DATA_KEY_LABEL = new TextEncoder().encode('kube-kmip/data-key');

export class KekError extends Error {
  readonly code = 'KEK_INVALID';
}

/** A seal/open/unwrap failure. `code` tells which; messages never carry secrets. */
export class EnvelopeError extends Error {
  readonly code: 'ENVELOPE_AUTH_FAILED' | 'ENVELOPE_BAD_FORMAT' | 'ENVELOPE_NO_DATA_KEY' | 'ENVELOPE_KEK_MISMATCH' | 'ENVELOPE_WIPED';
  constructor(code: EnvelopeError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

// Standard or URL-safe base64 of exactly 32 bytes: 43 significant characters, optional padding.
const B64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?$|^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=?$/;

/** Decodes a base64 (standard or URL-safe) 32-byte KEK, e.g. from an environment variable. */
export function kekFromBase64(s: string): Uint8Array {
  const t = typeof s === 'string' ? s.trim() : '';
  if (!B64_KEY.test(t)) {
    throw new KekError(`key-encryption key must be the base64 encoding of exactly ${KEY_LENGTH} bytes`);
  }
  const buf = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  const key = new Uint8Array(buf);
  buf.fill(0);
  if (key.length !== KEY_LENGTH) throw new KekError(`key-encryption key must be ${KEY_LENGTH} bytes`);
  return key;
}

/** Reads a base64 KEK from an environment variable (e.g. one populated from a Secret). */
export function kekFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new KekError(`environment variable ${name} is not set`);
  try {
    return kekFromBase64(v);
  } catch (err) {
    throw new KekError(`environment variable ${name}: ${(err as Error).message}`);
  }
}

/** Parses a KEK file's contents: exactly 32 raw bytes, or base64 text of 32 bytes. */
export function parseKekFile(data: Uint8Array): Uint8Array {
  if (data.length === KEY_LENGTH) return new Uint8Array(data);
  try {
    return kekFromBase64(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'));
  } catch {
    throw new KekError(`key-encryption key file must hold ${KEY_LENGTH} raw bytes or their base64 encoding`);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, fsc.O_RDONLY);
    await fh.sync();
  } catch {
    // Some platforms/filesystems cannot fsync a directory; the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/**
 * Returns the KEK held in `path`, creating it (32 random bytes, written as base64, mode 0600)
 * when the file does not exist. Creation is atomic and durable: the key is written to a temporary
 * file, fsynced, then moved into place without replacing a key another process created meanwhile,
 * and the directory is fsynced.
 */
export async function loadOrCreateKek(path: string): Promise<Uint8Array> {
  try {
    return parseKekFile(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof KekError) throw new KekError(`${path}: ${err.message}`);
      throw err;
    }
  }
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = new Uint8Array(randomBytes(KEY_LENGTH));
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    const text = Buffer.from(`${Buffer.from(key).toString('base64')}\n`, 'latin1');
    await fh.writeFile(text);
    text.fill(0);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    // link() fails with EEXIST instead of replacing: if two processes race, both end up with the
    // key that won. Filesystems without hard links fall back to rename().
    try {
      await link(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        key.fill(0);
        return parseKekFile(await readFile(path));
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      await rename(tmp, path);
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await fsyncDir(dir);
  return key;
}

/** Where an Envelope keeps wrapped data keys (the sqlite backend uses its data_keys table). */
export interface DataKeyStore {
  /** The wrapped data key of `scope`, if one was stored. */
  getWrapped(scope: string): Uint8Array | undefined;
  /** Stores `wrapped` unless `scope` already has a key; returns the key stored for `scope`. */
  putWrappedIfAbsent(scope: string, wrapped: Uint8Array): Uint8Array;
}

/** A DataKeyStore in process memory, for tests and ephemeral stores. */
export class MemoryDataKeyStore implements DataKeyStore {
  readonly keys = new Map<string, Uint8Array>();
  getWrapped(scope: string): Uint8Array | undefined {
    return this.keys.get(scope);
  }
  putWrappedIfAbsent(scope: string, wrapped: Uint8Array): Uint8Array {
    const cur = this.keys.get(scope);
    if (cur) return cur;
    this.keys.set(scope, new Uint8Array(wrapped));
    return wrapped;
  }
}

const utf8 = new TextEncoder();

function aad(label: Uint8Array, parts: string[]): Uint8Array {
  const encoded = parts.map((p) => utf8.encode(p));
  let len = 1 + label.length;
  for (const e of encoded) len += 4 + e.length;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  out.set(label, 1);
  let o = 1 + label.length;
  for (const e of encoded) {
    dv.setUint32(o, e.length);
    out.set(e, o + 4);
    o += 4 + e.length;
  }
  return out;
}

function gcmSeal(key: KeyObject, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_LENGTH);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  c.setAAD(ad);
  const out = new Uint8Array(OVERHEAD + plaintext.length);
  out[0] = VERSION;
  out.set(nonce, 1);
  let o = 1 + NONCE_LENGTH;
  const body = c.update(plaintext);
  out.set(body, o);
  o += body.length;
  const fin = c.final();
  out.set(fin, o);
  o += fin.length;
  out.set(c.getAuthTag(), o);
  return out;
}

/** Returns the plaintext, or undefined when authentication fails. Throws on a malformed blob. */
function gcmOpen(key: KeyObject, sealed: Uint8Array, ad: Uint8Array, what: string): Uint8Array | undefined {
  if (!(sealed instanceof Uint8Array) || sealed.length < OVERHEAD) {
    throw new EnvelopeError('ENVELOPE_BAD_FORMAT', `${what}: sealed data is truncated`);
  }
  if (sealed[0] !== VERSION) {
    throw new EnvelopeError('ENVELOPE_BAD_FORMAT', `${what}: unsupported envelope version ${sealed[0]}`);
  }
  const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
  const ct = sealed.subarray(1 + NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  d.setAAD(ad);
  d.setAuthTag(tag);
  const out = new Uint8Array(ct.length);
  const body = d.update(ct);
  out.set(body);
  body.fill(0);
  try {
    d.final();
  } catch {
    out.fill(0);
    return undefined;
  }
  return out;
}

/**
 * Seals and opens object material with per-scope data keys wrapped by the KEK. Unwrapped data keys
 * are cached in memory as KeyObjects; `wipe()` drops them and the KEK.
 */
export class Envelope {
  // Keys are held as KeyObjects: importing a raw key on every cipher costs ~10x the cipher itself.
  #kek: KeyObject | undefined;
  readonly #keys: DataKeyStore;
  readonly #cache = new Map<string, KeyObject>();

  constructor(kek: Uint8Array, keys: DataKeyStore = new MemoryDataKeyStore()) {
    if (!(kek instanceof Uint8Array) || kek.length !== KEY_LENGTH) {
      throw new KekError(`key-encryption key must be ${KEY_LENGTH} bytes`);
    }
    this.#kek = createSecretKey(kek);
    this.#keys = keys;
  }

  /** Wraps a data key for `scope` under the KEK. */
  wrapDataKey(scope: string, dataKey: Uint8Array): Uint8Array {
    return gcmSeal(this.#kekObject(), dataKey, aad(DATA_KEY_LABEL, [scope]));
  }

  /** Unwraps a data key of `scope`; a wrong KEK or a key moved from another scope fails. */
  unwrapDataKey(scope: string, wrapped: Uint8Array): Uint8Array {
    if (!(wrapped instanceof Uint8Array) || wrapped.length !== WRAPPED_LENGTH) {
      throw new EnvelopeError('ENVELOPE_BAD_FORMAT', `data key of scope ${scope}: wrapped key is malformed`);
    }
    const key = gcmOpen(this.#kekObject(), wrapped, aad(DATA_KEY_LABEL, [scope]), `data key of scope ${scope}`);
    if (!key) {
      throw new EnvelopeError(
        'ENVELOPE_KEK_MISMATCH',
        `cannot unwrap the data key of scope ${scope}: the key-encryption key is not the one it was wrapped with, or the stored key is corrupt`,
      );
    }
    return key;
  }

  #kekObject(): KeyObject {
    if (!this.#kek) throw new EnvelopeError('ENVELOPE_WIPED', 'envelope has been wiped');
    return this.#kek;
  }

  /** The scope's data key, unwrapping or (when `create`) generating and storing it as needed. */
  #dataKey(scope: string, create: boolean): KeyObject | undefined {
    const cached = this.#cache.get(scope);
    if (cached) return cached;
    let wrapped = this.#keys.getWrapped(scope);
    if (!wrapped) {
      if (!create) return undefined;
      const fresh = new Uint8Array(randomBytes(KEY_LENGTH));
      const mine = this.wrapDataKey(scope, fresh);
      fresh.fill(0);
      wrapped = this.#keys.putWrappedIfAbsent(scope, mine);
    }
    const raw = this.unwrapDataKey(scope, wrapped);
    const key = createSecretKey(raw);
    raw.fill(0);
    this.#cache.set(scope, key);
    return key;
  }

  /** Makes sure `scope` has a stored data key (creating one if needed). */
  ensureDataKey(scope: string): void {
    this.#dataKey(scope, true);
  }

  /** Unwraps (and caches) the stored data key of `scope`, if any; throws on a KEK mismatch. */
  verifyDataKey(scope: string): void {
    this.#dataKey(scope, false);
  }

  /** Forgets unwrapped data keys (e.g. after a rolled-back transaction may have stored one). */
  clearCache(): void {
    this.#cache.clear();
  }

  seal(scope: string, uid: string, plaintext: Uint8Array): Uint8Array {
    const key = this.#dataKey(scope, true)!;
    return gcmSeal(key, plaintext, aad(MATERIAL_LABEL, [scope, uid]));
  }

  open(scope: string, uid: string, sealed: Uint8Array): Uint8Array {
    const key = this.#dataKey(scope, false);
    if (!key) {
      throw new EnvelopeError('ENVELOPE_NO_DATA_KEY', `cannot open material of object ${uid}: scope ${scope} has no data key`);
    }
    const pt = gcmOpen(key, sealed, aad(MATERIAL_LABEL, [scope, uid]), `material of object ${uid}`);
    if (!pt) {
      throw new EnvelopeError(
        'ENVELOPE_AUTH_FAILED',
        `cannot open material of object ${uid}: authentication failed (wrong key, or data corrupt or not stored for this object)`,
      );
    }
    return pt;
  }

  /** Drops the KEK and cached data keys; the Envelope is unusable afterwards. */
  wipe(): void {
    this.clearCache();
    this.#kek = undefined;
  }
}
