import { Tag } from './tag.ts';

const NAME_BY_TAG = new Map<number, string>();
for (const [name, tag] of Object.entries(Tag)) if (!NAME_BY_TAG.has(tag)) NAME_BY_TAG.set(tag, name);

/** A tag's XML name, or its hex form for tags we do not know (extensions). */
export function tagLabel(tag: number): string {
  return NAME_BY_TAG.get(tag) ?? `0x${tag.toString(16).padStart(6, '0')}`;
}
