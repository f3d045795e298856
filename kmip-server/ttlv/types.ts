/**
 * TTLV item model (KMIP 1.4 §9.1, 2.1 §9.1): every item is Tag (3 bytes), Type (1 byte),
 * Length (4 bytes) and a Value padded to a multiple of 8 bytes.
 */

/** Item type codes as they appear in the fourth byte of an item header. */
export const ItemType = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
  DateTimeExtended: 0x0b,
} as const;
export type ItemTypeCode = (typeof ItemType)[keyof typeof ItemType];

export const ITEM_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ItemType).map(([name, code]) => [code, name]),
);

export interface StructureItem { tag: number; type: typeof ItemType.Structure; value: TtlvItem[] }
export interface IntegerItem { tag: number; type: typeof ItemType.Integer; value: number }
export interface LongIntegerItem { tag: number; type: typeof ItemType.LongInteger; value: bigint }
export interface BigIntegerItem { tag: number; type: typeof ItemType.BigInteger; value: bigint }
export interface EnumerationItem { tag: number; type: typeof ItemType.Enumeration; value: number }
export interface BooleanItem { tag: number; type: typeof ItemType.Boolean; value: boolean }
export interface TextStringItem { tag: number; type: typeof ItemType.TextString; value: string }
export interface ByteStringItem { tag: number; type: typeof ItemType.ByteString; value: Uint8Array }
/** Seconds since the Unix epoch. */
export interface DateTimeItem { tag: number; type: typeof ItemType.DateTime; value: number }
/** Seconds. */
export interface IntervalItem { tag: number; type: typeof ItemType.Interval; value: number }
/** Microseconds since the Unix epoch. */
export interface DateTimeExtendedItem { tag: number; type: typeof ItemType.DateTimeExtended; value: bigint }

export type TtlvItem =
  | StructureItem
  | IntegerItem
  | LongIntegerItem
  | BigIntegerItem
  | EnumerationItem
  | BooleanItem
  | TextStringItem
  | ByteStringItem
  | DateTimeItem
  | IntervalItem
  | DateTimeExtendedItem;

/** Limits applied while decoding untrusted input. */
export interface DecodeLimits {
  /** Largest whole message in bytes (header included). */
  maxMessageBytes: number;
  /** Deepest Structure nesting; the top-level item is depth 1. */
  maxDepth: number;
  /** Most items in the whole message. */
  maxItems: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxMessageBytes: 1024 * 1024,
  maxDepth: 32,
  maxItems: 100_000,
};

/** Size of an item header: tag, type and length. */
export const HEADER_BYTES = 8;

/** Codec failures carry a stable code so callers can answer without string matching. */
export class TtlvError extends Error {
  readonly code: 'TRUNCATED' | 'BAD_TYPE' | 'BAD_LENGTH' | 'TOO_LARGE' | 'TOO_DEEP' | 'TOO_MANY_ITEMS' | 'BAD_VALUE';
  constructor(code: TtlvError['code'], message: string) {
    super(message);
    this.name = 'TtlvError';
    this.code = code;
  }
}

// Constructors, so call sites read as the structure they build.
export const struct = (tag: number, value: TtlvItem[]): StructureItem => ({ tag, type: ItemType.Structure, value });
export const int = (tag: number, value: number): IntegerItem => ({ tag, type: ItemType.Integer, value });
export const long = (tag: number, value: bigint): LongIntegerItem => ({ tag, type: ItemType.LongInteger, value });
export const bigInt = (tag: number, value: bigint): BigIntegerItem => ({ tag, type: ItemType.BigInteger, value });
export const enumeration = (tag: number, value: number): EnumerationItem => ({ tag, type: ItemType.Enumeration, value });
export const bool = (tag: number, value: boolean): BooleanItem => ({ tag, type: ItemType.Boolean, value });
export const text = (tag: number, value: string): TextStringItem => ({ tag, type: ItemType.TextString, value });
export const bytes = (tag: number, value: Uint8Array): ByteStringItem => ({ tag, type: ItemType.ByteString, value });
export const dateTime = (tag: number, value: number): DateTimeItem => ({ tag, type: ItemType.DateTime, value });
export const interval = (tag: number, value: number): IntervalItem => ({ tag, type: ItemType.Interval, value });
export const dateTimeExtended = (tag: number, value: bigint): DateTimeExtendedItem => ({ tag, type: ItemType.DateTimeExtended, value });
