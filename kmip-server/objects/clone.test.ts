import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import { bytes, struct } from '../ttlv/types.ts';
import { cloneItem } from './clone.ts';

// The decoder's byte strings are Buffers when it decodes a Buffer (the memory and ConfigMap stores); Buffer's own
// slice() is a view, so a "copy" made with it shared the cached decoding's key material.
for (const [kind, make] of [['Buffer', (b: number[]) => Buffer.from(b)], ['Uint8Array', (b: number[]) => Uint8Array.from(b)]] as const) {
  test(`a cloned ${kind} byte string is a copy: wiping it leaves the original`, (t) => {
    const original = struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, make([1, 2, 3, 4]))]);
    const copy = cloneItem(original);
    const inner = copy.value[0]!.value as Uint8Array;
    inner.fill(0);
    t.deepEqual([...(original.value[0]!.value as Uint8Array)], [1, 2, 3, 4]);
  });
}
