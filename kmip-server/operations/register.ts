import { Tag } from '../ttlv/tag.ts';
import { CertificateType, CryptographicAlgorithm, EncodingOption, KeyFormatType, ObjectType, SplitKeyMethod } from '../ttlv/enums.ts';
import { ItemType, bool, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { invalidField, missingData } from '../messages/errors.ts';
import { find, optEnum, optInt, optStruct, reqBytes, reqEnum, reqInt, reqText } from '../messages/tree.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { ruleByName } from '../messages/attribute-rules.ts';
import { atLeast } from '../messages/version.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { formatOf, isWrapped, materialOf } from '../crypto/key-block.ts';
import {
  KeyMaterialError, checkTransparentFields, familyOfAlgorithm, isEncryptedPkcs8, keyFacts, privateKeyFrom, publicKeyFrom, type KeyFacts,
} from '../crypto/keys.ts';
import { CertificateError, certificateFacts } from '../crypto/certificate.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  OBJECT_TAG, attrEnum, attrInt, checkClientAttributes, digestAttribute, mergeAttributeLayers, newObject, setServerAttributes, templateAttributes,
} from './common.ts';
import { attributeContainer, materialDigestInput } from './create.ts';

/** Register: the client supplies the object; the server checks it, keeps it and derives its attributes. */
export const register: OperationHandler = async (payload, ctx) => {
  const objectType = reqEnum(payload, Tag.ObjectType);
  const objectTag = OBJECT_TAG[objectType];
  if (objectTag === undefined) throw invalidField('unsupported Object Type');
  if (objectType === ObjectType.Template && atLeast(ctx.version, 2, 0)) throw invalidField('KMIP 2 has no Template objects');
  const body = optStruct(payload, objectTag);
  if (!body) throw missingData('the object to register is missing');
  const given = withoutDerived(parseAttributeList(attributeContainer(payload, ctx, Tag.TemplateAttribute, Tag.Attributes)), objectType, body);
  // Original Creation Date is the client's to give on Register (1.4 §3.43): when the object was really made.
  const originalCreation = given.find((a) => a.name === 'Original Creation Date')?.value;
  const explicit = given.filter((a) => a.name !== 'Original Creation Date');
  checkClientAttributes(explicit);
  const templates = await templateAttributes(ctx, optStruct(payload, Tag.TemplateAttribute));
  const obj = registerObject(ctx, objectType, body, mergeAttributeLayers([templates, explicit]));
  obj.remove('Original Creation Date');
  if (originalCreation?.type === ItemType.DateTime) obj.set('Original Creation Date', originalCreation);
  else if (originalCreation) throw invalidField('Original Creation Date must be a Date-Time');
  ctx.uow.save(obj);
  ctx.placeholder.id = obj.uid;
  return [text(Tag.UniqueIdentifier, obj.uid)];
};

/**
 * Server-set attributes a client may still send because they restate the object (2.x clients send
 * Certificate Type, Object Type, Key Format Type): dropped when they agree, refused when they do not.
 */
function withoutDerived(attrs: AttributeEntry[], objectType: number, body: StructureItem): AttributeEntry[] {
  const block = optStruct(body, Tag.KeyBlock);
  const derived: Record<string, number | undefined> = {
    'Object Type': objectType,
    'Certificate Type': objectType === ObjectType.Certificate ? optEnum(body, Tag.CertificateType) : undefined,
    'Key Format Type': block ? formatOf(block) : undefined,
  };
  return attrs.filter((a) => {
    if (!(a.name in derived)) return true;
    const want = derived[a.name];
    if (want === undefined || a.value.type !== ItemType.Enumeration || a.value.value !== want) throw invalidField(`attribute ${a.name} does not match the object`);
    return false;
  });
}

/** Builds a managed object from a client-supplied object structure (Register, Import). */
export function registerObject(ctx: OperationContext, objectType: number, body: StructureItem, attrs: AttributeEntry[]): ManagedObject {
  switch (objectType) {
    case ObjectType.Template:
      return registerTemplate(ctx, body, attrs);
    case ObjectType.Certificate:
      return registerCertificate(ctx, body, attrs);
    case ObjectType.OpaqueObject: {
      reqEnum(body, Tag.OpaqueDataType);
      const data = reqBytes(body, Tag.OpaqueDataValue);
      const obj = newObject(ctx, objectType, body, attrs);
      obj.add('Digest', digestAttribute(data, KeyFormatType.Opaque));
      setServerAttributes(obj, ctx, { generated: false });
      return obj;
    }
    case ObjectType.SymmetricKey:
    case ObjectType.PrivateKey:
    case ObjectType.PublicKey:
    case ObjectType.SecretData:
    case ObjectType.SplitKey:
    case ObjectType.PGPKey:
      return registerKey(ctx, objectType, body, attrs);
    default:
      throw invalidField('this server does not register that Object Type');
  }
}

/**
 * A 1.x Template: a named set of attributes for later Create / Register calls. Name attributes inside
 * it name the template itself (as SASED-M-2 does); it has no state, digest or key material.
 */
function registerTemplate(ctx: OperationContext, body: StructureItem, attrs: AttributeEntry[]): ManagedObject {
  const inside = parseAttributeList(body);
  checkClientAttributes(inside);
  const obj = newObject(ctx, ObjectType.Template, body, [...attrs, ...inside.filter((a) => a.name === 'Name')]);
  obj.remove('State');
  obj.set('Lease Time', { tag: Tag.AttributeValue, type: ItemType.Interval, value: ctx.server.leaseSeconds });
  return obj;
}

function registerCertificate(ctx: OperationContext, body: StructureItem, attrs: AttributeEntry[]): ManagedObject {
  const type = reqEnum(body, Tag.CertificateType);
  const der = reqBytes(body, Tag.CertificateValue);
  const obj = newObject(ctx, ObjectType.Certificate, body, attrs);
  obj.set('Certificate Type', enumeration(Tag.AttributeValue, type));
  obj.set('Certificate Length', int(Tag.AttributeValue, der.length));
  if (type === CertificateType.X_509) {
    let facts;
    try {
      facts = certificateFacts(der);
    } catch (err) {
      if (err instanceof CertificateError) throw invalidField(err.message);
      throw err;
    }
    try {
      const bits = facts.publicKey ? keyFacts(facts.publicKey).bits : 0;
      if (bits > 0 && !obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, bits));
    } catch (err) {
      if (!(err instanceof KeyMaterialError)) throw err;
    }
    if (facts.signatureAlgorithm !== undefined) obj.set('Digital Signature Algorithm', enumeration(Tag.AttributeValue, facts.signatureAlgorithm));
    // 1.0's text forms (the rules hide them from 2.x clients) and the 1.1+ DER forms.
    obj.set('Certificate Identifier', struct(Tag.AttributeValue, [text(Tag.Issuer, facts.issuerText), text(Tag.SerialNumber, facts.serialText)]));
    obj.set('Certificate Subject', struct(Tag.AttributeValue, [text(Tag.CertificateSubjectDistinguishedName, facts.subjectText)]));
    obj.set('Certificate Issuer', struct(Tag.AttributeValue, [text(Tag.CertificateIssuerDistinguishedName, facts.issuerText)]));
    obj.set('X.509 Certificate Identifier', struct(Tag.AttributeValue, [bytes(Tag.IssuerDistinguishedName, facts.issuerDer), bytes(Tag.CertificateSerialNumber, facts.serialDer)]));
    const subject: TtlvItem[] = [bytes(Tag.SubjectDistinguishedName, facts.subjectDer)];
    if (facts.subjectAltName) subject.push(bytes(Tag.SubjectAlternativeName, facts.subjectAltName));
    obj.set('X.509 Certificate Subject', struct(Tag.AttributeValue, subject));
    const issuer: TtlvItem[] = [bytes(Tag.IssuerDistinguishedName, facts.issuerDer)];
    if (facts.issuerAltName) issuer.push(bytes(Tag.IssuerAlternativeName, facts.issuerAltName));
    obj.set('X.509 Certificate Issuer', struct(Tag.AttributeValue, issuer));
    // 2.x's one-attribute-per-name-part forms (2.1 §4.6): the most specific value of each.
    for (const [who, parts] of [['Subject', facts.subjectParts], ['Issuer', facts.issuerParts]] as const) {
      for (const [oid, label] of NAME_PART_ATTRIBUTES) {
        const part = parts.find((p) => p.oid === oid);
        const name = `Certificate ${who} ${label}`;
        if (part && ruleByName(name)) obj.set(name, text(Tag.AttributeValue, part.value));
      }
    }
  }
  obj.add('Digest', digestAttribute(der, KeyFormatType.X_509));
  setServerAttributes(obj, ctx, { generated: false });
  return obj;
}

/** Name attribute types → the 2.x Certificate Subject / Issuer attribute suffixes. */
const NAME_PART_ATTRIBUTES: readonly [string, string][] = [
  ['2.5.4.3', 'CN'], ['2.5.4.10', 'O'], ['2.5.4.11', 'OU'], ['1.2.840.113549.1.9.1', 'Email'], ['2.5.4.6', 'C'], ['2.5.4.8', 'ST'],
  ['2.5.4.7', 'L'], ['0.9.2342.19200300.100.1.1', 'UID'], ['2.5.4.5', 'Serial Number'], ['2.5.4.12', 'Title'],
  ['0.9.2342.19200300.100.1.25', 'DC'], ['2.5.4.46', 'DN Qualifier'],
];

/** Objects carried in a Key Block: keys, Secret Data, Split Keys, PGP Keys. */
function registerKey(ctx: OperationContext, objectType: number, body: StructureItem, attrs: AttributeEntry[]): ManagedObject {
  checkEnvelope(objectType, body);
  const block = optStruct(body, Tag.KeyBlock);
  if (!block) throw missingData('the object has no Key Block');
  const format = reqEnum(block, Tag.KeyFormatType);
  const wrapped = isWrapped(block);
  if (wrapped) checkWrappingData(block);
  const material = materialOf(block);
  const hasValue = find(block, Tag.KeyValue) !== undefined;
  const located = attrs.some((a) => a.name === 'Key Value Location');
  if (!hasValue && !located) throw missingData('the Key Block has no Key Value');
  if (hasValue && !wrapped && !material) throw missingData('the Key Value has no Key Material');
  // A Key Value holds Key Material and the attributes that travel with it, nothing else: anything more would be
  // stored and returned to every reader, of any version.
  const kv = find(block, Tag.KeyValue);
  const stray = !wrapped && kv?.type === ItemType.Structure
    ? kv.value.find((i) => i.tag !== Tag.KeyMaterial && i.tag !== Tag.Attribute && i.tag !== Tag.Attributes)
    : undefined;
  if (stray) throw invalidField(`the Key Value holds a field other than Key Material and attributes (tag 0x${stray.tag.toString(16)})`);

  const algorithm = agree(optEnum(block, Tag.CryptographicAlgorithm), attrEnum(attrs, 'Cryptographic Algorithm'), 'Cryptographic Algorithm');
  const length = agree(optInt(block, Tag.CryptographicLength), attrInt(attrs, 'Cryptographic Length'), 'Cryptographic Length');
  let derived: { algorithm?: number; length?: number } = {};
  if (material && !wrapped) {
    if (objectType === ObjectType.SymmetricKey) derived = checkSymmetric(format, material, algorithm, length);
    else if (objectType === ObjectType.PrivateKey || objectType === ObjectType.PublicKey) {
      derived = checkAsymmetric(ctx, objectType, format, material, algorithm, length);
    }
  }

  const obj = newObject(ctx, objectType, body, attrs);
  const alg = algorithm ?? derived.algorithm;
  const len = length ?? derived.length;
  if (alg !== undefined && !obj.has('Cryptographic Algorithm')) obj.set('Cryptographic Algorithm', enumeration(Tag.AttributeValue, alg));
  if (len !== undefined && !obj.has('Cryptographic Length')) obj.set('Cryptographic Length', int(Tag.AttributeValue, len));
  if (material && !wrapped) obj.add('Digest', digestAttribute(materialDigestInput(material), format));
  if (!hasValue) obj.set('Key Value Present', bool(Tag.AttributeValue, false));
  setServerAttributes(obj, ctx, { generated: false, keyFormat: format });
  return obj;
}

/**
 * A wrapped Key Block is stored as given (operations/key-unwrap.ts serves and unwraps it), so its Key Wrapping Data
 * must say how it was wrapped (1.4 §2.1.5): a Wrapping Method and the Encryption and/or MAC/Signature Key
 * Information naming the key by Unique Identifier. The key named need not be on this server: the client may hold it.
 */
function checkWrappingData(block: StructureItem): void {
  const kwd = find(block, Tag.KeyWrappingData);
  if (kwd?.type !== ItemType.Structure) throw invalidField('Key Wrapping Data is not a structure');
  reqEnum(kwd, Tag.WrappingMethod);
  const infos = [optStruct(kwd, Tag.EncryptionKeyInformation), optStruct(kwd, Tag.MACSignatureKeyInformation)].filter((i) => i !== undefined);
  if (infos.length === 0) throw missingData('Key Wrapping Data names neither Encryption Key Information nor MAC/Signature Key Information');
  for (const info of infos) reqText(info, Tag.UniqueIdentifier);
  // The whole Key Value is wrapped into a byte string; only No Encoding may keep the structure around wrapped Key
  // Material bytes (as TC-WRAP-1-14 registers).
  const kv = find(block, Tag.KeyValue);
  const noEncoding = optEnum(kwd, Tag.EncodingOption) === EncodingOption.NoEncoding;
  if (kv && kv.type !== ItemType.ByteString && !(noEncoding && kv.type === ItemType.Structure && materialOf(block)?.type === ItemType.ByteString)) {
    throw invalidField('a wrapped Key Value is a byte string, or with No Encoding a Key Value whose Key Material is a byte string');
  }
}

function agree(fromBlock: number | undefined, fromAttrs: number | undefined, name: string): number | undefined {
  if (fromBlock !== undefined && fromAttrs !== undefined && fromBlock !== fromAttrs) throw invalidField(`the ${name} attribute differs from the Key Block's`);
  return fromBlock ?? fromAttrs;
}

/** The fields around the Key Block that Secret Data, Split Keys and PGP Keys require. */
function checkEnvelope(objectType: number, body: StructureItem): void {
  if (objectType === ObjectType.SecretData) reqEnum(body, Tag.SecretDataType);
  if (objectType === ObjectType.PGPKey) reqInt(body, Tag.PGPKeyVersion);
  if (objectType === ObjectType.SplitKey) {
    const parts = reqInt(body, Tag.SplitKeyParts);
    const id = reqInt(body, Tag.KeyPartIdentifier);
    const threshold = reqInt(body, Tag.SplitKeyThreshold);
    const method = reqEnum(body, Tag.SplitKeyMethod);
    if (threshold < 1 || threshold > parts || id < 1 || id > parts) throw invalidField('Split Key Threshold and Key Part Identifier must lie between 1 and Split Key Parts');
    if (method === SplitKeyMethod.PolynomialSharingPrimeField && find(body, Tag.PrimeFieldSize)?.type !== ItemType.BigInteger) {
      throw missingData('a prime-field Split Key needs Prime Field Size');
    }
  }
}

/** Key bytes of a symmetric key, and its length checked against Cryptographic Length. */
function checkSymmetric(format: number, material: TtlvItem, algorithm: number | undefined, length: number | undefined): { length?: number } {
  let key: Uint8Array | undefined;
  if ((format === KeyFormatType.Raw || format === KeyFormatType.Opaque) && material.type === ItemType.ByteString) key = material.value;
  if (format === KeyFormatType.TransparentSymmetricKey && material.type === ItemType.Structure) {
    const k = material.value.find((i) => i.tag === Tag.Key);
    if (k?.type === ItemType.ByteString) key = k.value;
  }
  if (!key) throw invalidField('a Symmetric Key must be Raw or Transparent Symmetric Key material');
  if (key.length === 0) throw invalidField('the Symmetric Key is empty');
  const bits = key.length * 8;
  const des3 = algorithm === CryptographicAlgorithm.DES3;
  const des = algorithm === CryptographicAlgorithm.DES;
  if (length !== undefined) {
    // DES-family lengths count key bits without parity: 3DES is 112 (two keys) or 168 (three), DES 56.
    const fits = des3 ? ([16, 24].includes(key.length) && [112, 128, 168, 192].includes(length) && (length <= 128 ? true : key.length === 24))
      : des ? key.length === 8 && (length === 56 || length === 64)
        : bits === length;
    if (!fits) throw invalidField('Cryptographic Length does not match the length of the key material');
    return {};
  }
  return { length: des3 ? (key.length === 24 ? 168 : 112) : des ? 56 : bits };
}

/**
 * Reads a private or public key (an unreadable one is Invalid Field) and checks it is the algorithm and
 * size the client says. An encrypted PKCS#8 key and transparent DSA / DH keys are checked for shape only.
 */
function checkAsymmetric(ctx: OperationContext, objectType: number, format: number, material: TtlvItem, algorithm: number | undefined, length: number | undefined): { algorithm?: number; length?: number } {
  if (format === KeyFormatType.PKCS_8 && material.type === ItemType.ByteString && isEncryptedPkcs8(material.value)) return {};
  let facts: KeyFacts;
  try {
    if (checkTransparentFields(format, material)) return {};
    facts = keyFacts(objectType === ObjectType.PrivateKey ? privateKeyFrom(format, material) : publicKeyFrom(format, material));
  } catch (err) {
    if (err instanceof KeyMaterialError) throw invalidField(err.message);
    throw err;
  }
  if (algorithm !== undefined) {
    const family = familyOfAlgorithm(algorithm);
    if (family !== undefined && family !== facts.family) throw invalidField('the key material is not of the key\'s Cryptographic Algorithm');
  }
  if (length !== undefined && (facts.family === 'rsa' || facts.family === 'ec') && length !== facts.bits) {
    throw invalidField('Cryptographic Length does not match the key material');
  }
  const derivedAlg: Record<string, number> = {
    rsa: CryptographicAlgorithm.RSA,
    ec: atLeast(ctx.version, 1, 2) ? CryptographicAlgorithm.EC : CryptographicAlgorithm.ECDSA,
    dsa: CryptographicAlgorithm.DSA,
    dh: CryptographicAlgorithm.DH,
    ed25519: CryptographicAlgorithm.Ed25519,
    ed448: CryptographicAlgorithm.Ed448,
  };
  const out: { algorithm?: number; length?: number } = {};
  const a = derivedAlg[facts.family];
  if (a !== undefined) out.algorithm = a;
  if (facts.bits > 0) out.length = facts.bits;
  return out;
}
