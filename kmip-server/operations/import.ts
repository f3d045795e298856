import { createHash } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { KeyWrapType, ObjectType, ResultReason, State } from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, text, type StructureItem } from '../ttlv/types.ts';
import { KmipError, invalidField, missingData, operationNotSupported } from '../messages/errors.ts';
import { optBool, optEnum, optStruct, reqEnum, reqText } from '../messages/tree.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { ruleByName } from '../messages/attribute-rules.ts';
import { atLeast } from '../messages/version.ts';
import { ManagedObject } from '../objects/managed-object.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { OBJECT_TAG, versionedError } from './common.ts';
import { registerObject } from './register.ts';
import { unwrapBody } from './key-unwrap.ts';

/** The longest Unique Identifier Import accepts (the server's own are 36-character UUIDs). */
const MAX_UID_LENGTH = 256;

/** Attributes that restate the object itself: Import checks them against the object instead of trusting them. */
const IDENTITY = new Set(['Unique Identifier', 'Object Type']);

const DESTROYED: ReadonlySet<number> = new Set([State.Destroyed, State.DestroyedCompromised]);

/**
 * Import (1.4 §4.41, 2.1 §6.1.25): stores an object under the Unique Identifier the client gives, with the attributes
 * it gives, server-set ones included ("all attributes MUST be set to the supplied values rather than any server
 * generated values"): the counterpart of Export, for moving objects between servers or restoring them.
 *
 * - The object is checked as Register checks it; attributes the client does not give get Register's values.
 * - Replace Existing true replaces an object of the caller's scope with that identifier; absent or false, an existing
 *   one is Object Already Exists. An identifier another scope holds is never overwritten nor revealed: the message
 *   fails with Object Already Exists when it commits (the store refuses the write, dispatcher.ts).
 * - Key Wrap Type Not Wrapped unwraps a wrapped key first under a key of the caller's scope (key-unwrap.ts);
 *   otherwise a wrapped key is stored as given.
 * - An object whose State attribute is Destroyed or Destroyed Compromised has no material: the object may be omitted
 *   (Export leaves it out) and is not stored if sent.
 * KMIP 1.4 and later: a 1.0-1.3 request is Operation Not Supported, as the operation did not exist.
 */
export const importObject: OperationHandler = async (payload, ctx) => {
  if (!atLeast(ctx.version, 1, 4)) throw operationNotSupported('Import is a KMIP 1.4 operation');
  const uid = reqText(payload, Tag.UniqueIdentifier);
  if (uid.length === 0 || uid.length > MAX_UID_LENGTH || /[\u0000-\u001f\u007f]/.test(uid)) throw invalidField(`the Unique Identifier must be 1 to ${MAX_UID_LENGTH} printable characters`);
  const objectType = reqEnum(payload, Tag.ObjectType);
  const objectTag = OBJECT_TAG[objectType];
  if (objectTag === undefined) throw invalidField('unsupported Object Type');
  if (objectType === ObjectType.Template && atLeast(ctx.version, 2, 0)) throw invalidField('KMIP 2 has no Template objects');
  const replace = optBool(payload, Tag.ReplaceExisting) ?? false;
  const wrapType = optEnum(payload, Tag.KeyWrapType);
  if (wrapType !== undefined && wrapType !== KeyWrapType.NotWrapped && wrapType !== KeyWrapType.AsRegistered) {
    throw versionedError(ctx, ResultReason.KeyWrapTypeNotSupported, ResultReason.InvalidField, 'unknown Key Wrap Type');
  }

  const given = suppliedAttributes(payload, ctx, uid, objectType);
  const existing = await ctx.uow.get(uid);
  if (existing && !replace) throw new KmipError(ResultReason.ObjectAlreadyExists, `object ${uid} already exists; set Replace Existing to replace it`);

  const state = given.find((a) => a.name === 'State')?.value;
  const destroyed = state?.type === ItemType.Enumeration && DESTROYED.has(state.value);
  let body = optStruct(payload, objectTag) ?? null;
  if (destroyed) body = null;
  else if (!body) throw missingData('the object to import is missing');
  else if (wrapType === KeyWrapType.NotWrapped) body = await unwrapBody(ctx, body);

  // What Register would make of the object (checks included), then the client's values over it.
  const made = body
    ? registerObject(ctx, objectType, body, given.filter((a) => ruleByName(a.name)?.client !== 'server' && !IDENTITY.has(a.name)))
    : new ManagedObject({ uid, scope: ctx.uow.scope, objectType, attributes: [], body: null });
  const obj = new ManagedObject({ uid, scope: ctx.uow.scope, objectType, attributes: made.attributes, body: made.body, revision: existing?.revision ?? 0, owner: existing?.owner });
  for (const name of new Set(given.map((a) => a.name))) obj.remove(name);
  for (const a of given) obj.add(a.name, a.value);
  obj.set('Unique Identifier', text(Tag.AttributeValue, uid));
  obj.set('Object Type', enumeration(Tag.AttributeValue, objectType));
  if (!given.some((a) => a.name === 'Short Unique Identifier') && obj.has('Short Unique Identifier')) {
    obj.set('Short Unique Identifier', bytes(Tag.AttributeValue, createHash('sha256').update(uid).digest()));
  }
  ctx.uow.save(obj);
  ctx.placeholder.id = uid;
  ctx.log({ operation: 'Import', uid, replaced: existing !== undefined }, 'object imported');
  return [text(Tag.UniqueIdentifier, uid)];
};

/**
 * The request's attributes: 1.4's Attribute items in the payload, or 2.x's Attributes structure. Single-instance
 * attributes once only; Unique Identifier and Object Type, when given, must name this object.
 */
function suppliedAttributes(payload: StructureItem, ctx: OperationContext, uid: string, objectType: number): AttributeEntry[] {
  const attrs = atLeast(ctx.version, 2, 0) ? parseAttributeList(optStruct(payload, Tag.Attributes) ?? missing()) : parseAttributeList(payload);
  const counts = new Map<string, number>();
  for (const a of attrs) {
    const n = (counts.get(a.name) ?? 0) + 1;
    counts.set(a.name, n);
    const rule = ruleByName(a.name);
    if (rule && !rule.multi && n > 1) throw invalidField(`attribute ${a.name} may have only one instance`);
    if (a.name === 'Unique Identifier' && (a.value.type !== ItemType.TextString || a.value.value !== uid)) throw invalidField('the Unique Identifier attribute differs from the request\'s');
    if (a.name === 'Object Type' && (a.value.type !== ItemType.Enumeration || a.value.value !== objectType)) throw invalidField('the Object Type attribute differs from the request\'s');
  }
  return attrs;
}

const missing = (): never => {
  throw missingData('Import needs the object\'s Attributes');
};
