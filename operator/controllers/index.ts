/**
 * The operator's controllers, registered on a manager. Import from here.
 */
import type { KeySpec } from '../pki/index.ts';
import type { Manager } from '../runtime/manager.ts';
import { DEFAULT_CA_SECRET } from './ca.ts';
import { registerCaController } from './ca-rotation.ts';
import { registerCredentialController } from './credential.ts';
import { registerRoleController } from './role.ts';
import { registerScopeController } from './scope.ts';
import { registerServerController } from './server.ts';
import type { ServerConfig } from '../server/config.ts';
import { names as serverNames } from '../server/manifests.ts';

export { DEFAULT_CA_SECRET, caBundlePem, loadOrCreateCa } from './ca.ts';
export { DEFAULT_CA_ROTATION_OVERLAP_MS, ROTATE_ANNOTATION, type CaSource } from './ca-rotation.ts';
export * from './labels.ts';

export interface ControllersOptions {
  /** Namespace of the CA Secret (the operator's own). */
  namespace: string;
  /** Name of the CA Secret. Default kube-kmip-ca. */
  caSecretName?: string;
  /** Key spec of a CA created on first start (and of a rotation's new CA). Default EC P-256. */
  caKeySpec?: KeySpec;
  /** Least time a CA rotation spends trusting both CAs before switching, and again before dropping the old one. Default 24 h. */
  caRotationOverlapMs?: number;
  /** Longest the CA controller waits before looking at the clock again (tests that move `now`). Default 12 h. */
  caRotationRecheckMs?: number;
  /** How often a scope deletion that waits on the KMIP server's count looks again. Default 30 s. */
  scopeDeletionRecheckMs?: number;
  /** How soon a credential whose Secret name is taken looks again. Default 30 s. */
  secretConflictRecheckMs?: number;
  /** The clock certificate renewal is judged by (tests move it forward). Default the system clock. */
  now?: () => Date;
  /** The KMIP server to run in the operator's namespace (--server-config); none when undefined. */
  server?: ServerConfig;
}

/** Registers the CA controller (bootstrap and rotation) and the KmipScope, KmipRole, KmipClientCredential and server controllers. */
export function registerControllers(mgr: Manager, opts: ControllersOptions): void {
  // First: it loads the CA each time this instance becomes leader, before the other controllers run.
  const ca = registerCaController(mgr, {
    namespace: opts.namespace,
    name: opts.caSecretName ?? DEFAULT_CA_SECRET,
    ...(opts.caKeySpec ? { keySpec: opts.caKeySpec } : {}),
    ...(opts.caRotationOverlapMs !== undefined ? { overlapMs: opts.caRotationOverlapMs } : {}),
    ...(opts.caRotationRecheckMs !== undefined ? { recheckMs: opts.caRotationRecheckMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.server ? { servingSecrets: [serverNames(opts.server).tlsSecret] } : {}),
  });
  registerScopeController(mgr, {
    ...(opts.scopeDeletionRecheckMs !== undefined ? { deletionRecheckMs: opts.scopeDeletionRecheckMs } : {}),
  });
  registerRoleController(mgr);
  if (opts.server) {
    registerServerController(mgr, {
      namespace: opts.namespace,
      config: opts.server,
      ca: ca.signing,
      // The kube-kmip CAs (both, during a rotation), then other issuers the configuration trusts.
      clientCaBundle: () => (opts.server!.trustedIssuersPem ? `${ca.bundlePem().trimEnd()}\n${opts.server!.trustedIssuersPem}` : ca.bundlePem()),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }
  registerCredentialController(mgr, {
    ca: ca.signing,
    rotation: ca,
    ...(opts.secretConflictRecheckMs !== undefined ? { conflictRecheckMs: opts.secretConflictRecheckMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
}
