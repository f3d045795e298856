import test from 'ava';
import { API_GROUP_VERSION, type KmipClientCredential, type KmipRole } from '../api/index.ts';
import { createIntermediateCa, createRootCa, issueClientCertificate, pemCertificates, selfSignedCertificate } from '../pki/index.ts';
import {
  acceptedCertificates, currentCertificate, generatedKeySpec, issuanceDigest, previousAnnotations, previousCertificate, renewalTime, roleKeySpec,
} from './credential-issue.ts';
import { PREVIOUS_FINGERPRINT_ANNOTATION, PREVIOUS_NOT_AFTER_ANNOTATION, PREVIOUS_SERIAL_ANNOTATION } from './labels.ts';
import { secretContent } from './credential-secret.ts';

const role = (spec: Partial<KmipRole['spec']> = {}): KmipRole => ({
  apiVersion: API_GROUP_VERSION, kind: 'KmipRole', metadata: { name: 'r', namespace: 'ns', uid: 'role-uid' },
  spec: { scopeRef: { name: 's' }, operations: ['operation_get'], tlsClientKeyType: 'ec', tlsClientTTL: '720h', ...spec },
});
const cred = (spec: Partial<KmipClientCredential['spec']> = {}): KmipClientCredential => ({
  apiVersion: API_GROUP_VERSION, kind: 'KmipClientCredential', metadata: { name: 'c', namespace: 'ns', uid: 'cred-uid' },
  spec: { scopeRef: { name: 's' }, roleRef: { name: 'r' }, ...spec },
});

test('a generated key takes the credential\'s type and bits, else the role\'s, else the type\'s default', (t) => {
  t.deepEqual(generatedKeySpec(cred(), role()), { type: 'ec', curve: 'P-256' });
  t.deepEqual(generatedKeySpec(cred(), role({ tlsClientKeyBits: 384 })), { type: 'ec', curve: 'P-384' });
  t.deepEqual(generatedKeySpec(cred({ tlsClientKeyType: 'rsa' }), role({ tlsClientKeyBits: 384 })), { type: 'rsa', bits: 2048 },
    'the role\'s bits belong to the role\'s type');
  t.deepEqual(generatedKeySpec(cred({ tlsClientKeyType: 'ec' }), role({ tlsClientKeyBits: 521 })), { type: 'ec', curve: 'P-521' });
  t.deepEqual(generatedKeySpec(cred({ tlsClientKeyType: 'rsa', tlsClientKeyBits: 4096 }), role()), { type: 'rsa', bits: 4096 });
  t.deepEqual(roleKeySpec(role({ tlsClientKeyType: 'rsa', tlsClientKeyBits: 3072 })), { type: 'rsa', bits: 3072 });
});

test('renewal is due when a third of the lifetime remains', (t) => {
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2026-01-31T00:00:00Z');
  t.is(renewalTime(from, to).toISOString(), '2026-01-21T00:00:00.000Z');
});

test('the issuance digest changes with any input and not with key order', (t) => {
  const a = issuanceDigest({ mode: 'generate', ttlMs: 1, key: 'EC P-256' });
  t.is(a, issuanceDigest({ key: 'EC P-256', ttlMs: 1, mode: 'generate' }));
  t.not(a, issuanceDigest({ mode: 'generate', ttlMs: 2, key: 'EC P-256' }));
});

test('the Secret layout: generate mode with every format; a keystore is kept while its certificate is', async (t) => {
  const root = await createRootCa({ commonName: 'r' });
  const ca = await createIntermediateCa(root, { commonName: 'i' });
  const leaf = await issueClientCertificate(ca, { scopeId: 'scope-uid', roleId: 'role-uid' });
  const der = pemCertificates(leaf.certificatePem)[0]!;
  const all = secretContent({ certificateDer: der, issuedHere: true, privateKeyPem: leaf.privateKeyPem }, ca, ['pem', 'pem_bundle', 'der', 'pkcs12'], 'c');
  t.is(all.type, 'kubernetes.io/tls');
  t.deepEqual(Object.keys(all.data).sort(), ['bundle.pem', 'ca.crt', 'client.pem', 'key.der', 'keystore.p12', 'keystore.p12.password', 'tls.crt', 'tls.der', 'tls.key']);
  const again = secretContent({ certificateDer: der, issuedHere: true, privateKeyPem: leaf.privateKeyPem }, ca, ['pkcs12'], 'c', all.data);
  t.is(again.data['keystore.p12'], all.data['keystore.p12'], 'same certificate: the keystore is not rebuilt');
  const renewed = await issueClientCertificate(ca, { scopeId: 'scope-uid', roleId: 'role-uid' });
  const next = secretContent({ certificateDer: pemCertificates(renewed.certificatePem)[0]!, issuedHere: true, privateKeyPem: renewed.privateKeyPem }, ca, ['pkcs12'], 'c', all.data);
  t.not(next.data['keystore.p12'], all.data['keystore.p12']);
  t.is(next.data['keystore.p12.password'], all.data['keystore.p12.password'], 'the password survives a renewal');

  const data = all.data;
  t.truthy(currentCertificate(data, ca, { scopeId: 'scope-uid', roleId: 'role-uid', withKey: true }));
  t.is(currentCertificate(data, ca, { scopeId: 'other', roleId: 'role-uid', withKey: true }), undefined, 'another scope\'s certificate is not current');
  t.is(currentCertificate({ ...data, 'tls.key': next.data['tls.key'] ?? Buffer.from(renewed.privateKeyPem).toString('base64') }, ca, { scopeId: 'scope-uid', roleId: 'role-uid', withKey: true }),
    undefined, 'a key that does not match is not current');
  const otherCa = await createRootCa({ commonName: 'other' });
  t.is(currentCertificate(data, otherCa, { scopeId: 'scope-uid', roleId: 'role-uid', withKey: true }), undefined, 'another CA\'s certificate is not current');
});

test('the Secret layout without a key: certificates only, Opaque', async (t) => {
  const root = await createRootCa({ commonName: 'r' });
  const own = await selfSignedCertificate();
  const c = secretContent({ certificateDer: pemCertificates(own.certificatePem)[0]!, issuedHere: false }, root, ['pem', 'pem_bundle', 'der', 'pkcs12'], 'c');
  t.is(c.type, 'Opaque');
  t.deepEqual(Object.keys(c.data).sort(), ['bundle.pem', 'ca.crt', 'tls.crt', 'tls.der']);
});

test('status binds each accepted serial to its certificate: fingerprints follow the serials, the previous one from the Secret annotations', (t) => {
  const now = new Date('2026-01-01T00:00:00Z');
  const current = { serialNumber: '4a', fingerprint: 'aa'.repeat(32) };
  t.deepEqual(acceptedCertificates(current, undefined), { serialNumbers: ['4a'], certificateFingerprints: ['aa'.repeat(32)] });
  const previous = { serialNumber: '4b', notAfter: new Date('2026-01-02T00:00:00Z'), fingerprint: 'bb'.repeat(32) };
  const annotations = previousAnnotations(previous);
  t.is(annotations[PREVIOUS_FINGERPRINT_ANNOTATION], 'bb'.repeat(32));
  const read = previousCertificate(annotations, now);
  t.deepEqual(read, previous, 'the annotations round-trip');
  t.deepEqual(acceptedCertificates(current, read), { serialNumbers: ['4a', '4b'], certificateFingerprints: ['aa'.repeat(32), 'bb'.repeat(32)] });
  t.is(previousCertificate(annotations, new Date('2026-01-03T00:00:00Z')), undefined, 'an expired predecessor is dropped');
  // Renewed by an older operator: the predecessor's fingerprint is unknown, so status keeps to serials
  // (the server accepts by serial alone and warns) rather than lock out clients still using it.
  const legacy = previousCertificate({ [PREVIOUS_SERIAL_ANNOTATION]: '4b', [PREVIOUS_NOT_AFTER_ANNOTATION]: '2026-01-02T00:00:00Z' }, now);
  t.deepEqual(acceptedCertificates(current, legacy), { serialNumbers: ['4a', '4b'] });
});
