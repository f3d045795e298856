/**
 * Runs vector files against a KMIP server: each file on its own connection, its requests in order, each
 * response matched against the expected one (see match.ts for the rules), and reports the results.
 */
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { elementToTtlv } from '../../kmip-server/ttlv/xml.ts';
import { formatMismatch, matchResponse, Scope, type Mismatch, type ProtocolVersion } from './match.ts';
import { skipReason, SKIPS, type SkipRule } from './skips.ts';
import { readVectorSteps, type VectorFile } from './vectors.ts';

export interface Target {
  host: string;
  port: number;
  /** PEM texts. */
  ca: string;
  cert: string;
  key: string;
  servername?: string;
}

export type FileStatus = 'passed' | 'failed' | 'skipped';

export interface FileResult {
  file: string;
  version: string;
  family: string;
  level: 'M' | 'O' | undefined;
  status: FileStatus;
  /** Why it was skipped. */
  reason?: string;
  /** The first mismatch, with the 1-based request number and its operation. */
  mismatch?: Mismatch & { request: number; operation?: string };
  /** A failure that is not a mismatch: the connection, an unbuildable request. */
  error?: string;
  requests: number;
  requestsSent: number;
  durationMs: number;
}

export interface RunOptions {
  skips?: readonly SkipRule[];
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Seconds of slack for $NOW matching. */
  nowSlack?: number;
}

/** The 1.0-1.2 vectors were extracted from documents and carry runs of spaces inside text values. */
const EXTRACTED = new Set(['v1.0', 'v1.1', 'v1.2']);

function collapseText(item: TtlvItem): TtlvItem {
  if (item.type === ItemType.TextString) return { ...item, value: item.value.replace(/\s+/g, ' ').trim() };
  if (item.type === ItemType.Structure) return { ...item, value: item.value.map(collapseText) };
  return item;
}

const PROTOCOL_VERSION = 0x420069;
const OPERATION = 0x42005c;

/** The protocol version a request states, 1.0 when it states none. */
export function requestVersion(req: TtlvItem): ProtocolVersion {
  const header = req.type === ItemType.Structure ? req.value[0] : undefined;
  const pv = header?.type === ItemType.Structure ? header.value.find((c) => c.tag === PROTOCOL_VERSION) : undefined;
  if (pv?.type === ItemType.Structure) {
    const [ma, mi] = pv.value;
    if (ma?.type === ItemType.Integer && mi?.type === ItemType.Integer) return { major: ma.value, minor: mi.value };
  }
  return { major: 1, minor: 0 };
}

function operationOf(step: { request: { children: Array<{ name: string; children: Array<{ name: string; attrs: Record<string, string> }> }> } }): string | undefined {
  const ops = step.request.children
    .filter((c) => c.name === 'BatchItem')
    .map((b) => b.children.find((c) => c.name === 'Operation')?.attrs.value)
    .filter((x): x is string => x !== undefined);
  return ops.length === 0 ? undefined : ops.join('+');
}

/** Runs one vector file on a fresh connection. */
export async function runFile(vf: VectorFile, target: Target, opts: RunOptions = {}): Promise<FileResult> {
  const started = Date.now();
  const base = { file: vf.rel, version: vf.version, family: vf.family, level: vf.level };
  const skip = skipReason(vf, opts.skips ?? SKIPS);
  if (skip !== undefined) return { ...base, status: 'skipped', reason: skip, requests: 0, requestsSent: 0, durationMs: 0 };
  let steps;
  try {
    steps = readVectorSteps(vf.path);
  } catch (e) {
    return { ...base, status: 'failed', error: `cannot read the vector: ${(e as Error).message}`, requests: 0, requestsSent: 0, durationMs: Date.now() - started };
  }
  const result: FileResult = { ...base, status: 'passed', requests: steps.length, requestsSent: 0, durationMs: 0 };
  const collapse = EXTRACTED.has(vf.version);
  const scope = new Scope();
  let conn: KmipConnection | undefined;
  try {
    conn = await KmipConnection.connect({
      host: target.host,
      port: target.port,
      ca: target.ca,
      cert: target.cert,
      key: target.key,
      ...(target.servername !== undefined ? { servername: target.servername } : {}),
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
    for (const step of steps) {
      const n = step.index + 1;
      const operation = operationOf(step);
      scope.noteRequest(step.request);
      let req: TtlvItem;
      try {
        req = elementToTtlv(step.request, { resolveVariable: (name, type, tag) => scope.resolveForRequest(name, type, tag) });
      } catch (e) {
        // Most often a variable an earlier (failed) response should have bound.
        result.error ??= `request ${n}${operation ? ` (${operation})` : ''}: cannot build it: ${(e as Error).message}`;
        break;
      }
      if (collapse) req = collapseText(req);
      let resp: TtlvItem;
      try {
        resp = await conn.send(req);
      } catch (e) {
        result.error ??= `request ${n}${operation ? ` (${operation})` : ''}: ${(e as Error).message}`;
        break;
      }
      result.requestsSent++;
      if (!step.response) continue;
      const m = matchResponse(step.response, resp, scope, {
        requestVersion: requestVersion(req),
        collapseWhitespace: collapse,
        ...(opts.nowSlack !== undefined ? { nowSlack: opts.nowSlack } : {}),
      });
      // Keep going after a mismatch (later requests clean up, e.g. Destroy), but report the first one.
      if (m && !result.mismatch) result.mismatch = { ...m, request: n, ...(operation ? { operation } : {}) };
    }
  } catch (e) {
    result.error ??= (e as Error).message;
  } finally {
    await conn?.close().catch(() => undefined);
  }
  if (result.mismatch || result.error) result.status = 'failed';
  result.durationMs = Date.now() - started;
  return result;
}

/** Runs files in order (one server, one file at a time: files share the server's state). */
export async function runAll(files: VectorFile[], target: Target, opts: RunOptions & { onResult?: (r: FileResult) => void } = {}): Promise<FileResult[]> {
  const out: FileResult[] = [];
  for (const f of files) {
    const r = await runFile(f, target, opts);
    opts.onResult?.(r);
    out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

export function totals(results: FileResult[]): Totals {
  const t: Totals = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) t[r.status]++;
  return t;
}

/** The last line of the report, exactly. */
export const summaryLine = (results: FileResult[]): string => {
  const t = totals(results);
  return `conformance: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;
};

/** One line per failure: where and why. */
export function failureLine(r: FileResult): string {
  if (r.mismatch) {
    const { request, operation, ...m } = r.mismatch;
    return `FAIL ${r.file}: request ${request}/${r.requests}${operation ? ` (${operation})` : ''}: ${formatMismatch(m)}`;
  }
  return `FAIL ${r.file}: ${r.error ?? 'failed'}`;
}

const collator = new Intl.Collator('en', { numeric: true });

/** The table per version folder and family, skip reasons, and with `verbose` the first mismatch of each failure. */
export function formatReport(results: FileResult[], opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const versions = [...new Set(results.map((r) => r.version))].sort(collator.compare);
  const famWidth = Math.max(8, ...results.map((r) => r.family.length));
  const row = (a: string, p: number | string, f: number | string, s: number | string): string =>
    `  ${a.padEnd(famWidth)} ${String(p).padStart(7)} ${String(f).padStart(7)} ${String(s).padStart(8)}`;
  for (const v of versions) {
    const inV = results.filter((r) => r.version === v);
    const t = totals(inV);
    lines.push(`${v}  (${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped)`);
    lines.push(row('family', 'passed', 'failed', 'skipped'));
    for (const fam of [...new Set(inV.map((r) => r.family))].sort(collator.compare)) {
      const ft = totals(inV.filter((r) => r.family === fam));
      lines.push(row(fam, ft.passed, ft.failed, ft.skipped));
    }
    lines.push('');
  }
  const reasons = new Map<string, number>();
  for (const r of results) if (r.status === 'skipped') reasons.set(r.reason ?? '', (reasons.get(r.reason ?? '') ?? 0) + 1);
  if (reasons.size > 0) {
    lines.push('skipped:');
    for (const [reason, n] of reasons) lines.push(`  ${String(n).padStart(4)}  ${reason}`);
    lines.push('');
  }
  if (opts.verbose) {
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length > 0) {
      lines.push('failures (first mismatch of each file):');
      for (const r of failed) lines.push(failureLine(r));
      lines.push('');
    }
  }
  lines.push(summaryLine(results));
  return lines.join('\n');
}

/** Does a family match a --require entry ("SKLC", or a prefix ending in '*': "TC-*", "CS-*")? */
export function familyMatches(family: string, pattern: string): boolean {
  return pattern.endsWith('*') ? family.startsWith(pattern.slice(0, -1)) : family === pattern;
}

/** Failed files in the required families. */
export function requiredFailures(results: FileResult[], required: string[]): FileResult[] {
  return results.filter((r) => r.status === 'failed' && required.some((p) => familyMatches(r.family, p)));
}
