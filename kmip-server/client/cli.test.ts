// kmip-client, run as the process a pod or a person runs, against a real dev server and its generated credential.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRootCa } from '../../operator/pki/ca.ts';
import { startDevServer, suiteTeardown, tempDir, type DevServer } from '../../test/helpers/dev-server.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kmip-client; `input`, when given, goes to its stdin (a pipe, not a terminal). */
function cli(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** stderr is exactly one `kmip-client: ...` line. */
function oneLineError(r: Result): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1 || !lines[0]!.startsWith('kmip-client: ')) throw new Error(`expected one error line, got:\n${r.stderr}`);
  return lines[0]!;
}

const suite = suiteTeardown();
let server: DevServer;
test.before(async () => {
  server = await startDevServer(suite);
});
test.after.always(() => suite.run());

const creds = () => ['--server', `127.0.0.1:${server.port}`, '--cert', server.credentials.cert, '--key', server.credentials.key, '--ca', server.credentials.ca];

test('discover-versions prints the versions the server supports, newest first', async (t) => {
  const r = await cli(['discover-versions', ...creds()]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.deepEqual(r.stdout.split('\n'), ['2.1', '2.0', '1.4', '1.3', '1.2', '1.1', '1.0', '']);
});

test('discover-versions --json prints one JSON document; client.pem alone serves as certificate and key', async (t) => {
  const r = await cli(['discover-versions', '--json', '--server', `localhost:${server.port}`, '--cert', join(server.credentials.dir, 'client.pem'), '--ca', server.credentials.ca]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { server: `localhost:${server.port}`, versions: ['2.1', '2.0', '1.4', '1.3', '1.2', '1.1', '1.0'] });
});

test('query lists operations and object types in the protocol version asked for', async (t) => {
  const [v14, v21] = await Promise.all([cli(['query', '--json', ...creds()]), cli(['query', '--json', '--version', '2.1', ...creds()])]);
  t.is(v14.code, 0, v14.stderr);
  t.is(v21.code, 0, v21.stderr);
  const a = JSON.parse(v14.stdout) as { operations: string[]; objectTypes: string[] };
  const b = JSON.parse(v21.stdout) as { operations: string[]; objectTypes: string[] };
  for (const op of ['Create', 'Get', 'Activate', 'DiscoverVersions', 'Query']) t.true(a.operations.includes(op), op);
  t.true(a.objectTypes.includes('SymmetricKey'));
  // Set Attribute exists from KMIP 2.0 on: a 1.4 request must not see it, a 2.1 request must.
  t.false(a.operations.includes('SetAttribute'));
  t.true(b.operations.includes('SetAttribute'));
  const plain = await cli(['query', ...creds()]);
  t.is(plain.code, 0, plain.stderr);
  t.regex(plain.stdout, /^operations: Create, .*\nobject types: .*SymmetricKey/);
});

test('a CA that did not issue the server certificate fails with a clear one-line message', async (t) => {
  const other = await createRootCa({ commonName: 'some other CA' });
  const dir = await tempDir(t);
  const wrongCa = join(dir, 'other-ca.pem');
  await writeFile(wrongCa, other.certificatePem);
  const r = await cli(['discover-versions', '--server', `127.0.0.1:${server.port}`, '--cert', server.credentials.cert, '--key', server.credentials.key, '--ca', wrongCa]);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  const line = oneLineError(r);
  t.regex(line, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${server.port}: .*\\(the server certificate does not chain to --ca ${wrongCa.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
});

test('without a client certificate the server refuses, and the message says a client certificate is needed', async (t) => {
  const r = await cli(['discover-versions', '--server', `127.0.0.1:${server.port}`, '--ca', server.credentials.ca]);
  t.is(r.code, 1);
  t.regex(oneLineError(r), /certificate required.*give --cert and --key/);
});

test('a server name the certificate does not carry is refused', async (t) => {
  const r = await cli(['discover-versions', ...creds(), '--server-name', 'not-the-server.example']);
  t.is(r.code, 1);
  t.regex(oneLineError(r), /not-the-server\.example.*does not carry --server-name/);
});

test('an operation the role does not allow fails with the KMIP result in one line; allowed ones still work', async (t) => {
  // A server of its own: its dev role is narrowed to Discover Versions (the policy file is reloaded on change).
  const own = await startDevServer(t);
  const manifests = join(own.dataDir, 'manifests', 'dev.yaml');
  const yaml = await readFile(manifests, 'utf8');
  t.true(yaml.includes('- operation_all'));
  await writeFile(manifests, yaml.replace('- operation_all', '- operation_discover_versions'));
  const flags = ['--server', `127.0.0.1:${own.port}`, '--cert', own.credentials.cert, '--key', own.credentials.key, '--ca', own.credentials.ca];
  let denied: Result | undefined;
  for (let i = 0; i < 40 && denied === undefined; i++) {
    const r = await cli(['query', ...flags]);
    if (r.code !== 0) denied = r;
    else await new Promise((res) => setTimeout(res, 250));
  }
  if (!denied) return t.fail('query kept succeeding after the role was narrowed');
  t.is(denied.code, 1);
  t.is(denied.stdout, '');
  t.regex(oneLineError(denied), /^kmip-client: Query failed: OperationFailed \/ PermissionDenied/);
  const dv = await cli(['discover-versions', ...flags]);
  t.is(dv.code, 0, dv.stderr);
});

test('no server listening, unreadable files and bad flags fail with one line and their exit codes', async (t) => {
  const dir = await tempDir(t);
  const [refused, missing, badCmd, badServer, badVersion] = await Promise.all([
    cli(['discover-versions', '--server', '127.0.0.1:1', '--timeout-ms', '3000']),
    cli(['discover-versions', ...creds(), '--cert', join(dir, 'nope.pem')]),
    cli(['rotate-everything']),
    cli(['query', '--server', 'host:99999']),
    cli(['query', '--version', 'two']),
  ]);
  t.is(refused.code, 1);
  t.regex(oneLineError(refused), /cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
  t.is(missing.code, 1);
  t.regex(oneLineError(missing), /cannot read --cert .*nope\.pem: ENOENT/);
  t.is(badCmd.code, 2);
  t.regex(oneLineError(badCmd), /unknown command "rotate-everything"/);
  t.is(badServer.code, 2);
  t.regex(oneLineError(badServer), /--server host:99999: expected HOST:PORT/);
  t.is(badVersion.code, 2);
  t.regex(oneLineError(badVersion), /--version two/);
});

test('--help prints the usage and exits 0', async (t) => {
  const r = await cli(['--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^Usage: kmip-client <command> \[options\]/);
  for (const flag of ['--server', '--cert', '--key', '--ca', '--server-name', '--version', '--timeout-ms', '--json']) t.true(r.stdout.includes(flag), flag);
});


test('hash-password prints a $scrypt$ hash of the password on stdin that verifies, and nothing else', async (t) => {
  const { parsePasswordHash, verifyPassword } = await import('../auth/password-hash.ts');
  const r = await cli(['hash-password'], 'password1\n');
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  const hash = r.stdout.trimEnd();
  t.regex(hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
  t.false(r.stdout.includes('password1'));
  t.true(await verifyPassword('password1', parsePasswordHash(hash)));
  t.false(await verifyPassword('password1\n', parsePasswordHash(hash)), 'the trailing newline is not part of the password');
});

test('hash-password refuses empty input, several lines and arguments, never echoing the input', async (t) => {
  const empty = await cli(['hash-password'], '');
  t.is(empty.code, 1);
  t.regex(oneLineError(empty), /no password on stdin/);
  const two = await cli(['hash-password'], 'secret-one\nsecret-two\n');
  t.is(two.code, 1);
  t.regex(oneLineError(two), /more than one line/);
  t.false(two.stderr.includes('secret'));
  const args = await cli(['hash-password', '--server', 'x:1'], 'pw\n');
  t.is(args.code, 2);
  t.regex(oneLineError(args), /takes no arguments/);
});
