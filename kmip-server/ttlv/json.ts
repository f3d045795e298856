/**
 * The KMIP JSON encoding (KMIP Additional Message Encodings 1.0 §4, KMIP 2.1 §9.2): every item is an
 * object `{"tag": ..., "type": ..., "value": ...}`.
 *
 * - `tag`: the normalized (CamelCase) spec name, or `"0x42xxxx"` for a tag without a name.
 * - `type`: the item type name; omitted for a Structure (read as Structure when absent).
 * - `value`, as read (`fromJson`) and written (`toJson`):
 *   Structure: array of items. Integer, Interval: number (or `"0x..."` hex); an Integer mask may be a string of
 *   names separated by `|` (or spaces): `"Encrypt|Decrypt"`, written that way. LongInteger: number when it
 *   is a safe integer, else a `"0x"` 16-digit hex string (a decimal string is also read). BigInteger:
 *   `"0x"` hex of the two's complement bytes. Enumeration: the value's name, or `"0x"` 8-digit hex (a
 *   number is also read). Boolean: true / false. TextString: string. ByteString: hex string.
 *   DateTime: ISO 8601 string (a number or hex string is also read). DateTimeExtended: ISO 8601 with
 *   microseconds (hex or decimal string also read).
 * As in XML, an AttributeValue resolves enumeration and mask names by its sibling AttributeName.
 */
import { ItemType, TtlvError, type ItemTypeCode, type TtlvItem } from './types.ts';
import { bigIntegerBytes } from './writer.ts';
import {
  bytesToHex,
  childContext,
  formatLeafText,
  itemTypeByName,
  itemTypeName,
  messageVersion,
  parseLeafText,
  resolveTag,
  xmlTagName,
  type ValueContext,
} from './xml.ts';
import type { Version } from './spec/names.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** One item in its JSON form. */
export type JsonItem = {
  tag: string;
  type?: string;
  value: JsonValue;
};

const bad = (msg: string): TtlvError => new TtlvError('BAD_VALUE', msg);

const TAG_ATTRIBUTE = 0x420008;
const TAG_ATTRIBUTE_NAME = 0x42000a;

export interface FromJsonOptions {
  /** As for XML: a string value `$NAME` is a variable resolved here. */
  resolveVariable?: (name: string, type: ItemTypeCode, tag: number) => TtlvItem | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Converts a parsed JSON item (object form) to TTLV. */
export function jsonToTtlv(node: unknown, opts: FromJsonOptions = {}, ctx?: ValueContext, path = '$'): TtlvItem {
  if (!isObject(node)) throw bad(`${path}: an item must be an object`);
  const tagText = node.tag;
  if (typeof tagText !== 'string') throw bad(`${path}: "tag" must be a string`);
  const tag = resolveTag(tagText);
  if (tag === undefined) throw bad(`${path}: unknown tag "${tagText}"`);
  const typeText = node.type ?? 'Structure';
  if (typeof typeText !== 'string') throw bad(`${path}: "type" must be a string`);
  const type = itemTypeByName(typeText);
  if (type === undefined) throw bad(`${path}: unknown type "${typeText}"`);
  const where = `${path} (${tagText})`;
  const value = node.value;
  if (type === ItemType.Structure) {
    if (!Array.isArray(value)) throw bad(`${where}: a Structure's value must be an array`);
    let cctx: ValueContext | undefined;
    if (tag === TAG_ATTRIBUTE) {
      const n = value.find((c) => isObject(c) && typeof c.tag === 'string' && resolveTag(c.tag) === TAG_ATTRIBUTE_NAME);
      if (isObject(n) && typeof n.value === 'string') cctx = { attributeName: n.value };
    }
    return { tag, type, value: value.map((c, i) => jsonToTtlv(c, opts, cctx, `${path}.value[${i}]`)) };
  }
  if (typeof value === 'string' && opts.resolveVariable && value.startsWith('$')) {
    const v = opts.resolveVariable(value.slice(1), type, tag);
    if (v === undefined) throw bad(`${where}: unbound variable ${value}`);
    if (v.type !== type) throw bad(`${where}: variable ${value} is a ${itemTypeName(v.type)}`);
    return { ...v, tag } as TtlvItem;
  }
  try {
    return leafFromJson(tag, type, value, ctx);
  } catch (e) {
    if (e instanceof TtlvError) throw bad(`${where}: ${e.message}`);
    throw e;
  }
}

function leafFromJson(tag: number, type: ItemTypeCode, value: unknown, ctx: ValueContext | undefined): TtlvItem {
  const what = itemTypeName(type);
  switch (type) {
    case ItemType.Integer:
    case ItemType.Interval:
    case ItemType.Enumeration:
    case ItemType.DateTime:
      if (typeof value === 'number') {
        if (!Number.isInteger(value)) throw bad(`${what} value ${value} is not an integer`);
        return parseLeafText(tag, type, String(value), ctx);
      }
      break;
    case ItemType.LongInteger:
    case ItemType.DateTimeExtended:
      if (typeof value === 'number') {
        if (!Number.isSafeInteger(value)) throw bad(`${what} value ${value} is not a safe integer; use a hex string`);
        return parseLeafText(tag, type, String(value), ctx);
      }
      break;
    case ItemType.Boolean:
      if (typeof value === 'boolean') return { tag, type, value };
      break;
    default:
      break;
  }
  if (typeof value !== 'string') throw bad(`${what} value must be a string here, not ${JSON.stringify(value)}`);
  return parseLeafText(tag, type, value, ctx);
}

/** Parses JSON text holding one item (normally a message). */
export function fromJson(text: string | JsonItem, opts?: FromJsonOptions): TtlvItem {
  let node: unknown;
  if (typeof text === 'string') {
    try {
      node = JSON.parse(text);
    } catch (e) {
      throw bad(`not JSON: ${(e as Error).message}`);
    }
  } else node = text;
  return jsonToTtlv(node, opts);
}

/** Converts TTLV to the JSON object form. */
export function ttlvToJson(item: TtlvItem, ctx?: ValueContext): JsonItem {
  const version: Version | undefined = ctx?.version ?? messageVersion(item);
  const here: ValueContext | undefined = version === undefined ? ctx : { ...ctx, version };
  const tag = xmlTagName(item.tag, version) ?? `0x${item.tag.toString(16).padStart(6, '0')}`;
  switch (item.type) {
    case ItemType.Structure: {
      const cc = childContext(item, here);
      return { tag, value: item.value.map((c) => ttlvToJson(c, cc)) };
    }
    case ItemType.Integer: {
      const t = formatLeafText(item, here, '|');
      return { tag, type: 'Integer', value: /^-?[0-9]+$/.test(t) ? item.value : t };
    }
    case ItemType.Interval:
      return { tag, type: 'Interval', value: item.value };
    case ItemType.LongInteger:
      return {
        tag,
        type: 'LongInteger',
        value: item.value >= BigInt(Number.MIN_SAFE_INTEGER) && item.value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(item.value)
          : `0x${BigInt.asUintN(64, item.value).toString(16).padStart(16, '0')}`,
      };
    case ItemType.BigInteger:
      return { tag, type: 'BigInteger', value: `0x${bytesToHex(bigIntegerBytes(item.value))}` };
    case ItemType.Boolean:
      return { tag, type: 'Boolean', value: item.value };
    default:
      return { tag, type: itemTypeName(item.type), value: formatLeafText(item, here, '|') };
  }
}

export interface ToJsonOptions {
  /** JSON.stringify indentation; default none. */
  space?: number | string;
  /** Write enumeration names as of this version (default: the version in the message header). */
  version?: Version;
}

/** Writes a TTLV item as JSON text. */
export function toJson(item: TtlvItem, opts: ToJsonOptions = {}): string {
  return JSON.stringify(ttlvToJson(item, opts.version === undefined ? undefined : { version: opts.version }), null, opts.space);
}
