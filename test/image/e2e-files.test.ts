// What can be checked of the kind e2e script and skaffold.yaml on a machine without Docker or kind:
// the script parses, and the names in skaffold.yaml, kind.yaml, run.sh and the chart agree.
// (The scenario itself runs only where Docker is: test/e2e/README.md.)
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/dev-server.ts';
import { readText } from './context.ts';

const E2E = join(REPO_ROOT, 'test', 'e2e');
const RUN_SH = join(E2E, 'run.sh');
const IMAGE = 'ghcr.io/kube-kmip/kube-kmip';
const CHART = 'charts/kube-kmip';

test('every script in test/e2e passes bash -n, and run.sh is executable', (t) => {
  const scripts = readdirSync(E2E).filter((f) => f.endsWith('.sh'));
  t.true(scripts.includes('run.sh'));
  for (const s of scripts) {
    const r = spawnSync('bash', ['-n', join(E2E, s)], { encoding: 'utf8' });
    t.is(r.status, 0, `${s}: ${r.stderr}`);
  }
  t.true((statSync(RUN_SH).mode & 0o111) !== 0);
});

test('bash -n catches a broken script (the check above can fail)', (t) => {
  const r = spawnSync('bash', ['-n'], { input: 'if true; then\n  echo unterminated\n', encoding: 'utf8' });
  t.not(r.status, 0);
});

interface SkaffoldConfig {
  apiVersion: string;
  kind: string;
  build: { artifacts: Array<{ image: string; context?: string; docker?: { dockerfile?: string } }>; local?: { push?: boolean } };
  deploy: { helm: { releases: Array<{ name: string; chartPath: string; namespace: string; setValueTemplates?: Record<string, string> }> } };
  profiles?: Array<{ name: string; activation?: Array<{ kubeContext?: string }>; deploy?: { kubeContext?: string } }>;
}

const skaffold = parse(readText(join(REPO_ROOT, 'skaffold.yaml'))) as SkaffoldConfig;
const kind = parse(readText(join(E2E, 'kind.yaml'))) as { kind: string; apiVersion: string; name: string; nodes: unknown[] };

test('skaffold.yaml: v4 schema, the image from ./Dockerfile built locally, the chart as release kube-kmip', (t) => {
  t.regex(skaffold.apiVersion, /^skaffold\/v4(beta(1[1-9]|[2-9]\d))?$/);
  t.is(skaffold.kind, 'Config');
  const [artifact, ...more] = skaffold.build.artifacts;
  t.deepEqual(more, []);
  t.is(artifact?.image, IMAGE);
  t.is(artifact?.context ?? '.', '.');
  const dockerfile = artifact?.docker?.dockerfile ?? 'Dockerfile';
  t.true(existsSync(join(REPO_ROOT, dockerfile)), dockerfile);
  t.is(skaffold.build.local?.push, false);
  const [release] = skaffold.deploy.helm.releases;
  t.is(release?.name, 'kube-kmip');
  t.is(release?.namespace, 'kube-kmip');
  t.is(release?.chartPath, CHART);
  t.true(existsSync(join(REPO_ROOT, CHART, 'Chart.yaml')), `${CHART}/Chart.yaml`);
  // Skaffold names the built image's parts IMAGE_REPO_<name>/IMAGE_TAG_<name>, <name> with non-alphanumerics as _.
  const key = IMAGE.replace(/[^A-Za-z0-9]/g, '_');
  t.deepEqual(release?.setValueTemplates, { 'image.repository': `{{.IMAGE_REPO_${key}}}`, 'image.tag': `{{.IMAGE_TAG_${key}}}` });
});

test('the chart takes the image as image.repository and image.tag, as skaffold.yaml and run.sh set them', (t) => {
  const values = parse(readText(join(REPO_ROOT, CHART, 'values.yaml'))) as { image?: Record<string, unknown> };
  t.is(values.image?.repository, IMAGE);
  t.true(values.image !== undefined && 'tag' in values.image);
  const sh = readText(RUN_SH);
  t.regex(sh, /--set image\.repository="\$IMAGE_REPO" --set image\.tag="\$tag"/);
  t.regex(sh, new RegExp(`IMAGE_REPO=\\$\\{IMAGE_REPO:-${IMAGE.replace(/\./g, '\\.')}\\}`));
});

test('kind.yaml, the skaffold kind profile and run.sh name the same cluster', (t) => {
  t.is(kind.kind, 'Cluster');
  t.is(kind.apiVersion, 'kind.x-k8s.io/v1alpha4');
  t.is(kind.name, 'kube-kmip');
  const profile = skaffold.profiles?.find((p) => p.name === 'kind');
  t.is(profile?.deploy?.kubeContext, `kind-${kind.name}`);
  t.deepEqual(profile?.activation, [{ kubeContext: `kind-${kind.name}` }]);
  const sh = readText(RUN_SH);
  t.true(sh.includes(`CLUSTER=\${KIND_CLUSTER_NAME:-${kind.name}}`));
  t.true(sh.includes('--config test/e2e/kind.yaml'));
  t.regex(sh, /^RELEASE=kube-kmip$/m);
  t.regex(sh, /^NAMESPACE=kube-kmip$/m);
  t.true(sh.includes(`h upgrade --install "$RELEASE" ${CHART} `));
});

test('the kmip-client flags run.sh passes are flags kmip-client accepts', (t) => {
  const m = /^client_flags=\((.*)\)$/m.exec(readText(RUN_SH));
  if (!m) return t.fail('no client_flags=(...) in run.sh');
  const flags = [...m[1]!.matchAll(/(--[a-z-]+)/g)].map((x) => x[1]!);
  t.deepEqual(flags, ['--server', '--cert', '--key', '--ca']);
  // Options are parsed strictly before --help is honoured: an unknown flag exits 2.
  const cli = join(REPO_ROOT, 'kmip-server', 'client', 'cli.ts');
  const ok = spawnSync(process.execPath, [cli, 'discover-versions', ...flags.flatMap((f) => [f, 'x']), '--help'], { encoding: 'utf8' });
  t.is(ok.status, 0, ok.stderr);
  const bad = spawnSync(process.execPath, [cli, 'discover-versions', '--no-such-flag', 'x', '--help'], { encoding: 'utf8' });
  t.is(bad.status, 2);
});
