import { ItemType, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { invalidField, missingData } from './errors.ts';
import { tagLabel } from '../ttlv/names.ts';

/** Reading helpers over decoded structures. They throw KmipErrors naming the field. */

export const find = (s: StructureItem, tag: number): TtlvItem | undefined => s.value.find((i) => i.tag === tag);
export const findAll = (s: StructureItem, tag: number): TtlvItem[] => s.value.filter((i) => i.tag === tag);

function typed<T extends TtlvItem['type']>(item: TtlvItem | undefined, type: T): Extract<TtlvItem, { type: T }> | undefined {
  if (item === undefined) return undefined;
  if (item.type !== type) throw invalidField(`${tagLabel(item.tag)} has the wrong item type`);
  return item as Extract<TtlvItem, { type: T }>;
}

export const optStruct = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.Structure);
export const optInt = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.Integer)?.value;
export const optLong = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.LongInteger)?.value;
export const optEnum = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.Enumeration)?.value;
export const optBool = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.Boolean)?.value;
export const optText = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.TextString)?.value;
export const optBytes = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.ByteString)?.value;
export const optDate = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.DateTime)?.value;
export const optInterval = (s: StructureItem, tag: number) => typed(find(s, tag), ItemType.Interval)?.value;

function required<T>(v: T | undefined, s: StructureItem, tag: number): T {
  if (v === undefined) throw missingData(`${tagLabel(s.tag)} lacks ${tagLabel(tag)}`);
  return v;
}

export const reqStruct = (s: StructureItem, tag: number) => required(optStruct(s, tag), s, tag);
export const reqInt = (s: StructureItem, tag: number) => required(optInt(s, tag), s, tag);
export const reqEnum = (s: StructureItem, tag: number) => required(optEnum(s, tag), s, tag);
export const reqText = (s: StructureItem, tag: number) => required(optText(s, tag), s, tag);
export const reqBytes = (s: StructureItem, tag: number) => required(optBytes(s, tag), s, tag);

export const isStruct = (i: TtlvItem | undefined): i is StructureItem => i?.type === ItemType.Structure;
