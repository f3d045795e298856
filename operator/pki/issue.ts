/**
 * End-entity certificates issued by a CA: TLS server certificates and KMIP client certificates.
 *
 * Client certificates identify a KMIP client the way Vault's KMIP secrets engine does: the subject
 * is exactly `OU=<scopeId>, CN=<roleId>` (OU first in the DER sequence), both opaque ids, so
 * renaming a scope or role never invalidates a certificate and a name is never trusted as an id.
 */
import { isIP } from 'node:net';
import { x509 } from './provider.ts';
import {
  DEFAULT_KEY_SPEC,
  assertKeySpec,
  describePublicKeySpki,
  exportPrivateKeyPem,
  exportPublicKeySpki,
  generateKeyPair,
  type KeySpec,
} from './keys.ts';
import { certificatePem } from './pem.ts';
import { canonicalSerialNumber, fingerprintSha256 } from './canonical.ts';
import { resolveValidity, type ValidityOptions } from './validity.ts';
import { signCertificate } from './sign.ts';
import { openCertificateAuthority, type CertificateAuthority } from './ca.ts';

export const DEFAULT_SERVER_TTL_DAYS = 365;
export const DEFAULT_CLIENT_TTL_DAYS = 365;
/** X.520 upper bound for CN and OU values. */
const MAX_NAME_LENGTH = 64;

/** A certificate signed here, without a private key (e.g. from a CSR). */
export interface SignedCertificate {
  certificatePem: string;
  /** The issuing CA's chain: issuing CA certificate first, root last. */
  chainPem: string;
  /** Canonical forms, see canonical.ts. */
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  keySpec: KeySpec;
}

/** A certificate issued together with a freshly generated key. */
export interface IssuedCertificate extends SignedCertificate {
  /** PKCS#8 PEM. Secret. */
  privateKeyPem: string;
}

export interface ServerCertificateOptions extends ValidityOptions {
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Subject CN; default the first DNS name, else the first IP address. */
  commonName?: string;
  keySpec?: KeySpec;
}

export interface ClientCertificateOptions extends ValidityOptions {
  scopeId: string;
  roleId: string;
  keySpec?: KeySpec;
}

export function clientSubject(scopeId: string, roleId: string): x509.Name {
  for (const [what, value] of [['scopeId', scopeId], ['roleId', roleId]] as const) {
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
      throw new Error(`${what} must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
    }
  }
  return new x509.Name([{ OU: [scopeId] }, { CN: [roleId] }]);
}

/** digitalSignature for every key; keyEncipherment too for RSA (TLS RSA key exchange). */
function leafKeyUsage(keySpec: KeySpec): x509.KeyUsagesExtension {
  const flags =
    keySpec.type === 'rsa'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  return new x509.KeyUsagesExtension(flags, true);
}

export function describeSigned(cert: x509.X509Certificate, chainPem: string, keySpec: KeySpec): SignedCertificate {
  const der = new Uint8Array(cert.rawData);
  return {
    certificatePem: certificatePem(der),
    chainPem,
    serialNumber: canonicalSerialNumber(cert.serialNumber),
    fingerprintSha256: fingerprintSha256(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keySpec,
  };
}

/**
 * Internal: signs an end-entity certificate for `subjectPublicKey` (DER SPKI) with `ca`.
 * The certificate never outlives the CA.
 */
export async function signLeaf(
  ca: CertificateAuthority,
  p: {
    subject: x509.Name;
    subjectPublicKey: Uint8Array;
    validity: ValidityOptions;
    defaultTtlDays: number;
    extendedKeyUsages: string[];
    extraExtensions?: x509.Extension[];
  },
): Promise<SignedCertificate> {
  const opened = await openCertificateAuthority(ca);
  const { keySpec, description } = describePublicKeySpki(p.subjectPublicKey);
  if (!keySpec) throw new Error(`unsupported key ${description}`);
  const cert = await signCertificate({
    subject: p.subject,
    subjectPublicKey: p.subjectPublicKey,
    issuer: opened.signer,
    validity: resolveValidity(p.validity, p.defaultTtlDays, opened.certificate.notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      leafKeyUsage(keySpec),
      new x509.ExtendedKeyUsageExtension(p.extendedKeyUsages, false),
      ...(p.extraExtensions ?? []),
    ],
  });
  return describeSigned(cert, ca.chainPem, keySpec);
}

/**
 * A TLS server certificate for the given DNS names and IP addresses. EKU serverAuth, and clientAuth
 * too: the server presents the same certificate when it connects to a subscribed client's endpoint
 * to send Notify and Put (KMIP server-to-client operations, kmip-server/notify/).
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: ServerCertificateOptions,
): Promise<IssuedCertificate> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  for (const ip of ipAddresses) if (!isIP(ip)) throw new Error(`not an IP address: "${ip}"`);
  for (const dns of dnsNames) {
    if (!/^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(dns)) {
      throw new Error(`not a DNS name: "${dns}"`);
    }
  }
  const commonName = options.commonName ?? dnsNames[0] ?? ipAddresses[0];
  if (!commonName) throw new Error('a server certificate needs at least one DNS name or IP address');
  const keys = await generateKeyPair(assertKeySpec(options.keySpec ?? DEFAULT_KEY_SPEC));
  const san = new x509.SubjectAlternativeNameExtension(
    [
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ],
    false,
  );
  const signed = await signLeaf(ca, {
    subject: new x509.Name([{ CN: [commonName] }]),
    subjectPublicKey: await exportPublicKeySpki(keys.publicKey),
    validity: options,
    defaultTtlDays: DEFAULT_SERVER_TTL_DAYS,
    extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    extraExtensions: dnsNames.length + ipAddresses.length > 0 ? [san] : [],
  });
  return { ...signed, privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * A KMIP client certificate (EKU clientAuth, subject OU=<scopeId>, CN=<roleId>, random 16-octet
 * serial) with a freshly generated key. `notAfter` may be in the past to make an expired one.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  options: ClientCertificateOptions,
): Promise<IssuedCertificate> {
  const subject = clientSubject(options.scopeId, options.roleId);
  const keys = await generateKeyPair(assertKeySpec(options.keySpec ?? DEFAULT_KEY_SPEC));
  const signed = await signLeaf(ca, {
    subject,
    subjectPublicKey: await exportPublicKeySpki(keys.publicKey),
    validity: options,
    defaultTtlDays: DEFAULT_CLIENT_TTL_DAYS,
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
  });
  return { ...signed, privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
}
