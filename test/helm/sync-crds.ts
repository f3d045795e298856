/**
 * Copies the generated CRDs (crds/, from `npm run gen:crds`) into the chart
 * (charts/kube-kmip/files/crds/): Helm reads only files inside the chart, so the chart carries a
 * copy. chart.test.ts fails while the copy differs; run this to bring it up to date:
 *
 *   node test/helm/sync-crds.ts
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_CRD_DIR = fileURLToPath(new URL('../../crds', import.meta.url));
export const CHART_CRD_DIR = fileURLToPath(new URL('../../charts/kube-kmip/files/crds', import.meta.url));

const yamlFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  } catch {
    return [];
  }
};

/** What differs between crds/ and the chart's copy: "missing x", "stale x", "extra x"; [] when in sync. */
export function crdDrift(): string[] {
  const source = yamlFiles(SOURCE_CRD_DIR);
  const copy = new Set(yamlFiles(CHART_CRD_DIR));
  const drift: string[] = [];
  for (const f of source) {
    if (!copy.has(f)) drift.push(`missing ${f}`);
    else if (!readFileSync(join(SOURCE_CRD_DIR, f)).equals(readFileSync(join(CHART_CRD_DIR, f)))) drift.push(`stale ${f}`);
    copy.delete(f);
  }
  for (const f of copy) drift.push(`extra ${f}`);
  return drift;
}

/** Makes the chart's copy equal crds/; returns what it changed. */
export function syncCrds(): string[] {
  const drift = crdDrift();
  mkdirSync(CHART_CRD_DIR, { recursive: true });
  for (const d of drift) {
    const [what, f] = d.split(' ') as [string, string];
    if (what === 'extra') rmSync(join(CHART_CRD_DIR, f));
    else copyFileSync(join(SOURCE_CRD_DIR, f), join(CHART_CRD_DIR, f));
  }
  return drift;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const changed = syncCrds();
  process.stdout.write(changed.length ? `${changed.map((c) => `  ${c}`).join('\n')}\nchart CRDs updated\n` : 'chart CRDs already current\n');
}
