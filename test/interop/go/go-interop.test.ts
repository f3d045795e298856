/**
 * Go KMIP clients against the dev server, over real TLS:
 *
 * - kmipcheck (github.com/ovh/kmip-go, the client inside OpenBao's seal and okms-cli): version
 *   negotiation from a 1.1 header, Create AES-256 / Create Key Pair RSA-2048 and RSA-4096 +
 *   Activate, Get Attributes as OpenBao asks for them, AES-GCM at 1.2, 1.3 and 1.4, RSA-OAEP
 *   SHA-256/384/512.
 * - sealcheck (OpenBao's KMIP seal wrapper, go-kms-wrapping/wrappers/kmip/v2) set to AES_GCM and
 *   RSA_OAEP_SHA256/384/512 against those keys: Encrypt then Decrypt returns the plaintext.
 * - the wrapper's own acceptance test, TestAcckmipWrapper_Lifecycle, straight to the server.
 *
 * Both programs talk through a recording TLS proxy (internal/wiretap) and report every request
 * and response they exchanged: the tests assert the protocol version of each one, the operation
 * and its result, and wire details (which fields a version may carry), not only the plaintexts.
 * The programs are built by build.sh into the per-user cache; a missing Go or module fails here.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevServer, suiteTeardown, type DevServer } from '../../helpers/dev-server.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Exchange {
  conn: number;
  operation: string;
  request_version: string;
  response_version: string;
  request_batch_count: number;
  result_status: string;
  result_reason?: string;
  result_message?: string;
  request_fields: string[] | null;
  response_fields: string[] | null;
  error?: string;
}

interface Step {
  name: string;
  forced_version?: string;
  informational?: boolean;
  ok: boolean;
  error?: string;
  exchanges: Exchange[];
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
  details: Record<string, unknown>;
}

interface Report {
  program: string;
  go: string;
  modules: Record<string, string>;
  ok: boolean;
  keys?: Record<string, string>;
  steps: Step[];
  connections?: Array<{ id: number; client_cert_presented: boolean; client_tls_version: string; upstream_tls_version?: string; upstream_error?: string }>;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without blocking the event loop (ava's timers keep running). */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? HERE, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function runReport(bin: string, args: string[]): Promise<Report> {
  const r = await run(bin, args);
  // 0: every step passed; 1: a step failed (the report says which). Anything else is a set-up error.
  if (r.code !== 0 && r.code !== 1) throw new Error(`${bin} exited ${r.code}\n${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`${bin}: no JSON report on stdout (exit ${r.code})\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`);
  }
}

const suite = suiteTeardown();
let server: DevServer;
let binDir: string;
let kmipcheck: Report;
let sealcheck: Report;
let acceptance: Ran;

test.before(async (t) => {
  // A cold build downloads the modules and compiles for a minute or so.
  t.timeout(15 * 60_000);
  const built = await run('bash', [join(HERE, 'build.sh')], { timeoutMs: 14 * 60_000 });
  if (built.code !== 0) throw new Error(`test/interop/go/build.sh failed (exit ${built.code}): Go and the pinned modules are required\n${built.stderr}`);
  binDir = built.stdout.trim().split('\n').at(-1)!;

  server = await startDevServer(suite);
  const c = server.credentials;
  const tls = ['-server', `${server.host}:${server.port}`, '-ca', c.ca, '-cert', c.cert, '-key', c.key, '-server-name', 'localhost'];

  kmipcheck = await runReport(join(binDir, 'kmipcheck'), tls);
  const k = kmipcheck.keys ?? {};
  const keyArgs: string[] = [];
  if (k.aes256) keyArgs.push('-aes', `aes256=${k.aes256}`);
  for (const bits of [2048, 4096]) {
    const priv = k[`rsa${bits}_private`];
    const pub = k[`rsa${bits}_public`];
    if (priv && pub) keyArgs.push('-rsa', `rsa${bits}=${priv}:${pub}`);
  }
  if (keyArgs.length === 0) throw new Error(`kmipcheck made no keys:\n${JSON.stringify(kmipcheck.steps.slice(0, 6), null, 2)}`);
  sealcheck = await runReport(join(binDir, 'sealcheck'), [...tls, ...keyArgs]);

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('BAO_KMIP_') || name.startsWith('VAULT_KMIP_') || name.startsWith('KMS_ACC_')) delete env[name];
  Object.assign(env, {
    VAULT_ACC: '1',
    KMS_ACC_TESTS_AES_KEY_ID: k.aes256 ?? '',
    KMS_ACC_TESTS_RSA_KEY_ID: k.rsa2048_private ?? '',
    BAO_KMIP_ENDPOINT: `${server.host}:${server.port}`,
    BAO_KMIP_CA_CERT: c.ca,
    BAO_KMIP_CLIENT_CERT: c.cert,
    BAO_KMIP_CLIENT_KEY: c.key,
    BAO_KMIP_SERVER_NAME: 'localhost',
  });
  acceptance = await run(join(binDir, 'kmip-wrapper.test'), ['-test.run', '^TestAcckmipWrapper_Lifecycle$', '-test.v', '-test.count', '1'], { env, timeoutMs: 120_000 });
});
test.after.always(() => suite.run());

// ---------------------------------------------------------------------------------------------
// helpers

function step(t: ExecutionContext, report: Report, name: string): Step | undefined {
  const s = report.steps.find((x) => x.name === name);
  if (!s) t.fail(`no step ${name} in the ${report.program} report (steps: ${report.steps.map((x) => x.name).join(', ')})`);
  return s;
}

function describe(s: Step): string {
  const lines = [`step ${s.name}: ${s.ok ? 'ok' : `FAILED: ${s.error}`}`];
  for (const e of s.exchanges) {
    lines.push(`  conn ${e.conn} ${e.operation} request ${e.request_version} -> response ${e.response_version}: ${e.result_status}` +
      `${e.result_reason ? `/${e.result_reason}` : ''}${e.result_message ? ` "${e.result_message}"` : ''}${e.error ? ` [${e.error}]` : ''}`);
  }
  for (const c of s.checks) if (!c.ok) lines.push(`  check ${c.name} failed: ${c.detail}`);
  return lines.join('\n');
}

type Expected = [operation: string, requestVersion: string, status?: string];

/**
 * The step's exchanges, in order: operation, request version, response version (always the
 * request's), result status (Success unless given). Then the step itself must have passed.
 */
function expectExchanges(t: ExecutionContext, s: Step | undefined, expected: Expected[]): void {
  if (!s) return;
  const got = s.exchanges.map((e) => ({ operation: e.operation, request: e.request_version, response: e.response_version, status: e.result_status, error: e.error ?? '' }));
  const want = expected.map(([operation, version, status]) => ({ operation, request: version, response: version, status: status ?? 'Success', error: '' }));
  t.deepEqual(got, want, describe(s));
  t.true(s.ok, describe(s));
}

const has = (fields: string[] | null, path: string) => (fields ?? []).some((f) => f === path || f.startsWith(`${path}=`));
const value = (fields: string[] | null, path: string) => (fields ?? []).find((f) => f.startsWith(`${path}=`))?.slice(path.length + 1);

const REQ = 'RequestMessage/BatchItem/RequestPayload';
const RESP = 'ResponseMessage/BatchItem/ResponsePayload';

// ---------------------------------------------------------------------------------------------
// kmipcheck (ovh/kmip-go)

const KMIPCHECK_STEPS = [
  'negotiate-openbao', 'negotiate-default',
  'create-aes256', 'create-rsa2048', 'create-rsa4096',
  'get-attributes-aes256', 'get-attributes-rsa2048-private', 'get-attributes-rsa2048-public',
  'get-attributes-rsa4096-private', 'get-attributes-rsa4096-public',
  'get-aes256', 'get-rsa2048-public', 'get-rsa4096-public',
  'aes-gcm@1.2', 'aes-gcm@1.3', 'aes-gcm@1.4',
  ...['sha256', 'sha384', 'sha512'].flatMap((h) => [`rsa2048-oaep-${h}@1.4`]),
  ...['sha256', 'sha384', 'sha512'].flatMap((h) => [`rsa4096-oaep-${h}@1.4`]),
  ...['sha256', 'sha384', 'sha512'].flatMap((h) => [`rsa2048-oaep-${h}@1.2`]),
  'direct-tls',
];

test('kmipcheck: built with the pinned kmip-go, reports every scenario step', (t) => {
  t.is(kmipcheck.modules['github.com/ovh/kmip-go'], 'v0.3.3');
  t.deepEqual(kmipcheck.steps.map((s) => s.name), KMIPCHECK_STEPS);
  for (const c of kmipcheck.connections ?? []) {
    t.true(c.client_cert_presented, `connection ${c.id}`);
    t.falsy(c.upstream_error, `connection ${c.id}: ${c.upstream_error}`);
  }
});

test('kmip-go: Discover Versions with a 1.1 header offering 1.4, 1.3, 1.2 (as OpenBao) gets the intersection; the client then uses 1.4', (t) => {
  const s = step(t, kmipcheck, 'negotiate-openbao');
  expectExchanges(t, s, [['DiscoverVersions', '1.1']]);
  t.deepEqual(s?.details.offered, ['1.4', '1.3', '1.2']);
  t.deepEqual(s?.details.answered, ['1.4', '1.3', '1.2']);
  t.is(s?.details.client_version, '1.4');
  // The next requests on that connection (create) carry 1.4.
  const create = step(t, kmipcheck, 'create-aes256');
  t.is(create?.exchanges[0]?.request_version, '1.4');
  t.is(create?.exchanges[0]?.conn, s?.exchanges[0]?.conn);
});

test('kmip-go: Discover Versions with its default list (1.4 .. 1.0) answers all five; Query then goes at 1.4', (t) => {
  const s = step(t, kmipcheck, 'negotiate-default');
  expectExchanges(t, s, [['DiscoverVersions', '1.1'], ['Query', '1.4']]);
  t.deepEqual(s?.details.answered, ['1.4', '1.3', '1.2', '1.1', '1.0']);
});

test('kmip-go: Create AES-256 (Encrypt|Decrypt, Name) + Activate at 1.4', (t) => {
  const s = step(t, kmipcheck, 'create-aes256');
  expectExchanges(t, s, [['Create', '1.4'], ['Activate', '1.4']]);
  const req = s?.exchanges[0]?.request_fields ?? [];
  t.is(value(req, `${REQ}/ObjectType`), 'SymmetricKey');
  t.true(req.includes(`${REQ}/TemplateAttribute/Attribute/AttributeName="Cryptographic Usage Mask"`));
});

for (const bits of [2048, 4096]) {
  test(`kmip-go: Create Key Pair RSA-${bits} (private Decrypt, public Encrypt) + Activate both at 1.4`, (t) => {
    const s = step(t, kmipcheck, `create-rsa${bits}`);
    expectExchanges(t, s, [['CreateKeyPair', '1.4'], ['Activate', '1.4'], ['Activate', '1.4']]);
    const resp = s?.exchanges[0]?.response_fields ?? [];
    t.true(has(resp, `${RESP}/PrivateKeyUniqueIdentifier`));
    t.true(has(resp, `${RESP}/PublicKeyUniqueIdentifier`));
  });
}

const ATTRIBUTE_TARGETS: Array<[label: string, objectType: string, algorithm: string, link?: string]> = [
  ['aes256', 'SymmetricKey', 'AES'],
  ['rsa2048-private', 'PrivateKey', 'RSA', 'PublicKeyLink'],
  ['rsa2048-public', 'PublicKey', 'RSA', 'PrivateKeyLink'],
  ['rsa4096-private', 'PrivateKey', 'RSA', 'PublicKeyLink'],
  ['rsa4096-public', 'PublicKey', 'RSA', 'PrivateKeyLink'],
];
for (const [label, objectType, algorithm, link] of ATTRIBUTE_TARGETS) {
  test(`kmip-go: Get Attributes of ${label} by Attribute Name strings (OpenBao's start-up check) at 1.4`, (t) => {
    const s = step(t, kmipcheck, `get-attributes-${label}`);
    expectExchanges(t, s, [['GetAttributes', '1.4']]);
    const req = s?.exchanges[0]?.request_fields ?? [];
    t.deepEqual(req.filter((f) => f.startsWith(`${REQ}/AttributeName=`)).map((f) => f.split('=')[1]),
      ['"Object Type"', '"Cryptographic Algorithm"', '"Cryptographic Usage Mask"', '"Link"']);
    const resp = s?.exchanges[0]?.response_fields ?? [];
    t.true(resp.includes(`${RESP}/Attribute/AttributeValue=${objectType}`), describe(s!));
    t.true(resp.includes(`${RESP}/Attribute/AttributeValue=${algorithm}`), describe(s!));
    if (link) t.is(value(resp, `${RESP}/Attribute/AttributeValue/LinkType`), link);
  });
}

test('kmip-go: Get of the AES key and of both RSA public keys at 1.4 (material for the local checks)', (t) => {
  for (const name of ['get-aes256', 'get-rsa2048-public', 'get-rsa4096-public']) {
    expectExchanges(t, step(t, kmipcheck, name), [['Get', '1.4']]);
  }
});

for (const v of ['1.2', '1.3', '1.4']) {
  test(`kmip-go: AES-256-GCM at ${v} (own 12-byte IV, tag 16): Encrypt, Decrypt round trip, tampered tag refused`, (t) => {
    const s = step(t, kmipcheck, `aes-gcm@${v}`);
    t.is(s?.forced_version, v);
    expectExchanges(t, s, [['Encrypt', v], ['Decrypt', v], ['Decrypt', v, 'OperationFailed']]);
    if (!s) return;
    const [enc, dec] = s.exchanges;
    // The client's IV goes out; the server must use it (checked in Go against a local AES-GCM).
    t.is(value(enc?.request_fields ?? null, `${REQ}/IVCounterNonce`), `bytes[12]:${s.details.iv}`);
    t.truthy(s.checks.find((c) => c.name === 'local-gcm')?.ok, describe(s));
    const tagPath = 'AuthenticatedEncryptionTag';
    if (v === '1.4') {
      // 1.4: the tag travels in its own field, both ways, and is not also appended to Data.
      t.true(has(enc?.response_fields ?? null, `${RESP}/${tagPath}`), describe(s));
      t.is(value(enc?.response_fields ?? null, `${RESP}/Data`), 'bytes[45]');
      t.true(has(dec?.request_fields ?? null, `${REQ}/${tagPath}`));
    } else {
      // 1.2/1.3: the field does not exist; the tag is appended to Data, both ways.
      for (const e of s.exchanges) {
        t.false(has(e.request_fields, `${REQ}/${tagPath}`), describe(s));
        t.false(has(e.response_fields, `${RESP}/${tagPath}`), describe(s));
      }
      t.is(value(enc?.response_fields ?? null, `${RESP}/Data`), 'bytes[61]');
    }
    t.is(value(dec?.response_fields ?? null, `${RESP}/Data`), 'bytes[45]');
  });
}

const OAEP_CASES: Array<[bits: number, hash: string, version: string]> = [
  ...['sha256', 'sha384', 'sha512'].map((h) => [2048, h, '1.4'] as [number, string, string]),
  ...['sha256', 'sha384', 'sha512'].map((h) => [4096, h, '1.4'] as [number, string, string]),
  ...['sha256', 'sha384', 'sha512'].map((h) => [2048, h, '1.2'] as [number, string, string]),
];
for (const [bits, hash, v] of OAEP_CASES) {
  test(`kmip-go: RSA-${bits} OAEP ${hash.toUpperCase()} at ${v}: Encrypt with the public key, Decrypt with the private key`, (t) => {
    const s = step(t, kmipcheck, `rsa${bits}-oaep-${hash}@${v}`);
    if (!s) return;
    const h = `SHA_${hash.slice(3)}`;
    if (v === '1.4') {
      // The third exchange decrypts a ciphertext made locally with OAEP(H, MGF1-H).
      expectExchanges(t, s, [['Encrypt', v], ['Decrypt', v], ['Decrypt', v]]);
    } else {
      // Before 1.4 the MGF1 fields do not exist: what the server assumes for a locally made
      // ciphertext is recorded (details.local_oaep_mgf1_same_hash_decrypts), not asserted.
      expectExchanges(t, { ...s, exchanges: s.exchanges.slice(0, 2) }, [['Encrypt', v], ['Decrypt', v]]);
      t.is(s.exchanges[2]?.request_version, v);
    }
    const enc = s.exchanges[0];
    t.is(value(enc?.request_fields ?? null, `${REQ}/CryptographicParameters/PaddingMethod`), 'OAEP');
    t.is(value(enc?.request_fields ?? null, `${REQ}/CryptographicParameters/HashingAlgorithm`), h);
    if (v === '1.4') {
      t.is(value(enc?.request_fields ?? null, `${REQ}/CryptographicParameters/MaskGenerator`), 'MGF1');
      t.is(value(enc?.request_fields ?? null, `${REQ}/CryptographicParameters/MaskGeneratorHashingAlgorithm`), h);
    } else {
      t.false(has(enc?.request_fields ?? null, `${REQ}/CryptographicParameters/MaskGenerator`));
    }
    t.is(value(enc?.response_fields ?? null, `${RESP}/Data`), `bytes[${bits / 8}]`);
    t.false(has(enc?.response_fields ?? null, `${RESP}/AuthenticatedEncryptionTag`));
    t.log(`server's MGF1 for a locally made OAEP(${h}, MGF1-${h}) ciphertext at ${v}: ` +
      `${s.details.local_oaep_mgf1_same_hash_decrypts ? 'decrypts' : `refused (${String(s.details.local_oaep_error ?? 'no attempt')})`}`);
  });
}

test('kmip-go: straight to the server (its own TLS, SAN localhost): negotiates 1.4 from a 1.1 header', (t) => {
  const s = step(t, kmipcheck, 'direct-tls');
  expectExchanges(t, s, [['DiscoverVersions', '1.1'], ['GetAttributes', '1.4']]);
});

// ---------------------------------------------------------------------------------------------
// sealcheck (OpenBao's KMIP seal wrapper)

const SEAL_CASES: Array<[alg: string, label: string]> = [
  ['AES_GCM', 'aes256'],
  ...['rsa2048', 'rsa4096'].flatMap((label) => ['RSA_OAEP_SHA256', 'RSA_OAEP_SHA384', 'RSA_OAEP_SHA512'].map((alg) => [alg, label] as [string, string])),
];

test('sealcheck: built with the pinned wrapper, reports every round trip', (t) => {
  t.is(sealcheck.modules['github.com/openbao/go-kms-wrapping/wrappers/kmip/v2'], 'v2.1.0');
  t.is(sealcheck.modules['github.com/ovh/kmip-go'], 'v0.3.3');
  t.deepEqual(sealcheck.steps.map((s) => s.name), [...SEAL_CASES.map(([alg, label]) => `seal-${alg}-${label}`), 'seal-mechanism-switch']);
});

for (const [alg, label] of SEAL_CASES) {
  test(`OpenBao seal wrapper ${alg} on ${label}: SetConfig negotiates 1.4, Encrypt then Decrypt returns the plaintext`, (t) => {
    const s = step(t, sealcheck, `seal-${alg}-${label}`);
    const rsa = alg.startsWith('RSA');
    // SetConfig: Discover Versions (1.1 header), Get Attributes of the key (and of the linked
    // public key for RSA); then Encrypt and Decrypt each on a new connection at the negotiated 1.4.
    expectExchanges(t, s, [
      ['DiscoverVersions', '1.1'],
      ['GetAttributes', '1.4'],
      ...(rsa ? [['GetAttributes', '1.4'] as Expected] : []),
      ['Encrypt', '1.4'],
      ['Decrypt', '1.4'],
    ]);
    if (!s) return;
    t.is((s.details.metadata as Record<string, string> | undefined)?.kmip_version, '1.4');
    const enc = s.exchanges.find((e) => e.operation === 'Encrypt');
    const dec = s.exchanges.find((e) => e.operation === 'Decrypt');
    const conns = new Set(s.exchanges.map((e) => e.conn));
    t.is(conns.size, 3, describe(s));
    // The header is bare: no Authentication, no Client Correlation Value.
    for (const e of s.exchanges) {
      t.false(has(e.request_fields, 'RequestMessage/RequestHeader/Authentication'));
      t.false(has(e.request_fields, 'RequestMessage/RequestHeader/ClientCorrelationValue'));
      t.is(value(e.request_fields, 'RequestMessage/RequestHeader/BatchCount'), '1');
    }
    if (rsa) {
      t.false(has(enc?.response_fields ?? null, `${RESP}/AuthenticatedEncryptionTag`));
      t.false(has(dec?.request_fields ?? null, `${REQ}/AuthenticatedEncryptionTag`));
    } else {
      // At 1.4 the wrapper expects the tag in its own field and sends it back that way.
      t.true(has(enc?.response_fields ?? null, `${RESP}/AuthenticatedEncryptionTag`), describe(s));
      t.is(value(enc?.response_fields ?? null, `${RESP}/Data`), 'bytes[32]');
      t.true(has(dec?.request_fields ?? null, `${REQ}/AuthenticatedEncryptionTag`));
    }
    t.is(value(dec?.response_fields ?? null, `${RESP}/Data`), 'bytes[32]');
  });
}

test('OpenBao seal wrapper after encrypt_alg changes from AES_GCM to RSA_OAEP_SHA256 still decrypts the old AES_GCM blob', (t) => {
  const s = step(t, sealcheck, 'seal-mechanism-switch');
  expectExchanges(t, s, [['DiscoverVersions', '1.1'], ['GetAttributes', '1.4'], ['GetAttributes', '1.4'], ['Decrypt', '1.4']]);
  if (!s) return;
  // The wrapper takes the tag length from its current algorithm (0 for RSA): at 1.4 it sends the
  // tag appended to Data (32 + 16 bytes) and no Authenticated Encryption Tag, to the old AES key.
  const dec = s.exchanges.at(-1);
  t.false(has(dec?.request_fields ?? null, `${REQ}/AuthenticatedEncryptionTag`));
  t.is(value(dec?.request_fields ?? null, `${REQ}/Data`), 'bytes[48]');
  t.is(value(dec?.request_fields ?? null, `${REQ}/UniqueIdentifier`), `"${kmipcheck.keys?.aes256}"`);
  t.is(value(dec?.response_fields ?? null, `${RESP}/Data`), 'bytes[32]');
});

test("OpenBao's own acceptance test (TestAcckmipWrapper_Lifecycle) passes against the dev server", (t) => {
  const out = acceptance.stdout + acceptance.stderr;
  for (const alg of ['AES_GCM', 'RSA_OAEP_SHA256', 'RSA_OAEP_SHA384', 'RSA_OAEP_SHA512']) {
    t.regex(out, new RegExp(`--- PASS: TestAcckmipWrapper_Lifecycle/${alg} `), out);
  }
  t.notRegex(out, /--- SKIP/, out);
  t.is(acceptance.code, 0, out);
});
