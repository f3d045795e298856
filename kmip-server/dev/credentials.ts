/**
 * A dev client credential directory: the files KMIP clients (PyKMIP, mongod, kmip-client tools)
 * point at.
 *
 *   ca.pem        the dev CA certificate (trust anchor for the server certificate)
 *   cert.pem      the client certificate
 *   key.pem       its private key, PKCS#8 PEM (0600)
 *   client.pem    key then certificate in one file, as mongod's --kmipClientCertificateFile wants (0600)
 *   pykmip.conf   a [client] section for PyKMIP's ProxyKmipClient / `kmip` CLI
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { identityFromCertificate } from '../../operator/pki/index.ts';
import { PRIVATE_MODE, PUBLIC_MODE, ensureDir, enforceMode, readIfExists, writeIfChanged, PRIVATE_DIR_MODE } from './fs.ts';

export interface CredentialFiles {
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
}

export function credentialPaths(dir: string) {
  return {
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    combined: join(dir, 'client.pem'),
    pykmip: join(dir, 'pykmip.conf'),
  };
}

/** PyKMIP client configuration; `dir` must be absolute. */
export function pykmipConf(dir: string, host: string, port: number): string {
  const p = credentialPaths(dir);
  return [
    '[client]',
    `host=${host}`,
    `port=${port}`,
    `certfile=${p.cert}`,
    `keyfile=${p.key}`,
    `ca_certs=${p.ca}`,
    'cert_reqs=CERT_REQUIRED',
    'ssl_version=PROTOCOL_SSLv23',
    'do_handshake_on_connect=True',
    'suppress_ragged_eofs=True',
    '',
  ].join('\n');
}

/** host and port from an existing pykmip.conf, if it has both. */
export function parsePykmipConf(text: string): { host: string; port: number } | undefined {
  const host = /^host\s*[=:]\s*(.+?)\s*$/m.exec(text)?.[1];
  const port = Number(/^port\s*[=:]\s*(\d+)\s*$/m.exec(text)?.[1]);
  return host && Number.isInteger(port) && port > 0 ? { host, port } : undefined;
}

/**
 * Writes (or refreshes) the credential directory. Key files first, so a crash leaves at worst a
 * key that does not match cert.pem, which `usableCredential` detects and the caller re-issues.
 */
export async function writeCredential(dir: string, files: CredentialFiles, host: string, port: number): Promise<void> {
  await ensureDir(dir, PRIVATE_DIR_MODE);
  const p = credentialPaths(dir);
  const key = files.privateKeyPem.endsWith('\n') ? files.privateKeyPem : `${files.privateKeyPem}\n`;
  await writeIfChanged(p.key, key, PRIVATE_MODE);
  await writeIfChanged(p.cert, files.certificatePem, PUBLIC_MODE);
  await writeIfChanged(p.combined, key + files.certificatePem, PRIVATE_MODE);
  await writeIfChanged(p.ca, files.caPem, PUBLIC_MODE);
  await writeIfChanged(p.pykmip, pykmipConf(dir, host, port), PUBLIC_MODE);
}

function publicKeyDer(pemOrKey: string, isPrivate: boolean): Buffer {
  const key = isPrivate ? createPublicKey(createPrivateKey(pemOrKey)) : createPublicKey(pemOrKey);
  return key.export({ type: 'spki', format: 'der' });
}

/** True when the certificate's lifetime has less than a third left (or is over, or not begun). */
export function dueForRenewal(cert: X509Certificate, now = Date.now()): boolean {
  const from = new Date(cert.validFrom).getTime();
  const to = new Date(cert.validTo).getTime();
  if (now < from) return true;
  return to - now < (to - from) / 3;
}

/** Whether a private key PEM belongs to a certificate PEM. */
export function keyMatchesCertificate(privateKeyPem: string, certificatePem: string): boolean {
  try {
    return publicKeyDer(privateKeyPem, true).equals(publicKeyDer(certificatePem, false));
  } catch {
    return false;
  }
}

/** Whether `cert` was signed by the CA. */
export function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/**
 * The existing credential in `dir` when it is still good for (scopeId, roleId) under this CA: key
 * matches, signed by the CA, subject carries the ids, and not due for renewal. Undefined otherwise.
 */
export async function usableCredential(
  dir: string,
  caPem: string,
  scopeId: string,
  roleId: string,
): Promise<{ certificatePem: string; privateKeyPem: string } | undefined> {
  const p = credentialPaths(dir);
  const [certificatePem, privateKeyPem] = await Promise.all([readIfExists(p.cert), readIfExists(p.key)]);
  if (!certificatePem || !privateKeyPem) return undefined;
  try {
    const cert = new X509Certificate(certificatePem);
    if (!keyMatchesCertificate(privateKeyPem, certificatePem)) return undefined;
    if (!issuedBy(cert, new X509Certificate(caPem))) return undefined;
    if (dueForRenewal(cert)) return undefined;
    const id = identityFromCertificate(certificatePem);
    if (id.scopeId !== scopeId || id.roleId !== roleId) return undefined;
  } catch {
    return undefined;
  }
  await enforceMode(p.key, PRIVATE_MODE);
  return { certificatePem, privateKeyPem };
}
