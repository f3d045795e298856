import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { DEFAULT_KEY_SPEC, issueClientCertificate, pemCertificates } from '../pki/index.ts';
import { CA_KEYS, caSecretData, caStateFromSecret, createCaPair, retiredCa, rootPem, trustBundlePem, type CaState } from './ca.ts';
import { secretContent } from './credential-secret.ts';

const fingerprints = (pem: string) => pemCertificates(pem).map((d) => new X509Certificate(d).fingerprint256);
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

const pairs = Promise.all([createCaPair(DEFAULT_KEY_SPEC), createCaPair(DEFAULT_KEY_SPEC)]);

test('the CA Secret round-trips each rotation phase, and the bundle trusts exactly the chains of that phase', async (t) => {
  const [a, b] = await pairs;
  const stable: CaState = { signing: a.ca, rootKeyPem: a.rootKeyPem };
  const staged: CaState = { ...stable, next: b };
  const switched: CaState = { signing: b.ca, rootKeyPem: b.rootKeyPem, previous: retiredCa(a.ca.chainPem) };
  for (const [name, state, keys, bundle] of [
    ['stable', stable, ['bundle.crt', 'ca.crt', 'root.key', 'tls.crt', 'tls.key'], [a.ca.chainPem]],
    ['staged', staged, ['bundle.crt', 'ca.crt', 'next-root.key', 'next.crt', 'next.key', 'root.key', 'tls.crt', 'tls.key'], [a.ca.chainPem, b.ca.chainPem]],
    ['switched', switched, ['bundle.crt', 'ca.crt', 'previous.crt', 'root.key', 'tls.crt', 'tls.key'], [b.ca.chainPem, a.ca.chainPem]],
  ] as const) {
    const data = caSecretData(state);
    t.deepEqual(Object.keys(data).sort(), [...keys], `${name}: keys`);
    t.deepEqual(fingerprints(unb64(data[CA_KEYS.bundle])), bundle.flatMap(fingerprints), `${name}: bundle.crt`);
    t.is(unb64(data[CA_KEYS.root]), rootPem(state.signing.chainPem), `${name}: ca.crt is the signing root`);
    const back = await caStateFromSecret({ metadata: { name: 'ca' }, data }, 'test');
    t.is(back.signing.fingerprintSha256, state.signing.fingerprintSha256, `${name}: signing CA`);
    t.is(back.next?.ca.fingerprintSha256, state.next?.ca.fingerprintSha256, `${name}: staged CA`);
    t.is(back.previous?.fingerprintSha256, state.previous?.fingerprintSha256, `${name}: previous CA`);
    t.is(trustBundlePem(back), unb64(data[CA_KEYS.bundle]), `${name}: same bundle after reading back`);
    t.false(unb64(data[CA_KEYS.bundle]).includes('PRIVATE KEY'), `${name}: the bundle holds certificates only`);
  }
});

test('a CA Secret whose staged key does not match its certificate is refused, naming the key but not its content', async (t) => {
  const [a, b] = await pairs;
  const data = caSecretData({ signing: a.ca, rootKeyPem: a.rootKeyPem, next: { ca: { ...b.ca, privateKeyPem: a.ca.privateKeyPem }, rootKeyPem: b.rootKeyPem } });
  const err = await t.throwsAsync(caStateFromSecret({ metadata: { name: 'ca' }, data }, 'Secret ns/ca'));
  t.regex(err!.message, /Secret ns\/ca .*next\.crt/);
  t.false(err!.message.includes('PRIVATE KEY'));
});

test('a credential Secret carries the whole trust bundle in ca.crt, and only its own chain in tls.crt', async (t) => {
  const [a, b] = await pairs;
  const leaf = await issueClientCertificate(a.ca, { scopeId: 's', roleId: 'r' });
  const bundle = trustBundlePem({ signing: a.ca, next: b });
  const c = secretContent({ certificateDer: pemCertificates(leaf.certificatePem)[0]!, issuedHere: true, privateKeyPem: leaf.privateKeyPem }, a.ca, ['pem'], 'c', undefined, bundle);
  t.deepEqual(fingerprints(unb64(c.data['ca.crt'])), [...fingerprints(a.ca.chainPem), ...fingerprints(b.ca.chainPem)]);
  // tls.crt: the leaf and the intermediate that signed it, nothing of the staged CA.
  t.deepEqual(fingerprints(unb64(c.data['tls.crt'])), [...fingerprints(leaf.certificatePem), fingerprints(a.ca.chainPem)[0]!]);
});
