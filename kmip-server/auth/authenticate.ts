import type { X509Certificate } from 'node:crypto';
import { canonicalSerialNumber, fingerprintSha256 } from '../../operator/pki/canonical.ts';
import type { CredentialPolicy, PolicySnapshot } from '../policy/model.ts';
import type { Identity } from './identity.ts';

/**
 * Maps a verified peer certificate to an identity. TLS has already checked the chain; this
 * checks the certificate is live: its fingerprint was uploaded in a credential, or it was issued
 * by a CA of the client-CA bundle under a serial a live credential holds and is the very
 * certificate the operator recorded for that serial (its fingerprint is in the credential's
 * status.certificateFingerprints). Otherwise there is no identity and the connection is refused.
 * Serial numbers count only for certificates a bundle CA signed: an uploaded certificate is a
 * trust anchor for TLS, and whoever holds its key could otherwise mint a certificate with another
 * credential's serial. The fingerprint check closes the same hole for the bundle's CAs: whoever
 * holds the key of any of them (a cert-manager issuer an admin added, say) could otherwise mint a
 * certificate under any credential's serial. A credential whose status has no fingerprints yet
 * (written by an older operator) is accepted by serial alone; the policy reports it as a problem.
 * Looked up per request, so a revoked credential stops working at once.
 */
export function authenticate(peer: PeerCertificate, policy: PolicySnapshot): Identity | undefined {
  const cred = credentialOf(peer, policy);
  if (!cred) return undefined;
  const role = policy.roles.get(cred.roleId);
  const scope = policy.scopes.get(cred.scopeId);
  if (!role || !scope || role.scopeId !== scope.id) return undefined;
  return {
    scopeId: scope.id,
    roleId: role.id,
    scopeName: `${scope.namespace}/${scope.name}`,
    roleName: `${role.namespace}/${role.name}`,
    credentialName: `${cred.namespace}/${cred.name}`,
    credentialId: cred.id,
    headerCredentials: cred.headerCredentials,
    operations: role.operations,
  };
}

/**
 * The live credential a verified certificate belongs to, by the rules above (also how the server
 * checks that a Notify/Put endpoint presents the subscribed credential's own certificate).
 */
export function credentialOf(peer: PeerCertificate, policy: PolicySnapshot): CredentialPolicy | undefined {
  // A certificate our CA signed is known by its serial only; an uploaded one by its fingerprint
  // only. So pasting someone's CA-issued certificate into another credential grants nothing.
  const cred = peer.issuedByCa ? policy.bySerial.get(peer.serialNumber) : policy.byFingerprint.get(peer.fingerprint);
  if (!cred) return undefined;
  if (peer.issuedByCa && cred.issuedFingerprints && !cred.issuedFingerprints.includes(peer.fingerprint)) return undefined;
  return cred;
}

/** What the server computes once per connection from the verified peer certificate. */
export interface PeerCertificate {
  fingerprint: string;
  serialNumber: string;
  /** Signed by one of the kube-kmip CA certificates (not merely chained to an uploaded one). */
  issuedByCa: boolean;
}

export function describePeer(cert: X509Certificate, caCerts: readonly X509Certificate[]): PeerCertificate {
  return {
    fingerprint: fingerprintSha256(cert.raw),
    serialNumber: canonicalSerialNumber(cert.serialNumber),
    issuedByCa: caCerts.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)),
  };
}
