/**
 * docs/kmip-support.md from the conformance results, not by hand: for each KMIP version, the
 * operations, object types and cryptographic algorithms (with modes, paddings, hashes, curves)
 * that appear in the OASIS test vectors the server passes.
 *
 * Input: docs/gen/conformance-results.json, a compact copy of `npm run conformance -- --json`
 * (file, version, family, status per vector; see compactResults), and the vector XML files
 * themselves ($KMIP_TESTCASES or ../shared/kmip-testcases) to read what each passing vector exercises.
 * The facts per vector are stored in the results file too, so the page can be regenerated (and
 * checked by test/docs/kmip-support.test.ts) where the vectors are not present.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXmlDocument, type XmlElement } from '../../kmip-server/ttlv/xml.ts';

export const RESULTS_FILE = new URL('./conformance-results.json', import.meta.url);

/** What one vector file exercises. */
export interface VectorFacts {
  operations: string[];
  objectTypes: string[];
  algorithms: string[];
  /** Block cipher modes, padding methods, hashing algorithms, curves, signature algorithms, MGFs. */
  parameters: string[];
}

export interface CompactResult {
  file: string;
  version: string;
  family: string;
  status: 'passed' | 'failed' | 'skipped';
  facts?: VectorFacts;
}

export interface CompactResults {
  generatedAt: string;
  vectors: string;
  totals: { passed: number; failed: number; skipped: number };
  files: CompactResult[];
}

// Elements (2.x form, and Cryptographic Parameters in every version) and attribute names (1.x
// Attribute Name/Attribute Value form) that carry the values collected.
const ALGORITHM_ELEMENTS = new Set(['CryptographicAlgorithm']);
const PARAMETER_ELEMENTS = new Set(['BlockCipherMode', 'PaddingMethod', 'HashingAlgorithm', 'RecommendedCurve', 'DigitalSignatureAlgorithm', 'MaskGenerator']);
const ATTRIBUTE_NAMES: Record<string, 'algorithms' | 'parameters' | 'objectTypes'> = {
  'Cryptographic Algorithm': 'algorithms',
  'Object Type': 'objectTypes',
  'Recommended Curve': 'parameters',
  'Digital Signature Algorithm': 'parameters',
};
const PARAMETER_PREFIX: Record<string, string> = {
  BlockCipherMode: 'mode', PaddingMethod: 'padding', HashingAlgorithm: 'hash', RecommendedCurve: 'curve',
  DigitalSignatureAlgorithm: 'signature', MaskGenerator: 'mask generator',
};

/** Reads the operations, object types and algorithms one vector file's requests and responses use. */
export function vectorFacts(xml: string): VectorFacts {
  const sets = { operations: new Set<string>(), objectTypes: new Set<string>(), algorithms: new Set<string>(), parameters: new Set<string>() };
  const visit = (el: XmlElement, inRequest: boolean): void => {
    const v = el.attrs['value'];
    if (v !== undefined && el.attrs['type'] === 'Enumeration') {
      if (el.name === 'Operation' && inRequest) sets.operations.add(v);
      else if (el.name === 'ObjectType') sets.objectTypes.add(v);
      else if (ALGORITHM_ELEMENTS.has(el.name)) sets.algorithms.add(v);
      else if (PARAMETER_ELEMENTS.has(el.name)) sets.parameters.add(`${PARAMETER_PREFIX[el.name]} ${v}`);
    }
    if (el.name === 'Attribute') {
      const name = el.children.find((c) => c.name === 'AttributeName')?.attrs['value'];
      const value = el.children.find((c) => c.name === 'AttributeValue');
      const kind = name ? ATTRIBUTE_NAMES[name] : undefined;
      if (kind && value?.attrs['type'] === 'Enumeration' && value.attrs['value']) {
        const x = value.attrs['value'];
        if (kind === 'parameters') sets.parameters.add(`${name === 'Recommended Curve' ? 'curve' : 'signature'} ${x}`);
        else sets[kind].add(x);
      }
    }
    for (const c of el.children) visit(c, inRequest || el.name === 'RequestMessage');
  };
  visit(parseXmlDocument(xml), false);
  const sorted = (s: Set<string>) => [...s].sort();
  return { operations: sorted(sets.operations), objectTypes: sorted(sets.objectTypes), algorithms: sorted(sets.algorithms), parameters: sorted(sets.parameters) };
}

interface RawRun { generatedAt: string; vectors: string; totals: { passed: number; failed: number; skipped: number }; files: { file: string; version: string; family: string; status: CompactResult['status'] }[] }

/**
 * The committed form of a conformance run (`npm run conformance -- --json RAW`): no timings, no
 * messages, files sorted, and for passing vectors what they exercise, read from `vectorsDir`.
 */
export function compactResults(raw: RawRun, vectorsDir: string): CompactResults {
  const files = raw.files.map((f): CompactResult => ({
    file: f.file, version: f.version, family: f.family, status: f.status,
    ...(f.status === 'passed' ? { facts: vectorFacts(readFileSync(join(vectorsDir, f.file), 'utf8')) } : {}),
  })).sort((a, b) => a.file.localeCompare(b.file));
  return { generatedAt: raw.generatedAt, vectors: raw.vectors, totals: raw.totals, files };
}

/** The results file's text: one line per vector file, so a new run shows as a readable diff. */
export function formatResults(r: CompactResults): string {
  const head = JSON.stringify({ generatedAt: r.generatedAt, vectors: r.vectors, totals: r.totals });
  return `${head.slice(0, -1)},\n"files": [\n${r.files.map((f) => JSON.stringify(f)).join(',\n')}\n]}\n`;
}

export function loadResults(path: URL | string = RESULTS_FILE): CompactResults {
  return JSON.parse(readFileSync(path, 'utf8')) as CompactResults;
}

const VERSION_ORDER = (v: string) => v.replace(/^v/, '').split('.').map(Number);
const byVersion = (a: string, b: string) => {
  const [x, y] = [VERSION_ORDER(a), VERSION_ORDER(b)];
  return (x[0]! - y[0]!) || (x[1]! - y[1]!);
};
/** "CreateKeyPair" → "Create Key Pair", as the specification names operations. */
const SPEC_NAMES: Record<string, string> = { ReKey: 'Re-key', ReKeyKeyPair: 'Re-key Key Pair', ReCertify: 'Re-certify', ReProvision: 'Re-provision' };
const spaced = (s: string) => SPEC_NAMES[s] ?? s.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');

function union(files: CompactResult[], key: keyof VectorFacts): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of files) for (const x of f.facts?.[key] ?? []) m.set(x, (m.get(x) ?? 0) + 1);
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
}

const list = (m: Map<string, number>, fmt: (s: string) => string = (s) => s) =>
  m.size === 0 ? '(none)' : [...m].map(([k, n]) => `${fmt(k)} (${n})`).join(', ');

/** The whole of docs/kmip-support.md. Deterministic: same results file, same bytes. */
export function renderKmipSupport(r: CompactResults = loadResults()): string {
  const versions = [...new Set(r.files.map((f) => f.version))].sort(byVersion);
  const out = [
    '<!-- Generated by docs/gen/kmip-support.ts from docs/gen/conformance-results.json (npm run gen:docs). Do not edit. -->',
    '# KMIP support by version',
    '',
    `Derived from the conformance run of **${r.generatedAt}** against the OASIS KMIP XML test vectors: ${r.totals.passed} vector`,
    `files passed, ${r.totals.failed} failed, ${r.totals.skipped} skipped. For each protocol version, the operations, object`,
    'types and algorithms below are those that occur in the vectors the server **passes**: each was exercised end to end and',
    'answered exactly as the specification\'s vector expects. The number after each entry counts the passing vectors it occurs',
    'in. Something missing here may still work; it is just not proven by a vector of that version. The server accepts every',
    'version on every message and answers in the request\'s version.',
    '',
    'To refresh: `npm run conformance -- --json /tmp/run.json`, then `npm run gen:docs -- --conformance-json /tmp/run.json`',
    '(which rewrites `docs/gen/conformance-results.json` and this page). `docs/status.md` has the per-family table and the',
    'reasons for failures and skips.',
    '',
    '| Version | Passed | Failed | Skipped |',
    '|---|---|---|---|',
  ];
  for (const v of versions) {
    const fs = r.files.filter((f) => f.version === v);
    const n = (s: CompactResult['status']) => fs.filter((f) => f.status === s).length;
    out.push(`| ${v.replace(/^v/, 'KMIP ')} | ${n('passed')} | ${n('failed')} | ${n('skipped')} |`);
  }
  out.push('');
  for (const v of versions) {
    const passed = r.files.filter((f) => f.version === v && f.status === 'passed');
    out.push(`## ${v.replace(/^v/, 'KMIP ')}`, '');
    if (passed.length === 0) {
      out.push('No vector of this version passed.', '');
      continue;
    }
    const families = [...new Set(passed.map((f) => f.family))].sort();
    out.push(
      `- **Operations**: ${list(union(passed, 'operations'), spaced)}`,
      `- **Object types**: ${list(union(passed, 'objectTypes'), spaced)}`,
      `- **Cryptographic algorithms**: ${list(union(passed, 'algorithms'))}`,
      `- **Modes, paddings, hashes, curves**: ${list(union(passed, 'parameters'))}`,
      `- **Profiles (vector families) passed**: ${families.join(', ')}`,
      '',
    );
  }
  return out.join('\n').replace(/\n+$/, '\n');
}
