/**
 * PKCS#12 (RFC 7292) containers: a private key with its certificate chain, protected by a password, the way
 * OpenSSL 3 writes them by default:
 *
 *   PFX { version 3, authSafe Data { AuthenticatedSafe [
 *           EncryptedData (PBES2) { SafeContents [ CertBag (leaf, friendlyName + localKeyId), CertBag (chain)... ] },
 *           Data { SafeContents [ PKCS8ShroudedKeyBag (PBES2, friendlyName + localKeyId) ] } ] },
 *         macData { HMAC-SHA256, key from the PKCS#12 KDF (RFC 7292 Appendix B), salt, iterations } }
 *
 * PBES2 is PBKDF2-HMAC-SHA256 with AES-256-CBC; localKeyId is the SHA-1 of the leaf certificate, as OpenSSL
 * sets it. Two front ends: encodePfx (a KeyObject and DER certificates) and buildPfx (PEM, for the operator's
 * credential Secrets). pkcs12KeyBlock is Get's Key Format Type PKCS#12 (KMIP 1.4 §4.11, 2.1 §6.1.19): the
 * private key, the chain its PKCS#12 Certificate Links name, the password of its PKCS#12 Password Link.
 *
 * Errors never carry key material or passwords.
 */
import { X509Certificate, createCipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, randomBytes, type KeyObject } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CertificateType, KeyFormatType, LinkType, ObjectType, ResultReason, SecretDataType, State } from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { KmipError } from '../messages/errors.ts';
import { optBytes, optEnum, optStruct, optText } from '../messages/tree.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { DER, concat, context, explicit, integer, octetString, oid, sequence, tlv, derNull } from './der.ts';
import { formatOf, isWrapped, materialOf } from './key-block.ts';
import { KeyMaterialError, privateKeyFrom } from './keys.ts';

export class Pkcs12Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pkcs12Error';
  }
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** OpenSSL's PKCS12_DEFAULT_ITER, for both the encryption and the MAC. */
export const DEFAULT_ITERATIONS = 2048;
const MAX_ITERATIONS = 10_000_000;

export interface PfxOptions {
  /** The private key. */
  key: KeyObject;
  /**
   * DER certificates: the one holding the key's public key is the leaf and goes first; the others follow in the
   * order given (issuer chain order, leaf to root). Duplicates are dropped. May be empty (a key-only container).
   */
  certificates: readonly Uint8Array[];
  /** The password: a string (UTF-8) or its bytes. */
  password: string | Uint8Array;
  /** The friendlyName (alias) of the key and the leaf certificate; none when absent. */
  friendlyName?: string;
  /** PBKDF2 and MAC iteration count; default 2048 (OpenSSL's). */
  iterations?: number;
  /** Encrypt the certificate bag as OpenSSL 3 does (default true); false leaves the certificates readable. */
  encryptCertificates?: boolean;
}

// ---- the PKCS#12 key derivation function (RFC 7292 Appendix B.2) ----

/** The diversifier ID of RFC 7292 B.3. */
export const Pkcs12KdfId = { Key: 1, Iv: 2, Mac: 3 } as const;

const HASH_SIZES: Readonly<Record<string, { u: number; v: number }>> = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/**
 * RFC 7292 B.2. `password` is already formatted (B.1: a BMPString with two trailing zero bytes; see
 * bmpPassword). Returns `n` bytes.
 */
export function pkcs12Kdf(hash: 'sha1' | 'sha256' | 'sha384' | 'sha512', password: Uint8Array, salt: Uint8Array, id: number, iterations: number, n: number): Buffer {
  const sizes = HASH_SIZES[hash];
  if (!sizes) throw new Pkcs12Error('unsupported PKCS#12 KDF hash');
  if (!Number.isInteger(iterations) || iterations < 1) throw new Pkcs12Error('the iteration count must be a positive integer');
  const { u, v } = sizes;
  const fill = (src: Uint8Array): Buffer => {
    const len = src.length === 0 ? 0 : v * Math.ceil(src.length / v);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const c = Math.ceil(n / u);
  const out: Buffer[] = [];
  for (let i = 0; i < c; i++) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash).update(A).digest();
    out.push(A);
    if (i === c - 1) break;
    // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
    const B = fill(A).subarray(0, v);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const s = I[j + k]! + B[k]! + carry;
        I[j + k] = s & 0xff;
        carry = s >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

/**
 * A password as the PKCS#12 KDF takes it (RFC 7292 B.1): UTF-16BE with a two-byte zero terminator. Bytes that
 * are not UTF-8 are taken one byte per character, as OpenSSL falls back to.
 */
export function bmpPassword(password: string | Uint8Array): Buffer {
  let s: string;
  if (typeof password === 'string') s = password;
  else {
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(password);
    } catch {
      s = Buffer.from(password).toString('latin1');
    }
  }
  const le = Buffer.from(`${s}\u0000`, 'utf16le');
  return le.swap16();
}

const passwordBytes = (p: string | Uint8Array): Buffer => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p));

// ---- DER pieces ----

const bmpString = (s: string): Uint8Array => tlv(DER.BMP_STRING, Buffer.from(s, 'utf16le').swap16());

/** DER SET OF: the encodings in ascending order (X.690 §11.6). */
function setOf(items: readonly Uint8Array[]): Uint8Array {
  const cmp = (a: Uint8Array, b: Uint8Array): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  return tlv(DER.SET, concat([...items].sort(cmp)));
}

const contentInfo = (type: string, content: Uint8Array): Uint8Array => sequence(oid(type), explicit(0, content));

/** PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC): the AlgorithmIdentifier and the ciphertext. */
function pbes2Encrypt(plaintext: Uint8Array, password: Buffer, iterations: number): { algorithm: Uint8Array; ciphertext: Uint8Array } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  try {
    const c = createCipheriv('aes-256-cbc', key, iv);
    const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
    const algorithm = sequence(
      oid(OID.pbes2),
      sequence(
        sequence(oid(OID.pbkdf2), sequence(octetString(salt), integer(BigInt(iterations)), sequence(oid(OID.hmacWithSHA256), derNull()))),
        sequence(oid(OID.aes256Cbc), octetString(iv)),
      ),
    );
    return { algorithm, ciphertext };
  } finally {
    key.fill(0);
  }
}

function bagAttributes(friendlyName: string | undefined, localKeyId: Uint8Array | undefined): Uint8Array[] {
  const attrs: Uint8Array[] = [];
  if (friendlyName !== undefined) attrs.push(sequence(oid(OID.friendlyName), setOf([bmpString(friendlyName)])));
  if (localKeyId !== undefined) attrs.push(sequence(oid(OID.localKeyId), setOf([octetString(localKeyId)])));
  return attrs.length === 0 ? [] : [setOf(attrs)];
}

const certBag = (der: Uint8Array, attrs: Uint8Array[]): Uint8Array =>
  sequence(oid(OID.certBag), explicit(0, sequence(oid(OID.x509Certificate), explicit(0, octetString(der)))), ...attrs);

// ---- the container ----

/** An RFC 7292 PFX (DER) holding the key and its certificates; see the file comment for the layout. */
export function encodePfx(opts: PfxOptions): Buffer {
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new Pkcs12Error('the iteration count is out of range');
  if (opts.key.type !== 'private') throw new Pkcs12Error('a PKCS#12 container needs a private key');

  // The certificates: parsed (each must be X.509), duplicates dropped, the one holding the key's public key first.
  const certs: X509Certificate[] = [];
  const seen = new Set<string>();
  for (const der of opts.certificates) {
    let c: X509Certificate;
    try {
      c = new X509Certificate(Buffer.from(der));
    } catch {
      throw new Pkcs12Error('a certificate is not a valid X.509 certificate');
    }
    const fp = c.fingerprint256;
    if (seen.has(fp)) continue;
    seen.add(fp);
    certs.push(c);
  }
  let leafIndex = -1;
  if (certs.length > 0) {
    leafIndex = certs.findIndex((c) => holdsKey(c, opts.key));
    if (leafIndex < 0) throw new Pkcs12Error('no certificate holds the private key\'s public key');
    certs.unshift(...certs.splice(leafIndex, 1));
  }
  const leaf = certs[0];
  const localKeyId = leaf ? createHash('sha1').update(leaf.raw).digest() : undefined;

  const password = passwordBytes(opts.password);
  const bmp = bmpPassword(opts.password);
  try {
    const safes: Uint8Array[] = [];
    if (certs.length > 0) {
      const bags = certs.map((c, i) => certBag(c.raw, i === 0 ? bagAttributes(opts.friendlyName, localKeyId) : []));
      const safeContents = sequence(...bags);
      if (opts.encryptCertificates === false) {
        safes.push(contentInfo(OID.data, octetString(safeContents)));
      } else {
        const { algorithm, ciphertext } = pbes2Encrypt(safeContents, password, iterations);
        // EncryptedData { version 0, EncryptedContentInfo { data, algorithm, [0] IMPLICIT encryptedContent } }
        const encrypted = sequence(integer(0n), sequence(oid(OID.data), algorithm, tlv(context(0, false), ciphertext)));
        safes.push(contentInfo(OID.encryptedData, encrypted));
      }
    }
    const pkcs8 = opts.key.export({ format: 'der', type: 'pkcs8' });
    let shrouded: Uint8Array;
    try {
      const { algorithm, ciphertext } = pbes2Encrypt(pkcs8, password, iterations);
      shrouded = sequence(algorithm, octetString(ciphertext)); // EncryptedPrivateKeyInfo
    } finally {
      pkcs8.fill(0);
    }
    const keyBag = sequence(oid(OID.pkcs8ShroudedKeyBag), explicit(0, shrouded), ...bagAttributes(opts.friendlyName, localKeyId));
    safes.push(contentInfo(OID.data, octetString(sequence(keyBag))));

    const authSafe = sequence(...safes);
    const macSalt = randomBytes(8);
    const macKey = pkcs12Kdf('sha256', bmp, macSalt, Pkcs12KdfId.Mac, iterations, 32);
    let mac: Buffer;
    try {
      mac = createHmac('sha256', macKey).update(authSafe).digest();
    } finally {
      macKey.fill(0);
    }
    const macData = sequence(sequence(sequence(oid(OID.sha256), derNull()), octetString(mac)), octetString(macSalt), integer(BigInt(iterations)));
    return Buffer.from(sequence(integer(3n), contentInfo(OID.data, octetString(authSafe)), macData));
  } finally {
    password.fill(0);
    bmp.fill(0);
  }
}

function holdsKey(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false; // a key type the certificate cannot hold
  }
}

export interface BuildPfxOptions {
  /** The private key in PEM (PKCS#8, PKCS#1 or SEC1), unencrypted. */
  privateKeyPem: string;
  /** The certificate chain in PEM: one string with several blocks, or one block per entry. Leaf first or not. */
  certificatesPem: string | readonly string[];
  password: string;
  /** The alias under which the key and its certificate appear. */
  friendlyName?: string;
  iterations?: number;
  /** See PfxOptions.encryptCertificates (default true, as OpenSSL 3). */
  encryptCertificates?: boolean;
}

/** A PKCS#12 (.p12) from PEM, e.g. for a keystore.p12 in a credential Secret. */
export function buildPfx(opts: BuildPfxOptions): Buffer {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: opts.privateKeyPem, format: 'pem' });
  } catch {
    throw new Pkcs12Error('the private key is not a readable unencrypted PEM private key');
  }
  const pems = typeof opts.certificatesPem === 'string' ? [opts.certificatesPem] : opts.certificatesPem;
  const certificates: Uint8Array[] = [];
  for (const pem of pems) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    for (const b of blocks) {
      try {
        certificates.push(new X509Certificate(b).raw);
      } catch {
        throw new Pkcs12Error('a PEM certificate is not a valid X.509 certificate');
      }
    }
  }
  const o: PfxOptions = { key, certificates, password: opts.password };
  if (opts.friendlyName !== undefined) o.friendlyName = opts.friendlyName;
  if (opts.iterations !== undefined) o.iterations = opts.iterations;
  if (opts.encryptCertificates !== undefined) o.encryptCertificates = opts.encryptCertificates;
  return encodePfx(o);
}

// ---- KMIP: Get with Key Format Type PKCS#12 ----

/** Loads a managed object of the caller's scope, undefined when there is none. */
export type ObjectLoader = (uid: string) => Promise<ManagedObject | undefined>;

/** The default alias when the key has no PKCS#12 Friendly Name (1.4 §3.45, 2.1 §4.39). */
export const DEFAULT_FRIENDLY_NAME = 'alias';
const MAX_CHAIN = 16;

function linkedUids(obj: ManagedObject, ...types: number[]): string[] {
  const out: string[] = [];
  for (const v of obj.all('Link')) {
    if (v.type !== ItemType.Structure) continue;
    const t = optEnum(v, Tag.LinkType);
    const id = optText(v, Tag.LinkedObjectIdentifier);
    if (t !== undefined && id !== undefined && types.includes(t) && !out.includes(id)) out.push(id);
  }
  return out;
}

/**
 * The Key Block of a Private Key returned as PKCS#12: Key Format Type PKCS#12 and the PFX as a Byte String Key
 * Value (what the 1.4 test case TC-PKCS12-1-14 shows), with the key's algorithm and length.
 *
 * - Password: the Secret Data (type Password, Active) the key's one PKCS#12 Password Link names. A missing,
 *   repeated or unusable link is Bad Password in 2.x (2.1 §11.46); in 1.x it is Invalid Field, as Register's
 *   table has it, except that a key with no such link at all cannot be had as PKCS#12 (Key Format Type Not
 *   Supported).
 * - Chain: the certificate the key's PKCS#12 Certificate Link names (or, failing that, its public key's
 *   PKCS#12 Certificate Link / Certificate Link, 1.4 §4.11), then each certificate's parent by its PKCS#12
 *   Certificate Link or Certificate Link, up to a self-signed or unlinked one. Destroyed or missing links are
 *   passed over; two candidates at one step are two chains, an error.
 */
export async function pkcs12KeyBlock(key: ManagedObject, load: ObjectLoader, version: ProtocolVersion): Promise<StructureItem> {
  const v2 = atLeast(version, 2, 0);
  const badPassword = (message: string): KmipError => new KmipError(v2 ? ResultReason.BadPassword : ResultReason.InvalidField, message);
  const block = key.body ? optStruct(key.body, Tag.KeyBlock) : undefined;
  if (key.objectType !== ObjectType.PrivateKey || !block) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'only private keys are returned as PKCS#12');
  if (isWrapped(block)) throw new KmipError(ResultReason.FeatureNotSupported, 'the key is stored wrapped; ask for Key Wrap Type As Registered');

  // The password.
  const passwordLinks = linkedUids(key, LinkType.PKCS_12PasswordLink);
  if (passwordLinks.length === 0) {
    throw new KmipError(v2 ? ResultReason.BadPassword : ResultReason.KeyFormatTypeNotSupported, 'PKCS#12 needs a PKCS#12 Password Link on the private key');
  }
  if (passwordLinks.length > 1) throw badPassword('the private key has more than one PKCS#12 Password Link');
  const secret = await load(passwordLinks[0]!);
  if (!secret?.body || secret.objectType !== ObjectType.SecretData) throw badPassword('the PKCS#12 Password Link does not name a Secret Data object');
  if (optEnum(secret.body, Tag.SecretDataType) !== SecretDataType.Password) throw badPassword('the PKCS#12 Password Link names Secret Data that is not a Password');
  if (secret.state !== State.Active) throw badPassword('the PKCS#12 password is not Active');
  const secretBlock = optStruct(secret.body, Tag.KeyBlock);
  const secretMaterial = secretBlock && !isWrapped(secretBlock) ? materialOf(secretBlock) : undefined;
  if (secretMaterial?.type !== ItemType.ByteString) throw badPassword('the PKCS#12 password has no usable value');

  // The key.
  const format = formatOf(block);
  const material = materialOf(block);
  if (format === undefined || !material) throw new KmipError(ResultReason.KeyValueNotPresent, 'the object has no key value on this server');
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFrom(format, material);
  } catch (err) {
    if (err instanceof KeyMaterialError) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this key cannot be returned as PKCS#12');
    throw err;
  }

  // The chain.
  const chain = await certificateChain(key, privateKey, load);

  const friendly = key.one('PKCS#12 Friendly Name');
  let pfx: Buffer;
  try {
    pfx = encodePfx({
      key: privateKey,
      certificates: chain,
      password: secretMaterial.value,
      friendlyName: friendly?.type === ItemType.TextString ? friendly.value : DEFAULT_FRIENDLY_NAME,
    });
  } catch (err) {
    if (err instanceof Pkcs12Error) throw new KmipError(ResultReason.InvalidField, `cannot build the PKCS#12 container: ${err.message}`);
    throw err;
  }
  const out: TtlvItem[] = [enumeration(Tag.KeyFormatType, KeyFormatType.PKCS_12), bytes(Tag.KeyValue, pfx)];
  for (const i of block.value) if (i.tag === Tag.CryptographicAlgorithm || i.tag === Tag.CryptographicLength) out.push(i);
  return struct(Tag.KeyBlock, out);
}

/** DER of a Certificate object's X.509 value, or an Invalid Field error naming the object. */
function certificateDer(obj: ManagedObject): Uint8Array {
  const body = obj.body;
  if (obj.objectType !== ObjectType.Certificate || !body) throw new KmipError(ResultReason.InvalidField, `object ${obj.uid} in the certificate chain is not a certificate`);
  const der = optBytes(body, Tag.CertificateValue);
  if (optEnum(body, Tag.CertificateType) !== CertificateType.X_509 || !der) throw new KmipError(ResultReason.InvalidField, `certificate ${obj.uid} is not an X.509 certificate`);
  return der;
}

async function certificateChain(key: ManagedObject, privateKey: KeyObject, load: ObjectLoader): Promise<Uint8Array[]> {
  const present = async (uids: readonly string[]): Promise<ManagedObject[]> => {
    const out: ManagedObject[] = [];
    for (const u of uids) {
      const o = await load(u);
      if (o?.body && !out.some((x) => x.uid === o.uid)) out.push(o);
    }
    return out;
  };

  let base = await present(linkedUids(key, LinkType.PKCS_12CertificateLink));
  if (base.length === 0) {
    for (const pub of await present(linkedUids(key, LinkType.PublicKeyLink))) {
      base.push(...(await present(linkedUids(pub, LinkType.PKCS_12CertificateLink, LinkType.CertificateLink))));
    }
  }
  if (base.length === 0) return [];
  if (base.length > 1) {
    // Several links: the certificates for this key (a public key may have several), one of them.
    base = base.filter((c) => {
      try {
        return new X509Certificate(Buffer.from(certificateDer(c))).checkPrivateKey(privateKey);
      } catch {
        return false;
      }
    });
    if (base.length !== 1) throw new KmipError(ResultReason.InvalidField, 'the private key has more than one certificate chain');
  }

  const chain: Uint8Array[] = [];
  const visited = new Set<string>();
  let cert: ManagedObject | undefined = base[0];
  while (cert && !visited.has(cert.uid)) {
    if (chain.length >= MAX_CHAIN) throw new KmipError(ResultReason.InvalidField, 'the certificate chain is too long');
    visited.add(cert.uid);
    chain.push(certificateDer(cert));
    const parents = (await present(linkedUids(cert, LinkType.PKCS_12CertificateLink, LinkType.CertificateLink))).filter((p) => p.uid !== cert!.uid);
    if (parents.length > 1) throw new KmipError(ResultReason.InvalidField, `certificate ${cert.uid} links to more than one issuer certificate`);
    cert = parents[0];
  }
  return chain;
}
