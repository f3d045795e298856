// The OASIS vectors against the real dev server, as `npm run conformance` runs them, inside
// `npm test`: any file that passes today and fails tomorrow fails the suite. Files that fail for
// a known reason are listed here, each with that reason; skipped files carry theirs in skips.ts.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findVectorsDir, listVectorFiles } from './vectors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Known failures: file → why (work that is still open). */
const KNOWN_FAILURES: Readonly<Record<string, string>> = {};

interface Report {
  totals: { passed: number; failed: number; skipped: number };
  files: Array<{ file: string; status: 'passed' | 'failed' | 'skipped'; mismatch?: unknown; error?: unknown }>;
}

/** One `run.ts` process (its own fresh server) over the files the arguments select; its JSON report. */
async function runConformance(args: string[]): Promise<Report> {
  const out = join(await mkdtemp(join(tmpdir(), 'conformance-')), 'report.json');
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'test/conformance/run.ts'), '--json', out, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`the runner itself failed (exit ${code}) with ${args.join(' ')}`);
  return JSON.parse(await readFile(out, 'utf8')) as Report;
}

test('every OASIS vector file passes or is skipped with a reason, except the listed known failures', async (t) => {
  t.timeout(15 * 60_000);
  // Files with `# [REPEAT] until` steps wait on the server's clock (TC_92 two minutes for a Deactivation Date):
  // each runs in a run of its own, at the same time as the rest, instead of one after the other.
  const waiting = listVectorFiles(findVectorsDir()).filter((f) => readFileSync(f.path, 'utf8').includes('[REPEAT]')).map((f) => f.rel);
  t.true(waiting.length > 0 && waiting.length < 20, `${waiting.length} files wait`);
  const reports = await Promise.all([
    runConformance(waiting.flatMap((rel) => ['--exclude', rel])),
    ...waiting.map((rel) => runConformance(['--filter', rel])),
  ]);
  const report: Report = {
    totals: { passed: 0, failed: 0, skipped: 0 },
    files: reports.flatMap((r) => r.files),
  };
  for (const f of report.files) report.totals[f.status]++;
  t.is(new Set(report.files.map((f) => f.file)).size, report.files.length, 'a file ran twice');
  t.is(report.files.length, listVectorFiles(findVectorsDir()).length, 'every file ran once');
  const failed = report.files.filter((f) => f.status === 'failed');
  const unexpected = failed.filter((f) => !(f.file in KNOWN_FAILURES));
  t.deepEqual(unexpected.map((f) => `${f.file}: ${JSON.stringify(f.mismatch ?? f.error)}`), []);
  // A known failure that now passes should leave the list.
  const nowPassing = Object.keys(KNOWN_FAILURES).filter((k) => report.files.some((f) => f.file === k && f.status === 'passed'));
  t.deepEqual(nowPassing, [], 'these files pass now: remove them from KNOWN_FAILURES');
  t.true(report.totals.passed >= 468, `only ${report.totals.passed} files passed`);
  t.log(`conformance: ${report.totals.passed} passed, ${report.totals.failed} failed, ${report.totals.skipped} skipped`);
});
