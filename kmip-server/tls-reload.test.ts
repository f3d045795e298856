/**
 * `serve --tls-reload-interval-ms`: a server certificate replaced on disk is used for new
 * connections without a restart; a half-written set (a key that does not match the certificate)
 * is refused with a warning and the running certificate stays.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { generateKeyPair, exportPrivateKeyPem, issueServerCertificate, loadCertificateAuthority } from '../operator/pki/index.ts';
import { MAIN, REPO_ROOT, startDevServer, tempDir } from '../test/helpers/dev-server.ts';
import { waitFor } from '../test/helpers/kmip.ts';

/** The certificate the server presents to a client with the admin credential, or the handshake error. */
function presented(port: number, cred: { caPem: string; certPem: string; keyPem: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cred.caPem, cert: cred.certPem, key: cred.keyPem }, () => {
      const fp = new X509Certificate(s.getPeerX509Certificate()!.raw).fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
  });
}

test('a renewed certificate is served without a restart; a key that does not match is refused and the old one stays', async (t) => {
  t.timeout(90_000);
  // The dev bootstrap gives a CA, a server certificate and manifests; serve runs on them.
  const dev = await startDevServer(t);
  await dev.stop();
  const d = dev.dataDir;
  const tlsDir = await tempDir(t);
  await copyFile(join(d, 'pki', 'server.pem'), join(tlsDir, 'tls.crt'));
  await copyFile(join(d, 'pki', 'server-key.pem'), join(tlsDir, 'tls.key'));
  await copyFile(join(d, 'pki', 'ca.pem'), join(tlsDir, 'ca.crt'));
  const child = spawn(process.execPath, [
    MAIN, 'serve', '--listen', '127.0.0.1:0', '--manifests', join(d, 'manifests'), '--data-dir', d,
    '--tls-cert', join(tlsDir, 'tls.crt'), '--tls-key', join(tlsDir, 'tls.key'), '--client-ca', join(tlsDir, 'ca.crt'),
    '--tls-reload-interval-ms', '200',
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let out = '';
  let err = '';
  child.stdout!.on('data', (s) => { out += s; });
  child.stderr!.on('data', (s) => { err += s; });
  await waitFor('the server to listen', () => /listening on \S+:\d+/.test(out), 30_000);
  const port = Number(/listening on \S+:(\d+)/.exec(out)![1]);
  const cred = dev.credentials;
  const original = await presented(port, cred);
  t.is(original, new X509Certificate(await readFile(join(d, 'pki', 'server.pem'))).fingerprint256);

  // Half a renewal: a new key beside the old certificate. Refused, logged, the old pair stays.
  const stray = await generateKeyPair();
  await writeFile(join(tlsDir, 'tls.key'), await exportPrivateKeyPem(stray.privateKey));
  await waitFor('a warning about the files', () => /do not load/.test(err), 10_000);
  t.is(await presented(port, cred), original, 'still the old certificate');
  t.false(err.includes('PRIVATE KEY'), 'no key material in the log');

  // The whole renewal: served to the next connection, the process never restarted.
  const ca = await loadCertificateAuthority({
    certificatePem: await readFile(join(d, 'pki', 'ca.pem'), 'utf8'),
    privateKeyPem: await readFile(join(d, 'pki', 'ca-key.pem'), 'utf8'),
  });
  const renewed = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await writeFile(join(tlsDir, 'tls.crt'), renewed.certificatePem);
  await writeFile(join(tlsDir, 'tls.key'), renewed.privateKeyPem);
  const want = new X509Certificate(renewed.certificatePem).fingerprint256;
  let seen = '';
  await waitFor('the renewed certificate', async () => (seen = await presented(port, cred)) === want, 10_000);
  t.is(seen, want);
  t.is(child.exitCode, null);
});
