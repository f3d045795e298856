// The operator benchmark (part of `npm run bench`): time from applying 500 KmipClientCredentials
// to all of them Ready, against the envtest control plane (real kube-apiserver and etcd, built by
// test/envtest/build.sh), with the operator in this process at its default settings (2 workers per
// controller, EC P-256 keys). Writes docs/benchmarks-operator.md.
//
//   node test/bench/operator.ts [--count N]
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startOperator } from '../../operator/main.ts';
import { KubeClient } from '../../operator/runtime/client.ts';
import { OperatorMetrics } from '../../operator/runtime/metrics.ts';
import { ensureBinaries, startControlPlane } from '../envtest/control-plane.ts';
import { applyCredentials } from '../envtest/credential-load.ts';
import { installCrds, createNamespaces } from '../envtest/wait.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '500' } } });
const COUNT = Number(values.count);
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

await ensureBinaries();
const cp = await startControlPlane();
const client = KubeClient.load(cp.kubeconfigPath);
try {
  await installCrds(cp, 'bench');
  await createNamespaces(cp, ['kube-kmip', 'bench']);
  const metrics = new OperatorMetrics();
  const mgr = await startOperator({ kubeconfig: cp.kubeconfigPath, logger: pino({ level: 'silent' }), namespace: 'kube-kmip', leaderElection: false, metrics });
  const t0 = performance.now();
  const load = await applyCredentials(client, 'bench', COUNT);
  const appliedMs = performance.now() - t0;
  let half = 0;
  while (load.ready() < COUNT) {
    if (!half && load.ready() >= COUNT / 2) half = performance.now() - t0;
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`only ${load.ready()} of ${COUNT} Ready after 30 minutes`);
    await sleep(50);
  }
  const allMs = performance.now() - t0;
  const reconciles = (await metrics.reconcileTotal.get()).values
    .filter((v) => v.labels['controller'] === 'kmipclientcredential')
    .reduce((sum, v) => sum + v.value, 0);
  const duplicates = [...load.serials.values()].filter((s) => s.size !== 1).length;
  await load.stop();
  await mgr.stop();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const rows = [
    ['credentials applied (10 in parallel)', `${COUNT}`],
    ['time to apply them all', `${(appliedMs / 1000).toFixed(1)} s`],
    ['time until half are Ready', `${(half / 1000).toFixed(1)} s`],
    ['time until all are Ready', `${(allMs / 1000).toFixed(1)} s`],
    ['credentials Ready per second', `${(COUNT / (allMs / 1000)).toFixed(1)}`],
    ['credential reconciles', `${reconciles} (${(reconciles / (allMs / 1000)).toFixed(1)}/s)`],
    ['credentials issued more than once', `${duplicates}`],
  ];
  const doc = `# Operator benchmark

Produced by \`npm run bench\` (test/bench/operator.ts), ${new Date().toISOString().slice(0, 10)}: ${COUNT} KmipClientCredentials
applied to a real kube-apiserver ${cp.version} and etcd (the envtest control plane, on this machine),
reconciled by the operator in the benchmark's process with its defaults (2 workers per controller,
EC P-256 client keys, one Secret per credential). Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB,
Node ${process.version}; the API server, etcd and the operator share those cores.

| measure | value |
| --- | ---: |
${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}
`;
  process.stdout.write(doc);
  writeFileSync(fileURLToPath(new URL('../../docs/benchmarks-operator.md', import.meta.url)), doc);
} finally {
  client.close();
  await cp.stop();
}
