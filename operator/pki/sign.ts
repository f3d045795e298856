/**
 * Internal: the one routine that builds and signs a certificate, shared by CA creation, leaf
 * issuance, CSR signing and self-signed certificates. Adds SubjectKeyIdentifier and
 * AuthorityKeyIdentifier and a fresh random serial number.
 */
import { x509, type CryptoKey } from './provider.ts';
import { signingAlgorithm, type KeySpec } from './keys.ts';
import { randomSerialNumber } from './canonical.ts';
import type { Validity } from './validity.ts';

export interface SigningIdentity {
  /** Issuer name (the issuing certificate's subject). */
  name: x509.Name;
  keySpec: KeySpec;
  privateKey: CryptoKey;
  /** Hex key identifier written into the AuthorityKeyIdentifier extension. */
  keyId: string;
}

export interface SignRequest {
  subject: x509.Name;
  /** DER SubjectPublicKeyInfo of the certified key. */
  subjectPublicKey: Uint8Array;
  /** Absent for a self-signed certificate; `selfKeys` must then be given. */
  issuer?: SigningIdentity;
  selfKeys?: { keySpec: KeySpec; privateKey: CryptoKey };
  validity: Validity;
  extensions: x509.Extension[];
}

/** Key identifier (RFC 5280 §4.2.1.2 method 1) of a SubjectPublicKeyInfo. */
export async function keyIdentifier(spki: Uint8Array): Promise<string> {
  const ext = await x509.SubjectKeyIdentifierExtension.create(new x509.PublicKey(spki));
  return ext.keyId;
}

/** The key identifier an issuer certificate is known by: its SKI extension, else computed. */
export async function certificateKeyId(cert: x509.X509Certificate): Promise<string> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? ski.keyId : keyIdentifier(new Uint8Array(cert.publicKey.rawData));
}

export async function signCertificate(req: SignRequest): Promise<x509.X509Certificate> {
  const subjectKeyId = await keyIdentifier(req.subjectPublicKey);
  const issuer: SigningIdentity = req.issuer ?? {
    name: req.subject,
    keySpec: req.selfKeys!.keySpec,
    privateKey: req.selfKeys!.privateKey,
    keyId: subjectKeyId,
  };
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: req.subject,
    issuer: issuer.name,
    notBefore: req.validity.notBefore,
    notAfter: req.validity.notAfter,
    publicKey: req.subjectPublicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.keySpec),
    extensions: [
      ...req.extensions,
      new x509.SubjectKeyIdentifierExtension(subjectKeyId),
      new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
    ],
  });
}
