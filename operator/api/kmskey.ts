/**
 * KmsKey: a key owned here (in a KmipScope) and distributed to KmsProviders through each one's
 * import specification, following Vault's Key Management engine: rotation adds a version here and
 * everywhere, minEnabledVersion disables older versions in the providers, and deletion needs
 * deletionAllowed. Which provider takes which algorithm is checked by the controller, which knows
 * the providers' types; the schema refuses what no provider could do with the algorithm.
 */
import { conditions, duration, immutable, localRef, observedGeneration, reasonColumn } from './common.ts';
import { defineKind, type Resource } from './kind.ts';
import { array, boolean, dateTime, integer, object, refine, required, string, stringEnum, type Infer } from './schema.ts';

/** Vault's key type names. */
export const KEY_ALGORITHMS = ['aes256-gcm96', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
export const KEY_PURPOSES = ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];
export const PROTECTIONS = ['software', 'hsm'] as const;

const SYMMETRIC_PURPOSES = ['encrypt', 'decrypt', 'wrap', 'unwrap'];
const SIGNING_PURPOSES = ['sign', 'verify'];
const celList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

const target = object({
  provider: required(string({ description: 'Name of a KmsProvider in this namespace.', minLength: 1, maxLength: 253 })),
  purposes: required(array(stringEnum(KEY_PURPOSES, { maxLength: 8 }), {
    description: 'What the provider\'s copy may be used for. Fixed once distributed (remove the target and add it again to change it).',
    listType: 'set',
    minItems: 1,
    maxItems: KEY_PURPOSES.length,
    rules: [immutable('purposes', 'the provider fixes a key\'s usage at import; remove the target and add it again')],
  })),
  protection: stringEnum(PROTECTIONS, {
    description: 'software, or hsm (Azure Managed HSM/Premium, Cloud HSM). Fixed once distributed.',
    default: 'software',
    rules: [immutable('protection', 'the provider fixes it at import; remove the target and add it again')],
  }),
  keyName: string({
    description: 'Name of the key (AWS alias, Azure key, GCP crypto key, KMIP Name) at the provider; default: the KmsKey\'s name.',
    maxLength: 127,
    rules: [{ rule: "self.matches('^[A-Za-z0-9/_-]+$')", message: 'keyName may hold letters, digits, /, _ and - only' }],
  }),
});

const spec = object({
  scopeRef: required(refine(localRef('KmipScope', 'The KmipScope that owns the key (KMIP clients of the scope see it).'), {
    rules: [immutable('scopeRef', 'a key cannot move between scopes')],
  })),
  algorithm: required(stringEnum(KEY_ALGORITHMS, {
    description: "Key type, with Vault's names.",
    maxLength: 16,
    rules: [immutable('algorithm', 'a key cannot change type; create a new KmsKey')],
  })),
  distribution: array(target, {
    description: 'Providers that receive a copy of the key. Removing a target deletes only that provider\'s copy.',
    listType: 'map',
    mapKeys: ['provider'],
    maxItems: 16,
  }),
  rotation: object({
    period: duration({ description: 'Rotate automatically this long after the latest version was made (e.g. 2160h).', min: '1h' }),
    requestedAt: dateTime({
      description: 'Rotate once now: set to the current time; a value later than status.latestVersionTime makes a new version.',
    }),
  }, { description: 'When new versions are made.' }),
  minEnabledVersion: integer({
    description: 'Versions below this are disabled in every provider; 0 enables them all.',
    format: 'int64',
    minimum: 0,
    default: 0,
  }),
  deletionAllowed: boolean({
    description: 'Deleting the KmsKey destroys the key only when true; otherwise the deletion waits, with a condition saying why.',
    default: false,
  }),
}, {
  rules: [
    {
      rule: `!self.algorithm.startsWith('aes') || !has(self.distribution) || self.distribution.all(d, d.purposes.all(p, p in ${celList(SYMMETRIC_PURPOSES)}))`,
      message: 'an aes256-gcm96 key can only encrypt, decrypt, wrap and unwrap; sign and verify need an rsa or ecdsa key',
      fieldPath: '.distribution',
    },
    {
      rule: `!self.algorithm.startsWith('ecdsa') || !has(self.distribution) || self.distribution.all(d, d.purposes.all(p, p in ${celList(SIGNING_PURPOSES)}))`,
      message: 'an ecdsa key can only sign and verify; encrypt, decrypt, wrap and unwrap need an aes256-gcm96 or rsa key',
      fieldPath: '.distribution',
    },
  ],
});

const targetStatus = object({
  provider: required(string({ maxLength: 253 })),
  keyId: string({ description: 'The key\'s id at the provider (ARN, key URL, resource name, KMIP unique identifier).', maxLength: 2048 }),
  versions: array(integer({ format: 'int64', minimum: 1 }), {
    description: 'Versions present at the provider.',
    listType: 'set',
    maxItems: 1024,
  }),
  state: string({ description: 'Distributed, Pending, Removing or Failed.', maxLength: 32 }),
  message: string({ description: 'Why the state is what it is.', maxLength: 32768 }),
  lastTransitionTime: dateTime(),
});

const status = object({
  latestVersion: integer({ description: 'The current version.', format: 'int64', minimum: 0 }),
  latestVersionTime: dateTime({ description: 'When the current version was made.' }),
  minAvailableVersion: integer({ description: 'Oldest version still kept here.', format: 'int64', minimum: 0 }),
  distribution: array(targetStatus, {
    description: 'State of the key at each provider.',
    listType: 'map',
    mapKeys: ['provider'],
    maxItems: 64,
  }),
  conditions,
  observedGeneration,
}, { description: 'Observed state, written by the operator.' });

export const kmsKey = defineKind({
  kind: 'KmsKey',
  plural: 'kmskeys',
  shortNames: ['kmsk'],
  description: 'A key owned by kube-kmip and distributed to KmsProviders (AWS KMS, Azure Key Vault, Google Cloud KMS, KMIP).',
  spec,
  status,
  printerColumns: [
    { name: 'Algorithm', type: 'string', jsonPath: '.spec.algorithm', description: "Key type (Vault's names)" },
    { name: 'Scope', type: 'string', jsonPath: '.spec.scopeRef.name', description: 'The KmipScope' },
    { name: 'Version', type: 'integer', jsonPath: '.status.latestVersion', description: 'Current version' },
    { name: 'Providers', type: 'string', jsonPath: '.spec.distribution[*].provider', description: 'Distribution targets' },
  ],
  wideColumns: [
    reasonColumn,
    { name: 'Min Enabled', type: 'integer', jsonPath: '.spec.minEnabledVersion' },
    { name: 'Rotation', type: 'string', jsonPath: '.spec.rotation.period' },
  ],
});

export type KmsKeySpec = Infer<typeof spec>;
export type KmsKeyStatus = Infer<typeof status>;
export type KmsKey = Resource<'KmsKey', KmsKeySpec, KmsKeyStatus>;
