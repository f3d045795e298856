/**
 * KmipRole controller: a role is Ready when its scope exists (and is not being deleted). The
 * operations themselves were checked by the CRD schema; the KMIP server reads them directly.
 */
import { READY_CONDITION, type KmipRole, type KmipScope } from '../api/index.ts';
import { expandOperations } from '../../kmip-server/operations/permissions.ts';
import { applyStatus } from '../runtime/apply.ts';
import { setCondition } from '../runtime/conditions.ts';
import { splitKey } from '../runtime/controller.ts';
import { objectKey } from '../runtime/informer.ts';
import type { Manager } from '../runtime/manager.ts';
import { KmipRoles, KmipScopes } from '../runtime/resources.ts';

export function registerRoleController(mgr: Manager): void {
  const roles = mgr.informer<KmipRole>(KmipRoles);
  const scopes = mgr.informer<KmipScope>(KmipScopes);

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const role = roles.get(namespace, name);
    if (!role || role.metadata.deletionTimestamp) return;
    const scopeName = role.spec.scopeRef.name;
    const scope = scopes.get(namespace, scopeName);
    let ready: { status: 'True' | 'False'; reason: string; message: string };
    if (!scope) {
      ready = { status: 'False', reason: 'ScopeNotFound', message: `KmipScope ${namespace}/${scopeName} does not exist` };
    } else if (scope.metadata.deletionTimestamp) {
      ready = { status: 'False', reason: 'ScopeDeleting', message: `KmipScope ${namespace}/${scopeName} is being deleted` };
    } else {
      const granted = expandOperations(role.spec.operations).granted.size;
      ready = { status: 'True', reason: 'Ready', message: `grants ${granted} operation${granted === 1 ? '' : 's'} in KmipScope ${scopeName}` };
    }
    const generation = role.metadata.generation;
    await applyStatus(mgr.client, KmipRoles, role, {
      observedGeneration: generation,
      conditions: setCondition(role.status?.conditions, { type: READY_CONDITION, ...ready }, generation),
    });
  }

  mgr.controller({ name: 'kmiprole', reconcile })
    .for(roles)
    .watches(scopes, (scope) => roles.list(scope.metadata.namespace)
      .filter((r) => r.spec.scopeRef.name === scope.metadata.name)
      .map(objectKey));
}
