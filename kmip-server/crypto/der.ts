/**
 * The little DER (X.690) the key and certificate code needs: read a TLV and its children, build
 * one back. Only definite lengths (DER has no others). Errors never quote the bytes: the input
 * may be key material.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Universal tags used here (identifier octets, constructed bit included for SEQUENCE/SET). */
export const DER = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag [n], constructed (EXPLICIT) or primitive (IMPLICIT primitive). */
export const context = (n: number, constructed = true): number => (constructed ? 0xa0 : 0x80) | n;

export interface Tlv {
  /** The identifier octet (low-tag-number form only: every tag this code meets). */
  tag: number;
  /** The value octets. */
  content: Uint8Array;
  /** The whole encoding: identifier, length and value. */
  raw: Uint8Array;
}

/** Reads the TLV at `offset`; `end` is how far the enclosing value reaches. */
export function readTlv(buf: Uint8Array, offset = 0, end = buf.length): Tlv {
  if (offset + 2 > end) throw new DerError('DER: truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER: high tag numbers are not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('DER: unsupported length form');
    if (pos + n > end) throw new DerError('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > end) throw new DerError('DER: value runs past its container');
  return { tag, content: buf.subarray(pos, pos + len), raw: buf.subarray(offset, pos + len) };
}

/** The one TLV that makes up all of `buf` (trailing bytes are an error). */
export function readOne(buf: Uint8Array): Tlv {
  const t = readTlv(buf);
  if (t.raw.length !== buf.length) throw new DerError('DER: trailing bytes');
  return t;
}

/** The TLVs inside a constructed value. */
export function children(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < t.content.length) {
    const c = readTlv(t.content, off);
    out.push(c);
    off += c.raw.length;
  }
  return out;
}

/** Children of a value that must have this tag. */
export function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`DER: ${what} is missing or has the wrong type`);
  return t;
}

export function intValue(t: Tlv): bigint {
  expect(t, DER.INTEGER, 'INTEGER');
  if (t.content.length === 0) throw new DerError('DER: empty INTEGER');
  let v = 0n;
  for (const b of t.content) v = (v << 8n) | BigInt(b);
  if (t.content[0]! & 0x80) v -= 1n << BigInt(8 * t.content.length);
  return v;
}

export function oidValue(t: Tlv): string {
  expect(t, DER.OID, 'OBJECT IDENTIFIER');
  const c = t.content;
  if (c.length === 0) throw new DerError('DER: empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - 40 * a, ...arcs].join('.');
}

// ---- building ----

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([tag, ...lengthBytes(content.length)]), content]);
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(DER.SEQUENCE, concat(items));
export const octetString = (b: Uint8Array): Uint8Array => tlv(DER.OCTET_STRING, b);
export const bitString = (b: Uint8Array): Uint8Array => tlv(DER.BIT_STRING, concat([Uint8Array.of(0), b]));
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(context(n), inner);
export const derNull = (): Uint8Array => Uint8Array.of(DER.NULL, 0);

/** Minimal encoding of a non-negative INTEGER (every integer in keys and certificates here). */
export function integer(v: bigint): Uint8Array {
  if (v < 0n) throw new DerError('DER: negative INTEGER');
  const b = bigIntToBytes(v);
  return tlv(DER.INTEGER, b[0]! & 0x80 ? concat([Uint8Array.of(0), b]) : b);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0)) throw new DerError('DER: bad OID');
  const out: number[] = [];
  const push = (n: number): void => {
    const tmp = [n & 0x7f];
    n = Math.floor(n / 128);
    while (n > 0) {
      tmp.unshift((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(...tmp);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(DER.OID, Uint8Array.from(out));
}

// ---- big integers as KMIP carries them ----

/** Unsigned big-endian bytes → bigint. */
export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** bigint → unsigned big-endian bytes, left-padded to `size` when given. */
export function bigIntToBytes(v: bigint, size?: number): Uint8Array {
  if (v < 0n) throw new DerError('negative value where an unsigned one is required');
  const bytes: number[] = [];
  let x = v;
  while (x > 0n) {
    bytes.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  if (size !== undefined) {
    if (bytes.length > size) throw new DerError('value too large for its field');
    while (bytes.length < size) bytes.unshift(0);
  } else if (bytes.length === 0) bytes.push(0);
  return Uint8Array.from(bytes);
}
