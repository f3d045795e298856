// The operations the benchmark measures. Each has a setup (run once on one connection: the key and
// ciphertext it needs) and a request message the closed loop sends again and again: encoded once,
// with a fresh random IV patched in for every Encrypt. Every response is decoded and checked
// (Result Status Success; a Decrypt must give back the plaintext), so a server answering errors
// fast cannot look good. Shared by run.ts (in the load threads) and cpu.ts.
import { constants, generateKeyPairSync, publicEncrypt, randomBytes, randomFillSync } from 'node:crypto';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import {
  BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, KeyFormatType, MaskGenerator, ObjectType, PaddingMethod, ResultStatus,
} from '../../kmip-server/ttlv/enums.ts';
import { decode } from '../../kmip-server/ttlv/reader.ts';
import { encode } from '../../kmip-server/ttlv/writer.ts';
import { ItemType, bytes, dateTime, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { attributes, requestMessage, type KmipClient, type ProtocolVersion } from '../../kmip-server/client/client.ts';

export const OPS = ['Get', 'Create', 'Encrypt AES-256-GCM 64 B', 'Decrypt AES-256-GCM 64 B', 'Encrypt AES-256-GCM 4 KiB', 'Decrypt AES-256-GCM 4 KiB', 'Decrypt RSA-2048 OAEP'] as const;
export type BenchOp = (typeof OPS)[number];

/** The AES operations PyKMIP's server can do too (it encrypts and decrypts with symmetric keys only). */
export const isAes = (op: BenchOp): boolean => op.includes('AES');

/** What setup hands to the loop: plain data, so it can cross to a worker thread. */
export interface Prepared {
  op: BenchOp;
  uid: string;
  /** Encrypt: the plaintext; Decrypt: the ciphertext. */
  data?: Uint8Array;
  iv?: Uint8Array;
  authTag?: Uint8Array;
  /** Decrypt: what the answer must be. */
  plaintext?: Uint8Array;
}

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const sizeOf = (op: BenchOp): number => (op.endsWith('4 KiB') ? 4096 : 64);

const gcmParams = (): StructureItem =>
  struct(Tag.CryptographicParameters, [
    enumeration(Tag.BlockCipherMode, BlockCipherMode.GCM),
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
    int(Tag.TagLength, GCM_TAG_BYTES),
  ]);

// RSA-OAEP with SHA-256 and MGF1-SHA-256 (OpenBao's seal; 1.4 fields).
const oaepParams = (): StructureItem =>
  struct(Tag.CryptographicParameters, [
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA),
    enumeration(Tag.PaddingMethod, PaddingMethod.OAEP),
    enumeration(Tag.HashingAlgorithm, HashingAlgorithm.SHA_256),
    enumeration(Tag.MaskGenerator, MaskGenerator.MGF1),
    enumeration(Tag.MaskGeneratorHashingAlgorithm, HashingAlgorithm.SHA_256),
  ]);

const field = (p: StructureItem, t: number): Uint8Array => {
  const v = p.value.find((i) => i.tag === t);
  if (v?.type !== ItemType.ByteString) throw new Error(`response lacks field 0x${t.toString(16)}`);
  return v.value;
};

/** An AES-256 key made by the server and activated (both servers create keys Pre-Active). */
async function activeAesKey(c: KmipClient): Promise<string> {
  const uid = await c.create({ length: 256, usage: ['Encrypt', 'Decrypt'] });
  await c.activate(uid);
  return uid;
}

/** Runs once per operation and target. `getUid` is the key Get reads (made by the caller). */
export async function prepare(c: KmipClient, op: BenchOp, getUid: string): Promise<Prepared> {
  switch (op) {
    case 'Get':
    case 'Create':
      return { op, uid: getUid };
    case 'Encrypt AES-256-GCM 64 B':
    case 'Encrypt AES-256-GCM 4 KiB':
      return { op, uid: await activeAesKey(c), data: randomBytes(sizeOf(op)) };
    case 'Decrypt AES-256-GCM 64 B':
    case 'Decrypt AES-256-GCM 4 KiB': {
      const uid = await activeAesKey(c);
      const iv = randomBytes(GCM_IV_BYTES);
      const plaintext = randomBytes(sizeOf(op));
      const p = await c.call('Encrypt', [text(Tag.UniqueIdentifier, uid), gcmParams(), bytes(Tag.Data, plaintext), bytes(Tag.IVCounterNonce, iv)]);
      return { op, uid, iv, data: field(p, Tag.Data), authTag: field(p, Tag.AuthenticatedEncryptionTag), plaintext };
    }
    case 'Decrypt RSA-2048 OAEP': {
      // A key pair made here, the private half registered with Decrypt, so the ciphertext is a
      // standard RSA-OAEP-SHA256 one made outside the server (as a client sealing a key would).
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const body = struct(Tag.PrivateKey, [struct(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, KeyFormatType.PKCS_1),
        struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, privateKey.export({ format: 'der', type: 'pkcs1' }))]),
        enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA),
        int(Tag.CryptographicLength, 2048),
      ])]);
      const attrs: TtlvItem[] = [
        int(Tag.CryptographicUsageMask, CryptographicUsageMask.Decrypt),
        dateTime(Tag.ActivationDate, Math.floor(Date.now() / 1000) - 60),
      ];
      const uid = await c.register('Private Key', body, attrs);
      const plaintext = randomBytes(32);
      const data = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);
      return { op, uid, data, plaintext };
    }
  }
}

function payloadOf(p: Prepared, version: ProtocolVersion): { operation: string; payload: TtlvItem[] } {
  const uid = text(Tag.UniqueIdentifier, p.uid);
  switch (p.op) {
    case 'Get':
      return { operation: 'Get', payload: [uid] };
    case 'Create':
      return {
        operation: 'Create',
        payload: [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), attributes(version, [
          enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), int(Tag.CryptographicLength, 256),
          int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt),
        ])],
      };
    case 'Encrypt AES-256-GCM 64 B':
    case 'Encrypt AES-256-GCM 4 KiB':
      return { operation: 'Encrypt', payload: [uid, gcmParams(), bytes(Tag.Data, p.data!), bytes(Tag.IVCounterNonce, p.iv ?? Buffer.alloc(GCM_IV_BYTES))] };
    case 'Decrypt AES-256-GCM 64 B':
    case 'Decrypt AES-256-GCM 4 KiB':
      return { operation: 'Decrypt', payload: [uid, gcmParams(), bytes(Tag.Data, p.data!), bytes(Tag.IVCounterNonce, p.iv!), bytes(Tag.AuthenticatedEncryptionTag, p.authTag!)] };
    case 'Decrypt RSA-2048 OAEP':
      return { operation: 'Decrypt', payload: [uid, oaepParams(), bytes(Tag.Data, p.data!)] };
  }
}

/** Makes the request messages of one operation: the same bytes each time, but a new IV for each Encrypt. */
export function requests(p: Prepared, version: ProtocolVersion): () => Buffer {
  if (!p.op.startsWith('Encrypt')) {
    const frame = encode(requestMessage(version, [payloadOf(p, version)]));
    return () => frame;
  }
  // Encode with a marker IV, find it, and overwrite it with random bytes in a copy per request.
  const marker = randomBytes(GCM_IV_BYTES);
  const template = encode(requestMessage(version, [payloadOf({ ...p, iv: marker }, version)]));
  const at = template.indexOf(marker);
  if (at < 0) throw new Error('IV not found in the encoded request');
  return () => {
    const frame = Buffer.from(template);
    randomFillSync(frame, at, GCM_IV_BYTES);
    return frame;
  };
}

const child = (s: StructureItem, t: number): TtlvItem | undefined => s.value.find((i) => i.tag === t);

/** Throws unless the response's one batch item succeeded (and a Decrypt returned the plaintext). */
export function check(response: Uint8Array, p: Prepared): void {
  const msg = decode(response);
  const item = msg.type === ItemType.Structure ? child(msg, Tag.BatchItem) : undefined;
  const status = item?.type === ItemType.Structure ? child(item, Tag.ResultStatus) : undefined;
  if (status?.type !== ItemType.Enumeration || status.value !== ResultStatus.Success || item?.type !== ItemType.Structure) {
    const message = item?.type === ItemType.Structure ? child(item, Tag.ResultMessage) : undefined;
    throw new Error(`${p.op} failed${message?.type === ItemType.TextString ? `: ${message.value}` : ''}`);
  }
  if (p.plaintext) {
    const payload = child(item, Tag.ResponsePayload);
    const data = payload?.type === ItemType.Structure ? child(payload, Tag.Data) : undefined;
    if (data?.type !== ItemType.ByteString || !Buffer.from(data.value).equals(p.plaintext)) throw new Error(`${p.op} returned the wrong plaintext`);
  }
}
