/**
 * KmipClientCredential: a client certificate for a role in a scope, delivered as a Secret the
 * application mounts. Three ways to get the certificate: the operator generates the key
 * (`generate`, the default), signs the client's CSR (`csr`: the key never leaves the client), or
 * accepts a certificate the client brings (`certificate`: the IBM / vSphere flow).
 */
import {
  DNS_SUBDOMAIN_PATTERN, celString, conditions, duration, immutable, keyBits, keyBitsMatchType, keyType, localRef, observedGeneration,
  reasonColumn,
} from './common.ts';
import { defineKind, type Resource } from './kind.ts';
import { array, dateTime, emptyObject, object, refine, required, string, stringEnum, type Infer } from './schema.ts';

export const SECRET_FORMATS = ['pem', 'pem_bundle', 'der', 'pkcs12'] as const;
export type SecretFormat = (typeof SECRET_FORMATS)[number];
export const ROLLOUT_KINDS = ['Deployment', 'StatefulSet'] as const;

/** Room for a PEM certificate or CSR with a long chain, while keeping CEL's cost estimate bounded. */
const PEM_MAX = 65536;

const notAKey = (field: string) => ({
  rule: "!self.contains('PRIVATE KEY-----')",
  message: `${field} must not contain a private key: give only the ${field === 'csr' ? 'certificate request' : 'certificate'}`,
});

/**
 * Matches auth/password-hash.ts (which also bounds the parameters): `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`. Checked by
 * a CEL rule on the entry rather than a `pattern` on the string: the API server quotes a string's value when it
 * refuses it, and a person who pasted the password itself must not get it echoed back (into logs, CI output ...).
 */
export const PASSWORD_HASH_PATTERN = '^\\$scrypt\\$ln=[0-9]{1,2},r=[0-9]{1,3},p=[0-9]{1,3}\\$[A-Za-z0-9+/]+\\$[A-Za-z0-9+/]+$';
const identifier = (description: string) => string({ description, minLength: 1, maxLength: 256 });

const headerCredential = object({
  username: identifier('A Username and Password credential: the Username a request sends.'),
  device: object({
    serialNumber: identifier('Device Serial Number.'),
    deviceIdentifier: identifier('Device Identifier.'),
    networkIdentifier: identifier('Network Identifier.'),
    machineIdentifier: identifier('Machine Identifier.'),
    mediaIdentifier: identifier('Media Identifier.'),
  }, {
    description:
      'A Device credential: a request matches when it sends exactly these fields with these values (a field left out here ' +
      'must be absent from the request).',
    rules: [{
      rule: 'has(self.serialNumber) || has(self.deviceIdentifier) || has(self.networkIdentifier) || has(self.machineIdentifier) || has(self.mediaIdentifier)',
      message: 'device needs at least one of serialNumber, deviceIdentifier, networkIdentifier, machineIdentifier and mediaIdentifier',
    }],
  }),
  passwordHash: string({
    description:
      'scrypt hash of the Password, as `kmip-client hash-password` prints it ($scrypt$ln=15,r=8,p=1$<salt>$<hash>). Required ' +
      'with username; with device, a request must send the matching Password if set and no Password if not.',
    maxLength: 512,
  }),
}, {
  rules: [
    { rule: 'has(self.username) != has(self.device)', message: 'set exactly one of username and device in each headerCredentials entry' },
    { rule: '!has(self.username) || has(self.passwordHash)', message: 'a headerCredentials entry with a username needs a passwordHash' },
    {
      // On the entry, not the string: the API server quotes a string's value in its refusal.
      rule: `!has(self.passwordHash) || self.passwordHash.matches(${celString(PASSWORD_HASH_PATTERN)})`,
      message: 'passwordHash must be a $scrypt$ hash as `kmip-client hash-password` prints it, never the password itself',
      fieldPath: '.passwordHash',
    },
  ],
});
// --- Server-to-client operations (Notify, Put) --------------------------------------------------
/**
 * Where the server sends KMIP Notify and Put for this credential (KMIP leaves registration out of
 * band: here the operator of the server declares it). The endpoint must present this credential's
 * own certificate; the server connects with its server certificate. See docs/clients.md.
 */
const notifications = object({
  endpoint: required(string({
    description: 'host:port of the client\'s KMIP listener that receives Notify and Put requests.',
    maxLength: 512,
    rules: [{
      rule: `self.matches(${celString('^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$')})`,
      message: 'endpoint must be host:port, e.g. backup-agent.example.com:5696 or [2001:db8::1]:5696',
    }],
  })),
}, {
  description:
    'Subscribes this credential to KMIP server-to-client operations: the server sends Put when an object of the scope ' +
    'is created or registered (to roles allowed operation_get) and Notify when its attributes or state change (to roles ' +
    'allowed operation_get_attributes or operation_get), to endpoint over mutual TLS. The endpoint must present this ' +
    "credential's certificate.",
});
// -------------------------------------------------------------------------------------------------

const spec = object({
  scopeRef: required(refine(localRef('KmipScope', 'The KmipScope the client works in.'), {
    rules: [immutable('scopeRef', "the certificate carries the scope's id; create a new KmipClientCredential instead")],
  })),
  roleRef: required(refine(localRef('KmipRole', 'The KmipRole (of scopeRef) whose operations the client may perform.'), {
    rules: [immutable('roleRef', "the certificate carries the role's id; create a new KmipClientCredential instead")],
  })),
  secretName: string({
    description: "Secret that receives the certificate, key and CA (default: the credential's name); status.secretName says which.",
    maxLength: 253,
    rules: [{
      rule: `self.matches(${celString(DNS_SUBDOMAIN_PATTERN)})`,
      message: "secretName must be a valid Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    }],
  }),
  tlsClientKeyType: keyType({ description: "Key type of a generated key (default: the role's)." }),
  tlsClientKeyBits: keyBits("Key size of a generated key: 256/384/521 for ec, 2048/3072/4096 for rsa (default: the role's)."),
  tlsClientTTL: duration({ description: "Certificate lifetime (default: the role's), e.g. 720h.", min: '1h' }),
  formats: array(stringEnum(SECRET_FORMATS, { maxLength: 16 }), {
    description:
      'Encodings the Secret holds besides tls.crt, tls.key and ca.crt, which are always there. pem: client.pem, the ' +
      'key and certificate in one file (as mongod wants); pem_bundle: the key, certificate and CA chain in one PEM ' +
      'file; der: the DER certificate and PKCS#8 key; pkcs12: a PKCS#12 keystore.',
    listType: 'set',
    minItems: 1,
    maxItems: SECRET_FORMATS.length,
    default: ['pem'],
  }),
  generate: emptyObject({
    description: 'The operator generates the key and issues the certificate (the default when neither csr nor certificate is set).',
  }),
  csr: string({
    description: 'A PEM certificate signing request to sign; the private key stays with the client.',
    maxLength: PEM_MAX,
    rules: [
      { rule: "self.contains('-----BEGIN CERTIFICATE REQUEST-----')", message: 'csr must be a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)' },
      notAKey('csr'),
    ],
  }),
  certificate: string({
    description: "A PEM certificate the client already has; clients presenting it are accepted by its fingerprint.",
    maxLength: PEM_MAX,
    rules: [
      { rule: "self.contains('-----BEGIN CERTIFICATE-----')", message: 'certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----)' },
      notAKey('certificate'),
    ],
  }),
  issuerRef: object({
    name: required(string({ description: 'Name of the Issuer or ClusterIssuer.', minLength: 1, maxLength: 253 })),
    kind: stringEnum(['Issuer', 'ClusterIssuer'], { default: 'Issuer' }),
    group: string({ description: 'API group of the issuer.', default: 'cert-manager.io', maxLength: 253 }),
  }, {
    description: "Have cert-manager issue the certificate with this issuer instead of kube-kmip's own CA.",
    mapType: 'atomic',
  }),
  headerCredentials: array(headerCredential, {
    description:
      'Sub-identities a client of this credential may name in the KMIP request header (Authentication: Username and ' +
      'Password, or Device). When any are declared, a request carrying a header credential must match one of them (else ' +
      'Authentication Not Successful); objects it creates then belong to that sub-identity, and only requests naming ' +
      'the same one reach them. Requests without a header credential work as before but cannot reach owned objects. ' +
      'When none are declared, header credentials are ignored.',
    maxItems: 64,
  }),
  notifications,
  rolloutRestartTargets: array(object({
    kind: required(stringEnum(ROLLOUT_KINDS)),
    name: required(string({ minLength: 1, maxLength: 253 })),
  }), {
    description: 'Workloads in this namespace restarted (as `kubectl rollout restart` does) after the certificate changes.',
    listType: 'map',
    mapKeys: ['kind', 'name'],
    maxItems: 32,
  }),
}, {
  rules: [
    {
      rule: '(has(self.generate) ? 1 : 0) + (has(self.csr) ? 1 : 0) + (has(self.certificate) ? 1 : 0) <= 1',
      message: 'set only one of generate, csr and certificate: the key is generated here, signed from your CSR, or your certificate is uploaded',
    },
    ...keyBitsMatchType(false),
    {
      rule: '!(has(self.csr) || has(self.certificate)) || !(has(self.tlsClientKeyType) || has(self.tlsClientKeyBits))',
      message: 'tlsClientKeyType and tlsClientKeyBits apply only to generated keys; with csr or certificate the key is the client\'s',
    },
    {
      rule: '!has(self.certificate) || !has(self.tlsClientTTL)',
      message: 'tlsClientTTL cannot be set with certificate: an uploaded certificate keeps its own lifetime',
      fieldPath: '.tlsClientTTL',
    },
    {
      rule: '!has(self.certificate) || !has(self.issuerRef)',
      message: 'issuerRef cannot be set with certificate: an uploaded certificate is not issued here',
      fieldPath: '.issuerRef',
    },
  ],
});

const status = object({
  serialNumber: string({ description: 'Serial number of the current certificate (lowercase hex).', maxLength: 128 }),
  serialNumbers: array(string({ maxLength: 128 }), {
    description: 'Serial numbers of every certificate of this credential still accepted (the current one and, while a renewal settles, the previous).',
    listType: 'set',
    maxItems: 16,
  }),
  fingerprint: string({ description: 'SHA-256 fingerprint of the current certificate (lowercase hex).', maxLength: 128 }),
  certificateFingerprints: array(string({ maxLength: 128 }), {
    description:
      'SHA-256 fingerprints (lowercase hex) of the certificates whose serial numbers serialNumbers lists: the server accepts ' +
      'a certificate by its serial only when its fingerprint is here too, so no other CA the server trusts can reuse the serial.',
    listType: 'set',
    maxItems: 16,
  }),
  notBefore: dateTime({ description: 'Start of the current certificate\'s validity.' }),
  notAfter: dateTime({ description: 'End of the current certificate\'s validity.' }),
  renewalTime: dateTime({ description: 'When the operator will renew the certificate.' }),
  secretName: string({ description: 'The Secret holding the certificate.', maxLength: 253 }),
  conditions,
  observedGeneration,
}, { description: 'Observed state, written by the operator.' });

export const kmipClientCredential = defineKind({
  kind: 'KmipClientCredential',
  plural: 'kmipclientcredentials',
  shortNames: ['kcred'],
  description: 'A KMIP client certificate for a KmipRole, delivered as a Secret.',
  spec,
  status,
  printerColumns: [
    { name: 'Scope', type: 'string', jsonPath: '.spec.scopeRef.name', description: 'The KmipScope' },
    { name: 'Role', type: 'string', jsonPath: '.spec.roleRef.name', description: 'The KmipRole' },
    { name: 'Secret', type: 'string', jsonPath: '.status.secretName', description: 'Secret holding the certificate' },
    // A string, not a date: kubectl prints a future date column as <invalid>.
    { name: 'Expires', type: 'string', jsonPath: '.status.notAfter', description: 'End of the certificate\'s validity' },
  ],
  wideColumns: [
    reasonColumn,
    { name: 'Renewal', type: 'string', jsonPath: '.status.renewalTime', description: 'When the certificate will be renewed' },
    { name: 'Serial', type: 'string', jsonPath: '.status.serialNumber', description: 'Serial number of the current certificate' },
  ],
});

export type KmipClientCredentialSpec = Infer<typeof spec>;
export type KmipClientCredentialStatus = Infer<typeof status>;
export type KmipClientCredential = Resource<'KmipClientCredential', KmipClientCredentialSpec, KmipClientCredentialStatus>;
