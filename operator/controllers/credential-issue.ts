/**
 * What a KmipClientCredential's certificate should be, and whether the one in its Secret still is:
 * key spec and lifetime (the credential's, else its role's), the renewal time, and a digest of
 * everything the certificate was issued from, so that a change of any of them reissues it.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import {
  DEFAULT_KEY_BITS, type KeyType, type KmipClientCredential, type KmipClientCredentialSpec, type KmipClientCredentialStatus, type KmipRole,
} from '../api/index.ts';
import {
  assertKeySpec, canonicalSerialNumber, fingerprintSha256, identityFromCertificate, pemCertificates,
  type CertificateAuthority, type KeySpec,
} from '../pki/index.ts';
import { rfc3339 } from '../runtime/conditions.ts';
import { parseDuration } from '../runtime/duration.ts';
import { PREVIOUS_FINGERPRINT_ANNOTATION, PREVIOUS_NOT_AFTER_ANNOTATION, PREVIOUS_SERIAL_ANNOTATION } from './labels.ts';

export type Mode = 'generate' | 'csr' | 'certificate';

export function modeOf(spec: KmipClientCredentialSpec): Mode {
  if (spec.certificate !== undefined) return 'certificate';
  if (spec.csr !== undefined) return 'csr';
  return 'generate';
}

function keySpecOf(type: KeyType, bits: number): KeySpec {
  return assertKeySpec(type === 'ec' ? { type, curve: `P-${bits}` } : { type, bits });
}

/** The role's key spec: what CSRs must carry and generated keys default to. */
export function roleKeySpec(role: KmipRole): KeySpec {
  const type = role.spec.tlsClientKeyType ?? 'ec';
  return keySpecOf(type, role.spec.tlsClientKeyBits ?? DEFAULT_KEY_BITS[type]);
}

/** The key spec of a generated key: the credential's type and bits, else the role's. */
export function generatedKeySpec(cred: KmipClientCredential, role: KmipRole): KeySpec {
  const roleType = role.spec.tlsClientKeyType ?? 'ec';
  const type = cred.spec.tlsClientKeyType ?? roleType;
  // The role's bits belong to the role's type; a credential choosing another type gets that type's default.
  const bits = cred.spec.tlsClientKeyBits ?? (type === roleType ? role.spec.tlsClientKeyBits : undefined) ?? DEFAULT_KEY_BITS[type];
  return keySpecOf(type, bits);
}

/** Certificate lifetime: the credential's tlsClientTTL, else the role's (which has a schema default). */
export function lifetimeMs(cred: KmipClientCredential, role: KmipRole): number {
  const ttl = cred.spec.tlsClientTTL ?? role.spec.tlsClientTTL;
  if (ttl === undefined) throw new Error(`KmipRole ${role.metadata.namespace}/${role.metadata.name} has no tlsClientTTL`);
  return parseDuration(ttl);
}

/**
 * Renew when a third of the lifetime remains (cert-manager's default): late enough not to churn,
 * and a failing renewal still leaves a third of the lifetime to be noticed and fixed before
 * clients are locked out.
 */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return new Date(notAfter.getTime() - Math.floor(lifetime / 3));
}

/** Digest of the issuance inputs; stored on the Secret, a different one means "reissue". */
export function issuanceDigest(parts: Record<string, string | number>): string {
  const canonical = JSON.stringify(Object.keys(parts).sort().map((k) => [k, parts[k]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface CurrentCertificate {
  certificatePem: string;
  der: Uint8Array;
  serialNumber: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  privateKeyPem?: string;
}

const spki = (key: ReturnType<typeof createPublicKey>) => key.export({ type: 'spki', format: 'der' });

/**
 * The certificate a credential's Secret holds, if it is still a good one: issued by this CA for
 * this scope and role, and (when `withKey`) with the private key next to it matching. Anything
 * else (missing, mangled, another CA's) reads as "none", and the caller issues afresh.
 */
export function currentCertificate(
  data: Record<string, string> | undefined,
  ca: Pick<CertificateAuthority, 'certificatePem'>,
  expect: { scopeId: string; roleId: string; withKey: boolean },
): CurrentCertificate | undefined {
  try {
    const crt = data?.['tls.crt'];
    if (!crt) return undefined;
    const der = pemCertificates(Buffer.from(crt, 'base64').toString('utf8'))[0];
    if (!der) return undefined;
    const cert = new X509Certificate(der);
    const issuer = new X509Certificate(ca.certificatePem);
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return undefined;
    const id = identityFromCertificate(der);
    if (id.scopeId !== expect.scopeId || id.roleId !== expect.roleId) return undefined;
    let privateKeyPem: string | undefined;
    if (expect.withKey) {
      const key = data?.['tls.key'];
      if (!key) return undefined;
      privateKeyPem = Buffer.from(key, 'base64').toString('utf8');
      if (!spki(createPublicKey(createPrivateKey(privateKeyPem))).equals(spki(cert.publicKey))) return undefined;
    }
    return {
      certificatePem: cert.toString(),
      der,
      serialNumber: canonicalSerialNumber(cert.serialNumber),
      fingerprint: fingerprintSha256(der),
      notBefore: new Date(cert.validFromDate),
      notAfter: new Date(cert.validToDate),
      ...(privateKeyPem !== undefined ? { privateKeyPem } : {}),
    };
  } catch {
    return undefined;
  }
}

/** An uploaded certificate (spec.certificate): its first CERTIFICATE block, read. */
export function uploadedCertificate(pem: string): { der: Uint8Array; cert: X509Certificate; fingerprint: string } {
  const der = pemCertificates(pem)[0];
  if (!der) throw new Error('spec.certificate holds no PEM CERTIFICATE block');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new Error(`spec.certificate cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return { der, cert, fingerprint: fingerprintSha256(der) };
}

/** The certificate the last renewal replaced, still accepted until it expires. */
export interface PreviousCertificate {
  serialNumber: string;
  notAfter: Date;
  /** Unknown when an operator that did not record it did the renewal. */
  fingerprint?: string;
}

/** The previous certificate the Secret's annotations name, unless it has expired by `now`. */
export function previousCertificate(annotations: Record<string, string>, now: Date): PreviousCertificate | undefined {
  const serialNumber = annotations[PREVIOUS_SERIAL_ANNOTATION];
  const notAfter = new Date(annotations[PREVIOUS_NOT_AFTER_ANNOTATION] ?? '');
  if (!serialNumber || !(notAfter.getTime() > now.getTime())) return undefined;
  const fingerprint = annotations[PREVIOUS_FINGERPRINT_ANNOTATION];
  return { serialNumber, notAfter, ...(fingerprint ? { fingerprint } : {}) };
}

/** The Secret annotations that record `previous` (none without one). */
export function previousAnnotations(previous: PreviousCertificate | undefined): Record<string, string> {
  if (!previous) return {};
  return {
    [PREVIOUS_SERIAL_ANNOTATION]: previous.serialNumber,
    [PREVIOUS_NOT_AFTER_ANNOTATION]: rfc3339(previous.notAfter),
    ...(previous.fingerprint ? { [PREVIOUS_FINGERPRINT_ANNOTATION]: previous.fingerprint } : {}),
  };
}

/**
 * status.serialNumbers and status.certificateFingerprints for the current certificate and the one
 * a renewal replaced: the server accepts a serial only from the certificate with a listed
 * fingerprint, so no other CA in its bundle can mint a certificate under the same serial. A
 * previous certificate whose fingerprint was never recorded (renewed by an older operator) can
 * only be accepted by serial, so until it expires the fingerprints are left out and the server
 * falls back to serials alone (and warns); leaving it out would lock out clients still using it.
 */
export function acceptedCertificates(
  current: { serialNumber: string; fingerprint: string }, previous: PreviousCertificate | undefined,
): Pick<KmipClientCredentialStatus, 'serialNumbers' | 'certificateFingerprints'> {
  const serialNumbers = [current.serialNumber, ...(previous ? [previous.serialNumber] : [])];
  if (previous && !previous.fingerprint) return { serialNumbers };
  return { serialNumbers, certificateFingerprints: [current.fingerprint, ...(previous?.fingerprint ? [previous.fingerprint] : [])] };
}
