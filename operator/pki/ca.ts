/**
 * Certificate authorities: create a root or an intermediate CA, load one from PEM, and open one
 * for signing.
 *
 * A CertificateAuthority is plain data (PEM strings and a few derived facts) so it can be kept in
 * a Kubernetes Secret or on disk and handed around freely; `openCertificateAuthority` turns it into
 * something that signs.
 */
import { x509 } from './provider.ts';
import {
  DEFAULT_KEY_SPEC,
  assertKeySpec,
  describeKeySpec,
  exportPrivateKeyPem,
  exportPublicKeySpki,
  generateKeyPair,
  importPrivateKeyPem,
  type KeyPair,
  type KeySpec,
} from './keys.ts';
import { certificatePem, joinPem, pemCertificates } from './pem.ts';
import { canonicalSerialNumber, fingerprintSha256 } from './canonical.ts';
import { resolveValidity, type ValidityOptions } from './validity.ts';
import { certificateKeyId, signCertificate, type SigningIdentity } from './sign.ts';

export const DEFAULT_ROOT_CA_TTL_DAYS = 3650;
export const DEFAULT_INTERMEDIATE_CA_TTL_DAYS = 1825;

export interface CertificateAuthority {
  /** This CA's certificate. */
  certificatePem: string;
  /** This CA's private key, PKCS#8 PEM. Secret. */
  privateKeyPem: string;
  /** This CA's certificate followed by its issuers' up to and including the root. */
  chainPem: string;
  keySpec: KeySpec;
  /** Canonical serial number / fingerprint (see canonical.ts). */
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CreateCaOptions extends ValidityOptions {
  commonName: string;
  /** Optional O= attribute placed before CN. */
  organization?: string;
  /** Default EC P-256. */
  keySpec?: KeySpec;
  /**
   * basicConstraints pathLenConstraint. Default: none for a root (unlimited), 0 for an
   * intermediate (it may issue only end-entity certificates).
   */
  pathLength?: number;
}

/** A CA opened for signing. */
export interface OpenedCa {
  ca: CertificateAuthority;
  certificate: x509.X509Certificate;
  keys: KeyPair;
  signer: SigningIdentity;
}

function caName(options: CreateCaOptions): x509.Name {
  if (!options.commonName) throw new Error('a CA needs a commonName');
  const rdns: Record<string, string[]>[] = [];
  if (options.organization) rdns.push({ O: [options.organization] });
  rdns.push({ CN: [options.commonName] });
  return new x509.Name(rdns);
}

function caExtensions(pathLength: number | undefined): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

function describeCertificate(
  cert: x509.X509Certificate,
  privateKeyPem: string,
  chainPem: string,
  keySpec: KeySpec,
): CertificateAuthority {
  const der = new Uint8Array(cert.rawData);
  return {
    certificatePem: certificatePem(der),
    privateKeyPem,
    chainPem,
    keySpec,
    serialNumber: canonicalSerialNumber(cert.serialNumber),
    fingerprintSha256: fingerprintSha256(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** A self-signed root CA (basicConstraints CA critical, keyCertSign|cRLSign, SKI = AKI). */
export async function createRootCa(options: CreateCaOptions): Promise<CertificateAuthority> {
  const keys = await generateKeyPair(assertKeySpec(options.keySpec ?? DEFAULT_KEY_SPEC));
  const cert = await signCertificate({
    subject: caName(options),
    subjectPublicKey: await exportPublicKeySpki(keys.publicKey),
    selfKeys: keys,
    validity: resolveValidity(options, DEFAULT_ROOT_CA_TTL_DAYS),
    extensions: caExtensions(options.pathLength),
  });
  const pem = certificatePem(cert.rawData);
  return describeCertificate(cert, await exportPrivateKeyPem(keys.privateKey), pem, keys.keySpec);
}

/** An intermediate CA signed by `parent` (pathLength 0 unless given). Never outlives its parent. */
export async function createIntermediateCa(
  parent: CertificateAuthority,
  options: CreateCaOptions,
): Promise<CertificateAuthority> {
  const issuer = await openCertificateAuthority(parent);
  const keys = await generateKeyPair(assertKeySpec(options.keySpec ?? DEFAULT_KEY_SPEC));
  const cert = await signCertificate({
    subject: caName(options),
    subjectPublicKey: await exportPublicKeySpki(keys.publicKey),
    issuer: issuer.signer,
    validity: resolveValidity(options, DEFAULT_INTERMEDIATE_CA_TTL_DAYS, issuer.certificate.notAfter),
    extensions: caExtensions(options.pathLength ?? 0),
  });
  const chainPem = joinPem(certificatePem(cert.rawData), parent.chainPem);
  return describeCertificate(cert, await exportPrivateKeyPem(keys.privateKey), chainPem, keys.keySpec);
}

/**
 * A CertificateAuthority from its certificate and private key PEM (e.g. read back from disk or a
 * Secret). `chainPem` may be the full chain starting with this certificate or just its issuers;
 * default: the certificate alone (a root). Throws when the key does not match the certificate or
 * the certificate is not a CA.
 */
export async function loadCertificateAuthority(input: {
  certificatePem: string;
  privateKeyPem: string;
  chainPem?: string;
}): Promise<CertificateAuthority> {
  const der = pemCertificates(input.certificatePem)[0];
  if (!der) throw new Error('CA certificate PEM holds no CERTIFICATE block');
  const rest = pemCertificates(input.chainPem ?? '');
  if (rest[0] && Buffer.from(rest[0]).equals(Buffer.from(der))) rest.shift();
  const chainPem = joinPem(certificatePem(der), ...rest.map((c) => certificatePem(c)));
  const keys = await importPrivateKeyPem(input.privateKeyPem);
  const cert = new x509.X509Certificate(der);
  const ca = describeCertificate(cert, await exportPrivateKeyPem(keys.privateKey), chainPem, keys.keySpec);
  await openCertificateAuthority(ca); // validates
  return ca;
}

/** Parses and checks a CertificateAuthority and imports its key for signing. */
export async function openCertificateAuthority(ca: CertificateAuthority): Promise<OpenedCa> {
  const der = pemCertificates(ca.certificatePem)[0];
  if (!der) throw new Error('CA certificate PEM holds no CERTIFICATE block');
  const certificate = new x509.X509Certificate(der);
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) throw new Error(`certificate "${certificate.subject}" is not a CA (basicConstraints CA is not set)`);
  const keys = await importPrivateKeyPem(ca.privateKeyPem);
  const spki = Buffer.from(await exportPublicKeySpki(keys.publicKey));
  if (!spki.equals(Buffer.from(certificate.publicKey.rawData))) {
    throw new Error(`the CA private key (${describeKeySpec(keys.keySpec)}) does not match certificate "${certificate.subject}"`);
  }
  return {
    ca,
    certificate,
    keys,
    signer: {
      name: certificate.subjectName,
      keySpec: keys.keySpec,
      privateKey: keys.privateKey,
      keyId: await certificateKeyId(certificate),
    },
  };
}
