import { createPublicKey } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { LinkType, ObjectType, ResultReason } from '../ttlv/enums.ts';
import { ItemType, text } from '../ttlv/types.ts';
import { DER, DerError, children, expect, oidValue, readOne } from '../crypto/der.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { assertNotArchived, linkValue, loadObject, mergeAttributeLayers, targetUid, touch, versionedError } from './common.ts';
import { inheritedAttributes, requestOffset, retire } from './rekey.ts';
import { certificateObject, certificateRequest, issue, linkedUid, requestAttributes, usageMaskOf } from './certify.ts';

/** Attributes a new certificate takes from its certificate, never from the one it replaces. */
const DERIVED = /^(Certificate |X\.509 Certificate |Digital Signature Algorithm$|Cryptographic Length$|Cryptographic Algorithm$)/;

/**
 * Re-certify (1.4 §4.8, 2.1 §6.1.45): a new certificate for the key of an existing one, from the same CA as Certify
 * (certify.ts), for the same subject and alternative names unless a Certificate Request gives others. A Certificate
 * Request must be for the same key.
 *
 * The new Certificate object takes over the old one's attributes as Re-key does (rekey.ts; 1.4 Table 187): its
 * names (the old certificate loses them), Usage Mask, custom attributes ..., the dates moved by an Offset; not its
 * Links, Digest or anything derived from the certificate itself. Instance order, which Get Attributes shows as
 * Attribute Index: the inherited names before the request's, the Replaced Object Link before the Public Key Link
 * (Table 187's attributes first; as the TC_134 vectors record it at 1.0 and 1.1, while the 1.2 recording has both
 * the other way round). The old certificate gets a Replacement Object Link; the Public Key's Certificate Link to
 * the old certificate now names the new one. The new certificate becomes the ID Placeholder.
 */
export const recertify: OperationHandler = async (payload, ctx) => {
  const old = await loadObject(ctx, targetUid(payload, ctx));
  assertNotArchived(old);
  if (old.objectType !== ObjectType.Certificate) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.PermissionDenied, `object ${old.uid} is not a Certificate`);
  const value = old.body?.value.find((i) => i.tag === Tag.CertificateValue);
  if (!old.body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.PermissionDenied, `object ${old.uid} has been destroyed`);
  if (value?.type !== ItemType.ByteString) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.PermissionDenied, `certificate ${old.uid} has no value`);
  const previous = certificateParts(ctx, value.value);

  const request = await certificateRequest(payload, ctx);
  if (request && !createPublicKey({ key: Buffer.from(request.spki), format: 'der', type: 'spki' }).equals(createPublicKey({ key: Buffer.from(previous.spki), format: 'der', type: 'spki' }))) {
    throw versionedError(ctx, ResultReason.InvalidCSR, ResultReason.InvalidField, 'the Certificate Request is for another key than the certificate\'s');
  }
  const { templates, explicit, hints } = await requestAttributes(payload, ctx);
  const offset = requestOffset(payload, explicit);
  const inherited = inheritedAttributes(old, ctx, offset).filter((a) => !DERIVED.test(a.name));
  const attrs = mergeAttributeLayers([inherited, templates, explicit]);
  const san = request ? request.san : hints.san ?? previous.san;
  const der = await issue(ctx, {
    subject: request?.subject ?? hints.subject ?? previous.subject,
    spki: request?.spki ?? previous.spki,
    ...(san ? { san } : {}),
    usageMask: usageMaskOf(attrs),
  });

  const cert = certificateObject(ctx, der, attrs);
  cert.add('Link', linkValue(LinkType.ReplacedObjectLink, old.uid));
  const pubUid = linkedUid(old, LinkType.PublicKeyLink);
  if (pubUid !== undefined) {
    cert.add('Link', linkValue(LinkType.PublicKeyLink, pubUid));
    const pub = await ctx.uow.get(pubUid);
    if (pub) relink(ctx, pub, old.uid, cert.uid);
  }
  retire(ctx, old, cert);
  ctx.uow.save(old);
  ctx.uow.save(cert);
  ctx.placeholder.id = cert.uid;
  return [text(Tag.UniqueIdentifier, cert.uid)];
};

/** The Public Key's Certificate Link to the old certificate now names the new one (in place; added when missing). */
function relink(ctx: OperationContext, pub: ManagedObject, from: string, to: string): void {
  let found = false;
  pub.attributes = pub.attributes.map((a) => {
    if (a.name !== 'Link' || a.value.type !== ItemType.Structure) return a;
    const type = a.value.value.find((i) => i.tag === Tag.LinkType);
    const id = a.value.value.find((i) => i.tag === Tag.LinkedObjectIdentifier);
    if (type?.value !== LinkType.CertificateLink || id?.type !== ItemType.TextString || id.value !== from) return a;
    found = true;
    return { name: 'Link', value: linkValue(LinkType.CertificateLink, to) };
  });
  if (!found) pub.add('Link', linkValue(LinkType.CertificateLink, to));
  touch(pub, ctx);
  ctx.uow.save(pub);
}

/** Subject, key and Subject Alternative Name (DER) of an X.509 certificate. */
function certificateParts(ctx: OperationContext, der: Uint8Array): { subject: Uint8Array; spki: Uint8Array; san?: Uint8Array } {
  try {
    const tbs = children(expect(children(expect(readOne(der), DER.SEQUENCE, 'Certificate'))[0], DER.SEQUENCE, 'TBSCertificate'));
    let i = tbs[0]?.tag === 0xa0 ? 1 : 0;
    i += 4; // serial, signature, issuer, validity
    const subject = Uint8Array.from(expect(tbs[i++], DER.SEQUENCE, 'subject').raw);
    const spki = Uint8Array.from(expect(tbs[i++], DER.SEQUENCE, 'subjectPublicKeyInfo').raw);
    const out: { subject: Uint8Array; spki: Uint8Array; san?: Uint8Array } = { subject, spki };
    const wrapper = tbs.slice(i).find((t) => t.tag === 0xa3);
    if (wrapper) {
      for (const ext of children(expect(children(wrapper)[0], DER.SEQUENCE, 'extensions'))) {
        const parts = children(ext);
        if (oidValue(expect(parts[0], DER.OID, 'extnID')) === '2.5.29.17') out.san = Uint8Array.from(expect(parts[parts.length - 1], DER.OCTET_STRING, 'extnValue').content);
      }
    }
    return out;
  } catch (err) {
    if (err instanceof DerError) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.PermissionDenied, 'the existing certificate is not an X.509 certificate this server can renew');
    throw err;
  }
}
