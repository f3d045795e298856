// The HTTPS binding (POST /kmip) of a real dev server: same mutual TLS and credentials as the
// TTLV listener, the body's Content-Type choosing TTLV, JSON or XML.
import test from 'ava';
import https from 'node:https';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueDevCredential } from '../../kmip-server/dev/bootstrap.ts';
import { startDevServer } from '../helpers/dev-server.ts';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });

interface Reply { status: number; type: string; body: string }

function post(port: number, tls: { ca: string; cert?: string; key?: string }, contentType: string, body: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/kmip', servername: 'localhost', headers: { 'content-type': contentType }, ...tls },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const discoverJson = JSON.stringify({
  tag: 'RequestMessage',
  value: [
    { tag: 'RequestHeader', value: [
      { tag: 'ProtocolVersion', value: [
        { tag: 'ProtocolVersionMajor', type: 'Integer', value: 1 },
        { tag: 'ProtocolVersionMinor', type: 'Integer', value: 4 },
      ] },
      { tag: 'BatchCount', type: 'Integer', value: 1 },
    ] },
    { tag: 'BatchItem', value: [{ tag: 'Operation', type: 'Enumeration', value: 'DiscoverVersions' }, { tag: 'RequestPayload', value: [] }] },
  ],
});

const discoverXml = `<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/>
<ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion><BatchCount type="Integer" value="1"/></RequestHeader>
<BatchItem><Operation type="Enumeration" value="DiscoverVersions"/><RequestPayload/></BatchItem></RequestMessage>`;

test('POST /kmip answers JSON and XML in kind, and refuses what it should', async (t) => {
  const port = await freePort();
  const server = await startDevServer(t, { args: ['--http-port', String(port), '--metrics-listen', '127.0.0.1:0'] });
  const metricsAt = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(server.stdout())?.[1];
  const refusals = async () => {
    const text = await (await fetch(metricsAt!)).text();
    return Number(/^kube_kmip_connections_refused_total\{reason="unknown-credential"\} (\d+)$/m.exec(text)?.[1]);
  };
  t.truthy(metricsAt, 'the metrics address is printed');
  t.is(await refusals(), 0);
  const c = server.credentials;
  const admin = { ca: c.caPem, cert: c.certPem, key: c.keyPem };

  const json = await post(port, admin, 'application/json', discoverJson);
  t.is(json.status, 200);
  t.is(json.type, 'application/json');
  const msg = JSON.parse(json.body) as { tag: string; value: Array<{ tag: string; value: unknown }> };
  t.is(msg.tag, 'ResponseMessage');
  t.regex(json.body, /"ResultStatus","type":"Enumeration","value":"Success"/);
  t.regex(json.body, /"ProtocolVersionMinor","type":"Integer","value":4/);

  const xml = await post(port, admin, 'application/xml', discoverXml);
  t.is(xml.status, 200);
  t.regex(xml.body, /<ResultStatus type="Enumeration" value="Success"\/>/);

  t.is((await post(port, admin, 'text/plain', 'hello')).status, 415);
  t.is((await post(port, admin, 'application/json', '{"tag": 1}')).status, 400);
  t.is((await post(port, admin, 'application/octet-stream', Buffer.alloc(2 * 1024 * 1024))).status, 413);

  // A certificate from the dev CA that no credential lists: TLS passes, the binding refuses.
  const orphan = await issueDevCredential(server.dataDir, { scope: 'default', role: 'admin', name: 'orphan' });
  const orphanTls = {
    ca: c.caPem,
    cert: await readFile(join(orphan.credentialDir, 'cert.pem'), 'utf8'),
    key: await readFile(join(orphan.credentialDir, 'key.pem'), 'utf8'),
  };
  t.is((await post(port, orphanTls, 'application/json', discoverJson)).status, 403);
  t.is(await refusals(), 1, 'the refused request is counted');

  // No client certificate: the handshake itself fails.
  await t.throwsAsync(post(port, { ca: c.caPem }, 'application/json', discoverJson));
});
