/**
 * The whole OASIS vector set against the real server, in `npm test`: what `npm run conformance` reports, held by CI.
 * Every file that no skip rule names must pass; every skipped file must be skipped by a rule (skips.ts), so the
 * printed reasons stay the complete list of what is not run.
 *
 * Files with `# [REPEAT] until` steps wait for the server's clock (TC_92 waits two minutes for a Deactivation Date),
 * so each runs on a server of its own, concurrently with the rest; sharing one server would also let their
 * objects show up in other files' Locate answers.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { runAll, type FileResult } from './runner.ts';
import { startDevServer, type DevServer } from './server.ts';
import { skipReason } from './skips.ts';
import { findVectorsDir, listVectorFiles, type VectorFile } from './vectors.ts';

async function onServer(files: VectorFile[], http: boolean): Promise<FileResult[]> {
  const server: DevServer = await startDevServer({ http });
  try {
    return await runAll(files, server.target, { repeatTimeoutMs: 150_000 });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- server log (tail) ---\n${server.logTail()}`);
  } finally {
    await server.stop();
  }
}

test('every vector file not named by a skip rule passes against the real server', async (t) => {
  t.timeout(400_000);
  const files = listVectorFiles(findVectorsDir());
  const waits = files.filter((f) => readFileSync(f.path, 'utf8').includes('[REPEAT]'));
  const rest = files.filter((f) => !waits.includes(f));
  const results = (await Promise.all([onServer(rest, true), ...waits.map((f) => onServer([f], false))])).flat();

  t.is(results.length, files.length);
  const failed = results.filter((r) => r.status === 'failed');
  t.deepEqual(
    failed.map((r) => `${r.file}: ${r.error ?? `request ${r.mismatch?.request} (${r.mismatch?.operation}) at ${r.mismatch?.path}: ${r.mismatch?.message}, expected ${String(r.mismatch?.expected)}, got ${String(r.mismatch?.actual)}`}`),
    [],
  );
  // Skipped exactly when a rule says so (the HTTPS binding is present, so the MSGENC rule does not apply).
  for (const r of results) {
    const f = files.find((v) => v.rel === r.file)!;
    t.is(r.status === 'skipped', skipReason(f, undefined, { http: true }) !== undefined, r.file);
  }
  t.true(results.filter((r) => r.status === 'passed').length > 400);
});
