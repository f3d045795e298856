/**
 * May this object be used for this cryptographic operation now, and with what key? The checks every cryptographic
 * operation (Encrypt, Decrypt, Sign, Signature Verify, MAC, MAC Verify, Derive Key) makes, in this order:
 *
 * 1. Archived: Object Archived.
 * 2. Object type: the operation's kinds of object only (2.x Invalid Object Type; 1.x Permission Denied, "object
 *    specified is not able to be used for ...", 1.4 §11.30-11.35).
 * 3. State (1.4 §3.22, 2.1 §3.31 / 4.57): applying protection (encrypt, sign, MAC, derive) needs Active; processing
 *    protected data (decrypt, verify, MAC verify) needs Active, Deactivated or Compromised — the spec forbids
 *    protecting with those two, and lets processing happen "under extraordinary circumstances and when special
 *    permission is granted" / "in a client that is trusted": here, a role allowed the operation. Pre-Active and
 *    the destroyed states allow nothing.
 * 4. Dates: protecting is refused once the Protect Stop Date has come (1.4 §3.26), processing before the Process
 *    Start Date (§3.25). 3 and 4 fail with 2.x Wrong Key Lifecycle State, 1.x Permission Denied (the vectors
 *    CS-BC-M-14, CS-AC-M-8).
 * 5. Cryptographic Usage Mask: the operation's bit, or 2.x's Unrestricted (2.x Incompatible Cryptographic Usage Mask,
 *    1.x Permission Denied).
 * 6. Key material present and not wrapped.
 * Usage Limits (§3.21) are charged by protecting operations only, after the checks: Permission Denied when the
 * allocation cannot be had (1.4 §4.29 and 2.1 §6.1.17 say so for Encrypt, and the vectors CS-BC-M-7 at 1.x and 2.1).
 */
import { X509Certificate, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicUsageMask, KeyFormatType, ObjectType, ResultReason, State, UsageLimitsUnit } from '../ttlv/enums.ts';
import { ItemType, long, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError } from '../messages/errors.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import { lifecycleError } from '../objects/lifecycle.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { CryptoError } from './crypto-error.ts';
import { formatOf, isWrapped, materialOf } from './key-block.ts';
import { KeyMaterialError, privateKeyFrom, publicKeyFrom } from './keys.ts';
import { ParamsError, firstParams, parseParams, type CryptoParams } from './params.ts';

export type KeyUse = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'mac' | 'mac-verify' | 'derive';

const MASK: Readonly<Record<KeyUse, number>> = {
  encrypt: CryptographicUsageMask.Encrypt,
  decrypt: CryptographicUsageMask.Decrypt,
  sign: CryptographicUsageMask.Sign,
  verify: CryptographicUsageMask.Verify,
  mac: CryptographicUsageMask.MACGenerate,
  'mac-verify': CryptographicUsageMask.MACVerify,
  derive: CryptographicUsageMask.DeriveKey,
};

const PROTECTS: ReadonlySet<KeyUse> = new Set<KeyUse>(['encrypt', 'sign', 'mac', 'derive']);

const TYPES: Readonly<Record<KeyUse, readonly number[]>> = {
  encrypt: [ObjectType.SymmetricKey, ObjectType.PublicKey, ObjectType.PrivateKey, ObjectType.Certificate],
  decrypt: [ObjectType.SymmetricKey, ObjectType.PrivateKey],
  sign: [ObjectType.PrivateKey],
  verify: [ObjectType.PublicKey, ObjectType.Certificate, ObjectType.PrivateKey],
  mac: [ObjectType.SymmetricKey, ObjectType.SecretData],
  'mac-verify': [ObjectType.SymmetricKey, ObjectType.SecretData],
  derive: [ObjectType.SymmetricKey, ObjectType.SecretData],
};

const VERB: Readonly<Record<KeyUse, string>> = {
  encrypt: 'encryption', decrypt: 'decryption', sign: 'signing', verify: 'signature verification', mac: 'MACing',
  'mac-verify': 'MAC verification', derive: 'key derivation',
};

const reason = (version: ProtocolVersion, r2x: KmipError['reason'], r1x: KmipError['reason']) => (atLeast(version, 2, 0) ? r2x : r1x);

export const protects = (use: KeyUse): boolean => PROTECTS.has(use);

/** Checks 1-5 of the module comment. `now` in seconds. */
export function checkUse(obj: ManagedObject, use: KeyUse, version: ProtocolVersion, now: number): void {
  if (obj.has('Archive Date')) throw new KmipError(ResultReason.ObjectArchived, `object ${obj.uid} is archived; Recover it first`);
  if (!TYPES[use].includes(obj.objectType)) {
    throw new KmipError(reason(version, ResultReason.InvalidObjectType, ResultReason.PermissionDenied), `this object cannot be used for ${VERB[use]}`);
  }
  const state = obj.has('State') ? obj.state : undefined;
  const protect = PROTECTS.has(use);
  const allowed = protect ? state === State.Active : state === State.Active || state === State.Deactivated || state === State.Compromised;
  if (!allowed) throw lifecycleError(version, `the object's state does not allow ${VERB[use]}`);
  if (protect) {
    const stop = obj.date('Protect Stop Date');
    if (stop !== undefined && stop <= now) throw lifecycleError(version, `the object's Protect Stop Date has passed: no more ${VERB[use]}`);
  } else {
    const start = obj.date('Process Start Date');
    if (start !== undefined && now < start) throw lifecycleError(version, `the object's Process Start Date has not come: no ${VERB[use]} yet`);
  }
  const m = obj.one('Cryptographic Usage Mask');
  const mask = m?.type === ItemType.Integer ? m.value : 0;
  // 2.x Unrestricted: "the Cryptographic Usage Mask contains no usage restrictions" (2.1 §11.1).
  if ((mask & MASK[use]) === 0 && (mask & CryptographicUsageMask.Unrestricted) === 0) {
    throw new KmipError(reason(version, ResultReason.IncompatibleCryptographicUsageMask, ResultReason.PermissionDenied), `the object's Cryptographic Usage Mask does not allow ${VERB[use]}`);
  }
}

/**
 * Takes `bytes` (Usage Limits Unit Byte) or one use (Unit Object) from the object's Usage Limits. Returns true when
 * the object changed (the caller saves it); throws Permission Denied when not enough is left.
 */
export function chargeUsage(obj: ManagedObject, bytes: number, firstPart: boolean): boolean {
  const limits = obj.one('Usage Limits');
  if (limits?.type !== ItemType.Structure) return false;
  const unit = limits.value.find((i) => i.tag === Tag.UsageLimitsUnit);
  const amount = unit?.type === ItemType.Enumeration && unit.value === UsageLimitsUnit.Object ? (firstPart ? 1n : 0n) : BigInt(bytes);
  const countItem = limits.value.find((i) => i.tag === Tag.UsageLimitsCount) ?? limits.value.find((i) => i.tag === Tag.UsageLimitsTotal);
  const left = bigOf(countItem) ?? 0n;
  if (amount > left) throw new KmipError(ResultReason.PermissionDenied, 'the object\'s Usage Limits do not allow this much more use');
  if (amount === 0n) return false;
  const rest: TtlvItem[] = limits.value.filter((i) => i.tag !== Tag.UsageLimitsCount);
  const at = rest.findIndex((i) => i.tag === Tag.UsageLimitsTotal);
  rest.splice(at < 0 ? 0 : at + 1, 0, long(Tag.UsageLimitsCount, left - amount));
  obj.set('Usage Limits', struct(Tag.AttributeValue, rest));
  return true;
}

function bigOf(i: TtlvItem | undefined): bigint | undefined {
  if (i?.type === ItemType.LongInteger || i?.type === ItemType.BigInteger) return i.value;
  if (i?.type === ItemType.Integer) return BigInt(i.value);
  return undefined;
}

function keyBlockOf(obj: ManagedObject): StructureItem {
  const body = obj.body;
  if (!body) throw new KmipError(ResultReason.KeyValueNotPresent, 'the object has no key material');
  const block = body.value.find((i) => i.tag === Tag.KeyBlock);
  if (block?.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'the object has no Key Block');
  if (isWrapped(block)) throw new KmipError(ResultReason.FeatureNotSupported, 'the key is stored wrapped: the server cannot use it');
  return block;
}

/** The key's Cryptographic Algorithm: the attribute, else the Key Block's. */
export function keyAlgorithm(obj: ManagedObject): number | undefined {
  const a = obj.one('Cryptographic Algorithm');
  if (a?.type === ItemType.Enumeration) return a.value;
  const block = obj.body?.value.find((i) => i.tag === Tag.KeyBlock);
  const b = block?.type === ItemType.Structure ? block.value.find((i) => i.tag === Tag.CryptographicAlgorithm) : undefined;
  return b?.type === ItemType.Enumeration ? b.value : undefined;
}

/** The bytes inside the object (not a copy: callers must not change them). */
function secretBytes(obj: ManagedObject): Uint8Array {
  const block = keyBlockOf(obj);
  const m = materialOf(block);
  if (m?.type === ItemType.ByteString) return m.value;
  if (m?.type === ItemType.Structure && formatOf(block) === KeyFormatType.TransparentSymmetricKey) {
    const k = m.value.find((i) => i.tag === Tag.Key);
    if (k?.type === ItemType.ByteString) return k.value;
  }
  throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'the key material is in a format the server cannot use');
}

/** Raw bytes of a Symmetric Key or Secret Data (Raw, Opaque or Transparent Symmetric Key format), as a copy. */
export function secretMaterial(obj: ManagedObject): Buffer {
  return Buffer.from(secretBytes(obj));
}

/**
 * The material as a node KeyObject, made once per stored state of the object rather than per request: objects stay
 * decoded in the object cache between requests (objects/object-cache.ts), and every copy handed out carries that
 * decoding as `decodedFrom`. Held weakly by it, so the KeyObject goes when the cache lets the decoding go (a write,
 * an eviction, a scope deletion). The bytes are compared on every use, so a copy whose material was changed or
 * wiped in place never gets the old key.
 */
const SECRET_KEYS = new WeakMap<object, { bytes: Buffer; key: KeyObject }>();
export function secretKeyObject(obj: ManagedObject): KeyObject {
  const bytes = secretBytes(obj);
  const token = obj.decodedFrom;
  const hit = token && SECRET_KEYS.get(token);
  if (hit && hit.bytes.equals(bytes)) return hit.key;
  const key = createSecretKey(bytes);
  if (token) SECRET_KEYS.set(token, { bytes: Buffer.from(bytes), key });
  return key;
}

/** A node KeyObject for an asymmetric object: `private` from a Private Key, `public` from any of the three kinds. */
export function asymmetricKey(obj: ManagedObject, want: 'private' | 'public', version: ProtocolVersion): KeyObject {
  try {
    if (obj.objectType === ObjectType.Certificate) {
      if (want === 'private') throw new KmipError(reason(version, ResultReason.InvalidObjectType, ResultReason.PermissionDenied), 'a certificate holds no private key');
      const v = obj.body?.value.find((i) => i.tag === Tag.CertificateValue);
      if (v?.type !== ItemType.ByteString) throw new KmipError(ResultReason.KeyValueNotPresent, 'the certificate has no value');
      return new X509Certificate(Buffer.from(v.value)).publicKey;
    }
    const block = keyBlockOf(obj);
    const format = formatOf(block);
    const m = materialOf(block);
    if (format === undefined || !m) throw new KmipError(ResultReason.KeyValueNotPresent, 'the object has no key material');
    if (obj.objectType === ObjectType.PrivateKey) {
      const k = privateKeyFrom(format, m);
      return want === 'private' ? k : createPublicKey(k);
    }
    if (want === 'private') throw new KmipError(reason(version, ResultReason.InvalidObjectType, ResultReason.PermissionDenied), 'a public key cannot do this');
    return publicKeyFrom(format, m);
  } catch (err) {
    if (err instanceof KmipError) throw err;
    if (err instanceof KeyMaterialError) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, err.message);
    throw new KmipError(ResultReason.CryptographicFailure, 'the key could not be read');
  }
}

/** A CryptoError or ParamsError as the KMIP error of the request's version (other errors pass through). */
export function kmipError(err: unknown, version: ProtocolVersion): unknown {
  const v2 = atLeast(version, 2, 0);
  if (err instanceof ParamsError) return new KmipError(v2 ? ResultReason.BadCryptographicParameters : ResultReason.InvalidField, err.message);
  if (!(err instanceof CryptoError)) return err;
  switch (err.kind) {
    case 'unsupported': return new KmipError(v2 ? ResultReason.UnsupportedCryptographicParameters : ResultReason.FeatureNotSupported, err.message);
    case 'bad-params': return new KmipError(v2 ? ResultReason.BadCryptographicParameters : ResultReason.InvalidField, err.message);
    // The vectors (CS-BC-M-GCM-1, CHACHA20POLY1305-1) expect General Failure at 1.4 and 2.1 alike.
    case 'tag-length': return new KmipError(ResultReason.GeneralFailure, err.message);
    // The vectors (CS-BC-M-11..13 at 1.2-2.1) expect Invalid Message, not 2.x's Missing Initialization Vector.
    case 'missing-iv': return new KmipError(ResultReason.InvalidMessage, err.message);
    case 'bad-key': return new KmipError(v2 ? ResultReason.InvalidObjectType : ResultReason.PermissionDenied, err.message);
    case 'failure': return new KmipError(ResultReason.CryptographicFailure, err.message);
  }
}

/** Runs `f`, turning crypto errors into KMIP ones. */
export async function kmipErrors<T>(version: ProtocolVersion, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw kmipError(err, version);
  }
}

/**
 * The Cryptographic Parameters of a request, else the object's first Cryptographic Parameters attribute (the
 * lowest Attribute Index, 1.4 §4.29), else none. A request's own structure is used whole, even when empty.
 */
export function paramsFor(payload: StructureItem, obj: ManagedObject | undefined): CryptoParams {
  const given = payload.value.find((i) => i.tag === Tag.CryptographicParameters);
  if (given) {
    if (given.type !== ItemType.Structure) throw new KmipError(ResultReason.InvalidField, 'Cryptographic Parameters is not a structure');
    return parseParams(given);
  }
  return parseParams(obj ? firstParams(obj.all('Cryptographic Parameters')) : undefined);
}
