/**
 * The KMIP server, driven by the operator (`kmip-operator --server-config PATH`): in the
 * operator's namespace it keeps
 *   - Secret <name>-kek: the key-encryption key of the store, created once and never rewritten
 *     (losing it loses every key the server holds, so the operator never deletes or replaces it);
 *   - Secret <name>-tls: the server certificate (SANs: the Services' DNS names and the configured
 *     hostnames/IPs), its key, and ca.crt, the CA bundle client certificates are checked against;
 *     re-issued when a third of its lifetime is left, when the names or key type change, or when
 *     the CA that signs it changes. The server re-reads these files, so no restart is needed;
 *   - the client Service <name>, the headless Service <name>-headless, the PodDisruptionBudget
 *     and the StatefulSet <name> (a PVC per pod for SQLite; N replicas for the ConfigMap store).
 * Everything is written by server-side apply with the operator's field manager, so a change to
 * the configuration is one more apply; what a person changes by hand in a field the operator owns
 * is put back.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { isAlreadyExists, type KubeObject } from '../runtime/client.ts';
import type { ReconcileContext, Result } from '../runtime/controller.ts';
import type { Manager } from '../runtime/manager.ts';
import { PodDisruptionBudgets, Secrets, Services, StatefulSets } from '../runtime/resources.ts';
import { issueServerCertificate, type CertificateAuthority } from '../pki/index.ts';
import type { ServerConfig } from '../server/config.ts';
import {
  KEK_KEY, clientService, headlessService, names, objectLabels, podDisruptionBudget, serverDnsNames, statefulSet,
} from '../server/manifests.ts';
import { MANAGED_BY_LABELS } from './labels.ts';

/** On the TLS Secret: digest of everything the certificate was issued from. */
export const SERVER_ISSUANCE_ANNOTATION = 'kubekmip.io/issuance';
export const SERVER_RENEW_AT_ANNOTATION = 'kubekmip.io/renew-at';

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export interface ServerControllerOptions {
  namespace: string;
  config: ServerConfig;
  /** The CA that signs the server certificate (throws when not loaded). */
  ca: () => CertificateAuthority;
  /** PEM of every CA certificate client certificates may chain to (during a CA rotation, old and new). */
  clientCaBundle: () => string;
  now?: () => Date;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

export function registerServerController(mgr: Manager, opts: ServerControllerOptions): void {
  const { namespace, config: cfg } = opts;
  const now = opts.now ?? (() => new Date());
  const n = names(cfg);
  const key = `${namespace}/${cfg.name}`;
  const selector = Object.entries(objectLabels(cfg)).map(([k, v]) => `${k}=${v}`).join(',');
  const watched = [
    mgr.informer<KubeObject>(StatefulSets, { namespace, labelSelector: selector, metadataOnly: true }),
    mgr.informer<KubeObject>(Services, { namespace, labelSelector: selector, metadataOnly: true }),
    mgr.informer<KubeObject>(PodDisruptionBudgets, { namespace, labelSelector: selector, metadataOnly: true }),
    // The CA Secret and the server's own Secrets: all carry the managed-by label.
    mgr.informer<KubeObject>(Secrets, { namespace, labelSelector: Object.entries(MANAGED_BY_LABELS).map(([k, v]) => `${k}=${v}`).join(','), metadataOnly: true }),
  ];

  async function ensureKek(log: ReconcileContext['log']): Promise<void> {
    if (await mgr.client.get<Secret>(Secrets, namespace, n.kekSecret)) return;
    try {
      await mgr.client.create(Secrets, {
        metadata: {
          name: n.kekSecret, namespace,
          labels: { ...objectLabels(cfg), 'app.kubernetes.io/component': 'kek' },
          annotations: { 'kubekmip.io/warning': 'the key-encryption key of the KMIP store: without it no stored key can be read; back it up with the store, never delete it' },
        },
        type: 'Opaque',
        data: { [KEK_KEY]: b64(randomBytes(32)) },
      } as Secret);
      log.info({ secret: `${namespace}/${n.kekSecret}` }, 'created the key-encryption key');
    } catch (err) {
      // Two operators racing: the first one's key stands.
      if (!isAlreadyExists(err)) throw new Error(`failed to create Secret ${namespace}/${n.kekSecret}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Ensures the TLS Secret; returns when its certificate must be renewed. */
  async function ensureTls(log: ReconcileContext['log']): Promise<Date> {
    const ca = opts.ca();
    const dnsNames = serverDnsNames(cfg, namespace);
    const ipAddresses = cfg.certificate.ipAddresses;
    const issuance = createHash('sha256').update(JSON.stringify({
      dnsNames, ipAddresses, keyType: cfg.certificate.keyTypeName, durationMs: cfg.certificate.durationMs, ca: ca.fingerprintSha256,
      // Certificates issued before the server also acted as a TLS client (Notify/Put) lack clientAuth: re-issue them.
      usages: 'serverAuth+clientAuth',
    })).digest('hex').slice(0, 32);
    const bundle = opts.clientCaBundle();
    const existing = await mgr.client.get<Secret>(Secrets, namespace, n.tlsSecret);
    let certPem = unb64(existing?.data?.['tls.crt']);
    let keyPem = unb64(existing?.data?.['tls.key']);
    let renewAt: Date | undefined;
    if (certPem && keyPem && existing?.metadata.annotations?.[SERVER_ISSUANCE_ANNOTATION] === issuance) {
      try {
        const cert = new X509Certificate(certPem);
        const notAfter = new Date(cert.validTo);
        const notBefore = new Date(cert.validFrom);
        renewAt = new Date(notAfter.getTime() - (notAfter.getTime() - notBefore.getTime()) / 3);
      } catch {
        renewAt = undefined;
      }
    }
    let reason: string | undefined;
    if (!certPem || !keyPem) reason = 'no certificate yet';
    else if (!renewAt) reason = 'the names, key type, lifetime or CA changed';
    else if (renewAt <= now()) reason = 'a third of its lifetime is left';
    if (reason) {
      const issued = await issueServerCertificate(ca, {
        dnsNames, ipAddresses, keySpec: cfg.certificate.keyType, ttlDays: cfg.certificate.durationMs / 86_400_000,
      });
      // The leaf, then the CAs between it and the root: clients holding only the root verify it.
      certPem = issued.certificatePem + intermediates(ca.chainPem);
      keyPem = issued.privateKeyPem;
      renewAt = new Date(issued.notAfter.getTime() - (issued.notAfter.getTime() - issued.notBefore.getTime()) / 3);
      log.info({ secret: `${namespace}/${n.tlsSecret}`, serialNumber: issued.serialNumber, notAfter: issued.notAfter, reason }, 'issued the server certificate');
    }
    const desired: Secret = {
      metadata: {
        name: n.tlsSecret, namespace,
        labels: { ...objectLabels(cfg), 'app.kubernetes.io/component': 'server-tls' },
        annotations: { [SERVER_ISSUANCE_ANNOTATION]: issuance, [SERVER_RENEW_AT_ANNOTATION]: renewAt!.toISOString() },
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(certPem!), 'tls.key': b64(keyPem!), 'ca.crt': b64(bundle) },
    };
    const same = existing && !reason && existing.data?.['ca.crt'] === desired.data!['ca.crt']
      && existing.metadata.annotations?.[SERVER_RENEW_AT_ANNOTATION] === desired.metadata.annotations![SERVER_RENEW_AT_ANNOTATION];
    if (!same) await mgr.client.apply(Secrets, desired);
    return renewAt!;
  }

  async function reconcile(k: string, { log }: ReconcileContext): Promise<Result | void> {
    if (k !== key) return;
    await ensureKek(log);
    const renewAt = await ensureTls(log);
    await mgr.client.apply(Services, headlessService(cfg, namespace));
    await mgr.client.apply(Services, clientService(cfg, namespace));
    if (cfg.podDisruptionBudget.enabled) {
      await mgr.client.apply(PodDisruptionBudgets, podDisruptionBudget(cfg, namespace));
    } else {
      const pdb = await mgr.client.get<KubeObject>(PodDisruptionBudgets, namespace, n.pdb);
      if (pdb?.metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY_LABELS['app.kubernetes.io/managed-by']) {
        await mgr.client.delete(PodDisruptionBudgets, namespace, n.pdb, { preconditions: { uid: pdb.metadata.uid! } });
      }
    }
    try {
      await mgr.client.apply(StatefulSets, statefulSet(cfg, namespace));
    } catch (err) {
      const message = (err as Error).message;
      if (!/Forbidden: updates to statefulset spec for fields other than/.test(message)) throw err;
      // volumeClaimTemplates, serviceName, selector and podManagementPolicy are immutable: say so
      // where a person looks (the StatefulSet's Events), not only in the operator's log.
      const note = `the server configuration changes fields a StatefulSet cannot change in place (storage, pod management); ` +
        `delete it with "kubectl delete statefulset ${n.statefulSet} --cascade=orphan" and the operator recreates it, keeping the pods and their volumes`;
      const current = await mgr.client.get<KubeObject>(StatefulSets, namespace, n.statefulSet);
      if (current) await mgr.events.record({ ...current, apiVersion: 'apps/v1', kind: 'StatefulSet' }, 'Warning', 'ConfigurationNotApplied', 'Apply', note);
      throw new Error(`StatefulSet ${namespace}/${n.statefulSet}: ${note}: ${message}`, { cause: err });
    }
    // Renew on time even when nothing else happens; a day at most, so a clock jump is noticed.
    return { requeueAfter: Math.max(1000, Math.min(renewAt.getTime() - now().getTime(), 86_400_000)) };
  }

  const c = mgr.controller({ name: 'kmip-server', reconcile, alwaysKeys: [key] });
  for (const inf of watched) c.watches(inf, () => [key]);
}

function intermediates(chainPem: string): string {
  const certs = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  return certs.slice(0, -1).map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
}
