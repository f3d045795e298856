import { X509Certificate } from 'node:crypto';
import { canonicalFingerprint, canonicalSerialNumber, fingerprintSha256 } from '../../operator/pki/canonical.ts';
import { expandOperations } from '../operations/permissions.ts';
import { parseHeaderCredentials } from './header-credentials.ts';
import { buildSnapshot, type CredentialNotifications, type CredentialPolicy, type PolicySnapshot, type RolePolicy, type ScopePolicy } from './model.ts';

/** The fields of the custom resources the server reads; the full schemas live in operator/api. */
export interface KubeResource {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export const API_GROUP = 'kubekmip.io';

export interface PolicyProblem {
  resource: string;
  message: string;
}

const key = (ns: string, name: string) => `${ns}/${name}`;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const refName = (v: unknown): string | undefined => (v && typeof v === 'object' ? str((v as { name?: unknown }).name) : undefined);

/**
 * Turns KmipScope/KmipRole/KmipClientCredential resources into a policy snapshot. Resources that
 * do not resolve (a role whose scope is missing, a credential whose role is in another scope)
 * grant nothing and are reported as problems instead.
 */
export function policyFromResources(resources: readonly KubeResource[]): { snapshot: PolicySnapshot; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const scopes = new Map<string, ScopePolicy>();
  const roles = new Map<string, RolePolicy>();
  const credentials: CredentialPolicy[] = [];
  // Resources being deleted grant nothing, except a scope whose deletion waits on its objects
  // (deletionPolicy Retain): its clients must still be able to reach and destroy them. Under Force
  // it stops at once; the server is deleting its objects (k8s/scope-status.ts).
  const live = (r: KubeResource) => !r.metadata?.deletionTimestamp || (r.kind === 'KmipScope' && r.spec?.deletionPolicy !== 'Force');
  const ofKind = (k: string) => resources.filter((r) => r.kind === k && live(r));
  const id = (r: KubeResource) => str(r.metadata?.uid) ?? `${r.kind}:${r.metadata?.namespace ?? 'default'}/${r.metadata?.name}`;

  for (const r of ofKind('KmipScope')) {
    const ns = r.metadata?.namespace ?? 'default';
    const name = str(r.metadata?.name);
    if (!name) { problems.push({ resource: 'KmipScope', message: 'metadata.name is missing' }); continue; }
    scopes.set(key(ns, name), { id: id(r), namespace: ns, name });
  }
  for (const r of ofKind('KmipRole')) {
    const ns = r.metadata?.namespace ?? 'default';
    const name = str(r.metadata?.name);
    const label = `KmipRole ${ns}/${name}`;
    if (!name) { problems.push({ resource: 'KmipRole', message: 'metadata.name is missing' }); continue; }
    const scope = scopes.get(key(ns, refName(r.spec?.scopeRef) ?? ''));
    if (!scope) { problems.push({ resource: label, message: 'spec.scopeRef does not name a KmipScope in this namespace' }); continue; }
    const ops = Array.isArray(r.spec?.operations) ? (r.spec.operations as unknown[]).filter((o): o is string => typeof o === 'string') : [];
    const { granted, unknown } = expandOperations(ops);
    if (unknown.length > 0) problems.push({ resource: label, message: `unknown operations: ${unknown.join(', ')}` });
    roles.set(key(ns, name), { id: id(r), namespace: ns, name, scopeId: scope.id, operations: granted });
  }
  for (const r of ofKind('KmipClientCredential')) {
    const ns = r.metadata?.namespace ?? 'default';
    const name = str(r.metadata?.name) ?? '';
    const label = `KmipClientCredential ${ns}/${name}`;
    const scope = scopes.get(key(ns, refName(r.spec?.scopeRef) ?? ''));
    const role = roles.get(key(ns, refName(r.spec?.roleRef) ?? ''));
    if (!scope || !role) { problems.push({ resource: label, message: 'scopeRef or roleRef does not resolve' }); continue; }
    if (role.scopeId !== scope.id) { problems.push({ resource: label, message: 'roleRef names a role of another scope' }); continue; }
    const serials: string[] = [];
    let issuedFingerprints: string[] | undefined;
    const fingerprints: string[] = [];
    const uploaded: string[] = [];
    try {
      const status = r.status ?? {};
      for (const s of [status.serialNumber, ...(Array.isArray(status.serialNumbers) ? status.serialNumbers : [])]) {
        if (str(s)) serials.push(canonicalSerialNumber(s as string));
      }
      // The serials' certificates by fingerprint: any CA in the client-CA bundle could sign a
      // certificate under a listed serial, only the operator's own lists its fingerprint here.
      if (Array.isArray(status.certificateFingerprints)) {
        issuedFingerprints = (status.certificateFingerprints as unknown[]).filter((f) => str(f)).map((f) => canonicalFingerprint(f as string));
      } else if (serials.length > 0) {
        problems.push({
          resource: label,
          message: 'status lists serial numbers but no certificateFingerprints (written by an older operator): its certificates are accepted by serial alone until the operator records their fingerprints',
        });
      }
      const pem = str(r.spec?.certificate);
      if (pem) {
        // An uploaded certificate counts only once it is accepted: the operator records its
        // fingerprint in status after checking it is no certificate of ours and no other
        // credential's (certificates are public; anyone could paste one). In manifest files the
        // author states it the same way.
        const cert = new X509Certificate(pem);
        const fp = fingerprintSha256(cert.raw);
        const accepted = str(status.fingerprint);
        if (accepted && canonicalFingerprint(accepted) === fp) {
          fingerprints.push(fp);
          uploaded.push(cert.toString());
        } else {
          problems.push({ resource: label, message: 'spec.certificate is not accepted (status.fingerprint does not name it)' });
        }
      }
    } catch (err) {
      problems.push({ resource: label, message: `unreadable certificate data: ${(err as Error).message}` });
      continue;
    }
    const header = parseHeaderCredentials(r.spec?.headerCredentials);
    for (const message of header.problems) problems.push({ resource: label, message });
    const notifications = notificationsOf(r, label, problems);
    credentials.push({
      id: id(r), namespace: ns, name, scopeId: scope.id, roleId: role.id, serialNumbers: serials,
      ...(issuedFingerprints ? { issuedFingerprints } : {}), fingerprints, uploadedCertificatesPem: uploaded,
      headerCredentials: header.credentials,
      ...(notifications ? { notifications } : {}),
    });
  }
  // One certificate belongs to one credential: a fingerprint claimed twice grants nothing to either.
  const claims = new Map<string, number>();
  for (const c of credentials) for (const f of c.fingerprints) claims.set(f, (claims.get(f) ?? 0) + 1);
  for (const c of credentials) {
    const shared = c.fingerprints.filter((f) => claims.get(f)! > 1);
    if (shared.length === 0) continue;
    problems.push({ resource: `KmipClientCredential ${c.namespace}/${c.name}`, message: 'its uploaded certificate is claimed by another credential too' });
    c.fingerprints = c.fingerprints.filter((f) => claims.get(f) === 1);
    c.uploadedCertificatesPem = c.uploadedCertificatesPem.filter((p) => claims.get(fingerprintSha256(new X509Certificate(p).raw)) === 1);
  }
  return { snapshot: buildSnapshot([...scopes.values()], [...roles.values()], credentials), problems };
}

/** spec.notifications of a KmipClientCredential; a malformed endpoint subscribes nothing and is reported. */
function notificationsOf(r: KubeResource, label: string, problems: PolicyProblem[]): CredentialNotifications | undefined {
  const n = r.spec?.notifications;
  if (n === undefined || n === null) return undefined;
  const endpoint = typeof n === 'object' ? str((n as { endpoint?: unknown }).endpoint) : undefined;
  if (!endpoint || !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(endpoint)) {
    problems.push({ resource: label, message: 'spec.notifications.endpoint must be host:port' });
    return undefined;
  }
  return { endpoint };
}
