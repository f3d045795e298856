import { Tag } from '../ttlv/tag.ts';
import { ItemType, struct, text, int, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { TAGS } from '../ttlv/spec/tables.ts';
import { TAG_ENUM_NAME, VERSION_ORDER, enumForTag, enumSinceIndex, isMask, tagSinceIndex, versionIndex } from '../ttlv/spec/names.ts';
import { invalidField, missingData } from './errors.ts';
import { ruleByName, ruleByTag, type AttributeRule } from './attribute-rules.ts';
import { atLeast, compareVersions, type ProtocolVersion } from './version.ts';
import { find, findAll, optInt, optText, reqText } from './tree.ts';

/**
 * One attribute instance in the server's canonical form: the 1.x attribute name and the value
 * item tagged Attribute Value. Custom attributes keep their name (`x-Purpose`); 2.x Vendor
 * Attributes become `<vendor>-<name>`, which is the same thing for vendors `x` and `y`.
 */
export interface AttributeEntry {
  name: string;
  value: TtlvItem;
}

const SPEC_NAME_BY_TAG = new Map<number, string>();
for (const t of TAGS) if (!SPEC_NAME_BY_TAG.has(t.tag)) SPEC_NAME_BY_TAG.set(t.tag, t.name);

export const asAttributeValue = (item: TtlvItem): TtlvItem => ({ ...item, tag: Tag.AttributeValue }) as TtlvItem;

function checkValueType(rule: AttributeRule | undefined, name: string, value: TtlvItem): void {
  if (!rule) return;
  const expected = EXPECTED_TYPES.get(rule.tag);
  if (expected !== undefined && expected !== value.type) throw invalidField(`attribute ${name} has the wrong value type`);
  if (value.type === ItemType.Structure) checkKnownTags(name, value);
}

/**
 * A standard attribute's structure holds KMIP fields (or vendor extensions, 0x54xxxx): a tag KMIP does not define
 * would be stored and handed to every later reader, whose decoder may not survive it.
 */
function checkKnownTags(name: string, s: StructureItem): void {
  for (const c of s.value) {
    if ((c.tag & 0xff0000) !== 0x540000 && tagSinceIndex(c.tag) < 0) {
      throw invalidField(`attribute ${name} holds a field with unknown tag 0x${c.tag.toString(16)}`);
    }
    if (c.type === ItemType.Structure) checkKnownTags(name, c);
  }
}

/** Item types of the standard attributes (what the spec defines; checked on every write). */
const EXPECTED_TYPES = new Map<number, number>([
  [Tag.UniqueIdentifier, ItemType.TextString],
  [Tag.Name, ItemType.Structure],
  [Tag.ObjectType, ItemType.Enumeration],
  [Tag.CryptographicAlgorithm, ItemType.Enumeration],
  [Tag.CryptographicLength, ItemType.Integer],
  [Tag.CryptographicParameters, ItemType.Structure],
  [Tag.CryptographicDomainParameters, ItemType.Structure],
  [Tag.CertificateType, ItemType.Enumeration],
  [Tag.CertificateLength, ItemType.Integer],
  [Tag.DigitalSignatureAlgorithm, ItemType.Enumeration],
  [Tag.Digest, ItemType.Structure],
  [Tag.OperationPolicyName, ItemType.TextString],
  [Tag.CryptographicUsageMask, ItemType.Integer],
  [Tag.LeaseTime, ItemType.Interval],
  [Tag.UsageLimits, ItemType.Structure],
  [Tag.State, ItemType.Enumeration],
  [Tag.InitialDate, ItemType.DateTime],
  [Tag.ActivationDate, ItemType.DateTime],
  [Tag.ProcessStartDate, ItemType.DateTime],
  [Tag.ProtectStopDate, ItemType.DateTime],
  [Tag.DeactivationDate, ItemType.DateTime],
  [Tag.DestroyDate, ItemType.DateTime],
  [Tag.CompromiseOccurrenceDate, ItemType.DateTime],
  [Tag.CompromiseDate, ItemType.DateTime],
  [Tag.RevocationReason, ItemType.Structure],
  [Tag.ArchiveDate, ItemType.DateTime],
  [Tag.ObjectGroup, ItemType.TextString],
  [Tag.Fresh, ItemType.Boolean],
  [Tag.Link, ItemType.Structure],
  [Tag.ApplicationSpecificInformation, ItemType.Structure],
  [Tag.ContactInformation, ItemType.TextString],
  [Tag.LastChangeDate, ItemType.DateTime],
  [Tag.AlternativeName, ItemType.Structure],
  [Tag.KeyValuePresent, ItemType.Boolean],
  [Tag.KeyValueLocation, ItemType.Structure],
  [Tag.OriginalCreationDate, ItemType.DateTime],
  [Tag.RandomNumberGenerator, ItemType.Structure],
  [Tag.PKCS_12FriendlyName, ItemType.TextString],
  [Tag.Description, ItemType.TextString],
  [Tag.Comment, ItemType.TextString],
  [Tag.Sensitive, ItemType.Boolean],
  [Tag.AlwaysSensitive, ItemType.Boolean],
  [Tag.Extractable, ItemType.Boolean],
  [Tag.NeverExtractable, ItemType.Boolean],
]);

/** The canonical attribute name for a 1.x Attribute Name string (case-insensitive for standard ones). */
export function canonicalName(name: string): string {
  return ruleByName(name)?.name ?? name;
}

export const isCustom = (name: string): boolean => ruleByName(name) === undefined;

/** Parses a 1.x `Attribute {Attribute Name, Attribute Index?, Attribute Value}` or a 2.x Vendor Attribute. */
export function parseAttributeStruct(item: StructureItem): AttributeEntry & { index?: number } {
  const vendor = optText(item, Tag.VendorIdentification);
  const rawName = reqText(item, Tag.AttributeName);
  const name = vendor !== undefined ? `${vendor}-${rawName}` : canonicalName(rawName);
  const index = optInt(item, Tag.AttributeIndex);
  const value = find(item, Tag.AttributeValue);
  if (!value) throw missingData(`attribute ${name} has no value`);
  checkValueType(ruleByName(name), name, value);
  return index === undefined ? { name, value } : { name, value, index };
}

/** Parses one item of a 2.x Attributes structure (the attribute's own tag, or a Vendor Attribute). */
export function parseAttribute2x(item: TtlvItem): AttributeEntry {
  if (item.tag === Tag.Attribute && item.type === ItemType.Structure) return parseAttributeStruct(item);
  const rule = ruleByTag(item.tag);
  if (!rule) throw invalidField(`unknown attribute ${SPEC_NAME_BY_TAG.get(item.tag) ?? '0x' + item.tag.toString(16)}`);
  checkValueType(rule, rule.name, item);
  return { name: rule.name, value: asAttributeValue(item) };
}

/** Attributes from a 1.x Template-Attribute (its Attribute items) or a 2.x Attributes structure. */
export function parseAttributeList(container: StructureItem | undefined): AttributeEntry[] {
  if (!container) return [];
  if (container.tag === Tag.Attributes || container.tag === Tag.CommonAttributes || container.tag === Tag.PrivateKeyAttributes || container.tag === Tag.PublicKeyAttributes) {
    return container.value.map(parseAttribute2x);
  }
  const out: AttributeEntry[] = [];
  for (const a of findAll(container, Tag.Attribute)) {
    if (a.type !== ItemType.Structure) throw invalidField('Attribute is not a structure');
    const { name, value } = parseAttributeStruct(a);
    out.push({ name, value });
  }
  return out;
}

/** True when `version` may carry this attribute (never send an attribute newer than the request). */
export function attributeVisible(name: string, version: ProtocolVersion): boolean {
  const rule = ruleByName(name);
  if (!rule) return true;
  if (compareVersions(version, rule.since) < 0) return false;
  if (rule.until && compareVersions(version, rule.until) > 0) return false;
  return true;
}

/** Per tag, per value: the position in VERSION_ORDER of the first version with that value of the tag's enumeration. */
const ENUM_VALUE_SINCE = new Map<number, Map<number, number>>();
function enumValueSinceIndex(tag: number, value: number): number {
  let byValue = ENUM_VALUE_SINCE.get(tag);
  if (!byValue) {
    byValue = new Map();
    if (ENUM_VALUE_SINCE.size < 4096) ENUM_VALUE_SINCE.set(tag, byValue);
  }
  let i = byValue.get(value);
  if (i === undefined) {
    const e = enumForTag(tag);
    // Bit masks and the Tag enumeration (Attribute Reference) count as always there.
    i = e && e !== TAG_ENUM_NAME && !isMask(e) ? enumSinceIndex(e, value) : 0;
    if (byValue.size < 1024) byValue.set(value, i);
  }
  return i;
}

/**
 * A standard attribute's value as a reader of version index `v` sees it. A field the version lacks is left out (an
 * object made at 1.4, Cryptographic Parameters with Mask Generator say, read by a 1.0 client); an enumeration value
 * the version lacks (a Link of type Next Link, 1.2, read at 1.1) makes the instance unreadable: undefined. Copies
 * only what changes.
 */
function valueAt(value: TtlvItem, tag: number, v: number): TtlvItem | undefined {
  if (value.type === ItemType.Enumeration) return enumValueSinceIndex(tag, value.value) <= v ? value : undefined;
  if (value.type !== ItemType.Structure) return value;
  let kids: TtlvItem[] | undefined;
  for (let j = 0; j < value.value.length; j++) {
    const c = value.value[j]!;
    const seen = tagSinceIndex(c.tag) > v ? null : valueAt(c, c.tag, v);
    if (seen === undefined) return undefined;
    if (seen !== c && !kids) kids = value.value.slice(0, j);
    if (kids && seen !== null) kids.push(seen);
  }
  return kids ? { ...value, value: kids } : value;
}

/**
 * The wire form of an attribute instance for `version` (1.x Attribute structure, or 2.x tagged item), or undefined
 * when the reader could not decode it (an enumeration value its version lacks): left out of answers, as an
 * attribute newer than the version is. Custom attributes are the client's own data and go back as stored.
 */
export function emitVisibleAttribute(entry: AttributeEntry, version: ProtocolVersion, index?: number): TtlvItem | undefined {
  const rule = ruleByName(entry.name);
  let value: TtlvItem | undefined = entry.value;
  const v = versionIndex(version);
  if (rule && v >= 0 && v < VERSION_ORDER.length - 1) value = valueAt(entry.value, rule.tag, v);
  return value && wireForm(entry.name, value, rule, version, index);
}

/**
 * The wire form of an attribute instance for `version`, always: fields the version lacks left out, an enumeration
 * value it lacks kept (the echo of what a client just wrote, at its own version).
 */
export function emitAttribute(entry: AttributeEntry, version: ProtocolVersion, index?: number): TtlvItem {
  const rule = ruleByName(entry.name);
  const v = versionIndex(version);
  let value = entry.value;
  if (rule && v >= 0 && v < VERSION_ORDER.length - 1) {
    const byFields = (x: TtlvItem): TtlvItem => (x.type === ItemType.Structure
      ? { ...x, value: x.value.filter((c) => tagSinceIndex(c.tag) <= v).map(byFields) }
      : x);
    value = valueAt(entry.value, rule.tag, v) ?? byFields(entry.value);
  }
  return wireForm(entry.name, value, rule, version, index);
}

function wireForm(name: string, value: TtlvItem, rule: AttributeRule | undefined, version: ProtocolVersion, index?: number): TtlvItem {
  if (!atLeast(version, 2, 0)) {
    const items: TtlvItem[] = [text(Tag.AttributeName, name)];
    if (index !== undefined && index > 0) items.push(int(Tag.AttributeIndex, index));
    items.push(value);
    return struct(Tag.Attribute, items);
  }
  if (rule) return { ...value, tag: rule.tag } as TtlvItem;
  const dash = name.indexOf('-');
  const vendor = dash > 0 ? name.slice(0, dash) : 'x';
  const bare = dash > 0 ? name.slice(dash + 1) : name;
  return struct(Tag.Attribute, [text(Tag.VendorIdentification, vendor), text(Tag.AttributeName, bare), value]);
}

/** Stored form: a structure of 1.x Attribute items, version-independent. */
export function encodeAttributeEntries(entries: readonly AttributeEntry[]): StructureItem {
  return struct(Tag.Attributes, entries.map((e) => struct(Tag.Attribute, [text(Tag.AttributeName, e.name), e.value])));
}

export function decodeAttributeEntries(s: StructureItem): AttributeEntry[] {
  return s.value.map((a) => {
    const st = a as StructureItem;
    return { name: (st.value[0] as { value: string }).value, value: st.value[1]! };
  });
}
