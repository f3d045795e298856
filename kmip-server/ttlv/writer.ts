import { ItemType, HEADER_BYTES, TtlvError, type TtlvItem } from './types.ts';

const pad8 = (n: number): number => (n + 7) & ~7;

/** Length of the value field (unpadded), as written in the item header. */
function valueLength(item: TtlvItem): number {
  switch (item.type) {
    case ItemType.Structure: {
      let n = 0;
      for (const child of item.value) n += encodedLength(child);
      return n;
    }
    case ItemType.Integer:
    case ItemType.Enumeration:
    case ItemType.Interval:
      return 4;
    case ItemType.LongInteger:
    case ItemType.Boolean:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      return 8;
    case ItemType.BigInteger:
      return bigIntegerBytes(item.value).length;
    case ItemType.TextString:
      return Buffer.byteLength(item.value, 'utf8');
    case ItemType.ByteString:
      return item.value.length;
  }
}

/** Bytes an item occupies on the wire, header and padding included. */
export function encodedLength(item: TtlvItem): number {
  return HEADER_BYTES + pad8(valueLength(item));
}

/** Two's complement big-endian, sign-extended to a multiple of 8 bytes (KMIP §9.1.1.4). */
export function bigIntegerBytes(v: bigint): Uint8Array {
  let len = 8;
  // Grow until the value fits in `len` bytes as a signed number.
  while (v >= 1n << BigInt(len * 8 - 1) || v < -(1n << BigInt(len * 8 - 1))) len += 8;
  const out = new Uint8Array(len);
  let x = BigInt.asUintN(len * 8, v);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function writeItem(item: TtlvItem, buf: Buffer, off: number): number {
  const tag = item.tag;
  if (!(tag >= 0 && tag <= 0xffffff)) throw new TtlvError('BAD_VALUE', `tag ${tag} out of range`);
  buf[off] = tag >>> 16;
  buf[off + 1] = (tag >>> 8) & 0xff;
  buf[off + 2] = tag & 0xff;
  buf[off + 3] = item.type;
  const start = off + HEADER_BYTES;
  let len: number;
  switch (item.type) {
    case ItemType.Structure: {
      let p = start;
      for (const child of item.value) p = writeItem(child, buf, p);
      len = p - start;
      break;
    }
    case ItemType.Integer:
    case ItemType.Interval:
      if (item.type === ItemType.Interval) buf.writeUInt32BE(item.value >>> 0, start);
      else buf.writeInt32BE(item.value | 0, start);
      len = 4;
      break;
    case ItemType.Enumeration:
      buf.writeUInt32BE(item.value >>> 0, start);
      len = 4;
      break;
    case ItemType.LongInteger:
      buf.writeBigInt64BE(BigInt.asIntN(64, item.value), start);
      len = 8;
      break;
    case ItemType.DateTimeExtended:
      buf.writeBigInt64BE(BigInt.asIntN(64, item.value), start);
      len = 8;
      break;
    case ItemType.DateTime:
      buf.writeBigInt64BE(BigInt(Math.trunc(item.value)), start);
      len = 8;
      break;
    case ItemType.Boolean:
      buf.writeBigUInt64BE(item.value ? 1n : 0n, start);
      len = 8;
      break;
    case ItemType.BigInteger: {
      const b = bigIntegerBytes(item.value);
      buf.set(b, start);
      len = b.length;
      break;
    }
    case ItemType.TextString:
      len = buf.write(item.value, start, 'utf8');
      break;
    case ItemType.ByteString:
      buf.set(item.value, start);
      len = item.value.length;
      break;
  }
  buf.writeUInt32BE(len, off + 4);
  const end = start + pad8(len);
  // At most 7 bytes: a loop costs less than a call into Buffer.fill for every item.
  for (let i = start + len; i < end; i++) buf[i] = 0;
  return end;
}

/** Encodes one item (normally a Request or Response Message) to its wire form. */
export function encode(item: TtlvItem): Buffer {
  const buf = Buffer.allocUnsafe(encodedLength(item));
  writeItem(item, buf, 0);
  return buf;
}
