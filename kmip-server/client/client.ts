/**
 * Typed conveniences over KmipConnection for tests and benchmarks: request messages for a protocol
 * version with one or more batch items, response parsing, and a few operations (Create, Get, Destroy,
 * Discover Versions, Locate, Activate, Get Attributes, Query, Register).
 *
 * Attributes are given in the 2.x form (the attribute's own tag, e.g. a Cryptographic Algorithm
 * Enumeration) and written for the request's version: a 2.x `Attributes` structure, or a 1.x
 * `Template-Attribute` of `Attribute` (name, value) structures.
 */
import { ItemType, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { enumValue, enumValueName, tagByName, tagName } from '../ttlv/spec/names.ts';
import { KmipConnection, type ConnectOptions } from './connection.ts';

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export const V1_0: ProtocolVersion = { major: 1, minor: 0 };
export const V1_4: ProtocolVersion = { major: 1, minor: 4 };
export const V2_0: ProtocolVersion = { major: 2, minor: 0 };
export const V2_1: ProtocolVersion = { major: 2, minor: 1 };

const is2x = (v: ProtocolVersion): boolean => v.major >= 2;

/** Tag number by spec or XML name; throws for a name the tables do not have (a typo here is a bug). */
export function tag(name: string): number {
  const d = tagByName(name);
  if (!d) throw new Error(`unknown KMIP tag ${name}`);
  return d.tag;
}

/** Enumeration value by enumeration and value name; throws when unknown. */
export function enumVal(enumName: string, valueName: string): number {
  const v = enumValue(enumName, valueName);
  if (v === undefined) throw new Error(`unknown ${enumName} value ${valueName}`);
  return v;
}

const T = {
  RequestMessage: tag('Request Message'),
  RequestHeader: tag('Request Header'),
  ProtocolVersion: tag('Protocol Version'),
  ProtocolVersionMajor: tag('Protocol Version Major'),
  ProtocolVersionMinor: tag('Protocol Version Minor'),
  BatchCount: tag('Batch Count'),
  BatchItem: tag('Batch Item'),
  Operation: tag('Operation'),
  RequestPayload: tag('Request Payload'),
  ResponsePayload: tag('Response Payload'),
  AsynchronousCorrelationValue: tag('Asynchronous Correlation Value'),
  ResponseHeader: tag('Response Header'),
  TimeStamp: tag('Time Stamp'),
  ResultStatus: tag('Result Status'),
  ResultReason: tag('Result Reason'),
  ResultMessage: tag('Result Message'),
  UniqueBatchItemID: tag('Unique Batch Item ID'),
  MaximumResponseSize: tag('Maximum Response Size'),
  UniqueIdentifier: tag('Unique Identifier'),
  ObjectType: tag('Object Type'),
  TemplateAttribute: tag('Template-Attribute'),
  Attributes: tag('Attributes'),
  Attribute: tag('Attribute'),
  AttributeName: tag('Attribute Name'),
  AttributeValue: tag('Attribute Value'),
  AttributeReference: tag('Attribute Reference'),
  CryptographicAlgorithm: tag('Cryptographic Algorithm'),
  CryptographicLength: tag('Cryptographic Length'),
  CryptographicUsageMask: tag('Cryptographic Usage Mask'),
  Name: tag('Name'),
  NameValue: tag('Name Value'),
  NameType: tag('Name Type'),
  QueryFunction: tag('Query Function'),
  MaximumItems: tag('Maximum Items'),
  KeyFormatType: tag('Key Format Type'),
} as const;

/** Re-exported so callers can build payloads without another import. */
export const Tags = T;

// ---------------------------------------------------------------------------------------------------------------
// Building requests

const struct = (t: number, value: TtlvItem[]): StructureItem => ({ tag: t, type: ItemType.Structure, value });
const int = (t: number, value: number): TtlvItem => ({ tag: t, type: ItemType.Integer, value });
const en = (t: number, value: number): TtlvItem => ({ tag: t, type: ItemType.Enumeration, value });
const text = (t: number, value: string): TtlvItem => ({ tag: t, type: ItemType.TextString, value });

export interface BatchItemSpec {
  /** Operation name ("Create", "GetAttributes") or number. */
  operation: string | number;
  /** The children of the Request Payload. */
  payload: TtlvItem[];
  uniqueBatchItemId?: Uint8Array;
}

export interface RequestHeaderOptions {
  maximumResponseSize?: number;
  /** Extra header items, appended before Batch Count. */
  extra?: TtlvItem[];
}

const operationValue = (op: string | number): number => (typeof op === 'number' ? op : enumVal('Operation', op));

/** A Request Message with one batch item per spec. */
export function requestMessage(version: ProtocolVersion, items: BatchItemSpec[], header: RequestHeaderOptions = {}): StructureItem {
  const h: TtlvItem[] = [
    struct(T.ProtocolVersion, [int(T.ProtocolVersionMajor, version.major), int(T.ProtocolVersionMinor, version.minor)]),
  ];
  if (header.maximumResponseSize !== undefined) h.push(int(T.MaximumResponseSize, header.maximumResponseSize));
  if (header.extra) h.push(...header.extra);
  h.push(int(T.BatchCount, items.length));
  return struct(T.RequestMessage, [
    struct(T.RequestHeader, h),
    ...items.map((it) => {
      const children: TtlvItem[] = [en(T.Operation, operationValue(it.operation))];
      if (it.uniqueBatchItemId) children.push({ tag: T.UniqueBatchItemID, type: ItemType.ByteString, value: it.uniqueBatchItemId });
      children.push(struct(T.RequestPayload, it.payload));
      return struct(T.BatchItem, children);
    }),
  ]);
}

/** What a Device credential says about the device; at least one field (KMIP 2.1.2). */
export interface DeviceCredentialFields {
  serialNumber?: string;
  deviceIdentifier?: string;
  networkIdentifier?: string;
  machineIdentifier?: string;
  mediaIdentifier?: string;
  password?: string;
}

/** A request header's Authentication with one Username and Password credential. */
export function usernamePasswordAuthentication(username: string, password?: string): StructureItem {
  const value: TtlvItem[] = [text(tag('Username'), username)];
  if (password !== undefined) value.push(text(tag('Password'), password));
  return authentication(enumVal('Credential Type', 'Username and Password'), value);
}

/** A request header's Authentication with one Device credential (fields in the order KMIP lists them). */
export function deviceAuthentication(d: DeviceCredentialFields): StructureItem {
  const value: TtlvItem[] = [];
  const add = (name: string, v: string | undefined) => v !== undefined && value.push(text(tag(name), v));
  add('Device Serial Number', d.serialNumber);
  add('Password', d.password);
  add('Device Identifier', d.deviceIdentifier);
  add('Network Identifier', d.networkIdentifier);
  add('Machine Identifier', d.machineIdentifier);
  add('Media Identifier', d.mediaIdentifier);
  return authentication(enumVal('Credential Type', 'Device'), value);
}

function authentication(type: number, value: TtlvItem[]): StructureItem {
  return struct(tag('Authentication'), [struct(tag('Credential'), [en(tag('Credential Type'), type), struct(tag('Credential Value'), value)])]);
}

/**
 * Attributes for a request of `version`: given as 2.x items (each tagged with its attribute's tag), written as a
 * 2.x Attributes structure or a 1.x Template-Attribute.
 */
export function attributes(version: ProtocolVersion, attrs: TtlvItem[]): StructureItem {
  if (is2x(version)) return struct(T.Attributes, attrs);
  return struct(T.TemplateAttribute, attrs.map((a) => attribute1x(a)));
}

/** One 1.x Attribute structure (name and value) for an item tagged with the attribute's tag. */
export function attribute1x(a: TtlvItem): StructureItem {
  const name = tagName(a.tag, '1.4') ?? tagName(a.tag);
  if (name === undefined) throw new Error(`no attribute name for tag 0x${a.tag.toString(16)}`);
  return struct(T.Attribute, [text(T.AttributeName, name), { ...a, tag: T.AttributeValue } as TtlvItem]);
}

/** A Name attribute (Uninterpreted Text String). */
export const nameAttribute = (value: string): StructureItem =>
  struct(T.Name, [text(T.NameValue, value), en(T.NameType, enumVal('Name Type', 'Uninterpreted Text String'))]);

// ---------------------------------------------------------------------------------------------------------------
// Reading responses

export interface BatchResult {
  operation: number | undefined;
  /** The operation's XML name, for messages. */
  operationName: string | undefined;
  status: number;
  statusName: string;
  reason: number | undefined;
  reasonName: string | undefined;
  message: string | undefined;
  uniqueBatchItemId: Uint8Array | undefined;
  /** With Result Status Operation Pending: the value to Poll or Cancel it with. */
  asynchronousCorrelationValue: Uint8Array | undefined;
  payload: StructureItem | undefined;
}

export interface ParsedResponse {
  version: ProtocolVersion;
  timeStamp: number | undefined;
  items: BatchResult[];
  raw: TtlvItem;
}

const child = (s: StructureItem, t: number): TtlvItem | undefined => s.value.find((c) => c.tag === t);

export class KmipProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KmipProtocolError';
  }
}

/** Picks a Response Message apart; throws KmipProtocolError when it is not one. */
export function parseResponse(msg: TtlvItem): ParsedResponse {
  if (msg.type !== ItemType.Structure || msg.tag !== tag('Response Message')) throw new KmipProtocolError('not a Response Message');
  const header = child(msg, T.ResponseHeader);
  if (header?.type !== ItemType.Structure) throw new KmipProtocolError('Response Message without a Response Header');
  const pv = child(header, T.ProtocolVersion);
  const version: ProtocolVersion = { major: -1, minor: -1 };
  if (pv?.type === ItemType.Structure) {
    const ma = child(pv, T.ProtocolVersionMajor);
    const mi = child(pv, T.ProtocolVersionMinor);
    if (ma?.type === ItemType.Integer) version.major = ma.value;
    if (mi?.type === ItemType.Integer) version.minor = mi.value;
  }
  const ts = child(header, T.TimeStamp);
  const items = msg.value
    .filter((c): c is StructureItem => c.tag === T.BatchItem && c.type === ItemType.Structure)
    .map((b): BatchResult => {
      const op = child(b, T.Operation);
      const st = child(b, T.ResultStatus);
      const re = child(b, T.ResultReason);
      const me = child(b, T.ResultMessage);
      const id = child(b, T.UniqueBatchItemID);
      const pl = child(b, T.ResponsePayload);
      const acv = child(b, T.AsynchronousCorrelationValue);
      const operation = op?.type === ItemType.Enumeration ? op.value : undefined;
      const status = st?.type === ItemType.Enumeration ? st.value : -1;
      const reason = re?.type === ItemType.Enumeration ? re.value : undefined;
      return {
        operation,
        operationName: operation === undefined ? undefined : enumValueName('Operation', operation),
        status,
        statusName: enumValueName('Result Status', status) ?? String(status),
        reason,
        reasonName: reason === undefined ? undefined : enumValueName('Result Reason', reason),
        message: me?.type === ItemType.TextString ? me.value : undefined,
        uniqueBatchItemId: id?.type === ItemType.ByteString ? id.value : undefined,
        asynchronousCorrelationValue: acv?.type === ItemType.ByteString ? acv.value : undefined,
        payload: pl?.type === ItemType.Structure ? pl : undefined,
      };
    });
  return { version, timeStamp: ts?.type === ItemType.DateTime ? ts.value : undefined, items, raw: msg };
}

/** A batch item that did not succeed. */
export class KmipResultError extends Error {
  readonly result: BatchResult;
  constructor(result: BatchResult) {
    super(`${result.operationName ?? 'operation'} failed: ${result.statusName}` +
      `${result.reasonName ? ` / ${result.reasonName}` : ''}${result.message ? `: ${result.message}` : ''}`);
    this.name = 'KmipResultError';
    this.result = result;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The client

export interface ClientOptions extends ConnectOptions {
  /** Protocol version of the requests; default 2.1. */
  version?: ProtocolVersion;
  /** An Authentication structure sent in every request header (usernamePasswordAuthentication ...). */
  authentication?: StructureItem;
}

export interface CreateSymmetricKeyOptions {
  /** Cryptographic Algorithm name; default AES. */
  algorithm?: string;
  /** Bits; default 256. */
  length?: number;
  /** Cryptographic Usage Mask names; default Encrypt, Decrypt. */
  usage?: string[];
  name?: string;
  /** More attributes in 2.x form. */
  extra?: TtlvItem[];
}

export class KmipClient {
  readonly connection: KmipConnection;
  version: ProtocolVersion;
  /** Sent in every request header when set; a header given to `batch` adds to it. */
  authentication: StructureItem | undefined;

  constructor(connection: KmipConnection, version: ProtocolVersion = V2_1, authentication?: StructureItem) {
    this.connection = connection;
    this.version = version;
    this.authentication = authentication;
  }

  static async connect(opts: ClientOptions): Promise<KmipClient> {
    return new KmipClient(await KmipConnection.connect(opts), opts.version ?? V2_1, opts.authentication);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /** Sends a batch and returns every item's result, successful or not. */
  async batch(items: BatchItemSpec[], header: RequestHeaderOptions = {}): Promise<ParsedResponse> {
    const h = this.authentication ? { ...header, extra: [this.authentication, ...(header.extra ?? [])] } : header;
    return parseResponse(await this.connection.send(requestMessage(this.version, items, h)));
  }

  /** One operation; resolves with its response payload (empty when the server sent none), throws KmipResultError. */
  async call(operation: string | number, payload: TtlvItem[]): Promise<StructureItem> {
    const res = await this.batch([{ operation, payload }]);
    const item = res.items[0];
    if (!item) throw new KmipProtocolError('response without a batch item');
    if (item.status !== enumVal('Result Status', 'Success')) throw new KmipResultError(item);
    return item.payload ?? struct(T.ResponsePayload, []);
  }

  /** Creates a symmetric key; resolves with its Unique Identifier. */
  async create(opts: CreateSymmetricKeyOptions = {}): Promise<string> {
    const usage = opts.usage ?? ['Encrypt', 'Decrypt'];
    const attrs: TtlvItem[] = [
      en(T.CryptographicAlgorithm, enumVal('Cryptographic Algorithm', opts.algorithm ?? 'AES')),
      int(T.CryptographicLength, opts.length ?? 256),
      int(T.CryptographicUsageMask, usage.reduce((m, u) => m | enumVal('Cryptographic Usage Mask', u), 0)),
    ];
    if (opts.name !== undefined) attrs.push(nameAttribute(opts.name));
    if (opts.extra) attrs.push(...opts.extra);
    const p = await this.call('Create', [en(T.ObjectType, enumVal('Object Type', 'Symmetric Key')), attributes(this.version, attrs)]);
    return uniqueIdentifier(p);
  }

  /** Registers a managed object (the object structure, e.g. a SymmetricKey); resolves with its Unique Identifier. */
  async register(objectType: string, object: StructureItem, attrs: TtlvItem[] = []): Promise<string> {
    const p = await this.call('Register', [en(T.ObjectType, enumVal('Object Type', objectType)), attributes(this.version, attrs), object]);
    return uniqueIdentifier(p);
  }

  /** Gets an object; resolves with the whole response payload (Object Type, Unique Identifier, the object). */
  get(uid: string, extra: TtlvItem[] = []): Promise<StructureItem> {
    return this.call('Get', [text(T.UniqueIdentifier, uid), ...extra]);
  }

  async activate(uid: string): Promise<void> {
    await this.call('Activate', [text(T.UniqueIdentifier, uid)]);
  }

  async destroy(uid: string): Promise<void> {
    await this.call('Destroy', [text(T.UniqueIdentifier, uid)]);
  }

  /**
   * Get Attributes: by spec names ("Cryptographic Algorithm"); resolves with the response payload. For 1.x the
   * names go as Attribute Name text, for 2.x as Attribute Reference enumerations.
   */
  getAttributes(uid: string, names: string[] = []): Promise<StructureItem> {
    const refs = names.map((n) => (is2x(this.version) ? en(T.AttributeReference, tag(n)) : text(T.AttributeName, n)));
    return this.call('Get Attributes', [text(T.UniqueIdentifier, uid), ...refs]);
  }

  /** Locate by attributes (2.x form; a string is a Name); resolves with the Unique Identifiers found. */
  async locate(criteria: string | TtlvItem[], maximumItems?: number): Promise<string[]> {
    const attrs = typeof criteria === 'string' ? [nameAttribute(criteria)] : criteria;
    const payload: TtlvItem[] = [];
    if (maximumItems !== undefined) payload.push(int(T.MaximumItems, maximumItems));
    if (is2x(this.version)) payload.push(struct(T.Attributes, attrs));
    else payload.push(...attrs.map(attribute1x));
    const p = await this.call('Locate', payload);
    return p.value.filter((c) => c.tag === T.UniqueIdentifier && c.type === ItemType.TextString).map((c) => c.value as string);
  }

  /** Discover Versions; resolves with the versions the server lists (newest first, as it sends them). */
  async discoverVersions(offer: ProtocolVersion[] = []): Promise<ProtocolVersion[]> {
    const p = await this.call(
      'Discover Versions',
      offer.map((v) => struct(T.ProtocolVersion, [int(T.ProtocolVersionMajor, v.major), int(T.ProtocolVersionMinor, v.minor)])),
    );
    return p.value
      .filter((c): c is StructureItem => c.tag === T.ProtocolVersion && c.type === ItemType.Structure)
      .map((pv) => ({
        major: (child(pv, T.ProtocolVersionMajor)?.value as number | undefined) ?? -1,
        minor: (child(pv, T.ProtocolVersionMinor)?.value as number | undefined) ?? -1,
      }));
  }

  /** Query with the given Query Function names ("Query Operations", "Query Objects"...). */
  query(functions: string[]): Promise<StructureItem> {
    return this.call('Query', functions.map((f) => en(T.QueryFunction, enumVal('Query Function', f))));
  }
}

/** The Unique Identifier text of a response payload; throws when absent. */
export function uniqueIdentifier(payload: StructureItem): string {
  const u = child(payload, T.UniqueIdentifier);
  if (u?.type !== ItemType.TextString) throw new KmipProtocolError('response payload without a Unique Identifier');
  return u.value;
}
