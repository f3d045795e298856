/**
 * docs/kmip-support.md is generated from the committed conformance results
 * (docs/gen/conformance-results.json, the compact form of `npm run conformance -- --json`) by
 * docs/gen/kmip-support.ts: this fails when the page differs from what the results say, when the
 * results file contradicts itself, or (where the OASIS vectors are present) when the per-vector
 * facts in it differ from what the vector files contain.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMIP_SUPPORT_MD } from '../../docs/gen/generate.ts';
import { loadResults, renderKmipSupport, vectorFacts } from '../../docs/gen/kmip-support.ts';
import { findVectorsDir } from '../conformance/vectors.ts';

test('docs/kmip-support.md matches docs/gen/conformance-results.json (run npm run gen:docs)', (t) => {
  t.is(readFileSync(KMIP_SUPPORT_MD, 'utf8'), renderKmipSupport(loadResults()), 'docs/kmip-support.md is stale: run npm run gen:docs');
});

test('the page says when the results were produced and counts what the results file holds', (t) => {
  const r = loadResults();
  const md = renderKmipSupport(r);
  t.true(md.includes(`conformance run of **${r.generatedAt}**`));
  const count = (s: string) => r.files.filter((f) => f.status === s).length;
  t.deepEqual(r.totals, { passed: count('passed'), failed: count('failed'), skipped: count('skipped') });
  t.true(r.totals.passed > 0);
  for (const f of r.files) t.is(f.status === 'passed', f.facts !== undefined, `${f.file}: facts exactly for passing vectors`);
});

test('only passing vectors count: a vector turned failed drops what only it exercised', (t) => {
  const r = loadResults();
  const v14 = r.files.filter((f) => f.version === 'v1.4' && f.status === 'passed');
  const withDerive = v14.filter((f) => f.facts!.operations.includes('DeriveKey'));
  if (withDerive.length === 0) return t.pass('no Derive Key vector passes at 1.4 in this run');
  t.true(renderKmipSupport(r).includes('Derive Key ('));
  const altered = { ...r, files: r.files.map((f) => (withDerive.includes(f) ? { file: f.file, version: f.version, family: f.family, status: 'failed' as const } : f)) };
  const section = (md: string) => md.slice(md.indexOf('## KMIP 1.4'), md.indexOf('## KMIP 2.1'));
  t.false(section(renderKmipSupport(altered)).includes('Derive Key ('));
});

test('vectorFacts reads operations (requests only), object types and algorithms in both the 1.x and the 2.x forms', (t) => {
  const xml = `<KMIP>
<RequestMessage><BatchItem><Operation type="Enumeration" value="Register"/><RequestPayload>
  <ObjectType type="Enumeration" value="SymmetricKey"/>
  <TemplateAttribute><Attribute><AttributeName type="TextString" value="Cryptographic Algorithm"/><AttributeValue type="Enumeration" value="AES"/></Attribute></TemplateAttribute>
</RequestPayload></BatchItem></RequestMessage>
<ResponseMessage><BatchItem><Operation type="Enumeration" value="Encrypt"/></BatchItem></ResponseMessage>
<RequestMessage><BatchItem><Operation type="Enumeration" value="Encrypt"/><RequestPayload>
  <CryptographicParameters><BlockCipherMode type="Enumeration" value="GCM"/><CryptographicAlgorithm type="Enumeration" value="ChaCha20"/></CryptographicParameters>
</RequestPayload></BatchItem></RequestMessage>
</KMIP>`;
  t.deepEqual(vectorFacts(xml), { operations: ['Encrypt', 'Register'], objectTypes: ['SymmetricKey'], algorithms: ['AES', 'ChaCha20'], parameters: ['mode GCM'] });
});

test('the committed per-vector facts are what the vector files contain', (t) => {
  let dir: string;
  try {
    dir = findVectorsDir();
  } catch {
    // The vectors are not shipped with the repository; without them only the page-vs-results check applies.
    return t.pass('no KMIP test vectors on this machine');
  }
  const r = loadResults();
  let checked = 0;
  for (const f of r.files.filter((x) => x.facts)) {
    const path = join(dir, f.file);
    if (!existsSync(path)) continue;
    t.deepEqual(f.facts, vectorFacts(readFileSync(path, 'utf8')), f.file);
    checked++;
  }
  t.true(checked > 0, 'at least one vector checked');
});
