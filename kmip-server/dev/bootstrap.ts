/**
 * Dev mode's on-disk environment under a data directory D: a CA, a server certificate, the
 * `default` scope / `admin` role manifests and a ready-to-use admin client credential.
 *
 *   D/pki/ca.pem, ca-key.pem (0600)            dev CA, created once and kept: a restart reuses it,
 *                                              so credentials issued earlier keep working
 *   D/pki/server.pem, server-key.pem (0600)    server certificate (SANs localhost, 127.0.0.1, ::1
 *                                              and `host`), re-issued when missing, not from this CA,
 *                                              lacking a needed SAN or the clientAuth usage, or in the
 *                                              last third of its life
 *   D/manifests/dev.yaml                       KmipScope default, KmipRole admin, KmipClientCredential admin
 *   D/credentials/default/admin/               ca.pem cert.pem key.pem client.pem pykmip.conf
 *   D/kek                                      key-encryption key: created by the store, not here
 *
 * Scope and role ids are UUIDs kept in dev.yaml (metadata.uid); the admin certificate carries them
 * as OU / CN. Every write is temp file + rename.
 */
import { X509Certificate, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import {
  createRootCa,
  identityFromCertificate,
  issueClientCertificate,
  issueServerCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
} from '../../operator/pki/index.ts';
import {
  PRIVATE_DIR_MODE,
  PRIVATE_MODE,
  PUBLIC_MODE,
  ensureDir,
  enforceMode,
  readIfExists,
  writeFileAtomic,
} from './fs.ts';
import {
  credentialPaths,
  dueForRenewal,
  issuedBy,
  keyMatchesCertificate,
  parsePykmipConf,
  usableCredential,
  writeCredential,
} from './credentials.ts';
import {
  adminHeaderCredentials,
  DEV_CREDENTIAL,
  DEV_ROLE,
  DEV_SCOPE,
  devManifests,
  findUid,
  parseManifests,
  readManifestDir,
  writeDevManifests,
} from './manifests.ts';

export const DEV_CA_TTL_DAYS = 3650;
/** id-kp-clientAuth. */
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
export const DEV_SERVER_TTL_DAYS = 365;
export const DEV_CLIENT_TTL_DAYS = 365;

export interface DevEnvironmentOptions {
  dataDir: string;
  /** Host the server listens on / clients connect to (0.0.0.0 and :: become loopback for clients). */
  host: string;
  port: number;
  /** spec.notifications.endpoint of the admin credential (`--notify-endpoint`). */
  notifyEndpoint?: string;
}

export interface DevEnvironment {
  caPem: string;
  serverCertPem: string;
  /** Secret. */
  serverKeyPem: string;
  /** Absolute D/manifests. */
  manifestsDir: string;
  /** Absolute D/credentials/default/admin. */
  credentialDir: string;
  /** Absolute D/kek (not created here). */
  kekPath: string;
  scopeId: string;
  roleId: string;
}

export interface DevCredentialOptions {
  /** Scope name: the directory D/credentials/<scope>/<name>, and where its id is looked up. */
  scope: string;
  /** Role name, whose id is looked up in D/manifests unless roleId is given. */
  role: string;
  /** Credential name: the directory D/credentials/<scope>/<name>. */
  name: string;
  /** Explicit ids (default: metadata.uid of KmipScope <scope> / KmipRole <role> in D/manifests/*.yaml). */
  scopeId?: string;
  roleId?: string;
  /** Default 365 (1 for an expired credential). */
  ttlDays?: number;
  /** Issue a certificate whose notAfter is an hour in the past. */
  expired?: boolean;
  /** pykmip.conf host/port; default those of the admin credential's pykmip.conf. */
  host?: string;
  port?: number;
}

export interface DevCredential {
  credentialDir: string;
  scopeId: string;
  roleId: string;
  /** Canonical forms (lowercase hex, see operator/pki/canonical.ts). */
  serialNumber: string;
  fingerprintSha256: string;
  notAfter: Date;
}

function layout(dataDir: string) {
  const root = resolve(dataDir);
  const pki = join(root, 'pki');
  return {
    root,
    pki,
    caCert: join(pki, 'ca.pem'),
    caKey: join(pki, 'ca-key.pem'),
    serverCert: join(pki, 'server.pem'),
    serverKey: join(pki, 'server-key.pem'),
    manifests: join(root, 'manifests'),
    devManifest: join(root, 'manifests', 'dev.yaml'),
    credentials: join(root, 'credentials'),
    credential: (scope: string, name: string) => join(root, 'credentials', scope, name),
    kek: join(root, 'kek'),
  };
}

function assertPathSegment(what: string, value: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) {
    throw new Error(`${what} "${value}" is not usable as a directory name (letters, digits, '.', '_', '-')`);
  }
}

/** Where clients should connect for a listen host: wildcard addresses become loopback. */
export function clientHost(host: string): string {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (h === '' || h === '0.0.0.0') return '127.0.0.1';
  if (h === '::') return '::1';
  return h;
}

/** SANs the server certificate needs for `host`. */
export function serverNames(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = ['localhost'];
  const ipAddresses = ['127.0.0.1', '::1'];
  const h = clientHost(host);
  if (isIP(h)) {
    if (!ipAddresses.includes(h) && h !== '0:0:0:0:0:0:0:1') ipAddresses.push(h);
  } else if (h.toLowerCase() !== 'localhost') {
    dnsNames.push(h.toLowerCase());
  }
  return { dnsNames, ipAddresses };
}

/** Loads the dev CA, or creates it when neither of its files exists. */
async function loadOrCreateCa(p: ReturnType<typeof layout>): Promise<CertificateAuthority> {
  const [certificatePem, privateKeyPem] = await Promise.all([readIfExists(p.caCert), readIfExists(p.caKey)]);
  if (certificatePem !== undefined && privateKeyPem !== undefined) {
    await enforceMode(p.caKey, PRIVATE_MODE);
    try {
      return await loadCertificateAuthority({ certificatePem, privateKeyPem });
    } catch (err) {
      throw new Error(
        `dev CA in ${p.pki} is unusable: ${(err as Error).message}. ` +
          `Remove ${p.pki} to create a new CA (credentials issued by the old one stop working).`,
      );
    }
  }
  if (certificatePem !== undefined || privateKeyPem !== undefined) {
    const missing = certificatePem === undefined ? p.caCert : p.caKey;
    throw new Error(
      `dev CA is incomplete: ${missing} is missing. Restore it, or remove ${p.pki} to create a new CA ` +
        `(credentials issued by the old one stop working).`,
    );
  }
  const ca = await createRootCa({ commonName: 'kube-kmip dev CA', organization: 'kube-kmip', ttlDays: DEV_CA_TTL_DAYS });
  // Key first: a crash in between leaves "incomplete", never a certificate without its key.
  await writeFileAtomic(p.caKey, ca.privateKeyPem, PRIVATE_MODE);
  await writeFileAtomic(p.caCert, ca.certificatePem, PUBLIC_MODE);
  return ca;
}

async function ensureServerCertificate(
  p: ReturnType<typeof layout>,
  ca: CertificateAuthority,
  host: string,
): Promise<{ certificatePem: string; privateKeyPem: string }> {
  const names = serverNames(host);
  const [certificatePem, privateKeyPem] = await Promise.all([readIfExists(p.serverCert), readIfExists(p.serverKey)]);
  if (certificatePem && privateKeyPem) {
    try {
      const cert = new X509Certificate(certificatePem);
      const ok =
        keyMatchesCertificate(privateKeyPem, certificatePem) &&
        issuedBy(cert, new X509Certificate(ca.certificatePem)) &&
        !dueForRenewal(cert) &&
        // Older dev certificates lack clientAuth, which the server needs to connect to Notify/Put endpoints.
        (cert.keyUsage ?? []).includes(CLIENT_AUTH_OID) &&
        names.dnsNames.every((n) => cert.checkHost(n, { subject: 'never', wildcards: false }) !== undefined) &&
        names.ipAddresses.every((ip) => cert.checkIP(ip) !== undefined);
      if (ok) {
        await enforceMode(p.serverKey, PRIVATE_MODE);
        return { certificatePem, privateKeyPem };
      }
    } catch {
      /* unreadable: re-issue */
    }
  }
  const issued = await issueServerCertificate(ca, { ...names, ttlDays: DEV_SERVER_TTL_DAYS });
  await writeFileAtomic(p.serverKey, issued.privateKeyPem, PRIVATE_MODE);
  await writeFileAtomic(p.serverCert, issued.certificatePem, PUBLIC_MODE);
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem };
}

/**
 * Creates the dev environment on first run and reuses it afterwards (same CA, same ids, same admin
 * credential while it is valid). Safe to call on every start.
 */
export async function ensureDevEnvironment(options: DevEnvironmentOptions): Promise<DevEnvironment> {
  const { host, port } = options;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid port ${port}`);
  const p = layout(options.dataDir);
  await ensureDir(p.root);
  await ensureDir(p.pki, PRIVATE_DIR_MODE);
  await ensureDir(p.manifests);
  await ensureDir(p.credentials, PRIVATE_DIR_MODE);

  const ca = await loadOrCreateCa(p);
  const server = await ensureServerCertificate(p, ca, host);

  // Ids: kept in dev.yaml; new UUIDs the first time (or after dev.yaml was deleted).
  const existingText = await readIfExists(p.devManifest);
  const existing = existingText === undefined ? [] : parseManifests(existingText, p.devManifest);
  const ids = {
    scopeId: findUid(existing, 'KmipScope', DEV_SCOPE) ?? randomUUID(),
    roleId: findUid(existing, 'KmipRole', DEV_ROLE) ?? randomUUID(),
    credentialId: findUid(existing, 'KmipClientCredential', DEV_CREDENTIAL) ?? randomUUID(),
  };

  // Admin credential: reuse while it is good for these ids under this CA, else issue a new one.
  const credentialDir = p.credential(DEV_SCOPE, DEV_CREDENTIAL);
  let admin = await usableCredential(credentialDir, ca.certificatePem, ids.scopeId, ids.roleId);
  if (!admin) {
    const issued = await issueClientCertificate(ca, {
      scopeId: ids.scopeId,
      roleId: ids.roleId,
      ttlDays: DEV_CLIENT_TTL_DAYS,
    });
    admin = { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem };
  }
  await writeCredential(credentialDir, { caPem: ca.certificatePem, ...admin }, clientHost(host), port);

  const identity = identityFromCertificate(admin.certificatePem);
  await writeDevManifests(
    p.devManifest,
    devManifests(ids, {
      serialNumber: identity.serialNumber,
      fingerprint: identity.fingerprintSha256,
      notAfter: identity.notAfter.toISOString(),
    }, { headerCredentials: adminHeaderCredentials(existing), notifyEndpoint: options.notifyEndpoint }),
  );

  return {
    caPem: ca.certificatePem,
    serverCertPem: server.certificatePem,
    serverKeyPem: server.privateKeyPem,
    manifestsDir: p.manifests,
    credentialDir,
    kekPath: p.kek,
    scopeId: ids.scopeId,
    roleId: ids.roleId,
  };
}

/**
 * Issues another client certificate from the dev CA into D/credentials/<scope>/<name>/ (same files
 * as the admin credential; an existing credential there is replaced). It does not write manifests:
 * the caller adds a KmipClientCredential whose status carries the returned serial/fingerprint.
 */
export async function issueDevCredential(dataDir: string, options: DevCredentialOptions): Promise<DevCredential> {
  assertPathSegment('scope', options.scope);
  assertPathSegment('name', options.name);
  const p = layout(dataDir);
  const [certificatePem, privateKeyPem] = await Promise.all([readIfExists(p.caCert), readIfExists(p.caKey)]);
  if (certificatePem === undefined || privateKeyPem === undefined) {
    throw new Error(`no dev CA in ${p.pki}: run ensureDevEnvironment first`);
  }
  const ca = await loadCertificateAuthority({ certificatePem, privateKeyPem });

  let scopeId = options.scopeId;
  let roleId = options.roleId;
  if (scopeId === undefined || roleId === undefined) {
    const docs = await readManifestDir(p.manifests);
    scopeId ??= findUid(docs, 'KmipScope', options.scope);
    roleId ??= findUid(docs, 'KmipRole', options.role);
    if (scopeId === undefined) throw new Error(`no KmipScope "${options.scope}" with a metadata.uid in ${p.manifests}; pass scopeId`);
    if (roleId === undefined) throw new Error(`no KmipRole "${options.role}" with a metadata.uid in ${p.manifests}; pass roleId`);
  }

  let host = options.host;
  let port = options.port;
  if (host === undefined || port === undefined) {
    const adminConf = await readIfExists(credentialPaths(p.credential(DEV_SCOPE, DEV_CREDENTIAL)).pykmip);
    const previous = adminConf === undefined ? undefined : parsePykmipConf(adminConf);
    host ??= previous?.host ?? '127.0.0.1';
    port ??= previous?.port ?? 5696;
  }

  const issued = await issueClientCertificate(ca, {
    scopeId,
    roleId,
    ttlDays: options.ttlDays ?? (options.expired ? 1 : DEV_CLIENT_TTL_DAYS),
    ...(options.expired ? { notAfter: new Date(Date.now() - 60 * 60 * 1000) } : {}),
  });
  const credentialDir = p.credential(options.scope, options.name);
  await ensureDir(join(p.credentials, options.scope), PRIVATE_DIR_MODE);
  await writeCredential(
    credentialDir,
    { caPem: ca.certificatePem, certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem },
    clientHost(host),
    port,
  );
  return {
    credentialDir,
    scopeId,
    roleId,
    serialNumber: issued.serialNumber,
    fingerprintSha256: issued.fingerprintSha256,
    notAfter: issued.notAfter,
  };
}
