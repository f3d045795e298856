import test from 'ava';
import { createCipheriv, randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CryptographicAlgorithm, KeyFormatType, ObjectType } from '../ttlv/enums.ts';
import { bytes, enumeration, int, struct } from '../ttlv/types.ts';
import { ManagedObject } from '../objects/managed-object.ts';
import { ObjectCache } from '../objects/object-cache.ts';
import { secretKeyObject } from './key-use.ts';

function aesKey(material: Uint8Array): ManagedObject {
  return new ManagedObject({
    uid: 'k1',
    scope: 's',
    objectType: ObjectType.SymmetricKey,
    attributes: [],
    body: struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, KeyFormatType.Raw),
      struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, material)]),
      enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
      int(Tag.CryptographicLength, material.length * 8),
    ])]),
  });
}

/** What a KeyObject encrypts a fixed block to (AES-ECB), to tell keys apart without exporting them. */
const fingerprint = (key: Parameters<typeof createCipheriv>[1]) => createCipheriv(`aes-${256}-ecb`, key, null).update(Buffer.alloc(16)).toString('hex');

test('copies of one stored state share one KeyObject; it is the key of the bytes', (t) => {
  const material = randomBytes(32);
  const cache = new ObjectCache();
  const rec = aesKey(material).toRecord();
  const a = cache.objectFor(rec);
  const b = cache.objectFor(rec);
  t.not(a, b, 'each caller gets its own copy');
  const ka = secretKeyObject(a);
  t.is(secretKeyObject(b), ka, 'made once for the stored state');
  t.is(fingerprint(ka), fingerprint(material));
});

test('a copy whose material changed in place gets the key of its own bytes, not the cached one', (t) => {
  const material = randomBytes(32);
  const cache = new ObjectCache();
  const rec = aesKey(material).toRecord();
  const first = secretKeyObject(cache.objectFor(rec));
  const changed = cache.objectFor(rec);
  const other = randomBytes(32);
  const km = ((changed.body!.value[0] as { value: Array<{ tag: number; value: unknown }> }).value.find((i) => i.tag === Tag.KeyValue) as { value: Array<{ value: Uint8Array }> }).value[0]!.value;
  km.set(other);
  const k = secretKeyObject(changed);
  t.not(k, first);
  t.is(fingerprint(k), fingerprint(other));
  t.is(fingerprint(secretKeyObject(cache.objectFor(rec))), fingerprint(material), 'the stored state still has its own key');
});

test('a new object (not from the cache) gets a fresh KeyObject each time', (t) => {
  const material = randomBytes(32);
  const obj = aesKey(material);
  t.not(secretKeyObject(obj), secretKeyObject(obj));
  t.is(fingerprint(secretKeyObject(obj)), fingerprint(material));
});
