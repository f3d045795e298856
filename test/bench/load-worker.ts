// One load-generating thread of the benchmark: opens its connections, runs the closed loop for
// the given time, and posts every latency (ms) back. Several run at once so the client side is
// not the bottleneck on a multi-core machine. Requests are encoded once (ops.ts) and every
// response is checked, so the threads spend little CPU the server could use.
import { parentPort, workerData } from 'node:worker_threads';
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import type { BenchTarget } from './servers.ts';
import { check, requests, type Prepared } from './ops.ts';

interface Job {
  target: Omit<BenchTarget, 'stop'>;
  prepared: Prepared;
  connections: number;
  durationMs: number;
}

const job = workerData as Job;
const t = job.target;
const conns = await Promise.all(
  Array.from({ length: job.connections }, () =>
    KmipConnection.connect({
      host: t.host, port: t.port, ca: t.ca, cert: t.cert, key: t.key, servername: 'localhost',
      ...(t.ciphers ? { ciphers: t.ciphers } : {}), ...(t.maxVersion ? { maxVersion: t.maxVersion } : {}),
      timeoutMs: 60_000,
    })),
);
const next = requests(job.prepared, t.version);
const run = async (c: KmipConnection) => check(await c.sendRaw(next()), job.prepared);
for (const c of conns) await run(c); // warm-up, and fail fast if the operation does not work
const latencies: number[] = [];
const end = performance.now() + job.durationMs;
await Promise.all(conns.map(async (c) => {
  while (performance.now() < end) {
    const s = performance.now();
    await run(c);
    latencies.push(performance.now() - s);
  }
}));
await Promise.all(conns.map((c) => c.close()));
parentPort!.postMessage(Float64Array.from(latencies));
