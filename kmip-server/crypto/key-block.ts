import { Tag } from '../ttlv/tag.ts';
import { ItemType, enumeration, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';

/** Reading and rewriting a Key Block { Key Format Type, Key Value { Key Material, Attribute* }, ... }. */

export function formatOf(block: StructureItem): number | undefined {
  const f = block.value.find((i) => i.tag === Tag.KeyFormatType);
  return f?.type === ItemType.Enumeration ? f.value : undefined;
}

/** The Key Material of a plaintext Key Value (undefined when the value is absent or wrapped as bytes). */
export function materialOf(block: StructureItem): TtlvItem | undefined {
  const kv = block.value.find((i) => i.tag === Tag.KeyValue);
  return kv?.type === ItemType.Structure ? kv.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
}

export const isWrapped = (block: StructureItem): boolean => block.value.some((i) => i.tag === Tag.KeyWrappingData);

/** The block with another Key Format Type and Key Material; everything else (algorithm, length, Key Value attributes) kept. */
export function withMaterial(block: StructureItem, format: number, material: TtlvItem): StructureItem {
  return struct(Tag.KeyBlock, block.value.map((i): TtlvItem => {
    if (i.tag === Tag.KeyFormatType) return enumeration(Tag.KeyFormatType, format);
    if (i.tag === Tag.KeyValue && i.type === ItemType.Structure) {
      return struct(Tag.KeyValue, i.value.map((k) => (k.tag === Tag.KeyMaterial ? material : k)));
    }
    return i;
  }));
}
