/**
 * KmipScope: a partition of managed objects (Vault's KMIP scope). Roles and credentials name it;
 * KMIP clients of one scope never see the objects of another.
 */
import { conditions, observedGeneration, reasonColumn } from './common.ts';
import { defineKind, type Resource } from './kind.ts';
import { dateTime, integer, object, string, stringEnum, type Infer } from './schema.ts';

export const DELETION_POLICIES = ['Retain', 'Force'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

const spec = object({
  description: string({ description: 'What the scope is for; shown by `kubectl get -o wide`.', maxLength: 1024 }),
  deletionPolicy: stringEnum(DELETION_POLICIES, {
    description:
      'What deleting the scope does to the managed objects it still holds. Retain: the deletion waits, ' +
      'with a condition saying why, until the objects are gone. Force: the KMIP server deletes the objects ' +
      "and the scope's data key, then the scope goes (Vault's `force`).",
    default: 'Retain',
  }),
}, { description: 'KmipScope settings; may be left out.' });

// The KMIP server counts the objects (they live in its store) and writes the objectCount* fields
// under its own field manager; the operator writes conditions and observedGeneration and decides
// deletion from the counts. Server-side apply keeps the two owners apart.
const status = object({
  objectCount: integer({
    description:
      'Managed objects (keys, certificates, secrets) in the scope that still hold their key material, as counted ' +
      'by the KMIP server; destroyed objects are not counted.',
    format: 'int64',
    minimum: 0,
  }),
  objectCountTime: dateTime({ description: 'When the KMIP server counted objectCount. Absent: no server has counted this scope yet.' }),
  objectCountGeneration: integer({
    description:
      'The metadata.generation of the scope the KMIP server had seen when it counted (requesting deletion and ' +
      'editing the spec raise the generation); a deletion goes ahead only on a count made for the current one.',
    format: 'int64',
    minimum: 0,
  }),
  conditions,
  observedGeneration,
}, { description: 'Observed state: object counts from the KMIP server, conditions from the operator.' });

export const kmipScope = defineKind({
  kind: 'KmipScope',
  plural: 'kmipscopes',
  shortNames: ['kscope'],
  description: 'A KMIP scope: a partition of managed objects. KmipRoles grant operations inside it.',
  spec,
  specOptional: true,
  status,
  printerColumns: [
    { name: 'Deletion Policy', type: 'string', jsonPath: '.spec.deletionPolicy', description: 'Retain or Force' },
    { name: 'Objects', type: 'integer', jsonPath: '.status.objectCount', description: 'Managed objects in the scope' },
  ],
  wideColumns: [reasonColumn, { name: 'Description', type: 'string', jsonPath: '.spec.description' }],
});

export type KmipScopeSpec = Infer<typeof spec>;
export type KmipScopeStatus = Infer<typeof status>;
export type KmipScope = Resource<'KmipScope', KmipScopeSpec, KmipScopeStatus>;
