import test from 'ava';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { createIntermediateCa, createRootCa, issueClientCertificate, pemCertificates } from '../pki/index.ts';
import { pkcs12 } from './pkcs12.ts';

async function material(keySpec: { type: 'ec'; curve: 'P-256' } | { type: 'rsa'; bits: 2048 }) {
  const root = await createRootCa({ commonName: 'test root' });
  const ca = await createIntermediateCa(root, { commonName: 'test intermediate' });
  const leaf = await issueClientCertificate(ca, { scopeId: 'scope-uid', roleId: 'role-uid', keySpec });
  const certificatesDer = [...pemCertificates(leaf.certificatePem), ...pemCertificates(ca.chainPem)];
  return { leaf, certificatesDer };
}

test('Node reads the keystore back: the key matches the certificate, with the password', async (t) => {
  const { leaf, certificatesDer } = await material({ type: 'ec', curve: 'P-256' });
  const p12 = pkcs12({ privateKeyPem: leaf.privateKeyPem, certificatesDer, password: 's3cret', alias: 'mongod-0' });
  t.notThrows(() => createSecureContext({ pfx: p12, passphrase: 's3cret' }));
  t.throws(() => createSecureContext({ pfx: p12, passphrase: 'wrong' }), { message: /mac verify failure|wrong|invalid/i });
});

test('openssl pkcs12 verifies the MAC and recovers the key and all three certificates', async (t) => {
  const { leaf, certificatesDer } = await material({ type: 'rsa', bits: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'p12-'));
  try {
    const file = join(dir, 'k.p12');
    writeFileSync(file, pkcs12({ privateKeyPem: leaf.privateKeyPem, certificatesDer, password: 'pw-123', alias: 'alias' }));
    const r = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', 'pass:pw-123', '-nodes'], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const certs = pemCertificates(r.stdout);
    t.is(certs.length, 3);
    t.is(new X509Certificate(Buffer.from(certs[0]!)).fingerprint256, new X509Certificate(leaf.certificatePem).fingerprint256);
    const key = createPrivateKey(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/.exec(r.stdout)![0]);
    t.true(createPublicKey(key).equals(new X509Certificate(leaf.certificatePem).publicKey));
    t.regex(r.stdout, /friendlyName: alias/);
    const bad = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', 'pass:nope', '-nodes'], { encoding: 'utf8' });
    t.not(bad.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
