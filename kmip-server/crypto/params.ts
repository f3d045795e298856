/**
 * Cryptographic Parameters (1.4 §3.6, 2.1 §4.16) as the cryptographic operations read them, and the hash
 * algorithms KMIP names, mapped onto node:crypto. Pure: no key material passes through here.
 */
import { getHashes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, DigitalSignatureAlgorithm, HashingAlgorithm } from '../ttlv/enums.ts';
import { ItemType, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { derNull, octetString, oid, sequence } from './der.ts';

export interface CryptoParams {
  blockCipherMode?: number;
  paddingMethod?: number;
  hashingAlgorithm?: number;
  keyRoleType?: number;
  digitalSignatureAlgorithm?: number;
  cryptographicAlgorithm?: number;
  randomIv?: boolean;
  /** Bits. */
  ivLength?: number;
  /** Bytes. */
  tagLength?: number;
  fixedFieldLength?: number;
  invocationFieldLength?: number;
  /** Bits. */
  counterLength?: number;
  initialCounterValue?: number;
  /** Bytes. */
  saltLength?: number;
  maskGenerator?: number;
  maskGeneratorHashingAlgorithm?: number;
  pSource?: Uint8Array;
  trailerField?: number;
}

/** A field of the structure had the wrong item type. The message names the field only. */
export class ParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamsError';
  }
}

type Field = [key: keyof CryptoParams, tag: number, type: number, name: string];

const FIELDS: readonly Field[] = [
  ['blockCipherMode', Tag.BlockCipherMode, ItemType.Enumeration, 'Block Cipher Mode'],
  ['paddingMethod', Tag.PaddingMethod, ItemType.Enumeration, 'Padding Method'],
  ['hashingAlgorithm', Tag.HashingAlgorithm, ItemType.Enumeration, 'Hashing Algorithm'],
  ['keyRoleType', Tag.KeyRoleType, ItemType.Enumeration, 'Key Role Type'],
  ['digitalSignatureAlgorithm', Tag.DigitalSignatureAlgorithm, ItemType.Enumeration, 'Digital Signature Algorithm'],
  ['cryptographicAlgorithm', Tag.CryptographicAlgorithm, ItemType.Enumeration, 'Cryptographic Algorithm'],
  ['randomIv', Tag.RandomIV, ItemType.Boolean, 'Random IV'],
  ['ivLength', Tag.IVLength, ItemType.Integer, 'IV Length'],
  ['tagLength', Tag.TagLength, ItemType.Integer, 'Tag Length'],
  ['fixedFieldLength', Tag.FixedFieldLength, ItemType.Integer, 'Fixed Field Length'],
  ['invocationFieldLength', Tag.InvocationFieldLength, ItemType.Integer, 'Invocation Field Length'],
  ['counterLength', Tag.CounterLength, ItemType.Integer, 'Counter Length'],
  ['initialCounterValue', Tag.InitialCounterValue, ItemType.Integer, 'Initial Counter Value'],
  ['saltLength', Tag.SaltLength, ItemType.Integer, 'Salt Length'],
  ['maskGenerator', Tag.MaskGenerator, ItemType.Enumeration, 'Mask Generator'],
  ['maskGeneratorHashingAlgorithm', Tag.MaskGeneratorHashingAlgorithm, ItemType.Enumeration, 'Mask Generator Hashing Algorithm'],
  ['pSource', Tag.PSource, ItemType.ByteString, 'P Source'],
  ['trailerField', Tag.TrailerField, ItemType.Integer, 'Trailer Field'],
];

/** Reads a Cryptographic Parameters structure (a request field or an Attribute Value); unknown fields are ignored. */
export function parseParams(s: StructureItem | undefined): CryptoParams {
  const out: Record<string, unknown> = {};
  if (!s) return out as CryptoParams;
  for (const [key, tag, type, name] of FIELDS) {
    const item = s.value.find((i) => i.tag === tag);
    if (!item) continue;
    if (item.type !== type) throw new ParamsError(`${name} in Cryptographic Parameters has the wrong item type`);
    out[key] = item.value;
  }
  return out as CryptoParams;
}

/** The first Cryptographic Parameters of a list of attribute values (the lowest Attribute Index). */
export function firstParams(values: readonly TtlvItem[]): StructureItem | undefined {
  const v = values[0];
  return v?.type === ItemType.Structure ? v : undefined;
}

// ---- hashes ----

interface HashInfo {
  node: string;
  bytes: number;
  /** DER of the AlgorithmIdentifier's OID, for PKCS#1 v1.5 DigestInfo. */
  oid?: string;
}

const HASHES: ReadonlyMap<number, HashInfo> = new Map<number, HashInfo>([
  [HashingAlgorithm.MD5, { node: 'md5', bytes: 16, oid: '1.2.840.113549.2.5' }],
  [HashingAlgorithm.SHA_1, { node: 'sha1', bytes: 20, oid: '1.3.14.3.2.26' }],
  [HashingAlgorithm.SHA_224, { node: 'sha224', bytes: 28, oid: '2.16.840.1.101.3.4.2.4' }],
  [HashingAlgorithm.SHA_256, { node: 'sha256', bytes: 32, oid: '2.16.840.1.101.3.4.2.1' }],
  [HashingAlgorithm.SHA_384, { node: 'sha384', bytes: 48, oid: '2.16.840.1.101.3.4.2.2' }],
  [HashingAlgorithm.SHA_512, { node: 'sha512', bytes: 64, oid: '2.16.840.1.101.3.4.2.3' }],
  [HashingAlgorithm.RIPEMD_160, { node: 'ripemd160', bytes: 20, oid: '1.3.36.3.2.1' }],
  [HashingAlgorithm.SHA_512_224, { node: 'sha512-224', bytes: 28, oid: '2.16.840.1.101.3.4.2.5' }],
  [HashingAlgorithm.SHA_512_256, { node: 'sha512-256', bytes: 32, oid: '2.16.840.1.101.3.4.2.6' }],
  [HashingAlgorithm.SHA3_224, { node: 'sha3-224', bytes: 28, oid: '2.16.840.1.101.3.4.2.7' }],
  [HashingAlgorithm.SHA3_256, { node: 'sha3-256', bytes: 32, oid: '2.16.840.1.101.3.4.2.8' }],
  [HashingAlgorithm.SHA3_384, { node: 'sha3-384', bytes: 48, oid: '2.16.840.1.101.3.4.2.9' }],
  [HashingAlgorithm.SHA3_512, { node: 'sha3-512', bytes: 64, oid: '2.16.840.1.101.3.4.2.10' }],
]);

let available: ReadonlySet<string> | undefined;
const nodeHas = (name: string): boolean => (available ??= new Set(getHashes().map((h) => h.toLowerCase()))).has(name);

/** node's name for a KMIP Hashing Algorithm, or undefined when this server (its OpenSSL) cannot compute it. */
export function hashName(alg: number): string | undefined {
  const h = HASHES.get(alg);
  return h && nodeHas(h.node) ? h.node : undefined;
}

/** Output length in bytes of a supported Hashing Algorithm. */
export function hashBytes(alg: number): number | undefined {
  return hashName(alg) === undefined ? undefined : HASHES.get(alg)!.bytes;
}

/** The Hashing Algorithm a Cryptographic Algorithm names: HMAC_SHAx, SHA3_x (2.x Hash and MAC requests may use these). */
export function hashOfAlgorithm(alg: number | undefined): number | undefined {
  switch (alg) {
    case CryptographicAlgorithm.HMAC_SHA1: return HashingAlgorithm.SHA_1;
    case CryptographicAlgorithm.HMAC_SHA224: return HashingAlgorithm.SHA_224;
    case CryptographicAlgorithm.HMAC_SHA256: return HashingAlgorithm.SHA_256;
    case CryptographicAlgorithm.HMAC_SHA384: return HashingAlgorithm.SHA_384;
    case CryptographicAlgorithm.HMAC_SHA512: return HashingAlgorithm.SHA_512;
    case CryptographicAlgorithm.HMAC_MD5: return HashingAlgorithm.MD5;
    case CryptographicAlgorithm.HMAC_SHA3_224:
    case CryptographicAlgorithm.SHA3_224: return HashingAlgorithm.SHA3_224;
    case CryptographicAlgorithm.HMAC_SHA3_256:
    case CryptographicAlgorithm.SHA3_256: return HashingAlgorithm.SHA3_256;
    case CryptographicAlgorithm.HMAC_SHA3_384:
    case CryptographicAlgorithm.SHA3_384: return HashingAlgorithm.SHA3_384;
    case CryptographicAlgorithm.HMAC_SHA3_512:
    case CryptographicAlgorithm.SHA3_512: return HashingAlgorithm.SHA3_512;
    default: return undefined;
  }
}

export const isHmacAlgorithm = (alg: number | undefined): boolean =>
  alg !== undefined && alg !== CryptographicAlgorithm.SHA3_224 && alg !== CryptographicAlgorithm.SHA3_256 &&
  alg !== CryptographicAlgorithm.SHA3_384 && alg !== CryptographicAlgorithm.SHA3_512 && hashOfAlgorithm(alg) !== undefined;

/** PKCS#1 v1.5 DigestInfo { AlgorithmIdentifier { oid, NULL }, OCTET STRING digest } (RFC 8017 §9.2). */
export function digestInfo(alg: number, digest: Uint8Array): Uint8Array {
  const h = HASHES.get(alg);
  if (!h?.oid) throw new ParamsError('no DigestInfo for this Hashing Algorithm');
  return sequence(sequence(oid(h.oid), derNull()), octetString(digest));
}


// ---- signature algorithms ----

/** What a Digital Signature Algorithm enumeration names: the key family, PSS or not, and the hash (PSS takes its hash from Hashing Algorithm). */
export interface DsaParts {
  family: 'rsa' | 'ecdsa' | 'dsa';
  pss?: boolean;
  hash?: number;
}

export function digitalSignatureParts(dsa: number): DsaParts | undefined {
  const D = DigitalSignatureAlgorithm;
  const H = HashingAlgorithm;
  const rsa = (hash: number): DsaParts => ({ family: 'rsa', hash });
  switch (dsa) {
    case D.MD5WithRSAEncryption: return rsa(H.MD5);
    case D.SHA_1WithRSAEncryption: return rsa(H.SHA_1);
    case D.SHA_224WithRSAEncryption: return rsa(H.SHA_224);
    case D.SHA_256WithRSAEncryption: return rsa(H.SHA_256);
    case D.SHA_384WithRSAEncryption: return rsa(H.SHA_384);
    case D.SHA_512WithRSAEncryption: return rsa(H.SHA_512);
    case D.SHA3_256WithRSAEncryption: return rsa(H.SHA3_256);
    case D.SHA3_384WithRSAEncryption: return rsa(H.SHA3_384);
    case D.SHA3_512WithRSAEncryption: return rsa(H.SHA3_512);
    case D.RSASSA_PSS: return { family: 'rsa', pss: true };
    case D.DSAWithSHA_1: return { family: 'dsa', hash: H.SHA_1 };
    case D.DSAWithSHA224: return { family: 'dsa', hash: H.SHA_224 };
    case D.DSAWithSHA256: return { family: 'dsa', hash: H.SHA_256 };
    case D.ECDSAWithSHA_1: return { family: 'ecdsa', hash: H.SHA_1 };
    case D.ECDSAWithSHA224: return { family: 'ecdsa', hash: H.SHA_224 };
    case D.ECDSAWithSHA256: return { family: 'ecdsa', hash: H.SHA_256 };
    case D.ECDSAWithSHA384: return { family: 'ecdsa', hash: H.SHA_384 };
    case D.ECDSAWithSHA512: return { family: 'ecdsa', hash: H.SHA_512 };
    default: return undefined;
  }
}
