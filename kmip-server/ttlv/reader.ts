import { DEFAULT_LIMITS, HEADER_BYTES, ItemType, TtlvError, type DecodeLimits, type TtlvItem } from './types.ts';

const pad8 = (n: number): number => (n + 7) & ~7;

/** One decoder for every Text String: constructing one per item cost more than decoding. */
const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** Fixed value lengths; anything else in the header is malformed. */
const FIXED_LENGTH: Readonly<Record<number, number>> = {
  [ItemType.Integer]: 4,
  [ItemType.Enumeration]: 4,
  [ItemType.Interval]: 4,
  [ItemType.LongInteger]: 8,
  [ItemType.Boolean]: 8,
  [ItemType.DateTime]: 8,
  [ItemType.DateTimeExtended]: 8,
};

interface Cursor {
  items: number;
  limits: DecodeLimits;
}

function readItem(buf: Uint8Array, view: DataView, off: number, end: number, depth: number, cur: Cursor): [TtlvItem, number] {
  if (end - off < HEADER_BYTES) throw new TtlvError('TRUNCATED', `item header truncated at offset ${off}`);
  if (++cur.items > cur.limits.maxItems) throw new TtlvError('TOO_MANY_ITEMS', `more than ${cur.limits.maxItems} items`);
  if (depth > cur.limits.maxDepth) throw new TtlvError('TOO_DEEP', `nesting deeper than ${cur.limits.maxDepth}`);
  const tag = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
  const type = buf[off + 3]!;
  const len = view.getUint32(off + 4);
  const start = off + HEADER_BYTES;
  if (type < ItemType.Structure || type > ItemType.DateTimeExtended) {
    throw new TtlvError('BAD_TYPE', `unknown item type 0x${type.toString(16)} at offset ${off}`);
  }
  const fixed = FIXED_LENGTH[type];
  if (fixed !== undefined && len !== fixed) {
    throw new TtlvError('BAD_LENGTH', `length ${len} invalid for item type 0x${type.toString(16)} at offset ${off}`);
  }
  if (type === ItemType.BigInteger && (len === 0 || len % 8 !== 0)) {
    throw new TtlvError('BAD_LENGTH', `Big Integer length ${len} is not a multiple of 8 at offset ${off}`);
  }
  if (type === ItemType.Structure && len % 8 !== 0) {
    throw new TtlvError('BAD_LENGTH', `Structure length ${len} is not a multiple of 8 at offset ${off}`);
  }
  const next = start + pad8(len);
  if (next > end || start + len > end) throw new TtlvError('TRUNCATED', `value of ${len} bytes overruns its container at offset ${off}`);
  switch (type) {
    case ItemType.Structure: {
      const children: TtlvItem[] = [];
      let p = start;
      const stop = start + len;
      while (p < stop) {
        const [child, after] = readItem(buf, view, p, stop, depth + 1, cur);
        children.push(child);
        p = after;
      }
      return [{ tag, type, value: children }, next];
    }
    case ItemType.Integer:
      return [{ tag, type, value: view.getInt32(start) }, next];
    case ItemType.Enumeration:
      return [{ tag, type, value: view.getUint32(start) }, next];
    case ItemType.Interval:
      return [{ tag, type, value: view.getUint32(start) }, next];
    case ItemType.LongInteger:
      return [{ tag, type, value: view.getBigInt64(start) }, next];
    case ItemType.DateTimeExtended:
      return [{ tag, type, value: view.getBigInt64(start) }, next];
    case ItemType.DateTime:
      return [{ tag, type, value: Number(view.getBigInt64(start)) }, next];
    case ItemType.Boolean: {
      const v = view.getBigUint64(start);
      if (v > 1n) throw new TtlvError('BAD_VALUE', `Boolean value ${v} at offset ${off}`);
      return [{ tag, type, value: v === 1n }, next];
    }
    case ItemType.BigInteger: {
      let v = 0n;
      for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(buf[start + i]!);
      return [{ tag, type, value: BigInt.asIntN(len * 8, v) }, next];
    }
    case ItemType.TextString: {
      const value = UTF8.decode(buf.subarray(start, start + len));
      return [{ tag, type, value }, next];
    }
    default: {
      // ByteString: copy, so the item does not pin the whole receive buffer.
      const value = Uint8Array.prototype.slice.call(buf, start, start + len);
      return [{ tag, type: ItemType.ByteString, value }, next];
    }
  }
}

/**
 * Decodes exactly one item occupying the whole buffer. Throws TtlvError on anything malformed:
 * the caller decides whether a readable header still allows an error response.
 */
export function decode(buf: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): TtlvItem {
  if (buf.length > limits.maxMessageBytes) throw new TtlvError('TOO_LARGE', `message of ${buf.length} bytes exceeds ${limits.maxMessageBytes}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const [item, end] = readItem(buf, view, 0, buf.length, 1, { items: 0, limits });
  if (end !== buf.length) throw new TtlvError('BAD_LENGTH', `${buf.length - end} trailing bytes after the message`);
  return item;
}
