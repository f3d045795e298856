/**
 * The OASIS KMIP XML test vectors: where they are, which files there are, and what each holds
 * (request/response pairs in order), with the version folder and profile family of each file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseXmlDocument, type XmlElement } from '../../kmip-server/ttlv/xml.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The vector directory: $KMIP_TESTCASES, else /work/shared/kmip-testcases, else ../shared/kmip-testcases next to
 * the repository. Throws, naming every place looked at, when none exists.
 */
export function findVectorsDir(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env.KMIP_TESTCASES) {
    // An explicit setting that does not exist is an error, not a reason to look elsewhere.
    if (!existsSync(env.KMIP_TESTCASES)) throw new Error(`KMIP_TESTCASES=${env.KMIP_TESTCASES} does not exist`);
    return resolve(env.KMIP_TESTCASES);
  }
  candidates.push('/work/shared/kmip-testcases', resolve(REPO, '../shared/kmip-testcases'));
  for (const c of candidates) if (existsSync(c) && statSync(c).isDirectory()) return c;
  throw new Error(`no KMIP test vectors: set KMIP_TESTCASES, or provide ${candidates.join(' or ')}`);
}

export interface VectorFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the vectors directory, with '/' separators (e.g. "v2.1/mandatory/BL-M-1-21.xml"). */
  rel: string;
  /** Version folder: "v1.0" ... "v2.1". */
  version: string;
  /** Profile family, see familyOf. */
  family: string;
  /** "M" (mandatory), "O" (optional) or undefined when the name does not say. */
  level: 'M' | 'O' | undefined;
}

/** Every .xml file under `dir`, sorted by version folder and then by name (numbers in names sort numerically). */
export function listVectorFiles(dir: string): VectorFile[] {
  const out: VectorFile[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.xml')) {
        const rel = relative(dir, p).split(sep).join('/');
        const version = rel.split('/')[0] ?? '';
        out.push({ path: p, rel, version, family: familyOf(f), level: levelOf(f) });
      }
    }
  };
  walk(dir);
  const collator = new Intl.Collator('en', { numeric: true });
  return out.sort((a, b) => collator.compare(a.rel, b.rel));
}

/**
 * The profile family of a vector file, from its name:
 * - profile files `<PROFILE>-M|O-<n>-<vv>...`: the profile (BL, SKLC, AKLC, CS-BC, CS-AC, CS-RNG, SKFF, OMOS, SASED,
 *   TL, AX, QS, PKCS11...), with an alphabetic qualifier that follows M/O kept (`CS-BC-M-GCM`, `CS-AC-M-OAEP`,
 *   `CS-BC-M-CHACHA20`); underscores are read as hyphens (the 1.0-1.2 names); `SUITEB_128`/`_192` -> SUITEB;
 *   `MSGENC-HTTPS|JSON|XML` -> MSGENC.
 * - 1.4 single-feature files `TC-<NAME>-<n>-<vv>` -> `TC-<NAME>` (TC-Q-CAP, TC-WRAP, TC-STREAM-ENC...).
 * - 1.0-1.2 test-case files: numbered ones (`TC_311_10_...`) -> `TC`; named ones (`TC_ECC_1_11_...`) ->
 *   `TC_<NAME>` (TC_ECC, TC_NP, TC_MDO, TC_PGP, TC_SJ).
 */
export function familyOf(fileName: string): string {
  const name = basename(fileName).replace(/\.xml$/i, '');
  if (/^TC_/.test(name)) {
    const m = /^TC_([A-Za-z][A-Za-z0-9]*)_/.exec(name);
    return m ? `TC_${m[1]}` : 'TC';
  }
  if (/^TC-/.test(name)) {
    if (/^TC-\d/.test(name)) return 'TC';
    const m = /^TC-(.+?)-\d+-\d+/.exec(name);
    if (m) return `TC-${m[1]}`;
    return `TC-${name.split('-')[1] ?? ''}`;
  }
  const tokens = name.replace(/_/g, '-').split('-');
  const mo = tokens.findIndex((t) => t === 'M' || t === 'O');
  if (mo <= 0) return tokens[0] ?? name;
  let profile = tokens.slice(0, mo).join('-');
  if (/^SUITEB/.test(profile)) return 'SUITEB';
  if (/^MSGENC/.test(profile)) return 'MSGENC';
  const q = tokens[mo + 1];
  if (q !== undefined && /^[A-Za-z][A-Za-z0-9]*$/.test(q)) profile = `${profile}-${tokens[mo]}-${q}`;
  return profile;
}

function levelOf(fileName: string): 'M' | 'O' | undefined {
  const tokens = basename(fileName).replace(/\.xml$/i, '').replace(/_/g, '-').split('-');
  if (tokens.includes('M')) return 'M';
  if (tokens.includes('O')) return 'O';
  return undefined;
}

export interface VectorStep {
  /** 0-based position of the request in the file. */
  index: number;
  request: XmlElement;
  /** The expected answer; undefined when the file has no ResponseMessage after this request. */
  response: XmlElement | undefined;
  /**
   * A `# [REPEAT] until ...` note before the request: send it again until the answer matches (the server gets
   * there with time, e.g. a Deactivation Date passing). The note's text.
   */
  repeat?: string;
  /**
   * The server sends this request and the client answers it (Notify, Put: KMIP 1.4 §5): marked
   * `# [Server-to-Client]` in the 1.0-1.2 files; the 1.4 files carry no marks, but Notify and Put
   * are only ever sent by a server.
   */
  serverToClient?: boolean;
}

/** Operations only a server sends (1.4 §5; 2.x also lets a server send Query and Discover Versions, which no vector does). */
const SERVER_TO_CLIENT_OPERATIONS = new Set(['Notify', 'Put']);

/** Whether a file has server-to-client steps (see VectorStep.serverToClient). */
export const hasServerToClient = (steps: readonly VectorStep[]): boolean => steps.some((s) => s.serverToClient === true);

function sentByServer(request: XmlElement): boolean {
  const ops = request.children
    .filter((c) => c.name === 'BatchItem')
    .map((b) => b.children.find((c) => c.name === 'Operation')?.attrs.value);
  return ops.length > 0 && ops.every((o) => o !== undefined && SERVER_TO_CLIENT_OPERATIONS.has(o));
}

/** `# [Server-to-Client]` / `# [Client-to-Server]` marks by 1-based line. */
function directionMarks(text: string): Array<{ line: number; s2c: boolean }> {
  const out: Array<{ line: number; s2c: boolean }> = [];
  text.split('\n').forEach((l, i) => {
    const m = /#\s*\[(Server-to-Client|Client-to-Server)\]/i.exec(l);
    if (m) out.push({ line: i + 1, s2c: /^server/i.test(m[1]!) });
  });
  return out;
}

/** Reads a vector file into its request/response steps, in order; `fix` may correct its text first (errata.ts). */
export function readVectorSteps(path: string, fix?: (text: string) => string): VectorStep[] {
  const raw = readFileSync(path, 'utf8');
  const text = fix ? fix(raw) : raw;
  return vectorSteps(parseXmlDocument(text), text);
}

/** `# [REPEAT] until ...` notes by 1-based line. */
function repeatNotes(text: string): Array<{ line: number; note: string }> {
  const out: Array<{ line: number; note: string }> = [];
  text.split('\n').forEach((l, i) => {
    const m = /#\s*\[REPEAT\]\s*(.*?)\s*(?:<|$)/.exec(l);
    if (m) out.push({ line: i + 1, note: m[1]!.replace(/\s+/g, ' ') });
  });
  return out;
}

export function vectorSteps(root: XmlElement, text?: string): VectorStep[] {
  const kids = root.name === 'RequestMessage' || root.name === 'ResponseMessage' ? [root] : root.children;
  const steps: VectorStep[] = [];
  for (let i = 0; i < kids.length; i++) {
    const el = kids[i]!;
    if (el.name !== 'RequestMessage') continue;
    const next = kids[i + 1];
    const response = next?.name === 'ResponseMessage' ? next : undefined;
    if (response) i++;
    steps.push({ index: steps.length, request: el, response, ...(sentByServer(el) ? { serverToClient: true } : {}) });
  }
  if (text !== undefined) {
    // A note belongs to the first request that starts on or after its line.
    for (const { line, note } of repeatNotes(text)) {
      const step = steps.find((s) => s.request.line >= line);
      if (step) step.repeat = note;
    }
    // A request's direction is the last mark before it.
    const marks = directionMarks(text);
    for (const s of steps) {
      const mark = marks.filter((m) => m.line <= s.request.line).pop();
      if (mark?.s2c) s.serverToClient = true;
    }
  }
  return steps;
}
