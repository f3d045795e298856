/**
 * Helpers for the cryptographic operation tests (Encrypt, Decrypt, Sign, MAC, Derive Key ...): register Active keys
 * in a request's version, build the operations' payloads, read their answers. Builds on harness.fixture.ts and
 * key-ops.fixture.ts. Not a test file itself.
 */
import { Tag } from '../ttlv/tag.ts';
import { KeyFormatType, ObjectType } from '../ttlv/enums.ts';
import { ItemType, bytes, dateTime, enumeration, int, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import type { BatchResult, ProtocolVersion } from '../client/client.ts';
import { uidOf, type Harness } from './harness.fixture.ts';
import { container, ok } from './key-ops.fixture.ts';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
export const mask = (m: number): TtlvItem => int(Tag.CryptographicUsageMask, m);
export const activeSince = (seconds = 3600): TtlvItem => dateTime(Tag.ActivationDate, nowSeconds() - seconds);

export function block(format: number, material: TtlvItem, alg?: number, len?: number): StructureItem {
  const c: TtlvItem[] = [enumeration(Tag.KeyFormatType, format), struct(Tag.KeyValue, [{ ...material, tag: Tag.KeyMaterial } as TtlvItem])];
  if (alg !== undefined) c.push(enumeration(Tag.CryptographicAlgorithm, alg));
  if (len !== undefined) c.push(int(Tag.CryptographicLength, len));
  return struct(Tag.KeyBlock, c);
}

export const symmetricBody = (key: Uint8Array, alg: number): StructureItem =>
  struct(Tag.SymmetricKey, [block(KeyFormatType.Raw, bytes(Tag.KeyMaterial, key), alg, key.length * 8)]);

export const privateBody = (format: number, der: Uint8Array, alg: number, len: number): StructureItem =>
  struct(Tag.PrivateKey, [block(format, bytes(Tag.KeyMaterial, der), alg, len)]);

export const publicBody = (format: number, der: Uint8Array, alg: number, len: number): StructureItem =>
  struct(Tag.PublicKey, [block(format, bytes(Tag.KeyMaterial, der), alg, len)]);

/** Registers an object with attributes given in 2.x form (written as 1.x Attributes for a 1.x request). */
export async function register(h: Harness, version: ProtocolVersion, objectType: number, body: StructureItem, attrs: TtlvItem[]): Promise<string> {
  return uidOf(ok(await h.one(version, 'Register', [enumeration(Tag.ObjectType, objectType), container(version, Tag.TemplateAttribute, Tag.Attributes, attrs), body])));
}

export const registerSymmetric = (h: Harness, version: ProtocolVersion, key: Uint8Array, alg: number, attrs: TtlvItem[]): Promise<string> =>
  register(h, version, ObjectType.SymmetricKey, symmetricBody(key, alg), attrs);

/** Cryptographic Parameters from 2.x-form fields (Block Cipher Mode, Tag Length ...). */
export const params = (...items: TtlvItem[]): StructureItem => struct(Tag.CryptographicParameters, items);

export function bytesOf(r: BatchResult, tag: number): Buffer | undefined {
  const v = r.payload?.value.find((i) => i.tag === tag);
  return v?.type === ItemType.ByteString ? Buffer.from(v.value) : undefined;
}

export function enumOf(r: BatchResult, tag: number): number | undefined {
  const v = r.payload?.value.find((i) => i.tag === tag);
  return v?.type === ItemType.Enumeration ? v.value : undefined;
}

export const has = (r: BatchResult, tag: number): boolean => r.payload?.value.some((i) => i.tag === tag) ?? false;
