/**
 * The runner end to end against a stub TLS server that plays back a vector's expected responses (with the
 * variables filled in), plus the report and the file-name rules. The stub lives here, in a test, only.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as https from 'node:https';
import { createPublicKey } from 'node:crypto';
import { rsaEncrypt } from '../../kmip-server/crypto/rsa-cipher.ts';
import { HashingAlgorithm, MaskGenerator, PaddingMethod } from '../../kmip-server/ttlv/enums.ts';
import { Framer } from '../../kmip-server/ttlv/framer.ts';
import { encode } from '../../kmip-server/ttlv/writer.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { elementToTtlv, fromXml, toXml } from '../../kmip-server/ttlv/xml.ts';
import { fromJson, toJson } from '../../kmip-server/ttlv/json.ts';
import { decode } from '../../kmip-server/ttlv/reader.ts';
import { KmipClient, requestMessage, V1_4 } from '../../kmip-server/client/client.ts';
import { formatReport, httpEncodingOf, runFile, summaryLine, requiredFailures, type FileResult, type Target } from './runner.ts';
import { familyOf, findVectorsDir, listVectorFiles, readVectorSteps, type VectorFile } from './vectors.ts';
import { skipReason } from './skips.ts';
import { oaepKeysOf } from './oaep.ts';
import { startPushListener, type PushListener } from './push-listener.ts';

// ---------------------------------------------------------------------------------------------------------------
// Certificates for the stub (openssl), made once.

interface Pki { dir: string; ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string }

function makePki(): Pki | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-stub-pki-'));
  const o = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  try {
    o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stub-ca');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    o('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    o('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
    o('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client');
    o('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const r = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return { dir, ca: r('ca.pem'), serverCert: r('server.pem'), serverKey: r('server.key'), clientCert: r('client.pem'), clientKey: r('client.key') };
}

const pki = makePki();
test.after.always(() => {
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

/** A value for every variable a stub response needs: stable per name, so reuse is consistent. */
function stubValue(name: string, type: number, tag: number): TtlvItem | undefined {
  const now = /^NOW(?:([+-])(\d+))?$/.exec(name);
  if (now) {
    const off = now[1] === undefined ? 0 : (now[1] === '-' ? -1 : 1) * Number(now[2]);
    return { tag, type: ItemType.DateTime, value: Math.floor(Date.now() / 1000) + off };
  }
  if (type === ItemType.TextString) return { tag, type, value: `stub-${name.toLowerCase()}` };
  if (type === ItemType.ByteString) return { tag, type, value: new Uint8Array(Buffer.from(name)) };
  return undefined;
}

type Tamper = (response: TtlvItem, index: number) => TtlvItem;

/** Where the stub sends a vector's server-to-client requests (the runner's push listener), and how it may change them. */
interface PushTarget {
  endpoint: { host: string; port: number };
  /** The request(s) to send instead of the vector's (none: nothing is sent). */
  tamper?: (request: TtlvItem, stepIndex: number) => TtlvItem | TtlvItem[] | undefined;
}

/** Sends one request over a TLS connection to the push listener (as the server would) and reads the answer. */
function pushOver(sock: tls.TLSSocket, request: TtlvItem): Promise<TtlvItem> {
  return new Promise((resolve, reject) => {
    const framer = new Framer(1 << 22);
    const onData = (chunk: Buffer): void => {
      const frames = framer.push(chunk);
      if (frames.length > 0) {
        sock.off('data', onData);
        resolve(decode(frames[0]!));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(encode(request));
  });
}

async function connectPush(target: PushTarget): Promise<tls.TLSSocket> {
  if (!pki) throw new Error('no PKI');
  return await new Promise((resolve, reject) => {
    const s = tls.connect({ ...target.endpoint, ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, checkServerIdentity: () => undefined }, () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * A TLS server that answers the Nth request of each connection with the Nth expected response of `file` (a path,
 * or a function naming the file for each new connection).
 */
async function playbackServer(
  file: string | (() => string),
  tamper?: Tamper,
  /** Which step answers the nth request (default: the nth). */
  schedule: (n: number) => number = (n) => n,
  /** Plays the server's side of `[Server-to-Client]` steps too: sends them to the runner's listener. */
  push?: PushTarget,
): Promise<{ target: Target; close: () => Promise<void> }> {
  if (!pki) throw new Error('no PKI');
  const server = tls.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (sock) => {
    const framer = new Framer(1 << 22);
    const all = readVectorSteps(typeof file === 'string' ? file : file());
    // The client's requests are answered in turn; after each answer the server's own requests that follow it go out.
    const steps = all.filter((s) => !s.serverToClient);
    let n = 0;
    let pushSock: tls.TLSSocket | undefined;
    let chain = Promise.resolve();
    sock.on('close', () => pushSock?.destroy());
    sock.on('data', (chunk: Buffer) => {
      for (const _frame of framer.push(chunk)) {
        const step = steps[schedule(n)];
        if (!step?.response) {
          sock.destroy();
          return;
        }
        let resp = elementToTtlv(step.response, { resolveVariable: stubValue });
        if (tamper) resp = tamper(resp, n);
        n++;
        // Answered only after the pushes the previous answer caused went out (the server pushes after its commit).
        chain = chain.then(async () => {
          sock.write(encode(resp));
          if (!push) return;
          for (let i = step.index + 1; all[i]?.serverToClient; i++) {
            const req = elementToTtlv(all[i]!.request, { resolveVariable: stubValue });
            const sent = push.tamper ? push.tamper(req, i) : req;
            for (const r of sent === undefined ? [] : Array.isArray(sent) ? sent : [sent]) {
              pushSock ??= await connectPush(push);
              await pushOver(pushSock, r);
            }
          }
        }).catch(() => { sock.destroy(); });
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    target: { host: '127.0.0.1', port, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    close: () => new Promise((res) => server.close(() => res())),
  };
}

/** The runner's listener for server-to-client requests, presenting the stub PKI's client certificate. */
async function pushListener(): Promise<PushListener> {
  const l = await startPushListener();
  l.setCredentials({ ca: pki!.ca, cert: pki!.clientCert, key: pki!.clientKey });
  return l;
}

function vector(rel: string): VectorFile | undefined {
  try {
    return listVectorFiles(findVectorsDir()).find((f) => f.rel === rel);
  } catch {
    return undefined;
  }
}

const E2E = [
  'v1.0/TC_311_10_Create_Destroy.xml',
  'v1.4/SKLC-M-1-14.xml',
  'v1.4/CS-BC-M-GCM-1-14.xml',
  'v2.1/mandatory/BL-M-1-21.xml',
  'v2.1/mandatory/AKLC-M-1-21.xml',
];

for (const rel of E2E) {
  test(`a playback of ${rel} passes`, async (t) => {
    const vf = vector(rel);
    if (!pki || !vf) {
      t.log(pki ? `vector ${rel} not found` : 'openssl unavailable');
      t.pass();
      return;
    }
    const stub = await playbackServer(vf.path);
    try {
      const r = await runFile(vf, stub.target, { timeoutMs: 10_000 });
      t.is(r.status, 'passed', JSON.stringify({ mismatch: r.mismatch, error: r.error }));
      t.is(r.requestsSent, r.requests);
    } finally {
      await stub.close();
    }
  });
}

test('every vector file plays back through the runner and the matcher (the vectors agree with themselves)', async (t) => {
  let files: VectorFile[];
  try {
    files = listVectorFiles(findVectorsDir());
  } catch {
    t.log('no vectors');
    t.pass();
    return;
  }
  if (!pki) {
    t.pass();
    return;
  }
  let current = '';
  const listener = await pushListener();
  const stub = await playbackServer(() => current, undefined, undefined, { endpoint: listener });
  const failed: string[] = [];
  try {
    for (const vf of files) {
      current = vf.path;
      const r = await runFile(vf, stub.target, { skips: [], errata: [], timeoutMs: 10_000, repeatTimeoutMs: 0, pushes: listener });
      if (r.status !== 'passed') failed.push(`${vf.rel}: ${JSON.stringify(r.mismatch ?? r.error)}`);
    }
  } finally {
    await stub.close();
    await listener.close();
  }
  t.log(`${files.length} files played back`);
  t.deepEqual(failed, []);
});

const NP = 'v1.0/TC_NP_2_10_Notify_Put.xml';

/** Replaces the first TextString leaf equal to `from` anywhere in `item`. */
function replaceText(item: TtlvItem, from: string, to: string): TtlvItem {
  let done = false;
  const walk = (i: TtlvItem): TtlvItem => {
    if (done) return i;
    if (i.type === ItemType.TextString && i.value === from) {
      done = true;
      return { ...i, value: to };
    }
    if (i.type === ItemType.Structure) return { ...i, value: i.value.map(walk) };
    return i;
  };
  return walk(item);
}

test('[Server-to-Client] steps: the server\'s Put and Notify are received, matched and answered; a wrong one, a missing one and one about another object are told apart', async (t) => {
  const vf = vector(NP);
  if (!pki || !vf) {
    t.pass();
    return;
  }
  const listener = await pushListener();
  t.teardown(() => listener.close());
  const run = async (tamper?: PushTarget['tamper']): Promise<FileResult> => {
    const stub = await playbackServer(vf.path, undefined, undefined, { endpoint: listener, ...(tamper ? { tamper } : {}) });
    try {
      return await runFile(vf, stub.target, { timeoutMs: 10_000, pushes: listener, pushTimeoutMs: 1500 });
    } finally {
      await stub.close();
    }
  };
  const before = listener.received();
  const ok = await run();
  t.is(ok.status, 'passed', JSON.stringify({ mismatch: ok.mismatch, error: ok.error }));
  t.is(listener.received() - before, 4, 'one Put and three Notify went through the listener');

  // The Notify after Modify Attribute (step index 5) carries the wrong value.
  const wrong = await run((req, i) => (i === 5 ? replaceText(req, 'third   party', 'someone else') : req));
  t.is(wrong.status, 'failed');
  t.is(wrong.mismatch?.operation, 'Notify');
  t.regex(wrong.mismatch?.path ?? '', /RequestPayload\/Attribute/);

  // The Put never comes.
  const missing = await run((req, i) => (i === 1 ? undefined : req));
  t.is(missing.status, 'failed');
  t.is(missing.mismatch?.operation, 'Put');
  t.regex(missing.mismatch?.message ?? '', /sent no request/);

  // A push about an object of no concern to the file comes first: answered, skipped, the file still passes.
  const stray = await run((req, i) => (i === 1 ? [replaceText(req, 'stub-unique_identifier_0', 'another-files-key'), req] : req));
  t.is(stray.status, 'passed', JSON.stringify({ mismatch: stray.mismatch, error: stray.error }));
  // ...whereas the same stray alone is no answer to the step.
  const strayOnly = await run((req, i) => (i === 1 ? replaceText(req, 'stub-unique_identifier_0', 'another-files-key') : req));
  t.regex(strayOnly.mismatch?.message ?? '', /sent no request/);
});

test('pushes while a file without server-to-client steps runs are answered at once and change nothing', async (t) => {
  const vf = vector('v1.0/TC_311_10_Create_Destroy.xml');
  const np = vector(NP);
  if (!pki || !vf || !np) {
    t.pass();
    return;
  }
  const listener = await pushListener();
  t.teardown(() => listener.close());
  // The stub answers TC_311's requests, and after the first answer pushes TC_NP's Put (about another object).
  const steps = readVectorSteps(np.path);
  const put = steps.find((s) => s.serverToClient)!;
  const stub = await playbackServer(vf.path);
  const sock = await connectPush({ endpoint: listener });
  t.teardown(() => sock.destroy());
  const answer = await pushOver(sock, elementToTtlv(put.request, { resolveVariable: stubValue }));
  t.is(answer.type, ItemType.Structure, 'answered at once, nobody holding it');
  try {
    const r = await runFile(vf, stub.target, { timeoutMs: 10_000, pushes: listener });
    t.is(r.status, 'passed');
  } finally {
    await stub.close();
  }
});

test('a [REPEAT] step is polled until the answer turns into the next step\'s', async (t) => {
  const vf = vector('v1.1/TC_92_11_Existing_Key_Expired_Re_key_with_Same_Life_cycle.xml');
  if (!pki || !vf) {
    t.pass();
    return;
  }
  const steps = readVectorSteps(vf.path);
  t.truthy(steps[2]!.repeat);
  // Requests 0-1 as written; request 2 polled three times: "Active", "Active", then "Deactivated" (step 3's answer);
  // then step 3 itself and the rest.
  const answers = [0, 1, 2, 2, 3, ...steps.slice(3).map((s) => s.index)];
  const stub = await playbackServer(vf.path, undefined, (n) => answers[n] ?? 99);
  try {
    const r = await runFile(vf, stub.target, { timeoutMs: 10_000, repeatIntervalMs: 10 });
    t.is(r.status, 'passed', JSON.stringify(r.mismatch ?? r.error));
    // With no time to wait, the same stub fails the next step.
    const r2 = await runFile(vf, stub.target, { timeoutMs: 10_000, repeatTimeoutMs: 0 });
    t.is(r2.status, 'failed');
  } finally {
    await stub.close();
  }
});

test('a tampered Result Reason is caught and reported with its path', async (t) => {
  const vf = vector('v1.4/SKLC-M-2-14.xml') ?? vector('v1.0/TC_41_10_Revoke_Scenario.xml');
  if (!pki || !vf) {
    t.pass();
    return;
  }
  // Change every Result Reason to another value.
  const tamper: Tamper = (resp) => {
    const walk = (i: TtlvItem): TtlvItem =>
      i.type === ItemType.Structure
        ? { ...i, value: i.value.map(walk) }
        : i.tag === 0x42007e && i.type === ItemType.Enumeration
          ? { ...i, value: i.value === 1 ? 2 : 1 }
          : i;
    return walk(resp);
  };
  const steps = readVectorSteps(vf.path);
  const hasReason = steps.some((s) => s.response?.children.some((b) => b.children.some((c) => c.name === 'ResultReason')));
  const stub = await playbackServer(vf.path, tamper);
  try {
    const r = await runFile(vf, stub.target, { timeoutMs: 10_000 });
    if (hasReason) {
      t.is(r.status, 'failed');
      t.regex(r.mismatch?.path ?? '', /ResultReason$/);
      const report = formatReport([r], { verbose: true });
      t.regex(report, /FAIL .*ResultReason: different value/);
      t.true(report.endsWith('conformance: 0 passed, 1 failed, 0 skipped'));
      t.deepEqual(requiredFailures([r], [r.family]).length, 1);
      t.deepEqual(requiredFailures([r], ['NOPE']).length, 0);
    } else {
      t.pass();
    }
  } finally {
    await stub.close();
  }
});

test('a server that closes the connection fails the file', async (t) => {
  const vf = vector('v1.0/TC_311_10_Create_Destroy.xml');
  if (!pki || !vf) {
    t.pass();
    return;
  }
  const server = tls.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true }, (s) => {
    s.on('data', () => s.destroy());
    s.on('error', () => undefined);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await runFile(vf, { host: '127.0.0.1', port, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, { timeoutMs: 5000 });
    t.is(r.status, 'failed');
    t.regex(r.error ?? '', /request 1 \(Create\)/);
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
  }
});

test('the client talks to the stub: create, get and a queue of requests', async (t) => {
  const vf = vector('v1.4/SKLC-M-1-14.xml');
  if (!pki || !vf) {
    t.pass();
    return;
  }
  const stub = await playbackServer(vf.path);
  try {
    const client = await KmipClient.connect({ ...stub.target, version: V1_4 });
    // The stub answers in file order whatever is asked: the first answer is a Create response.
    const uid = await client.create({ algorithm: 'AES', length: 256 });
    t.is(uid, 'stub-unique_identifier_0');
    // Two sends in flight at once are queued and answered in order.
    const req = requestMessage(V1_4, [{ operation: 'Get', payload: [] }]);
    const [a, b] = await Promise.all([client.connection.send(req), client.batch([{ operation: 'Get', payload: [] }])]);
    t.is(a.type, ItemType.Structure);
    t.true(b.items.length > 0);
    await client.close();
    t.true(client.connection.closed);
  } finally {
    await stub.close();
  }
});

test('the MSGENC vectors go over an HTTPS binding in their encoding (TTLV, JSON, XML)', async (t) => {
  const files = ['MSGENC-HTTPS-M-1-14.xml', 'MSGENC-JSON-M-1-14.xml', 'MSGENC-XML-M-1-14.xml'].map((f) => vector(`v1.4/${f}`));
  if (!pki || files.some((f) => f === undefined)) {
    t.pass();
    return;
  }
  for (const vf of files as VectorFile[]) {
    const steps = readVectorSteps(vf.path);
    const seen: string[] = [];
    let n = 0;
    const server = https.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const type = req.headers['content-type'] ?? '';
        seen.push(type);
        const body = Buffer.concat(chunks);
        // The request must be readable in the encoding it claims.
        const request = type === 'application/json' ? fromJson(body.toString('utf8')) : type === 'application/xml' ? fromXml(body.toString('utf8')) : decode(body);
        t.is(request.tag, 0x420078);
        const resp = elementToTtlv(steps[n++]!.response!, { resolveVariable: stubValue });
        const out = type === 'application/json' ? toJson(resp) : type === 'application/xml' ? toXml(resp) : encode(resp);
        res.writeHead(200, { 'content-type': type }).end(out);
      });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    try {
      const target: Target = { host: '127.0.0.1', port: 1, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, http: { host: '127.0.0.1', port } };
      const r = await runFile(vf, target, { timeoutMs: 10_000 });
      t.is(r.status, 'passed', JSON.stringify(r.mismatch ?? r.error));
      const enc = httpEncodingOf(vf);
      t.deepEqual([...new Set(seen)], [enc === 'json' ? 'application/json' : enc === 'xml' ? 'application/xml' : 'application/octet-stream']);
      // Without a binding the same file is skipped, never passed.
      const skipped = await runFile(vf, { ...target, http: undefined } as Target);
      t.is(skipped.status, 'skipped');
    } finally {
      await new Promise<void>((res) => server.close(() => res()));
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Names and report

test('families from file names', (t) => {
  t.is(familyOf('CS-BC-M-GCM-2-14_okms_test0.xml'), 'CS-BC-M-GCM');
  t.is(familyOf('CS-BC-M-12-14_Encrypt_and_Decrypt.xml'), 'CS-BC');
  t.is(familyOf('CS-AC-M-OAEP-10-21.xml'), 'CS-AC-M-OAEP');
  t.is(familyOf('CS-AC-M-3-ECC-13.xml'), 'CS-AC');
  t.is(familyOf('CS_BC_M_14_12_Encrypt.xml'), 'CS-BC');
  t.is(familyOf('SKLC_O_1_10-SymmetricKeysLifecycle_1.xml'), 'SKLC');
  t.is(familyOf('SUITEB_128-M-1-14.xml'), 'SUITEB');
  t.is(familyOf('MSGENC-JSON-M-1-21.xml'), 'MSGENC');
  t.is(familyOf('BL-M-10-21.xml'), 'BL');
  t.is(familyOf('TC-Q-CAP-1-14.xml'), 'TC-Q-CAP');
  t.is(familyOf('TC-STREAM-ENC-1-14.xml'), 'TC-STREAM-ENC');
  t.is(familyOf('TC_311_10_Create_Destroy.xml'), 'TC');
  t.is(familyOf('TC-311-10-CREATE-DESTROY.xml'), 'TC');
  t.is(familyOf('TC_ECC_1_11_Register.xml'), 'TC_ECC');
  t.is(skipReason({ rel: 'v1.4/MSGENC-XML-M-1-14.xml', family: 'MSGENC' })?.includes('HTTP'), true);
  t.is(skipReason({ rel: 'v1.4/SKLC-M-1-14.xml', family: 'SKLC' }), undefined);
});

test('the report ends with the summary line and counts skips apart', (t) => {
  const r = (status: FileResult['status'], family: string, version = 'v1.4'): FileResult => ({
    file: `${version}/${family}-x.xml`, version, family, level: 'M', status, requests: 1, requestsSent: 1, durationMs: 1,
    ...(status === 'skipped' ? { reason: 'not claimed' } : {}),
    ...(status === 'failed' ? { error: 'boom' } : {}),
  });
  const results = [r('passed', 'SKLC'), r('failed', 'SKLC'), r('skipped', 'MSGENC'), r('passed', 'BL', 'v2.1')];
  const text = formatReport(results);
  t.is(text.split('\n').at(-1), 'conformance: 2 passed, 1 failed, 1 skipped');
  t.is(summaryLine(results), 'conformance: 2 passed, 1 failed, 1 skipped');
  t.regex(text, /v1\.4 {2}\(1 passed, 1 failed, 1 skipped\)/);
  t.regex(text, /not claimed/);
  t.notRegex(text, /FAIL/);
  t.regex(formatReport(results, { verbose: true }), /FAIL v1\.4\/SKLC-x\.xml: boom/);
});

/** Replaces the Data of the Encrypt answer (the `index`-th response) with `data`. */
const encryptDataTamper = (index: number, data: () => Uint8Array): Tamper => (resp, n) => {
  if (n !== index) return resp;
  const walk = (i: TtlvItem): TtlvItem =>
    i.type === ItemType.Structure ? { ...i, value: i.value.map(walk) } : i.tag === 0x4200c2 && i.type === ItemType.ByteString ? { ...i, value: data() } : i;
  return walk(resp);
};

test('an RSA-OAEP Encrypt answer passes by decryption, reported as such; a wrong one or an AES one does not', async (t) => {
  const oaep = vector('v1.4/CS-AC-M-OAEP-9-14.xml');
  const aes = vector('v1.4/CS-BC-M-6-14.xml');
  if (!pki || !oaep || !aes) {
    t.pass();
    return;
  }
  const [key] = oaepKeysOf(oaep.path, oaep.family, readVectorSteps(oaep.path));
  const pub = createPublicKey(key!.privateKey);
  const p = { paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: HashingAlgorithm.SHA_384, maskGenerator: MaskGenerator.MGF1, maskGeneratorHashingAlgorithm: HashingAlgorithm.SHA_256, pSource: Buffer.from('Kilroy was here') };
  const plaintext = Buffer.from('6628194e12073db03ba94cda9ef9532397d50dba79b987004afefe34', 'hex');
  const run = async (file: VectorFile, tamper: Tamper): Promise<FileResult> => {
    const stub = await playbackServer(file.path, tamper);
    try {
      return await runFile(file, stub.target, { timeoutMs: 10_000, skips: [] });
    } finally {
      await stub.close();
    }
  };
  const fresh = await run(oaep, encryptDataTamper(1, () => rsaEncrypt(pub, p, plaintext)));
  t.is(fresh.status, 'passed', JSON.stringify(fresh.mismatch));
  t.deepEqual(fresh.notes, ['request 2 (Encrypt): OAEP ciphertext verified by decryption (RSA-OAEP SHA-384, MGF1 SHA-256, with a label; private key registered by CS-AC-M-OAEP-8-14.xml)']);
  t.regex(formatReport([fresh]), /checked by a rule other than equality[^\n]*\n {2}passed {2}v1\.4\/CS-AC-M-OAEP-9-14\.xml: request 2 \(Encrypt\): OAEP ciphertext verified by decryption/);
  // The ciphertext of other data under the same key and parameters: refused.
  const other = await run(oaep, encryptDataTamper(1, () => rsaEncrypt(pub, p, Buffer.concat([plaintext, Buffer.of(0)]))));
  t.is(other.status, 'failed');
  t.regex(other.mismatch?.message ?? '', /does not decrypt to the request's Data/);
  t.is(other.notes, undefined);
  // AES (deterministic): a different ciphertext is just a different value.
  const ecb = await run(aes, encryptDataTamper(1, () => Buffer.alloc(16, 1)));
  t.is(ecb.status, 'failed');
  t.is(ecb.mismatch?.message, 'different value');
  t.is(ecb.notes, undefined);
});
