import test from 'ava';
import type { KmipClientCredential } from '../api/index.ts';
import { desiredCertificate, goDuration, privateSecretName } from './credential-certmanager.ts';

const cred = (issuerRef: KmipClientCredential['spec']['issuerRef']): KmipClientCredential => ({
  apiVersion: 'kubekmip.io/v1alpha1',
  kind: 'KmipClientCredential',
  metadata: { name: 'app', namespace: 'team', uid: 'cred-uid', generation: 1 },
  spec: { scopeRef: { name: 's' }, roleRef: { name: 'r' }, issuerRef },
});
const ids = { scopeId: 'scope-uid', roleId: 'role-uid' };

test('the Certificate carries the kube-kmip identity, client auth, the key spec and a third of the lifetime as renewBefore', (t) => {
  const c = desiredCertificate(cred({ name: 'ca', kind: 'ClusterIssuer' }), ids, { type: 'ec', curve: 'P-384' }, 720 * 3_600_000, 'app-secret');
  t.is(c.metadata?.name, 'app');
  t.deepEqual(c.metadata?.ownerReferences?.map((o) => [o.uid, o.controller]), [['cred-uid', true]]);
  t.is(c.spec?.commonName, 'role-uid');
  t.deepEqual(c.spec?.subject, { organizationalUnits: ['scope-uid'] });
  t.deepEqual(c.spec?.usages, ['client auth', 'digital signature']);
  t.deepEqual(c.spec?.privateKey, { algorithm: 'ECDSA', size: 384, encoding: 'PKCS8', rotationPolicy: 'Always' });
  t.is(c.spec?.duration, '720h');
  t.is(c.spec?.renewBefore, '240h');
  t.deepEqual(c.spec?.issuerRef, { name: 'ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  t.is(c.spec?.secretName, 'app-secret-cert-manager');
  t.deepEqual(c.spec?.secretTemplate?.labels, { 'kubekmip.io/credential-uid': 'cred-uid' });
  t.deepEqual(c.spec?.secretTemplate?.annotations, { 'kubekmip.io/credential': 'team/app' });
});

test('an RSA key adds key encipherment; the issuer kind and group default as in the CRD', (t) => {
  const c = desiredCertificate(cred({ name: 'ca' }), ids, { type: 'rsa', bits: 4096 }, 3_600_000, 'x');
  t.deepEqual(c.spec?.usages, ['client auth', 'digital signature', 'key encipherment']);
  t.deepEqual(c.spec?.privateKey, { algorithm: 'RSA', size: 4096, encoding: 'PKCS8', rotationPolicy: 'Always' });
  t.deepEqual(c.spec?.issuerRef, { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' });
  t.is(c.spec?.renewBefore, '20m');
});

test('durations are Go durations', (t) => {
  t.is(goDuration(3_600_000), '1h');
  t.is(goDuration(90 * 60_000), '90m');
  t.is(goDuration(1_000 * 4_000), '4000s');
  t.is(goDuration(Math.floor((25 * 3_600_000) / 3)), '500m');
});

test('cert-manager\'s Secret name stays a valid Secret name for the longest secretName', (t) => {
  const long = `a${'b.c-d'.repeat(50)}e`.slice(0, 253);
  const name = privateSecretName(long);
  t.true(name.length <= 253, `${name.length} characters`);
  t.regex(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
  t.true(name.endsWith('-cert-manager'));
  t.not(privateSecretName(`${long.slice(0, 252)}x`), name, 'different names stay different');
});
