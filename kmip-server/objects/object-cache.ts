import type { StructureItem } from '../ttlv/types.ts';
import type { AttributeEntry } from '../messages/attributes.ts';
import type { ObjectRecord } from '../store/types.ts';
import { ManagedObject } from './managed-object.ts';
import { cloneItem } from './clone.ts';

interface Decoded {
  attributes: readonly AttributeEntry[];
  body: StructureItem | null;
}

/**
 * Decoded ManagedObjects, so a Get of a stored object does not decode its attributes and body
 * again. Keyed by the identity of the record the store shares (`ObjectStore.getShared`): the store
 * returns the same record object only while the stored object is unchanged, and a new one after
 * any committed write, so an entry can never describe an older state; and an entry lives exactly
 * as long as the store keeps that record (a WeakMap), so a write, an eviction or a scope deletion
 * in the store also lets the decoded copy, key material included, go.
 *
 * Callers always receive a fresh deep copy: an operation may change (or wipe the key material of)
 * what it gets without touching the cached decoding.
 */
export class ObjectCache {
  readonly #decoded = new WeakMap<Readonly<ObjectRecord>, Decoded>();

  /** The object `rec` decodes to; `rec` is a shared record and is not changed. */
  objectFor(rec: Readonly<ObjectRecord>): ManagedObject {
    let d = this.#decoded.get(rec);
    if (!d) {
      const obj = ManagedObject.fromRecord(rec);
      // Kept as decoded; every caller, this one included, gets a copy.
      d = { attributes: obj.attributes, body: obj.body };
      this.#decoded.set(rec, d);
    }
    return new ManagedObject({
      uid: rec.uid,
      scope: rec.scope,
      objectType: rec.objectType,
      attributes: d.attributes.map((a) => ({ name: a.name, value: cloneItem(a.value) })),
      body: d.body && cloneItem(d.body),
      revision: rec.revision,
      owner: rec.owner,
      decodedFrom: d,
    });
  }
}
