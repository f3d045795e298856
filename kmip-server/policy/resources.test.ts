import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { createRootCa, issueClientCertificate, selfSignedCertificate } from '../../operator/pki/index.ts';
import { authenticate, describePeer } from '../auth/authenticate.ts';
import { policyFromResources, type KubeResource } from './resources.ts';

const scope = (ns: string, name: string, uid: string): KubeResource => ({ kind: 'KmipScope', metadata: { namespace: ns, name, uid } });
const role = (ns: string, name: string, uid: string, scopeName: string): KubeResource => ({
  kind: 'KmipRole', metadata: { namespace: ns, name, uid }, spec: { scopeRef: { name: scopeName }, operations: ['operation_all'] },
});
const cred = (ns: string, name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeResource => ({
  kind: 'KmipClientCredential', metadata: { namespace: ns, name, uid: `${ns}-${name}` },
  spec: { scopeRef: { name: 's' }, roleRef: { name: 'r' }, secretName: name, ...spec }, status,
});
const tenants = (...more: KubeResource[]) => [
  scope('team-a', 's', 'scope-a'), role('team-a', 'r', 'role-a', 's'),
  scope('team-b', 's', 'scope-b'), role('team-b', 'r', 'role-b', 's'),
  ...more,
];

test('an uploaded certificate counts only when status.fingerprint accepts it', async (t) => {
  const own = await selfSignedCertificate({ commonName: 'appliance' });
  const fp = new X509Certificate(own.certificatePem).fingerprint256.replaceAll(':', '').toLowerCase();
  const pending = policyFromResources(tenants(cred('team-a', 'vsphere', { certificate: own.certificatePem })));
  t.is(pending.snapshot.byFingerprint.size, 0);
  t.regex(pending.problems.map((p) => p.message).join(), /not accepted/);
  const accepted = policyFromResources(tenants(cred('team-a', 'vsphere', { certificate: own.certificatePem }, { fingerprint: fp })));
  const peer = describePeer(new X509Certificate(own.certificatePem), []);
  t.is(authenticate(peer, accepted.snapshot)?.scopeId, 'scope-a');
});

test('a certificate claimed by two credentials grants nothing to either', async (t) => {
  const own = await selfSignedCertificate({ commonName: 'appliance' });
  const fp = new X509Certificate(own.certificatePem).fingerprint256.replaceAll(':', '').toLowerCase();
  const { snapshot, problems } = policyFromResources(tenants(
    cred('team-a', 'one', { certificate: own.certificatePem }, { fingerprint: fp }),
    cred('team-b', 'two', { certificate: own.certificatePem }, { fingerprint: fp }),
  ));
  t.is(authenticate(describePeer(new X509Certificate(own.certificatePem), []), snapshot), undefined);
  t.is(problems.filter((p) => /claimed by another credential/.test(p.message)).length, 2);
});

test("pasting another tenant's CA-issued certificate into a credential does not move that client", async (t) => {
  const ca = await createRootCa({ commonName: 'kube-kmip test CA' });
  const issued = await issueClientCertificate(ca, { scopeId: 'scope-a', roleId: 'role-a' });
  const fp = issued.fingerprintSha256;
  const { snapshot } = policyFromResources(tenants(
    cred('team-a', 'app', {}, { serialNumber: issued.serialNumber }),
    cred('team-b', 'thief', { certificate: issued.certificatePem }, { fingerprint: fp }),
  ));
  const peer = describePeer(new X509Certificate(issued.certificatePem), [new X509Certificate(ca.certificatePem)]);
  t.true(peer.issuedByCa);
  const who = authenticate(peer, snapshot);
  t.is(who?.scopeId, 'scope-a');
  t.is(who?.credentialName, 'team-a/app');
});

test('a scope being deleted stays in force under deletionPolicy Retain (its objects hold the deletion), not under Force', (t) => {
  const deleting = (policy?: string): KubeResource => ({
    ...scope('team-a', 's', 'scope-a'),
    metadata: { namespace: 'team-a', name: 's', uid: 'scope-a', deletionTimestamp: '2026-01-01T00:00:00Z' },
    ...(policy ? { spec: { deletionPolicy: policy } } : {}),
  });
  const withScope = (s: KubeResource) => policyFromResources([s, role('team-a', 'r', 'role-a', 's')]).snapshot;
  t.true(withScope(deleting()).scopes.has('scope-a'), 'Retain is the default');
  t.true(withScope(deleting('Retain')).roles.has('role-a'));
  t.false(withScope(deleting('Force')).scopes.has('scope-a'));
  t.false(withScope(deleting('Force')).roles.has('role-a'), 'its roles go with it');
  const goneRole = { ...role('team-a', 'r', 'role-a', 's'), metadata: { namespace: 'team-a', name: 'r', uid: 'role-a', deletionTimestamp: '2026-01-01T00:00:00Z' } };
  t.false(policyFromResources([scope('team-a', 's', 'scope-a'), goneRole]).snapshot.roles.has('role-a'), 'other kinds being deleted grant nothing');
});
