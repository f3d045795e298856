/**
 * KmipClientCredential controller: turns a credential into a client certificate in a Secret, and
 * its status into what the KMIP server trusts.
 *
 * The server accepts a certificate when its serial number is in a live credential's
 * status.serialNumber(s) and its fingerprint in status.certificateFingerprints (issued here:
 * generate and csr modes; the fingerprint binds the serial to the one certificate, so another CA
 * the server trusts cannot mint a certificate under it), or when its fingerprint is that of a
 * credential's spec.certificate (upload mode). So status is the revocation list in reverse:
 * deleting a credential first withdraws its serials from status (the finalizer), then lets the
 * Secret go with it (owner reference, garbage collector).
 *
 * In upload mode status.fingerprint is written only while the operator accepts spec.certificate
 * (readable, unexpired, not issued by our CA, claimed by no older credential): that is the verdict
 * the server should require before trusting an uploaded certificate.
 *
 * Modes:
 *   generate     the operator makes the key and the certificate (OU=<scope uid>, CN=<role uid>);
 *   csr          the operator signs spec.csr; the key never leaves the client, the Secret holds no key;
 *                a CSR whose key is not the role's type and size is refused with a condition saying so;
 *   certificate  the client's own certificate is registered by fingerprint; one certificate may be
 *                registered by one credential only, cluster-wide (the oldest claim wins).
 *
 * The certificate in the Secret is the source of truth (read live, never from a cache, so a
 * reconcile racing its own write cannot issue twice). It is reissued when anything it was issued
 * from changes (scope or role uid, key spec, lifetime, CSR, CA: a digest on the Secret), and
 * renewed when a third of its lifetime remains; a renewed certificate's predecessor stays accepted
 * until it expires, and rolloutRestartTargets are restarted so pods pick up the new one.
 *
 * CA rotation (ca-rotation.ts): ca.crt is the trust bundle, so it gains the new CA while the old one
 * still signs; when the new CA starts signing, every certificate is re-issued from it like a
 * renewal (the one the old CA signed stays accepted until it expires or the old CA stops being
 * trusted, whichever is first). Each Secret names the CA that signed its certificate, so the
 * rotation knows when none of the old CA's is left.
 */
import { X509Certificate } from 'node:crypto';
import {
  READY_CONDITION, type KmipClientCredential, type KmipClientCredentialStatus, type KmipRole, type KmipScope,
} from '../api/index.ts';
import { BACKDATE_MS, describeKeySpec, issueClientCertificate, signCsr, type CertificateAuthority } from '../pki/index.ts';
import { caBundlePem } from './ca.ts';
import { SIGNING_CA_ANNOTATION, type CaSource } from './ca-rotation.ts';
import { addFinalizer, applyStatus, removeFinalizer, stableJson } from '../runtime/apply.ts';
import { isNotFound, type KubeObject } from '../runtime/client.ts';
import { rfc3339, setCondition, type ConditionInput } from '../runtime/conditions.ts';
import { splitKey, type ReconcileContext, type Result } from '../runtime/controller.ts';
import { objectKey } from '../runtime/informer.ts';
import type { Manager } from '../runtime/manager.ts';
import { Deployments, KmipClientCredentials, KmipRoles, KmipScopes, Secrets, StatefulSets } from '../runtime/resources.ts';
import {
  acceptedCertificates, currentCertificate, generatedKeySpec, issuanceDigest, lifetimeMs, modeOf, previousAnnotations, previousCertificate,
  renewalTime, roleKeySpec, sha256Hex, uploadedCertificate, type CurrentCertificate, type Mode,
} from './credential-issue.ts';
import { certManagerIssuance } from './credential-certmanager.ts';
import { secretContent, type SecretContent } from './credential-secret.ts';
import {
  CREDENTIAL_ANNOTATION, CREDENTIAL_FINALIZER, CREDENTIAL_UID_LABEL, ISSUANCE_ANNOTATION, MANAGED_BY_LABELS,
  RESTARTED_AT_ANNOTATION, RESTARTED_FOR_ANNOTATION, SERIAL_ANNOTATION,
} from './labels.ts';

export interface CredentialControllerOptions {
  /** The CA that signs; the manager loads it when it starts leading, before this controller runs. */
  ca: () => CertificateAuthority;
  /** The trust bundle and the CA a rotation replaced (ca-rotation.ts). Default: `ca` alone, no rotation. */
  rotation?: Pick<CaSource, 'bundlePem' | 'trustedIssuers' | 'previous' | 'onChange'>;
  /** How soon a credential waiting for its Secret's name to be free looks again. Default 30 s. */
  conflictRecheckMs?: number;
  /** The time renewals are judged by (tests move it forward). Default the system clock. */
  now?: () => Date;
}

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

type Status = KmipClientCredentialStatus;

const DAY_MS = 86_400_000;
/** Longest a reconcile waits before looking again, whatever the renewal time says. */
const MAX_REQUEUE_MS = 12 * 3_600_000;
const CERTIFICATE_FIELDS = ['serialNumber', 'serialNumbers', 'certificateFingerprints', 'fingerprint', 'notBefore', 'notAfter', 'renewalTime', 'secretName'] as const;

export function registerCredentialController(mgr: Manager, opts: CredentialControllerOptions): void {
  const creds = mgr.informer<KmipClientCredential>(KmipClientCredentials);
  const roles = mgr.informer<KmipRole>(KmipRoles);
  const scopes = mgr.informer<KmipScope>(KmipScopes);
  const secrets = mgr.informer<Secret>(Secrets, { labelSelector: CREDENTIAL_UID_LABEL, metadataOnly: true });
  const client = mgr.client;
  const conflictRecheckMs = opts.conflictRecheckMs ?? 30_000;
  const clock = opts.now ?? (() => new Date());
  const bundleOf = (ca: CertificateAuthority) => opts.rotation?.bundlePem() ?? caBundlePem(ca);

  // ---- status ----------------------------------------------------------------------------------

  /** Status with Ready set; `certificate` fields replace the credential's, or (keep) the old ones stay. */
  function statusWith(cred: KmipClientCredential, ready: ConditionInput, certificate: Partial<Status> | 'keep'): Status {
    const generation = cred.metadata.generation;
    const kept: Partial<Status> = {};
    if (certificate === 'keep') for (const f of CERTIFICATE_FIELDS) if (cred.status?.[f] !== undefined) Object.assign(kept, { [f]: cred.status[f] });
    return {
      ...(certificate === 'keep' ? kept : certificate),
      observedGeneration: generation,
      conditions: setCondition(cred.status?.conditions, ready, generation),
    };
  }

  /** Ready=False with `reason`; a Warning Event the first time this status is written. */
  async function notReady(cred: KmipClientCredential, reason: string, message: string, certificate: Partial<Status> | 'keep' = 'keep'): Promise<void> {
    const wrote = await applyStatus(client, KmipClientCredentials, cred, statusWith(cred, { type: READY_CONDITION, status: 'False', reason, message }, certificate));
    if (wrote) await mgr.events.record(cred, 'Warning', reason, 'Issue', message);
  }

  // ---- the Secret --------------------------------------------------------------------------------

  const controlledBy = (s: KubeObject, cred: KmipClientCredential) =>
    s.metadata.ownerReferences?.some((r) => r.uid === cred.metadata.uid && r.controller === true) ?? false;

  /** Applies the Secret unless it already says exactly this; returns whether it wrote. */
  async function writeSecret(
    cred: KmipClientCredential, name: string, content: SecretContent, annotations: Record<string, string>, existing: Secret | undefined,
  ): Promise<boolean> {
    const ns = cred.metadata.namespace!;
    const labels = { ...MANAGED_BY_LABELS, [CREDENTIAL_UID_LABEL]: cred.metadata.uid! };
    if (existing && existing.type !== content.type) {
      // A Secret's type is immutable; the mode changed between generate and csr/certificate.
      await client.delete(Secrets, ns, name, { preconditions: { uid: existing.metadata.uid! } });
      existing = undefined;
    }
    if (existing) {
      const has = (want: Record<string, string>, got: Record<string, string> | undefined) => Object.entries(want).every(([k, v]) => got?.[k] === v);
      if (stableJson(existing.data ?? {}) === stableJson(content.data) && has(labels, existing.metadata.labels) && has(annotations, existing.metadata.annotations)) {
        return false;
      }
    }
    try {
      await client.apply(Secrets, {
        metadata: {
          name, namespace: ns, labels, annotations,
          ownerReferences: [{
            apiVersion: cred.apiVersion, kind: cred.kind, name: cred.metadata.name!, uid: cred.metadata.uid!, controller: true, blockOwnerDeletion: true,
          }],
        },
        type: content.type,
        data: content.data,
      } as Secret);
    } catch (err) {
      throw new Error(`failed to apply Secret ${ns}/${name}: ${(err as Error).message}`, { cause: err });
    }
    return true;
  }

  /** Secrets this credential made under a name it no longer uses (spec.secretName changed). */
  async function deleteStaleSecrets(cred: KmipClientCredential, secretName: string): Promise<void> {
    for (const s of secrets.list(cred.metadata.namespace)) {
      if (s.metadata.labels?.[CREDENTIAL_UID_LABEL] !== cred.metadata.uid || s.metadata.name === secretName || !controlledBy(s, cred)) continue;
      await client.delete(Secrets, s.metadata.namespace, s.metadata.name!, { preconditions: { uid: s.metadata.uid! } });
    }
  }

  /** `kubectl rollout restart` for each target: a new pod-template annotation. */
  async function restartTargets(cred: KmipClientCredential, serial: string): Promise<void> {
    const ns = cred.metadata.namespace!;
    const at = rfc3339(clock());
    for (const t of cred.spec.rolloutRestartTargets ?? []) {
      const type = t.kind === 'Deployment' ? Deployments : StatefulSets;
      try {
        await client.mergePatch(type, ns, t.name, { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } });
        await mgr.events.record(cred, 'Normal', 'RolloutRestarted', 'Restart', `restarted ${t.kind} ${t.name} for certificate ${serial}`);
      } catch (err) {
        if (!isNotFound(err)) throw new Error(`failed to restart ${t.kind} ${ns}/${t.name}: ${(err as Error).message}`, { cause: err });
        await mgr.events.record(cred, 'Warning', 'RolloutTargetNotFound', 'Restart', `${t.kind} ${ns}/${t.name} (spec.rolloutRestartTargets) does not exist`);
      }
    }
  }

  // spec.issuerRef: cert-manager issues, with this controller's helpers (credential-certmanager.ts).
  const certManager = certManagerIssuance({
    client, events: mgr.events, now: clock, recheckMs: conflictRecheckMs, ca: opts.ca, trustBundle: () => bundleOf(opts.ca()), notReady, writeSecret, restartTargets,
  });

  // ---- reconcile ---------------------------------------------------------------------------------

  async function reconcile(key: string, { log }: ReconcileContext): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    const cred = creds.get(namespace, name);
    if (!cred) return;

    if (cred.metadata.deletionTimestamp) {
      if (!cred.metadata.finalizers?.includes(CREDENTIAL_FINALIZER)) return;
      // Withdraw the certificate from status before the object goes, so the server stops accepting
      // it even if it misses the deletion; the Secret then goes with the credential (owner reference).
      const written = await applyStatus(client, KmipClientCredentials, cred, statusWith(cred, {
        type: READY_CONDITION, status: 'False', reason: 'Deleting', message: 'the credential is being deleted; its certificate is no longer accepted',
      }, {}));
      await removeFinalizer(client, KmipClientCredentials, written ?? cred, CREDENTIAL_FINALIZER);
      log.info('credential revoked');
      return;
    }
    await addFinalizer(client, KmipClientCredentials, cred, CREDENTIAL_FINALIZER);

    const scope = scopes.get(namespace, cred.spec.scopeRef.name);
    const role = roles.get(namespace, cred.spec.roleRef.name);
    if (!scope) return notReady(cred, 'ScopeNotFound', `KmipScope ${namespace}/${cred.spec.scopeRef.name} does not exist`);
    if (scope.metadata.deletionTimestamp) return notReady(cred, 'ScopeDeleting', `KmipScope ${namespace}/${scope.metadata.name} is being deleted`);
    if (!role) return notReady(cred, 'RoleNotFound', `KmipRole ${namespace}/${cred.spec.roleRef.name} does not exist`);
    if (role.spec.scopeRef.name !== scope.metadata.name) {
      return notReady(cred, 'RoleNotInScope', `KmipRole ${role.metadata.name} grants operations in KmipScope ${role.spec.scopeRef.name}, not in ${scope.metadata.name}`);
    }

    const secretName = cred.spec.secretName ?? name;
    const existing = await client.get<Secret>(Secrets, namespace, secretName);
    if (existing && !controlledBy(existing, cred)) {
      await notReady(cred, 'SecretConflict',
        `Secret ${namespace}/${secretName} already exists and does not belong to this KmipClientCredential; delete it or set spec.secretName to another name`);
      return { requeueAfter: conflictRecheckMs };
    }
    await deleteStaleSecrets(cred, secretName);
    if (cred.spec.issuerRef) return certManager.reconcile(cred, scope, role, secretName, existing, log);
    await certManager.release(cred, existing); // issuerRef was removed: drop cert-manager's Certificate and key

    const mode = modeOf(cred.spec);
    if (mode === 'certificate') return reconcileUpload(cred, secretName, existing);
    return reconcileIssued(cred, scope, role, mode, secretName, existing, log);
  }

  async function reconcileIssued(
    cred: KmipClientCredential, scope: KmipScope, role: KmipRole, mode: Exclude<Mode, 'certificate'>,
    secretName: string, existing: Secret | undefined, log: ReconcileContext['log'],
  ): Promise<Result | void> {
    const ca = opts.ca();
    const ns = cred.metadata.namespace!;
    const ids = { scopeId: scope.metadata.uid!, roleId: role.metadata.uid! };
    const ttlMs = lifetimeMs(cred, role);
    let keyInput: string;
    let keySpec;
    if (mode === 'generate') {
      try {
        keySpec = generatedKeySpec(cred, role);
      } catch (err) {
        return notReady(cred, 'InvalidKeySpec', (err as Error).message);
      }
      keyInput = describeKeySpec(keySpec);
    } else {
      keyInput = `csr:${sha256Hex(cred.spec.csr ?? '')}`;
    }
    const digest = issuanceDigest({ mode, ...ids, ttlMs, key: keyInput, ca: ca.fingerprintSha256 });
    const annotations = existing?.metadata.annotations ?? {};
    const now = clock();

    let current = currentCertificate(existing?.data, ca, { ...ids, withKey: mode === 'generate' });
    let why: 'Issued' | 'Reissued' | 'Renewed' | 'Rotated' | undefined;
    if (!current) {
      why = existing || cred.status?.serialNumber ? 'Reissued' : 'Issued';
      // Issued by the CA a rotation replaced, from the same inputs otherwise: the only thing wrong
      // with it is its issuer, so it is replaced as a renewal would be, not revoked.
      const replaced = opts.rotation?.previous();
      const old = replaced ? currentCertificate(existing?.data, replaced, { ...ids, withKey: mode === 'generate' }) : undefined;
      if (old && annotations[ISSUANCE_ANNOTATION] === issuanceDigest({ mode, ...ids, ttlMs, key: keyInput, ca: replaced!.fingerprintSha256 })) {
        current = old;
        why = 'Rotated';
      }
    } else if (annotations[ISSUANCE_ANNOTATION] !== digest) why = 'Reissued';
    else if (now >= renewalTime(current.notBefore, current.notAfter)) why = 'Renewed';

    let previous = previousCertificate(annotations, now);
    let restartedFor = annotations[RESTARTED_FOR_ANNOTATION] ?? '';
    if (why) {
      // Validity from the same clock renewal is judged by (backdated for skew, as pki does).
      const validity = { ttlDays: ttlMs / DAY_MS, notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + ttlMs) };
      let issued: { certificatePem: string; privateKeyPem?: string };
      if (mode === 'generate') {
        issued = await issueClientCertificate(ca, { ...ids, keySpec: keySpec!, ...validity });
      } else {
        try {
          issued = await signCsr(ca, cred.spec.csr ?? '', { ...ids, ...validity, allowedKeySpecs: [roleKeySpec(role)] });
        } catch (err) {
          return notReady(cred, 'CSRRejected', `cannot sign spec.csr: ${(err as Error).message}`);
        }
      }
      const hadCertificate = current !== undefined || cred.status?.serialNumber !== undefined;
      // A renewal keeps its predecessor accepted until it expires: pods restart at their own pace.
      // A reissue (the inputs changed) does not: whatever was wrong with the old one stops at once.
      previous = (why === 'Renewed' || why === 'Rotated') && current
        ? { serialNumber: current.serialNumber, notAfter: current.notAfter, fingerprint: current.fingerprint } : undefined;
      const fresh = currentCertificate(
        { 'tls.crt': Buffer.from(issued.certificatePem).toString('base64'), ...(issued.privateKeyPem ? { 'tls.key': Buffer.from(issued.privateKeyPem).toString('base64') } : {}) },
        ca, { ...ids, withKey: mode === 'generate' },
      );
      if (!fresh) throw new Error('the certificate just issued does not check out against the CA');
      current = fresh;
      if (!hadCertificate || !(cred.spec.rolloutRestartTargets?.length)) restartedFor = current.serialNumber;
    }
    const cert: CurrentCertificate = current!;

    const content = secretContent(
      { certificateDer: cert.der, issuedHere: true, ...(cert.privateKeyPem ? { privateKeyPem: cert.privateKeyPem } : {}) },
      ca, cred.spec.formats ?? ['pem'], cred.metadata.name!, existing?.data, bundleOf(ca),
    );
    const secretAnnotations = (restarted: string): Record<string, string> => ({
      [CREDENTIAL_ANNOTATION]: `${ns}/${cred.metadata.name}`,
      [SERIAL_ANNOTATION]: cert.serialNumber,
      [ISSUANCE_ANNOTATION]: digest,
      [SIGNING_CA_ANNOTATION]: ca.fingerprintSha256,
      [RESTARTED_FOR_ANNOTATION]: restarted,
      ...previousAnnotations(previous),
    });
    await writeSecret(cred, secretName, content, secretAnnotations(restartedFor), existing);
    if (why) {
      const done = why === 'Rotated' ? 're-issued from the new CA (CA rotation)' : why.toLowerCase();
      const verb = mode === 'csr' ? `${why === 'Issued' ? 'signed' : done} (from spec.csr)` : done;
      await mgr.events.record(cred, 'Normal', why, 'Issue',
        `${verb} certificate ${cert.serialNumber} for KmipRole ${role.metadata.name} in KmipScope ${scope.metadata.name}, valid until ${rfc3339(cert.notAfter)}; in Secret ${secretName}`);
      log.info({ serialNumber: cert.serialNumber, notAfter: cert.notAfter, why, mode }, 'certificate issued');
    }
    if (restartedFor !== cert.serialNumber) {
      await restartTargets(cred, cert.serialNumber);
      await writeSecret(cred, secretName, content, secretAnnotations(cert.serialNumber), await client.get<Secret>(Secrets, ns, secretName));
    }

    const renewal = renewalTime(cert.notBefore, cert.notAfter);
    await applyStatus(client, KmipClientCredentials, cred, statusWith(cred, {
      type: READY_CONDITION, status: 'True', reason: 'Issued',
      message: `certificate ${cert.serialNumber} is valid until ${rfc3339(cert.notAfter)} and will be renewed after ${rfc3339(renewal)}; Secret ${secretName}`,
    }, {
      secretName,
      serialNumber: cert.serialNumber,
      ...acceptedCertificates(cert, previous),
      fingerprint: cert.fingerprint,
      notBefore: rfc3339(cert.notBefore),
      notAfter: rfc3339(cert.notAfter),
      renewalTime: rfc3339(renewal),
    }));
    const wakeAt = Math.min(renewal.getTime(), previous ? previous.notAfter.getTime() : Infinity);
    return { requeueAfter: Math.min(Math.max(wakeAt - now.getTime(), 1000), MAX_REQUEUE_MS) };
  }

  async function reconcileUpload(cred: KmipClientCredential, secretName: string, existing: Secret | undefined): Promise<Result | void> {
    const ca = opts.ca();
    let uploaded: ReturnType<typeof uploadedCertificate>;
    try {
      uploaded = uploadedCertificate(cred.spec.certificate ?? '');
    } catch (err) {
      return notReady(cred, 'InvalidCertificate', (err as Error).message, {});
    }
    const { cert, fingerprint } = uploaded;
    // A certificate of our own CA is identified by its serial; registering it by fingerprint would
    // let a credential in one namespace claim a client of another.
    const ours = opts.rotation?.trustedIssuers() ?? [ca];
    if (ours.some((i) => cert.checkIssued(new X509Certificate(i.certificatePem)))) {
      return notReady(cred, 'CertificateIssuedHere', 'spec.certificate was issued by the kube-kmip CA; such certificates belong to the credential they were issued for and cannot be uploaded', {});
    }
    const owner = firstClaimant(fingerprint);
    if (owner && owner.metadata.uid !== cred.metadata.uid) {
      return notReady(cred, 'CertificateInUse',
        `this certificate (SHA-256 ${fingerprint}) is already registered by KmipClientCredential ${owner.metadata.namespace}/${owner.metadata.name}; a certificate can identify one client only`, {});
    }
    const content = secretContent({ certificateDer: uploaded.der, issuedHere: false }, ca, cred.spec.formats ?? ['pem'], cred.metadata.name!, existing?.data, bundleOf(ca));
    await writeSecret(cred, secretName, content, { [CREDENTIAL_ANNOTATION]: `${cred.metadata.namespace}/${cred.metadata.name}` }, existing);
    const notBefore = new Date(cert.validFromDate);
    const notAfter = new Date(cert.validToDate);
    const dates = { secretName, notBefore: rfc3339(notBefore), notAfter: rfc3339(notAfter) };
    const now = clock();
    if (notAfter.getTime() <= now.getTime()) {
      await notReady(cred, 'CertificateExpired', `spec.certificate expired at ${rfc3339(notAfter)}; upload a current one`, dates);
      return;
    }
    // status.fingerprint is there only while the certificate is accepted: the server can take it as
    // the operator's verdict on spec.certificate (unique cluster-wide, not one of our CA's).
    const fields: Partial<Status> = { ...dates, fingerprint };
    const wasRegistered = cred.status?.conditions?.some((c) => c.type === READY_CONDITION && c.reason === 'Registered' && c.status === 'True');
    await applyStatus(client, KmipClientCredentials, cred, statusWith(cred, {
      type: READY_CONDITION, status: 'True', reason: 'Registered',
      message: `clients presenting the certificate with SHA-256 fingerprint ${fingerprint} are accepted until ${rfc3339(notAfter)}`,
    }, fields));
    if (!wasRegistered) {
      await mgr.events.record(cred, 'Normal', 'Registered', 'Register', `registered uploaded certificate ${fingerprint}, valid until ${rfc3339(notAfter)}`);
    }
    return { requeueAfter: Math.min(Math.max(notAfter.getTime() - now.getTime(), 1000), MAX_REQUEUE_MS) };
  }

  // ---- uploaded certificates, cluster-wide -------------------------------------------------------

  const fingerprints = new Map<string, string | null>();
  function fingerprintOf(pem: string): string | undefined {
    let fp = fingerprints.get(pem);
    if (fp === undefined) {
      try {
        fp = uploadedCertificate(pem).fingerprint;
      } catch {
        fp = null;
      }
      if (fingerprints.size > 10_000) fingerprints.clear();
      fingerprints.set(pem, fp);
    }
    return fp ?? undefined;
  }

  /** The credential that registered this certificate first (oldest, then by namespace/name). */
  function firstClaimant(fingerprint: string): KmipClientCredential | undefined {
    const claims = creds.list().filter((c) => !c.metadata.deletionTimestamp && c.spec.certificate && fingerprintOf(c.spec.certificate) === fingerprint);
    claims.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || objectKey(a).localeCompare(objectKey(b)));
    return claims[0];
  }

  // ---- wiring --------------------------------------------------------------------------------------

  const sameNamespaceRefs = (ns: string | undefined, match: (c: KmipClientCredential) => boolean) =>
    creds.list(ns).filter(match).map(objectKey);

  const controller = mgr.controller({ name: 'kmipclientcredential', reconcile });
  // A new trust bundle or signing CA concerns every credential's Secret.
  opts.rotation?.onChange(() => {
    for (const c of creds.list()) controller.enqueue(objectKey(c));
  });
  controller
    .for(creds)
    .watches(roles, (r) => sameNamespaceRefs(r.metadata.namespace, (c) => c.spec.roleRef.name === r.metadata.name))
    .watches(scopes, (s) => sameNamespaceRefs(s.metadata.namespace, (c) => c.spec.scopeRef.name === s.metadata.name))
    .watches(secrets, (s) => {
      const owner = s.metadata.annotations?.[CREDENTIAL_ANNOTATION];
      return owner ? [owner] : [];
    })
    // When a registered certificate's credential goes or changes, another claimant may now own it.
    .watches(creds, (c) => (c.spec.certificate ? creds.list().filter((o) => o !== c && o.spec.certificate).map(objectKey) : []));
}
