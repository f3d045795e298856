// Server CPU time per operation: starts the dev server, runs N requests of each operation over C
// connections from this process, and reads the server process's CPU time (user + system, all
// threads, from /proc) before and after. Unlike ops/s, this hardly depends on what else the
// machine is doing, so it is the number to compare before and after a change on a shared host.
//
//   node test/bench/cpu.ts [--ops N] [--connections C] [--only Get,Create] [--prof DIR]
//
// --prof runs the server under --cpu-prof and writes the profile to DIR.
import { parseArgs } from 'node:util';
import { KmipClient } from '../../kmip-server/client/client.ts';
import { cpuSeconds, startDevServer } from './servers.ts';
import { OPS, check, prepare, requests, type BenchOp } from './ops.ts';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '16' },
    only: { type: 'string' },
    prof: { type: 'string' },
  },
});
const N = Number(values.ops);
const C = Number(values.connections);
const chosen = (values.only ? values.only.split(',') : [...OPS]) as BenchOp[];


const server = await startDevServer(values.prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values.prof}`] } : {});
try {
  const clients = await Promise.all(Array.from({ length: C }, () => KmipClient.connect({
    host: server.host, port: server.port, ca: server.ca, cert: server.cert, key: server.key, servername: 'localhost', version: server.version,
  })));
  const getUid = await clients[0]!.create({ length: 256 });
  for (const op of chosen) {
    const p = await prepare(clients[0]!, op, getUid);
    const next = requests(p, server.version);
    const runOnce = async (c: KmipClient) => check(await c.connection.sendRaw(next()), p);
    const n = op.startsWith('Decrypt RSA') ? Math.ceil(N / 10) : N;
    for (const c of clients) await runOnce(c); // warm-up
    const before = cpuSeconds(server.pid);
    const mine = process.cpuUsage();
    const t0 = performance.now();
    let left = n;
    await Promise.all(clients.map(async (c) => {
      while (left-- > 0) await runOnce(c);
    }));
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(server.pid) - before;
    const used = process.cpuUsage(mine);
    const client = (used.user + used.system) / 1e6;
    process.stdout.write(`${op.padEnd(26)} ${String(n).padStart(6)} ops  server CPU ${((cpu / n) * 1e6).toFixed(1).padStart(6)} µs/op  client ${((client / n) * 1e6).toFixed(1).padStart(6)} µs/op  (${(n / wall).toFixed(0)} ops/s wall)\n`);
  }
  await Promise.all(clients.map((c) => c.close()));
} finally {
  await server.stop();
}
