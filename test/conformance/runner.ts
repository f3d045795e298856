/**
 * Runs vector files against a KMIP server: each file on its own connection, its requests in order, each
 * response matched against the expected one (see match.ts for the rules), and reports the results.
 *
 * - Requests: `$NOW±N` becomes the current time; any other `$NAME` the value a response bound (an unbound one
 *   ends the file as a failure: usually an earlier response already failed). In the 1.0-1.2 vectors, which were
 *   extracted from documents, runs of whitespace in text values are collapsed before sending
 *   ("Cryptographic   Length" is sent as "Cryptographic Length").
 * - `# [REPEAT] until ...` steps are polled every 2 s for up to 150 s (see runFile).
 * - An Encrypt under an RSA public key with OAEP parameters whose recorded ciphertext the answer cannot repeat
 *   (OAEP is randomized) has its ciphertext checked by decryption with the pair's private key, found in the
 *   Register requests of the file's family (oaep.ts); the report lists each file checked this way.
 * - After a mismatch the file goes on (later requests often clean up, e.g. Destroy) but only the first mismatch
 *   is reported; a transport error or an unbuildable request ends it.
 * - Files run one after another on one server and share its state (objects a file leaves behind are visible to
 *   the next; the vectors rely on that in places, e.g. TL-M-2 then TL-M-3).
 */
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import { KmipHttpClient, type HttpEncoding } from '../../kmip-server/client/http.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { elementToTtlv, serializeXml, toXml } from '../../kmip-server/ttlv/xml.ts';
import { formatMismatch, matchResponse, Scope, type Mismatch, type ProtocolVersion } from './match.ts';
import { skipReason, SKIPS, type SkipRule } from './skips.ts';
import { ERRATA, erratumFor, type Erratum } from './errata.ts';
import { oaepCheckFor, oaepKeysOf } from './oaep.ts';
import { hasServerToClient, readVectorSteps, type VectorFile, type VectorStep } from './vectors.ts';
import type { PushSource } from './push-listener.ts';

export interface Target {
  host: string;
  port: number;
  /** PEM texts. */
  ca: string;
  cert: string;
  key: string;
  servername?: string;
  /** The HTTPS binding (POST /kmip), when the server has one: the MSGENC vectors run there. */
  http?: { host: string; port: number };
}

/** What a file's messages travel over. */
interface Exchange {
  send(req: TtlvItem): Promise<TtlvItem>;
  close(): Promise<void>;
}

/**
 * The MSGENC vectors over the HTTPS binding, in the encoding the file names (HTTPS: TTLV bodies, JSON, XML);
 * undefined for every other file (TTLV over TLS).
 */
export function httpEncodingOf(file: { rel: string; family: string }): HttpEncoding | undefined {
  if (file.family !== 'MSGENC') return undefined;
  const name = file.rel.split('/').pop() ?? '';
  if (/MSGENC-JSON/i.test(name)) return 'json';
  if (/MSGENC-XML/i.test(name)) return 'xml';
  return 'ttlv';
}

async function openExchange(vf: VectorFile, target: Target, timeoutMs: number): Promise<Exchange> {
  const enc = httpEncodingOf(vf);
  if (enc !== undefined && target.http) {
    return new KmipHttpClient({
      host: target.http.host,
      port: target.http.port,
      ca: target.ca,
      cert: target.cert,
      key: target.key,
      ...(target.servername !== undefined ? { servername: target.servername } : {}),
      encoding: enc,
      timeoutMs,
    });
  }
  return KmipConnection.connect({
    host: target.host,
    port: target.port,
    ca: target.ca,
    cert: target.cert,
    key: target.key,
    ...(target.servername !== undefined ? { servername: target.servername } : {}),
    timeoutMs,
  });
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
  /** The correction it ran with (errata.ts). */
  erratum?: string;
  /** Answers accepted by a rule other than equality (an RSA-OAEP ciphertext verified by decryption), one line each. */
  notes?: string[];
  /** The first mismatch, with the 1-based request number and its operation. */
  mismatch?: Mismatch & { request: number; operation?: string };
  /** A failure that is not a mismatch: the connection, an unbuildable request. */
  error?: string;
  /** The request and the actual response at the first mismatch, as XML. */
  sentXml?: string;
  responseXml?: string;
  requests: number;
  requestsSent: number;
  durationMs: number;
}

export interface RunOptions {
  skips?: readonly SkipRule[];
  /** Corrections of vector typos (errata.ts); default ERRATA. */
  errata?: readonly Erratum[];
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Seconds of slack for $NOW matching. */
  nowSlack?: number;
  /** Identifiers of server-generated objects, shared by the files of a run (see match.ts). */
  generatedIds?: Set<string>;
  /** How long a `[REPEAT] until` step is resent before its mismatch counts; default 150 s. 0: send once. */
  repeatTimeoutMs?: number;
  /** Pause between repeats; default 2 s. */
  repeatIntervalMs?: number;
  /**
   * Where the server's Notify / Put requests arrive (push-listener.ts); without it files with
   * server-to-client steps are skipped (skips.ts, unless 'notify').
   */
  pushes?: PushSource;
  /** How long a server-to-client step waits for the server's request; default 10 s. */
  pushTimeoutMs?: number;
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

function safeXml(item: TtlvItem): string {
  try {
    return toXml(item);
  } catch (e) {
    return `(not writable as XML: ${(e as Error).message})`;
  }
}

/** Runs one vector file on a fresh connection. */
export async function runFile(vf: VectorFile, target: Target, opts: RunOptions = {}): Promise<FileResult> {
  const started = Date.now();
  const base = { file: vf.rel, version: vf.version, family: vf.family, level: vf.level };
  const skip = skipReason(vf, opts.skips ?? SKIPS, { http: target.http !== undefined, notify: opts.pushes !== undefined });
  if (skip !== undefined) return { ...base, status: 'skipped', reason: skip, requests: 0, requestsSent: 0, durationMs: 0 };
  const erratum = erratumFor(vf.rel, opts.errata ?? ERRATA);
  let steps;
  try {
    steps = readVectorSteps(vf.path, erratum?.fix);
  } catch (e) {
    return { ...base, status: 'failed', error: `cannot read the vector: ${(e as Error).message}`, requests: 0, requestsSent: 0, durationMs: Date.now() - started };
  }
  const result: FileResult = {
    ...base, status: 'passed', ...(erratum ? { erratum: erratum.description } : {}), requests: steps.length, requestsSent: 0, durationMs: 0,
  };
  const collapse = EXTRACTED.has(vf.version);
  const oaepKeys = oaepKeysOf(vf.path, vf.family, steps);
  const scope = new Scope(opts.generatedIds ? { generatedIds: opts.generatedIds } : {});
  let conn: Exchange | undefined;
  // Server-to-client requests wait for this file while it runs (only files that expect them).
  const pushes = hasServerToClient(steps) ? opts.pushes : undefined;
  pushes?.hold(true);
  try {
    conn = await openExchange(vf, target, opts.timeoutMs ?? 30_000);
    for (const step of steps) {
      const n = step.index + 1;
      const operation = operationOf(step);
      if (step.serverToClient) {
        if (!pushes) {
          result.error ??= `request ${n}${operation ? ` (${operation})` : ''}: the server sends it, and this run has no listener for it`;
          break;
        }
        const m = await serverToClientStep(step, pushes, scope, collapse, opts);
        if (m.mismatch && !result.mismatch) {
          result.mismatch = { ...m.mismatch, request: n, ...(operation ? { operation } : {}) };
          if (m.receivedXml !== undefined) result.sentXml = m.receivedXml;
        }
        continue;
      }
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
      const oaep = oaepCheckFor(req, oaepKeys, scope.vars);
      const matchOpts = {
        requestVersion: requestVersion(req),
        collapseWhitespace: collapse,
        request: req,
        ...(opts.nowSlack !== undefined ? { nowSlack: opts.nowSlack } : {}),
        ...(oaep ? { randomizedCiphertext: oaep } : {}),
      };
      // A [REPEAT] step is polled (its variables re-resolved each time, e.g. $NOW). When the next step sends the
      // same request, the note's condition is the next step's answer (TC_92: "Active" until it turns "Deactivated"):
      // poll while the answer matches this step, stop when it matches the next. Otherwise poll until this step's
      // answer matches (TC_101: Poll until the Archive result). A timeout leaves the mismatch to be reported.
      const next = steps[step.index + 1];
      const untilNext = step.repeat !== undefined && next?.response !== undefined && serializeXml(next.request) === serializeXml(step.request);
      const deadline = Date.now() + (step.repeat !== undefined ? (opts.repeatTimeoutMs ?? 150_000) : 0);
      let resp: TtlvItem | undefined;
      let m: Mismatch | undefined;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          await new Promise((r) => setTimeout(r, opts.repeatIntervalMs ?? 2000));
          req = elementToTtlv(step.request, { resolveVariable: (name, type, tag) => scope.resolveForRequest(name, type, tag) });
          if (collapse) req = collapseText(req);
          matchOpts.request = req;
        }
        try {
          resp = await conn.send(req);
        } catch (e) {
          result.error ??= `request ${n}${operation ? ` (${operation})` : ''}: ${(e as Error).message}`;
          resp = undefined;
          break;
        }
        if (attempt === 0) result.requestsSent++;
        if (!step.response) break;
        const before = new Map(scope.vars);
        if (untilNext) {
          const done = matchResponse(next.response!, resp, scope, matchOpts) === undefined;
          scope.vars = new Map(before); // the next step binds for itself when it is sent
          if (done) {
            m = undefined;
            break;
          }
        }
        m = matchResponse(step.response, resp, scope, matchOpts);
        if (untilNext ? m !== undefined || Date.now() >= deadline : m === undefined || Date.now() >= deadline) break;
        if (!untilNext) scope.vars = before;
      }
      if (resp === undefined) break;
      if (oaep?.used && m === undefined) (result.notes ??= []).push(`request ${n}${operation ? ` (${operation})` : ''}: OAEP ciphertext verified by decryption (${oaep.describe})`);
      scope.noteResponse(resp);
      // Keep going after a mismatch (later requests clean up, e.g. Destroy), but report the first one.
      if (m && !result.mismatch) {
        result.mismatch = { ...m, request: n, ...(operation ? { operation } : {}) };
        result.sentXml = safeXml(req);
        result.responseXml = safeXml(resp);
      }
    }
  } catch (e) {
    result.error ??= (e as Error).message;
  } finally {
    pushes?.hold(false);
    await conn?.close().catch(() => undefined);
  }
  if (result.mismatch || result.error) result.status = 'failed';
  result.durationMs = Date.now() - started;
  return result;
}

/** The identifiers this file's responses bound: a server-to-client request about another object is not this file's. */
function fileObjectIds(scope: Scope): Set<string> {
  const ids = new Set<string>();
  for (const [name, v] of scope.vars) if (/IDENTIFIER/.test(name) && v.type === ItemType.TextString) ids.add(v.value);
  return ids;
}


/** The Unique Identifier a server-to-client request is about. */
function subjectOf(request: TtlvItem): string | undefined {
  if (request.type !== ItemType.Structure) return undefined;
  for (const item of request.value) {
    if (item.type !== ItemType.Structure) continue;
    const payload = item.value.find((c) => c.tag === Tag.RequestPayload);
    const uid = payload?.type === ItemType.Structure ? payload.value.find((c) => c.tag === Tag.UniqueIdentifier) : undefined;
    if (uid?.type === ItemType.TextString) return uid.value;
  }
  return undefined;
}

/**
 * A `[Server-to-Client]` step: waits for the server's request about one of this file's objects (others, from
 * earlier files or other objects, get a plain Success), matches it against the vector's request, and answers
 * with the vector's recorded response (variables filled in), matched or not, so the server is never left waiting.
 */
async function serverToClientStep(
  step: VectorStep,
  pushes: PushSource,
  scope: Scope,
  collapse: boolean,
  opts: RunOptions,
): Promise<{ mismatch?: Mismatch; receivedXml?: string }> {
  const timeoutMs = opts.pushTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  // The version the vector's request states: what the server's request must not exceed.
  const header = step.request.children.find((c) => c.name === 'RequestHeader');
  const pv = header?.children.find((c) => c.name === 'ProtocolVersion');
  const part = (name: string): number => Number(pv?.children.find((c) => c.name === name)?.attrs.value ?? 0);
  const expectedVersion: ProtocolVersion = pv ? { major: part('ProtocolVersionMajor'), minor: part('ProtocolVersionMinor') } : { major: 1, minor: 0 };
  for (;;) {
    const push = await pushes.next(Math.max(0, deadline - Date.now()));
    if (!push) {
      return { mismatch: { path: 'RequestMessage', message: `the server sent no request about this file's objects within ${timeoutMs} ms`, expected: 'a server-to-client request', actual: 'absent' } };
    }
    const subject = subjectOf(push.request);
    if (subject === undefined || !fileObjectIds(scope).has(subject)) {
      push.replySuccess();
      continue;
    }
    let m: Mismatch | undefined;
    try {
      m = matchResponse(step.request, push.request, scope, { requestVersion: expectedVersion, collapseWhitespace: collapse, request: push.request });
    } finally {
      let answer: TtlvItem | undefined;
      try {
        if (step.response) answer = elementToTtlv(step.response, { resolveVariable: (name, type, tag) => scope.resolveForRequest(name, type, tag) });
      } catch {
        answer = undefined;
      }
      if (answer && collapse) answer = collapseText(answer);
      if (answer) push.reply(answer);
      else push.replySuccess();
    }
    scope.noteResponse(push.request);
    return m ? { mismatch: m, receivedXml: safeXml(push.request) } : {};
  }
}

/** Runs files in order (one server, one file at a time: files share the server's state). */
export async function runAll(files: VectorFile[], target: Target, opts: RunOptions & { onResult?: (r: FileResult) => void } = {}): Promise<FileResult[]> {
  const out: FileResult[] = [];
  const shared = { ...opts, generatedIds: opts.generatedIds ?? new Set<string>() };
  for (const f of files) {
    const r = await runFile(f, target, shared);
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

const indent = (s: string, pad: string): string => s.split('\n').map((l) => pad + l).join('\n');

const collator = new Intl.Collator('en', { numeric: true });

/** The table per version folder and family, skip reasons, and with `verbose` the first mismatch of each failure. */
export function formatReport(results: FileResult[], opts: { verbose?: boolean; showMessages?: boolean } = {}): string {
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
  const noted = results.filter((r) => r.notes !== undefined);
  if (noted.length > 0) {
    lines.push('checked by a rule other than equality (randomized RSA-OAEP ciphertexts, see oaep.ts):');
    for (const r of noted) for (const n of r.notes!) lines.push(`  ${r.status.padEnd(7)} ${r.file}: ${n}`);
    lines.push('');
  }
  const corrected = results.filter((r) => r.erratum !== undefined);
  if (corrected.length > 0) {
    lines.push('run with a corrected typo (errata.ts):');
    for (const r of corrected) lines.push(`  ${r.status.padEnd(7)} ${r.file}: ${r.erratum}`);
    lines.push('');
  }
  if (opts.verbose) {
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length > 0) {
      lines.push('failures (first mismatch of each file):');
      for (const r of failed) {
        lines.push(failureLine(r));
        if (opts.showMessages && r.sentXml) lines.push('  sent:', indent(r.sentXml, '    '));
        if (opts.showMessages && r.responseXml) lines.push('  received:', indent(r.responseXml, '    '));
      }
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
