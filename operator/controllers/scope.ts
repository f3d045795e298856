/**
 * KmipScope controller: reports the scope Ready and guards its deletion.
 *
 * The managed objects live in the KMIP server's store, out of the operator's reach. The server
 * counts them and writes status.objectCount, objectCountTime and objectCountGeneration under its
 * own field manager (kmip-server/k8s/scope-status.ts); under deletionPolicy Force it is also the
 * one that deletes them. This controller owns only the conditions and observedGeneration, and
 * decides from the server's count when the finalizer may go:
 *
 * - no server has ever counted the scope (no objectCountTime): no server can have stored anything
 *   in it, so it is released at once;
 * - the count was made for an older generation of the scope: deleting raises metadata.generation,
 *   so the server has not yet seen the deletion (nor, for Force, deleted anything); wait for it;
 * - a current count of 0: released;
 * - objects left and Retain: the deletion waits (Ready=False, DeletionBlocked, a Warning Event);
 * - objects left and Force: the server is deleting them (Ready=False, DestroyingObjects) and
 *   reports 0 once done; it records what it deleted in an Event (ObjectsDeleted) itself.
 */
import { READY_CONDITION, type KmipScope, type KmipScopeStatus } from '../api/index.ts';
import { addFinalizer, applyStatus, removeFinalizer } from '../runtime/apply.ts';
import { setCondition } from '../runtime/conditions.ts';
import { splitKey, type ReconcileContext, type Result } from '../runtime/controller.ts';
import type { Manager } from '../runtime/manager.ts';
import { KmipScopes } from '../runtime/resources.ts';
import { SCOPE_FINALIZER } from './labels.ts';

export interface ScopeControllerOptions {
  /** How often a deletion that waits on the KMIP server looks again (status changes wake it sooner). Default 30 s. */
  deletionRecheckMs?: number;
}

/** The part of the status this controller writes; the objectCount* fields are the server's. */
type OwnStatus = Pick<KmipScopeStatus, 'conditions' | 'observedGeneration'>;

const plural = (n: number, word: string) => `${n} managed ${word}${n === 1 ? '' : 's'}`;

export function registerScopeController(mgr: Manager, opts: ScopeControllerOptions = {}): void {
  const scopes = mgr.informer<KmipScope>(KmipScopes);
  const recheck = opts.deletionRecheckMs ?? 30_000;

  async function reconcile(key: string, { log }: ReconcileContext): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    const scope = scopes.get(namespace, name);
    if (!scope) return;
    const generation = scope.metadata.generation;
    const own: OwnStatus = { conditions: scope.status?.conditions, observedGeneration: scope.status?.observedGeneration };
    // Compared against the operator's own fields only, so the server's count updates are no reason to write.
    const observed = { ...scope, status: own };
    const setReady = (ready: boolean, reason: string, message: string) =>
      applyStatus(mgr.client, KmipScopes, observed, {
        observedGeneration: generation,
        conditions: setCondition(own.conditions, { type: READY_CONDITION, status: ready ? 'True' : 'False', reason, message }, generation),
      });

    if (!scope.metadata.deletionTimestamp) {
      await addFinalizer(mgr.client, KmipScopes, scope, SCOPE_FINALIZER);
      await setReady(true, 'Ready', 'the scope is in effect');
      return;
    }
    if (!scope.metadata.finalizers?.includes(SCOPE_FINALIZER)) return;

    const st = scope.status ?? {};
    const policy = scope.spec?.deletionPolicy ?? 'Retain';
    const counted = st.objectCountTime !== undefined;
    const current = counted && generation !== undefined && (st.objectCountGeneration ?? -1) >= generation;
    const count = st.objectCount ?? 0;

    if (counted && !current) {
      await setReady(false, 'CountingObjects',
        `deletion waits for the KMIP server to count the scope's objects (last count: ${plural(count, 'object')}, ` +
        `at ${st.objectCountTime}); if no server serves this scope any more, remove the finalizer ${SCOPE_FINALIZER} by hand`);
      return { requeueAfter: recheck };
    }
    if (current && count > 0 && policy === 'Retain') {
      const message = `deletion waits: the scope still holds ${plural(count, 'object')} and its deletionPolicy is Retain; ` +
        'destroy them through KMIP, or set spec.deletionPolicy to Force to destroy them with the scope';
      if (await setReady(false, 'DeletionBlocked', message)) {
        await mgr.events.record(scope, 'Warning', 'DeletionBlocked', 'Delete', message);
        log.info({ count }, 'scope deletion blocked by its managed objects');
      }
      return { requeueAfter: recheck };
    }
    if (current && count > 0) {
      const message = `the KMIP server is destroying the scope's ${plural(count, 'object')} (deletionPolicy Force)`;
      if (await setReady(false, 'DestroyingObjects', message)) {
        await mgr.events.record(scope, 'Normal', 'DestroyingObjects', 'Delete', message);
      }
      return { requeueAfter: recheck };
    }
    await removeFinalizer(mgr.client, KmipScopes, scope, SCOPE_FINALIZER);
    log.info({ policy, counted }, 'scope released for deletion');
  }

  mgr.controller({ name: 'kmipscope', reconcile }).for(scopes);
}
