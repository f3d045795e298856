/**
 * KmipClientCredential with spec.issuerRef: cert-manager issues the certificate, the operator
 * delivers it.
 *
 * For such a credential the operator owns a cert-manager `Certificate` (same name and namespace as
 * the credential, owned by it, so the garbage collector removes it with the credential) whose
 * subject is exactly what the kube-kmip CA would write (OU=<scope uid>, CN=<role uid>: see
 * pki/issue.ts clientSubject; Go's pkix.Name orders OU before CN just as we do), with the key type
 * and lifetime the credential or its role asks for and renewal when a third of the lifetime
 * remains. cert-manager writes the key and certificate into a private Secret (`<secretName>-cert-manager`);
 * the operator checks what it finds there (signed by a CA in that Secret, the scope and role ids,
 * the key type, the key matching) and derives the credential's own Secret from it with the same
 * helper as generate mode (credential-secret.ts), so applications see the same keys: tls.crt,
 * tls.key, ca.crt (the kube-kmip CA bundle, to trust the KMIP server) and the chosen formats.
 *
 * The KMIP server accepts the certificate as it accepts one of ours: by its serial in status, bound
 * to its fingerprint (status.certificateFingerprints), once the issuer's CA certificate is in the
 * server's client-CA bundle (the chart's / `--client-ca` bundle). The fingerprint matters most here:
 * whoever holds the key of any CA in that bundle could otherwise mint a certificate under this
 * credential's serial. A renewal by cert-manager keeps the previous serial accepted until it expires, as a
 * renewal in generate mode does; a change of scope, role, key or lifetime does not.
 *
 * cert-manager's progress is read from the Certificate's Ready condition and, while it is not
 * ready, from its newest CertificateRequest (that is where "issuer not found" or "issuer not ready"
 * is said); the credential then reports Ready=False with cert-manager's words. cert-manager's
 * Secret carries the credential's uid label and annotation (spec.secretTemplate), so the credential
 * controller's Secret watch wakes the credential when cert-manager writes it; while cert-manager
 * has not issued, the credential looks again every `recheckMs` (the operator does not watch
 * cert-manager's kinds: their CRDs may not be installed, and an informer on them would stall the
 * operator's start).
 */
import { X509Certificate } from 'node:crypto';
import { Certificate, type ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IKeyUsage } from '@kubernetes-models/cert-manager/cert-manager.io/v1/KeyUsage';
import { READY_CONDITION, type KmipClientCredential, type KmipClientCredentialStatus, type KmipRole, type KmipScope } from '../api/index.ts';
import {
  canonicalSerialNumber, describeKeyObject, describeKeySpec, fingerprintSha256, identityFromCertificate, keySpecEquals, pemCertificates, type CertificateAuthority, type KeySpec,
} from '../pki/index.ts';
import { applyStatus, stableJson } from '../runtime/apply.ts';
import { isNotFound, type KubeClient, type KubeObject, type ResourceType } from '../runtime/client.ts';
import { rfc3339, setCondition, type ConditionInput } from '../runtime/conditions.ts';
import type { ReconcileContext, Result } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { KmipClientCredentials, Secrets } from '../runtime/resources.ts';
import {
  acceptedCertificates, currentCertificate, generatedKeySpec, issuanceDigest, lifetimeMs, previousAnnotations, previousCertificate, renewalTime,
  type CurrentCertificate,
} from './credential-issue.ts';
import { secretContent, type SecretContent } from './credential-secret.ts';
import {
  CREDENTIAL_ANNOTATION, CREDENTIAL_UID_LABEL, ISSUANCE_ANNOTATION, RESTARTED_FOR_ANNOTATION,
} from './labels.ts';

export const Certificates: ResourceType = { group: 'cert-manager.io', version: 'v1', plural: 'certificates', kind: 'Certificate', namespaced: true };
export const CertificateRequests: ResourceType = {
  group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests', kind: 'CertificateRequest', namespaced: true,
};

/** On a credential's Secret: "<kind>/<name>" of the cert-manager issuer its certificate came from. */
export const ISSUER_ANNOTATION = 'kubekmip.io/cert-manager-issuer';
/** Suffix of the Secret cert-manager writes (the credential's Secret is derived from it). */
export const PRIVATE_SECRET_SUFFIX = '-cert-manager';
const MAX_REQUEUE_MS = 12 * 3_600_000;
const SECRET_NAME_MAX = 253;

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

interface CmCondition { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }
type CmCertificate = KubeObject & Pick<ICertificate, 'spec'> & {
  status?: { conditions?: CmCondition[]; renewalTime?: string; notAfter?: string; revision?: number };
};
type CmRequest = KubeObject & { status?: { conditions?: CmCondition[] } };

type Status = KmipClientCredentialStatus;

/** What the credential controller lends this file (its own helpers, so both modes behave alike). */
export interface CertManagerHooks {
  client: KubeClient;
  events: EventRecorder;
  now: () => Date;
  /** How soon a credential waiting on cert-manager (or on a name conflict) looks again. */
  recheckMs: number;
  /** ca.crt of the credential's Secret: the kube-kmip CA bundle the client trusts the server by. */
  trustBundle: () => string;
  /** The kube-kmip signing CA (secretContent's signature wants one; it is not used to sign here). */
  ca: () => CertificateAuthority;
  notReady(cred: KmipClientCredential, reason: string, message: string, certificate?: Partial<Status> | 'keep'): Promise<void>;
  writeSecret(cred: KmipClientCredential, name: string, content: SecretContent, annotations: Record<string, string>, existing: Secret | undefined): Promise<boolean>;
  restartTargets(cred: KmipClientCredential, serial: string): Promise<void>;
}

export interface CertManagerIssuance {
  /** Converges a credential that has spec.issuerRef; `existing` is its Secret (already known to be its own). */
  reconcile(
    cred: KmipClientCredential, scope: KmipScope, role: KmipRole, secretName: string, existing: Secret | undefined, log: ReconcileContext['log'],
  ): Promise<Result | void>;
  /**
   * For a credential without issuerRef whose Secret came from cert-manager (issuerRef was removed):
   * deletes the Certificate and cert-manager's Secret (the private key must not linger).
   */
  release(cred: KmipClientCredential, existing: Secret | undefined): Promise<void>;
}

/** The Secret cert-manager writes for a credential whose own Secret is `secretName`. */
export function privateSecretName(secretName: string): string {
  const name = `${secretName}${PRIVATE_SECRET_SUFFIX}`;
  if (name.length <= SECRET_NAME_MAX) return name;
  // Still a valid, unique-enough name: a prefix, then a digest of the whole.
  const digest = issuanceDigest({ secretName }).slice(0, 10);
  return `${secretName.slice(0, SECRET_NAME_MAX - PRIVATE_SECRET_SUFFIX.length - digest.length - 1).replace(/[-.]+$/, '')}-${digest}${PRIVATE_SECRET_SUFFIX}`;
}

/** A Go duration cert-manager accepts (whole seconds; our lifetimes are at least an hour). */
export function goDuration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/**
 * The Certificate for a credential: OU=<scope uid>, CN=<role uid>, client auth, the key spec and
 * lifetime given, renewal a third of the lifetime before expiry, the key re-generated on each
 * renewal, PKCS#8.
 */
export function desiredCertificate(
  cred: KmipClientCredential, ids: { scopeId: string; roleId: string }, keySpec: KeySpec, ttlMs: number, secretName: string,
): Certificate {
  const ref = cred.spec.issuerRef!;
  const usages: IKeyUsage[] = keySpec.type === 'rsa' ? ['client auth', 'digital signature', 'key encipherment'] : ['client auth', 'digital signature'];
  const certificate = new Certificate({
    metadata: {
      name: cred.metadata.name!,
      namespace: cred.metadata.namespace!,
      labels: { [CREDENTIAL_UID_LABEL]: cred.metadata.uid! },
      ownerReferences: [{
        apiVersion: cred.apiVersion, kind: cred.kind, name: cred.metadata.name!, uid: cred.metadata.uid!, controller: true, blockOwnerDeletion: true,
      }],
    },
    spec: {
      secretName: privateSecretName(secretName),
      // Labels and annotation as on the credential's own Secret: the credential controller's Secret
      // watch then reconciles the credential when cert-manager writes this one.
      secretTemplate: {
        labels: { [CREDENTIAL_UID_LABEL]: cred.metadata.uid! },
        annotations: { [CREDENTIAL_ANNOTATION]: `${cred.metadata.namespace}/${cred.metadata.name}` },
      },
      commonName: ids.roleId,
      subject: { organizationalUnits: [ids.scopeId] },
      usages,
      duration: goDuration(ttlMs),
      renewBefore: goDuration(Math.floor(ttlMs / 3)),
      privateKey: keySpec.type === 'ec'
        ? { algorithm: 'ECDSA', size: Number(keySpec.curve.slice(2)), encoding: 'PKCS8', rotationPolicy: 'Always' }
        : { algorithm: 'RSA', size: keySpec.bits, encoding: 'PKCS8', rotationPolicy: 'Always' },
      issuerRef: { name: ref.name, kind: ref.kind ?? 'Issuer', group: ref.group ?? 'cert-manager.io' },
    },
  });
  certificate.validate();
  return certificate;
}

/** The CA certificate, among those cert-manager stored (chain in tls.crt, then ca.crt), that signed the leaf. */
function signerOf(data: Record<string, string> | undefined): string | undefined {
  try {
    const decode = (k: string) => (data?.[k] ? Buffer.from(data[k], 'base64').toString('utf8') : '');
    const [leafDer, ...chain] = pemCertificates(decode('tls.crt'));
    if (!leafDer) return undefined;
    const leaf = new X509Certificate(leafDer);
    for (const der of [...chain, ...pemCertificates(decode('ca.crt'))]) {
      const ca = new X509Certificate(der);
      if (leaf.checkIssued(ca) && leaf.verify(ca.publicKey)) return ca.toString();
    }
  } catch {
    // unreadable: treated as "no certificate yet"
  }
  return undefined;
}

const controlledBy = (o: KubeObject, cred: KmipClientCredential) =>
  o.metadata.ownerReferences?.some((r) => r.uid === cred.metadata.uid && r.controller === true) ?? false;

export function certManagerIssuance(h: CertManagerHooks): CertManagerIssuance {
  const { client } = h;

  function statusWith(cred: KmipClientCredential, ready: ConditionInput, fields: Partial<Status>): Status {
    const generation = cred.metadata.generation;
    return { ...fields, observedGeneration: generation, conditions: setCondition(cred.status?.conditions, ready, generation) };
  }

  /** cert-manager's own account of why there is no certificate yet: the newest request's Ready condition, else the Certificate's. */
  async function whyNotIssued(certificate: CmCertificate | undefined): Promise<{ reason: string; message: string }> {
    const ready = certificate?.status?.conditions?.find((c) => c.type === 'Ready');
    let request: CmCondition | undefined;
    if (certificate?.metadata.uid) {
      try {
        const list = await client.list<CmRequest>(CertificateRequests, certificate.metadata.namespace);
        const mine = list.items
          .filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === certificate.metadata.uid))
          .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
        const conditions = mine[0]?.status?.conditions ?? [];
        request = ['Denied', 'InvalidRequest', 'Ready'].map((type) => conditions.find((c) => c.type === type && (type === 'Ready' || c.status === 'True'))).find(Boolean);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const said = request?.message ?? ready?.message;
    const where = certificate ? `Certificate ${certificate.metadata.namespace}/${certificate.metadata.name}` : 'the Certificate';
    const message = said ? `cert-manager has not issued ${where}: ${said}` : `waiting for cert-manager to issue ${where}`;
    if (request && (request.reason === 'Failed' || request.type === 'Denied' || request.type === 'InvalidRequest')) return { reason: 'IssuanceFailed', message };
    if (request?.reason === 'Pending') return { reason: 'IssuerNotReady', message };
    return { reason: 'Issuing', message };
  }

  async function reconcile(
    cred: KmipClientCredential, scope: KmipScope, role: KmipRole, secretName: string, existing: Secret | undefined, log: ReconcileContext['log'],
  ): Promise<Result | void> {
    const ns = cred.metadata.namespace!;
    const name = cred.metadata.name!;
    const ref = cred.spec.issuerRef!;
    const issuer = `${ref.kind ?? 'Issuer'} ${ref.name}`;
    if (cred.spec.csr !== undefined) {
      return h.notReady(cred, 'IssuerCSRNotSupported',
        'spec.csr cannot be combined with spec.issuerRef: cert-manager generates the key; remove csr, or remove issuerRef to have the kube-kmip CA sign the CSR', {});
    }
    let keySpec: KeySpec;
    try {
      keySpec = generatedKeySpec(cred, role);
    } catch (err) {
      return h.notReady(cred, 'InvalidKeySpec', (err as Error).message);
    }
    const ttlMs = lifetimeMs(cred, role);
    const ids = { scopeId: scope.metadata.uid!, roleId: role.metadata.uid! };
    const privateName = privateSecretName(secretName);

    // ---- the Certificate (ours alone) and cert-manager's Secret name (not someone else's) ----------
    const current = await client.get<CmCertificate>(Certificates, ns, name);
    if (current && !controlledBy(current, cred)) {
      await h.notReady(cred, 'CertificateConflict',
        `cert-manager Certificate ${ns}/${name} already exists and does not belong to this KmipClientCredential; delete or rename it`);
      return { requeueAfter: h.recheckMs };
    }
    let privateSecret = await client.get<Secret>(Secrets, ns, privateName);
    if (privateSecret && privateSecret.metadata.labels?.[CREDENTIAL_UID_LABEL] !== cred.metadata.uid) {
      await h.notReady(cred, 'SecretConflict',
        `Secret ${ns}/${privateName} (where cert-manager would write the key) already exists and does not belong to this KmipClientCredential; delete it or set spec.secretName to another name`);
      return { requeueAfter: h.recheckMs };
    }
    const desired = desiredCertificate(cred, ids, keySpec, ttlMs, secretName).toJSON() as CmCertificate;
    let certificate = current;
    const same = current && stableJson(pick(current.spec, desired.spec)) === stableJson(desired.spec)
      && stableJson(current.metadata.labels?.[CREDENTIAL_UID_LABEL]) === stableJson(cred.metadata.uid);
    if (!same) {
      try {
        certificate = await client.apply<CmCertificate>(Certificates, desired);
      } catch (err) {
        if (isNotFound(err)) {
          return h.notReady(cred, 'CertManagerNotInstalled',
            `cannot create a cert-manager Certificate (${(err as Error).message}); install cert-manager, or remove spec.issuerRef to use the kube-kmip CA`);
        }
        throw new Error(`failed to apply Certificate ${ns}/${name}: ${(err as Error).message}`, { cause: err });
      }
      log.info({ issuer, certificate: `${ns}/${name}` }, 'cert-manager Certificate applied');
    }

    // ---- what cert-manager issued ----------------------------------------------------------------
    const signerPem = signerOf(privateSecret?.data);
    const issued = signerPem ? currentCertificate(privateSecret?.data, { certificatePem: signerPem }, { ...ids, withKey: true }) : undefined;
    const keyOk = issued ? keySpecOf(issued, keySpec) : false;
    const ready = certificate?.status?.conditions?.find((c) => c.type === 'Ready');
    const upToDate = ready?.status === 'True' && (ready.observedGeneration === undefined || ready.observedGeneration === certificate?.metadata.generation);
    if (!issued || !keyOk || !upToDate) {
      const { reason, message } = upToDate ? unusable(privateSecret, signerPem, issued, issuer, ids, keySpec) : await whyNotIssued(certificate);
      // A certificate cert-manager issued for this scope and role stays accepted while a new one is
      // on its way (an issuer outage must not lock clients out); one for other ids does not.
      const published = existing?.metadata.annotations?.[ISSUER_ANNOTATION] !== undefined && existingIdentityMatches(existing, ids);
      await h.notReady(cred, reason, message, published ? 'keep' : {});
      return { requeueAfter: h.recheckMs };
    }

    // cert-manager's Secret goes with the credential even when cert-manager does not own it to its
    // Certificate (--enable-certificate-owner-ref off): it holds a private key.
    if (privateSecret && !privateSecret.metadata.ownerReferences?.some((r) => r.uid === cred.metadata.uid)) {
      privateSecret = await client.apply<Secret>(Secrets, {
        metadata: {
          name: privateName, namespace: ns,
          ownerReferences: [{ apiVersion: cred.apiVersion, kind: cred.kind, name, uid: cred.metadata.uid!, controller: false, blockOwnerDeletion: true }],
        },
      }, { force: false });
    }

    // ---- the credential's Secret -------------------------------------------------------------------
    const now = h.now();
    const digest = issuanceDigest({ mode: 'cert-manager', ...ids, ttlMs, key: describeKeySpec(keySpec), issuer: `${ref.group ?? 'cert-manager.io'}/${issuer}` });
    const annotations = existing?.metadata.annotations ?? {};
    const before = existing?.metadata.annotations?.[ISSUER_ANNOTATION] !== undefined ? leafOf(existing) : undefined;
    const changed = before?.serialNumber !== issued.serialNumber;
    // A renewal (same inputs, new certificate) keeps its predecessor accepted until it expires.
    let previous = previousCertificate(annotations, now);
    if (changed) {
      previous = before && annotations[ISSUANCE_ANNOTATION] === digest && before.notAfter > now
        ? { serialNumber: before.serialNumber, notAfter: before.notAfter, fingerprint: fingerprintSha256(before.der) } : undefined;
    }
    let restartedFor = annotations[RESTARTED_FOR_ANNOTATION] ?? '';
    if (changed && (!before || !(cred.spec.rolloutRestartTargets?.length))) restartedFor = issued.serialNumber;
    const content = secretContent(
      { certificateDer: issued.der, issuedHere: false, ...(issued.privateKeyPem ? { privateKeyPem: issued.privateKeyPem } : {}) },
      h.ca(), cred.spec.formats ?? ['pem'], name, existing?.data, h.trustBundle(),
    );
    const secretAnnotations = (restarted: string): Record<string, string> => ({
      [CREDENTIAL_ANNOTATION]: `${ns}/${name}`,
      [ISSUER_ANNOTATION]: `${ref.kind ?? 'Issuer'}/${ref.name}`,
      [ISSUANCE_ANNOTATION]: digest,
      [RESTARTED_FOR_ANNOTATION]: restarted,
      ...previousAnnotations(previous),
    });
    await h.writeSecret(cred, secretName, content, secretAnnotations(restartedFor), existing);
    if (changed) {
      const why = !before ? 'Issued' : previous ? 'Renewed' : 'Reissued';
      await h.events.record(cred, 'Normal', why, 'Issue',
        `cert-manager ${why.toLowerCase()} certificate ${issued.serialNumber} (${issuer}) for KmipRole ${role.metadata.name} in KmipScope ${scope.metadata.name}, valid until ${rfc3339(issued.notAfter)}; in Secret ${secretName}`);
      log.info({ serialNumber: issued.serialNumber, notAfter: issued.notAfter, why, issuer }, 'certificate from cert-manager delivered');
    }
    if (restartedFor !== issued.serialNumber) {
      await h.restartTargets(cred, issued.serialNumber);
      await h.writeSecret(cred, secretName, content, secretAnnotations(issued.serialNumber), await client.get<Secret>(Secrets, ns, secretName));
    }

    const renewal = certificate?.status?.renewalTime ? new Date(certificate.status.renewalTime) : renewalTime(issued.notBefore, issued.notAfter);
    await applyStatus(client, KmipClientCredentials, cred, statusWith(cred, {
      type: READY_CONDITION, status: 'True', reason: 'Issued',
      message: `certificate ${issued.serialNumber} from cert-manager (${issuer}) is valid until ${rfc3339(issued.notAfter)}; cert-manager renews it after ${rfc3339(renewal)}; Secret ${secretName}`,
    }, {
      secretName,
      serialNumber: issued.serialNumber,
      ...acceptedCertificates(issued, previous),
      fingerprint: issued.fingerprint,
      notBefore: rfc3339(issued.notBefore),
      notAfter: rfc3339(issued.notAfter),
      renewalTime: rfc3339(renewal),
    }));
    // cert-manager renews; its Secret write wakes the credential. Look again when the predecessor
    // expires (to drop its serial), and at least twice a day.
    const wakeAt = Math.min(previous ? previous.notAfter.getTime() : Infinity, issued.notAfter.getTime());
    return { requeueAfter: Math.min(Math.max(wakeAt - now.getTime(), 1000), MAX_REQUEUE_MS) };
  }

  async function release(cred: KmipClientCredential, existing: Secret | undefined): Promise<void> {
    if (existing?.metadata.annotations?.[ISSUER_ANNOTATION] === undefined) return;
    const ns = cred.metadata.namespace!;
    const certificate = await client.get<CmCertificate>(Certificates, ns, cred.metadata.name!).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (certificate && controlledBy(certificate, cred)) {
      await client.delete(Certificates, ns, cred.metadata.name!, { preconditions: { uid: certificate.metadata.uid! } });
    }
    const privateName = certificate?.spec?.secretName ?? privateSecretName(cred.status?.secretName ?? cred.spec.secretName ?? cred.metadata.name!);
    const privateSecret = await client.get<Secret>(Secrets, ns, privateName);
    if (privateSecret && privateSecret.metadata.labels?.[CREDENTIAL_UID_LABEL] === cred.metadata.uid) {
      await client.delete(Secrets, ns, privateName, { preconditions: { uid: privateSecret.metadata.uid! } });
    }
  }

  return { reconcile, release };
}

/**
 * Why a certificate cert-manager calls ready cannot be used: the issuer left out the CA that signed
 * it, ignored the requested subject (ACME does), or made another key.
 */
function unusable(
  secret: Secret | undefined, signerPem: string | undefined, issued: CurrentCertificate | undefined, issuer: string,
  ids: { scopeId: string; roleId: string }, keySpec: KeySpec,
): { reason: string; message: string } {
  const where = `cert-manager's Secret ${secret?.metadata.namespace}/${secret?.metadata.name}`;
  if (!secret?.data?.['tls.crt']) return { reason: 'Issuing', message: `waiting for cert-manager to write ${where}` };
  if (!signerPem) {
    return { reason: 'IssuerChainMissing', message: `${where} holds no CA certificate (tls.crt chain or ca.crt) that signed its certificate; ${issuer} must provide it` };
  }
  if (!issued) {
    return {
      reason: 'SubjectMismatch',
      message: `the certificate ${issuer} issued is not OU=${ids.scopeId}, CN=${ids.roleId} with a matching key; the issuer must honour the requested subject (ACME issuers do not)`,
    };
  }
  return { reason: 'KeyMismatch', message: `the certificate ${issuer} issued does not have a ${describeKeySpec(keySpec)} key` };
}

/** The fields of `have` that `want` sets (the API server adds defaults and cert-manager nothing else to spec). */
function pick(have: unknown, want: unknown): unknown {
  if (!want || typeof want !== 'object' || Array.isArray(want) || !have || typeof have !== 'object') return have;
  return Object.fromEntries(Object.keys(want).map((k) => [k, pick((have as Record<string, unknown>)[k], (want as Record<string, unknown>)[k])]));
}

function keySpecOf(cert: CurrentCertificate, want: KeySpec): boolean {
  const { keySpec } = describeKeyObject(new X509Certificate(cert.der).publicKey);
  return keySpec !== undefined && keySpecEquals(keySpec, want);
}

function leafOf(secret: Secret | undefined): { serialNumber: string; notAfter: Date; der: Uint8Array } | undefined {
  try {
    const der = pemCertificates(Buffer.from(secret?.data?.['tls.crt'] ?? '', 'base64').toString('utf8'))[0];
    if (!der) return undefined;
    const cert = new X509Certificate(der);
    return { serialNumber: canonicalSerialNumber(cert.serialNumber), notAfter: new Date(cert.validToDate), der };
  } catch {
    return undefined;
  }
}

function existingIdentityMatches(secret: Secret, ids: { scopeId: string; roleId: string }): boolean {
  const leaf = leafOf(secret);
  if (!leaf) return false;
  try {
    const id = identityFromCertificate(leaf.der);
    return id.scopeId === ids.scopeId && id.roleId === ids.roleId;
  } catch {
    return false;
  }
}
