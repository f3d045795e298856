/**
 * The KMIP identity a client certificate carries: OU = scope id, CN = role id, plus the canonical
 * serial number and fingerprint the policy source matches against KmipClientCredential status.
 *
 * This reads the certificate only; it does not verify it. Call it on a peer certificate the TLS
 * layer has already verified against the CA.
 */
import { x509 } from './provider.ts';
import { certificateDer } from './pem.ts';
import { canonicalSerialNumber, fingerprintSha256 } from './canonical.ts';

export interface CertificateIdentity {
  scopeId: string;
  roleId: string;
  /** Canonical forms, see canonical.ts. */
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
}

function single(name: x509.Name, attr: 'OU' | 'CN', what: string): string {
  const values = name.getField(attr);
  if (values.length !== 1 || !values[0]) {
    throw new Error(
      values.length === 0
        ? `certificate subject has no ${attr} (the ${what})`
        : `certificate subject has ${values.length} ${attr} values; exactly one (the ${what}) is required`,
    );
  }
  return values[0];
}

/**
 * Identity of a certificate given as PEM text (first CERTIFICATE block) or DER bytes (e.g.
 * `tlsSocket.getPeerCertificate().raw`). Throws when the subject lacks exactly one OU and one CN.
 */
export function identityFromCertificate(pemOrDer: string | Uint8Array): CertificateIdentity {
  const der = certificateDer(pemOrDer);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch (err) {
    throw new Error(`malformed certificate: ${(err as Error).message}`);
  }
  return {
    scopeId: single(cert.subjectName, 'OU', 'scope id'),
    roleId: single(cert.subjectName, 'CN', 'role id'),
    serialNumber: canonicalSerialNumber(cert.serialNumber),
    fingerprintSha256: fingerprintSha256(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
