import { Tag } from '../ttlv/tag.ts';
import { ObjectType } from '../ttlv/enums.ts';
import { ItemType, enumeration, int, text, type StructureItem } from '../ttlv/types.ts';
import { invalidField, missingData } from '../messages/errors.ts';
import { optEnum, optInt, optStruct, reqEnum } from '../messages/tree.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { encode } from '../ttlv/writer.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { OBJECT_TAG, checkClientAttributes, digestAttribute, newObject, requestAttributes } from './common.ts';
import type { ManagedObject } from '../objects/managed-object.ts';

/** Register: the client supplies the object; the server keeps it and its attributes. */
export const register: OperationHandler = async (payload, ctx) => {
  const objectType = reqEnum(payload, Tag.ObjectType);
  const objectTag = OBJECT_TAG[objectType];
  if (objectTag === undefined) throw invalidField('unsupported Object Type');
  const body = optStruct(payload, objectTag);
  if (!body) throw missingData('the object to register is missing');
  const attrs = requestAttributes(payload, ctx);
  checkClientAttributes(attrs);
  const obj = registerObject(ctx, objectType, body, attrs);
  ctx.uow.save(obj);
  ctx.placeholder.id = obj.uid;
  return [text(Tag.UniqueIdentifier, obj.uid)];
};

/** Builds a managed object from a client-supplied object structure (Register, Import). */
export function registerObject(ctx: OperationContext, objectType: number, body: StructureItem, attrs: AttributeEntry[]): ManagedObject {
  if (objectType === ObjectType.Template) {
    // A 1.x Template carries attributes for later Create calls; it has no key material.
    const templateAttrs = parseAttributeList(body);
    const obj = newObject(ctx, objectType, null, attrs);
    obj.remove('State');
    obj.body = body;
    void templateAttrs;
    return obj;
  }
  const block = optStruct(body, Tag.KeyBlock);
  const obj = newObject(ctx, objectType, body, attrs);
  if (block) {
    const alg = optEnum(block, Tag.CryptographicAlgorithm);
    const len = optInt(block, Tag.CryptographicLength);
    if (alg !== undefined && !obj.has('Cryptographic Algorithm')) obj.set('Cryptographic Algorithm', enumeration(Tag.AttributeValue, alg));
    if (len !== undefined && !obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, len));
    const format = optEnum(block, Tag.KeyFormatType);
    const value = optStruct(block, Tag.KeyValue);
    const material = value?.value.find((i) => i.tag === Tag.KeyMaterial);
    if (format !== undefined && material) {
      const digestInput = material.type === ItemType.ByteString ? material.value : encode(material);
      obj.add('Digest', digestAttribute(digestInput, format));
    }
    if (!block.value.some((i) => i.tag === Tag.KeyWrappingData) && material === undefined) throw missingData('Key Block has no Key Material');
  } else if (objectType === ObjectType.Certificate) {
    const der = body.value.find((i) => i.tag === Tag.CertificateValue);
    const type = optEnum(body, Tag.CertificateType);
    if (!der || der.type !== ItemType.ByteString || type === undefined) throw missingData('Certificate needs Certificate Type and Certificate Value');
    obj.set('Certificate Type', enumeration(Tag.AttributeValue, type));
    obj.set('Certificate Length', int(Tag.AttributeValue, der.value.length));
    obj.add('Digest', digestAttribute(der.value, 0x00000005 /* X.509 key format for certificates */));
  } else if (objectType === ObjectType.OpaqueObject) {
    const data = body.value.find((i) => i.tag === Tag.OpaqueDataValue);
    if (!data || data.type !== ItemType.ByteString) throw missingData('Opaque Object needs Opaque Data Value');
    obj.add('Digest', digestAttribute(data.value, 0x00000002 /* Opaque */));
  } else {
    throw missingData('the object has no Key Block');
  }
  return obj;
}
