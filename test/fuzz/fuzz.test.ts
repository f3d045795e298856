/**
 * The dispatcher fuzzer (engine.ts) with fixed seeds: thousands of vector requests changed the way a broken or
 * hostile client would, each answered with a readable Response Message in the request's terms, none thrown, none an
 * internal error, none carrying a tag its version lacks, none reaching another scope's objects, another header
 * user's objects or an operation beyond the sender's role. A failure names the seed and case and shows the request;
 * `node test/fuzz/run.ts --seed N --iterations M` reproduces it (and runs longer or other seeds).
 */
import test from 'ava';
import { fuzz, loadCorpus, mutate, prng } from './engine.ts';
import type { StructureItem } from '../../kmip-server/ttlv/types.ts';
import { elementToTtlv } from '../../kmip-server/ttlv/xml.ts';

const corpus = loadCorpus();
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 2500);

for (const seed of [20261124, 7]) {
  test(`seed ${seed}: every changed request gets a readable answer, no internal error, nothing newer than its version`, async (t) => {
    const report = await fuzz({ seed, iterations: ITERATIONS, corpus });
    const shown = report.findings.slice(0, 3).map((f) => `case ${f.iteration} (${f.kind}): ${f.detail}\n${f.request.slice(0, 2000)}`);
    t.deepEqual(shown, [], `seed ${seed}: ${report.findings.length} findings`);
    // The fuzzer must reach the operations, not only the decoder and the header checks.
    t.true(report.iterations >= ITERATIONS * 0.9, `${report.iterations} cases ran`);
    t.true(report.successes > ITERATIONS / 10, `${report.successes} batch items succeeded`);
    t.true(report.headerUserSuccesses > ITERATIONS / 200, `${report.headerUserSuccesses} batch items succeeded with a header credential`);
    t.true(report.answered > report.closed * 10, `${report.answered} answered, ${report.closed} connections closed`);
  });
}

test('the corpus covers every version of the vectors and the mutations change messages', (t) => {
  t.true(corpus.requests.length > 1000, `${corpus.requests.length} requests`);
  const r = prng(1);
  let changed = 0;
  let tried = 0;
  for (let i = 0; tried < 200 && i < corpus.requests.length; i++) {
    let msg: StructureItem;
    try {
      msg = elementToTtlv(corpus.requests[i]!, { resolveVariable: () => undefined }) as StructureItem;
    } catch {
      continue; // a request with $VARIABLES
    }
    tried++;
    const before = JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (mutate(msg, r, corpus) !== 'none' && JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) !== before) changed++;
  }
  t.is(tried, 200);
  t.true(changed > 150, `${changed} of 200 messages changed`);
});

test('the same seed gives the same run', async (t) => {
  const a = await fuzz({ seed: 99, iterations: 200, corpus });
  const b = await fuzz({ seed: 99, iterations: 200, corpus });
  t.is(a.successes, b.successes);
  t.is(a.answered, b.answered);
  t.is(a.closed, b.closed);
});
