/**
 * The request messages of the KMIP server-to-client operations (1.4 §5, 2.1 §6.2): Put, which pushes
 * a new object, and Notify, which names the attributes of an object that changed. Pure functions:
 * a committed change in, a Request Message out, in the protocol version of the client request that
 * caused it.
 */
import { Tag } from '../ttlv/tag.ts';
import { LinkType, Operation, PutFunction } from '../ttlv/enums.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { ItemType, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import { attributeVisible, decodeAttributeEntries, emitAttribute, type AttributeEntry } from '../messages/attributes.ts';
import { ruleByName } from '../messages/attribute-rules.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { CommittedChange } from '../objects/unit-of-work.ts';
import { visibleAttributes } from '../operations/get-attributes.ts';

const TRUSTED_LIMITS = { maxMessageBytes: 64 * 1024 * 1024, maxDepth: 64, maxItems: 1_000_000 };

const LAST_CHANGE_DATE = 'Last Change Date';

/** One Request Message with one batch item (no Maximum Response Size, Asynchronous Indicator, Batch options: 1.4 §5). */
export function requestMessage(version: ProtocolVersion, operation: number, payload: TtlvItem[]): StructureItem {
  return struct(Tag.RequestMessage, [
    struct(Tag.RequestHeader, [
      struct(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, version.major), int(Tag.ProtocolVersionMinor, version.minor)]),
      int(Tag.BatchCount, 1),
    ]),
    struct(Tag.BatchItem, [enumeration(Tag.Operation, operation), struct(Tag.RequestPayload, payload)]),
  ]);
}

/** Why an object is not pushed with Put even to a role allowed Get: Get would not return it either. */
export function notPushable(obj: ManagedObject): string | undefined {
  if (!obj.body) return 'it has no key material';
  const flag = (name: string) => {
    const v = obj.one(name);
    return v?.type === ItemType.Boolean ? v.value : undefined;
  };
  if (flag('Sensitive') === true) return 'it is Sensitive (Get returns it only wrapped)';
  if (flag('Extractable') === false) return 'it is not Extractable';
  return undefined;
}

/**
 * Put of a new object: Put Function New, or Replace with the Replaced Unique Identifier when the
 * object replaces another (Re-key, Re-certify: a Replaced Object Link). The object as stored, with
 * every attribute the version knows. The caller checks notPushable first.
 */
export function putPayload(obj: ManagedObject, version: ProtocolVersion): TtlvItem[] {
  const replaced = replacedUid(obj);
  const attrs = visibleAttributes(obj, version);
  return [
    text(Tag.UniqueIdentifier, obj.uid),
    enumeration(Tag.PutFunction, replaced === undefined ? PutFunction.New : PutFunction.Replace),
    ...(replaced === undefined ? [] : [text(Tag.ReplacedUniqueIdentifier, replaced)]),
    obj.body!,
    ...(atLeast(version, 2, 0) ? [struct(Tag.Attributes, attrs)] : attrs),
  ];
}

function replacedUid(obj: ManagedObject): string | undefined {
  for (const link of obj.all('Link')) {
    if (link.type !== ItemType.Structure) continue;
    const type = link.value.find((c) => c.tag === Tag.LinkType);
    const id = link.value.find((c) => c.tag === Tag.LinkedObjectIdentifier);
    if (type?.type === ItemType.Enumeration && type.value === LinkType.ReplacedObjectLink && id?.type === ItemType.TextString) return id.value;
  }
  return undefined;
}

export interface AttributeDiff {
  /** Names whose values were added or changed, in the object's order. */
  changed: string[];
  /** Names the object no longer has. */
  deleted: string[];
}

/** Which attributes a committed change added, changed or deleted (Last Change Date aside: it is always sent). */
export function attributeDiff(change: CommittedChange): AttributeDiff {
  const before = change.before ? decodeAttributeEntries(decode(change.before.attributes, TRUSTED_LIMITS) as StructureItem) : [];
  const byName = (entries: readonly AttributeEntry[]) => {
    const m = new Map<string, string[]>();
    for (const e of entries) {
      const list = m.get(e.name) ?? [];
      list.push(Buffer.from(encode(e.value)).toString('base64'));
      m.set(e.name, list);
    }
    return m;
  };
  const old = byName(before);
  const now = byName(change.after.attributes);
  const changed: string[] = [];
  for (const [name, values] of now) {
    if (name === LAST_CHANGE_DATE) continue;
    const was = old.get(name);
    if (!was || was.length !== values.length || was.some((v, i) => v !== values[i])) changed.push(name);
  }
  const deleted = [...old.keys()].filter((n) => n !== LAST_CHANGE_DATE && !now.has(n));
  return { changed, deleted };
}

/**
 * Notify: the attributes that changed with their new values, Last Change Date always, and the
 * deleted ones (1.x: an Attribute without a value; 2.x: an Attribute Reference). Undefined when
 * nothing the version can name changed.
 */
export function notifyPayload(obj: ManagedObject, diff: AttributeDiff, version: ProtocolVersion): TtlvItem[] | undefined {
  const changed = diff.changed.filter((n) => attributeVisible(n, version));
  const deleted = diff.deleted.filter((n) => attributeVisible(n, version));
  if (changed.length === 0 && deleted.length === 0) return undefined;
  const names = obj.has(LAST_CHANGE_DATE) ? [...changed, LAST_CHANGE_DATE] : changed;
  // In the object's own order, so Last Change Date sits where Get Attributes would put it.
  const order = [...new Set(obj.attributes.map((a) => a.name))].filter((n) => names.includes(n));
  const values = visibleAttributes(obj, version, order);
  if (atLeast(version, 2, 0)) {
    return [text(Tag.UniqueIdentifier, obj.uid), ...(values.length > 0 ? [struct(Tag.Attributes, values)] : []), ...deleted.map(attributeReference)];
  }
  return [text(Tag.UniqueIdentifier, obj.uid), ...values, ...deleted.map((n) => struct(Tag.Attribute, [text(Tag.AttributeName, n)]))];
}

/** 2.x Attribute Reference: the attribute's tag, or Vendor Identification + Attribute Name for a custom one. */
function attributeReference(name: string): TtlvItem {
  const rule = ruleByName(name);
  if (rule) return enumeration(Tag.AttributeReference, rule.tag);
  const dash = name.indexOf('-');
  return struct(Tag.AttributeReference, [
    text(Tag.VendorIdentification, dash > 0 ? name.slice(0, dash) : 'x'),
    text(Tag.AttributeName, dash > 0 ? name.slice(dash + 1) : name),
  ]);
}

export const PUT = Operation.Put;
export const NOTIFY = Operation.Notify;

/** Result of a client's answer: 'Success', or why not (never any payload content). */
export function answerResult(frame: Uint8Array): string {
  let msg: TtlvItem;
  try {
    msg = decode(frame, { maxMessageBytes: frame.length + 1, maxDepth: 16, maxItems: 10_000 });
  } catch {
    return 'unreadable answer';
  }
  if (msg.tag !== Tag.ResponseMessage || msg.type !== ItemType.Structure) return 'not a Response Message';
  const item = msg.value.find((c) => c.tag === Tag.BatchItem);
  if (item?.type !== ItemType.Structure) return 'no batch item';
  const status = item.value.find((c) => c.tag === Tag.ResultStatus);
  if (status?.type !== ItemType.Enumeration) return 'no Result Status';
  if (status.value === 0) return 'Success';
  const reason = item.value.find((c) => c.tag === Tag.ResultReason);
  return `Result Status ${status.value}${reason?.type === ItemType.Enumeration ? `, Result Reason 0x${reason.value.toString(16)}` : ''}`;
}
