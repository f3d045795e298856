/**
 * The Dockerfile and .dockerignore read the way `docker build` reads them, without Docker: the
 * instructions of each stage, and which files of the build context end up where in the image. Enough
 * of the syntax for our own Dockerfile (line continuations, comments, ARG/FROM/WORKDIR/ENV/COPY,
 * JSON and shell forms, COPY flags); it throws on what it does not understand rather than guess.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { posix, join } from 'node:path';

export interface Instruction {
  /** Upper-case keyword: FROM, COPY, RUN ... */
  keyword: string;
  /** The rest of the instruction, continuations joined. */
  args: string;
  line: number;
}

export interface CopyInstruction {
  /** --from=STAGE, or undefined for the build context. */
  from: string | undefined;
  chown: string | undefined;
  sources: string[];
  /** Absolute destination in the image (WORKDIR applied). */
  dest: string;
  line: number;
}

export interface Stage {
  /** The image of FROM after ARG substitution. */
  base: string;
  name: string | undefined;
  instructions: Instruction[];
  /** WORKDIR at the end of the stage. */
  workdir: string;
  copies: CopyInstruction[];
  env: Record<string, string>;
  user: string | undefined;
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions: comments and blank lines dropped, `\` continuations joined. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (buf === '' && (trimmed === '' || trimmed.startsWith('#'))) continue;
    // Comment lines inside a continued instruction are skipped, as Docker does.
    if (buf !== '' && trimmed.startsWith('#')) continue;
    if (buf === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      buf += trimmed.slice(0, -1) + ' ';
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buf)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = '';
  }
  if (buf !== '') throw new Error(`Dockerfile ends inside a continued instruction (line ${start})`);
  return out;
}

const substitute = (s: string, vars: Record<string, string>): string =>
  s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a: string | undefined, b: string | undefined) => {
    const v = vars[(a ?? b)!];
    if (v === undefined) throw new Error(`Dockerfile: ${all} is not defined`);
    return v;
  });

/** JSON-array or whitespace-separated words of an instruction. */
function words(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter((w) => w !== '');
}

/** ENV key=value pairs (the legacy `ENV key value` form too). Double-quoted values are unquoted. */
function envPairs(args: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    if (!m) throw new Error(`Dockerfile: cannot read ENV ${args}`);
    return [[m[1]!, m[2]!]];
  }
  for (const m of args.matchAll(re)) {
    const v = m[2]!;
    pairs.push([m[1]!, v.startsWith('"') ? (JSON.parse(v) as string) : v]);
  }
  return pairs;
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    const stage = stages[stages.length - 1];
    if (ins.keyword === 'FROM') {
      const w = words(ins.args).filter((x) => !x.startsWith('--'));
      const base = substitute(w[0]!, globalArgs);
      const name = w[1]?.toUpperCase() === 'AS' ? w[2] : undefined;
      stages.push({ base, name, instructions: [ins], workdir: '/', copies: [], env: {}, user: undefined });
      continue;
    }
    if (!stage) {
      if (ins.keyword !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before the first FROM`);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read ARG ${ins.args}`);
      globalArgs[m[1]!] = m[2] ?? '';
      continue;
    }
    stage.instructions.push(ins);
    const vars = { ...stage.env };
    switch (ins.keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, substitute(ins.args, vars));
        break;
      case 'ENV':
        for (const [k, v] of envPairs(ins.args)) stage.env[k] = v;
        break;
      case 'USER':
        stage.user = ins.args;
        break;
      case 'COPY':
      case 'ADD': {
        if (ins.keyword === 'ADD') throw new Error(`Dockerfile line ${ins.line}: use COPY, not ADD`);
        const w = words(ins.args);
        const flags: Record<string, string> = {};
        while (w[0]?.startsWith('--')) {
          const f = w.shift()!;
          const [k, v] = f.slice(2).split('=', 2);
          flags[k!] = v ?? 'true';
        }
        if (w.length < 2) throw new Error(`Dockerfile line ${ins.line}: COPY needs a source and a destination`);
        const dest = w.pop()!;
        stage.copies.push({
          from: flags.from,
          chown: flags.chown,
          sources: w,
          dest: dest.endsWith('/') ? posix.resolve(stage.workdir, dest) + '/' : posix.resolve(stage.workdir, dest),
          line: ins.line,
        });
        break;
      }
      default:
        break;
    }
  }
  return { globalArgs, stages };
}

// ---------------------------------------------------------------------------------------------------------------
// .dockerignore

interface IgnoreRule {
  negate: boolean;
  re: RegExp;
  pattern: string;
}

/** A .dockerignore pattern as a regular expression over slash-separated context paths (Go filepath.Match plus `**`). */
function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` matches zero or more directories; a trailing or inner `**` matches anything.
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error(`.dockerignore: unterminated [ in ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\') re += '\\' + (pattern[++i] ?? '\\');
    else re += c.replace(/[.+^${}()|\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class DockerIgnore {
  readonly rules: IgnoreRule[];

  constructor(text: string) {
    this.rules = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const negate = l.startsWith('!');
        // Docker cleans each pattern (filepath.Clean) and drops a leading slash.
        const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
        return { negate, re: patternRegExp(pattern), pattern };
      });
  }

  /** Whether the context path (slash-separated, relative) is left out of the build context. */
  excludes(path: string): boolean {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of this.rules) {
      // As moby's patternmatcher: a rule applies to a path when it matches the path or one of its parent directories.
      if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    }
    return excluded;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The files a stage copies from the build context

/** Every file under `rel` (a file or directory of the context), as context-relative paths. */
function walk(root: string, rel: string): string[] {
  const abs = join(root, rel);
  const st = statSync(abs);
  if (!st.isDirectory()) return [rel];
  return readdirSync(abs)
    .sort()
    .flatMap((e) => walk(root, posix.join(rel, e)));
}

export interface ContextFile {
  /** Context-relative source path. */
  source: string;
  /** Absolute path in the image. */
  dest: string;
}

/**
 * The build-context files each context COPY of `stage` puts into the image, after .dockerignore.
 * Throws when a source does not exist or .dockerignore leaves nothing of it.
 */
export function contextCopies(root: string, stage: Stage, ignore: DockerIgnore): ContextFile[] {
  const files: ContextFile[] = [];
  for (const c of stage.copies.filter((x) => x.from === undefined)) {
    for (const src of c.sources) {
      if (/[*?[]/.test(src)) throw new Error(`Dockerfile line ${c.line}: wildcard sources are not supported here (${src})`);
      const rel = posix.normalize(src).replace(/^\.\/|\/$/g, '');
      let st;
      try {
        st = statSync(join(root, rel));
      } catch {
        throw new Error(`Dockerfile line ${c.line}: COPY source ${src} does not exist in the repository`);
      }
      const kept = walk(root, rel).filter((f) => !ignore.excludes(f));
      if (kept.length === 0) throw new Error(`Dockerfile line ${c.line}: .dockerignore excludes all of COPY source ${src}`);
      const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
      for (const f of kept) {
        let dest: string;
        if (st.isDirectory()) dest = posix.join(c.dest, posix.relative(rel, f));
        else dest = intoDir ? posix.join(c.dest, posix.basename(f)) : c.dest;
        files.push({ source: f, dest });
      }
    }
  }
  return files;
}

export const readText = (path: string): string => readFileSync(path, 'utf8');
