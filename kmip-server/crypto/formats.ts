import { Tag } from '../ttlv/tag.ts';
import { KeyFormatType, ObjectType } from '../ttlv/enums.ts';
import { ItemType, bytes, struct, type StructureItem } from '../ttlv/types.ts';
import { KmipError } from '../messages/errors.ts';
import { ResultReason } from '../ttlv/enums.ts';
import { convertAsymmetric } from './asymmetric-formats.ts';
import { isWrapped, materialOf, withMaterial } from './key-block.ts';

/**
 * Converts an object's Key Block to the Key Format Type a Get asks for. Symmetric keys convert
 * between Raw and Transparent Symmetric Key; asymmetric conversions live beside this in
 * crypto/asymmetric-formats.ts (registered at the end of this file). A wrapped key converts to
 * nothing. Anything else is Key Format Type Not Supported.
 */
export type FormatConverter = (objectType: number, block: StructureItem, to: number) => StructureItem | undefined;

const converters: FormatConverter[] = [];

export function registerFormatConverter(c: FormatConverter): void {
  converters.push(c);
}

export function convertKeyBlock(objectType: number, block: StructureItem, to: number): StructureItem {
  const from = block.value.find((i) => i.tag === Tag.KeyFormatType);
  if (from?.type === ItemType.Enumeration && from.value === to) return block;
  for (const c of converters) {
    const out = c(objectType, block, to);
    if (out) return out;
  }
  throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'the object cannot be returned in that Key Format Type');
}

registerFormatConverter((objectType, block, to) => {
  if (objectType !== ObjectType.SymmetricKey && objectType !== ObjectType.SecretData) return undefined;
  const m = materialOf(block);
  if (!m || isWrapped(block)) return undefined;
  if (to === KeyFormatType.TransparentSymmetricKey && m.type === ItemType.ByteString) {
    return withMaterial(block, to, struct(Tag.KeyMaterial, [bytes(Tag.Key, m.value)]));
  }
  if (to === KeyFormatType.Raw && m.type === ItemType.Structure) {
    const key = m.value.find((i) => i.tag === Tag.Key);
    if (key?.type === ItemType.ByteString) return withMaterial(block, to, bytes(Tag.KeyMaterial, key.value));
  }
  return undefined;
});

registerFormatConverter(convertAsymmetric);
