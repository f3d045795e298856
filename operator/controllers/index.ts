/**
 * The operator's controllers, registered on a manager. Import from here.
 */
import type { CertificateAuthority, KeySpec } from '../pki/index.ts';
import type { Manager } from '../runtime/manager.ts';
import { DEFAULT_CA_SECRET, loadOrCreateCa } from './ca.ts';
import { registerCredentialController } from './credential.ts';
import { registerRoleController } from './role.ts';
import { registerScopeController, type ScopeObjects } from './scope.ts';

export { DEFAULT_CA_SECRET, caBundlePem, loadOrCreateCa } from './ca.ts';
export { NO_OBJECT_SOURCE, type ScopeObjects } from './scope.ts';
export * from './labels.ts';

export interface ControllersOptions {
  /** Namespace of the CA Secret (the operator's own). */
  namespace: string;
  /** Name of the CA Secret. Default kube-kmip-ca. */
  caSecretName?: string;
  /** Key spec of a CA created on first start. Default EC P-256. */
  caKeySpec?: KeySpec;
  /** Where scopes' managed objects are counted (default: nowhere; objectCount 0). */
  scopeObjects?: ScopeObjects;
  /** How often a scope deletion held by Retain re-counts. Default 30 s. */
  scopeDeletionRecheckMs?: number;
  /** How soon a credential whose Secret name is taken looks again. Default 30 s. */
  secretConflictRecheckMs?: number;
  /** The clock certificate renewal is judged by (tests move it forward). Default the system clock. */
  now?: () => Date;
}

/** Registers the KmipScope, KmipRole and KmipClientCredential controllers and the CA bootstrap. */
export function registerControllers(mgr: Manager, opts: ControllersOptions): void {
  let ca: CertificateAuthority | undefined;
  // Each time this instance becomes leader: the CA Secret may have been created (or replaced) by
  // another instance meanwhile, so it is read again.
  mgr.onLeading(async () => {
    ca = await loadOrCreateCa(mgr.client, { namespace: opts.namespace, name: opts.caSecretName ?? DEFAULT_CA_SECRET, ...(opts.caKeySpec ? { keySpec: opts.caKeySpec } : {}) }, mgr.log);
  });
  registerScopeController(mgr, {
    ...(opts.scopeObjects ? { objects: opts.scopeObjects } : {}),
    ...(opts.scopeDeletionRecheckMs !== undefined ? { deletionRecheckMs: opts.scopeDeletionRecheckMs } : {}),
  });
  registerRoleController(mgr);
  registerCredentialController(mgr, {
    ca: () => {
      if (!ca) throw new Error('the CA is not loaded (the manager is not leading)');
      return ca;
    },
    ...(opts.secretConflictRecheckMs !== undefined ? { conflictRecheckMs: opts.secretConflictRecheckMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
}
