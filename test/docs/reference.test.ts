/**
 * docs/reference.md is generated from crds/*.yaml by docs/gen/reference.ts (npm run gen:docs):
 * this fails when the committed page differs from what the generator makes of the current CRDs,
 * and checks that the page carries what a reader needs (types, defaults, enums, required, CEL
 * messages) for fields whose values are known here.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { REFERENCE_MD } from '../../docs/gen/generate.ts';
import { loadCrds, renderReference } from '../../docs/gen/reference.ts';
import { KINDS } from '../../operator/api/index.ts';

test('docs/reference.md is up to date with crds/ (run npm run gen:docs)', (t) => {
  t.is(readFileSync(REFERENCE_MD, 'utf8'), renderReference(), 'docs/reference.md is stale: run npm run gen:docs');
});

test('every kind has a section, in the order of the tenancy model', (t) => {
  const md = renderReference();
  const at = KINDS.map((k) => md.indexOf(`\n## ${k.kind}\n`));
  t.false(at.includes(-1), `a kind without a section: ${KINDS.map((k) => k.kind).filter((_, i) => at[i] === -1).join(', ')}`);
  t.true(md.indexOf('## KmipScope') < md.indexOf('## KmipRole') && md.indexOf('## KmipRole') < md.indexOf('## KmipClientCredential'));
});

test('rows carry type, required, default and allowed values; CEL rules carry their messages', (t) => {
  const md = renderReference();
  const row = (path: string) => md.split('\n').find((l) => l.startsWith(`| \`${path}\` |`)) ?? '';
  t.regex(row('spec.scopeRef'), /\| object \| yes \|/, 'KmipRole spec.scopeRef is required');
  t.regex(row('spec.formats'), /\[\]string \|  \| `\["pem"\]` \| [^|]*one of `pem`, `pem_bundle`, `der`, `pkcs12`/, 'formats: type, default, enum');
  t.regex(row('spec.deletionPolicy'), /`"Retain"` \| one of `Retain`, `Force`/);
  t.regex(md, /operation_all already grants every operation and cannot be combined with other operations/);
  t.regex(md, /set only one of generate, csr and certificate/);
  // CEL rules contain '||', which must not split the table row.
  for (const l of md.split('\n').filter((l) => l.includes('duration(self)'))) t.notRegex(l, /[^\\]\|\|/, `unescaped pipes in: ${l}`);
});

test('the generator follows the CRDs: a new field or rule in a CRD changes the page', (t) => {
  const crds = loadCrds();
  const role = crds.find((c) => c.spec.names.kind === 'KmipRole')!;
  const spec = role.spec.versions[0]!.schema.openAPIV3Schema.properties!['spec']!;
  spec.properties!['zzNewField'] = { type: 'string', description: 'A field added for this test.', default: 'x', 'x-kubernetes-validations': [{ rule: "self != 'y'", message: 'must not be y' }] };
  const md = renderReference(crds);
  t.not(md, renderReference());
  t.true(md.includes('| `spec.zzNewField` | string |  | `"x"` |  | A field added for this test. |'));
  t.true(md.includes("| `spec.zzNewField` | `self != 'y'` | must not be y |"));
});
