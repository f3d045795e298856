#!/usr/bin/env node
/**
 * `npm run gen:docs`: writes the generated pages.
 *
 *   docs/reference.md     from crds/*.yaml (./reference.ts)
 *   docs/kmip-support.md  from docs/gen/conformance-results.json (./kmip-support.ts)
 *
 *   npm run gen:docs -- --conformance-json RAW.json
 *     first replaces docs/gen/conformance-results.json with the compact form of a fresh
 *     `npm run conformance -- --json RAW.json`, reading the vectors the run used.
 *   npm run gen:docs -- --check
 *     writes nothing; exits 1 naming each page that differs from what it would write.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findVectorsDir } from '../../test/conformance/vectors.ts';
import { RESULTS_FILE, compactResults, formatResults, renderKmipSupport } from './kmip-support.ts';
import { renderReference } from './reference.ts';

export const REFERENCE_MD = fileURLToPath(new URL('../reference.md', import.meta.url));
export const KMIP_SUPPORT_MD = fileURLToPath(new URL('../kmip-support.md', import.meta.url));

function main(): number {
  const { values } = parseArgs({ options: { 'conformance-json': { type: 'string' }, check: { type: 'boolean' } } });
  const raw = values['conformance-json'];
  if (raw !== undefined) {
    const run = JSON.parse(readFileSync(raw, 'utf8'));
    const dir = typeof run.vectors === 'string' && existsSync(run.vectors) ? run.vectors : findVectorsDir();
    writeFileSync(RESULTS_FILE, formatResults(compactResults(run, dir)));
    process.stdout.write(`${fileURLToPath(RESULTS_FILE)} written from ${raw}\n`);
  }
  const pages: [string, string][] = [[REFERENCE_MD, renderReference()], [KMIP_SUPPORT_MD, renderKmipSupport()]];
  let stale = 0;
  for (const [path, text] of pages) {
    if (values.check) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
        process.stderr.write(`${path} is out of date: run npm run gen:docs\n`);
        stale++;
      }
    } else {
      writeFileSync(path, text);
      process.stdout.write(`${path} written\n`);
    }
  }
  return stale > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
