import { EventEmitter } from 'node:events';
import type { ParsedHash } from '../auth/password-hash.ts';

/**
 * The tenancy model the server enforces, as read from KmipScope / KmipRole / KmipClientCredential
 * resources (from Kubernetes or from YAML files). Ids are the resources' UIDs: opaque, so a
 * deleted and re-created name never revives old certificates.
 */
export interface ScopePolicy {
  id: string;
  namespace: string;
  name: string;
}

export interface RolePolicy {
  id: string;
  namespace: string;
  name: string;
  scopeId: string;
  /** Granted Vault-style operation names, `operation_all` already expanded. */
  operations: ReadonlySet<string>;
}

/**
 * A sub-identity a client may name in the KMIP request header (Authentication / Credential) on top
 * of its certificate. The five device fields are compared as a whole: a request's Device credential
 * matches when each field is equal and absent where absent. Password hashes are `$scrypt$` strings
 * (auth/password-hash.ts), already parsed and bounds-checked when the policy was read.
 */
export type HeaderCredentialPolicy =
  | { kind: 'user'; username: string; passwordHash: ParsedHash }
  | { kind: 'device'; device: DeviceIdentity; passwordHash?: ParsedHash };

export interface DeviceIdentity {
  serialNumber?: string;
  deviceIdentifier?: string;
  networkIdentifier?: string;
  machineIdentifier?: string;
  mediaIdentifier?: string;
}

export const DEVICE_FIELDS = ['serialNumber', 'deviceIdentifier', 'networkIdentifier', 'machineIdentifier', 'mediaIdentifier'] as const;

export interface CredentialPolicy {
  /** The resource's UID (opaque, like scope and role ids): owner of pending asynchronous operations and of the objects made under its header credentials. */
  id: string;
  namespace: string;
  name: string;
  scopeId: string;
  roleId: string;
  /** Canonical serial numbers of certificates issued by the kube-kmip CA for this credential. */
  serialNumbers: string[];
  /**
   * Canonical SHA-256 fingerprints of those certificates: a certificate is accepted by its serial
   * only when its fingerprint is listed. Absent (status written by an older operator): by serial alone.
   */
  issuedFingerprints?: string[];
  /** Canonical SHA-256 fingerprints of certificates accepted as they are (upload mode). */
  fingerprints: string[];
  /** PEM of uploaded certificates: they become trust anchors for the TLS handshake. */
  uploadedCertificatesPem: string[];
  /** Sub-identities requests may name in their header; empty: header credentials are ignored. */
  headerCredentials: HeaderCredentialPolicy[];
  /** spec.notifications: where the server sends Notify and Put for this credential (kmip-server/notify/). */
  notifications?: CredentialNotifications;
}

/** A credential's subscription to server-to-client operations. */
export interface CredentialNotifications {
  /** host:port of the client's listener; it must present this credential's certificate. */
  endpoint: string;
}

export interface PolicySnapshot {
  scopes: ReadonlyMap<string, ScopePolicy>;
  roles: ReadonlyMap<string, RolePolicy>;
  /** By canonical serial number (issued by our CA). */
  bySerial: ReadonlyMap<string, CredentialPolicy>;
  /** By canonical fingerprint (uploaded certificates). */
  byFingerprint: ReadonlyMap<string, CredentialPolicy>;
}

/** Where policy comes from. Emits 'change' with no argument after `current` changes. */
export interface PolicySource extends EventEmitter {
  current(): PolicySnapshot;
  close(): Promise<void>;
}

export function buildSnapshot(scopes: ScopePolicy[], roles: RolePolicy[], credentials: CredentialPolicy[]): PolicySnapshot {
  const bySerial = new Map<string, CredentialPolicy>();
  const byFingerprint = new Map<string, CredentialPolicy>();
  for (const c of credentials) {
    for (const s of c.serialNumbers) bySerial.set(s, c);
    for (const f of c.fingerprints) byFingerprint.set(f, c);
  }
  return {
    scopes: new Map(scopes.map((s) => [s.id, s])),
    roles: new Map(roles.map((r) => [r.id, r])),
    bySerial,
    byFingerprint,
  };
}

/** A fixed policy (tests, embedding). */
export class StaticPolicySource extends EventEmitter implements PolicySource {
  #snapshot: PolicySnapshot;
  constructor(snapshot: PolicySnapshot) {
    super();
    this.#snapshot = snapshot;
  }
  current(): PolicySnapshot {
    return this.#snapshot;
  }
  update(snapshot: PolicySnapshot): void {
    this.#snapshot = snapshot;
    this.emit('change');
  }
  async close(): Promise<void> {}
}
