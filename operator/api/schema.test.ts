import test from 'ava';
import { customResourceDefinition, defineKind } from './kind.ts';
import { array, emptyObject, integer, integerEnum, object, refine, required, string, stringEnum, type Infer } from './schema.ts';
import type { KmipClientCredentialSpec, KmipRoleSpec, KmsProviderSpec } from './index.ts';

test('object(): required() properties land in `required`, in declaration order; others are optional', (t) => {
  const s = object({ b: required(string()), a: integer(), c: required(stringEnum(['x', 'y'])) });
  t.deepEqual(s.openAPI.required, ['b', 'c']);
  t.deepEqual(Object.keys(s.openAPI.properties ?? {}), ['b', 'a', 'c']);
  // The inferred type says the same: b and c required, a optional.
  const ok: Infer<typeof s> = { b: 'hello', c: 'x' };
  // @ts-expect-error c is required
  const missing: Infer<typeof s> = { b: 'hello' };
  // @ts-expect-error c only takes x or y
  const wrong: Infer<typeof s> = { b: 'hello', c: 'z' };
  t.truthy(ok && missing && wrong);
});

test('schema keys come out in a fixed order: description, type, constraints, default, rules', (t) => {
  const s = string({ rules: [{ rule: 'self != ""', message: 'empty' }], default: 'd', maxLength: 3, description: 'text' });
  t.deepEqual(Object.keys(s.openAPI), ['description', 'type', 'maxLength', 'default', 'x-kubernetes-validations']);
});

test('refine() keeps description first and appends rules', (t) => {
  const base = string({ description: 'old', rules: [{ rule: 'true', message: 'one' }] });
  const r = refine(base, { description: 'new', rules: [{ rule: 'true', message: 'two' }] });
  t.is(Object.keys(r.openAPI)[0], 'description');
  t.is(r.openAPI.description, 'new');
  t.deepEqual(r.openAPI['x-kubernetes-validations']?.map((v) => v.message), ['one', 'two']);
  t.is(base.openAPI['x-kubernetes-validations']?.length, 1, 'the original is not changed');
});

test('array(): list types and map keys; integerEnum and emptyObject', (t) => {
  const item = object({ kind: required(string()), name: required(string()) });
  const a = array(item, { listType: 'map', mapKeys: ['kind', 'name'], maxItems: 4 });
  t.is(a.openAPI['x-kubernetes-list-type'], 'map');
  t.deepEqual(a.openAPI['x-kubernetes-list-map-keys'], ['kind', 'name']);
  // @ts-expect-error map keys must be properties of the item
  t.throws(() => array(item, { listType: 'map', mapKeys: ['nope'] }));
  t.throws(() => array(object({ name: string() }), { listType: 'map', mapKeys: ['name'] }), { message: /must be a required or defaulted/ });
  t.deepEqual(integerEnum([1, 2]).openAPI.enum, [1, 2]);
  t.is(emptyObject().openAPI.maxProperties, 0);
});

test('a printer column naming no field of the schema is refused when the CRD is built', (t) => {
  const kind = defineKind({
    kind: 'Thing', plural: 'things', shortNames: [], description: 'x',
    spec: object({ size: integer() }), status: object({}),
    printerColumns: [{ name: 'Colour', type: 'string', jsonPath: '.spec.colour' }],
  });
  t.throws(() => customResourceDefinition(kind), { message: /Colour path \.spec\.colour does not name a field/ });
});

test('the kinds\' inferred types hold what the CRDs say (checked by tsc)', (t) => {
  const role: KmipRoleSpec = { scopeRef: { name: 's' }, operations: ['operation_all'], tlsClientKeyType: 'rsa', tlsClientKeyBits: 4096 };
  // @ts-expect-error scopeRef is required
  const noScope: KmipRoleSpec = { operations: ['operation_get'] };
  // @ts-expect-error key types are ec or rsa
  const dsa: KmipRoleSpec = { scopeRef: { name: 's' }, operations: ['operation_get'], tlsClientKeyType: 'dsa' };
  // @ts-expect-error 1024 is no allowed size
  const small: KmipRoleSpec = { scopeRef: { name: 's' }, operations: ['operation_get'], tlsClientKeyBits: 1024 };
  const cred: KmipClientCredentialSpec = { scopeRef: { name: 's' }, roleRef: { name: 'r' }, csr: '-----BEGIN CERTIFICATE REQUEST-----', formats: ['der'] };
  // @ts-expect-error no such format
  const jks: KmipClientCredentialSpec = { scopeRef: { name: 's' }, roleRef: { name: 'r' }, formats: ['jks'] };
  const provider: KmsProviderSpec = { type: 'gcp', gcp: { project: 'p', location: 'global', keyRing: 'k' } };
  // @ts-expect-error no such provider type
  const vault: KmsProviderSpec = { type: 'vault' };
  t.truthy(role && noScope && dsa && small && cred && jks && provider && vault);
});
