import { Tag } from '../ttlv/tag.ts';
import { ItemType, enumeration, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { atLeast, type ProtocolVersion } from '../messages/version.ts';
import { attributeVisible, canonicalName, emitVisibleAttribute } from '../messages/attributes.ts';
import { ruleByName, ruleByTag } from '../messages/attribute-rules.ts';
import { invalidField, invalidMessage } from '../messages/errors.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationHandler } from './context.ts';
import { loadObject, targetUid } from './common.ts';

/** Attribute names a Get Attributes / Delete Attribute names, from 1.x names or 2.x references. */
export function requestedNames(items: readonly TtlvItem[]): string[] {
  const out: string[] = [];
  for (const i of items) {
    if (i.tag === Tag.AttributeName && i.type === ItemType.TextString) out.push(canonicalName(i.value));
    else if (i.tag === Tag.AttributeReference) {
      if (i.type === ItemType.Enumeration) {
        // A tag that is no attribute this server keeps is simply absent from the answer.
        out.push(ruleByTag(i.value)?.name ?? `tag:${i.value.toString(16)}`);
      } else if (i.type === ItemType.Structure) {
        const vendor = i.value.find((c) => c.tag === Tag.VendorIdentification);
        const name = i.value.find((c) => c.tag === Tag.AttributeName);
        if (vendor?.type === ItemType.TextString && name?.type === ItemType.TextString) out.push(`${vendor.value}-${name.value}`);
      }
    }
  }
  return out;
}

/** The object's attributes as `version` may see them, optionally only the named ones. */
export function visibleAttributes(obj: ManagedObject, version: ProtocolVersion, names?: readonly string[]): TtlvItem[] {
  const out: TtlvItem[] = [];
  const wanted = names && names.length > 0 ? names : undefined;
  const order = wanted ?? [...new Set(obj.attributes.map((a) => a.name))];
  for (const name of order) {
    if (!attributeVisible(name, version)) continue;
    // Each instance keeps its stored index, so Modify and Delete Attribute still name the right one.
    obj.all(name).forEach((value, index) => {
      const item = emitVisibleAttribute({ name, value }, version, index);
      if (item) out.push(item);
    });
  }
  return out;
}

/** Get Attributes: the named attributes (all, when none are named) of one object. */
export const getAttributes: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  const names = requestedNames(payload.value);
  if (new Set(names).size !== names.length) throw invalidMessage('an attribute is named twice');
  const attrs = visibleAttributes(obj, ctx.version, names);
  return atLeast(ctx.version, 2, 0)
    ? [text(Tag.UniqueIdentifier, obj.uid), struct(Tag.Attributes, attrs)]
    : [text(Tag.UniqueIdentifier, obj.uid), ...attrs];
};

/** Get Attribute List: the names of the attributes an object has. */
export const getAttributeList: OperationHandler = async (payload, ctx) => {
  const obj = await loadObject(ctx, targetUid(payload, ctx));
  const names = [...new Set(obj.attributes.map((a) => a.name))].filter((n) => attributeVisible(n, ctx.version));
  const out: TtlvItem[] = [text(Tag.UniqueIdentifier, obj.uid)];
  for (const n of names) {
    if (!atLeast(ctx.version, 2, 0)) out.push(text(Tag.AttributeName, n));
    else {
      const rule = ruleByName(n);
      if (rule) out.push(enumeration(Tag.AttributeReference, rule.tag));
      else {
        const dash = n.indexOf('-');
        out.push(struct(Tag.AttributeReference, [text(Tag.VendorIdentification, n.slice(0, dash)), text(Tag.AttributeName, n.slice(dash + 1))]));
      }
    }
  }
  return out;
};
