/**
 * Checks that an answer carries nothing newer than its protocol version: a 1.0 client cannot decode a tag or an
 * attribute name its version does not have. Shared by the client-shape tests and the dispatcher fuzzer.
 */
import { enumForTag, enumValueDef, enumValueSince, isMask, tagByName, tagName, tagSince, type Version } from '../../kmip-server/ttlv/spec/names.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';

export const VERSIONS: readonly Version[] = ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0', '2.1'];
export const newer = (a: Version, than: Version): boolean => VERSIONS.indexOf(a) > VERSIONS.indexOf(than);
const hex = (t: number): string => `0x${t.toString(16).toUpperCase()}`;

/** Every tag in `item` that `version` does not have (or no version has), with its path. */
export function tagsNewerThan(item: TtlvItem, version: Version, path = ''): string[] {
  const name = tagName(item.tag) ?? hex(item.tag);
  const here = `${path}/${name}`;
  const since = tagSince(item.tag);
  const out: string[] = [];
  const extension = (item.tag & 0xff0000) === 0x540000; // vendor extensions belong to no version
  if (since === undefined && !extension) out.push(`${here} (unknown tag ${hex(item.tag)})`);
  else if (since !== undefined && newer(since, version)) out.push(`${here} (since ${since})`);
  if (item.type === ItemType.Structure) for (const c of item.value) out.push(...tagsNewerThan(c, version, here));
  return out;
}

/** Attribute Names in 1.x Attribute structures anywhere in `item` that `version` does not define (custom x-/y- aside). */
export function attributeNamesNewerThan(item: TtlvItem, version: Version): string[] {
  const out: string[] = [];
  if (item.type !== ItemType.Structure) return out;
  if (item.tag === Tag.Attribute) {
    const nameItem = item.value.find((c) => c.tag === Tag.AttributeName);
    const n = nameItem?.type === ItemType.TextString ? nameItem.value : undefined;
    if (n !== undefined && !/^[xy]-/.test(n)) {
      const def = tagByName(n);
      if (!def) out.push(`${n} (not a KMIP attribute)`);
      else if (!tagByName(n, version)) out.push(`${n} (since ${tagSince(def.tag)})`);
    }
  }
  for (const c of item.value) out.push(...attributeNamesNewerThan(c, version));
  return out;
}

/**
 * Enumeration values in `item` that `version` does not define (a 1.0 client decoding Object Type PGP Key, say).
 * Values outside every table (vendor extensions, 0x8xxxxxxx) and bit masks are left out.
 */
export function enumValuesNewerThan(item: TtlvItem, version: Version, path = ''): string[] {
  const here = `${path}/${tagName(item.tag) ?? hex(item.tag)}`;
  const out: string[] = [];
  if (item.type === ItemType.Enumeration) {
    const e = enumForTag(item.tag);
    if (e && e !== 'Tag' && !isMask(e)) {
      const since = enumValueSince(e, item.value);
      if (since && newer(since, version)) out.push(`${here} = ${enumValueDef(e, item.value)?.name} (since ${since})`);
    }
  }
  if (item.type === ItemType.Structure) for (const c of item.value) out.push(...enumValuesNewerThan(c, version, here));
  return out;
}
