/**
 * A kind's definition (names, spec and status schemas, printer columns) and the
 * apiextensions.k8s.io/v1 CustomResourceDefinition built from it.
 */
import { API_GROUP, API_VERSION, ageColumn, readyColumn, type PrinterColumn } from './common.ts';
import type { JSONSchemaProps, Schema } from './schema.ts';

export interface KindDefinition<K extends string, Spec, Status> {
  kind: K;
  plural: string;
  shortNames: readonly string[];
  description: string;
  spec: Schema<Spec>;
  /** Whether spec may be left out; it then defaults to {} so the defaults inside it still apply. */
  specOptional?: boolean;
  status: Schema<Status>;
  /** Columns between NAME and READY, AGE in `kubectl get` (Ready and Age are added to every kind). */
  printerColumns: readonly PrinterColumn[];
  /** Columns after AGE that only `kubectl get -o wide` shows. */
  wideColumns?: readonly PrinterColumn[];
}

export function defineKind<const K extends string, Spec, Status>(d: KindDefinition<K, Spec, Status>): KindDefinition<K, Spec, Status> {
  return d;
}

/** The metadata fields controllers read; the API server sends more. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
}

/** A custom resource of one of our kinds, as the API server stores it. */
export interface Resource<K extends string, Spec, Status> {
  apiVersion: `${typeof API_GROUP}/${typeof API_VERSION}`;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** Every kind shares the same categories, so `kubectl get kube-kmip` lists them all. */
export const CATEGORIES = ['kube-kmip'];

export function crdName(d: KindDefinition<string, unknown, unknown>): string {
  return `${d.plural}.${API_GROUP}`;
}

/** The CustomResourceDefinition object; key order is fixed so the YAML is deterministic. */
export function customResourceDefinition(d: KindDefinition<string, unknown, unknown>): Record<string, unknown> {
  const spec: JSONSchemaProps = d.specOptional ? { ...d.spec.openAPI, default: {} } : d.spec.openAPI;
  const root: JSONSchemaProps = {
    description: d.description,
    type: 'object',
    properties: {
      apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      metadata: { type: 'object' },
      spec,
      status: d.status.openAPI,
    },
    ...(d.specOptional ? {} : { required: ['spec'] }),
  };
  const columns = [...d.printerColumns, readyColumn, ageColumn, ...(d.wideColumns ?? []).map((c): PrinterColumn => ({ ...c, priority: 1 }))];
  for (const c of columns) checkColumnPath(d, root, c);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(d),
      labels: { 'app.kubernetes.io/name': 'kube-kmip', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: d.kind,
        listKind: `${d.kind}List`,
        plural: d.plural,
        singular: d.kind.toLowerCase(),
        shortNames: [...d.shortNames],
        categories: [...CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [{
        name: API_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: columns.map((c) => ({ ...c })),
        schema: { openAPIV3Schema: root },
      }],
    },
  };
}

/** A printer column that names no field of the schema would print nothing forever: refuse it. */
function checkColumnPath(d: KindDefinition<string, unknown, unknown>, root: JSONSchemaProps, c: PrinterColumn): void {
  const segments = c.jsonPath.replace(/\[[^\]]*\]/g, '[]').split('.').slice(1);
  if (segments[0] === 'metadata') return; // metadata's schema is the API server's, not ours
  let at: JSONSchemaProps | undefined = root;
  for (const seg of segments) {
    at = at?.properties?.[seg.replace(/\[\]$/, '')];
    if (seg.endsWith('[]')) at = at?.items;
    if (!at) throw new Error(`${d.kind}: printer column ${c.name} path ${c.jsonPath} does not name a field of the schema`);
  }
}
