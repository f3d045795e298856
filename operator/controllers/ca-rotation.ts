/**
 * The CA controller: keeps the CA in memory for the other controllers, and rotates it without
 * breaking live clients.
 *
 * A rotation starts when the CA Secret's `kubekmip.io/rotate` annotation gets a value it has not
 * started a rotation for yet, or by itself when the signing intermediate has a third of its
 * lifetime left. It then goes through three phases, each written to the CA Secret before anything
 * depends on it, so an operator restarted (or another instance taking the lease) carries on where
 * this one stopped:
 *
 *   staged     a new root and intermediate are generated and stored beside the current ones
 *              (next.crt, next.key, next-root.key). Nothing is signed by them yet; the trust bundle
 *              (credential Secrets' ca.crt, the server's client CA bundle) holds both chains, so
 *              every client and the server learn the new root first.
 *   switched   after the overlap (--ca-rotation-overlap): the new CA signs. The old chain is kept
 *              as previous.crt and stays in the bundle. Credentials are re-issued from the new CA
 *              (their issuance digest names the signing CA), keeping the old certificate accepted
 *              as a renewal does, and the server certificate is re-issued (the server controller's
 *              digest names the CA too).
 *   complete   once every certificate the old CA signed has been re-issued (credential Secrets, the
 *              server's TLS Secret) and the overlap has passed again, the old chain leaves the
 *              bundle: its certificates are refused at the TLS handshake from then on.
 *
 * Each phase waits at least the overlap because that is how long a Secret takes to reach a pod
 * (the kubelet syncs mounted Secrets within about a minute) and a client to re-read it.
 * Phase and times are annotations on the CA Secret, Events are recorded on it; no key material in
 * either, nor in logs. A new `kubekmip.io/rotate` value during a rotation starts another one after
 * it completes.
 */
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { pemCertificates, type CertificateAuthority, type KeySpec } from '../pki/index.ts';
import { rfc3339 } from '../runtime/conditions.ts';
import type { ReconcileContext, Result } from '../runtime/controller.ts';
import type { Manager } from '../runtime/manager.ts';
import { Secrets } from '../runtime/resources.ts';
import {
  CA_KEYS, caSecretData, caSecretLabels, caStateFromSecret, createCaPair, loadOrCreateCa, trustBundlePem,
  type CaState, type Secret,
} from './ca.ts';
import { renewalTime } from './credential-issue.ts';
import { CREDENTIAL_UID_LABEL, MANAGED_BY_LABELS } from './labels.ts';

/** Set by a person (any new value) to rotate the CA. */
export const ROTATE_ANNOTATION = 'kubekmip.io/rotate';
/** The rotate value the last rotation was started for. */
export const ROTATION_TOKEN_ANNOTATION = 'kubekmip.io/ca-rotation-token';
/** staged, switched or complete. */
export const ROTATION_PHASE_ANNOTATION = 'kubekmip.io/ca-rotation-phase';
/** Requested (the annotation) or Expiring (a third of the intermediate's lifetime left). */
export const ROTATION_REASON_ANNOTATION = 'kubekmip.io/ca-rotation-reason';
export const ROTATION_STAGED_AT_ANNOTATION = 'kubekmip.io/ca-rotation-staged-at';
export const ROTATION_SWITCHED_AT_ANNOTATION = 'kubekmip.io/ca-rotation-switched-at';
export const ROTATION_COMPLETED_AT_ANNOTATION = 'kubekmip.io/ca-rotation-completed-at';
/** On a credential's Secret: SHA-256 fingerprint of the CA certificate that signed its tls.crt. */
export const SIGNING_CA_ANNOTATION = 'kubekmip.io/ca-fingerprint';

export const DEFAULT_CA_ROTATION_OVERLAP_MS = 24 * 3_600_000;
/** Longest the controller waits before looking at the clock and the CA Secret again. */
const MAX_REQUEUE_MS = 12 * 3_600_000;
/** How often a completion waiting on re-issued certificates looks again (Secret changes also wake it). */
const PENDING_RECHECK_MS = 30_000;

export interface CaControllerOptions {
  namespace: string;
  /** Name of the CA Secret. */
  name: string;
  /** Key spec of a CA created on first start and of a rotation's new CA. Default: the current CA's. */
  keySpec?: KeySpec;
  /** Least time in each of the staged and switched phases. Default 24 h. */
  overlapMs?: number;
  /** Longest wait between two looks at the clock (tests that move `now` set it short). Default 12 h. */
  recheckMs?: number;
  now?: () => Date;
  /**
   * Secrets in the CA's namespace with a certificate from the CA (tls.crt, leaf first) that must be
   * re-issued before the old CA is dropped: the KMIP server's TLS Secret.
   */
  servingSecrets?: readonly string[];
}

/** What the other controllers use. Each getter throws while the CA is not loaded (not leading). */
export interface CaSource {
  /** The CA that signs new certificates. */
  signing(): CertificateAuthority;
  /** PEM of every CA certificate trusted now (ca.crt of credentials, the server's client CA bundle). */
  bundlePem(): string;
  /** The intermediates trusted now, signing first: certificates they signed are ours. */
  trustedIssuers(): readonly { certificatePem: string; fingerprintSha256: string }[];
  /** The CA a rotation replaced, while it is still trusted. */
  previous(): { certificatePem: string; fingerprintSha256: string } | undefined;
  /** Calls `fn` after the signing CA or the bundle changed. */
  onChange(fn: () => void): void;
}

export function registerCaController(mgr: Manager, opts: CaControllerOptions): CaSource {
  const { namespace, name } = opts;
  const key = `${namespace}/${name}`;
  const where = `Secret ${key}`;
  const client = mgr.client;
  const clock = opts.now ?? (() => new Date());
  const overlapMs = opts.overlapMs ?? DEFAULT_CA_ROTATION_OVERLAP_MS;
  const cap = opts.recheckMs ?? MAX_REQUEUE_MS;
  const listeners: (() => void)[] = [];
  let state: CaState | undefined;
  let bundle = '';

  const setState = (s: CaState) => {
    const changed = !state || state.signing.fingerprintSha256 !== s.signing.fingerprintSha256 || trustBundlePem(s) !== bundle;
    state = s;
    bundle = trustBundlePem(s);
    return changed;
  };
  const current = (): CaState => {
    if (!state) throw new Error('the CA is not loaded (the manager is not leading)');
    return state;
  };
  const notify = () => {
    for (const fn of listeners) fn();
  };

  // Each time this instance becomes leader: the CA Secret may have been created, rotated or
  // replaced by another instance meanwhile, so it is read again.
  mgr.onLeading(async () => {
    setState(await loadOrCreateCa(client, { namespace, name, ...(opts.keySpec ? { keySpec: opts.keySpec } : {}) }, mgr.log));
  });

  // The CA Secret and the server's Secrets (one informer with the server controller's), and the
  // credential Secrets (shared with the credential controller): metadata only.
  const ownSecrets = mgr.informer<Secret>(Secrets, {
    namespace, labelSelector: Object.entries(MANAGED_BY_LABELS).map(([k, v]) => `${k}=${v}`).join(','), metadataOnly: true,
  });
  const credentialSecrets = mgr.informer<Secret>(Secrets, { labelSelector: CREDENTIAL_UID_LABEL, metadataOnly: true });

  /** Credential Secrets and serving Secrets whose certificate the signing CA did not sign. */
  async function notReissued(signing: CertificateAuthority): Promise<string[]> {
    const pending: string[] = [];
    for (const s of credentialSecrets.list()) {
      const a = s.metadata.annotations ?? {};
      // Only certificates our CA signed name it (uploaded and cert-manager ones are not ours to
      // re-issue). A Secret written before this annotation existed gets it at the operator's start,
      // when every credential is reconciled, long before a rotation completes.
      const signedBy = a[SIGNING_CA_ANNOTATION];
      if (signedBy && signedBy !== signing.fingerprintSha256) pending.push(`${s.metadata.namespace}/${s.metadata.name}`);
    }
    const issuer = new X509Certificate(signing.certificatePem);
    for (const n of opts.servingSecrets ?? []) {
      const s = await client.get<Secret>(Secrets, namespace, n);
      const crt = s?.data?.['tls.crt'];
      if (!crt) continue;
      const der = pemCertificates(Buffer.from(crt, 'base64').toString('utf8'))[0];
      const leaf = der ? new X509Certificate(der) : undefined;
      if (!leaf || !leaf.checkIssued(issuer) || !leaf.verify(issuer.publicKey)) pending.push(`${namespace}/${n}`);
    }
    return pending.sort();
  }

  /**
   * Writes `next` and `annotations` to the CA Secret (optimistic concurrency on the live object's
   * resourceVersion). The new state is in memory before the write, so a controller woken by the
   * Secret's change already sees it; when the write fails it is read back.
   */
  async function commit(live: Secret, next: CaState, annotations: Record<string, string | undefined>, log: Logger): Promise<void> {
    // A merge patch: null removes a key; the resourceVersion makes it fail if anyone wrote meanwhile.
    const fresh = caSecretData(next);
    const data: Record<string, string | null> = {};
    for (const k of Object.values(CA_KEYS)) {
      if (fresh[k] !== undefined) data[k] = fresh[k];
      else if (live.data?.[k] !== undefined) data[k] = null;
    }
    const notes: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(annotations)) notes[k] = v ?? null;
    const before = state;
    const changed = setState(next);
    try {
      await client.mergePatch(Secrets, namespace, name, { metadata: { resourceVersion: live.metadata.resourceVersion, annotations: notes }, data });
    } catch (err) {
      // Credentials that already took the unwritten bundle are told to take the old one again.
      if (before && setState(before)) notify();
      throw new Error(`failed to update the CA ${where}: ${(err as Error).message}`, { cause: err });
    }
    if (changed) {
      log.info({ signing: next.signing.fingerprintSha256, staged: next.next?.ca.fingerprintSha256, previous: next.previous?.fingerprintSha256 }, 'CA trust changed');
      notify();
    }
  }

  async function reconcile(k: string, { log }: ReconcileContext): Promise<Result | void> {
    if (k !== key) return;
    const live = await client.get<Secret>(Secrets, namespace, name);
    if (!live) {
      // Deleted under a running operator: put back the CA in memory rather than minting a new one
      // nothing trusts.
      const s = current();
      await client.create(Secrets, { metadata: { name, namespace, labels: caSecretLabels() }, type: 'kubernetes.io/tls', data: caSecretData(s) } as Secret);
      log.warn({ secret: key }, 'the CA Secret was deleted; wrote it back from memory');
      return { requeue: true };
    }
    const s = await caStateFromSecret(live, where);
    if (setState(s)) notify();
    const a = live.metadata.annotations ?? {};
    const now = clock();
    const reschedule = (at: number) => ({ requeueAfter: Math.min(Math.max(at - now.getTime(), 1000), cap) });

    if (s.next) {
      const stagedAt = timeOf(a[ROTATION_STAGED_AT_ANNOTATION]);
      if (stagedAt === undefined) {
        await commit(live, s, { [ROTATION_PHASE_ANNOTATION]: 'staged', [ROTATION_STAGED_AT_ANNOTATION]: rfc3339(now) }, log);
        return reschedule(now.getTime() + overlapMs);
      }
      if (now.getTime() < stagedAt + overlapMs) return reschedule(stagedAt + overlapMs);
      const switched: CaState = {
        signing: s.next.ca, rootKeyPem: s.next.rootKeyPem,
        previous: { certificatePem: s.signing.certificatePem, chainPem: s.signing.chainPem, fingerprintSha256: s.signing.fingerprintSha256 },
      };
      await commit(live, switched, { [ROTATION_PHASE_ANNOTATION]: 'switched', [ROTATION_SWITCHED_AT_ANNOTATION]: rfc3339(now) }, log);
      const message = `the CA ${s.next.ca.fingerprintSha256.slice(0, 16)}… signs from now on; certificates of the previous CA ${s.signing.fingerprintSha256.slice(0, 16)}… are being re-issued and stay trusted until that is done`;
      await mgr.events.record(live, 'Normal', 'CARotationSwitched', 'Rotate', message);
      log.info({ signing: s.next.ca.fingerprintSha256, previous: s.signing.fingerprintSha256 }, 'CA rotation: switched to the new CA');
      return reschedule(now.getTime() + overlapMs);
    }

    if (s.previous) {
      const switchedAt = timeOf(a[ROTATION_SWITCHED_AT_ANNOTATION]);
      if (switchedAt === undefined) {
        await commit(live, s, { [ROTATION_PHASE_ANNOTATION]: 'switched', [ROTATION_SWITCHED_AT_ANNOTATION]: rfc3339(now) }, log);
        return reschedule(now.getTime() + overlapMs);
      }
      if (now.getTime() < switchedAt + overlapMs) return reschedule(switchedAt + overlapMs);
      const pending = await notReissued(s.signing);
      if (pending.length > 0) {
        const shown = pending.slice(0, 5).join(', ') + (pending.length > 5 ? ` and ${pending.length - 5} more` : '');
        await mgr.events.record(live, 'Normal', 'CARotationWaiting', 'Rotate',
          `the previous CA stays trusted until ${pending.length} certificate(s) it signed are re-issued: ${shown}`);
        log.info({ pending: pending.length, first: pending.slice(0, 5) }, 'CA rotation: waiting for certificates of the previous CA to be re-issued');
        return { requeueAfter: Math.min(PENDING_RECHECK_MS, cap) };
      }
      const done: CaState = { signing: s.signing, ...(s.rootKeyPem ? { rootKeyPem: s.rootKeyPem } : {}) };
      await commit(live, done, { [ROTATION_PHASE_ANNOTATION]: 'complete', [ROTATION_COMPLETED_AT_ANNOTATION]: rfc3339(now) }, log);
      await mgr.events.record(live, 'Normal', 'CARotationCompleted', 'Rotate',
        `the previous CA ${s.previous.fingerprintSha256.slice(0, 16)}… is no longer trusted; certificates it signed are refused`);
      log.info({ retired: s.previous.fingerprintSha256 }, 'CA rotation complete: the previous CA is no longer trusted');
      return reschedule(renewalTime(s.signing.notBefore, s.signing.notAfter).getTime());
    }

    // Not rotating: a Secret written before bundle.crt existed gets it.
    const bundleB64 = Buffer.from(trustBundlePem(s)).toString('base64');
    if (live.data?.[CA_KEYS.bundle] !== bundleB64) await commit(live, s, {}, log);
    const token = a[ROTATE_ANNOTATION];
    const expiring = renewalTime(s.signing.notBefore, s.signing.notAfter);
    let reason: 'Requested' | 'Expiring' | undefined;
    if (token && token !== a[ROTATION_TOKEN_ANNOTATION]) reason = 'Requested';
    else if (now >= expiring) reason = 'Expiring';
    if (!reason) return reschedule(expiring.getTime());

    const pair = await createCaPair(opts.keySpec ?? s.signing.keySpec);
    const staged: CaState = { ...s, next: pair };
    const fresh = await client.get<Secret>(Secrets, namespace, name);
    if (!fresh) return { requeue: true };
    await commit(fresh, staged, {
      [ROTATION_PHASE_ANNOTATION]: 'staged', [ROTATION_REASON_ANNOTATION]: reason, [ROTATION_STAGED_AT_ANNOTATION]: rfc3339(now),
      [ROTATION_TOKEN_ANNOTATION]: token ?? a[ROTATION_TOKEN_ANNOTATION],
      [ROTATION_SWITCHED_AT_ANNOTATION]: undefined, [ROTATION_COMPLETED_AT_ANNOTATION]: undefined,
    }, log);
    const why = reason === 'Requested' ? `${ROTATE_ANNOTATION} was set to "${token}"` : `the signing CA expires at ${rfc3339(s.signing.notAfter)}`;
    await mgr.events.record(fresh, 'Normal', 'CARotationStaged', 'Rotate',
      `staged a new CA ${pair.ca.fingerprintSha256.slice(0, 16)}… because ${why}; it is trusted alongside the current one and signs from ${rfc3339(new Date(now.getTime() + overlapMs))}`);
    log.info({ staged: pair.ca.fingerprintSha256, reason, overlapMs }, 'CA rotation: staged a new CA');
    return reschedule(now.getTime() + overlapMs);
  }

  const c = mgr.controller({ name: 'kube-kmip-ca', reconcile, alwaysKeys: [key], workers: 1 });
  c.watches(ownSecrets, (s) => (s.metadata.name === name ? [key] : []));
  // While the previous CA waits on re-issued certificates, each re-issue is a reason to look.
  c.watches(credentialSecrets, () => (state?.previous ? [key] : []));

  return {
    signing: () => current().signing,
    bundlePem: () => {
      current();
      return bundle;
    },
    trustedIssuers: () => {
      const s = current();
      return [s.signing, ...(s.next ? [s.next.ca] : []), ...(s.previous ? [s.previous] : [])]
        .map((x) => ({ certificatePem: x.certificatePem, fingerprintSha256: x.fingerprintSha256 }));
    },
    previous: () => current().previous,
    onChange: (fn) => listeners.push(fn),
  };
}

function timeOf(v: string | undefined): number | undefined {
  const t = v ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}
