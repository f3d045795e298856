// Runs the dispatcher fuzzer (engine.ts) for as long as asked and prints what it found.
//
//   node test/fuzz/run.ts [--seed N] [--iterations N] [--show N]
import { parseArgs } from 'node:util';
import { fuzz } from './engine.ts';

const { values } = parseArgs({ options: { seed: { type: 'string' }, iterations: { type: 'string', default: '5000' }, show: { type: 'string', default: '5' } } });
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const started = Date.now();
const report = await fuzz({
  seed,
  iterations: Number(values.iterations),
  onCase: (i) => {
    if (i % 1000 === 999) process.stderr.write(`  ${i + 1} cases\n`);
  },
});
const byDetail = new Map<string, typeof report.findings>();
for (const f of report.findings) {
  const key = `${f.kind}: ${f.detail.split('\n').slice(0, 2).join(' | ')}`;
  byDetail.set(key, [...(byDetail.get(key) ?? []), f]);
}
process.stdout.write(`fuzz: seed ${seed}, ${report.iterations} cases in ${((Date.now() - started) / 1000).toFixed(1)} s: ${report.answered} answered (${report.successes} items succeeded, ${report.headerUserSuccesses} of them with a header credential), ${report.closed} closed, ${report.findings.length} findings in ${byDetail.size} kinds\n`);
for (const [key, fs] of byDetail) {
  process.stdout.write(`\n== ${fs.length} × ${key}\n   first at case ${fs[0]!.iteration}\n${fs[0]!.detail}\n`);
  for (const f of fs.slice(0, Number(values.show))) process.stdout.write(`--- case ${f.iteration}\n${f.request.slice(0, 3000)}\n`);
}
process.exitCode = report.findings.length > 0 ? 1 : 0;
