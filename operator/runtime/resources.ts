/**
 * Where the kinds the operator reads and writes live in the API.
 */
import { API_GROUP, API_VERSION, kmipClientCredential, kmipRole, kmipScope } from '../api/index.ts';
import type { ResourceType } from './client.ts';

const ours = (d: { kind: string; plural: string }): ResourceType => ({
  group: API_GROUP, version: API_VERSION, plural: d.plural, kind: d.kind, namespaced: true,
});

export const KmipScopes = ours(kmipScope);
export const KmipRoles = ours(kmipRole);
export const KmipClientCredentials = ours(kmipClientCredential);

export const Secrets: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const Namespaces: ResourceType = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
export const Leases: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };
export const Events: ResourceType = { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };
export const Deployments: ResourceType = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };
export const StatefulSets: ResourceType = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true };
export const Services: ResourceType = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true };
export const PodDisruptionBudgets: ResourceType = { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true };
