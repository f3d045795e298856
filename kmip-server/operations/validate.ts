import { X509Certificate } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CertificateType, ObjectType, ResultReason, State, ValidityIndicator } from '../ttlv/enums.ts';
import { ItemType, enumeration, type StructureItem } from '../ttlv/types.ts';
import { KmipError, invalidField, missingData } from '../messages/errors.ts';
import { optDate, reqBytes, reqEnum } from '../messages/tree.ts';
import type { ManagedObject } from '../objects/managed-object.ts';
import type { OperationContext, OperationHandler } from './context.ts';
import { assertNotArchived, loadObject, versionedError } from './common.ts';
import { readablePublicKey } from '../crypto/certificate.ts';

/** How many issuers Validate looks up among the scope's certificates above the ones the request gives. */
const MAX_LOOKUP_DEPTH = 8;

interface ChainCert {
  x509: X509Certificate;
  /** The managed Certificate object of the caller's scope with these bytes, when there is one. */
  managed?: ManagedObject;
}

/**
 * Validate (1.4 §4.24, 2.1 §6.1.57): is this one X.509 certificate chain valid at the Validity Date (now when
 * omitted)? The chain is the certificates given by value and those named by Unique Identifier, in any order. The
 * spec leaves policy and trust anchors to the server; here:
 *
 * - The given certificates are ordered from the leaf up by issuer name; they must form one chain, using all of them.
 *   When the top is not self-signed, its issuers are looked up among the caller's scope's Certificate objects.
 * - Invalid: a certificate outside its validity period at the date, a signature that does not verify under the
 *   issuer's key, an issuer that is not a CA, certificates that are not one chain, or a certificate of the chain
 *   that is a Compromised (or destroyed) object of the scope.
 * - Valid: none of that, and the chain ends in a self-signed certificate the caller's scope holds as a Certificate
 *   object: the scope's certificates are its trust anchors.
 * - Unknown: otherwise — the chain ends in a certificate whose issuer is not known here, or in a self-signed
 *   root the scope does not hold. Revocation (CRL, OCSP) is not checked.
 * Certificates given by value are not stored. A malformed certificate or a non-X.509 one is Invalid Field.
 */
export const validate: OperationHandler = async (payload, ctx) => {
  const at = optDate(payload, Tag.ValidityDate) ?? ctx.now;
  const given: ChainCert[] = [];
  for (const item of payload.value) {
    if (item.tag === Tag.Certificate && item.type === ItemType.Structure) given.push({ x509: parseCertificate(item) });
    else if (item.tag === Tag.UniqueIdentifier && item.type === ItemType.TextString) given.push(await managedCertificate(ctx, item.value));
  }
  if (given.length === 0) throw missingData('Validate needs certificates or Unique Identifiers of certificates');
  return [enumeration(Tag.ValidityIndicator, await judge(ctx, given, at))];
};

function parseCertificate(item: StructureItem): X509Certificate {
  if (reqEnum(item, Tag.CertificateType) !== CertificateType.X_509) throw invalidField('only X.509 certificates are validated');
  try {
    return new X509Certificate(Buffer.from(reqBytes(item, Tag.CertificateValue)));
  } catch {
    throw invalidField('a certificate is not a readable X.509 certificate');
  }
}

async function managedCertificate(ctx: OperationContext, uid: string): Promise<ChainCert> {
  const obj = await loadObject(ctx, uid);
  assertNotArchived(obj);
  if (obj.objectType !== ObjectType.Certificate) throw versionedError(ctx, ResultReason.InvalidObjectType, ResultReason.InvalidField, `object ${uid} is not a certificate`);
  if (!obj.body) throw versionedError(ctx, ResultReason.ObjectDestroyed, ResultReason.ItemNotFound, `certificate ${uid} has been destroyed`);
  return { x509: parseCertificate(obj.body), managed: obj };
}

/** Issued by: the name and key identifier match (checkIssued) and the signature verifies. */
const issuedBy = (child: X509Certificate, parent: X509Certificate): boolean => child.checkIssued(parent) && verifiedBy(child, parent);
/** The child's signature verifies under the parent's key; a parent whose key cannot be read signed nothing we can check. */
const verifiedBy = (child: X509Certificate, parent: X509Certificate): boolean => {
  const key = readablePublicKey(parent);
  return key !== undefined && child.verify(key);
};
const selfSigned = (c: X509Certificate): boolean => issuedBy(c, c);

async function judge(ctx: OperationContext, given: ChainCert[], at: number): Promise<number> {
  // The scope's certificates, by fingerprint: trust anchors, issuers to look up, and the state of given ones.
  const scope = new Map<string, ChainCert>();
  for (const obj of await ctx.uow.list({ objectType: ObjectType.Certificate })) {
    if (!obj.body) continue;
    try {
      const x509 = parseCertificate(obj.body);
      scope.set(x509.fingerprint256, { x509, managed: obj });
    } catch (err) {
      if (!(err instanceof KmipError)) throw err;
    }
  }
  for (const g of given) g.managed ??= scope.get(g.x509.fingerprint256)?.managed;

  const chain = order(given);
  if (!chain) return ValidityIndicator.Invalid;
  for (let depth = 0; depth < MAX_LOOKUP_DEPTH; depth++) {
    const top = chain[chain.length - 1]!.x509;
    if (selfSigned(top)) break;
    const issuer = [...scope.values()].find((c) => issuedBy(top, c.x509));
    if (!issuer) break;
    chain.push(issuer);
  }

  for (const [i, c] of chain.entries()) {
    const from = Math.floor(c.x509.validFromDate.getTime() / 1000);
    const to = Math.floor(c.x509.validToDate.getTime() / 1000);
    if (at < from || at > to) return ValidityIndicator.Invalid;
    const state = c.managed?.has('State') ? c.managed.state : undefined;
    if (state === State.Compromised || state === State.DestroyedCompromised) return ValidityIndicator.Invalid;
    const parent = chain[i + 1];
    if (parent && (!parent.x509.ca || !verifiedBy(c.x509, parent.x509))) return ValidityIndicator.Invalid;
  }
  const root = chain[chain.length - 1]!;
  if (!selfSigned(root.x509)) return ValidityIndicator.Unknown;
  return root.managed ? ValidityIndicator.Valid : ValidityIndicator.Unknown;
}

/**
 * The given certificates from the leaf up, each followed by its issuer by name (checkIssued), or undefined when
 * they are not one chain (two leaves, a gap, a certificate left over).
 */
function order(certs: ChainCert[]): ChainCert[] | undefined {
  const distinct = [...new Map(certs.map((c) => [c.x509.fingerprint256, c])).values()];
  const issuesAnother = (c: ChainCert) => distinct.some((d) => d !== c && d.x509.checkIssued(c.x509));
  const leaves = distinct.filter((c) => !issuesAnother(c));
  if (leaves.length !== 1) return undefined;
  const chain = [leaves[0]!];
  const rest = new Set(distinct.filter((c) => c !== leaves[0]));
  for (;;) {
    const cur = chain[chain.length - 1]!;
    const next = [...rest].find((c) => cur.x509.checkIssued(c.x509));
    if (!next) break;
    chain.push(next);
    rest.delete(next);
  }
  return rest.size === 0 ? chain : undefined;
}
