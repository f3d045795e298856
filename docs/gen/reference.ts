/**
 * docs/reference.md from the generated CRDs in crds/ (themselves generated from operator/api/*.ts):
 * per kind, every field path with its type, default, allowed values, limits, whether it is
 * required, its description, and the CEL rules with the messages the API server answers with.
 *
 * Reading the CRD YAML rather than the TypeScript schema documents exactly what the API server
 * enforces; test/docs/reference.test.ts fails when the file is stale.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CRD_DIR } from '../../operator/api/generate.ts';

interface Rule { rule: string; message?: string; fieldPath?: string; reason?: string }
interface Schema {
  type?: string;
  format?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: Rule[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}
interface Crd {
  spec: {
    group: string;
    names: { kind: string; plural: string; shortNames?: string[] };
    scope: string;
    versions: {
      name: string;
      additionalPrinterColumns?: { name: string; jsonPath: string; priority?: number }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

/** Order the kinds are documented in: the tenancy model first, then key distribution. */
const ORDER = ['KmipScope', 'KmipRole', 'KmipClientCredential', 'KmsKey', 'KmsProvider'];

interface Row { path: string; type: string; required: boolean; default?: string; values: string; description: string }
interface RuleRow { path: string; rule: string; message: string }

/** Markdown table cell: pipes escaped, line breaks flattened. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
const code = (s: string) => (s === '' ? '' : `\`${s.replace(/`/g, "'")}\``);

function typeOf(s: Schema): string {
  if (s.type === 'array') return `[]${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties) return s['x-kubernetes-preserve-unknown-fields'] ? 'object (free-form)' : 'object';
  return s.format ? `${s.type ?? 'any'} (${s.format})` : (s.type ?? 'any');
}

function limits(s: Schema): string[] {
  const out: string[] = [];
  if (s.enum) out.push(`one of ${s.enum.map((v) => code(String(v))).join(', ')}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined) out.push(`length ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`length ≤ ${s.maxLength}`);
  if (s.minItems !== undefined) out.push(`items ≥ ${s.minItems}`);
  if (s.maxItems !== undefined) out.push(`items ≤ ${s.maxItems}`);
  if (s.pattern !== undefined) out.push(`pattern ${code(s.pattern)}`);
  const lt = s['x-kubernetes-list-type'];
  if (lt === 'set') out.push('no duplicates');
  if (lt === 'map') out.push(`keyed by ${(s['x-kubernetes-list-map-keys'] ?? []).map(code).join(', ')}`);
  if (s['x-kubernetes-map-type'] === 'atomic') out.push('replaced whole on apply');
  return out;
}

/** Walks a schema depth-first: one row per field, one rule row per CEL rule, paths as `spec.a.b[].c`. */
function walk(s: Schema, path: string, required: boolean, rows: Row[], rules: RuleRow[]): void {
  for (const r of s['x-kubernetes-validations'] ?? []) {
    rules.push({ path: r.fieldPath ? `${path}${r.fieldPath}` : path, rule: r.rule, message: r.message ?? '' });
  }
  const enumItems = s.type === 'array' && s.items?.enum ? s.items : undefined;
  rows.push({
    path,
    type: typeOf(s),
    required,
    ...(s.default !== undefined ? { default: JSON.stringify(s.default) } : {}),
    values: [...limits(s), ...(enumItems ? limits(enumItems) : [])].join('; '),
    description: s.description ?? '',
  });
  if (s.properties) {
    for (const [name, child] of Object.entries(s.properties)) walk(child, `${path}.${name}`, s.required?.includes(name) ?? false, rows, rules);
  }
  if (s.type === 'array' && s.items) {
    for (const r of s.items['x-kubernetes-validations'] ?? []) rules.push({ path: `${path}[]`, rule: r.rule, message: r.message ?? '' });
    if (s.items.properties) {
      for (const [name, child] of Object.entries(s.items.properties)) walk(child, `${path}[].${name}`, s.items.required?.includes(name) ?? false, rows, rules);
    }
  }
}

function fieldTable(rows: Row[]): string[] {
  const out = ['| Field | Type | Required | Default | Allowed values and limits | Description |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(`| ${code(r.path)} | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.default ? cell(code(r.default)) : ''} | ${cell(r.values)} | ${cell(r.description)} |`);
  }
  return out;
}

function renderKind(crd: Crd): string[] {
  const v = crd.spec.versions[0]!;
  const root = v.schema.openAPIV3Schema;
  const k = crd.spec.names;
  const out = [`## ${k.kind}`, ''];
  if (root.description) out.push(root.description, '');
  out.push(
    `\`apiVersion: ${crd.spec.group}/${v.name}\`, ${crd.spec.scope.toLowerCase()}; ` +
      `\`kubectl get ${k.plural}\`${k.shortNames?.length ? ` (short: ${k.shortNames.map(code).join(', ')})` : ''}.`,
    '',
  );
  const cols = v.additionalPrinterColumns ?? [];
  if (cols.length > 0) {
    const wide = cols.filter((c) => c.priority === 1).map((c) => c.name);
    out.push(`Columns: ${cols.filter((c) => c.priority !== 1).map((c) => c.name).join(', ')}${wide.length ? `; with \`-o wide\` also ${wide.join(', ')}` : ''}.`, '');
  }
  const rules: RuleRow[] = [];
  for (const part of ['spec', 'status'] as const) {
    const s = root.properties?.[part];
    if (!s) continue;
    const rows: Row[] = [];
    walk(s, part, root.required?.includes(part) ?? false, rows, rules);
    out.push(`### ${part}`, '', ...fieldTable(rows), '');
  }
  if (root['x-kubernetes-validations']) for (const r of root['x-kubernetes-validations']) rules.push({ path: '(object)', rule: r.rule, message: r.message ?? '' });
  if (rules.length > 0) {
    out.push('### Validation rules (CEL)', '', 'The API server refuses an object breaking one of these with the message shown, on the field shown.', '');
    out.push('| Field | Rule | Message |', '|---|---|---|');
    for (const r of rules) out.push(`| ${code(r.path)} | ${cell(code(r.rule))} | ${cell(r.message)} |`);
    out.push('');
  }
  return out;
}

export function loadCrds(dir = CRD_DIR): Crd[] {
  const crds = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => parse(readFileSync(join(dir, f), 'utf8')) as Crd);
  const rank = (c: Crd) => {
    const i = ORDER.indexOf(c.spec.names.kind);
    return i < 0 ? ORDER.length : i;
  };
  return crds.sort((a, b) => rank(a) - rank(b) || a.spec.names.kind.localeCompare(b.spec.names.kind));
}

/** The whole of docs/reference.md. Deterministic: same CRDs, same bytes. */
export function renderReference(crds: Crd[] = loadCrds()): string {
  const out = [
    '<!-- Generated by docs/gen/reference.ts from crds/*.yaml (npm run gen:docs). Do not edit: change operator/api/*.ts, run npm run gen:crds, then npm run gen:docs. -->',
    '# Resource reference',
    '',
    'Every field of the kube-kmip custom resources, as the API server validates them. All kinds are namespaced, in API group',
    '`kubekmip.io`, version `v1alpha1`. Field paths use `[]` for list items. A field that is not required may be left out; a',
    'default is filled in by the API server when the field is absent. `status` is written by the operator only.',
    '',
    ...crds.map((c) => `- [${c.spec.names.kind}](#${c.spec.names.kind.toLowerCase()})`),
    '',
  ];
  for (const c of crds) out.push(...renderKind(c));
  return out.join('\n').replace(/\n+$/, '\n');
}
