/**
 * One valid resource of each kind, typed with the kinds' TypeScript types: tsc checks them against
 * the types, the envtest suite (test/envtest/crds.test.ts) against the API server's schema. Both
 * accepting the same objects is what "one source" promises. Then the mistakes the CRDs must refuse,
 * with the words the refusal must use.
 */
import { API_GROUP_VERSION, type KmipClientCredential, type KmipRole, type KmipScope, type KmsKey, type KmsProvider, type ObjectMeta } from './index.ts';

export function exampleScope(namespace: string, name = 'payments'): KmipScope {
  return {
    apiVersion: API_GROUP_VERSION, kind: 'KmipScope', metadata: { name, namespace },
    spec: { description: 'Keys of the payments databases' },
  };
}

export function exampleRole(namespace: string, name = 'mongod', scope = 'payments'): KmipRole {
  return {
    apiVersion: API_GROUP_VERSION, kind: 'KmipRole', metadata: { name, namespace },
    spec: {
      scopeRef: { name: scope },
      operations: ['operation_create', 'operation_get', 'operation_activate', 'operation_locate', 'operation_encrypt', 'operation_decrypt'],
    },
  };
}

export function exampleCredential(namespace: string, name = 'mongod-0', scope = 'payments', role = 'mongod'): KmipClientCredential {
  return {
    apiVersion: API_GROUP_VERSION, kind: 'KmipClientCredential', metadata: { name, namespace },
    spec: {
      scopeRef: { name: scope },
      roleRef: { name: role },
      secretName: 'mongod-kmip',
      tlsClientKeyType: 'rsa',
      tlsClientKeyBits: 3072,
      tlsClientTTL: '720h',
      formats: ['pem', 'pkcs12'],
      generate: {},
      rolloutRestartTargets: [{ kind: 'StatefulSet', name: 'mongod' }],
      headerCredentials: [
        { username: 'backup-agent', passwordHash: HASH },
        { device: { serialNumber: 'SN-0042', deviceIdentifier: 'tape-7' } },
      ],
    },
  };
}

/** A `kmip-client hash-password` output (of "example"), for the examples. */
const HASH = '$scrypt$ln=15,r=8,p=1$6MgWodh9QVMx610xEO8OmA$Gfudy9pPM42IRzXob0ceKj1tsP4YFP5nevoyr9VzIMo';

export function exampleProvider(namespace: string, name = 'aws-eu'): KmsProvider {
  return {
    apiVersion: API_GROUP_VERSION, kind: 'KmsProvider', metadata: { name, namespace },
    spec: {
      type: 'aws',
      aws: { region: 'eu-west-1', endpoint: 'http://localhost:4566' },
      credentialsSecretRef: { name: 'aws-credentials' },
    },
  };
}

export function exampleKey(namespace: string, name = 'orders-dek', scope = 'payments', provider = 'aws-eu'): KmsKey {
  return {
    apiVersion: API_GROUP_VERSION, kind: 'KmsKey', metadata: { name, namespace },
    spec: {
      scopeRef: { name: scope },
      algorithm: 'aes256-gcm96',
      distribution: [{ provider, purposes: ['encrypt', 'decrypt'] }],
      rotation: { period: '2160h' },
    },
  };
}

/** A mistake a person might make, and the texts the API server's refusal must contain. */
export interface Mistake {
  title: string;
  resource: { apiVersion: string; kind: string; metadata: ObjectMeta; spec?: unknown };
  expect: string[];
  /** Texts the refusal must not quote (a password pasted where its hash belongs). */
  notEchoed?: string[];
}

/**
 * Resources the CRDs must refuse, each on top of a valid example. Every name is distinct, so the
 * whole list can be created in one namespace where the valid examples exist.
 */
export function mistakes(ns: string): Mistake[] {
  let seq = 0;
  const unique = (prefix: string) => `${prefix}-${++seq}`;
  return [
    {
      title: 'operation_all together with operation_get',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_all', 'operation_get'] } },
      expect: ['spec.operations', 'operation_all already grants every operation and cannot be combined with other operations'],
    },
    {
      title: 'operation_none together with operation_get',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get', 'operation_none'] } },
      expect: ['operation_none grants nothing and cannot be combined with other operations'],
    },
    {
      title: 'an unknown operation name',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get', 'operation_frobnicate'] } },
      expect: ['spec.operations[1]', 'Unsupported value: "operation_frobnicate"', 'supported values: "operation_all", "operation_none"'],
    },
    {
      title: 'the same operation twice',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get', 'operation_get'] } },
      expect: ['Duplicate value: "operation_get"'],
    },
    {
      title: 'an empty operation list',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: [] } },
      expect: ['spec.operations', 'should have at least 1 items'],
    },
    {
      title: 'a role without scopeRef',
      resource: { ...exampleRole(ns, unique('r')), spec: { operations: ['operation_get'] } },
      expect: ['spec.scopeRef: Required value'],
    },
    {
      title: 'rsa with 256 bits',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get'], tlsClientKeyType: 'rsa', tlsClientKeyBits: 256 } },
      expect: ['spec.tlsClientKeyBits', 'tlsClientKeyBits does not fit tlsClientKeyType rsa: rsa takes 2048, 3072, 4096'],
    },
    {
      title: 'ec (the default type) with 2048 bits',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get'], tlsClientKeyBits: 2048 } },
      expect: ['tlsClientKeyBits does not fit tlsClientKeyType ec: ec takes 256, 384, 521'],
    },
    {
      title: 'a key size no type takes',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get'], tlsClientKeyBits: 1024 } },
      expect: ['Unsupported value: 1024'],
    },
    {
      title: 'a TTL in days',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get'], tlsClientTTL: '30d' } },
      expect: ['spec.tlsClientTTL', 'must be a duration in hours, minutes or seconds, such as 720h, 90m or 1h30m'],
    },
    {
      title: 'a TTL shorter than an hour',
      resource: { ...exampleRole(ns, unique('r')), spec: { scopeRef: { name: 'payments' }, operations: ['operation_get'], tlsClientTTL: '10m' } },
      expect: ['spec.tlsClientTTL', 'must be at least 1h'],
    },
    {
      title: 'a credential with both csr and certificate',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: {
          scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' },
          csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
          certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        },
      },
      expect: ['set only one of generate, csr and certificate'],
    },
    {
      title: 'a credential with generate and csr',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, generate: {}, csr: '-----BEGIN CERTIFICATE REQUEST-----\n' },
      },
      expect: ['set only one of generate, csr and certificate'],
    },
    {
      title: 'a csr that is not one',
      resource: { ...exampleCredential(ns, unique('c')), spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, csr: 'MIIBkTCB+wIBADBSMQswCQYD' } },
      expect: ['spec.csr', 'csr must be a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)'],
    },
    {
      title: 'an uploaded certificate with its private key pasted in',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: {
          scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' },
          certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n',
        },
      },
      expect: ['spec.certificate', 'certificate must not contain a private key: give only the certificate'],
    },
    {
      title: 'key parameters with a CSR (the key is the client\'s)',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, csr: '-----BEGIN CERTIFICATE REQUEST-----\n', tlsClientKeyType: 'ec' },
      },
      expect: ["tlsClientKeyType and tlsClientKeyBits apply only to generated keys; with csr or certificate the key is the client's"],
    },
    {
      title: 'key bits without key type on a credential',
      resource: { ...exampleCredential(ns, unique('c')), spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, tlsClientKeyBits: 384 } },
      expect: ['spec.tlsClientKeyBits', 'tlsClientKeyBits needs tlsClientKeyType next to it (ec or rsa)'],
    },
    {
      title: 'issuerRef or a TTL with an uploaded certificate',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: {
          scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, certificate: '-----BEGIN CERTIFICATE-----\n',
          issuerRef: { name: 'corp-ca' }, tlsClientTTL: '24h',
        },
      },
      expect: [
        'spec.issuerRef', 'issuerRef cannot be set with certificate: an uploaded certificate is not issued here',
        'spec.tlsClientTTL', 'tlsClientTTL cannot be set with certificate: an uploaded certificate keeps its own lifetime',
      ],
    },
    {
      title: 'a Secret name Kubernetes would refuse',
      resource: { ...exampleCredential(ns, unique('c')), spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, secretName: 'Mongod_KMIP' } },
      expect: ['spec.secretName', "secretName must be a valid Secret name: lowercase letters, digits, '-' and '.'"],
    },
    {
      title: 'header credentials: a plaintext password, a username without a hash, both username and device, an empty device',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: {
          scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' },
          headerCredentials: [
            { username: 'fred', passwordHash: 'password1' },
            { username: 'barney' },
            { username: 'wilma', device: { deviceIdentifier: 'd1' }, passwordHash: HASH },
            { device: {} },
          ],
        },
      },
      expect: [
        'spec.headerCredentials[0].passwordHash', 'passwordHash must be a $scrypt$ hash',
        'spec.headerCredentials[1]', 'a headerCredentials entry with a username needs a passwordHash',
        'spec.headerCredentials[2]', 'set exactly one of username and device in each headerCredentials entry',
        'spec.headerCredentials[3].device', 'device needs at least one of serialNumber',
      ],
      notEchoed: ['password1'],
    },
    {
      title: 'an unknown Secret format and a DaemonSet restart target',
      resource: {
        ...exampleCredential(ns, unique('c')),
        spec: { scopeRef: { name: 'payments' }, roleRef: { name: 'mongod' }, formats: ['jks'], rolloutRestartTargets: [{ kind: 'DaemonSet', name: 'x' }] },
      },
      expect: ['spec.formats[0]: Unsupported value: "jks"', 'spec.rolloutRestartTargets[0].kind: Unsupported value: "DaemonSet"'],
    },
    {
      title: 'a KmsProvider of type aws without region',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'aws' } },
      expect: ['spec.aws.region: Required value: type aws needs spec.aws.region (the AWS region of the KMS, e.g. us-east-1)'],
    },
    {
      title: 'a KmsProvider of type aws with an empty aws block',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'aws', aws: { endpoint: 'http://localhost:4566' } } },
      expect: ['type aws needs spec.aws.region'],
    },
    {
      title: 'a KmsProvider of type aws carrying azure settings',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'aws', aws: { region: 'us-east-1' }, azure: { vaultURL: 'https://v.vault.azure.net/' } } },
      expect: ['spec.azure: Forbidden: spec.azure is set but type is aws: remove spec.azure, or set type: azure'],
    },
    {
      title: 'a KmsProvider of type gcp without a key ring',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'gcp', gcp: { project: 'acme', location: 'global' } } },
      expect: ['type gcp needs spec.gcp.project, spec.gcp.location and spec.gcp.keyRing (where the keys are created)'],
    },
    {
      title: 'a KmsProvider of type kmip without client credentials',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'kmip', kmip: { endpoint: 'kmip.example.com:5696' } } },
      expect: ['spec.credentialsSecretRef: Required value: type kmip needs credentialsSecretRef: a Secret with tls.crt, tls.key and ca.crt for mutual TLS'],
    },
    {
      title: 'malformed provider settings',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'kmip', kmip: { endpoint: 'kmip.example.com' }, credentialsSecretRef: { name: 'x' } } },
      expect: ['spec.kmip.endpoint', 'endpoint must be host:port, e.g. kmip.example.com:5696'],
    },
    {
      title: 'an Azure vault over plain http, an AWS region in capitals',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'azure', azure: { vaultURL: 'http://v.vault.azure.net/' }, aws: { region: 'US-EAST-1' } } },
      expect: ['vaultURL must be an https URL', 'region must be an AWS region name such as us-east-1', 'spec.aws is set but type is azure'],
    },
    {
      title: 'an unknown provider type',
      resource: { ...exampleProvider(ns, unique('p')), spec: { type: 'vault' } },
      expect: ['spec.type: Unsupported value: "vault"', 'supported values: "aws", "azure", "gcp", "kmip"'],
    },
    {
      title: 'an AES key distributed for signing',
      resource: { ...exampleKey(ns, unique('k')), spec: { scopeRef: { name: 'payments' }, algorithm: 'aes256-gcm96', distribution: [{ provider: 'aws-eu', purposes: ['sign'] }] } },
      expect: ['spec.distribution', 'an aes256-gcm96 key can only encrypt, decrypt, wrap and unwrap; sign and verify need an rsa or ecdsa key'],
    },
    {
      title: 'an ECDSA key distributed for encryption',
      resource: { ...exampleKey(ns, unique('k')), spec: { scopeRef: { name: 'payments' }, algorithm: 'ecdsa-p256', distribution: [{ provider: 'gcp', purposes: ['sign', 'encrypt'] }] } },
      expect: ['an ecdsa key can only sign and verify'],
    },
    {
      title: 'the same provider twice, an unknown algorithm, a negative version',
      resource: {
        ...exampleKey(ns, unique('k')),
        spec: {
          scopeRef: { name: 'payments' }, algorithm: 'aes128', minEnabledVersion: -1,
          distribution: [{ provider: 'aws-eu', purposes: ['encrypt'] }, { provider: 'aws-eu', purposes: ['decrypt'] }],
        },
      },
      expect: ['Unsupported value: "aes128"', 'spec.distribution[1]: Duplicate value: {"provider":"aws-eu"}', 'spec.minEnabledVersion'],
    },
    {
      title: 'a rotation period that is no duration',
      resource: { ...exampleKey(ns, unique('k')), spec: { scopeRef: { name: 'payments' }, algorithm: 'rsa-2048', rotation: { period: 'quarterly' } } },
      expect: ['spec.rotation.period', 'must be a duration in hours, minutes or seconds'],
    },
    {
      title: 'a scope deletion policy that does not exist',
      resource: { ...exampleScope(ns, unique('s')), spec: { deletionPolicy: 'Delete' } },
      expect: ['spec.deletionPolicy: Unsupported value: "Delete"', 'supported values: "Retain", "Force"'],
    },
  ];
}
