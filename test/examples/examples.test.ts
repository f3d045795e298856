/**
 * Every example in examples/ applied to the test control plane with the operator running, the way
 * a user applies a directory (`kubectl apply -n <ns> -f examples/<client>/`): each directory in its
 * own namespace, every document by server-side apply with dry-run off, workloads (StatefulSets,
 * Jobs, ConfigMaps) included, since the API server accepts them without a kubelet.
 *
 * Then: every KmipScope, KmipRole and KmipClientCredential is Ready=True for its current
 * generation; every credential's Secret holds what its mode promises (generate: tls.crt, tls.key,
 * ca.crt and client.pem with the pem format; upload: tls.crt and ca.crt, no key); and every Secret
 * volume a workload mounts is a credential's Secret holding the keys the volume's items name, so
 * an example cannot mount a file the operator never writes.
 *
 * vSphere's upload-mode example carries a placeholder where vCenter's certificate goes; the test
 * puts a real self-signed certificate there, as the README tells a user to.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { API_GROUP_VERSION } from '../../operator/api/index.ts';
import { selfSignedCertificate } from '../../operator/pki/index.ts';
import { BUILD_TIMEOUT_MS, ensureNamespace, resourcePath, serverSideApply, startCluster, waitFor, type Cluster, type Manifest } from './cluster.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
/** The clients issue 5 promises an example for. A directory missing here fails the test. */
const EXPECTED = ['mongodb-enterprise', 'mysql', 'openbao', 'percona-mongodb', 'pg_tde', 'pykmip', 'vsphere'];
const PLACEHOLDER = /-----BEGIN CERTIFICATE-----\s*REPLACE-WITH-THE-VCENTER-CERTIFICATE\s*-----END CERTIFICATE-----\s*/;

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }
interface Stored extends Manifest {
  metadata: Manifest['metadata'] & { generation?: number };
  status?: { conditions?: Condition[]; secretName?: string; observedGeneration?: number };
}
interface Example { dir: string; namespace: string; docs: { file: string; manifest: Manifest }[] }

function loadExamples(): Example[] {
  return readdirSync(EXAMPLES).filter((d) => statSync(join(EXAMPLES, d)).isDirectory()).sort().map((dir) => {
    const docs: Example['docs'] = [];
    for (const file of readdirSync(join(EXAMPLES, dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
      for (const d of parseAllDocuments(readFileSync(join(EXAMPLES, dir, file), 'utf8'))) {
        if (d.errors.length > 0) throw new Error(`examples/${dir}/${file}: ${d.errors[0]!.message}`);
        const m = d.toJS() as Manifest | null;
        if (m) docs.push({ file, manifest: m });
      }
    }
    return { dir, namespace: `example-${dir.replace(/[^a-z0-9]+/g, '-')}`, docs };
  });
}

const examples = loadExamples();
let cluster: Cluster | undefined;

test.before('start the control plane and the operator', async (t) => {
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  cluster = await startCluster();
});

test.after.always('stop', async () => {
  await cluster?.stop();
});

const isKubeKmip = (m: Manifest) => m.apiVersion === API_GROUP_VERSION;
const ready = (o: Stored) => o.status?.conditions?.find((c) => c.type === 'Ready');

test('examples/ has a directory per real client, each with a scope, a role and a credential', (t) => {
  t.deepEqual(examples.map((e) => e.dir), EXPECTED);
  for (const e of examples) {
    const kinds = new Set(e.docs.filter((d) => isKubeKmip(d.manifest)).map((d) => d.manifest.kind));
    t.deepEqual([...kinds].sort(), ['KmipClientCredential', 'KmipRole', 'KmipScope'], `examples/${e.dir}`);
    t.notThrows(() => readFileSync(join(EXAMPLES, e.dir, 'README.md')), `examples/${e.dir}/README.md exists`);
  }
});

for (const example of examples) {
  test(`examples/${example.dir}: applied with server-side apply, every resource Ready, Secrets as the workloads mount them`, async (t) => {
    t.timeout(90_000);
    const { cp } = cluster!;
    const ns = example.namespace;
    await ensureNamespace(cp, ns);

    const applied: { file: string; manifest: Manifest }[] = [];
    for (const { file, manifest } of example.docs) {
      let m = manifest;
      const cert = m.spec?.['certificate'];
      if (m.kind === 'KmipClientCredential' && typeof cert === 'string' && PLACEHOLDER.test(cert)) {
        // What the user does with vCenter's download: put a real certificate where the placeholder is.
        const own = await selfSignedCertificate({ commonName: `vcenter.${ns}.example` });
        m = { ...m, spec: { ...m.spec, certificate: own.certificatePem } };
      }
      const stored = await serverSideApply<Stored>(cp, m, ns, 'kubectl');
      t.is(stored.metadata.name, m.metadata.name, `${file}: ${m.kind} ${m.metadata.name} stored`);
      applied.push({ file, manifest: m });
    }
    t.log(`${applied.length} objects applied to namespace ${ns}`);

    // Every kube-kmip resource converges to Ready=True for the generation it has now.
    const secrets = new Map<string, { data: Record<string, string>; type: string; credential: Manifest }>();
    for (const { file, manifest } of applied.filter((a) => isKubeKmip(a.manifest))) {
      const plural = `${manifest.kind.toLowerCase()}s`;
      const path = `/apis/${API_GROUP_VERSION}/namespaces/${ns}/${plural}/${manifest.metadata.name}`;
      let last: Stored | undefined;
      const obj = await waitFor(`${manifest.kind} ${ns}/${manifest.metadata.name} Ready=True`, async () => {
        const r = await cp.request<Stored>('GET', path);
        last = r.body;
        const c = r.status === 200 ? ready(r.body) : undefined;
        return c?.status === 'True' && c.observedGeneration === r.body.metadata.generation ? r.body : undefined;
      }, 30_000).catch((err: Error) => {
        const c = last && ready(last);
        throw new Error(`${file}: ${err.message}; last Ready condition: ${c ? `${c.status} ${c.reason}: ${c.message}` : 'none'}`);
      });
      t.pass(`${manifest.kind} ${manifest.metadata.name} Ready`);

      if (manifest.kind !== 'KmipClientCredential') continue;
      const spec = manifest.spec ?? {};
      const secretName = (spec['secretName'] as string | undefined) ?? manifest.metadata.name;
      t.is(obj.status?.secretName, secretName, `${manifest.metadata.name}: status.secretName`);
      const s = await cp.request<{ data?: Record<string, string>; type: string }>('GET', `/api/v1/namespaces/${ns}/secrets/${secretName}`);
      t.is(s.status, 200, `Secret ${ns}/${secretName} exists`);
      const data = s.body.data ?? {};
      const pem = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
      t.truthy(data['tls.crt'], `${secretName}: tls.crt`);
      t.truthy(data['ca.crt'], `${secretName}: ca.crt`);
      t.notThrows(() => new X509Certificate(pem('tls.crt')), `${secretName}: tls.crt parses`);
      if (typeof spec['certificate'] === 'string') {
        // Upload mode: the client keeps its key; tls.crt is exactly the uploaded certificate.
        t.is(data['tls.key'], undefined, `${secretName}: no tls.key in upload mode`);
        t.is(data['client.pem'], undefined, `${secretName}: no client.pem in upload mode`);
        t.is(s.body.type, 'Opaque');
        t.is(new X509Certificate(pem('tls.crt')).fingerprint256, new X509Certificate(spec['certificate']).fingerprint256);
      } else {
        t.truthy(data['tls.key'], `${secretName}: tls.key`);
        t.is(s.body.type, 'kubernetes.io/tls');
        const formats = (spec['formats'] as string[] | undefined) ?? ['pem'];
        if (formats.includes('pem')) {
          t.true(pem('client.pem').includes('PRIVATE KEY-----') && pem('client.pem').includes('-----BEGIN CERTIFICATE-----'),
            `${secretName}: client.pem holds the key and the certificate`);
        }
      }
      secrets.set(secretName, { data, type: s.body.type, credential: manifest });
    }

    // Workloads mount only credential Secrets, and only keys those Secrets have.
    for (const { file, manifest } of applied.filter((a) => !isKubeKmip(a.manifest))) {
      const got = await cp.request('GET', resourcePath(manifest, ns));
      t.is(got.status, 200, `${file}: ${manifest.kind} ${manifest.metadata.name} stored by the API server`);
      for (const v of podVolumes(manifest)) {
        if (!v.secret) continue;
        const s = secrets.get(v.secret.secretName);
        t.truthy(s, `${file}: volume ${v.name} mounts Secret ${v.secret.secretName}, which no credential of this example writes`);
        for (const item of v.secret.items ?? []) {
          t.truthy(s?.data[item.key], `${file}: volume ${v.name} wants key ${item.key} of Secret ${v.secret.secretName}`);
        }
      }
    }
  });
}

interface Volume { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }

/** The pod template's volumes of a Deployment, StatefulSet or Job (CronJob: its job template's). */
function podVolumes(m: Manifest): Volume[] {
  const spec = m['spec'] as Record<string, unknown> | undefined;
  const podSpec = (tpl: unknown) => ((tpl as { spec?: { volumes?: Volume[] } } | undefined)?.spec?.volumes ?? []);
  if (!spec) return [];
  if (m.kind === 'CronJob') return podSpec(((spec['jobTemplate'] as { spec?: { template?: unknown } }).spec ?? {}).template);
  return podSpec(spec['template']);
}

