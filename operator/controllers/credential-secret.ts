/**
 * The Secret a KmipClientCredential delivers, key by key:
 *
 *   tls.crt               the client certificate, then the intermediate CA (what the client presents)
 *   tls.key               its private key, PKCS#8 PEM (generate mode only: in csr mode the key never
 *                         left the client, in certificate mode it was never here)
 *   ca.crt                the kube-kmip CA certificates, intermediate then root (to trust the server);
 *                         during a CA rotation both the current and the new (or replaced) chain
 *   client.pem            format pem: key then certificates in one file, as mongod wants
 *   bundle.pem            format pem_bundle: key, certificate and the whole CA chain in one file
 *   tls.der, key.der      format der: the certificate (DER) and the PKCS#8 key (DER)
 *   keystore.p12          format pkcs12: key and chain, encrypted under keystore.p12.password
 *   keystore.p12.password
 *
 * Formats that need the key are left out when the operator does not hold it. A generated key makes
 * the Secret `kubernetes.io/tls`; without a key it is `Opaque` (that type requires tls.key).
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import type { SecretFormat } from '../api/index.ts';
import { certificatePem, pemCertificates, type CertificateAuthority } from '../pki/index.ts';
import { caBundlePem, intermediatesPem } from './ca.ts';
import { pkcs12 } from './pkcs12.ts';

export type SecretType = 'kubernetes.io/tls' | 'Opaque';

export interface SecretMaterial {
  /** The client certificate, DER. */
  certificateDer: Uint8Array;
  /** Whether the certificate was issued by `ca` (then tls.crt carries the intermediate after it). */
  issuedHere: boolean;
  privateKeyPem?: string;
}

export interface SecretContent {
  type: SecretType;
  /** base64 values, as Secret.data holds them. */
  data: Record<string, string>;
}

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

/**
 * The Secret's type and data. `previous` is the Secret's current data: a keystore built for the
 * same certificate is kept as it is (PKCS#12 encryption is randomised, and rewriting it on every
 * reconcile would look like a change to whoever watches the Secret), and its password is kept
 * across renewals. `bundlePem` is what ca.crt holds: every CA certificate trusted now (default: `ca`'s
 * chain; during a CA rotation also the other CA's).
 */
export function secretContent(
  m: SecretMaterial, ca: CertificateAuthority, formats: readonly SecretFormat[], alias: string, previous?: Record<string, string>,
  bundlePem: string = caBundlePem(ca),
): SecretContent {
  const leafPem = certificatePem(m.certificateDer);
  const chainPem = m.issuedHere ? leafPem + intermediatesPem(ca) : leafPem;
  const caPem = bundlePem;
  const key = m.privateKeyPem;
  const data: Record<string, string> = { 'tls.crt': b64(chainPem), 'ca.crt': b64(caPem) };
  if (key) data['tls.key'] = b64(key);
  const want = new Set(formats);
  if (want.has('pem') && key) data['client.pem'] = b64(key + chainPem);
  if (want.has('pem_bundle')) data['bundle.pem'] = b64((key ?? '') + leafPem + caPem);
  if (want.has('der')) {
    data['tls.der'] = b64(m.certificateDer);
    if (key) data['key.der'] = b64(createPrivateKey(key).export({ type: 'pkcs8', format: 'der' }));
  }
  if (want.has('pkcs12') && key) {
    const sameCertificate = previous?.['tls.crt'] === data['tls.crt'];
    const keptStore = sameCertificate ? previous?.['keystore.p12'] : undefined;
    const keptPassword = previous?.['keystore.p12.password'];
    if (keptStore && keptPassword) {
      data['keystore.p12'] = keptStore;
      data['keystore.p12.password'] = keptPassword;
    } else {
      const password = keptPassword ? Buffer.from(keptPassword, 'base64').toString('utf8') : randomBytes(18).toString('base64url');
      // The whole chain up to the root, as Java's keytool likes a key entry.
      // (The signing chain only: a key entry holds one path, not the whole trust bundle.)
      const certificatesDer = pemCertificates(m.issuedHere ? leafPem + ca.chainPem : leafPem);
      data['keystore.p12'] = b64(pkcs12({ privateKeyPem: key, certificatesDer, password, alias }));
      data['keystore.p12.password'] = b64(password);
    }
  }
  return { type: key ? 'kubernetes.io/tls' : 'Opaque', data };
}
