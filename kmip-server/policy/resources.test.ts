import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { createRootCa, issueClientCertificate, selfSignedCertificate } from '../../operator/pki/index.ts';
import { openCertificateAuthority } from '../../operator/pki/ca.ts';
import { clientSubject } from '../../operator/pki/issue.ts';
import { DEFAULT_KEY_SPEC, exportPublicKeySpki, generateKeyPair, signingAlgorithm } from '../../operator/pki/keys.ts';
import { x509 } from '../../operator/pki/provider.ts';
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

/** A client certificate for scope-a/role-a signed by `ca` under the given serial (what any CA's key holder could make). */
async function forgeWithSerial(ca: Awaited<ReturnType<typeof createRootCa>>, serialNumber: string): Promise<string> {
  const opened = await openCertificateAuthority(ca);
  const keys = await generateKeyPair(DEFAULT_KEY_SPEC);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: clientSubject('scope-a', 'role-a'),
    issuer: opened.signer.name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: await exportPublicKeySpki(keys.publicKey),
    signingKey: opened.signer.privateKey,
    signingAlgorithm: signingAlgorithm(opened.signer.keySpec),
    extensions: [new x509.AuthorityKeyIdentifierExtension(opened.signer.keyId)],
  });
  return cert.toString('pem');
}

test("another bundle CA's certificate under a credential's serial is refused: the serial is bound to the certificate's fingerprint", async (t) => {
  const ours = await createRootCa({ commonName: 'kube-kmip test CA' });
  const issuer = await createRootCa({ commonName: 'cert-manager issuer CA' });
  const bundle = [new X509Certificate(ours.certificatePem), new X509Certificate(issuer.certificatePem)];
  const genuine = await issueClientCertificate(ours, { scopeId: 'scope-a', roleId: 'role-a' });
  const forgedPem = await forgeWithSerial(issuer, genuine.serialNumber);
  const forged = describePeer(new X509Certificate(forgedPem), bundle);
  t.true(forged.issuedByCa, 'the forgery chains to a CA of the bundle');
  t.is(forged.serialNumber, genuine.serialNumber);
  t.not(forged.fingerprint, genuine.fingerprintSha256);

  const { snapshot, problems } = policyFromResources(tenants(
    cred('team-a', 'app', {}, { serialNumber: genuine.serialNumber, serialNumbers: [genuine.serialNumber], certificateFingerprints: [genuine.fingerprintSha256] }),
  ));
  t.deepEqual(problems, []);
  t.is(authenticate(forged, snapshot), undefined, 'the forged certificate is refused');
  t.is(authenticate(describePeer(new X509Certificate(genuine.certificatePem), bundle), snapshot)?.credentialName, 'team-a/app', 'the genuine one is accepted');

  // Fingerprints written in another spelling (upper case, colons) still name the certificate.
  const spelled = genuine.fingerprintSha256.toUpperCase().match(/../g)!.join(':');
  const { snapshot: s2 } = policyFromResources(tenants(cred('team-a', 'app', {}, { serialNumbers: [genuine.serialNumber], certificateFingerprints: [spelled] })));
  t.is(authenticate(describePeer(new X509Certificate(genuine.certificatePem), bundle), s2)?.credentialName, 'team-a/app');
});

test('a previous certificate listed in status stays accepted by serial and fingerprint; an empty fingerprint list accepts none', async (t) => {
  const ca = await createRootCa({ commonName: 'kube-kmip test CA' });
  const bundle = [new X509Certificate(ca.certificatePem)];
  const previous = await issueClientCertificate(ca, { scopeId: 'scope-a', roleId: 'role-a' });
  const current = await issueClientCertificate(ca, { scopeId: 'scope-a', roleId: 'role-a' });
  const { snapshot } = policyFromResources(tenants(cred('team-a', 'app', {}, {
    serialNumber: current.serialNumber, serialNumbers: [current.serialNumber, previous.serialNumber],
    certificateFingerprints: [current.fingerprintSha256, previous.fingerprintSha256],
  })));
  for (const c of [current, previous]) t.is(authenticate(describePeer(new X509Certificate(c.certificatePem), bundle), snapshot)?.credentialName, 'team-a/app');
  const { snapshot: none } = policyFromResources(tenants(cred('team-a', 'app', {}, { serialNumbers: [current.serialNumber], certificateFingerprints: [] })));
  t.is(authenticate(describePeer(new X509Certificate(current.certificatePem), bundle), none), undefined);
});

test('a status without certificateFingerprints (an older operator) still works by serial, and is reported', async (t) => {
  const ours = await createRootCa({ commonName: 'kube-kmip test CA' });
  const genuine = await issueClientCertificate(ours, { scopeId: 'scope-a', roleId: 'role-a' });
  const { snapshot, problems } = policyFromResources(tenants(cred('team-a', 'app', {}, { serialNumber: genuine.serialNumber, serialNumbers: [genuine.serialNumber] })));
  const peer = describePeer(new X509Certificate(genuine.certificatePem), [new X509Certificate(ours.certificatePem)]);
  t.is(authenticate(peer, snapshot)?.credentialName, 'team-a/app');
  t.deepEqual(problems.map((p) => p.resource), ['KmipClientCredential team-a/app']);
  t.regex(problems[0]!.message, /no certificateFingerprints/);
});

test('a malformed status.certificateFingerprints grants nothing', async (t) => {
  const ours = await createRootCa({ commonName: 'kube-kmip test CA' });
  const genuine = await issueClientCertificate(ours, { scopeId: 'scope-a', roleId: 'role-a' });
  const { snapshot, problems } = policyFromResources(tenants(cred('team-a', 'app', {}, { serialNumbers: [genuine.serialNumber], certificateFingerprints: ['not-hex'] })));
  t.is(authenticate(describePeer(new X509Certificate(genuine.certificatePem), [new X509Certificate(ours.certificatePem)]), snapshot), undefined);
  t.regex(problems.map((p) => p.message).join(), /unreadable certificate data/);
});

test('spec.notifications subscribes a credential to Notify/Put; a malformed endpoint subscribes nothing', (t) => {
  const ok = policyFromResources(tenants(cred('team-a', 'agent', { notifications: { endpoint: 'agent.team-a.svc:5696' } }, { serialNumber: '0a', certificateFingerprints: [] })));
  t.deepEqual([...ok.snapshot.bySerial.values()][0]?.notifications, { endpoint: 'agent.team-a.svc:5696' });
  t.deepEqual(ok.problems, []);
  const bad = policyFromResources(tenants(cred('team-a', 'agent', { notifications: { endpoint: 'https://agent' } }, { serialNumber: '0a', certificateFingerprints: [] })));
  t.is([...bad.snapshot.bySerial.values()][0]?.notifications, undefined);
  t.regex(bad.problems.map((p) => p.message).join(), /notifications\.endpoint must be host:port/);
  const none = policyFromResources(tenants(cred('team-a', 'agent', {}, { serialNumber: '0a', certificateFingerprints: [] })));
  t.false('notifications' in [...none.snapshot.bySerial.values()][0]!);
});
