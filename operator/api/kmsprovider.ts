/**
 * KmsProvider: a key management service KmsKeys are distributed to (Vault's kms provider). One
 * settings block per type; the block must match the type, and the fields each type cannot do
 * without are checked with messages naming them.
 */
import { celString, conditions, immutable, localRef, observedGeneration, reasonColumn } from './common.ts';
import { defineKind, type Resource } from './kind.ts';
import { object, required, string, stringEnum, type Infer, type ValidationRule } from './schema.ts';

export const PROVIDER_TYPES = ['aws', 'azure', 'gcp', 'kmip'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const httpUrl = (field: string): ValidationRule => ({
  rule: "isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))",
  message: `${field} must be an http(s) URL`,
});

const aws = object({
  region: string({
    description: 'AWS region of the KMS, e.g. us-east-1.',
    maxLength: 64,
    rules: [{ rule: "self.matches('^[a-z]{2}(-[a-z]+)+-[0-9]+$')", message: 'region must be an AWS region name such as us-east-1' }],
  }),
  endpoint: string({
    description: 'KMS endpoint instead of the regional one (VPC endpoints, LocalStack at http://localhost:4566).',
    maxLength: 2048,
    rules: [httpUrl('endpoint')],
  }),
}, {
  description:
    'AWS KMS. Credentials: the Secret\'s AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or the ' +
    'pod\'s own (IRSA, instance profile) when credentialsSecretRef is absent.',
});

const azure = object({
  vaultURL: string({
    description: 'The Key Vault (or Managed HSM) URL, e.g. https://my-vault.vault.azure.net/.',
    maxLength: 2048,
    rules: [{ rule: "isURL(self) && self.startsWith('https://')", message: 'vaultURL must be an https URL such as https://my-vault.vault.azure.net/' }],
  }),
}, {
  description:
    'Azure Key Vault. Credentials: the Secret\'s AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or workload ' +
    'identity when credentialsSecretRef is absent.',
});

const gcp = object({
  project: string({ description: 'Google Cloud project id.', maxLength: 64 }),
  location: string({ description: 'Cloud KMS location, e.g. global or europe-west1.', maxLength: 64 }),
  keyRing: string({
    description: 'Key ring the keys are created in.',
    maxLength: 63,
    rules: [{ rule: "self.matches('^[a-zA-Z0-9_-]{1,63}$')", message: 'keyRing must be 1-63 letters, digits, - or _' }],
  }),
  endpoint: string({ description: 'Cloud KMS endpoint instead of the public one.', maxLength: 2048, rules: [httpUrl('endpoint')] }),
}, {
  description:
    'Google Cloud KMS. Credentials: a service account key in the Secret\'s credentials.json, or application default ' +
    'credentials when credentialsSecretRef is absent.',
});

const kmip = object({
  endpoint: string({
    description: 'host:port of the KMIP server (5696 is the usual port).',
    maxLength: 512,
    rules: [{
      rule: `self.matches(${celString('^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$')})`,
      message: 'endpoint must be host:port, e.g. kmip.example.com:5696 or [2001:db8::1]:5696',
    }],
  }),
  serverName: string({ description: 'TLS server name to verify instead of endpoint\'s host.', maxLength: 253 }),
}, {
  description: "Another KMIP server. Credentials (required): the Secret's tls.crt, tls.key and ca.crt for mutual TLS.",
});

/** `type` needs its own block with `fields` set; the message names what is missing. */
function needs(type: ProviderType, fields: readonly string[], example: string): ValidationRule {
  return {
    rule: `self.type != '${type}' || (has(self.${type})${fields.map((f) => ` && has(self.${type}.${f})`).join('')})`,
    message: `type ${type} needs ${fields.map((f) => `spec.${type}.${f}`).join(', ').replace(/, ([^,]*)$/, ' and $1')} (${example})`,
    fieldPath: fields.length === 1 ? `.${type}.${fields[0]}` : `.${type}`,
    reason: 'FieldValueRequired',
  };
}

/** A block for another type is a mistake (copied from another provider, or the type was mistyped). */
function onlyFor(type: ProviderType): ValidationRule {
  return {
    rule: `!has(self.${type}) || self.type == '${type}'`,
    message: `spec.${type} is set but type is not ${type}`,
    messageExpression: `'spec.${type} is set but type is ' + self.type + ': remove spec.${type}, or set type: ${type}'`,
    fieldPath: `.${type}`,
    reason: 'FieldValueForbidden',
  };
}

const spec = object({
  type: required(stringEnum(PROVIDER_TYPES, {
    description: 'Which KMS: aws (AWS KMS), azure (Azure Key Vault), gcp (Google Cloud KMS), kmip (another KMIP server).',
    maxLength: 8,
    rules: [immutable('type', 'keys distributed to one kind of KMS cannot move to another; create a new KmsProvider')],
  })),
  aws,
  azure,
  gcp,
  kmip,
  credentialsSecretRef: localRef('Secret', 'Secret in this namespace with the credentials for the KMS; which keys it holds depends on the type.'),
  caBundle: string({
    description: 'PEM CA certificates to trust for the KMS endpoint besides the system roots (private endpoints, emulators).',
    maxLength: 65536,
    rules: [{ rule: "self.contains('-----BEGIN CERTIFICATE-----')", message: 'caBundle must hold PEM certificates (-----BEGIN CERTIFICATE-----)' }],
  }),
}, {
  rules: [
    needs('aws', ['region'], 'the AWS region of the KMS, e.g. us-east-1'),
    needs('azure', ['vaultURL'], 'e.g. https://my-vault.vault.azure.net/'),
    needs('gcp', ['project', 'location', 'keyRing'], 'where the keys are created'),
    needs('kmip', ['endpoint'], 'host:port of the KMIP server'),
    {
      rule: "self.type != 'kmip' || has(self.credentialsSecretRef)",
      message: 'type kmip needs credentialsSecretRef: a Secret with tls.crt, tls.key and ca.crt for mutual TLS',
      fieldPath: '.credentialsSecretRef',
      reason: 'FieldValueRequired',
    },
    ...PROVIDER_TYPES.map(onlyFor),
  ],
});

const status = object({
  conditions,
  observedGeneration,
}, { description: 'Observed state, written by the operator.' });

export const kmsProvider = defineKind({
  kind: 'KmsProvider',
  plural: 'kmsproviders',
  shortNames: ['kmsp'],
  description: 'A key management service (AWS KMS, Azure Key Vault, Google Cloud KMS, another KMIP server) KmsKeys are distributed to.',
  spec,
  status,
  printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'aws, azure, gcp or kmip' }],
  wideColumns: [
    reasonColumn,
    { name: 'Region', type: 'string', jsonPath: '.spec.aws.region' },
    { name: 'Vault', type: 'string', jsonPath: '.spec.azure.vaultURL' },
    { name: 'Key Ring', type: 'string', jsonPath: '.spec.gcp.keyRing' },
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.kmip.endpoint' },
  ],
});

export type KmsProviderSpec = Infer<typeof spec>;
export type KmsProviderStatus = Infer<typeof status>;
export type KmsProvider = Resource<'KmsProvider', KmsProviderSpec, KmsProviderStatus>;
