// One load-generating thread of the benchmark: opens its connections, runs the closed loop for
// the given time, and posts every latency (ms) back. Several run at once so the client side is
// not the bottleneck on a multi-core machine.
import { parentPort, workerData } from 'node:worker_threads';
import { KmipClient } from '../../kmip-server/client/client.ts';
import type { BenchTarget } from './servers.ts';

interface Job {
  target: Omit<BenchTarget, 'stop'>;
  op: 'Get' | 'Create';
  uid: string;
  connections: number;
  durationMs: number;
}

const job = workerData as Job;
const t = job.target;
const clients = await Promise.all(
  Array.from({ length: job.connections }, () =>
    KmipClient.connect({
      host: t.host, port: t.port, ca: t.ca, cert: t.cert, key: t.key, servername: 'localhost',
      ...(t.ciphers ? { ciphers: t.ciphers } : {}), ...(t.maxVersion ? { maxVersion: t.maxVersion } : {}),
      version: t.version, timeoutMs: 60_000,
    })),
);
const run = (c: KmipClient) => (job.op === 'Get' ? c.get(job.uid) : c.create({ length: 256 }));
for (const c of clients) await run(c); // warm-up, and fail fast if the operation does not work
const latencies: number[] = [];
const end = performance.now() + job.durationMs;
await Promise.all(clients.map(async (c) => {
  while (performance.now() < end) {
    const s = performance.now();
    await run(c);
    latencies.push(performance.now() - s);
  }
}));
await Promise.all(clients.map((c) => c.close()));
parentPort!.postMessage(Float64Array.from(latencies));
