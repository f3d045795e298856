import test from 'ava';
import { parseServerConfig, ServerConfigError } from './config.ts';
import { clientService, headlessService, serverArgs, serverDnsNames, statefulSet } from './manifests.ts';
import { parseCli } from '../../kmip-server/config.ts';
import { DEFAULT_ASYNC_OPTIONS } from '../../kmip-server/async/pending.ts';

test('defaults: one SQLite replica on 5696, P-256 certificate for 90 days, PDB on', (t) => {
  const c = parseServerConfig('image: example.org/kube-kmip:1\n');
  t.is(c.name, 'kube-kmip-server');
  t.is(c.serviceAccountName, 'kube-kmip-server');
  t.is(c.replicas, 1);
  t.deepEqual(c.storage, { type: 'sqlite', size: '1Gi', storageClassName: '', namespace: '' });
  t.is(c.service.port, 5696);
  t.deepEqual(c.certificate.keyType, { type: 'ec', curve: 'P-256' });
  t.is(c.certificate.durationMs, 2160 * 3_600_000);
  t.true(c.podDisruptionBudget.enabled);
  t.is(c.tls.minVersion, 'TLSv1.2');
});

test('a misspelled key is an error naming it, at any depth', (t) => {
  const top = t.throws(() => parseServerConfig('image: x\nreplicaz: 3\n'), { instanceOf: ServerConfigError });
  t.regex(top.message, /unknown key replicaz/);
  const deep = t.throws(() => parseServerConfig('image: x\nstorage:\n  typ: configmap\n'), { instanceOf: ServerConfigError });
  t.regex(deep.message, /unknown key storage\.typ/);
});

test('the image is required; wrong types and values are refused with the path', (t) => {
  t.regex(t.throws(() => parseServerConfig('{}'))!.message, /image is required/);
  t.regex(t.throws(() => parseServerConfig('image: x\nservice:\n  port: "5696"\n'))!.message, /service\.port must be an integer/);
  t.regex(t.throws(() => parseServerConfig('image: x\nstorage:\n  type: etcd\n'))!.message, /storage\.type must be one of sqlite, configmap/);
  t.regex(t.throws(() => parseServerConfig('image: x\ncertificate:\n  ipAddresses: [not-an-ip]\n'))!.message, /not an IP address/);
  t.regex(t.throws(() => parseServerConfig('image: x\ncertificate:\n  keyType: dsa-1024\n'))!.message, /certificate\.keyType/);
  t.regex(t.throws(() => parseServerConfig('image: x\nname: Has_Upper\n'))!.message, /name: must be a DNS label/);
});

test('SQLite cannot have more than one replica; the ConfigMap store can', (t) => {
  t.regex(t.throws(() => parseServerConfig('image: x\nreplicas: 3\n'))!.message, /replicas must be 0 or 1/);
  const c = parseServerConfig('image: x\nreplicas: 3\nstorage:\n  type: configmap\n');
  t.is(c.replicas, 3);
  const sts = statefulSet(c, 'ns') as unknown as { spec: Record<string, unknown> };
  t.is(sts.spec['replicas'], 3);
  t.is(sts.spec['volumeClaimTemplates'], undefined);
  t.is(sts.spec['podManagementPolicy'], 'Parallel');
  const args = serverArgs(c, 'ns');
  t.is(args[args.indexOf('--store-namespace') + 1], 'ns', 'the operator namespace by default');
  const own = serverArgs(parseServerConfig('image: x\nreplicas: 3\nstorage:\n  type: configmap\n  namespace: kmip-store\n'), 'ns');
  t.is(own[own.indexOf('--store-namespace') + 1], 'kmip-store');
});

test('the certificate names every Service DNS name and the configured hostnames', (t) => {
  const c = parseServerConfig('image: x\nname: kms\ncertificate:\n  hostnames: [kmip.example.com]\n');
  const dns = serverDnsNames(c, 'sec');
  for (const n of ['kms', 'kms.sec', 'kms.sec.svc', 'kms.sec.svc.cluster.local', 'kms-headless.sec.svc', '*.kms-headless.sec.svc', 'kmip.example.com']) {
    t.true(dns.includes(n), n);
  }
});

test('settings reach the server command line', (t) => {
  const c = parseServerConfig([
    'image: x', 'tls:', '  minVersion: TLSv1.3', '  legacyCiphers: true', 'limits:', '  maxConnections: 77',
    'http:', '  enabled: true', '  port: 8443', 'watchNamespace: team-a', 'logLevel: debug',
  ].join('\n'));
  const args = serverArgs(c, 'sec');
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  t.is(after('--tls-min-version'), 'TLSv1.3');
  t.true(args.includes('--legacy-ciphers'));
  t.is(after('--max-connections'), '77');
  t.is(after('--http-listen'), '0.0.0.0:8443');
  t.is(after('--namespace'), 'team-a');
  t.false(args.includes('--all-namespaces'));
  t.is(after('--log-level'), 'debug');
  t.is(after('--store'), 'sqlite');
});

test('async: the server\'s defaults, set values reach the server flags, bad values refused naming the key', (t) => {
  const dflt = parseServerConfig('image: x\n');
  t.deepEqual(dflt.async, { startDelayMs: 1000, maxPerClient: 100, maxTotal: 10_000, resultTtlMs: 600_000, maxResultBytes: 64 * 1024 * 1024 });
  const { pollWaitMs: _, ...serverDefaults } = DEFAULT_ASYNC_OPTIONS;
  t.deepEqual(dflt.async, serverDefaults, 'the same as the bare server');
  // Always on the command line, and what the server itself parses from it.
  t.deepEqual(parseCli(serverArgs(dflt, 'sec')).async, DEFAULT_ASYNC_OPTIONS);

  const c = parseServerConfig('image: x\nasync:\n  startDelayMs: 0\n  maxPerClient: 7\n  maxTotal: 0\n  resultTtlMs: 5000\n  maxResultBytes: 1024\n');
  const args = serverArgs(c, 'sec');
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  t.is(after('--async-start-delay-ms'), '0');
  t.is(after('--async-max-per-client'), '7');
  t.is(after('--async-max-total'), '0');
  t.is(after('--async-result-ttl-ms'), '5000');
  t.is(after('--async-max-result-bytes'), '1024');
  t.deepEqual(parseCli(args).async, { ...DEFAULT_ASYNC_OPTIONS, startDelayMs: 0, maxPerClient: 7, maxTotal: 0, resultTtlMs: 5000, maxResultBytes: 1024 });

  t.regex(t.throws(() => parseServerConfig('image: x\nasync:\n  maxTotal: -1\n'))!.message, /async\.maxTotal must be an integer from 0 to/);
  t.regex(t.throws(() => parseServerConfig('image: x\nasync:\n  maxPerClient: 0\n'))!.message, /async\.maxPerClient must be an integer from 1 to/);
  t.regex(t.throws(() => parseServerConfig('image: x\nasync:\n  resultTtlMs: "10m"\n'))!.message, /async\.resultTtlMs must be an integer/);
  t.regex(t.throws(() => parseServerConfig('image: x\nasync:\n  pollWaitMs: 10\n'))!.message, /unknown key async\.pollWaitMs/);
});

test('metrics: on by default on 9464, a container port named metrics and a port of the headless Service only', (t) => {
  type Port = { name: string; port?: number; containerPort?: number; targetPort?: string };
  const dflt = parseServerConfig('image: x\n');
  t.deepEqual(dflt.metrics, { enabled: true, port: 9464 });
  const args = serverArgs(dflt, 'sec');
  t.is(args[args.indexOf('--metrics-listen') + 1], '0.0.0.0:9464');
  t.deepEqual(parseCli(args).metricsListen, { host: '0.0.0.0', port: 9464 }, 'what the server itself parses');
  const container = (statefulSet(dflt, 'sec') as unknown as { spec: { template: { spec: { containers: Array<{ ports: Port[] }> } } } })
    .spec.template.spec.containers[0]!;
  t.deepEqual(container.ports.find((p) => p.name === 'metrics'), { name: 'metrics', containerPort: 9464, protocol: 'TCP' });
  const svcPorts = (o: unknown) => (o as { spec: { ports: Port[] } }).spec.ports;
  t.deepEqual(svcPorts(headlessService(dflt, 'sec')).find((p) => p.name === 'metrics'), { name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' });
  // The client Service may be a LoadBalancer: plain-HTTP metrics never go out through it.
  t.deepEqual(svcPorts(clientService(dflt, 'sec')).map((p) => p.name), ['kmip']);

  const moved = parseServerConfig('image: x\nmetrics:\n  port: 19464\n');
  t.is(serverArgs(moved, 'sec')[serverArgs(moved, 'sec').indexOf('--metrics-listen') + 1], '0.0.0.0:19464');
  const off = parseServerConfig('image: x\nmetrics:\n  enabled: false\n');
  t.false(serverArgs(off, 'sec').includes('--metrics-listen'));
  t.is(parseCli(serverArgs(off, 'sec')).metricsListen, undefined);
  t.false(svcPorts(headlessService(off, 'sec')).some((p) => p.name === 'metrics'));

  t.regex(t.throws(() => parseServerConfig('image: x\nmetrics:\n  port: 5696\n'))!.message, /metrics\.port must differ from service\.port/);
  t.regex(t.throws(() => parseServerConfig('image: x\nhttp:\n  enabled: true\n  port: 9464\n'))!.message, /metrics\.port must differ from http\.port/);
  t.regex(t.throws(() => parseServerConfig('image: x\nmetrics:\n  path: /m\n'))!.message, /unknown key metrics\.path/);
});

test('trustedIssuers: CA certificates only, normalised into one PEM bundle', async (t) => {
  const { createRootCa, issueServerCertificate } = await import('../pki/index.ts');
  const root = await createRootCa({ commonName: 'corp issuer CA', organization: 'corp' });
  const c = parseServerConfig(`image: x\ntrustedIssuers:\n  - |\n${root.certificatePem.split('\n').map((l) => `    ${l}`).join('\n')}\n`);
  t.is(c.trustedIssuersPem, `${root.certificatePem.trimEnd()}\n`);
  t.is(parseServerConfig('image: x\n').trustedIssuersPem, '');
  const leaf = await issueServerCertificate(root, { dnsNames: ['x.example'] });
  const notCa = t.throws(() => parseServerConfig(`image: x\ntrustedIssuers: [${JSON.stringify(leaf.certificatePem)}]\n`));
  t.regex(notCa!.message, /trustedIssuers\[0\]: certificate 1 .* is not a CA certificate/);
  t.regex(t.throws(() => parseServerConfig('image: x\ntrustedIssuers: ["hello"]\n'))!.message, /trustedIssuers\[0\]: no PEM certificate/);
});

test('kmip-operator refuses to start on a bad --server-config, naming the file and the key', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'kmip-op-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.yaml');
  writeFileSync(file, 'image: x\nstorage:\n  typ: configmap\n');
  const main = new URL('../main.ts', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [main, '--server-config', file, '--kubeconfig', join(dir, 'none')], { encoding: 'utf8', timeout: 30_000 });
  t.is(r.status, 2);
  t.true(r.stderr.includes(file));
  t.regex(r.stderr, /unknown key storage\.typ/);
});
