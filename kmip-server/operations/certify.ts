/**
 * Certify (1.4 §4.7, 2.1 §6.1.6): the server issues an X.509 certificate for a public key and registers it as a
 * Certificate object. Re-certify (recertify.ts) shares the signing CA and the issuing code here.
 *
 * The request: the Unique Identifier of a Public Key (1.x: else the ID Placeholder; 2.x: the ID Placeholder only
 * when no Certificate Request is given) and/or a Certificate Request (PKCS#10 DER, or PEM). The request's signature
 * must verify, and its key must be the Public Key's. The certificate carries:
 * - subject: the Certificate Request's (it wins over attributes, 1.4 §4.7), else the X.509 Certificate Subject
 *   attribute (DER), the 1.x Certificate Subject (RFC 4514 text) or the 2.x Certificate Subject CN / O / ...
 *   attributes given in the request; Subject Alternative Name likewise;
 * - basicConstraints CA:false (critical), a Key Usage derived from the Cryptographic Usage Mask asked for (Sign /
 *   Verify: digitalSignature; Content Commitment: nonRepudiation; Wrap / Unwrap Key: keyEncipherment; Encrypt /
 *   Decrypt: dataEncipherment; Key Agreement: keyAgreement; Certificate Sign and CRL Sign are never granted: the
 *   server issues end-entity certificates only), Subject / Authority Key Identifiers;
 * - validity: one year from now (backdated 5 minutes), never past the CA's; a random 16-octet serial.
 * The Certificate object gets what Register derives from a certificate (register.ts) plus the request's attributes,
 * a Public Key Link to the Public Key, which gets a Certificate Link back (1.4 §4.7). It becomes the ID Placeholder.
 *
 * The signing CA: one per scope, made lazily and kept as managed objects of that scope.
 * - On a scope's first Certify / Re-certify the server makes a self-signed root CA (RSA 2048, SHA-256 with RSA: the
 *   Digital Signature Algorithm the TC_134 vectors expect; O=kube-kmip, CN=Certify CA <scope id>; ten years) and
 *   stores it, in the same unit of work as the certificate it first signs, as two objects named CA_NAME: its
 *   Certificate (Active) and its Private Key (Active, PKCS#8, linked to the certificate by a Certificate Link).
 * - The private key goes through the store like any key, so its material is encrypted at rest under the scope's data
 *   key. Extractable is false (Get refuses it), Sensitive true, and its Usage Mask is Certificate Sign | CRL Sign
 *   only (the Sign operation refuses it). KMIP lets a client modify Extractable and Sensitive: a CA key whose
 *   Extractable is no longer false or Sensitive no longer true is not used again (a new CA is made).
 * - Per scope, because Certify signs subjects the client chooses: one tenant's certificates must never chain to a CA
 *   that also signs another tenant's. In the scope, because operations reach the store only through the caller's
 *   unit of work (OperationContext has no other scope); it also lets clients Locate the CA certificate by name to
 *   validate what the server issued. The price: the two CA objects show up in the scope's Locate results, and a
 *   client may Revoke or Destroy them (the next Certify then makes a new CA).
 * - Choosing the CA: the newest Active Private Key named CA_NAME whose linked certificate is a CA certificate for
 *   that key with at least a leaf lifetime left; otherwise a new CA is made (so a revoked, destroyed or expiring CA
 *   is replaced). Two first Certify calls racing on one scope may each make a CA; both stay valid, the newest is used.
 *   A client that registers its own key and CA certificate that way makes the server sign with them: the scope's
 *   CA is the scope's own business, and no other scope is affected.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CertificateRequestType, CertificateType, CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, LinkType, NameType, ObjectType,
  ResultReason, State,
} from '../ttlv/enums.ts';
import { ItemType, bool, bytes, dateTime, enumeration, int, struct, text, type StructureItem } from '../ttlv/types.ts';
import { KmipError, cryptographicFailure, invalidField, missingData } from '../messages/errors.ts';
import { find, optEnum, optStruct, optText } from '../messages/tree.ts';
import { parseAttributeList, type AttributeEntry } from '../messages/attributes.ts';
import { atLeast } from '../messages/version.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import { applyDates } from '../objects/lifecycle.ts';
import { DER, children, expect, readOne } from '../crypto/der.ts';
import { asymmetricKey } from '../crypto/key-use.ts';
import { x509 } from '../../operator/pki/provider.ts';
import { createRootCa, loadCertificateAuthority, openCertificateAuthority, type OpenedCa } from '../../operator/pki/ca.ts';
import { signCertificate } from '../../operator/pki/sign.ts';
import { resolveValidity } from '../../operator/pki/validity.ts';
import { certificatePem, pemDecodeAll, pemEncode } from '../../operator/pki/pem.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import {
  assertNotArchived, checkClientAttributes, digestAttribute, keyBlock, linkValue, loadObject, mergeAttributeLayers, newObject, setServerAttributes,
  templateAttributes, touch, versionedError,
} from './common.ts';
import { attributeContainer } from './create.ts';
import { registerObject } from './register.ts';

/** Name of the scope CA's Private Key and Certificate objects. */
export const CA_NAME = 'kube-kmip Certify CA';
export const LEAF_TTL_DAYS = 365;
const CA_TTL_DAYS = 3650;
const DAY_SECONDS = 24 * 60 * 60;

/** Certify: a new certificate for a Public Key and/or a Certificate Request. */
export const certify: OperationHandler = async (payload, ctx) => {
  const request = await certificateRequest(payload, ctx);
  const given = optText(payload, Tag.UniqueIdentifier);
  const placeholderAllowed = !atLeast(ctx.version, 2, 0) || request === undefined;
  const uid = given ?? (placeholderAllowed ? ctx.placeholder.id : undefined);
  if (uid === undefined && request === undefined) throw missingData('Certify needs the Unique Identifier of a Public Key or a Certificate Request');
  const publicKey = uid === undefined ? undefined : await loadObject(ctx, uid);
  let spki: Uint8Array;
  if (publicKey) {
    const key = publicKeyOf(ctx, publicKey);
    if (request && !createPublicKey({ key: Buffer.from(request.spki), format: 'der', type: 'spki' }).equals(key)) {
      throw versionedError(ctx, ResultReason.InvalidCSR, ResultReason.InvalidField, 'the Certificate Request is for another key than the Public Key');
    }
    spki = request?.spki ?? new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  } else {
    spki = request!.spki;
  }

  const { templates, explicit, hints } = await requestAttributes(payload, ctx);
  const attrs = mergeAttributeLayers([templates, explicit]);
  const subject = request?.subject ?? hints.subject;
  if (!subject) throw missingData('a certificate needs a subject: give a Certificate Request or the X.509 Certificate Subject attribute');
  const san = request ? request.san : hints.san;
  const der = await issue(ctx, { subject, spki, ...(san ? { san } : {}), usageMask: usageMaskOf(attrs) });

  const cert = certificateObject(ctx, der, attrs);
  if (publicKey) {
    cert.add('Link', linkValue(LinkType.PublicKeyLink, publicKey.uid));
    publicKey.add('Link', linkValue(LinkType.CertificateLink, cert.uid));
    touch(publicKey, ctx);
    ctx.uow.save(publicKey);
  }
  ctx.uow.save(cert);
  ctx.placeholder.id = cert.uid;
  return [text(Tag.UniqueIdentifier, cert.uid)];
};

// ---- the request ------------------------------------------------------------------------------------------------

export interface CertificateRequestInfo {
  /** DER Name. */
  subject: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** DER GeneralNames of a requested Subject Alternative Name extension. */
  san?: Uint8Array;
}

const SAN_OID = '2.5.29.17';

/** The request's Certificate Request, read and its signature checked; undefined when there is none. */
export async function certificateRequest(payload: StructureItem, ctx: OperationContext): Promise<CertificateRequestInfo | undefined> {
  const value = find(payload, Tag.CertificateRequestValue) ?? find(payload, Tag.CertificateRequest);
  const type = optEnum(payload, Tag.CertificateRequestType);
  if (value === undefined) return undefined;
  if (value.type !== ItemType.ByteString) throw invalidField('Certificate Request must be a Byte String');
  if (type === undefined) throw missingData('Certificate Request Type is required with a Certificate Request');
  const bad = (why: string): KmipError => versionedError(ctx, ResultReason.InvalidCSR, ResultReason.InvalidField, `the Certificate Request ${why}`);
  let der: Uint8Array;
  if (type === CertificateRequestType.PKCS_10) der = value.value;
  else if (type === CertificateRequestType.PEM) {
    const block = pemDecodeAll(Buffer.from(value.value).toString('latin1')).find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
    if (!block) throw bad('holds no PEM CERTIFICATE REQUEST block');
    der = block.der;
  } else {
    throw new KmipError(ResultReason.FeatureNotSupported, 'only PKCS#10 certificate requests (DER or PEM) are supported');
  }
  let csr: x509.Pkcs10CertificateRequest;
  let subject: Uint8Array;
  let spki: Uint8Array;
  try {
    const info = children(children(expect(readOne(der), DER.SEQUENCE, 'CertificationRequest'))[0]!);
    subject = Uint8Array.from(expect(info[1], DER.SEQUENCE, 'subject').raw);
    spki = Uint8Array.from(expect(info[2], DER.SEQUENCE, 'subjectPKInfo').raw);
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch {
    throw bad('is not a PKCS#10 request');
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw bad('signature does not verify');
  const out: CertificateRequestInfo = { subject, spki };
  const san = csr.extensions.find((e) => e.type === SAN_OID);
  if (san) out.san = new Uint8Array(san.value);
  return out;
}

/** What the request's attributes say about the certificate to issue (they are not stored as given). */
export interface IssuanceHints {
  subject?: Uint8Array;
  san?: Uint8Array;
}

/** 2.x Certificate Subject <part> attributes → attribute type OIDs, in the order a Name lists them (C first). */
const SUBJECT_PARTS: readonly [string, string][] = [
  ['Certificate Subject C', '2.5.4.6'], ['Certificate Subject ST', '2.5.4.8'], ['Certificate Subject L', '2.5.4.7'],
  ['Certificate Subject DC', '0.9.2342.19200300.100.1.25'], ['Certificate Subject O', '2.5.4.10'], ['Certificate Subject OU', '2.5.4.11'],
  ['Certificate Subject Title', '2.5.4.12'], ['Certificate Subject CN', '2.5.4.3'], ['Certificate Subject UID', '0.9.2342.19200300.100.1.1'],
  ['Certificate Subject Serial Number', '2.5.4.5'], ['Certificate Subject DN Qualifier', '2.5.4.46'], ['Certificate Subject Email', '1.2.840.113549.1.9.1'],
];
const HINT_NAMES: ReadonlySet<string> = new Set(['Certificate Type', 'X.509 Certificate Subject', 'Certificate Subject', ...SUBJECT_PARTS.map(([n]) => n)]);

/**
 * The request's attributes for the new certificate: its 1.x Templates' and its explicit ones (merge them in that
 * order, over any inherited ones), with the issuance hints (Certificate Type, the subject attributes) taken out.
 */
export async function requestAttributes(payload: StructureItem, ctx: OperationContext): Promise<{ templates: AttributeEntry[]; explicit: AttributeEntry[]; hints: IssuanceHints }> {
  const given = parseAttributeList(attributeContainer(payload, ctx, Tag.TemplateAttribute, Tag.Attributes));
  const templates = await templateAttributes(ctx, optStruct(payload, Tag.TemplateAttribute));
  const all = [...templates, ...given];
  const explicit = given.filter((a) => !HINT_NAMES.has(a.name));
  checkClientAttributes(explicit);
  const hints: IssuanceHints = {};
  const type = all.filter((a) => a.name === 'Certificate Type').pop()?.value;
  if (type && (type.type !== ItemType.Enumeration || type.value !== CertificateType.X_509)) throw invalidField('this server issues X.509 certificates only');
  const x509Subject = all.filter((a) => a.name === 'X.509 Certificate Subject').pop()?.value;
  const textSubject = all.filter((a) => a.name === 'Certificate Subject').pop()?.value;
  try {
    if (x509Subject?.type === ItemType.Structure) {
      const dn = x509Subject.value.find((i) => i.tag === Tag.SubjectDistinguishedName);
      const alt = x509Subject.value.find((i) => i.tag === Tag.SubjectAlternativeName);
      if (dn?.type === ItemType.ByteString && dn.value.length > 0) {
        new x509.Name(dn.value); // must parse
        hints.subject = Uint8Array.from(dn.value);
      }
      if (alt?.type === ItemType.ByteString && alt.value.length > 0) {
        new x509.GeneralNames(alt.value); // must parse
        hints.san = Uint8Array.from(alt.value);
      }
    } else if (textSubject?.type === ItemType.Structure) {
      const dn = textSubject.value.find((i) => i.tag === Tag.CertificateSubjectDistinguishedName);
      // RFC 4514 text lists the most specific part first; a Name's DER the other way round.
      if (dn?.type === ItemType.TextString && dn.value !== '') hints.subject = new Uint8Array(new x509.Name(new x509.Name(dn.value).toJSON().reverse()).toArrayBuffer());
    } else {
      const rdns: Record<string, string[]>[] = [];
      for (const [name, oid] of SUBJECT_PARTS) {
        const v = all.filter((a) => a.name === name).pop()?.value;
        if (v?.type === ItemType.TextString) rdns.push({ [oid]: [v.value] });
      }
      if (rdns.length > 0) hints.subject = new Uint8Array(new x509.Name(rdns).toArrayBuffer());
    }
  } catch {
    throw invalidField('the certificate subject attributes cannot be read');
  }
  return { templates: templates.filter((a) => !HINT_NAMES.has(a.name)), explicit, hints };
}

/** The node KeyObject of a Public Key that may be certified. */
export function publicKeyOf(ctx: OperationContext, obj: ManagedObject): KeyObject {
  assertNotArchived(obj);
  if (obj.objectType !== ObjectType.PublicKey) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.PermissionDenied, `object ${obj.uid} is not a Public Key`);
  if (!obj.body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.PermissionDenied, `object ${obj.uid} has been destroyed`);
  return asymmetricKey(obj, 'public', ctx.version);
}

export function usageMaskOf(attrs: readonly AttributeEntry[]): number | undefined {
  const v = attrs.filter((a) => a.name === 'Cryptographic Usage Mask').pop()?.value;
  return v?.type === ItemType.Integer ? v.value : undefined;
}

// ---- issuing ----------------------------------------------------------------------------------------------------

export interface IssueParams {
  subject: Uint8Array;
  spki: Uint8Array;
  san?: Uint8Array;
  usageMask?: number | undefined;
}

const KEY_USAGES: readonly [number, number][] = [
  [CryptographicUsageMask.Sign | CryptographicUsageMask.Verify, x509.KeyUsageFlags.digitalSignature],
  [CryptographicUsageMask.ContentCommitmentNonRepudiation, x509.KeyUsageFlags.nonRepudiation],
  [CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey, x509.KeyUsageFlags.keyEncipherment],
  [CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt, x509.KeyUsageFlags.dataEncipherment],
  [CryptographicUsageMask.KeyAgreement, x509.KeyUsageFlags.keyAgreement],
];

/** An end-entity certificate (DER) for `spki`, signed by the scope's CA (made now if there is none). */
export async function issue(ctx: OperationContext, p: IssueParams): Promise<Uint8Array> {
  const ca = await scopeCa(ctx);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  let flags = 0;
  for (const [mask, flag] of KEY_USAGES) if (p.usageMask !== undefined && (p.usageMask & mask) !== 0) flags |= flag;
  if (flags !== 0) extensions.push(new x509.KeyUsagesExtension(flags, true));
  if (p.san) extensions.push(new x509.Extension(SAN_OID, false, p.san));
  try {
    const cert = await signCertificate({
      subject: new x509.Name(p.subject),
      subjectPublicKey: p.spki,
      issuer: ca.signer,
      validity: resolveValidity({}, LEAF_TTL_DAYS, ca.certificate.notAfter),
      extensions,
    });
    return new Uint8Array(cert.rawData);
  } catch {
    throw cryptographicFailure('the certificate could not be issued for this key');
  }
}

/** The Certificate object for an issued certificate: Register's derived attributes and the request's. */
export function certificateObject(ctx: OperationContext, der: Uint8Array, attrs: AttributeEntry[]): ManagedObject {
  return registerObject(ctx, ObjectType.Certificate, struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, der)]), attrs);
}

export function linkedUid(obj: ManagedObject, type: number): string | undefined {
  for (const v of obj.all('Link')) {
    if (v.type !== ItemType.Structure) continue;
    const t = v.value.find((i) => i.tag === Tag.LinkType);
    const id = v.value.find((i) => i.tag === Tag.LinkedObjectIdentifier);
    if (t?.type === ItemType.Enumeration && t.value === type && id?.type === ItemType.TextString) return id.value;
  }
  return undefined;
}

// ---- the scope's CA ---------------------------------------------------------------------------------------------

/** The scope's CA, opened for signing; made and stored (in this unit of work) when there is no usable one. */
export async function scopeCa(ctx: OperationContext): Promise<OpenedCa> {
  const keys = await ctx.uow.list({ objectType: ObjectType.PrivateKey, name: CA_NAME });
  for (const key of keys.reverse()) {
    const opened = await openStoredCa(ctx, key);
    if (opened) return opened;
  }
  return makeCa(ctx);
}

async function openStoredCa(ctx: OperationContext, key: ManagedObject): Promise<OpenedCa | undefined> {
  if (key.has('State')) applyDates(key, ctx.now);
  if (!key.body || key.state !== State.Active) return undefined;
  // A CA key a client made extractable (or not sensitive) may have left the server: it signs no more.
  if (key.one('Extractable')?.value !== false || key.one('Sensitive')?.value !== true) return undefined;
  const block = optStruct(key.body, Tag.KeyBlock);
  const material = block?.value.find((i) => i.tag === Tag.KeyValue);
  const pkcs8 = material?.type === ItemType.Structure ? material.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
  const certUid = linkedUid(key, LinkType.CertificateLink);
  if (pkcs8?.type !== ItemType.ByteString || optEnum(block!, Tag.KeyFormatType) !== KeyFormatType.PKCS_8 || certUid === undefined) return undefined;
  const cert = await ctx.uow.get(certUid);
  const value = cert?.body?.value.find((i) => i.tag === Tag.CertificateValue);
  if (!cert || cert.objectType !== ObjectType.Certificate || value?.type !== ItemType.ByteString) return undefined;
  try {
    const ca = await loadCertificateAuthority({ certificatePem: certificatePem(value.value), privateKeyPem: pemEncode('PRIVATE KEY', pkcs8.value) });
    const opened = await openCertificateAuthority(ca);
    const left = opened.certificate.notAfter.getTime() / 1000 - ctx.now;
    if (opened.certificate.notBefore.getTime() / 1000 > ctx.now || left < LEAF_TTL_DAYS * DAY_SECONDS) return undefined;
    return opened;
  } catch {
    return undefined; // not a CA for this key (or unreadable): not used
  }
}

async function makeCa(ctx: OperationContext): Promise<OpenedCa> {
  const ca = await createRootCa({
    organization: 'kube-kmip',
    commonName: `Certify CA ${ctx.identity.scopeId}`.slice(0, 64),
    keySpec: { type: 'rsa', bits: 2048 },
    ttlDays: CA_TTL_DAYS,
  });
  const opened = await openCertificateAuthority(ca);
  const certDer = new Uint8Array(opened.certificate.rawData);
  const keyDer = pemDecodeAll(ca.privateKeyPem)[0]!.der;
  const named = (extra: AttributeEntry[]): AttributeEntry[] => [
    { name: 'Name', value: struct(Tag.AttributeValue, [text(Tag.NameValue, CA_NAME), enumeration(Tag.NameType, NameType.UninterpretedTextString)]) },
    { name: 'Activation Date', value: dateTime(Tag.AttributeValue, ctx.now) },
    ...extra,
  ];
  const cert = certificateObject(ctx, certDer, named([]));
  const key = newObject(ctx, ObjectType.PrivateKey, struct(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_8, bytes(Tag.KeyMaterial, keyDer), CryptographicAlgorithm.RSA, 2048)]), named([
    { name: 'Cryptographic Algorithm', value: enumeration(Tag.AttributeValue, CryptographicAlgorithm.RSA) },
    { name: 'Cryptographic Length', value: int(Tag.AttributeValue, 2048) },
    { name: 'Cryptographic Usage Mask', value: int(Tag.AttributeValue, CryptographicUsageMask.CertificateSign | CryptographicUsageMask.CRLSign) },
    { name: 'Sensitive', value: bool(Tag.AttributeValue, true) },
    { name: 'Extractable', value: bool(Tag.AttributeValue, false) },
  ]));
  key.add('Digest', digestAttribute(keyDer, KeyFormatType.PKCS_8));
  key.add('Link', linkValue(LinkType.CertificateLink, cert.uid));
  setServerAttributes(key, ctx, { generated: true, keyFormat: KeyFormatType.PKCS_8 });
  // The scope's CA serves every client of the scope, whichever header credential asked first.
  ctx.uow.save(cert, { shared: true });
  ctx.uow.save(key, { shared: true });
  ctx.log({ ca: cert.uid }, 'made the scope\'s Certify CA');
  return opened;
}
