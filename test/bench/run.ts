// `npm run bench`: closed-loop clients over N mutual-TLS connections against kube-kmip's dev
// server and PyKMIP's server started in the same run; ops/s and latency percentiles side by side.
// Results are printed and written to docs/benchmarks.md with the machine and date.
import { cpus, totalmem } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { KmipClient } from '../../kmip-server/client/client.ts';
import { startDevServer, startPykmipServer, type BenchTarget } from './servers.ts';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const CONNECTIONS = [1, 16];

interface Result { target: string; op: string; connections: number; ops: number; opsPerSec: number; p50: number; p99: number }

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function connect(t: BenchTarget): Promise<KmipClient> {
  return KmipClient.connect({
    host: t.host, port: t.port, ca: t.ca, cert: t.cert, key: t.key, servername: 'localhost',
    ...(t.ciphers ? { ciphers: t.ciphers } : {}), ...(t.maxVersion ? { maxVersion: t.maxVersion } : {}),
    version: t.version, timeoutMs: 60_000,
  });
}

/** Load threads: one per core (at most one per connection), connections spread across them. */
const THREADS = Math.max(1, Math.min(cpus().length, Number(process.env.BENCH_THREADS ?? cpus().length)));

async function closedLoop(t: BenchTarget, op: 'Get' | 'Create', connections: number, uid: string): Promise<Result> {
  const threads = Math.min(THREADS, connections);
  const { stop: _stop, ...target } = t;
  const parts = await Promise.all(Array.from({ length: threads }, (_, i) => {
    const share = Math.floor(connections / threads) + (i < connections % threads ? 1 : 0);
    return new Promise<Float64Array>((resolve, reject) => {
      const w = new Worker(new URL('./load-worker.ts', import.meta.url), {
        workerData: { target, op, uid, connections: share, durationMs: DURATION_MS },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
  }));
  const latencies = parts.flatMap((p) => [...p]).sort((a, b) => a - b);
  return { target: t.name, op, connections, ops: latencies.length, opsPerSec: latencies.length / (DURATION_MS / 1000), p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

async function benchTarget(t: BenchTarget): Promise<Result[]> {
  const setup = await connect(t);
  const uid = await setup.create({ length: 256 });
  await setup.close();
  const out: Result[] = [];
  for (const n of CONNECTIONS) {
    out.push(await closedLoop(t, 'Get', n, uid));
    out.push(await closedLoop(t, 'Create', n, uid));
  }
  return out;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const dev = await startDevServer();
  const py = await startPykmipServer(dev.dataDir);
  let ours: Result[] = [];
  let theirs: Result[] = [];
  try {
    ours = await benchTarget(dev);
    theirs = await benchTarget(py);
  } finally {
    await dev.stop();
    await py.stop();
  }
  const rows = ours.map((o) => {
    const p = theirs.find((x) => x.op === o.op && x.connections === o.connections)!;
    return { o, p, ratio: o.opsPerSec / p.opsPerSec };
  });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const lines = [
    '| operation | connections | kube-kmip ops/s | p50 ms | p99 ms | PyKMIP ops/s | p50 ms | p99 ms | ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(({ o, p, ratio }) =>
      `| ${o.op} | ${o.connections} | ${fmt(o.opsPerSec)} | ${fmt(o.p50, 2)} | ${fmt(o.p99, 2)} | ${fmt(p.opsPerSec)} | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${fmt(ratio, 1)}× |`),
  ];
  process.stdout.write(`\n${machine}; ${DURATION_MS / 1000} s per cell, closed loop from ${THREADS} load threads, AES-256 keys, KMIP 1.4 (kube-kmip) / 1.2 (PyKMIP)\n\n${lines.join('\n')}\n`);
  const doc = [
    '# Benchmarks',
    '',
    'Produced by `npm run bench` (test/bench/run.ts); rerun it to refresh this page. Closed-loop clients,',
    `each on its own mutual-TLS connection (spread over ${THREADS} load threads), against kube-kmip's dev server (SQLite, synchronous=FULL)`,
    'and PyKMIP\'s `pykmip-server` (Debian python3-pykmip 0.10, SQLite) started in the same run on the same',
    `machine. Each cell runs ${DURATION_MS / 1000} s after a warm-up request per connection.`,
    '',
    `Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
    ...lines,
    '',
  ].join('\n');
  await writeFile(fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url)), doc);
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
