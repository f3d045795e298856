/**
 * KmipScope controller: reports the scope Ready and its object count, and guards its deletion.
 *
 * The managed objects live in the KMIP server's store, not in Kubernetes, so how many a scope
 * holds (and destroying them under deletionPolicy Force) comes from a pluggable ScopeObjects. Until
 * the server offers one, NO_OBJECT_SOURCE reports nothing and status.objectCount says 0: a scope
 * then deletes as if empty, whatever its policy.
 */
import { READY_CONDITION, type KmipScope, type KmipScopeStatus } from '../api/index.ts';
import { addFinalizer, applyStatus, removeFinalizer } from '../runtime/apply.ts';
import { setCondition } from '../runtime/conditions.ts';
import { splitKey, type ReconcileContext, type Result } from '../runtime/controller.ts';
import type { Manager } from '../runtime/manager.ts';
import { KmipScopes } from '../runtime/resources.ts';
import { SCOPE_FINALIZER } from './labels.ts';

/** Where a scope's managed objects are counted and, under deletionPolicy Force, destroyed. */
export interface ScopeObjects {
  /** How many managed objects the scope holds; undefined when there is no way to know. */
  count(scope: KmipScope): Promise<number | undefined>;
  /** Destroys every managed object of the scope (deletionPolicy Force). */
  destroyAll?(scope: KmipScope): Promise<void>;
}

export const NO_OBJECT_SOURCE: ScopeObjects = { count: async () => undefined };

export interface ScopeControllerOptions {
  objects?: ScopeObjects;
  /** How often a deletion held by Retain re-counts. Default 30 s. */
  deletionRecheckMs?: number;
}

export function registerScopeController(mgr: Manager, opts: ScopeControllerOptions = {}): void {
  const scopes = mgr.informer<KmipScope>(KmipScopes);
  const objects = opts.objects ?? NO_OBJECT_SOURCE;
  const recheck = opts.deletionRecheckMs ?? 30_000;

  async function reconcile(key: string, { log }: ReconcileContext): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    const scope = scopes.get(namespace, name);
    if (!scope) return;
    const generation = scope.metadata.generation;
    const status = (ready: boolean, reason: string, message: string, count: number): KmipScopeStatus => ({
      objectCount: count,
      observedGeneration: generation,
      conditions: setCondition(scope.status?.conditions, { type: READY_CONDITION, status: ready ? 'True' : 'False', reason, message }, generation),
    });

    if (scope.metadata.deletionTimestamp) {
      if (!scope.metadata.finalizers?.includes(SCOPE_FINALIZER)) return;
      const count = await countOf(scope);
      const policy = scope.spec?.deletionPolicy ?? 'Retain';
      if (policy === 'Retain' && count > 0) {
        const message = `deletion waits: the scope still holds ${count} managed object${count === 1 ? '' : 's'} and its deletionPolicy is Retain; ` +
          'destroy them through KMIP, or set spec.deletionPolicy to Force to destroy them with the scope';
        if (await applyStatus(mgr.client, KmipScopes, scope, status(false, 'DeletionBlocked', message, count))) {
          await mgr.events.record(scope, 'Warning', 'DeletionBlocked', 'Delete', message);
          log.info({ count }, 'scope deletion blocked by its managed objects');
        }
        return { requeueAfter: recheck };
      }
      if (count > 0 && objects.destroyAll) {
        await objects.destroyAll(scope);
        await mgr.events.record(scope, 'Normal', 'ObjectsDestroyed', 'Delete', `destroyed ${count} managed objects (deletionPolicy Force)`);
      }
      await removeFinalizer(mgr.client, KmipScopes, scope, SCOPE_FINALIZER);
      log.info({ count, policy }, 'scope released for deletion');
      return;
    }

    await addFinalizer(mgr.client, KmipScopes, scope, SCOPE_FINALIZER);
    const count = await countOf(scope);
    await applyStatus(mgr.client, KmipScopes, scope, status(true, 'Ready', 'the scope is in effect', count));
  }

  async function countOf(scope: KmipScope): Promise<number> {
    try {
      return (await objects.count(scope)) ?? 0;
    } catch (err) {
      throw new Error(`failed to count the managed objects of KmipScope ${scope.metadata.namespace}/${scope.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  mgr.controller({ name: 'kmipscope', reconcile }).for(scopes);
}
