// Name helpers over the generated KMIP tables (./tables.ts): spec names <-> XML/JSON names, tag and enumeration
// lookups, bit masks. Hand-written; the tables themselves are generated (npm run gen:spec).

import { ENUMS, TAG_ENUM, TAGS } from './tables.ts';
import type { EnumDef, EnumValueDef, TagDef, Version } from './tables.ts';

export type { EnumDef, EnumValueDef, TagDef, Version } from './tables.ts';

export const VERSION_ORDER: readonly Version[] = ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0', '2.1'];

/** The pseudo-enumeration whose values are the tags themselves (2.1 §11.56, used by Attribute Reference). */
export const TAG_ENUM_NAME = 'Tag';

/**
 * The CamelCase form of a spec name used by the KMIP XML and JSON encodings and the OASIS test vectors, per the
 * "Normalizing Names" rule of the KMIP Additional Message Encodings:
 *  1. round brackets become spaces;
 *  2. a non-word character (not a letter, digit or underscore) followed by a letter and then a lower-case letter
 *     is a word boundary and becomes a space ("Template-Attribute", "On-line", "IV/Counter/Nonce");
 *  3. any other non-word character (besides spaces) becomes an underscore ("HMAC-SHA1" -> HMAC_SHA1,
 *     "X.509" -> X_509, "PKCS#1" -> PKCS_1, "SHA-256" -> SHA_256, "GF (2^8)" -> GF2_8);
 *  4. digits starting the first word move to the end of that word ("3DES" -> DES3);
 *  5. each word gets an upper-case first letter; 6. the words are concatenated.
 */
export function xmlName(specName: string): string {
  let s = specName.replace(/[()]/g, ' ');
  s = s.replace(/[^A-Za-z0-9_](?=[A-Za-z][a-z])/g, ' ');
  s = s.replace(/[^A-Za-z0-9_\s]/g, '_');
  const words = s.split(/\s+/).filter((w) => w !== '');
  return words
    .map((w, i) => {
      const x = i === 0 ? w.replace(/^(\d+)(.*)$/, '$2$1') : w;
      return x.charAt(0).toUpperCase() + x.slice(1);
    })
    .join('');
}

/** True when `def` exists in KMIP `version`. */
export function validIn(def: { since: Version; until?: Version }, version: Version): boolean {
  const v = VERSION_ORDER.indexOf(version);
  return VERSION_ORDER.indexOf(def.since) <= v && (def.until === undefined || v <= VERSION_ORDER.indexOf(def.until));
}

/** Lookup key for spec names: case and spacing insensitive. */
function loose(name: string): string {
  return name.replace(/[\s\u00a0]+/g, ' ').trim().toLowerCase();
}

/** Of several definitions sharing a name or a value, the one valid in `version`, else the current one. */
function pick<T extends { since: Version; until?: Version }>(defs: readonly T[] | undefined, version?: Version): T | undefined {
  if (!defs || defs.length === 0) return undefined;
  if (version) return defs.find((d) => validIn(d, version));
  return defs.find((d) => d.until === undefined) ?? defs[defs.length - 1];
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) {
    if (!a.includes(v)) a.push(v);
  } else m.set(k, [v]);
}

function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^\d+$/.test(t)) return parseInt(t, 10);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Tags

const tagsByXml = new Map<string, TagDef[]>();
const tagsByLoose = new Map<string, TagDef[]>();
const tagsByValue = new Map<number, TagDef[]>();
for (const t of TAGS) {
  push(tagsByXml, xmlName(t.name), t);
  push(tagsByLoose, loose(t.name), t);
  push(tagsByValue, t.tag, t);
}

/**
 * The tag definition for a spec name ("Cryptographic Algorithm"), an XML name ("CryptographicAlgorithm") or a hex
 * tag ("0x420028"). With `version`, only a definition valid in that version is returned.
 */
export function tagByName(name: string, version?: Version): TagDef | undefined {
  const defs = tagsByXml.get(name) ?? tagsByLoose.get(loose(name));
  if (defs) return pick(defs, version);
  const n = /^0x/i.test(name.trim()) ? parseNumber(name) : undefined;
  return n === undefined ? undefined : pick(tagsByValue.get(n), version);
}

/** The tag definition for a tag number (the version's name where a tag was renamed, else the current one). */
export function tagByValue(tag: number, version?: Version): TagDef | undefined {
  return pick(tagsByValue.get(tag), version);
}

/** Spec name of a tag number, e.g. 0x420028 -> "Cryptographic Algorithm". */
export function tagName(tag: number, version?: Version): string | undefined {
  return tagByValue(tag, version)?.name;
}

/** XML/JSON name of a tag number, e.g. 0x420028 -> "CryptographicAlgorithm". */
export function tagXmlName(tag: number, version?: Version): string | undefined {
  const t = tagByValue(tag, version);
  return t ? xmlName(t.name) : undefined;
}

/** The first version a tag (number, spec name or XML name) exists in. */
export function tagSince(tag: number | string): Version | undefined {
  const defs = typeof tag === 'number' ? tagsByValue.get(tag) : (() => {
    const d = tagByName(tag);
    return d ? tagsByValue.get(d.tag) : undefined;
  })();
  if (!defs || defs.length === 0) return undefined;
  return defs.map((d) => d.since).sort((a, b) => VERSION_ORDER.indexOf(a) - VERSION_ORDER.indexOf(b))[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Enumerations and masks

interface EnumIndex {
  def: EnumDef;
  byXml: Map<string, EnumValueDef[]>;
  byLoose: Map<string, EnumValueDef[]>;
  byValue: Map<number, EnumValueDef[]>;
}

const enumsByXml = new Map<string, EnumIndex>();
const enumsByLoose = new Map<string, EnumIndex>();
for (const def of ENUMS) {
  const ix: EnumIndex = { def, byXml: new Map(), byLoose: new Map(), byValue: new Map() };
  for (const v of def.values) {
    push(ix.byXml, xmlName(v.name), v);
    push(ix.byLoose, loose(v.name), v);
    push(ix.byValue, v.value, v);
  }
  enumsByXml.set(xmlName(def.name), ix);
  enumsByLoose.set(loose(def.name), ix);
}

function enumIndex(enumName: string): EnumIndex | undefined {
  return enumsByXml.get(enumName) ?? enumsByLoose.get(loose(enumName));
}

function isTagEnum(enumName: string): boolean {
  return enumName === TAG_ENUM_NAME;
}

/** The enumeration or bit-mask definition for a spec or XML name ("Object Type", "ObjectType"). */
export function enumDef(enumName: string): EnumDef | undefined {
  return enumIndex(enumName)?.def;
}

/** True for the bit-mask tables (Cryptographic Usage Mask, Storage Status Mask, Protection Storage Mask). */
export function isMask(enumName: string): boolean {
  return enumIndex(enumName)?.def.mask === true;
}

/**
 * The numeric value of an enumeration value given by spec name ("Symmetric Key"), XML name ("SymmetricKey") or hex
 * literal ("0x00000002", also for extension values). For the "Tag" enumeration, the value names are tag names.
 * Names of every version are accepted.
 */
export function enumValue(enumName: string, valueName: string): number | undefined {
  const n = /^0x[0-9a-f]+$/i.test(valueName.trim()) ? parseNumber(valueName) : undefined;
  if (isTagEnum(enumName)) return n ?? tagByName(valueName)?.tag;
  const ix = enumIndex(enumName);
  if (!ix) return undefined;
  if (n !== undefined) return n;
  const defs = ix.byXml.get(valueName) ?? ix.byLoose.get(loose(valueName));
  return defs?.[0]?.value;
}

/** The definition of an enumeration value by number, as named in `version` (default: the current name). */
export function enumValueDef(enumName: string, value: number, version?: Version): EnumValueDef | undefined {
  return pick(enumIndex(enumName)?.byValue.get(value), version);
}

/**
 * The first version that defines this value of the enumeration, under any of its names (a value renamed in 2.0,
 * SHA-1 with RSA Encryption say, has a 2.0 definition but exists since 1.0); undefined for values no table has.
 */
export function enumValueSince(enumName: string, value: number): Version | undefined {
  for (const v of VERSION_ORDER) {
    const d = enumValueDef(enumName, value, v);
    if (d && validIn(d, v)) return v;
  }
  return undefined;
}

const TAG_SINCE_INDEX = new Map<number, number>();
/**
 * Position in VERSION_ORDER of the first version with `tag`, memoized for the answer paths that ask per item;
 * -1 for a tag no table defines (a vendor extension or garbage).
 */
export function tagSinceIndex(tag: number): number {
  let i = TAG_SINCE_INDEX.get(tag);
  if (i === undefined) {
    const since = tagSince(tag);
    i = since === undefined ? -1 : VERSION_ORDER.indexOf(since);
    if (TAG_SINCE_INDEX.size < 10_000) TAG_SINCE_INDEX.set(tag, i);
  }
  return i;
}

const ENUM_SINCE_INDEX = new Map<string, number>();
/** Position in VERSION_ORDER of the first version with this enumeration value (enumValueSince), memoized; -1 if unknown. */
export function enumSinceIndex(enumName: string, value: number): number {
  const key = `${enumName}\u0000${value}`;
  let i = ENUM_SINCE_INDEX.get(key);
  if (i === undefined) {
    const since = enumValueSince(enumName, value);
    i = since === undefined ? -1 : VERSION_ORDER.indexOf(since);
    if (ENUM_SINCE_INDEX.size < 10_000) ENUM_SINCE_INDEX.set(key, i);
  }
  return i;
}

const VERSION_INDEX = new Map<number, number>(VERSION_ORDER.map((v, i) => {
  const [major, minor] = v.split('.').map(Number) as [number, number];
  return [major * 256 + minor, i];
}));
/** Position of a protocol version in VERSION_ORDER; -1 for one no table knows. */
export const versionIndex = (v: { major: number; minor: number }): number =>
  (v.minor >= 0 && v.minor < 256 ? VERSION_INDEX.get(v.major * 256 + v.minor) : undefined) ?? -1;

/** The XML/JSON name of an enumeration value, e.g. ("Object Type", 2) -> "SymmetricKey"; undefined if unnamed. */
export function enumValueName(enumName: string, value: number, version?: Version): string | undefined {
  if (isTagEnum(enumName)) return tagXmlName(value, version);
  const d = enumValueDef(enumName, value, version);
  return d ? xmlName(d.name) : undefined;
}

/**
 * A mask value from its symbolic form: names separated by spaces or "|" ("Encrypt Decrypt", "Encrypt|Decrypt"),
 * XML names or single-word spec names, hex or decimal literals allowed as tokens. Undefined if a token is unknown.
 */
export function maskFromNames(maskName: string, names: string): number | undefined {
  const ix = enumIndex(maskName);
  if (!ix) return undefined;
  let v = 0;
  for (const tok of names.split(/[\s|]+/).filter((x) => x !== '')) {
    const n = parseNumber(tok);
    const bit = n ?? (ix.byXml.get(tok) ?? ix.byLoose.get(loose(tok)))?.[0]?.value;
    if (bit === undefined) return undefined;
    v = (v | bit) >>> 0;
  }
  return v;
}

/**
 * The symbolic form of a mask value: the XML names of its bits, in bit order, space-separated; bits without a name
 * (in `version`) are appended as one hex literal.
 */
export function maskToNames(maskName: string, value: number, version?: Version): string {
  const ix = enumIndex(maskName);
  const out: string[] = [];
  let rest = value >>> 0;
  if (ix) {
    const bits = [...ix.byValue.keys()].filter((b) => b !== 0 && (b & (b - 1)) === 0).sort((a, b) => a - b);
    for (const b of bits) {
      if ((rest & b) === 0) continue;
      const d = pick(ix.byValue.get(b), version);
      if (!d) continue;
      out.push(xmlName(d.name));
      rest = (rest & ~b) >>> 0;
    }
  }
  if (rest !== 0) out.push('0x' + rest.toString(16).toUpperCase().padStart(8, '0'));
  return out.join(' ');
}

/** Name of the enumeration or mask a tag's value uses ("Tag" for Attribute Reference), by spec/XML tag name or number. */
export function enumForTag(tag: string | number): string | undefined {
  const def = typeof tag === 'number' ? tagByValue(tag) : tagByName(tag);
  if (!def) return undefined;
  const direct = TAG_ENUM[def.name];
  if (direct) return direct;
  // a renamed tag: any name the tag number had
  for (const d of tagsByValue.get(def.tag) ?? []) {
    const e = TAG_ENUM[d.name];
    if (e) return e;
  }
  return undefined;
}
