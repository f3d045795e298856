// The container image without Docker: the Dockerfile's shape, the files it copies (after .dockerignore),
// and the entrypoints started from exactly those files plus a production-only `npm ci`.
import test from 'ava';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { DockerIgnore, contextCopies, parseDockerfile, readText, type ContextFile, type Stage } from './context.ts';
import { REPO_ROOT, suiteTeardown, tempDir } from '../helpers/dev-server.ts';

const dockerfile = parseDockerfile(readText(join(REPO_ROOT, 'Dockerfile')));
const ignore = new DockerIgnore(readText(join(REPO_ROOT, '.dockerignore')));
const pkg = JSON.parse(readText(join(REPO_ROOT, 'package.json'))) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  bin: Record<string, string>;
};
const lock = JSON.parse(readText(join(REPO_ROOT, 'package-lock.json'))) as {
  packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
};

const runtime = dockerfile.stages[dockerfile.stages.length - 1]!;
const APP = '/app';
const ENTRYPOINTS = {
  'kmip-server': 'kmip-server/main.ts',
  'kmip-operator': 'operator/main.ts',
  'kmip-client': 'kmip-server/client/cli.ts',
} as const;

/** The runtime stage's files from the build context (throws on a missing or wholly ignored source). */
const imageFiles = (): ContextFile[] => contextCopies(REPO_ROOT, runtime, ignore);

test('.dockerignore is read the way Docker reads it', (t) => {
  const d = new DockerIgnore('*\n!src/\nsrc/**/*.test.ts\n**/node_modules/\n!keep.md\n');
  t.true(d.excludes('README.md'));
  t.false(d.excludes('keep.md'));
  t.false(d.excludes('src/a.ts'));
  t.true(d.excludes('src/a.test.ts'));
  t.true(d.excludes('src/deep/er/b.test.ts'));
  t.true(d.excludes('src/node_modules/x/index.js'));
  t.true(d.excludes('test/a.ts'));
});

test('the runtime stage: distroless base, non-root 65532, WORKDIR /app, node on PATH, no RUN', (t) => {
  t.true(dockerfile.stages.length >= 2, 'multi-stage');
  t.regex(runtime.base, /^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot(@sha256:[0-9a-f]{64})?$/);
  t.is(runtime.user, '65532:65532');
  t.is(runtime.workdir, APP);
  // A pod's `command: [node, ...]` (the chart, the operator's StatefulSet) needs node on PATH.
  t.true((runtime.env.PATH ?? '').split(':').includes('/nodejs/bin'));
  // Distroless has no shell: a RUN in the runtime stage could not work, and no build tools may be there.
  t.deepEqual(runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.line), []);
  const entry = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  t.deepEqual(entry && JSON.parse(entry.args), ['/nodejs/bin/node']);
});

test('the deps stage installs production dependencies only, into /app/node_modules of the runtime stage', (t) => {
  const deps = dockerfile.stages.find((s) => s.name === 'deps');
  if (!deps) return t.fail('no stage named deps');
  t.regex(deps.base, /^node:24[-.]/);
  const ci = deps.instructions.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  t.truthy(ci, 'RUN npm ci');
  t.regex(ci!.args, /npm ci (?:\S+ )*--omit=dev\b/);
  t.regex(ci!.args, /--ignore-scripts\b/);
  t.deepEqual(deps.copies.find((c) => c.from === undefined)?.sources, ['package.json', 'package-lock.json']);
  const nm = runtime.copies.find((c) => c.from === 'deps' && c.sources.includes(`${deps.workdir}/node_modules`));
  t.is(nm?.dest, `${APP}/node_modules`);
  // --ignore-scripts is only right while no production dependency has an install script.
  const withScripts = Object.entries(lock.packages).filter(([k, v]) => k !== '' && !v.dev && v.hasInstallScript).map(([k]) => k);
  t.deepEqual(withScripts, []);
});

test('every COPY source exists and keeps its runtime files; tests, fixtures and generators stay out', (t) => {
  const files = imageFiles();
  const dests = new Set(files.map((f) => f.dest));
  for (const f of ['package.json', 'package-lock.json', ...Object.values(ENTRYPOINTS)]) t.true(dests.has(`${APP}/${f}`), f);
  t.true(files.some((f) => f.source.startsWith('crds/') && f.source.endsWith('.yaml')));
  const testOnly = files.filter((f) => /\.(test|fixture)\.ts$/.test(f.source) || f.source.startsWith('test/'));
  t.deepEqual(testOnly, []);
  t.false(dests.has(`${APP}/operator/api/generate.ts`));
  // Every context COPY lands under WORKDIR: the temp-dir copy below mirrors the image exactly.
  t.deepEqual(files.filter((f) => !f.dest.startsWith(`${APP}/`)), []);
});

const IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

test('image code imports only image files, node: built-ins and production dependencies', (t) => {
  const files = imageFiles();
  const inImage = new Set(files.map((f) => f.dest));
  const problems: string[] = [];
  for (const f of files.filter((x) => x.source.endsWith('.ts'))) {
    for (const m of readText(join(REPO_ROOT, f.source)).matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = posix.resolve(posix.dirname(f.dest), spec);
        if (!inImage.has(target)) problems.push(`${f.source} imports ${spec}, which is not in the image`);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!(name in pkg.dependencies)) {
        problems.push(`${f.source} imports ${spec}, ${name in pkg.devDependencies ? 'a devDependency' : 'not a dependency'}`);
      }
    }
  }
  t.deepEqual(problems, []);
});

test('package.json bin names the three entrypoints', (t) => {
  for (const [name, path] of Object.entries(ENTRYPOINTS)) t.is(pkg.bin[name], path, name);
});

// ---------------------------------------------------------------------------------------------------------------
// The entrypoints, started from a copy of the image's /app with `npm ci --omit=dev` node_modules.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child: no npm lifecycle variables of an outer `npm test` (they could point npm at the repo). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_(package|lifecycle|config_(local_)?prefix)|^INIT_CWD$/i.test(k)) env[k] = v;
  // npm's launcher is `#!/usr/bin/env node`: make that the Node 24 running this test.
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ''}`;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', rej);
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

/** Relative paths and sizes of every file under dir, to show nothing was written into it. */
function snapshot(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel)).sort().flatMap((e) => {
    const p = posix.join(rel, e);
    const st = statSync(join(dir, p));
    return st.isDirectory() ? snapshot(dir, p) : [`${p} ${st.size}`];
  });
}

const suite = suiteTeardown();
let app: string;
const env = () => cleanEnv({ NODE_ENV: runtime.env.NODE_ENV ?? 'production' });

test.before(async () => {
  const root = await tempDir(suite, 'kube-kmip-image-');
  app = join(root, 'app');
  // Node resolves packages up the directory tree: one above the temp dir would hide a missing dependency.
  for (let d = root; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) throw new Error(`${join(d, 'node_modules')} exists: it would let the entrypoints find packages the image lacks`);
    if (dirname(d) === d) break;
  }
  mkdirSync(app);
  for (const f of imageFiles()) {
    const to = join(app, posix.relative(APP, f.dest));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(join(REPO_ROOT, f.source), to);
  }
  const ci = await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--prefix', app], app, env(), 110_000);
  if (ci.code !== 0) throw new Error(`npm ci --omit=dev failed (${ci.code}):\n${ci.stderr.slice(-4000)}`);
});
test.after.always(() => suite.run());

test('production node_modules hold no dev-only package (the node binary, ava, typescript)', (t) => {
  // A devDependency that a production dependency also needs (@types/node for @kubernetes/client-node) is not dev-only.
  const devOnly = Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && v.dev).map(([k]) => k);
  t.true(devOnly.includes('node_modules/node') && devOnly.includes('node_modules/typescript'));
  t.deepEqual(devOnly.filter((k) => existsSync(join(app, k))), []);
  for (const dep of Object.keys(pkg.dependencies)) t.true(existsSync(join(app, 'node_modules', dep)), dep);
});

for (const [name, path] of Object.entries(ENTRYPOINTS)) {
  test(`${name}: node /app/${path} --help starts with the production files and prints its usage`, async (t) => {
    const r = await run(process.execPath, [join(app, path), '--help'], app, env());
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`^Usage: ${name}\\b`));
  });
}

test('kmip-server dev runs from the image files, answers kmip-client from the image files, and writes only to its data dir', async (t) => {
  const data = join(await tempDir(t, 'kube-kmip-image-data-'), 'data');
  const before = snapshot(app);
  const server = spawn(process.execPath, [join(app, ENTRYPOINTS['kmip-server']), 'dev', '--port', '0', '--data-dir', data], {
    cwd: app,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((res) => server.once('exit', (code) => res(code)));
  t.teardown(() => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  });
  let stderr = '';
  server.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`no listening line within 30 s\n${stderr}`)), 30_000);
    server.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    void exited.then((code) => rej(new Error(`the server exited (${code}) before listening\n${stderr}`)));
  });
  const cred = join(data, 'credentials', 'default', 'admin');
  const client = await run(process.execPath, [
    join(app, ENTRYPOINTS['kmip-client']), 'discover-versions', '--json', '--server', `127.0.0.1:${port}`,
    '--cert', join(cred, 'cert.pem'), '--key', join(cred, 'key.pem'), '--ca', join(cred, 'ca.pem'),
  ], app, env());
  t.is(client.code, 0, client.stderr);
  t.true((JSON.parse(client.stdout) as { versions: string[] }).versions.includes('1.4'));
  server.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.deepEqual(snapshot(app), before, 'nothing may be written under /app (read-only root filesystem)');
});

test('the tests run on the Node.js major version the runtime image ships', (t) => {
  // What the entrypoint checks prove holds for the image only when both run the same major (type stripping, node:sqlite).
  const imageMajor = /nodejs(\d+)-/.exec(runtime.base)?.[1];
  t.is(process.versions.node.split('.')[0], imageMajor);
});
