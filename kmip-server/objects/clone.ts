import { ItemType, type TtlvItem } from '../ttlv/types.ts';

/**
 * A deep copy of an item tree: new objects and arrays, byte strings copied (key material may be
 * wiped in place by its user); strings, numbers and bigints are immutable and shared. Much cheaper
 * than an encode/decode round trip, and equal to it for well-typed items.
 */
export function cloneItem<T extends TtlvItem>(item: T): T {
  if (item.type === ItemType.Structure) return { tag: item.tag, type: item.type, value: item.value.map(cloneItem) } as T;
  // Not item.value.slice(): the decoder's byte strings are Buffers, whose slice() is a view of the same memory, so a
  // copy wiped or changed in place would have changed the cached decoding (objects/object-cache.ts) with it.
  if (item.type === ItemType.ByteString) return { tag: item.tag, type: item.type, value: Uint8Array.prototype.slice.call(item.value) } as T;
  return { tag: item.tag, type: item.type, value: item.value } as T;
}
