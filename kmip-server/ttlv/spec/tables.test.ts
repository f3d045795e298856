import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ENUMS, TAG_ENUM, TAG_TYPE_ALTERNATIVES, TAG_TYPES, TAG_TYPES_1X, TAGS } from './tables.ts';
import {
  enumDef,
  enumForTag,
  enumValue,
  enumValueName,
  isMask,
  maskFromNames,
  maskToNames,
  tagByName,
  tagName,
  tagSince,
  tagXmlName,
  xmlName,
} from './names.ts';

// ---------------------------------------------------------------------------------------------------------------
// Tables

test('well-known tags', (t) => {
  t.is(tagByName('Batch Count')?.tag, 0x42000d);
  t.is(tagByName('BatchCount')?.tag, 0x42000d);
  t.is(tagByName('Attribute')?.tag, 0x420008);
  t.is(tagByName('Cryptographic Algorithm')?.tag, 0x420028);
  t.is(tagByName('Attributes')?.tag, 0x420125);
  t.is(tagName(0x42000d), 'Batch Count');
  t.is(tagXmlName(0x420091), 'TemplateAttribute');
  t.is(tagByName('0x42005C')?.name, 'Operation');
});

test('since / until', (t) => {
  t.is(tagSince('Attributes'), '2.0');
  t.is(tagSince(0x420125), '2.0');
  t.is(tagSince('Protection Storage Mask'), '2.0');
  t.is(tagSince('Protection Storage Masks'), '2.0');
  t.is(tagSince('Batch Count'), '1.0');
  t.is(tagSince('Digital Signature Algorithm'), '1.1');
  t.is(tagSince('Object Groups'), '2.1');
  // removed in 2.0
  for (const n of ['Attribute Name', 'Attribute Index', 'Template', 'Template-Attribute']) {
    const d = tagByName(n);
    t.truthy(d, n);
  }
  t.is(tagByName('Attribute Index')?.until, '1.4');
  t.is(tagByName('Template')?.until, '1.4');
  t.is(tagByName('Template-Attribute')?.until, '1.4');
  t.is(tagByName('Attribute Name')?.until, undefined); // still used by 2.x Attribute Reference
  t.is(tagByName('Template', '2.1'), undefined);
  t.is(tagByName('Template', '1.2')?.tag, 0x420090);
  // every 2.x-only tag is at least 2.0
  for (const d of TAGS) if (d.tag >= 0x420125) t.true(d.since === '2.0' || d.since === '2.1', d.name);
  // one current name per tag number
  const current = new Map<number, number>();
  for (const d of TAGS) if (!d.until) current.set(d.tag, (current.get(d.tag) ?? 0) + 1);
  t.deepEqual([...current].filter(([, n]) => n > 1), []);
});

test('enumerations', (t) => {
  t.is(enumValue('Object Type', 'Symmetric Key'), 2);
  t.is(enumValue('ObjectType', 'SymmetricKey'), 2);
  t.is(enumValueName('Object Type', 2), 'SymmetricKey');
  t.is(enumValue('Result Reason', 'Item Not Found'), 1);
  t.is(enumValue('Result Reason', 'Permission Denied'), 0x0c);
  t.is(enumValue('Result Reason', 'Cryptographic Failure'), 0x0a);
  t.is(enumValue('Result Reason', 'General Failure'), 0x100);
  t.is(enumValue('Result Status', 'Success'), 0);
  t.is(enumValue('Operation', 'Create'), 1);
  t.is(enumValue('Operation', 'ReKeyKeyPair'), 0x1d);
  t.is(enumValue('Cryptographic Algorithm', 'DES3'), 2);
  t.is(enumValue('Cryptographic Algorithm', '3DES'), 2);
  t.is(enumValue('Cryptographic Algorithm', 'HMAC_SHA256'), 9);
  t.is(enumValue('Key Format Type', 'PKCS_1'), 3);
  t.is(enumValue('Key Format Type', 'PKCS#1'), 3);
  t.is(enumValue('Certificate Type', 'X_509'), 1);
  t.is(enumValue('Opaque Data Type', '0x80000001'), 0x80000001);
  t.is(enumValue('Mask Generator', 'MGF1'), 1);
  t.is(enumValue('PKCS#11 Function', 'C_GetInfo'), 3);
  t.is(enumValue('PKCS#11 Return Code', 'OK'), 0);
  // renamed in 2.0: both names resolve, the version picks the name
  t.is(enumValue('Digital Signature Algorithm', 'SHA-256 with RSA Encryption (PKCS#1 v1.5)'), 5);
  t.is(enumValue('Digital Signature Algorithm', 'SHA_256WithRSAEncryption'), 5);
  t.is(enumValueName('Digital Signature Algorithm', 5, '1.4'), 'SHA_256WithRSAEncryptionPKCS_1V1_5');
  t.is(enumValueName('Digital Signature Algorithm', 5, '2.1'), 'SHA_256WithRSAEncryption');
  t.is(enumValueName('Digital Signature Algorithm', 5), 'SHA_256WithRSAEncryption');
  // removed in 2.0
  t.is(enumValueName('Object Type', 6, '1.4'), 'Template');
  t.is(enumValueName('Object Type', 6, '2.1'), undefined);
  t.is(enumDef('Object Type')?.values.find((v) => v.name === 'Template')?.until, '1.4');
  // the Tag enumeration resolves through the tag table
  t.is(enumValue('Tag', 'ActivationDate'), 0x420001);
  t.is(enumValueName('Tag', 0x420001), 'ActivationDate');
});

test('masks', (t) => {
  t.true(isMask('Cryptographic Usage Mask'));
  t.true(isMask('Storage Status Mask'));
  t.true(isMask('Protection Storage Mask'));
  t.false(isMask('Object Type'));
  t.is(enumValue('Cryptographic Usage Mask', 'Encrypt'), 0x4);
  t.is(enumValue('Cryptographic Usage Mask', 'Decrypt'), 0x8);
  t.is(maskFromNames('Cryptographic Usage Mask', 'Encrypt Decrypt'), 0xc);
  t.is(maskFromNames('CryptographicUsageMask', 'Decrypt   Encrypt'), 0xc);
  t.is(maskFromNames('Cryptographic Usage Mask', 'Encrypt|MACGenerate'), 0x84);
  t.is(maskFromNames('Cryptographic Usage Mask', 'Nope'), undefined);
  t.is(maskFromNames('Storage Status Mask', 'ArchivalStorage OnLineStorage'), 3);
  t.is(maskToNames('Cryptographic Usage Mask', 0xc), 'Encrypt Decrypt');
  t.is(maskToNames('Cryptographic Usage Mask', 0x40, '1.4'), 'Export');
  t.is(maskToNames('Cryptographic Usage Mask', 0x40, '2.1'), '0x00000040');
  t.is(maskToNames('Cryptographic Usage Mask', 0x80000001), 'Sign 0x80000000');
  t.is(maskToNames('Storage Status Mask', 0), '');
  t.is(enumForTag('Cryptographic Usage Mask'), 'Cryptographic Usage Mask');
  t.is(enumForTag('ProtectionStorageMask'), 'Protection Storage Mask');
});

test('tag -> enumeration links and types', (t) => {
  t.is(enumForTag('Result Reason'), 'Result Reason');
  t.is(enumForTag('Object Type'), 'Object Type');
  t.is(enumForTag('Operation'), 'Operation');
  t.is(enumForTag('Wrapping Method'), 'Wrapping Method');
  t.is(enumForTag('Mask Generator'), 'Mask Generator');
  t.is(enumForTag('Mask Generator Hashing Algorithm'), 'Hashing Algorithm');
  t.is(enumForTag('Attribute Reference'), 'Tag');
  t.is(enumForTag(0x420057), 'Object Type');
  t.is(TAG_TYPES['Batch Count'], 'Integer');
  t.is(TAG_TYPES['Cryptographic Usage Mask'], 'Integer');
  t.is(TAG_TYPES['Usage Limits Count'], 'Long Integer');
  t.is(TAG_TYPES['Asynchronous Indicator'], 'Enumeration');
  t.is(TAG_TYPES_1X['Asynchronous Indicator'], 'Boolean');
  // every Enumeration- or mask-typed tag has an enumeration, and every link points at a known one
  const enumNames = new Set(ENUMS.map((e) => e.name));
  for (const d of TAGS) {
    const types = [TAG_TYPES[d.name], TAG_TYPES_1X[d.name], ...(TAG_TYPE_ALTERNATIVES[d.name] ?? [])];
    if (types.includes('Enumeration')) t.truthy(TAG_ENUM[d.name], `${d.name} has no enumeration`);
    if (enumDef(d.name)?.mask) t.is(TAG_ENUM[d.name], d.name);
  }
  for (const [tag, en] of Object.entries(TAG_ENUM)) {
    t.truthy(tagByName(tag), tag);
    t.true(en === 'Tag' || enumNames.has(en), `${tag} -> ${en}`);
  }
  // no two values of an enumeration share a name, no name maps to two XML names' values
  for (const e of ENUMS) {
    const seen = new Map<string, number>();
    for (const v of e.values) {
      const k = xmlName(v.name);
      t.true(!seen.has(k) || seen.get(k) === v.value, `${e.name}: ${v.name}`);
      seen.set(k, v.value);
    }
  }
});

test('xmlName normalisation', (t) => {
  t.is(xmlName('Cryptographic Algorithm'), 'CryptographicAlgorithm');
  t.is(xmlName('Template-Attribute'), 'TemplateAttribute');
  t.is(xmlName('Common Template-Attribute'), 'CommonTemplateAttribute');
  t.is(xmlName('IV/Counter/Nonce'), 'IVCounterNonce');
  t.is(xmlName('PKCS#1'), 'PKCS_1');
  t.is(xmlName('PKCS#11 Function'), 'PKCS_11Function');
  t.is(xmlName('X.509'), 'X_509');
  t.is(xmlName('HMAC-SHA1'), 'HMAC_SHA1');
  t.is(xmlName('SHA-256'), 'SHA_256');
  t.is(xmlName('3DES'), 'DES3');
  t.is(xmlName('On-line storage'), 'OnLineStorage');
  t.is(xmlName('Pre-Active'), 'PreActive');
  t.is(xmlName('Re-key Key Pair'), 'ReKeyKeyPair');
  t.is(xmlName('Polynomial Sharing GF (2^8)'), 'PolynomialSharingGF2_8');
  t.is(xmlName('ANSI X9.31'), 'ANSIX9_31');
  t.is(xmlName('Tape Library Server KMIP v1.2'), 'TapeLibraryServerKMIPV1_2');
  t.is(xmlName('MAC/sign'), 'MACSign');
  t.is(xmlName('Object archived'), 'ObjectArchived');
});

// ---------------------------------------------------------------------------------------------------------------
// OASIS test vectors: every element name, enumeration value and mask name must resolve.

const TESTCASES = process.env.KMIP_TESTCASES ?? '/work/shared/kmip-testcases';
const VECTOR_DIRS = ['v1.0', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v2.1/mandatory', 'v2.1/optional'];

function xmlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...xmlFiles(p));
    else if (e.endsWith('.xml')) out.push(p);
  }
  return out.sort();
}

interface Frame { name: string; attributeName?: string }

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(attrs);
  return m ? m[1] : undefined;
}

test('every name in the OASIS test vectors resolves', (t) => {
  if (!existsSync(TESTCASES)) {
    t.fail(`KMIP test vectors not found at ${TESTCASES} (set KMIP_TESTCASES)`);
    return;
  }
  const problems = new Set<string>();
  const typeMismatches = new Set<string>();
  let files = 0;
  let elements = 0;
  let enumsChecked = 0;
  let masksChecked = 0;
  for (const sub of VECTOR_DIRS) {
    const dir = join(TESTCASES, sub);
    if (!existsSync(dir)) {
      problems.add(`missing folder ${dir}`);
      continue;
    }
    const v1 = sub.startsWith('v1.');
    for (const file of xmlFiles(dir)) {
      files++;
      const where = file.slice(TESTCASES.length + 1);
      // almost-XML: strip comments, declarations and the v1.0 "# TIME n" lines, then walk the tags
      const text = readFileSync(file, 'utf8').replace(/<!--[\s\S]*?-->/g, '').replace(/<\?[\s\S]*?\?>/g, '');
      const stack: Frame[] = [];
      for (const m of text.matchAll(/<(\/?)([A-Za-z_][\w.-]*)([^>]*?)(\/?)>/g)) {
        const [, close, name = '', attrs = '', selfClose] = m;
        if (close) {
          stack.pop();
          continue;
        }
        const parent = stack[stack.length - 1];
        if (!selfClose) stack.push({ name });
        if (name === 'KMIP') continue;
        elements++;
        if (name === 'TTLV') {
          // unknown tags are written <TTLV tag="0x540001" ...>
          if (!/^0x[0-9a-f]{6}$/i.test(attr(attrs, 'tag') ?? '')) problems.add(`${where}: TTLV without a hex tag`);
          continue;
        }
        const def = tagByName(name);
        if (!def) {
          problems.add(`element ${name} (${where})`);
          continue;
        }
        if (xmlName(def.name) !== name) problems.add(`element ${name} is not the XML name of ${def.name}`);
        const type = attr(attrs, 'type');
        const value = attr(attrs, 'value');
        // the attribute a 1.x Attribute Value belongs to
        if (name === 'AttributeName' && parent && value !== undefined) parent.attributeName = value;
        if (name === 'AttributeName' && v1 && value !== undefined && !/^[xy]-/.test(value) && !tagByName(value))
          problems.add(`attribute name "${value}" (${where})`);
        const subject = name === 'AttributeValue' && parent?.attributeName ? parent.attributeName : def.name;
        const subjectDef = tagByName(subject);
        if (type && subjectDef && name !== 'AttributeValue') {
          const expected = [TAG_TYPES[def.name], TAG_TYPES_1X[def.name], ...(TAG_TYPE_ALTERNATIVES[def.name] ?? [])];
          const spaced = type.replace(/([a-z])([A-Z])/g, '$1 $2').replace('Date Time', 'Date-Time');
          if (expected[0] && !expected.includes(spaced)) typeMismatches.add(`${def.name}: ${type} (spec: ${expected.filter(Boolean).join('/')})`);
        }
        if (value === undefined || value.startsWith('$')) continue;
        if (type === 'Enumeration') {
          enumsChecked++;
          const en = enumForTag(subject);
          if (!en) problems.add(`no enumeration for ${subject} (value ${value}, ${where})`);
          else if (enumValue(en, value) === undefined) problems.add(`${en}: ${value} (${where})`);
        } else if (type === 'Integer' && !/^-?\d+$|^0x[0-9a-f]+$/i.test(value)) {
          masksChecked++;
          const en = enumForTag(subject);
          if (!en || !isMask(en)) problems.add(`symbolic Integer for non-mask ${subject}: ${value} (${where})`);
          else if (maskFromNames(en, value) === undefined) problems.add(`${en}: ${value} (${where})`);
        }
      }
    }
  }
  t.log(`${files} files, ${elements} elements, ${enumsChecked} enumeration values, ${masksChecked} masks checked`);
  t.deepEqual([...problems].sort(), []);
  // the vectors' item types agree with the types the spec states (TAG_TYPES / TAG_TYPES_1X / TAG_TYPE_ALTERNATIVES)
  t.deepEqual([...typeMismatches].sort(), []);
  t.true(files > 400, `only ${files} vector files found under ${TESTCASES}`);
});
