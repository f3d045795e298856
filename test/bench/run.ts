// `npm run bench`: closed-loop clients over N mutual-TLS connections against kube-kmip's dev
// server and PyKMIP's server started in the same run; ops/s and latency percentiles side by side.
// Results are printed and written to docs/benchmarks.md with the machine, the load and the date.
import { cpus, loadavg, totalmem } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { KmipClient } from '../../kmip-server/client/client.ts';
import { cpuSeconds, startDevServer, startPykmipServer, type BenchTarget } from './servers.ts';
import { OPS, isAes, prepare, type BenchOp, type Prepared } from './ops.ts';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 2) * 1000;
/**
 * Each cell runs this many rounds, kube-kmip and PyKMIP alternating, so both see the same moments of a busy host;
 * the table gives the median round and the spread of the per-round ratios.
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CONNECTIONS = [1, 16];
/** BENCH_OPS=Get,Create runs only those operations. */
const CHOSEN: BenchOp[] = process.env.BENCH_OPS ? (process.env.BENCH_OPS.split(',') as BenchOp[]) : [...OPS];

interface Round { opsPerSec: number; latencies: Float64Array; cpuPerOp: number }
interface Result { op: BenchOp; connections: number; opsPerSec: number; p50: number; p99: number; rounds: number[]; cpuPerOp: number }

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function connect(t: BenchTarget): Promise<KmipClient> {
  return KmipClient.connect({
    host: t.host, port: t.port, ca: t.ca, cert: t.cert, key: t.key, servername: 'localhost',
    ...(t.ciphers ? { ciphers: t.ciphers } : {}), ...(t.maxVersion ? { maxVersion: t.maxVersion } : {}),
    version: t.version, timeoutMs: 60_000,
  });
}

/**
 * Load threads: one per core but one (at most one per connection), connections spread across them. Both servers
 * answer from one main thread; with a load thread on every core the clients take CPU from the server under test
 * (on 2 cores, two load threads cut kube-kmip's measured Encrypt rate by about a quarter; PyKMIP, far slower, is not
 * affected). BENCH_THREADS overrides.
 */
const THREADS = Math.max(1, Math.min(cpus().length, Number(process.env.BENCH_THREADS ?? cpus().length - 1)));

async function closedLoop(t: BenchTarget, prepared: Prepared, connections: number): Promise<Round> {
  const threads = Math.min(THREADS, connections);
  const { stop: _stop, ...target } = t;
  const cpuBefore = cpuSeconds(t.pid);
  const parts = await Promise.all(Array.from({ length: threads }, (_, i) => {
    const share = Math.floor(connections / threads) + (i < connections % threads ? 1 : 0);
    return new Promise<Float64Array>((resolve, reject) => {
      const w = new Worker(new URL('./load-worker.ts', import.meta.url), {
        workerData: { target, prepared, connections: share, durationMs: DURATION_MS },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
  }));
  // Includes the workers' connection set-up and warm-up requests: a few per connection against thousands.
  const cpu = cpuSeconds(t.pid) - cpuBefore;
  const latencies = Float64Array.from(parts.flatMap((p) => [...p]));
  return { opsPerSec: latencies.length / (DURATION_MS / 1000), latencies, cpuPerOp: latencies.length > 0 ? cpu / latencies.length : NaN };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The median round's rate, and latency percentiles over every round. */
function summarize(op: BenchOp, connections: number, rounds: Round[]): Result {
  const latencies = rounds.flatMap((r) => [...r.latencies]).sort((a, b) => a - b);
  const rates = rounds.map((r) => r.opsPerSec);
  return { op, connections, opsPerSec: median(rates), p50: pct(latencies, 50), p99: pct(latencies, 99), rounds: rates, cpuPerOp: median(rounds.map((r) => r.cpuPerOp)) };
}

/** A target with the connection that made its keys, and the prepared request per operation. */
interface Side { t: BenchTarget; setup: KmipClient; getUid: string }

async function side(t: BenchTarget): Promise<Side> {
  const setup = await connect(t);
  return { t, setup, getUid: await setup.create({ length: 256 }) };
}

/** Every cell, rounds alternating between the two servers. PyKMIP's server encrypts and decrypts with symmetric keys only. */
async function benchBoth(ours: Side, theirs: Side, ops: BenchOp[]): Promise<{ ours: Result[]; theirs: Result[] }> {
  const out = { ours: [] as Result[], theirs: [] as Result[] };
  for (const op of ops) {
    const both = isAes(op) || op === 'Get' || op === 'Create';
    const a = await prepare(ours.setup, op, ours.getUid);
    const b = both ? await prepare(theirs.setup, op, theirs.getUid) : undefined;
    for (const n of CONNECTIONS) {
      const ra: Round[] = [];
      const rb: Round[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        ra.push(await closedLoop(ours.t, a, n));
        if (b) rb.push(await closedLoop(theirs.t, b, n));
      }
      const x = summarize(op, n, ra);
      out.ours.push(x);
      let line = `  ${op} × ${n}: ${ours.t.name} ${x.rounds.map(Math.round).join(' / ')} ops/s`;
      if (b) {
        const y = summarize(op, n, rb);
        out.theirs.push(y);
        line += `, ${theirs.t.name} ${y.rounds.map(Math.round).join(' / ')}`;
      }
      process.stderr.write(`${line}\n`);
    }
  }
  return out;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  const dev = await startDevServer();
  const py = await startPykmipServer(dev.dataDir);
  let ours: Result[] = [];
  let theirs: Result[] = [];
  const sides: Side[] = [];
  try {
    sides.push(await side(dev), await side(py));
    ({ ours, theirs } = await benchBoth(sides[0]!, sides[1]!, CHOSEN));
  } finally {
    await Promise.all(sides.map((s) => s.setup.close()));
    await dev.stop();
    await py.stop();
  }
  const rows = ours.map((o) => {
    const p = theirs.find((x) => x.op === o.op && x.connections === o.connections);
    // The ratio of the medians, and the lowest and highest ratio of a round against the PyKMIP round beside it.
    const each = p ? o.rounds.map((r, i) => r / p.rounds[i]!) : [];
    return { o, p, ratio: p ? o.opsPerSec / p.opsPerSec : undefined, low: Math.min(...each), high: Math.max(...each) };
  });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const lines = [
    '| operation | connections | kube-kmip ops/s | p50 ms | p99 ms | PyKMIP ops/s | p50 ms | p99 ms | ratio | rounds\' ratios | server CPU µs/op: kube-kmip | PyKMIP | CPU ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(({ o, p, ratio, low, high }) =>
      `| ${o.op} | ${o.connections} | ${fmt(o.opsPerSec)} | ${fmt(o.p50, 2)} | ${fmt(o.p99, 2)} | ` +
      (p
        ? `${fmt(p.opsPerSec)} | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${fmt(ratio!, 1)}× | ${fmt(low, 0)}–${fmt(high, 0)}× | ${fmt(o.cpuPerOp * 1e6)} | ${fmt(p.cpuPerOp * 1e6)} | ${fmt(p.cpuPerOp / o.cpuPerOp, 1)}× |`
        : `not supported | | | | | ${fmt(o.cpuPerOp * 1e6)} | | |`)),
  ];
  const loadNote = `1-minute load average before the run: ${fmt(load, 2)} on ${cpus().length} cores`;
  process.stdout.write(`\n${machine}; ${loadNote}; ${ROUNDS} rounds of ${DURATION_MS / 1000} s per cell, closed loop from ${THREADS} load threads, KMIP 1.4\n\n${lines.join('\n')}\n`);
  const doc = [
    '# Benchmarks',
    '',
    'Produced by `npm run bench` (test/bench/run.ts); rerun it to refresh this page. Closed-loop clients,',
    `each on its own mutual-TLS connection (spread over ${THREADS} load threads in the same process), against kube-kmip's dev server`,
    '(SQLite, synchronous=FULL) and PyKMIP\'s `pykmip-server` (Debian python3-pykmip 0.10, SQLite) started in the same run on the',
    `same machine, both spoken to in KMIP 1.4. Each cell runs ${ROUNDS} rounds of ${DURATION_MS / 1000} s (after a warm-up request per connection),`,
    'kube-kmip\'s and PyKMIP\'s rounds alternating so both see the same moments of the host; a cell gives the median round\'s',
    'rate, the latency percentiles over all rounds, the ratio of the medians and the lowest and highest ratio of a round to the',
    'PyKMIP round run right after it. The last three columns are each server process\'s CPU time (all threads, from',
    '/proc) per operation in its median round: unlike ops/s this hardly depends on what else the host runs. The load',
    'threads encode each request once (a fresh random IV is written into every Encrypt) and decode every',
    'response to check it succeeded (a Decrypt must return the plaintext). There is one load thread per core but one, so a core is',
    'left to the server under test (each server answers from one main thread); the load threads still use CPU the servers share.',
    '',
    'Keys: AES-256 made by each server\'s Create and activated; for RSA an RSA-2048 private key registered with',
    'Decrypt (RSA-OAEP with SHA-256 and MGF1-SHA-256, ciphertext made outside the server). PyKMIP\'s server has',
    'AES-GCM (with Authenticated Encryption Tag from KMIP 1.4), so the AES rows compare GCM with GCM; it',
    'has no asymmetric Encrypt/Decrypt, so the RSA row has no PyKMIP figure.',
    '',
    `Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}. ${loadNote}: the servers and the load`,
    'threads share these cores with each other and with whatever else runs, so absolute rates move between runs,',
    'PyKMIP\'s too; the ratio is measured within one run. `node test/bench/cpu.ts` reports server CPU time per',
    'operation, which varies much less than ops/s on a busy machine.',
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
