/**
 * RSA-OAEP ciphertexts checked by decryption: the one place where the conformance run accepts an answer that is
 * not the recorded bytes.
 *
 * RSAES-OAEP encryption is randomized (RFC 8017 §7.1.1: a fresh random seed per message), so the ciphertext an
 * Encrypt vector recorded (CS-AC-M-OAEP-1, -3, -5, -7, -9) can never come back from another run, of any server. What
 * the vector does prove is that its ciphertext decrypts, under the key pair's private key, to the Data the request
 * sent: the even-numbered sibling files register that private key and decrypt exactly those recorded ciphertexts.
 * So for an Encrypt under an RSA public key whose Cryptographic Parameters say OAEP, the runner decrypts the server's
 * ciphertext with that private key and compares the result with the request's Data; any other Encrypt answer (a
 * symmetric key, RSA PKCS#1 v1.5, a key this file or its family does not pair with a private key) is compared byte
 * for byte as before.
 *
 * Where the private key comes from: a Register of a Private Key, in this file or in a file of the same family in the
 * same folder, whose public half is exactly the registered public key. The OAEP parameters are those of the request
 * when it carries Cryptographic Parameters, else those the public key was registered with; absent hash fields take
 * KMIP's default SHA-1 (1.4 §3.6, 2.1 §4.16: for the OAEP hash and, separately, for MGF1).
 *
 * The decoding here does not use the server's code: node's OAEP when the OAEP and MGF1 hashes agree, else raw RSA
 * (RSA_NO_PADDING) and EME-OAEP decoding (RFC 8017 §7.1.2 step 3) written out below. It is a test verifier, so it
 * is not constant-time.
 */
import { constants, createHash, createPrivateKey, createPublicKey, privateDecrypt, type KeyObject } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CryptographicAlgorithm, HashingAlgorithm, KeyFormatType, MaskGenerator, ObjectType, Operation, PaddingMethod } from '../../kmip-server/ttlv/enums.ts';
import { tagByName } from '../../kmip-server/ttlv/spec/names.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { elementToTtlv, type XmlElement } from '../../kmip-server/ttlv/xml.ts';
import { Scope } from './match.ts';
import { familyOf, readVectorSteps, type VectorStep } from './vectors.ts';

function tagOf(name: string): number {
  const t = tagByName(name);
  if (!t) throw new Error(`spec tables lack the tag ${name}`);
  return t.tag;
}

const TAG = {
  BatchItem: tagOf('Batch Item'),
  Operation: tagOf('Operation'),
  RequestPayload: tagOf('Request Payload'),
  UniqueIdentifier: tagOf('Unique Identifier'),
  Data: tagOf('Data'),
  ObjectType: tagOf('Object Type'),
  PublicKey: tagOf('Public Key'),
  PrivateKey: tagOf('Private Key'),
  KeyBlock: tagOf('Key Block'),
  KeyFormatType: tagOf('Key Format Type'),
  KeyValue: tagOf('Key Value'),
  KeyMaterial: tagOf('Key Material'),
  CryptographicParameters: tagOf('Cryptographic Parameters'),
  Attribute: tagOf('Attribute'),
  AttributeName: tagOf('Attribute Name'),
  AttributeValue: tagOf('Attribute Value'),
  PaddingMethod: tagOf('Padding Method'),
  HashingAlgorithm: tagOf('Hashing Algorithm'),
  CryptographicAlgorithm: tagOf('Cryptographic Algorithm'),
  MaskGenerator: tagOf('Mask Generator'),
  MaskGeneratorHashingAlgorithm: tagOf('Mask Generator Hashing Algorithm'),
  PSource: tagOf('P Source'),
};

const HASHES = new Map<number, string>([
  [HashingAlgorithm.SHA_1, 'sha1'],
  [HashingAlgorithm.SHA_224, 'sha224'],
  [HashingAlgorithm.SHA_256, 'sha256'],
  [HashingAlgorithm.SHA_384, 'sha384'],
  [HashingAlgorithm.SHA_512, 'sha512'],
]);

export interface OaepParams {
  /** node hash names. */
  hash: string;
  mgfHash: string;
  /** The OAEP label (P Source); empty when absent. */
  label: Buffer;
}

const hashLabel = (h: string): string => h.toUpperCase().replace(/^SHA/, 'SHA-');

export const describeOaep = (p: OaepParams): string =>
  `RSA-OAEP ${hashLabel(p.hash)}, MGF1 ${hashLabel(p.mgfHash)}${p.label.length > 0 ? ', with a label' : ''}`;

/** MGF1 (RFC 8017 §B.2.1). */
export function mgf1(hash: string, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let have = 0;
  for (let counter = 0; have < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    have += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/**
 * EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of the k-byte encoded message `em`: the message, or undefined when
 * the encoding is not valid for these parameters.
 */
export function emeOaepDecode(p: OaepParams, em: Uint8Array): Buffer | undefined {
  const k = em.length;
  const lHash = createHash(p.hash).update(p.label).digest();
  const hLen = lHash.length;
  if (k < 2 * hLen + 2 || em[0] !== 0) return undefined;
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seedMask = mgf1(p.mgfHash, maskedDb, hLen);
  const seed = Buffer.from(maskedSeed.map((b, i) => b ^ seedMask[i]!));
  const dbMask = mgf1(p.mgfHash, seed, k - hLen - 1);
  const db = Buffer.from(maskedDb.map((b, i) => b ^ dbMask[i]!));
  if (!db.subarray(0, hLen).equals(lHash)) return undefined;
  let i = hLen;
  while (i < db.length && db[i] === 0) i++;
  if (i === db.length || db[i] !== 1) return undefined;
  return db.subarray(i + 1);
}

/** RSAES-OAEP decryption: the plaintext, or undefined when `ciphertext` is not a valid OAEP ciphertext under `key`. */
export function oaepDecrypt(key: KeyObject, p: OaepParams, ciphertext: Uint8Array): Buffer | undefined {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined || ciphertext.length !== Math.ceil(bits / 8)) return undefined;
  try {
    if (p.hash === p.mgfHash) {
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: p.hash, oaepLabel: p.label }, ciphertext);
    }
    return emeOaepDecode(p, privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Which Encrypt answers the rule covers

const kids = (i: TtlvItem | undefined): TtlvItem[] => (i?.type === ItemType.Structure ? i.value : []);
const find = (i: TtlvItem | undefined, tag: number): TtlvItem | undefined => kids(i).find((c) => c.tag === tag);
const enumOf = (i: TtlvItem | undefined): number | undefined => (i?.type === ItemType.Enumeration ? i.value : undefined);

/** The Cryptographic Parameters anywhere in `item`: a 2.x structure or a 1.x "Cryptographic Parameters" attribute. */
function cryptoParamsIn(item: TtlvItem): TtlvItem | undefined {
  if (item.type !== ItemType.Structure) return undefined;
  if (item.tag === TAG.CryptographicParameters) return item;
  if (item.tag === TAG.Attribute) {
    const name = find(item, TAG.AttributeName);
    if (name?.type === ItemType.TextString && name.value === 'Cryptographic Parameters') return find(item, TAG.AttributeValue);
    return undefined;
  }
  for (const c of item.value) {
    const p = cryptoParamsIn(c);
    if (p) return p;
  }
  return undefined;
}

/** OAEP parameters from a Cryptographic Parameters structure, or undefined when it does not describe RSA-OAEP. */
export function oaepParamsOf(params: TtlvItem | undefined): OaepParams | undefined {
  if (params?.type !== ItemType.Structure) return undefined;
  if (enumOf(find(params, TAG.PaddingMethod)) !== PaddingMethod.OAEP) return undefined;
  const alg = enumOf(find(params, TAG.CryptographicAlgorithm));
  if (alg !== undefined && alg !== CryptographicAlgorithm.RSA) return undefined;
  const mgf = enumOf(find(params, TAG.MaskGenerator));
  if (mgf !== undefined && mgf !== MaskGenerator.MGF1) return undefined;
  const hash = HASHES.get(enumOf(find(params, TAG.HashingAlgorithm)) ?? HashingAlgorithm.SHA_1);
  const mgfHash = HASHES.get(enumOf(find(params, TAG.MaskGeneratorHashingAlgorithm)) ?? HashingAlgorithm.SHA_1);
  if (hash === undefined || mgfHash === undefined) return undefined;
  const ps = find(params, TAG.PSource);
  return { hash, mgfHash, label: ps?.type === ItemType.ByteString ? Buffer.from(ps.value) : Buffer.alloc(0) };
}

/** The single batch item's operation and payload of a request. */
function onlyItem(req: TtlvItem): { op: number | undefined; payload: TtlvItem | undefined } | undefined {
  const items = kids(req).filter((c) => c.tag === TAG.BatchItem);
  if (items.length !== 1) return undefined;
  return { op: enumOf(find(items[0], TAG.Operation)), payload: find(items[0], TAG.RequestPayload) };
}

/** A request element as TTLV: $NOW±N as now, any other variable makes it unreadable (undefined). */
function literalRequest(el: XmlElement): TtlvItem | undefined {
  const scope = new Scope();
  try {
    return elementToTtlv(el, { resolveVariable: (name, type, tag) => scope.resolveForRequest(name, type, tag) });
  } catch {
    return undefined;
  }
}

/** The RSA key a Register request carries (as a KeyObject), when its material is a literal in a known format. */
function registeredKey(payload: TtlvItem | undefined): { kind: 'public' | 'private'; key: KeyObject } | undefined {
  const type = enumOf(find(payload, TAG.ObjectType));
  const kind = type === ObjectType.PublicKey ? 'public' : type === ObjectType.PrivateKey ? 'private' : undefined;
  if (kind === undefined) return undefined;
  const block = find(find(payload, kind === 'public' ? TAG.PublicKey : TAG.PrivateKey), TAG.KeyBlock);
  const format = enumOf(find(block, TAG.KeyFormatType));
  const material = find(find(block, TAG.KeyValue), TAG.KeyMaterial);
  if (material?.type !== ItemType.ByteString) return undefined;
  const der = Buffer.from(material.value);
  const fmt = format === KeyFormatType.PKCS_1 ? 'pkcs1'
    : kind === 'public' && format === KeyFormatType.X_509 ? 'spki'
    : kind === 'private' && format === KeyFormatType.PKCS_8 ? 'pkcs8'
    : undefined;
  if (fmt === undefined) return undefined;
  try {
    const key = kind === 'public'
      ? createPublicKey({ key: der, format: 'der', type: fmt as 'pkcs1' | 'spki' })
      : createPrivateKey({ key: der, format: 'der', type: fmt as 'pkcs1' | 'pkcs8' });
    return key.asymmetricKeyType === 'rsa' ? { kind, key } : undefined;
  } catch {
    return undefined;
  }
}

const spki = (k: KeyObject): Buffer => (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'der', type: 'spki' });

/** An RSA public key a file registers for OAEP, paired with its private key. */
export interface OaepKey {
  /** The variable the Register answer binds to the public key's identifier ("UNIQUE_IDENTIFIER_0"). */
  variable: string;
  /** The parameters the public key was registered with. */
  params: OaepParams;
  privateKey: KeyObject;
  /** The file (name) whose Register carries the private key. */
  privateFrom: string;
}

/** Private keys the files of `family` in `dir` register, with the file name. */
function privateKeysOf(dir: string, family: string): Array<{ key: KeyObject; file: string }> {
  const out: Array<{ key: KeyObject; file: string }> = [];
  const collator = new Intl.Collator('en', { numeric: true });
  for (const name of readdirSync(dir).sort(collator.compare)) {
    if (!name.endsWith('.xml') || familyOf(name) !== family) continue;
    let steps: VectorStep[];
    try {
      steps = readVectorSteps(join(dir, name));
    } catch {
      continue;
    }
    for (const s of steps) {
      const req = literalRequest(s.request);
      const item = req && onlyItem(req);
      if (item?.op !== Operation.Register) continue;
      const k = registeredKey(item.payload);
      if (k?.kind === 'private') out.push({ key: k.key, file: name });
    }
  }
  return out;
}

/**
 * The RSA public keys `steps` (the file at `path`, of `family`) registers with OAEP parameters, each paired with the
 * private key of the same pair (see the header); keys without a private key found are left out.
 */
export function oaepKeysOf(path: string, family: string, steps: VectorStep[]): OaepKey[] {
  const found: Array<{ variable: string; params: OaepParams; publicKey: KeyObject }> = [];
  for (const s of steps) {
    if (!s.request.children.some((b) => b.children.some((c) => c.name === 'Operation' && c.attrs.value === 'Register'))) continue;
    const req = literalRequest(s.request);
    const item = req && onlyItem(req);
    if (item?.op !== Operation.Register || !item.payload) continue;
    const k = registeredKey(item.payload);
    const params = oaepParamsOf(cryptoParamsIn(item.payload));
    if (k?.kind !== 'public' || !params) continue;
    const uid = s.response?.children.find((c) => c.name === 'BatchItem')
      ?.children.find((c) => c.name === 'ResponsePayload')
      ?.children.find((c) => c.name === 'UniqueIdentifier')?.attrs.value;
    if (uid === undefined || !uid.startsWith('$')) continue;
    found.push({ variable: uid.slice(1), params, publicKey: k.key });
  }
  if (found.length === 0) return [];
  const privates = privateKeysOf(dirname(path), family);
  const out: OaepKey[] = [];
  for (const f of found) {
    const pub = spki(f.publicKey);
    const match = privates.find((p) => spki(p.key).equals(pub));
    if (match) out.push({ variable: f.variable, params: f.params, privateKey: match.key, privateFrom: match.file });
  }
  return out;
}

/** What the matcher uses for an Encrypt answer whose ciphertext is randomized (see match.ts). */
export interface RandomizedCiphertext {
  /** Does this ciphertext decrypt to the Data the request sent? */
  verify(ciphertext: Uint8Array): boolean;
  /** The parameters and the private key's origin, for the report. */
  describe: string;
  /** Set by the matcher when it accepted a ciphertext this way. */
  used?: boolean;
}

/**
 * The check for request `req` (as sent): defined only for a single Encrypt of literal Data under the identifier one
 * of `keys` is bound to in `vars`, with OAEP parameters in effect (the request's Cryptographic Parameters if it
 * carries any, else the key's).
 */
export function oaepCheckFor(req: TtlvItem, keys: readonly OaepKey[], vars: ReadonlyMap<string, TtlvItem>): RandomizedCiphertext | undefined {
  if (keys.length === 0) return undefined;
  const item = onlyItem(req);
  if (item?.op !== Operation.Encrypt) return undefined;
  const uid = find(item.payload, TAG.UniqueIdentifier);
  const data = find(item.payload, TAG.Data);
  if (uid?.type !== ItemType.TextString || data?.type !== ItemType.ByteString) return undefined;
  const key = keys.find((k) => {
    const v = vars.get(k.variable);
    return v?.type === ItemType.TextString && v.value === uid.value;
  });
  if (!key) return undefined;
  const sent = find(item.payload, TAG.CryptographicParameters);
  const params = sent ? oaepParamsOf(sent) : key.params;
  if (!params) return undefined;
  const plaintext = Buffer.from(data.value);
  return {
    verify: (ct) => oaepDecrypt(key.privateKey, params, ct)?.equals(plaintext) === true,
    describe: `${describeOaep(params)}; private key registered by ${key.privateFrom}`,
  };
}
