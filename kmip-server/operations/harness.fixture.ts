/**
 * Test harness for the operation tests: a Dispatcher over a MemoryStore, identities allowed everything (or a
 * given list), request messages built with the client helpers, responses parsed back. Not a test file itself.
 */
import { Dispatcher } from '../dispatcher.ts';
import { MemoryStore } from '../store/memory.ts';
import { decode } from '../ttlv/reader.ts';
import { encode } from '../ttlv/writer.ts';
import { Tag } from '../ttlv/tag.ts';
import { ItemType, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { CryptographicAlgorithm, CryptographicUsageMask, NameType, ObjectType } from '../ttlv/enums.ts';
import { parseResponse, requestMessage, type BatchItemSpec, type BatchResult, type ProtocolVersion } from '../client/client.ts';
import { ALL_PERMISSIONS } from './permissions.ts';
import type { Identity } from '../auth/identity.ts';
import type { ServerMetrics } from '../metrics.ts';

export const V1_0: ProtocolVersion = { major: 1, minor: 0 };
export const V1_2: ProtocolVersion = { major: 1, minor: 2 };
export const V1_4: ProtocolVersion = { major: 1, minor: 4 };
export const V2_0: ProtocolVersion = { major: 2, minor: 0 };
export const V2_1: ProtocolVersion = { major: 2, minor: 1 };

export function identity(scopeId: string, operations: readonly string[] = ALL_PERMISSIONS): Identity {
  return {
    scopeId,
    roleId: `${scopeId}-role`,
    scopeName: `ns/${scopeId}`,
    roleName: 'admin',
    credentialName: `${scopeId}-cred`,
    credentialId: `${scopeId}-cred`,
    operations: new Set(operations),
  };
}

export interface Harness {
  store: MemoryStore;
  dispatcher: Dispatcher;
  /** Sends one message (one batch item per spec) and returns the parsed batch results. */
  send(version: ProtocolVersion, items: BatchItemSpec[], who?: Identity, header?: TtlvItem[]): Promise<BatchResult[]>;
  /** Sends a single batch item and returns its result. */
  one(version: ProtocolVersion, operation: string, payload: TtlvItem[], who?: Identity): Promise<BatchResult>;
}

export function harness(defaultIdentity: Identity = identity('scope-a'), opts: { metrics?: ServerMetrics } = {}): Harness {
  const store = new MemoryStore();
  const dispatcher = new Dispatcher({
    ...opts,
    store,
    limits: { maxMessageBytes: 1 << 20, maxDepth: 32, maxItems: 100_000, maxBatchItems: 64 },
    server: { vendorIdentification: 'kube-kmip-test', serverInformation: 'kube-kmip test server', leaseSeconds: 3600 },
    onInternalError: (err) => {
      throw err;
    },
  });
  const send = async (version: ProtocolVersion, items: BatchItemSpec[], who = defaultIdentity, header?: TtlvItem[]) => {
    const out = await dispatcher.handle(encode(requestMessage(version, items, header ? { extra: header } : {})), who);
    if (!out) throw new Error('no response');
    return parseResponse(decode(out)).items;
  };
  return {
    store,
    dispatcher,
    send,
    one: async (version, operation, payload, who) => (await send(version, [{ operation, payload }], who))[0]!,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Payload builders

export const uidItem = (uid: string): TtlvItem => text(Tag.UniqueIdentifier, uid);

/** A 1.x Attribute structure. */
export function attr1x(name: string, value: TtlvItem, index?: number): StructureItem {
  const c: TtlvItem[] = [text(Tag.AttributeName, name)];
  if (index !== undefined) c.push(int(Tag.AttributeIndex, index));
  c.push({ ...value, tag: Tag.AttributeValue } as TtlvItem);
  return struct(Tag.Attribute, c);
}

/** A 2.x Vendor Attribute. */
export const vendorAttr = (vendor: string, name: string, value: TtlvItem): StructureItem =>
  struct(Tag.Attribute, [text(Tag.VendorIdentification, vendor), text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue } as TtlvItem]);

export const nameValue = (name: string, tag: number = Tag.Name): StructureItem =>
  struct(tag, [text(Tag.NameValue, name), enumeration(Tag.NameType, NameType.UninterpretedTextString)]);

/** Create payload for an AES key in the request's version, with extra attributes given in 2.x form. */
export function createAes(version: ProtocolVersion, extra: TtlvItem[] = [], length = 128): TtlvItem[] {
  const attrs: TtlvItem[] = [
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
    int(Tag.CryptographicLength, length),
    int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt),
    ...extra,
  ];
  if (version.major >= 2) return [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.Attributes, attrs)];
  return [
    enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
    struct(Tag.TemplateAttribute, attrs.map((a) => (a.tag === Tag.Attribute ? a : attr1x(tagAttrName(a.tag), a)))),
  ];
}

const ATTR_NAMES: Record<number, string> = {
  [Tag.CryptographicAlgorithm]: 'Cryptographic Algorithm',
  [Tag.CryptographicLength]: 'Cryptographic Length',
  [Tag.CryptographicUsageMask]: 'Cryptographic Usage Mask',
  [Tag.Name]: 'Name',
  [Tag.ObjectGroup]: 'Object Group',
  [Tag.ContactInformation]: 'Contact Information',
  [Tag.ActivationDate]: 'Activation Date',
  [Tag.Fresh]: 'Fresh',
  [Tag.ApplicationSpecificInformation]: 'Application Specific Information',
};
function tagAttrName(tag: number): string {
  const n = ATTR_NAMES[tag];
  if (!n) throw new Error(`no 1.x name for tag 0x${tag.toString(16)}`);
  return n;
}

/** Creates an AES key and returns its Unique Identifier. */
export async function createKey(h: Harness, version: ProtocolVersion, extra: TtlvItem[] = [], who?: Identity): Promise<string> {
  const r = await h.one(version, 'Create', createAes(version, extra), who);
  if (r.status !== 0) throw new Error(`Create failed: ${r.reasonName} ${r.message}`);
  return uidOf(r);
}

export function uidOf(r: BatchResult): string {
  const u = r.payload?.value.find((i) => i.tag === Tag.UniqueIdentifier);
  if (u?.type !== ItemType.TextString) throw new Error(`no Unique Identifier (${r.statusName} ${r.reasonName ?? ''} ${r.message ?? ''})`);
  return u.value;
}

export const uidsOf = (r: BatchResult): string[] =>
  (r.payload?.value ?? []).filter((i) => i.tag === Tag.UniqueIdentifier && i.type === ItemType.TextString).map((i) => i.value as string);

export const field = (r: BatchResult, tag: number): TtlvItem | undefined => r.payload?.value.find((i) => i.tag === tag);

/** The Attribute Value items of an object's attribute, via Get Attributes in 1.4. */
export async function attributeValues(h: Harness, uid: string, name: string, who?: Identity): Promise<TtlvItem[]> {
  const r = await h.one(V1_4, 'GetAttributes', [uidItem(uid), text(Tag.AttributeName, name)], who);
  if (r.status !== 0) throw new Error(`Get Attributes failed: ${r.reasonName} ${r.message}`);
  return (r.payload?.value ?? [])
    .filter((i): i is StructureItem => i.tag === Tag.Attribute && i.type === ItemType.Structure)
    .map((a) => a.value.find((c) => c.tag === Tag.AttributeValue)!);
}
