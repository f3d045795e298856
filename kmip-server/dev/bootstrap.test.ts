import test from 'ava';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, unlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import {
  identityFromCertificate,
  issueServerCertificate,
  loadCertificateAuthority,
} from '../../operator/pki/index.ts';
import { ensureDevEnvironment, issueDevCredential, serverNames, clientHost } from './bootstrap.ts';
import { policyFromResources } from '../policy/resources.ts';
import type { KubeResource } from '../policy/resources.ts';

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmip-dev-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'data'); // not yet existing: ensureDevEnvironment creates it
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function ini(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
};

async function manifests(dir: string): Promise<Doc[]> {
  const text = await readFile(join(dir, 'dev.yaml'), 'utf8');
  return YAML.parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(path, `${(await stat(path)).mtimeMs} ${await readFile(path, 'utf8')}`);
    }
  }
  return out;
}

test('first run creates every file with the right modes, no KEK', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });

  t.is(await mode(join(D, 'pki/ca.pem')), 0o644);
  t.is(await mode(join(D, 'pki/ca-key.pem')), 0o600);
  t.is(await mode(join(D, 'pki/server.pem')), 0o644);
  t.is(await mode(join(D, 'pki/server-key.pem')), 0o600);
  const cred = join(D, 'credentials/default/admin');
  t.is(env.credentialDir, cred);
  t.true(isAbsolute(env.credentialDir));
  t.is(await mode(join(cred, 'ca.pem')), 0o644);
  t.is(await mode(join(cred, 'cert.pem')), 0o644);
  t.is(await mode(join(cred, 'key.pem')), 0o600);
  t.is(await mode(join(cred, 'client.pem')), 0o600);
  t.is(await mode(join(cred, 'pykmip.conf')), 0o644);
  t.is(env.manifestsDir, join(D, 'manifests'));
  t.true(await exists(join(D, 'manifests/dev.yaml')));
  t.is(env.kekPath, join(D, 'kek'));
  t.false(await exists(env.kekPath), 'the store creates the KEK, not the bootstrap');
  // no temp files left behind
  for (const path of (await snapshot(D)).keys()) t.notRegex(path, /\.tmp$/);

  t.regex(env.scopeId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.regex(env.roleId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.not(env.scopeId, env.roleId);
  t.is(env.caPem, await readFile(join(D, 'pki/ca.pem'), 'utf8'));
  t.is(env.serverCertPem, await readFile(join(D, 'pki/server.pem'), 'utf8'));
  t.is(env.serverKeyPem, await readFile(join(D, 'pki/server-key.pem'), 'utf8'));
});

test('server certificate: issued by the CA, SANs localhost/127.0.0.1/::1 plus the host', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: 'kmip.dev.internal', port: 5696 });
  const ca = new X509Certificate(env.caPem);
  const server = new X509Certificate(env.serverCertPem);
  t.true(ca.ca);
  t.true(server.checkIssued(ca) && server.verify(ca.publicKey));
  t.true(server.checkPrivateKey(createPrivateKey(env.serverKeyPem)));
  for (const name of ['localhost', 'kmip.dev.internal']) t.is(server.checkHost(name, { subject: 'never' }), name);
  for (const ip of ['127.0.0.1', '::1']) t.is(server.checkIP(ip), ip);

  t.deepEqual(serverNames('0.0.0.0'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
  t.deepEqual(serverNames('10.1.2.3'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1', '10.1.2.3'] });
  t.deepEqual(serverNames('localhost'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
  t.is(clientHost('0.0.0.0'), '127.0.0.1');
  t.is(clientHost('::'), '::1');
  t.is(clientHost('[::1]'), '::1');
});

test('the admin credential chains to the CA and carries OU/CN = scope/role ids', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: 'localhost', port: 15696 });
  const dir = env.credentialDir;
  const certPem = await readFile(join(dir, 'cert.pem'), 'utf8');
  const keyPem = await readFile(join(dir, 'key.pem'), 'utf8');
  const ca = new X509Certificate(await readFile(join(dir, 'ca.pem'), 'utf8'));
  t.is(ca.fingerprint256, new X509Certificate(env.caPem).fingerprint256);
  const cert = new X509Certificate(certPem);
  t.true(cert.checkIssued(ca) && cert.verify(ca.publicKey));
  t.true(cert.checkPrivateKey(createPrivateKey(keyPem)));
  t.regex(keyPem, /^-----BEGIN PRIVATE KEY-----/);
  t.is(cert.subject, `OU=${env.scopeId}\nCN=${env.roleId}`);
  const id = identityFromCertificate(certPem);
  t.is(id.scopeId, env.scopeId);
  t.is(id.roleId, env.roleId);
  t.deepEqual(cert.toLegacyObject().ext_key_usage, ['1.3.6.1.5.5.7.3.2']);

  // client.pem: key then certificate
  t.is(await readFile(join(dir, 'client.pem'), 'utf8'), keyPem + certPem);

  const conf = await readFile(join(dir, 'pykmip.conf'), 'utf8');
  t.true(conf.startsWith('[client]\n'));
  t.deepEqual(ini(conf), {
    host: 'localhost',
    port: '15696',
    certfile: join(dir, 'cert.pem'),
    keyfile: join(dir, 'key.pem'),
    ca_certs: join(dir, 'ca.pem'),
    cert_reqs: 'CERT_REQUIRED',
    ssl_version: 'PROTOCOL_SSLv23',
    do_handshake_on_connect: 'True',
    suppress_ragged_eofs: 'True',
  });
});

test('manifests parse into the three kinds with the live serial and fingerprint', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const docs = await manifests(env.manifestsDir);
  t.deepEqual(
    docs.map((d) => d.kind),
    ['KmipScope', 'KmipRole', 'KmipClientCredential'],
  );
  for (const d of docs) {
    t.is(d.apiVersion, 'kubekmip.io/v1alpha1');
    t.is(d.metadata.namespace, 'default');
    t.regex(d.metadata.uid, /^[0-9a-f-]{36}$/);
  }
  const [scope, role, credential] = docs as [Doc, Doc, Doc];
  t.is(scope.metadata.name, 'default');
  t.is(scope.metadata.uid, env.scopeId);
  t.is(role.metadata.name, 'admin');
  t.is(role.metadata.uid, env.roleId);
  t.deepEqual(role.spec, { scopeRef: { name: 'default' }, operations: ['operation_all'] });
  t.is(credential.metadata.name, 'admin');
  t.deepEqual(credential.spec, { scopeRef: { name: 'default' }, roleRef: { name: 'admin' }, secretName: 'admin-kmip' });
  const cert = new X509Certificate(await readFile(join(env.credentialDir, 'cert.pem'), 'utf8'));
  t.is(credential.status!['serialNumber'], cert.serialNumber.toLowerCase());
  t.is(credential.status!['fingerprint'], cert.fingerprint256.replaceAll(':', '').toLowerCase());
  t.is(credential.status!['notAfter'], new Date(cert.validTo).toISOString());
  // Bound to the exact certificate, as the operator's status is: the policy has no complaint about it.
  t.deepEqual(credential.status!['certificateFingerprints'], [cert.fingerprint256.replaceAll(':', '').toLowerCase()]);
  const { problems } = policyFromResources(docs as unknown as KubeResource[]);
  t.deepEqual(problems, []);
});

test('a second run reuses the CA, ids, server and admin certificates and rewrites nothing', async (t) => {
  const D = await tempDir(t);
  const first = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const before = await snapshot(D);
  const second = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  t.deepEqual(second, first);
  t.deepEqual(await snapshot(D), before);
});

test('a host/port change rewrites pykmip.conf and re-issues the server certificate, keeping CA and credential', async (t) => {
  const D = await tempDir(t);
  const first = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const adminCert = await readFile(join(first.credentialDir, 'cert.pem'), 'utf8');
  const second = await ensureDevEnvironment({ dataDir: D, host: 'kmip.example.test', port: 5697 });
  t.is(second.caPem, first.caPem);
  t.is(second.scopeId, first.scopeId);
  t.is(second.roleId, first.roleId);
  t.not(second.serverCertPem, first.serverCertPem);
  t.is(new X509Certificate(second.serverCertPem).checkHost('kmip.example.test', { subject: 'never' }), 'kmip.example.test');
  t.is(await readFile(join(first.credentialDir, 'cert.pem'), 'utf8'), adminCert, 'admin credential kept');
  const conf = ini(await readFile(join(first.credentialDir, 'pykmip.conf'), 'utf8'));
  t.is(conf['host'], 'kmip.example.test');
  t.is(conf['port'], '5697');

  // wildcard listen address: clients connect to loopback; server cert needs no new SAN
  const third = await ensureDevEnvironment({ dataDir: D, host: '0.0.0.0', port: 5697 });
  t.is(ini(await readFile(join(first.credentialDir, 'pykmip.conf'), 'utf8'))['host'], '127.0.0.1');
  t.is(third.serverCertPem, second.serverCertPem);
});

test('a server certificate in the last third of its life, or missing, is re-issued', async (t) => {
  const D = await tempDir(t);
  const first = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const ca = await loadCertificateAuthority({
    certificatePem: await readFile(join(D, 'pki/ca.pem'), 'utf8'),
    privateKeyPem: await readFile(join(D, 'pki/ca-key.pem'), 'utf8'),
  });
  const day = 86400_000;
  const old = await issueServerCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    notBefore: new Date(Date.now() - 10 * day),
    notAfter: new Date(Date.now() + 2 * day),
  });
  await writeFile(join(D, 'pki/server.pem'), old.certificatePem);
  await writeFile(join(D, 'pki/server-key.pem'), old.privateKeyPem, { mode: 0o600 });
  const renewed = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  t.not(renewed.serverCertPem, old.certificatePem);
  t.true(new Date(new X509Certificate(renewed.serverCertPem).validTo).getTime() > Date.now() + 300 * day);
  t.is(renewed.caPem, first.caPem);

  await unlink(join(D, 'pki/server-key.pem'));
  const again = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  t.not(again.serverCertPem, renewed.serverCertPem);
  t.true(new X509Certificate(again.serverCertPem).checkPrivateKey(createPrivateKey(again.serverKeyPem)));
});

test('a lost admin credential is re-issued and the manifest status follows; loose key modes are tightened', async (t) => {
  const D = await tempDir(t);
  const first = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const oldSerial = identityFromCertificate(await readFile(join(first.credentialDir, 'cert.pem'), 'utf8')).serialNumber;
  await unlink(join(first.credentialDir, 'key.pem'));
  await chmod(join(D, 'pki/ca-key.pem'), 0o644);
  const second = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  t.is(second.scopeId, first.scopeId);
  t.is(await mode(join(D, 'pki/ca-key.pem')), 0o600);
  const certPem = await readFile(join(first.credentialDir, 'cert.pem'), 'utf8');
  const id = identityFromCertificate(certPem);
  t.not(id.serialNumber, oldSerial);
  t.true(new X509Certificate(certPem).checkPrivateKey(createPrivateKey(await readFile(join(first.credentialDir, 'key.pem'), 'utf8'))));
  const credential = (await manifests(second.manifestsDir))[2]!;
  t.is(credential.status!['serialNumber'], id.serialNumber);
  t.is(credential.status!['fingerprint'], id.fingerprintSha256);
});

test('extra documents in dev.yaml are preserved', async (t) => {
  const D = await tempDir(t);
  const first = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const path = join(first.manifestsDir, 'dev.yaml');
  const extra = YAML.stringify({
    apiVersion: 'kubekmip.io/v1alpha1',
    kind: 'KmipRole',
    metadata: { name: 'reader', namespace: 'default', uid: '11111111-2222-4333-8444-555555555555' },
    spec: { scopeRef: { name: 'default' }, operations: ['operation_get'] },
  });
  await writeFile(path, `${await readFile(path, 'utf8')}---\n${extra}`);
  await unlink(join(first.credentialDir, 'cert.pem')); // forces a status update
  await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const docs = await manifests(first.manifestsDir);
  t.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    ['KmipScope/default', 'KmipRole/admin', 'KmipClientCredential/admin', 'KmipRole/reader'],
  );
});

test('header credentials a developer adds to the admin credential survive its rewrite; a dev.yaml holding only them is completed', async (t) => {
  const D = await tempDir(t);
  const headerCredentials = [{ username: 'Fred', passwordHash: '$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43) }];
  // What test/conformance/server.ts writes before the first start: the admin credential's spec alone.
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(D, 'manifests'), { recursive: true });
  await writeFile(join(D, 'manifests/dev.yaml'), YAML.stringify({
    apiVersion: 'kubekmip.io/v1alpha1', kind: 'KmipClientCredential', metadata: { name: 'admin', namespace: 'default' },
    spec: { headerCredentials },
  }));
  const first = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const docs = await manifests(first.manifestsDir);
  t.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['KmipClientCredential/admin', 'KmipScope/default', 'KmipRole/admin']);
  const cred = docs[0]!;
  t.deepEqual(cred.spec['headerCredentials'], headerCredentials);
  t.deepEqual(cred.spec['roleRef'], { name: 'admin' });
  t.truthy(cred.metadata.uid);
  await unlink(join(first.credentialDir, 'cert.pem')); // a new certificate: the document is rewritten
  await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const again = (await manifests(first.manifestsDir)).find((d) => d.kind === 'KmipClientCredential')!;
  t.deepEqual(again.spec['headerCredentials'], headerCredentials);
  t.is(again.metadata.uid, cred.metadata.uid);
  t.not(again.status!['serialNumber'], cred.status!['serialNumber']);
});

test('an incomplete CA is an error, never silently replaced', async (t) => {
  const D = await tempDir(t);
  await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  await unlink(join(D, 'pki/ca-key.pem'));
  await t.throwsAsync(ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 }), {
    message: /dev CA is incomplete: .*ca-key\.pem is missing/,
  });
});

test('issueDevCredential issues from the same CA, looking ids up in the manifests', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5800 });
  const readerId = '11111111-2222-4333-8444-555555555555';
  await writeFile(
    join(env.manifestsDir, 'roles.yaml'),
    YAML.stringify({
      apiVersion: 'kubekmip.io/v1alpha1',
      kind: 'KmipRole',
      metadata: { name: 'reader', namespace: 'default', uid: readerId },
      spec: { scopeRef: { name: 'default' }, operations: ['operation_get'] },
    }),
  );
  const reader = await issueDevCredential(D, { scope: 'default', role: 'reader', name: 'reader' });
  t.is(reader.credentialDir, join(D, 'credentials/default/reader'));
  t.is(reader.scopeId, env.scopeId);
  t.is(reader.roleId, readerId);
  const certPem = await readFile(join(reader.credentialDir, 'cert.pem'), 'utf8');
  const keyPem = await readFile(join(reader.credentialDir, 'key.pem'), 'utf8');
  const id = identityFromCertificate(certPem);
  t.deepEqual(
    { scopeId: id.scopeId, roleId: id.roleId, serialNumber: id.serialNumber, fingerprintSha256: id.fingerprintSha256, notAfter: id.notAfter },
    { scopeId: env.scopeId, roleId: readerId, serialNumber: reader.serialNumber, fingerprintSha256: reader.fingerprintSha256, notAfter: reader.notAfter },
  );
  const ca = new X509Certificate(env.caPem);
  t.true(new X509Certificate(certPem).verify(ca.publicKey));
  t.is(await mode(join(reader.credentialDir, 'key.pem')), 0o600);
  t.is(await mode(join(reader.credentialDir, 'client.pem')), 0o600);
  t.is(await readFile(join(reader.credentialDir, 'client.pem'), 'utf8'), keyPem + certPem);
  const conf = ini(await readFile(join(reader.credentialDir, 'pykmip.conf'), 'utf8'));
  t.is(conf['port'], '5800', 'host/port default to the admin credential');
  t.is(conf['certfile'], join(reader.credentialDir, 'cert.pem'));

  const expired = await issueDevCredential(D, { scope: 'default', role: 'admin', name: 'expired', expired: true });
  t.true(expired.notAfter.getTime() < Date.now());
  t.is(expired.roleId, env.roleId);

  const explicit = await issueDevCredential(D, { scope: 'other', role: 'x', name: 'c', scopeId: 's-1', roleId: 'r-1' });
  t.is(identityFromCertificate(await readFile(join(explicit.credentialDir, 'cert.pem'), 'utf8')).scopeId, 's-1');

  await t.throwsAsync(issueDevCredential(D, { scope: 'default', role: 'nobody', name: 'n' }), { message: /no KmipRole "nobody"/ });
  await t.throwsAsync(issueDevCredential(D, { scope: '../x', role: 'admin', name: 'n' }), { message: /not usable as a directory name/ });
  const empty = await tempDir(t);
  await t.throwsAsync(issueDevCredential(empty, { scope: 'default', role: 'admin', name: 'n' }), { message: /run ensureDevEnvironment first/ });
});

test('the dev server certificate and admin credential complete a mutual-TLS handshake', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const server = tls.createServer({
    key: env.serverKeyPem,
    cert: env.serverCertPem,
    ca: env.caPem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  let peer: ReturnType<typeof identityFromCertificate> | undefined;
  server.on('secureConnection', (s) => {
    peer = identityFromCertificate(s.getPeerCertificate().raw);
    s.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // client.pem carries key then certificate, the way mongod uses it
  const combined = await readFile(join(env.credentialDir, 'client.pem'), 'utf8');
  const data = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ca: env.caPem,
      key: combined,
      cert: combined,
    });
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
  t.is(data, 'ok');
  t.is(peer?.scopeId, env.scopeId);
  t.is(peer?.roleId, env.roleId);
});

test('--notify-endpoint subscribes the admin credential; the server certificate carries clientAuth (it connects to that endpoint)', async (t) => {
  const D = await tempDir(t);
  const env = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696, notifyEndpoint: '127.0.0.1:7000' });
  t.true((new X509Certificate(env.serverCertPem).keyUsage ?? []).includes('1.3.6.1.5.5.7.3.2'), 'clientAuth');
  const docs = YAML.parseAllDocuments(await readFile(join(D, 'manifests/dev.yaml'), 'utf8')).map((d) => d.toJS());
  const cred = docs.find((d) => d.kind === 'KmipClientCredential');
  t.deepEqual(cred.spec.notifications, { endpoint: '127.0.0.1:7000' });
  // Without the flag the subscription goes again.
  await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const again = YAML.parseAllDocuments(await readFile(join(D, 'manifests/dev.yaml'), 'utf8')).map((d) => d.toJS());
  t.is(again.find((d) => d.kind === 'KmipClientCredential').spec.notifications, undefined);
});

test('a dev server certificate without clientAuth (issued before Notify/Put) is re-issued', async (t) => {
  const D = await tempDir(t);
  await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  const ca = await loadCertificateAuthority({
    certificatePem: await readFile(join(D, 'pki/ca.pem'), 'utf8'),
    privateKeyPem: await readFile(join(D, 'pki/ca-key.pem'), 'utf8'),
  });
  const { signLeaf } = await import('../../operator/pki/issue.ts');
  const { x509 } = await import('../../operator/pki/provider.ts');
  const { generateKeyPair, exportPublicKeySpki, exportPrivateKeyPem } = await import('../../operator/pki/keys.ts');
  const keys = await generateKeyPair();
  const old = await signLeaf(ca, {
    subject: new x509.Name([{ CN: ['localhost'] }]),
    subjectPublicKey: await exportPublicKeySpki(keys.publicKey),
    validity: {},
    defaultTtlDays: 365,
    extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth],
    extraExtensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }], false)],
  });
  await writeFile(join(D, 'pki/server.pem'), old.certificatePem);
  await writeFile(join(D, 'pki/server-key.pem'), await exportPrivateKeyPem(keys.privateKey), { mode: 0o600 });
  const env = await ensureDevEnvironment({ dataDir: D, host: '127.0.0.1', port: 5696 });
  t.not(env.serverCertPem, old.certificatePem);
  t.true((new X509Certificate(env.serverCertPem).keyUsage ?? []).includes('1.3.6.1.5.5.7.3.2'));
});
