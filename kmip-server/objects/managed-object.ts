import { Tag } from '../ttlv/tag.ts';
import { State } from '../ttlv/enums.ts';
import { ItemType, dateTime, enumeration, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { asAttributeValue, decodeAttributeEntries, encodeAttributeEntries, type AttributeEntry } from '../messages/attributes.ts';
import type { ObjectRecord } from '../store/types.ts';
import { cloneItem } from './clone.ts';

const TRUSTED_LIMITS = { maxMessageBytes: 64 * 1024 * 1024, maxDepth: 64, maxItems: 1_000_000 };

/**
 * A managed object as the operations see it: attributes in canonical form plus the object
 * structure (e.g. Symmetric Key { Key Block }) that holds the key material, null once destroyed.
 */
export class ManagedObject {
  readonly uid: string;
  readonly scope: string;
  readonly objectType: number;
  /**
   * The header sub-identity that made the object (auth/header-credential.ts), kept with its record;
   * undefined: anyone in the scope. Not a KMIP attribute: clients never see it.
   */
  owner: string | undefined;
  revision: number;
  attributes: AttributeEntry[];
  body: StructureItem | null;
  /**
   * The shared decoding this object was copied from (objects/object-cache.ts): the same token for every copy of one
   * stored state, for caches derived from it (crypto/key-use.ts secretKeyObject). Undefined for new objects.
   */
  readonly decodedFrom: object | undefined;

  constructor(init: { uid: string; scope: string; objectType: number; attributes: AttributeEntry[]; body: StructureItem | null; revision?: number; owner?: string | undefined; decodedFrom?: object }) {
    this.decodedFrom = init.decodedFrom;
    this.uid = init.uid;
    this.scope = init.scope;
    this.objectType = init.objectType;
    this.owner = init.owner;
    this.attributes = init.attributes;
    this.body = init.body;
    this.revision = init.revision ?? 0;
  }

  get state(): number {
    const v = this.one('State');
    return v?.type === ItemType.Enumeration ? v.value : State.PreActive;
  }

  set state(s: number) {
    this.set('State', enumeration(Tag.AttributeValue, s));
  }

  /** First instance of an attribute, as an Attribute Value item. */
  one(name: string): TtlvItem | undefined {
    return this.attributes.find((a) => a.name === name)?.value;
  }

  all(name: string): TtlvItem[] {
    return this.attributes.filter((a) => a.name === name).map((a) => a.value);
  }

  has(name: string): boolean {
    return this.attributes.some((a) => a.name === name);
  }

  /** Replaces every instance of `name` with one value (keeps the first instance's position). */
  set(name: string, value: TtlvItem): void {
    const v = value.tag === Tag.AttributeValue ? value : asAttributeValue(value);
    const i = this.attributes.findIndex((a) => a.name === name);
    if (i < 0) this.attributes.push({ name, value: v });
    else {
      this.attributes[i] = { name, value: v };
      this.attributes = this.attributes.filter((a, j) => j <= i || a.name !== name);
    }
  }

  add(name: string, value: TtlvItem): number {
    const v = value.tag === Tag.AttributeValue ? value : asAttributeValue(value);
    this.attributes.push({ name, value: v });
    return this.all(name).length - 1;
  }

  /** Removes one instance (by index among instances of that name) or all; returns how many went. */
  remove(name: string, index?: number): number {
    let seen = -1;
    const before = this.attributes.length;
    this.attributes = this.attributes.filter((a) => {
      if (a.name !== name) return true;
      seen++;
      return index !== undefined && seen !== index;
    });
    return before - this.attributes.length;
  }

  setDate(name: string, seconds: number): void {
    this.set(name, dateTime(Tag.AttributeValue, seconds));
  }

  date(name: string): number | undefined {
    const v = this.one(name);
    return v?.type === ItemType.DateTime ? v.value : undefined;
  }

  names(): string[] {
    const out: string[] = [];
    for (const v of this.all('Name')) {
      if (v.type !== ItemType.Structure) continue;
      const nv = v.value.find((c) => c.tag === Tag.NameValue);
      if (nv?.type === ItemType.TextString) out.push(nv.value);
    }
    return out;
  }

  toRecord(): ObjectRecord {
    return {
      uid: this.uid,
      scope: this.scope,
      objectType: this.objectType,
      state: this.state,
      names: this.names(),
      attributes: encode(encodeAttributeEntries(this.attributes)),
      material: this.body ? encode(this.body) : null,
      revision: this.revision,
      ...(this.owner !== undefined ? { owner: this.owner } : {}),
    };
  }

  static fromRecord(r: Readonly<ObjectRecord>): ManagedObject {
    const attrs = decode(r.attributes, TRUSTED_LIMITS) as StructureItem;
    return new ManagedObject({
      uid: r.uid,
      scope: r.scope,
      objectType: r.objectType,
      attributes: decodeAttributeEntries(attrs),
      body: r.material ? (decode(r.material, TRUSTED_LIMITS) as StructureItem) : null,
      revision: r.revision,
      owner: r.owner,
    });
  }

  /** A deep copy sharing nothing mutable with this one (no encoding round trip). */
  clone(): ManagedObject {
    return new ManagedObject({
      uid: this.uid,
      scope: this.scope,
      objectType: this.objectType,
      attributes: this.attributes.map((a) => ({ name: a.name, value: cloneItem(a.value) })),
      body: this.body && cloneItem(this.body),
      revision: this.revision,
      owner: this.owner,
    });
  }
}
