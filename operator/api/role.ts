/**
 * KmipRole: the KMIP operations a client may perform in a scope, with Vault's operation names,
 * and the defaults for the client certificates issued under it.
 *
 * The operation enum is generated from the server's own list (ALL_PERMISSIONS), so the CRD never
 * accepts a name the server would not grant, nor refuses one it would.
 */
import { ALL_PERMISSIONS, OPERATION_ALL, OPERATION_NONE } from '../../kmip-server/operations/permissions.ts';
import { DEFAULT_CLIENT_TTL_DAYS } from '../pki/index.ts';
import {
  DEFAULT_KEY_BITS, conditions, duration, immutable, keyBits, keyBitsMatchType, keyType, localRef, observedGeneration, reasonColumn,
} from './common.ts';
import { defineKind, type Resource } from './kind.ts';
import { array, object, refine, required, stringEnum, type Infer, type ValidationRule } from './schema.ts';

/** Every name a role may list: the pseudo-operations, then the server's list sorted (as error messages show it). */
export const ROLE_OPERATIONS: readonly string[] = [OPERATION_ALL, OPERATION_NONE, ...[...ALL_PERMISSIONS].sort()];

export const DEFAULT_TLS_CLIENT_TTL = `${DEFAULT_CLIENT_TTL_DAYS * 24}h`;

/** operation_all and operation_none each stand alone: listed with others, what was meant is unclear. */
function exclusive(op: string, meaning: string): ValidationRule {
  return { rule: `!('${op}' in self) || size(self) == 1`, message: `${op} ${meaning} and cannot be combined with other operations` };
}

const spec = object({
  scopeRef: required(refine(localRef('KmipScope', 'The KmipScope this role grants operations in.'), {
    rules: [immutable('scopeRef', "issued certificates carry the scope's id; create a new KmipRole instead")],
  })),
  operations: required(array(stringEnum(ROLE_OPERATIONS, { maxLength: 64 }), {
    description:
      "KMIP operations the role allows, with Vault's names (operation_get, operation_encrypt, ...). " +
      'operation_all allows every operation and operation_none none; each must be listed alone.',
    minItems: 1,
    maxItems: ROLE_OPERATIONS.length,
    listType: 'set',
    rules: [exclusive(OPERATION_ALL, 'already grants every operation'), exclusive(OPERATION_NONE, 'grants nothing')],
  })),
  tlsClientKeyType: keyType({ description: 'Key type of client certificates issued under this role.', default: 'ec' }),
  tlsClientKeyBits: keyBits(
    'Key size of client certificates issued under this role: the curve for ec (256, 384, 521), the modulus for ' +
      `rsa (2048, 3072, 4096). Absent: ${DEFAULT_KEY_BITS.ec} for ec, ${DEFAULT_KEY_BITS.rsa} for rsa.`,
  ),
  tlsClientTTL: duration({
    description: 'Lifetime of client certificates issued under this role (e.g. 720h); they are renewed when a third of it remains.',
    min: '1h',
    default: DEFAULT_TLS_CLIENT_TTL,
  }),
}, { rules: keyBitsMatchType(true) });

const status = object({
  conditions,
  observedGeneration,
}, { description: 'Observed state, written by the operator.' });

export const kmipRole = defineKind({
  kind: 'KmipRole',
  plural: 'kmiproles',
  shortNames: ['krole'],
  description: 'A KMIP role: the operations its clients may perform in a KmipScope, and how their certificates are made.',
  spec,
  status,
  printerColumns: [
    { name: 'Scope', type: 'string', jsonPath: '.spec.scopeRef.name', description: 'The KmipScope' },
    { name: 'Operations', type: 'string', jsonPath: '.spec.operations', description: 'Allowed operations' },
  ],
  wideColumns: [
    reasonColumn,
    { name: 'Key Type', type: 'string', jsonPath: '.spec.tlsClientKeyType' },
    { name: 'Key Bits', type: 'integer', jsonPath: '.spec.tlsClientKeyBits' },
    { name: 'TTL', type: 'string', jsonPath: '.spec.tlsClientTTL' },
  ],
});

export type KmipRoleSpec = Infer<typeof spec>;
export type KmipRoleStatus = Infer<typeof status>;
export type KmipRole = Resource<'KmipRole', KmipRoleSpec, KmipRoleStatus>;
