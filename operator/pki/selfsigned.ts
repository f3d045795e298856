/**
 * Self-signed end-entity certificates, for tests: a client that brings its own certificate (which
 * the server must refuse even when its subject mimics a real scope/role), or a throwaway server.
 */
import { isIP } from 'node:net';
import { x509 } from './provider.ts';
import { DEFAULT_KEY_SPEC, assertKeySpec, exportPrivateKeyPem, exportPublicKeySpki, generateKeyPair, type KeySpec } from './keys.ts';
import { resolveValidity, type ValidityOptions } from './validity.ts';
import { signCertificate } from './sign.ts';
import { certificatePem } from './pem.ts';
import { clientSubject, describeSigned, type IssuedCertificate } from './issue.ts';

export interface SelfSignedOptions extends ValidityOptions {
  /** With roleId, makes the subject OU=<scopeId>, CN=<roleId> like a real client certificate. */
  scopeId?: string;
  roleId?: string;
  /** Subject CN when scopeId/roleId are not given; default "self-signed". */
  commonName?: string;
  /** Default ['client']. */
  usages?: ('client' | 'server')[];
  dnsNames?: string[];
  ipAddresses?: string[];
  keySpec?: KeySpec;
}

/** A self-signed certificate; its chainPem is the certificate itself. Default lifetime 30 days. */
export async function selfSignedCertificate(options: SelfSignedOptions = {}): Promise<IssuedCertificate> {
  const keys = await generateKeyPair(assertKeySpec(options.keySpec ?? DEFAULT_KEY_SPEC));
  const subject =
    options.scopeId !== undefined || options.roleId !== undefined
      ? clientSubject(options.scopeId ?? '', options.roleId ?? '')
      : new x509.Name([{ CN: [options.commonName ?? 'self-signed'] }]);
  const usages = options.usages ?? ['client'];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      keys.keySpec.type === 'rsa'
        ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
        : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      usages.map((u) => (u === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth)),
    ),
  ];
  const names = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => {
      if (!isIP(value)) throw new Error(`not an IP address: "${value}"`);
      return { type: 'ip' as const, value };
    }),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await signCertificate({
    subject,
    subjectPublicKey: await exportPublicKeySpki(keys.publicKey),
    selfKeys: keys,
    validity: resolveValidity(options, 30),
    extensions,
  });
  return {
    ...describeSigned(cert, certificatePem(cert.rawData), keys.keySpec),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
  };
}
