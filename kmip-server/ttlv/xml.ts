/**
 * The KMIP XML encoding (KMIP Additional Message Encodings 1.0 §6, KMIP 2.1 §9.3) and the OASIS
 * test-vector form built on it.
 *
 * An element is a tag, named by its normalized (CamelCase) specification name, or `<TTLV tag="0x540001">`
 * (any element name with a `tag` attribute) for a tag we have no name for. A leaf has `type` and
 * `value` attributes; a Structure has children and no `type` (or `type="Structure"`).
 *
 * Values, as read (`fromXml`) and written (`toXml`):
 * - Integer, Interval: decimal (or `0x` hex). An Integer whose tag is a bit mask (Cryptographic Usage
 *   Mask, Storage Status Mask, Protection Storage Mask...) may be space-separated names, mixed with
 *   hex or decimal parts (`"Decrypt Encrypt"`, `"Sign 0x00100000"`); written as names.
 * - LongInteger: decimal (or `0x` hex). BigInteger: hex, big-endian two's complement, `0x` optional.
 * - Enumeration: the value's name, or `0x` hex (8 digits written) when the value has no name.
 * - Boolean: `true` / `false` (also `0x00..0`/`0x00..1`). TextString: the text. ByteString: hex.
 * - DateTime: ISO 8601 (`2009-11-12T10:47:30+00:00`; any offset or `Z` is read). DateTimeExtended:
 *   ISO 8601 with microseconds, or `0x` hex / decimal microseconds.
 * An `AttributeValue` (1.x `Attribute` structure) has no tag of its own to resolve names against: it
 * resolves Enumeration and mask names by its sibling `AttributeName` (`Cryptographic Algorithm` ->
 * `AES`, `Cryptographic Usage Mask` -> `Encrypt`).
 * Names are read in any version's spelling (XML or spec form); they are written as the version the
 * message states in its header names them (else the current name). Tag and enumeration tables come from
 * ./spec/names.ts.
 *
 * `parseXmlDocument` is a small, lenient XML reader: it ignores the prolog, comments, processing
 * instructions, DOCTYPE and all character data between elements (the test vectors carry `# TIME n`
 * lines and notes there), and decodes the five predefined entities and character references.
 */
import {
  ItemType,
  ITEM_TYPE_NAMES,
  TtlvError,
  type ItemTypeCode,
  type TtlvItem,
} from './types.ts';
import { bigIntegerBytes } from './writer.ts';
import { enumForTag, enumValue, enumValueName, isMask, maskFromNames, maskToNames, tagByName, tagXmlName, type Version } from './spec/names.ts';

// ---------------------------------------------------------------------------------------------------------------
// XML reader

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** 1-based line of the start tag, for messages. */
  line: number;
}

export class XmlError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`${message} (line ${line})`);
    this.name = 'XmlError';
    this.line = line;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, line: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);?/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const e = ENTITIES[ref];
    if (e === undefined) {
      // Lenient: an unknown entity or a bare '&' stays as written.
      if (whole.endsWith(';')) throw new XmlError(`unknown entity &${ref};`, line);
      return whole;
    }
    return e;
  });
}

const NAME_START = /[A-Za-z_:]/;
const NAME_RE = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ATTR_RE = /\s*([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/y;

/**
 * Parses an XML document into its element tree. Returns the single root element; when the text holds
 * several top-level elements (a fragment), returns a synthetic `#fragment` element holding them.
 */
export function parseXmlDocument(text: string): XmlElement {
  const tops: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  const advanceTo = (j: number): void => {
    for (let k = i; k < j; k++) if (text.charCodeAt(k) === 10) line++;
    i = j;
  };
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt < 0) {
      advanceTo(n);
      break;
    }
    advanceTo(lt); // character data: ignored
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) throw new XmlError('unterminated comment', line);
      advanceTo(end + 3);
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) throw new XmlError('unterminated CDATA section', line);
      advanceTo(end + 3);
      continue;
    }
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) throw new XmlError('unterminated processing instruction', line);
      advanceTo(end + 2);
      continue;
    }
    if (text.startsWith('<!', i)) {
      // DOCTYPE (no internal subset support beyond skipping a bracketed block).
      let j = i + 2;
      let depth = 0;
      for (; j < n; j++) {
        const c = text[j];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth <= 0) break;
      }
      if (j >= n) throw new XmlError('unterminated declaration', line);
      advanceTo(j + 1);
      continue;
    }
    if (text.startsWith('</', i)) {
      NAME_RE.lastIndex = i + 2;
      const m = NAME_RE.exec(text);
      if (!m) throw new XmlError('malformed end tag', line);
      const close = text.indexOf('>', i);
      if (close < 0 || text.slice(NAME_RE.lastIndex, close).trim() !== '') throw new XmlError(`malformed end tag </${m[0]}`, line);
      const open = stack.pop();
      if (!open) throw new XmlError(`end tag </${m[0]}> without a start tag`, line);
      if (open.name !== m[0]) throw new XmlError(`end tag </${m[0]}> does not match <${open.name}> of line ${open.line}`, line);
      advanceTo(close + 1);
      continue;
    }
    // Start tag.
    if (!NAME_START.test(text[i + 1] ?? '')) {
      // A stray '<' in character data: lenient, skip it.
      advanceTo(i + 1);
      continue;
    }
    NAME_RE.lastIndex = i + 1;
    const nm = NAME_RE.exec(text)!;
    const el: XmlElement = { name: nm[0], attrs: {}, children: [], line };
    let p = NAME_RE.lastIndex;
    for (;;) {
      ATTR_RE.lastIndex = p;
      const a = ATTR_RE.exec(text);
      if (!a) break;
      const raw = a[3] ?? a[4] ?? '';
      if (Object.hasOwn(el.attrs, a[1]!)) throw new XmlError(`duplicate attribute ${a[1]} on <${el.name}>`, line);
      el.attrs[a[1]!] = decodeEntities(raw, line);
      p = ATTR_RE.lastIndex;
    }
    while (p < n && /\s/.test(text[p]!)) p++;
    let selfClosing = false;
    if (text[p] === '/' && text[p + 1] === '>') {
      selfClosing = true;
      p += 2;
    } else if (text[p] === '>') {
      p += 1;
    } else {
      throw new XmlError(`malformed start tag <${el.name}>`, line);
    }
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else tops.push(el);
    if (!selfClosing) stack.push(el);
    advanceTo(p);
  }
  const open = stack.pop();
  if (open) throw new XmlError(`<${open.name}> is never closed`, open.line);
  if (tops.length === 0) throw new XmlError('no element in the document', line);
  if (tops.length === 1) return tops[0]!;
  return { name: '#fragment', attrs: {}, children: tops, line: 1 };
}

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Writes an element tree as indented XML (attributes in insertion order). */
export function serializeXml(el: XmlElement, indent = '  ', depth = 0): string {
  const pad = indent.repeat(depth);
  const attrs = Object.entries(el.attrs).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  if (el.children.length === 0) {
    // A Structure with no children keeps an explicit start and end tag, as the vectors write it.
    return el.attrs.value === undefined && el.attrs.type === undefined ? `${pad}<${el.name}${attrs}></${el.name}>` : `${pad}<${el.name}${attrs}/>`;
  }
  const inner = el.children.map((c) => serializeXml(c, indent, depth + 1)).join('\n');
  return `${pad}<${el.name}${attrs}>\n${inner}\n${pad}</${el.name}>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Value text <-> TTLV (shared with the JSON encoding)

/** Where a leaf sits, for resolving names that depend on context. */
export interface ValueContext {
  /** For an AttributeValue: the text of the sibling AttributeName. */
  attributeName?: string;
  /** Protocol version of the enclosing message: enumeration values are written with that version's names. */
  version?: Version;
}

/** A tag's enumeration or mask name, looked up through the AttributeName for AttributeValue. */
export function enumNameFor(tag: number, ctx: ValueContext | undefined): string | undefined {
  if (tag === TAG_ATTRIBUTE_VALUE) {
    if (ctx?.attributeName === undefined) return undefined;
    const t = tagByName(ctx.attributeName);
    return t === undefined ? undefined : enumForTag(t.tag);
  }
  return enumForTag(tag);
}

const TAG_ATTRIBUTE = 0x420008;
const TAG_ATTRIBUTE_NAME = 0x42000a;
const TAG_ATTRIBUTE_VALUE = 0x42000b;

/** Item type code by its name ("TextString"); undefined for a name we do not know. */
export function itemTypeByName(name: string): ItemTypeCode | undefined {
  const code = (ItemType as Record<string, number>)[name];
  return code as ItemTypeCode | undefined;
}

export const itemTypeName = (type: number): string => ITEM_TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;

const bad = (msg: string): TtlvError => new TtlvError('BAD_VALUE', msg);

const HEX_RE = /^0x[0-9a-fA-F]+$/;

/**
 * A 32-bit value: decimal in [min, 2^32 - 1] or hex of at most 8 digits (read as the 32 bits, so 0xFFFFFFFF is -1
 * for an Integer).
 */
function parseIntText(s: string, what: string, min = -0x80000000): number {
  const t = s.trim();
  let v: number;
  if (HEX_RE.test(t)) {
    if (t.length - 2 > 8 && !/^0x0*[0-9a-fA-F]{1,8}$/.test(t)) throw bad(`${what}: "${s}" does not fit 32 bits`);
    v = Number.parseInt(t.slice(2), 16);
  } else if (/^[-+]?[0-9]+$/.test(t)) {
    v = Number.parseInt(t, 10);
  } else {
    throw bad(`${what}: "${s}" is not a number`);
  }
  if (v < min || v > 0xffffffff) throw bad(`${what}: ${s} does not fit 32 bits`);
  return v;
}

/** A 64-bit value: decimal in [-2^63, 2^64 - 1] or hex of the 64 bits. */
function parseBigText(s: string, what: string): bigint {
  const t = s.trim();
  let v: bigint;
  if (HEX_RE.test(t) || /^[-+]?[0-9]+$/.test(t)) v = BigInt(t.startsWith('+') ? t.slice(1) : t);
  else throw bad(`${what}: "${s}" is not a number`);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw bad(`${what}: ${s} does not fit 64 bits`);
  return v;
}

/** Hex digits (no `0x`) to bytes. */
export function hexToBytes(s: string, what = 'ByteString'): Uint8Array {
  let t = s.trim();
  if (t.startsWith('0x') || t.startsWith('0X')) t = t.slice(2);
  t = t.replace(/\s+/g, '');
  if (t.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(t)) throw bad(`${what}: "${s.slice(0, 40)}" is not hex`);
  return new Uint8Array(Buffer.from(t, 'hex'));
}

export const bytesToHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** BigInteger text: hex of the big-endian two's complement bytes (the sign is the top bit of the first byte). */
function parseBigInteger(s: string): bigint {
  let t = s.trim().replace(/^0x/i, '');
  if (t.length % 2 === 1) t = '0' + t; // a leading zero nibble left out
  const b = hexToBytes(t, 'BigInteger');
  if (b.length === 0) return 0n;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return BigInt.asIntN(b.length * 8, v);
}

/** ISO 8601 to seconds since the epoch (fractions dropped). */
function parseIsoSeconds(s: string): number {
  const ms = parseIsoMicros(s);
  return Number(ms / 1_000_000n - (ms % 1_000_000n < 0n ? 1n : 0n));
}

const ISO_RE = /^(-?\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

function parseIsoMicros(s: string): bigint {
  const m = ISO_RE.exec(s.trim());
  if (!m) throw bad(`DateTime: "${s}" is not ISO 8601`);
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const [Y, M, D, H, I, S] = [y, mo, d, h, mi, se].map(Number) as [number, number, number, number, number, number];
  if (M < 1 || M > 12 || D < 1 || D > 31 || H > 23 || I > 59 || S > 60) throw bad(`DateTime: "${s}" is not a valid date`);
  const dt = new Date(Date.UTC(2000, M - 1, D, H, I, S));
  dt.setUTCFullYear(Y); // years 0-99 are not 1900-1999
  const base = dt.getTime();
  if (Number.isNaN(base)) throw bad(`DateTime: "${s}" is not a valid date`);
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const z = zone.replace(':', '');
    offsetMin = (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
  }
  const micros = BigInt(((frac ?? '') + '000000').slice(0, 6));
  return (BigInt(base) - BigInt(offsetMin) * 60_000n) * 1000n + micros;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Seconds since the epoch to `YYYY-MM-DDTHH:MM:SS+00:00`, the form the vectors use. */
export function formatDateTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return `0x${BigInt.asUintN(64, BigInt(Math.trunc(seconds))).toString(16).padStart(16, '0')}`;
  const y = d.getUTCFullYear();
  const ys = y < 0 ? '-' + String(-y).padStart(4, '0') : String(y).padStart(4, '0');
  return `${ys}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}+00:00`;
}

function formatDateTimeExtended(micros: bigint): string {
  let secs = micros / 1_000_000n;
  let frac = micros % 1_000_000n;
  if (frac < 0n) {
    frac += 1_000_000n;
    secs -= 1n;
  }
  const base = formatDateTime(Number(secs));
  if (base.startsWith('0x')) return `0x${BigInt.asUintN(64, micros).toString(16).padStart(16, '0')}`;
  return base.replace('+00:00', `.${frac.toString().padStart(6, '0')}+00:00`);
}

/** Mask text: names, hex or decimal parts separated by spaces or '|'. */
function parseMask(text: string, enumName: string | undefined, what: string): number {
  const parts = text.split(/[\s|]+/).filter((p) => p !== '');
  if (parts.length === 0) throw bad(`${what}: empty value`);
  let v = 0;
  const names: string[] = [];
  for (const p of parts) {
    if (HEX_RE.test(p) || /^[-+]?[0-9]+$/.test(p)) v |= parseIntText(p, what);
    else names.push(p);
  }
  if (names.length > 0) {
    if (enumName === undefined || !isMask(enumName)) throw bad(`${what}: "${text}" uses names but the tag has no mask`);
    const m = maskFromNames(enumName, names.join(' '));
    if (m === undefined) throw bad(`${what}: "${text}" has a name that is not in ${enumName}`);
    v |= m;
  }
  return v | 0;
}

function parseEnumeration(text: string, enumName: string | undefined, what: string): number {
  const t = text.trim();
  if (HEX_RE.test(t) || /^[0-9]+$/.test(t)) return parseIntText(t, what, 0) >>> 0;
  if (enumName === undefined) throw bad(`${what}: "${text}" is a name but the tag has no enumeration`);
  const v = enumValue(enumName, t);
  if (v === undefined) throw bad(`${what}: "${text}" is not a value of ${enumName}`);
  return v >>> 0;
}

/** Parses a leaf's value text (the XML `value` attribute, or a JSON string) into a TTLV item. */
export function parseLeafText(tag: number, type: ItemTypeCode, text: string, ctx?: ValueContext): TtlvItem {
  const what = `${tagLabel(tag)} (${itemTypeName(type)})`;
  switch (type) {
    case ItemType.Structure:
      throw bad(`${what}: a Structure has no value text`);
    case ItemType.Integer: {
      const t = text.trim();
      if (HEX_RE.test(t) || /^[-+]?[0-9]+$/.test(t)) return { tag, type, value: parseIntText(t, what) | 0 };
      return { tag, type, value: parseMask(t, enumNameFor(tag, ctx), what) };
    }
    case ItemType.Interval:
      return { tag, type, value: parseIntText(text, what, 0) >>> 0 };
    case ItemType.LongInteger:
      return { tag, type, value: BigInt.asIntN(64, parseBigText(text, what)) };
    case ItemType.BigInteger:
      return { tag, type, value: parseBigInteger(text) };
    case ItemType.Enumeration:
      return { tag, type, value: parseEnumeration(text, enumNameFor(tag, ctx), what) };
    case ItemType.Boolean: {
      const t = text.trim().toLowerCase();
      if (t === 'true' || t === '0x0000000000000001' || t === '1') return { tag, type, value: true };
      if (t === 'false' || t === '0x0000000000000000' || t === '0') return { tag, type, value: false };
      throw bad(`${what}: "${text}" is not a Boolean`);
    }
    case ItemType.TextString:
      return { tag, type, value: text };
    case ItemType.ByteString:
      return { tag, type, value: hexToBytes(text, what) };
    case ItemType.DateTime: {
      const t = text.trim();
      if (HEX_RE.test(t) || /^-?[0-9]+$/.test(t)) return { tag, type, value: Number(BigInt.asIntN(64, parseBigText(t, what))) };
      return { tag, type, value: parseIsoSeconds(t) };
    }
    case ItemType.DateTimeExtended: {
      const t = text.trim();
      if (HEX_RE.test(t) || /^-?[0-9]+$/.test(t)) return { tag, type, value: BigInt.asIntN(64, parseBigText(t, what)) };
      return { tag, type, value: parseIsoMicros(t) };
    }
  }
}

/** A leaf's value as text, the inverse of parseLeafText. */
export function formatLeafText(item: TtlvItem, ctx?: ValueContext, maskSeparator = ' '): string {
  switch (item.type) {
    case ItemType.Structure:
      throw bad(`${tagLabel(item.tag)}: a Structure has no value text`);
    case ItemType.Integer: {
      const enumName = enumNameFor(item.tag, ctx);
      if (enumName !== undefined && isMask(enumName) && item.value !== 0) {
        return maskToNames(enumName, item.value >>> 0, ctx?.version).split(' ').join(maskSeparator);
      }
      return String(item.value);
    }
    case ItemType.Interval:
      return String(item.value);
    case ItemType.LongInteger:
      return item.value.toString();
    case ItemType.BigInteger:
      return bytesToHex(bigIntegerBytes(item.value));
    case ItemType.Enumeration: {
      const enumName = enumNameFor(item.tag, ctx);
      const name = enumName === undefined ? undefined : enumValueName(enumName, item.value >>> 0, ctx?.version);
      return name ?? `0x${(item.value >>> 0).toString(16).padStart(8, '0')}`;
    }
    case ItemType.Boolean:
      return item.value ? 'true' : 'false';
    case ItemType.TextString:
      return item.value;
    case ItemType.ByteString:
      return bytesToHex(item.value);
    case ItemType.DateTime:
      return formatDateTime(item.value);
    case ItemType.DateTimeExtended:
      return formatDateTimeExtended(item.value);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tags

/** The XML name of a tag, or undefined when the tag has none (written as `<TTLV tag="0x...">`). */
export function xmlTagName(tag: number, version?: Version): string | undefined {
  return tagXmlName(tag, version) ?? (version === undefined ? undefined : tagXmlName(tag));
}

/** A tag's name for messages: its XML name or its hex form. */
export function tagLabel(tag: number): string {
  return tagXmlName(tag) ?? `0x${tag.toString(16).padStart(6, '0')}`;
}

/** Resolves an element (or JSON `tag`) to a tag number: `0x42xxxx`, or a spec / XML name. */
export function resolveTag(name: string, tagAttr?: string): number | undefined {
  const t = tagAttr ?? (HEX_RE.test(name) ? name : undefined);
  if (t !== undefined) {
    if (!HEX_RE.test(t.trim())) return undefined;
    const n = Number.parseInt(t.trim().slice(2), 16);
    return n >= 0 && n <= 0xffffff ? n : undefined;
  }
  return tagByName(name)?.tag;
}

// ---------------------------------------------------------------------------------------------------------------
// XML element <-> TTLV

export interface FromXmlOptions {
  /**
   * Called for a leaf whose value is a variable (`$NAME`, as in the test vectors); returns the TTLV
   * item to use (its tag and type are taken from the element) or undefined, which is an error.
   * Without it, a `$` value is read like any other text.
   */
  resolveVariable?: (name: string, type: ItemTypeCode, tag: number) => TtlvItem | undefined;
}

const elementWhere = (el: XmlElement): string => `<${el.name}> at line ${el.line}`;

/** Converts one element (and its subtree) to a TTLV item. */
export function elementToTtlv(el: XmlElement, opts: FromXmlOptions = {}, ctx?: ValueContext): TtlvItem {
  const tag = resolveTag(el.name, el.attrs.tag);
  if (tag === undefined) throw bad(`unknown tag ${elementWhere(el)}`);
  const typeName = el.attrs.type ?? 'Structure';
  const type = itemTypeByName(typeName);
  if (type === undefined) throw bad(`unknown type "${typeName}" on ${elementWhere(el)}`);
  if (type === ItemType.Structure) {
    if (el.attrs.value !== undefined && el.attrs.value !== '') throw bad(`Structure ${elementWhere(el)} has a value`);
    const attributeName = attributeNameOf(el, tag);
    const value = el.children.map((c) => elementToTtlv(c, opts, attributeName === undefined ? undefined : { attributeName }));
    return { tag, type, value };
  }
  if (el.children.length > 0) throw bad(`${typeName} ${elementWhere(el)} has child elements`);
  const text = el.attrs.value;
  if (text === undefined) throw bad(`${elementWhere(el)} has no value`);
  if (opts.resolveVariable && text.startsWith('$')) {
    const v = opts.resolveVariable(text.slice(1), type, tag);
    if (v === undefined) throw bad(`unbound variable ${text} in ${elementWhere(el)}`);
    return retag(v, tag, type, el);
  }
  try {
    return parseLeafText(tag, type, text, ctx);
  } catch (e) {
    if (e instanceof TtlvError) throw bad(`${e.message} at line ${el.line}`);
    throw e;
  }
}

/** The AttributeName text of a 1.x/2.x Attribute structure, for its AttributeValue. */
function attributeNameOf(el: XmlElement, tag: number): string | undefined {
  if (tag !== TAG_ATTRIBUTE) return undefined;
  const n = el.children.find((c) => resolveTag(c.name, c.attrs.tag) === TAG_ATTRIBUTE_NAME);
  return n?.attrs.value;
}

function retag(v: TtlvItem, tag: number, type: ItemTypeCode, el: XmlElement): TtlvItem {
  if (v.type === type) return { ...v, tag } as TtlvItem;
  // Text bound from one type and used as another: convert through the text form when that is meaningful.
  if (type === ItemType.TextString && v.type !== ItemType.Structure) return { tag, type, value: formatLeafText(v) };
  throw bad(`variable for ${elementWhere(el)} is a ${itemTypeName(v.type)}, not a ${itemTypeName(type)}`);
}

/** Parses an XML document holding one message (or any one item) and converts its root element. */
export function fromXml(text: string, opts?: FromXmlOptions): TtlvItem {
  const root = parseXmlDocument(text);
  if (root.name === '#fragment') throw bad('the XML holds several top-level elements');
  return elementToTtlv(root, opts);
}

const TAG_PROTOCOL_VERSION = 0x420069;
const TAG_PROTOCOL_VERSION_MAJOR = 0x42006a;
const TAG_PROTOCOL_VERSION_MINOR = 0x42006b;
const KNOWN_VERSIONS: readonly string[] = ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0', '2.1'];

/**
 * The protocol version a message states in its header (Request/Response Message -> header -> Protocol
 * Version), when it is one the name tables know; undefined otherwise.
 */
export function messageVersion(item: TtlvItem): Version | undefined {
  if (item.type !== ItemType.Structure) return undefined;
  const header = item.value[0];
  if (header?.type !== ItemType.Structure) return undefined;
  const pv = header.value.find((c) => c.tag === TAG_PROTOCOL_VERSION);
  if (pv?.type !== ItemType.Structure) return undefined;
  const major = pv.value.find((c) => c.tag === TAG_PROTOCOL_VERSION_MAJOR)?.value;
  const minor = pv.value.find((c) => c.tag === TAG_PROTOCOL_VERSION_MINOR)?.value;
  if (typeof major !== 'number' || typeof minor !== 'number') return undefined;
  const v = `${major}.${minor}`;
  return KNOWN_VERSIONS.includes(v) ? (v as Version) : undefined;
}

/** The context an Attribute structure gives its children (the AttributeName, for the AttributeValue). */
export function childContext(item: TtlvItem, ctx: ValueContext | undefined): ValueContext | undefined {
  if (item.type !== ItemType.Structure || item.tag !== TAG_ATTRIBUTE) {
    return ctx?.version === undefined ? undefined : { version: ctx.version };
  }
  const n = item.value.find((c) => c.tag === TAG_ATTRIBUTE_NAME && c.type === ItemType.TextString);
  const out: ValueContext = {};
  if (n) out.attributeName = n.value as string;
  if (ctx?.version !== undefined) out.version = ctx.version;
  return out;
}

/**
 * Converts a TTLV item to its element tree. Names are those of `ctx.version`, else of the version the
 * message states in its header, else the current ones.
 */
export function ttlvToElement(item: TtlvItem, ctx?: ValueContext): XmlElement {
  const version = ctx?.version ?? messageVersion(item);
  const here: ValueContext | undefined = version === undefined ? ctx : { ...ctx, version };
  const name = xmlTagName(item.tag, version);
  const attrs: Record<string, string> = {};
  if (name === undefined) attrs.tag = `0x${item.tag.toString(16).padStart(6, '0')}`;
  const el: XmlElement = { name: name ?? 'TTLV', attrs, children: [], line: 0 };
  if (item.type === ItemType.Structure) {
    const cc = childContext(item, here);
    el.children = item.value.map((c) => ttlvToElement(c, cc));
    return el;
  }
  attrs.type = itemTypeName(item.type);
  attrs.value = formatLeafText(item, here);
  return el;
}

export interface ToXmlOptions {
  /** Indentation unit; default two spaces. */
  indent?: string;
  /** Write enumeration names as of this version (default: the version in the message header). */
  version?: Version;
}

/** Writes a TTLV item as XML (no prolog). */
export function toXml(item: TtlvItem, opts: ToXmlOptions = {}): string {
  return serializeXml(ttlvToElement(item, opts.version === undefined ? undefined : { version: opts.version }), opts.indent ?? '  ');
}
