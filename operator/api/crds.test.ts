import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALL_PERMISSIONS } from '../../kmip-server/operations/permissions.ts';
import { CRD_DIR, isCrdFile, renderCrds } from './generate.ts';
import { celString } from './common.ts';
import type { JSONSchemaProps } from './schema.ts';

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string; served: boolean; storage: boolean;
      subresources: { status?: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}

const rendered = renderCrds();
const crds = [...rendered.values()].map((text) => parse(text) as Crd);

test('the checked-in crds/*.yaml are what operator/api/generate.ts writes (run `npm run gen:crds` when this fails)', (t) => {
  for (const [file, text] of rendered) {
    const path = join(CRD_DIR, file);
    t.true(existsSync(path), `crds/${file} is missing`);
    if (existsSync(path)) t.is(readFileSync(path, 'utf8'), text, `crds/${file} is stale`);
  }
  const extra = readdirSync(CRD_DIR).filter((f) => isCrdFile(f) && !rendered.has(f));
  t.deepEqual(extra, [], 'crds/ holds CRDs of kinds operator/api no longer defines');
});

test('generation is deterministic', (t) => {
  t.deepEqual(renderCrds(), rendered);
});

test('five namespaced kubekmip.io/v1alpha1 kinds with a status subresource, short names and Ready/Age columns', (t) => {
  t.deepEqual(crds.map((c) => c.spec.names.kind), ['KmipScope', 'KmipRole', 'KmipClientCredential', 'KmsProvider', 'KmsKey']);
  for (const c of crds) {
    t.is(c.metadata.name, `${c.spec.names.plural}.kubekmip.io`);
    t.is(c.spec.group, 'kubekmip.io');
    t.is(c.spec.scope, 'Namespaced');
    t.true(c.spec.names.shortNames.length > 0);
    t.deepEqual(c.spec.names.categories, ['kube-kmip']);
    const [v] = c.spec.versions;
    t.like(v, { name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    const names = v?.additionalPrinterColumns.map((col) => col.name) ?? [];
    t.true(names.includes('Ready') && names.includes('Age'), `${c.spec.names.kind}: ${names.join(', ')}`);
  }
});

function walk(s: JSONSchemaProps, visit: (s: JSONSchemaProps, path: string) => void, path = ''): void {
  visit(s, path);
  for (const [k, p] of Object.entries(s.properties ?? {})) walk(p, visit, `${path}.${k}`);
  if (s.items) walk(s.items, visit, `${path}[]`);
}

test('every CEL rule carries a message a person can read', (t) => {
  let rules = 0;
  for (const c of crds) {
    walk(c.spec.versions[0]!.schema.openAPIV3Schema, (s, path) => {
      for (const r of s['x-kubernetes-validations'] ?? []) {
        rules++;
        t.true((r.message ?? '').length > 10, `${c.spec.names.kind}${path}: rule ${r.rule} has no useful message`);
      }
    });
  }
  t.true(rules > 20, `only ${rules} rules`);
});

test('KmipRole operations are the server\'s ALL_PERMISSIONS plus operation_all and operation_none', (t) => {
  const role = crds.find((c) => c.spec.names.kind === 'KmipRole')!;
  const ops = role.spec.versions[0]!.schema.openAPIV3Schema.properties!['spec']!.properties!['operations']!;
  t.deepEqual([...(ops.items?.enum ?? [])].sort(), ['operation_all', 'operation_none', ...ALL_PERMISSIONS].sort());
  t.is(ops.items?.enum?.length, ALL_PERMISSIONS.length + 2);
  // Vault's names (the list) are all among them.
  for (const vault of ['operation_activate', 'operation_add_attribute', 'operation_create_key_pair', 'operation_discover_versions',
    'operation_get_attribute_list', 'operation_mac_verify', 'operation_rekey_key_pair', 'operation_rng_retrieve', 'operation_rng_seed',
    'operation_signature_verify', 'operation_obtain_lease', 'operation_get_usage_allocation', 'operation_adjust_attribute']) {
    t.true(ops.items?.enum?.includes(vault), vault);
  }
});

test('KmipClientCredential passwordHash: the CRD pattern takes what `kmip-client hash-password` prints and refuses a plaintext password', async (t) => {
  const { hashPassword } = await import('../../kmip-server/auth/password-hash.ts');
  const cred = crds.find((c) => c.spec.names.kind === 'KmipClientCredential')!;
  const entry = cred.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.headerCredentials!.items as JSONSchemaProps;
  const { PASSWORD_HASH_PATTERN } = await import('./credential.ts');
  const pattern = new RegExp(PASSWORD_HASH_PATTERN);
  t.is(entry.properties!.passwordHash!.pattern, undefined, 'no OpenAPI pattern: its error would quote the value');
  t.regex(await hashPassword('password1', { ln: 10, r: 8, p: 1 }), pattern);
  for (const bad of ['password1', '$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234', '$scrypt$ln=15,r=8,p=1$salt']) t.notRegex(bad, pattern);
  t.deepEqual(entry['x-kubernetes-validations']?.map((v) => v.rule), [
    'has(self.username) != has(self.device)',
    '!has(self.username) || has(self.passwordHash)',
    `!has(self.passwordHash) || self.passwordHash.matches(${celString(PASSWORD_HASH_PATTERN)})`,
  ]);
});
