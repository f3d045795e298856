/**
 * Helpers for the key operation tests (Create Key Pair, Register, Get, Re-key): request payloads in 1.x and
 * 2.x form and readers for the answers. Builds on harness.fixture.ts. Not a test file itself.
 */
import { Tag } from '../ttlv/tag.ts';
import { ItemType, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import type { BatchResult, ProtocolVersion } from '../client/client.ts';
import { ruleByTag } from '../messages/attribute-rules.ts';
import { V2_1, attr1x, uidItem, type Harness } from './harness.fixture.ts';

/** Attribute items given in 2.x form become 1.x Attribute structures for a 1.x request. */
export function attrsFor(version: ProtocolVersion, items: readonly TtlvItem[]): TtlvItem[] {
  if (version.major >= 2) return [...items];
  return items.map((a) => {
    if (a.tag === Tag.Attribute) return a;
    const rule = ruleByTag(a.tag);
    if (!rule) throw new Error(`no attribute rule for tag 0x${a.tag.toString(16)}`);
    return attr1x(rule.name, a);
  });
}

/** A 1.x Template-Attribute / 2.x Attributes container (1.x: extra items such as template Names go first). */
export function container(version: ProtocolVersion, tag1x: number, tag2x: number, items: readonly TtlvItem[], templateNames: readonly TtlvItem[] = []): StructureItem {
  return version.major >= 2 ? struct(tag2x, [...items]) : struct(tag1x, [...templateNames, ...attrsFor(version, items)]);
}

/** Create Key Pair payload from 2.x-form attribute lists. */
export function keyPairPayload(version: ProtocolVersion, common: TtlvItem[], priv: TtlvItem[] = [], pub: TtlvItem[] = []): TtlvItem[] {
  return [
    container(version, Tag.CommonTemplateAttribute, Tag.CommonAttributes, common),
    container(version, Tag.PrivateKeyTemplateAttribute, Tag.PrivateKeyAttributes, priv),
    container(version, Tag.PublicKeyTemplateAttribute, Tag.PublicKeyAttributes, pub),
  ];
}

export function textField(r: BatchResult, tag: number): string {
  const v = r.payload?.value.find((i) => i.tag === tag);
  if (v?.type !== ItemType.TextString) throw new Error(`no text field 0x${tag.toString(16)} (${r.statusName} ${r.reasonName ?? ''} ${r.message ?? ''})`);
  return v.value;
}

export const ok = (r: BatchResult): BatchResult => {
  if (r.status !== 0) throw new Error(`${r.operationName} failed: ${r.reasonName} ${r.message}`);
  return r;
};

/** The object structure (Symmetric Key, Private Key ...) a Get returned. */
export function objectOf(r: BatchResult): StructureItem {
  const o = r.payload?.value[2];
  if (o?.type !== ItemType.Structure) throw new Error('no object in the Get response');
  return o;
}

export function keyBlockOf(r: BatchResult): StructureItem {
  const b = objectOf(r).value.find((i) => i.tag === Tag.KeyBlock);
  if (b?.type !== ItemType.Structure) throw new Error('no Key Block');
  return b;
}

/** All of an object's attributes by name (2.1 Get Attributes): attribute tag → values in order. */
export async function attributes2x(h: Harness, uid: string): Promise<Map<number, TtlvItem[]>> {
  const r = ok(await h.one(V2_1, 'GetAttributes', [uidItem(uid)]));
  const attrs = r.payload?.value.find((i) => i.tag === Tag.Attributes);
  const out = new Map<number, TtlvItem[]>();
  if (attrs?.type !== ItemType.Structure) return out;
  for (const a of attrs.value) out.set(a.tag, [...(out.get(a.tag) ?? []), a]);
  return out;
}

/** A Link value's (type, uid) pairs. */
export function links(values: readonly TtlvItem[] | undefined): [number, string][] {
  return (values ?? []).map((v) => {
    if (v.type !== ItemType.Structure) throw new Error('Link is not a structure');
    const t = v.value.find((i) => i.tag === Tag.LinkType);
    const id = v.value.find((i) => i.tag === Tag.LinkedObjectIdentifier);
    return [t?.type === ItemType.Enumeration ? t.value : -1, id?.type === ItemType.TextString ? id.value : ''];
  });
}

export function nameValues(values: readonly TtlvItem[] | undefined): string[] {
  return (values ?? []).map((v) => {
    const n = v.type === ItemType.Structure ? v.value.find((i) => i.tag === Tag.NameValue) : undefined;
    return n?.type === ItemType.TextString ? n.value : '';
  });
}

export const uidText = (uid: string): TtlvItem => text(Tag.UniqueIdentifier, uid);
