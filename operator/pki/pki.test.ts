import test from 'ava';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, webcrypto } from 'node:crypto';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { x509 } from './provider.ts';
import {
  canonicalFingerprint,
  canonicalSerialNumber,
  createCsr,
  createIntermediateCa,
  createRootCa,
  describeKeySpec,
  exportPrivateKeyPem,
  generateKeyPair,
  identityFromCertificate,
  importPrivateKeyPem,
  issueClientCertificate,
  issueServerCertificate,
  joinPem,
  loadCertificateAuthority,
  parseKeySpec,
  pemCertificates,
  pemDecode,
  pemEncode,
  selfSignedCertificate,
  signCsr,
  type CertificateAuthority,
  type IssuedCertificate,
  type KeySpec,
} from './index.ts';

const SERIAL = /^[4-7][0-9a-f]{31}$/;
const FINGERPRINT = /^[0-9a-f]{64}$/;

function nodeCert(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

function ekus(pem: string): string[] {
  const u = new x509.X509Certificate(pem).getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  return Array.from(u, String);
}

function keyUsage(pem: string): number | undefined {
  return new x509.X509Certificate(pem).getExtension(x509.KeyUsagesExtension)?.usages;
}

/** Signs with the private key PEM and verifies with the certificate: the pair belongs together. */
function assertKeyMatches(t: import('ava').ExecutionContext, privateKeyPem: string, certificatePem: string): void {
  const data = Buffer.from('proof of possession');
  const signature = sign('sha256', data, createPrivateKey(privateKeyPem));
  t.true(verify('sha256', data, nodeCert(certificatePem).publicKey, signature));
}

// ---------------------------------------------------------------------------------------------
// Chains for every key spec

const specs: KeySpec[] = [
  { type: 'ec', curve: 'P-256' },
  { type: 'ec', curve: 'P-384' },
  { type: 'ec', curve: 'P-521' },
  { type: 'rsa', bits: 2048 },
  { type: 'rsa', bits: 3072 },
];

for (const keySpec of specs) {
  test(`root → intermediate → server/client chain verifies for ${describeKeySpec(keySpec)}`, async (t) => {
    const root = await createRootCa({ commonName: 'Test Root', keySpec, ttlDays: 30 });
    const inter = await createIntermediateCa(root, { commonName: 'Test Intermediate', keySpec, ttlDays: 20 });
    const server = await issueServerCertificate(inter, { dnsNames: ['kmip.example'], keySpec, ttlDays: 10 });
    const client = await issueClientCertificate(inter, { scopeId: 'scope-1', roleId: 'role-1', keySpec, ttlDays: 10 });

    const r = nodeCert(root.certificatePem);
    const i = nodeCert(inter.certificatePem);
    t.true(r.ca && i.ca);
    t.true(r.checkIssued(r) && r.verify(r.publicKey), 'root is self-signed');
    t.true(i.checkIssued(r) && i.verify(r.publicKey), 'intermediate signed by root');
    for (const leaf of [server, client]) {
      const l = nodeCert(leaf.certificatePem);
      t.false(l.ca);
      t.true(l.checkIssued(i) && l.verify(i.publicKey), 'leaf signed by intermediate');
      t.false(l.verify(r.publicKey));
      t.deepEqual(leaf.keySpec, keySpec);
      assertKeyMatches(t, leaf.privateKeyPem, leaf.certificatePem);
      // chain: issuing intermediate first, root last
      const chain = pemCertificates(leaf.chainPem).map((der) => new X509Certificate(der).fingerprint256);
      t.deepEqual(chain, [i.fingerprint256, r.fingerprint256]);
    }
    const pk = createPublicKey(client.certificatePem);
    if (keySpec.type === 'ec') t.is(pk.asymmetricKeyDetails?.namedCurve, { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[keySpec.curve]);
    else t.is(pk.asymmetricKeyDetails?.modulusLength, keySpec.bits);
    t.deepEqual((await importPrivateKeyPem(root.privateKeyPem)).keySpec, keySpec);
  });
}

test('RSA 4096 CA issues and its chain verifies', async (t) => {
  const root = await createRootCa({ commonName: 'RSA 4096 Root', keySpec: { type: 'rsa', bits: 4096 } });
  const client = await issueClientCertificate(root, { scopeId: 's', roleId: 'r' });
  t.deepEqual(root.keySpec, { type: 'rsa', bits: 4096 });
  t.deepEqual(client.keySpec, { type: 'ec', curve: 'P-256' }, 'leaf default key spec is EC P-256');
  const r = nodeCert(root.certificatePem);
  t.true(nodeCert(client.certificatePem).checkIssued(r));
  t.true(nodeCert(client.certificatePem).verify(r.publicKey));
});

test('defaults: EC P-256 keys, root CA for 10 years, leaves for 1 year', async (t) => {
  const root = await createRootCa({ commonName: 'Defaults' });
  t.deepEqual(root.keySpec, { type: 'ec', curve: 'P-256' });
  const years = (d: Date, from: Date) => (d.getTime() - from.getTime()) / (365 * 86400_000);
  t.true(Math.abs(years(root.notAfter, new Date()) - 3650 / 365) < 0.01);
  const client = await issueClientCertificate(root, { scopeId: 's', roleId: 'r' });
  t.deepEqual(client.keySpec, { type: 'ec', curve: 'P-256' });
  t.true(Math.abs(years(client.notAfter, new Date()) - 1) < 0.01);
  t.true(client.notBefore.getTime() < Date.now(), 'notBefore backdated for clock skew');
});

// ---------------------------------------------------------------------------------------------
// Extensions

test('CA extensions: basicConstraints CA, keyCertSign|cRLSign, SKI/AKI linkage, pathLength', async (t) => {
  const root = await createRootCa({ commonName: 'Root', organization: 'kube-kmip' });
  const inter = await createIntermediateCa(root, { commonName: 'Inter' });
  const r = new x509.X509Certificate(root.certificatePem);
  const i = new x509.X509Certificate(inter.certificatePem);
  t.is(r.subject, 'O=kube-kmip, CN=Root');
  for (const c of [r, i]) {
    const bc = c.getExtension(x509.BasicConstraintsExtension)!;
    t.true(bc.ca);
    t.true(bc.critical);
    t.is(c.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  }
  t.is(r.getExtension(x509.BasicConstraintsExtension)!.pathLength, undefined);
  t.is(i.getExtension(x509.BasicConstraintsExtension)!.pathLength, 0);
  const rootSki = r.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  t.is(r.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, rootSki);
  t.is(i.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, rootSki);
  const client = new x509.X509Certificate((await issueClientCertificate(inter, { scopeId: 's', roleId: 'r' })).certificatePem);
  t.is(client.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, i.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
});

test('server certificate: serverAuth and clientAuth EKUs (it also connects to Notify/Put endpoints), DNS and IP SANs, CN = first name', async (t) => {
  const ca = await createRootCa({ commonName: 'CA' });
  const server = await issueServerCertificate(ca, {
    dnsNames: ['localhost', 'kmip.kube-kmip.svc'],
    ipAddresses: ['127.0.0.1', '::1', '10.0.0.7'],
  });
  t.deepEqual(ekus(server.certificatePem), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  t.is(keyUsage(server.certificatePem), x509.KeyUsageFlags.digitalSignature);
  const c = nodeCert(server.certificatePem);
  t.is(c.subject, 'CN=localhost');
  t.is(c.checkHost('kmip.kube-kmip.svc', { subject: 'never' }), 'kmip.kube-kmip.svc');
  t.is(c.checkHost('localhost', { subject: 'never' }), 'localhost');
  t.is(c.checkHost('other.example', { subject: 'never' }), undefined);
  t.is(c.checkIP('127.0.0.1'), '127.0.0.1');
  t.is(c.checkIP('::1'), '::1');
  t.is(c.checkIP('10.0.0.7'), '10.0.0.7');
  t.is(c.checkIP('10.0.0.8'), undefined);
  const rsa = await issueServerCertificate(ca, { ipAddresses: ['127.0.0.1'], keySpec: { type: 'rsa', bits: 2048 } });
  t.is(keyUsage(rsa.certificatePem), x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  t.is(nodeCert(rsa.certificatePem).subject, 'CN=127.0.0.1');
  await t.throwsAsync(issueServerCertificate(ca, {}), { message: /at least one DNS name or IP address/ });
  await t.throwsAsync(issueServerCertificate(ca, { ipAddresses: ['localhost'] }), { message: /not an IP address/ });
});

test('client certificate: subject OU=<scope>, CN=<role>, clientAuth EKU only, no SAN', async (t) => {
  const ca = await createRootCa({ commonName: 'CA' });
  const scopeId = '6f1c7c2e-6a0e-4c59-9a53-0c9d1b0f5a11';
  const roleId = 'b1d7f0a4-3c55-4a55-8f55-2a1f0e7d9c22';
  const client = await issueClientCertificate(ca, { scopeId, roleId });
  const c = new x509.X509Certificate(client.certificatePem);
  t.deepEqual(c.subjectName.toJSON(), [{ OU: [scopeId] }, { CN: [roleId] }], 'OU first, then CN');
  t.deepEqual(ekus(client.certificatePem), [x509.ExtendedKeyUsage.clientAuth]);
  t.is(c.getExtension(x509.SubjectAlternativeNameExtension), null);
  t.false(c.getExtension(x509.BasicConstraintsExtension)!.ca);
  await t.throwsAsync(issueClientCertificate(ca, { scopeId: '', roleId }), { message: /scopeId must be a non-empty string/ });
  await t.throwsAsync(issueClientCertificate(ca, { scopeId, roleId: 'x'.repeat(65) }), { message: /roleId .* at most 64/ });
});

// ---------------------------------------------------------------------------------------------
// Canonical forms

test('serial number and fingerprint canonical forms round-trip through identityFromCertificate', async (t) => {
  const ca = await createRootCa({ commonName: 'CA' });
  const serials = new Set<string>();
  for (let n = 0; n < 8; n++) {
    const client = await issueClientCertificate(ca, { scopeId: `scope-${n}`, roleId: `role-${n}` });
    t.regex(client.serialNumber, SERIAL);
    t.regex(client.fingerprintSha256, FINGERPRINT);
    const c = nodeCert(client.certificatePem);
    t.is(client.serialNumber, c.serialNumber.toLowerCase(), 'equals OpenSSL/Node serial, lowercased');
    t.is(client.fingerprintSha256, c.fingerprint256.replaceAll(':', '').toLowerCase());
    t.is(client.fingerprintSha256, canonicalFingerprint(c.fingerprint256));
    t.is(client.serialNumber, canonicalSerialNumber(c.serialNumber));
    for (const input of [client.certificatePem, c.raw, new Uint8Array(c.raw), Buffer.from(client.certificatePem)]) {
      const id = identityFromCertificate(input);
      t.deepEqual(id, {
        scopeId: `scope-${n}`,
        roleId: `role-${n}`,
        serialNumber: client.serialNumber,
        fingerprintSha256: client.fingerprintSha256,
        notBefore: client.notBefore,
        notAfter: client.notAfter,
      });
    }
    t.is(client.notAfter.getTime(), new Date(c.validTo).getTime(), 'reported dates equal the certificate (whole seconds)');
    t.is(client.notBefore.getTime(), new Date(c.validFrom).getTime());
    serials.add(client.serialNumber);
  }
  t.is(serials.size, 8);
});

test('canonicalSerialNumber normalises spellings and strips leading zero octets', (t) => {
  t.is(canonicalSerialNumber('00:AB:CD'), 'abcd');
  t.is(canonicalSerialNumber('0x0ABC'), '0abc');
  t.is(canonicalSerialNumber('ABC'), '0abc');
  t.is(canonicalSerialNumber('0080'), '80');
  t.is(canonicalSerialNumber('00'), '00');
  t.is(canonicalSerialNumber(new Uint8Array([0x00, 0x80, 0x01])), '8001');
  t.is(canonicalSerialNumber(new Uint8Array([0x01])), '01');
  t.throws(() => canonicalSerialNumber('xyz'), { message: /not a hexadecimal serial/ });
  t.throws(() => canonicalFingerprint('abcd'), { message: /not a SHA-256 fingerprint/ });
});

test('identityFromCertificate refuses certificates without exactly one OU and CN', async (t) => {
  const noOu = await selfSignedCertificate({ commonName: 'just-a-cn' });
  t.throws(() => identityFromCertificate(noOu.certificatePem), { message: /no OU \(the scope id\)/ });
  t.throws(() => identityFromCertificate('not a pem'), { message: /no PEM CERTIFICATE block/ });
});

// ---------------------------------------------------------------------------------------------
// Keys

test('private keys export as PKCS#8 PEM and import back', async (t) => {
  for (const keySpec of [{ type: 'ec', curve: 'P-384' }, { type: 'rsa', bits: 2048 }] as KeySpec[]) {
    const pair = await generateKeyPair(keySpec);
    const pem = await exportPrivateKeyPem(pair.privateKey);
    t.regex(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    const back = await importPrivateKeyPem(pem);
    t.deepEqual(back.keySpec, keySpec);
    t.is(await exportPrivateKeyPem(back.privateKey), pem);
  }
  // SEC1 "EC PRIVATE KEY" (what openssl ecparam writes) is accepted and normalised to PKCS#8
  const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  const imported = await importPrivateKeyPem(sec1);
  t.deepEqual(imported.keySpec, { type: 'ec', curve: 'P-521' });
  t.true((await exportPrivateKeyPem(imported.privateKey)).startsWith('-----BEGIN PRIVATE KEY-----'));
  // unsupported sizes/types are refused with the reason
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await t.throwsAsync(importPrivateKeyPem(small), { message: /unsupported private key RSA 1024/ });
  const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await t.throwsAsync(importPrivateKeyPem(ed), { message: /unsupported private key ED25519/ });
  await t.throwsAsync(importPrivateKeyPem('garbage'), { message: /cannot read private key PEM/ });
});

test('parseKeySpec accepts the usual spellings', (t) => {
  t.deepEqual(parseKeySpec('EC P-256'), { type: 'ec', curve: 'P-256' });
  t.deepEqual(parseKeySpec('ec-p384'), { type: 'ec', curve: 'P-384' });
  t.deepEqual(parseKeySpec('P-521'), { type: 'ec', curve: 'P-521' });
  t.deepEqual(parseKeySpec('RSA 3072'), { type: 'rsa', bits: 3072 });
  t.deepEqual(parseKeySpec('rsa-4096'), { type: 'rsa', bits: 4096 });
  t.throws(() => parseKeySpec('rsa-1024'), { message: /unsupported key spec "rsa-1024"/ });
});

test('pem helpers', (t) => {
  const der = new Uint8Array(100).fill(7);
  const pem = pemEncode('TEST', der);
  t.true(pem.split('\n').every((line) => line.length <= 64));
  t.deepEqual(pemDecode(`junk before\n${pem}junk after`, 'TEST'), der);
  t.is(joinPem('a\n\n', '', 'b'), 'a\nb\n');
});

test('loadCertificateAuthority round-trips and refuses a mismatched key or a non-CA', async (t) => {
  const root = await createRootCa({ commonName: 'Root' });
  const inter = await createIntermediateCa(root, { commonName: 'Inter' });
  const loaded = await loadCertificateAuthority({
    certificatePem: inter.certificatePem,
    privateKeyPem: inter.privateKeyPem,
    chainPem: root.certificatePem,
  });
  t.is(loaded.chainPem, inter.chainPem);
  t.is(loaded.serialNumber, inter.serialNumber);
  t.is(loaded.fingerprintSha256, inter.fingerprintSha256);
  const client = await issueClientCertificate(loaded, { scopeId: 's', roleId: 'r' });
  t.true(nodeCert(client.certificatePem).verify(nodeCert(inter.certificatePem).publicKey));

  await t.throwsAsync(loadCertificateAuthority({ certificatePem: root.certificatePem, privateKeyPem: inter.privateKeyPem }), {
    message: /does not match certificate "CN=Root"/,
  });
  await t.throwsAsync(loadCertificateAuthority({ certificatePem: client.certificatePem, privateKeyPem: client.privateKeyPem }), {
    message: /is not a CA/,
  });
});

// ---------------------------------------------------------------------------------------------
// Validity

test('expired certificates via a past notAfter; leaves never outlive their CA', async (t) => {
  const ca = await createRootCa({ commonName: 'CA', ttlDays: 30 });
  const past = new Date(Date.now() - 86400_000);
  const expired = await issueClientCertificate(ca, { scopeId: 's', roleId: 'r', notAfter: past, ttlDays: 2 });
  t.is(expired.notAfter.getTime(), Math.floor(past.getTime() / 1000) * 1000);
  t.is(expired.notBefore.getTime(), expired.notAfter.getTime() - 2 * 86400_000);
  t.true(identityFromCertificate(expired.certificatePem).notAfter.getTime() < Date.now());

  const future = new Date(Date.now() + 86400_000);
  const notYet = await issueClientCertificate(ca, { scopeId: 's', roleId: 'r', notBefore: future, ttlDays: 1 });
  t.is(notYet.notBefore.getTime(), Math.floor(future.getTime() / 1000) * 1000);

  const capped = await issueClientCertificate(ca, { scopeId: 's', roleId: 'r', ttlDays: 365 });
  t.is(capped.notAfter.getTime(), ca.notAfter.getTime());
  const inter = await createIntermediateCa(ca, { commonName: 'I', ttlDays: 1000 });
  t.is(inter.notAfter.getTime(), ca.notAfter.getTime());

  await t.throwsAsync(issueClientCertificate(ca, { scopeId: 's', roleId: 'r', ttlDays: 0 }), { message: /ttlDays must be a positive/ });
  await t.throwsAsync(issueClientCertificate(ca, { scopeId: 's', roleId: 'r', notBefore: future, notAfter: past }), {
    message: /empty validity window/,
  });
});

// ---------------------------------------------------------------------------------------------
// CSR signing

test('signCsr issues a client certificate for the CSR key with the subject forced to OU/CN', async (t) => {
  const ca = await createRootCa({ commonName: 'CA' });
  const csr = await createCsr({ subject: { commonName: 'i-want-to-be-admin', organizationalUnit: 'other-scope' } });
  t.regex(csr.csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  const signed = await signCsr(ca, csr.csrPem, { scopeId: 'scope-a', roleId: 'role-a', ttlDays: 7 });
  t.false('privateKeyPem' in signed);
  const c = new x509.X509Certificate(signed.certificatePem);
  t.deepEqual(c.subjectName.toJSON(), [{ OU: ['scope-a'] }, { CN: ['role-a'] }]);
  t.deepEqual(ekus(signed.certificatePem), [x509.ExtendedKeyUsage.clientAuth]);
  t.true(nodeCert(signed.certificatePem).verify(nodeCert(ca.certificatePem).publicKey));
  assertKeyMatches(t, csr.privateKeyPem, signed.certificatePem);
  t.regex(signed.serialNumber, SERIAL);
  t.deepEqual(identityFromCertificate(signed.certificatePem).serialNumber, signed.serialNumber);
  t.is(signed.chainPem, ca.chainPem);
  t.deepEqual(signed.keySpec, { type: 'ec', curve: 'P-256' });
});

test('signCsr refuses a key type/size the role does not allow, naming the mismatch', async (t) => {
  const ca = await createRootCa({ commonName: 'CA' });
  const rsa = await createCsr({ keySpec: { type: 'rsa', bits: 2048 } });
  await t.throwsAsync(
    signCsr(ca, rsa.csrPem, { scopeId: 's', roleId: 'r', allowedKeySpecs: [{ type: 'ec', curve: 'P-256' }] }),
    { message: 'CSR key is RSA 2048 but the role requires EC P-256' },
  );
  const p384 = await createCsr({ keySpec: { type: 'ec', curve: 'P-384' } });
  await t.throwsAsync(
    signCsr(ca, p384.csrPem, {
      scopeId: 's',
      roleId: 'r',
      allowedKeySpecs: [{ type: 'ec', curve: 'P-256' }, { type: 'rsa', bits: 3072 }],
    }),
    { message: 'CSR key is EC P-384 but the role requires one of EC P-256, RSA 3072' },
  );
  // allowed: issued
  const ok = await signCsr(ca, rsa.csrPem, { scopeId: 's', roleId: 'r', allowedKeySpecs: [{ type: 'rsa', bits: 2048 }] });
  t.deepEqual(ok.keySpec, { type: 'rsa', bits: 2048 });
});

test('signCsr refuses unsupported keys and CSRs whose signature does not verify', async (t) => {
  const ca = await createRootCa({ commonName: 'CA' });
  // an RSA 1024 CSR (WebCrypto can still make one)
  const weak = (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as webcrypto.CryptoKeyPair;
  const weakCsr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=weak',
    keys: weak,
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  });
  await t.throwsAsync(signCsr(ca, weakCsr.toString('pem'), { scopeId: 's', roleId: 'r' }), {
    message: /^CSR key is RSA 1024, which is not supported/,
  });

  // tamper with the CSR's signature
  const good = await createCsr();
  const der = Buffer.from(pemDecode(good.csrPem, 'CERTIFICATE REQUEST'));
  der[der.length - 5]! ^= 0x01;
  await t.throwsAsync(signCsr(ca, pemEncode('CERTIFICATE REQUEST', der), { scopeId: 's', roleId: 'r' }), {
    message: /CSR signature (does not verify|cannot be verified)/,
  });
  await t.throwsAsync(signCsr(ca, 'nope', { scopeId: 's', roleId: 'r' }), { message: /no PEM "CERTIFICATE REQUEST" block/ });
});

// ---------------------------------------------------------------------------------------------
// Mutual TLS

interface HandshakeResult {
  /** The client read the server's "ok": the server accepted the client certificate. */
  ok: boolean;
  /** Identity of the client certificate the server accepted. */
  serverPeer?: ReturnType<typeof identityFromCertificate>;
  /** The server's TLS error for the connection, if any. */
  serverError?: Error & { code?: string };
  /** Only with rejectUnauthorized false: why the server would have refused the client. */
  authorizationError?: string;
}

async function handshake(
  trust: CertificateAuthority,
  server: IssuedCertificate,
  client: { certificatePem: string; privateKeyPem: string; chainPem: string },
  rejectUnauthorized = true,
): Promise<HandshakeResult> {
  const result: HandshakeResult = { ok: false };
  const srv = tls.createServer({
    key: server.privateKeyPem,
    cert: joinPem(server.certificatePem, server.chainPem),
    ca: trust.certificatePem,
    requestCert: true,
    rejectUnauthorized,
    minVersion: 'TLSv1.2',
  });
  srv.on('secureConnection', (socket) => {
    if (socket.authorized) {
      result.serverPeer = identityFromCertificate(socket.getPeerCertificate().raw);
      socket.end('ok');
    } else {
      result.authorizationError = String(socket.authorizationError);
      socket.end('unauthorized');
    }
  });
  srv.on('tlsClientError', (err) => {
    result.serverError = err;
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: trust.certificatePem,
        key: client.privateKeyPem,
        cert: joinPem(client.certificatePem, client.chainPem),
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (data += d));
      socket.on('error', () => {}); // the outcome is judged by what the client read
      socket.on('close', () => {
        result.ok = data === 'ok';
        resolve();
      });
    });
  } finally {
    await new Promise((resolve) => srv.close(resolve));
  }
  return result;
}

/** Refused by the strict server, and (asked of a lenient server) for `reason`. */
async function assertRefused(
  t: import('ava').ExecutionContext,
  trust: CertificateAuthority,
  server: IssuedCertificate,
  client: { certificatePem: string; privateKeyPem: string; chainPem: string },
  reason: string,
): Promise<void> {
  const strict = await handshake(trust, server, client);
  t.false(strict.ok, 'refused');
  t.is(strict.serverPeer, undefined);
  t.truthy(strict.serverError, 'the server reports a TLS client error');
  const lenient = await handshake(trust, server, client, false);
  t.false(lenient.ok);
  t.is(lenient.authorizationError, reason);
}

test('mutual TLS with issued server and client certificates succeeds', async (t) => {
  const ca = await createRootCa({ commonName: 'mTLS CA' });
  const server = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const client = await issueClientCertificate(ca, { scopeId: 'scope-x', roleId: 'role-y' });
  const r = await handshake(ca, server, client);
  t.true(r.ok, r.serverError?.message);
  t.is(r.serverPeer?.scopeId, 'scope-x');
  t.is(r.serverPeer?.roleId, 'role-y');
  t.is(r.serverPeer?.serialNumber, client.serialNumber);
  t.is(r.serverPeer?.fingerprintSha256, client.fingerprintSha256);
});

test('mutual TLS through an intermediate CA, trusting only the root, RSA client', async (t) => {
  const root = await createRootCa({ commonName: 'Root' });
  const inter = await createIntermediateCa(root, { commonName: 'Issuing CA', keySpec: { type: 'ec', curve: 'P-384' } });
  const server = await issueServerCertificate(inter, { dnsNames: ['localhost'] });
  const client = await issueClientCertificate(inter, { scopeId: 's', roleId: 'r', keySpec: { type: 'rsa', bits: 2048 } });
  const r = await handshake(root, server, client);
  t.true(r.ok, r.serverError?.message);
  t.is(r.serverPeer?.serialNumber, client.serialNumber);
});

test('mutual TLS refuses a self-signed client certificate, even one mimicking a real identity', async (t) => {
  const ca = await createRootCa({ commonName: 'mTLS CA' });
  const server = await issueServerCertificate(ca, { dnsNames: ['localhost'] });
  const forged = await selfSignedCertificate({ scopeId: 'scope-x', roleId: 'role-y' });
  t.deepEqual(pemCertificates(forged.chainPem), pemCertificates(forged.certificatePem));
  await assertRefused(t, ca, server, forged, 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('mutual TLS refuses an expired client certificate', async (t) => {
  const ca = await createRootCa({ commonName: 'mTLS CA' });
  const server = await issueServerCertificate(ca, { dnsNames: ['localhost'] });
  const expired = await issueClientCertificate(ca, { scopeId: 's', roleId: 'r', notAfter: new Date(Date.now() - 3600_000) });
  await assertRefused(t, ca, server, expired, 'CERT_HAS_EXPIRED');
});

test('mutual TLS refuses a client certificate from another CA', async (t) => {
  const ca = await createRootCa({ commonName: 'mTLS CA' });
  const other = await createRootCa({ commonName: 'Other CA' });
  const server = await issueServerCertificate(ca, { dnsNames: ['localhost'] });
  const stranger = await issueClientCertificate(other, { scopeId: 's', roleId: 'r' });
  // the stranger sends its whole chain, root included
  await assertRefused(t, ca, server, stranger, 'SELF_SIGNED_CERT_IN_CHAIN');
});
