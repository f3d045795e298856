/**
 * Certificate signing requests: make one (tests, client tooling) and sign one into a KMIP client
 * certificate.
 *
 * Signing takes only the CSR's public key from the request. The subject is forced to
 * OU=<scopeId>, CN=<roleId>, and requested extensions (SANs, usages) are ignored: the role decides
 * what the certificate says, never the requester.
 */
import { x509 } from './provider.ts';
import {
  ALL_KEY_SPECS,
  DEFAULT_KEY_SPEC,
  assertKeySpec,
  describeKeySpec,
  describePublicKeySpki,
  exportPrivateKeyPem,
  generateKeyPair,
  keySpecEquals,
  signingAlgorithm,
  type KeySpec,
} from './keys.ts';
import { pemDecodeAll, pemEncode } from './pem.ts';
import type { ValidityOptions } from './validity.ts';
import type { CertificateAuthority } from './ca.ts';
import { DEFAULT_CLIENT_TTL_DAYS, clientSubject, signLeaf, type SignedCertificate } from './issue.ts';

export interface CreateCsrOptions {
  keySpec?: KeySpec;
  /** Requested subject; default CN=kmip-client. Ignored by signCsr anyway. */
  subject?: { commonName?: string; organizationalUnit?: string };
}

/** A fresh key pair and a CSR for it. */
export async function createCsr(options: CreateCsrOptions = {}): Promise<{
  csrPem: string;
  privateKeyPem: string;
  keySpec: KeySpec;
}> {
  const keys = await generateKeyPair(assertKeySpec(options.keySpec ?? DEFAULT_KEY_SPEC));
  const rdns: Record<string, string[]>[] = [];
  if (options.subject?.organizationalUnit) rdns.push({ OU: [options.subject.organizationalUnit] });
  rdns.push({ CN: [options.subject?.commonName ?? 'kmip-client'] });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name(rdns),
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: signingAlgorithm(keys.keySpec),
  });
  return {
    csrPem: pemEncode('CERTIFICATE REQUEST', csr.rawData),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    keySpec: keys.keySpec,
  };
}

export interface SignCsrOptions extends ValidityOptions {
  scopeId: string;
  roleId: string;
  /** Key types/sizes the role accepts; default every supported spec. */
  allowedKeySpecs?: readonly KeySpec[];
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  const block = pemDecodeAll(csrPem).find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (!block) throw new Error('no PEM "CERTIFICATE REQUEST" block found');
  try {
    return new x509.Pkcs10CertificateRequest(block.der);
  } catch (err) {
    throw new Error(`malformed certificate signing request: ${(err as Error).message}`);
  }
}

/**
 * Signs a CSR into a KMIP client certificate for (scopeId, roleId). Refuses a CSR whose key is not
 * allowed ("CSR key is RSA 2048 but the role requires EC P-256") or whose self-signature does not
 * verify.
 */
export async function signCsr(
  ca: CertificateAuthority,
  csrPem: string,
  options: SignCsrOptions,
): Promise<SignedCertificate> {
  const subject = clientSubject(options.scopeId, options.roleId);
  const csr = parseCsr(csrPem);
  const spki = new Uint8Array(csr.publicKey.rawData);
  let described: ReturnType<typeof describePublicKeySpki>;
  try {
    described = describePublicKeySpki(spki);
  } catch (err) {
    throw new Error(`CSR public key cannot be read: ${(err as Error).message}`);
  }
  const { keySpec, description } = described;
  if (options.allowedKeySpecs) {
    const allowed = options.allowedKeySpecs.map(assertKeySpec);
    if (allowed.length === 0) throw new Error('allowedKeySpecs is empty: no CSR key can be accepted');
    if (!keySpec || !allowed.some((a) => keySpecEquals(a, keySpec))) {
      const wanted = allowed.map(describeKeySpec);
      throw new Error(
        `CSR key is ${description} but the role requires ${wanted.length === 1 ? wanted[0] : `one of ${wanted.join(', ')}`}`,
      );
    }
  } else if (!keySpec) {
    throw new Error(`CSR key is ${description}, which is not supported (supported: ${ALL_KEY_SPECS.map(describeKeySpec).join(', ')})`);
  }
  let valid: boolean;
  try {
    valid = await csr.verify();
  } catch (err) {
    throw new Error(`CSR signature cannot be verified: ${(err as Error).message}`);
  }
  if (!valid) throw new Error('CSR signature does not verify: the request was not signed by the key it carries');
  return signLeaf(ca, {
    subject,
    subjectPublicKey: spki,
    validity: options,
    defaultTtlDays: DEFAULT_CLIENT_TTL_DAYS,
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
  });
}
