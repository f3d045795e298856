// Generator for ./tables.ts: the KMIP tag, enumeration and bit-mask tables.
//
//   npm run gen:spec            (node kmip-server/ttlv/spec/generate.ts)
//
// Inputs (read as plain facts, nothing is copied verbatim into the repo apart from names and numbers):
//   - $KMIP_SPEC_DIR (default /work/shared/kmip-spec): kmip-spec-v1.4-os.txt and kmip-spec-v2.1-os.txt, the OASIS
//     specifications rendered to text with box-drawing tables. Parsed: the Tags table (1.4 §9.1.3.1, 2.1 §11.56 "Tag
//     Enumeration"), every "<X> Enumeration" section (1.4 §9.1.3.2.x, 2.1 §11.x), the bit masks (1.4 §9.1.3.3.x,
//     2.1 §12.x), the 1.4 "Tag Cross-Reference" appendix (item types, enumeration references) and every 2.x structure
//     / attribute table with an "Encoding" column (item types of 2.x tags).
//   - $PYKMIP_ENUMS (default /usr/lib/python3/dist-packages/kmip/core/enums.py): PyKMIP's enums module, used only
//     for the version in which a tag / enumeration value first appeared (its `# KMIP 1.x` / `# KMIP 2.0` comments).
//
// Heuristics (the spec texts never say when something appeared):
//   - `since` comes from PyKMIP where it lists the value under a `# KMIP x.y` comment.
//   - Tags PyKMIP lacks: tags are numbered in order of introduction, so a 1.x tag takes the version of the nearest
//     lower tag PyKMIP knows; a tag only in 2.1 takes '2.0' if it is below PyKMIP's highest (2.0) tag, else '2.1'.
//   - Enumeration values PyKMIP lacks (or lists without a version comment): a value present in 1.4 takes the version of
//     the nearest lower value of the same enumeration PyKMIP dates, else the `since` of the tag that carries the
//     enumeration (same name), else '1.0'. A value only in 2.1 takes '2.0' when PyKMIP lists it without a version
//     comment, '2.1' when PyKMIP's (2.0-complete) list of that enumeration lacks it, and the since of the
//     enumeration's tag (never below '2.0') when PyKMIP lacks the whole enumeration.
//   - Anything present only in 2.1 is never dated before '2.0'; anything in 1.4 never after '1.4'.
//   - A 1.4 name whose value 2.1 shows as "(Reserved)" or omits gets `until: '1.4'`. Where 2.1 names the same value
//     differently (ignoring case, spacing and punctuation), both are kept: the 1.x one `until: '1.4'`, the 2.x one
//     `since: '2.0'`.
//   - Cells wrapped across lines are joined with a space, except when the first line fills the cell to its right border
//     and the break falls at punctuation ("(PKCS" + "#1 v1.5)", "Re-" + "key"), where they are joined directly.
//   - The PKCS#11 Function and PKCS#11 Return Code enumerations are defined by reference to PKCS#11 v3.0
//     (CK_FUNCTION_LIST_3_0 order, 1-based; CKR_* values); their entries are listed below from that standard.
//   - The Tag enumeration (2.1 §11.56) is the tag table itself and is not repeated in ENUMS; TAG_ENUM maps
//     "Attribute Reference" to "Tag" and names.ts resolves enum "Tag" through TAGS.
//   - Spec typos listed in SPEC_ERRATA are corrected (2.1 "MFG1" for MGF1).
//   - Item types (TAG_TYPES): the "Encoding" column of 2.1's tables for current tags, else of 1.4's, else the 1.4
//     Tag Cross-Reference appendix; where several tables disagree the most stated type wins (a row spelled
//     differently from the tag, e.g. "Timestamp", counts half) and every stated type goes to TAG_TYPE_ALTERNATIVES.
//     A table "X | Structure" that then lists a field "X" (2.1 §7.26-7.30, PKCS#11 ...) is typed by the field row; a
//     one-row attribute table that misnames its attribute (2.1 §4.3 lists "Sensitive" for Always Sensitive) also
//     types the attribute its section is about. Tags no table types: operation descriptions ("An Integer object
//     ...", "(as a Byte String)"), then TAG_TYPE_EXTRA, then Enumeration for a tag named like an enumeration.
//   - TAG_ENUM: the enumeration sections the 1.4 appendix cites ("9.1.3.2.13"), "Enumeration (X)" / "see 9.1.3.2.x"
//     encodings, TAG_ENUM_EXTRA, else the enumeration with the tag's own name when the tag is Enumeration-typed
//     (or Integer-typed for masks).
//   - Ranges ("(Unused)", "(Reserved) 420XXX – 42FFFF", "Extensions 8XXXXXXX"/540000 – 54FFFF) are not entries.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Version = '1.0' | '1.1' | '1.2' | '1.3' | '1.4' | '2.0' | '2.1';
const VERSIONS: readonly Version[] = ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0', '2.1'];
const vIndex = (v: Version): number => VERSIONS.indexOf(v);
const vMax = (a: Version, b: Version): Version => (vIndex(a) >= vIndex(b) ? a : b);
const vMin = (a: Version, b: Version): Version => (vIndex(a) <= vIndex(b) ? a : b);

const SPEC_DIR = process.env.KMIP_SPEC_DIR ?? '/work/shared/kmip-spec';
const PYKMIP_ENUMS = process.env.PYKMIP_ENUMS ?? '/usr/lib/python3/dist-packages/kmip/core/enums.py';
const OUT = join(dirname(fileURLToPath(import.meta.url)), 'tables.ts');
const DEBUG = process.env.KMIP_GEN_DEBUG === '1';

// ---------------------------------------------------------------------------------------------------------------
// Text utilities

/** Collapses whitespace (including NBSP) and trims. */
function clean(s: string): string {
  return s.replace(/[\s\u00a0]+/g, ' ').trim();
}

/** Comparison key for names: case, spacing and punctuation insensitive. */
function key(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Box-drawing table parser

interface Table {
  /** Number of the section the table sits in, e.g. "9.1.3.2.13". */
  section: string;
  /** Title of that section, e.g. "Cryptographic Algorithm Enumeration". */
  sectionTitle: string;
  /** 1-based line of the table's top border. */
  line: number;
  /** Rows (title rows included) as joined cell texts. */
  rows: string[][];
}

const HEADING = /^(\d+(?:\.\d+)*)\s+([A-Z(].*?)\s*$/;

function joinCell(segments: string[]): string {
  let acc = '';
  let prevFull = false;
  for (const raw of segments) {
    const text = clean(raw);
    const full = raw.length > 0 && !/[\s\u00a0]$/.test(raw);
    if (text === '') {
      prevFull = false;
      continue;
    }
    if (acc === '') acc = text;
    else if (prevFull && (/^[#\-/.)_,:^]/.test(text) || /[-/(^#]$/.test(acc))) acc += text;
    else acc += ' ' + text;
    prevFull = full;
  }
  return clean(acc);
}

function parseTables(text: string): Table[] {
  const lines = text.split(/\r?\n/);
  const bodyStart = lines.findIndex((l) => /^1\s+Introduction\s*$/.test(l));
  if (bodyStart < 0) throw new Error('cannot find the start of the body ("1 Introduction")');
  const tables: Table[] = [];
  let section = '';
  let sectionTitle = '';
  for (let i = bodyStart; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const h = HEADING.exec(line);
    if (h && !line.includes('│')) {
      section = h[1] ?? '';
      sectionTitle = clean(h[2] ?? '');
      continue;
    }
    const t = line.trimStart();
    if (!t.startsWith('┌')) continue;
    const start = i;
    const rows: string[][] = [];
    let cur: string[][] = []; // physical lines of the current row, as raw cells
    const flush = (): void => {
      if (cur.length === 0) return;
      const n = Math.max(...cur.map((c) => c.length));
      const row: string[] = [];
      for (let c = 0; c < n; c++) row.push(joinCell(cur.map((l) => l[c] ?? '')));
      rows.push(row);
      cur = [];
    };
    for (i = i + 1; i < lines.length; i++) {
      const l = lines[i] ?? '';
      const s = l.trimStart();
      if (s.startsWith('└')) break;
      if (s.startsWith('├')) {
        flush();
        continue;
      }
      if (!s.startsWith('│')) {
        if (s === '') continue; // stray blank line inside a table
        break; // not a table line: the table ended without a bottom border
      }
      const parts = s.split('│');
      cur.push(parts.slice(1, parts.length - 1));
    }
    flush();
    tables.push({ section, sectionTitle, line: start + 1, rows });
  }
  return tables;
}

// ---------------------------------------------------------------------------------------------------------------
// Spec extraction

interface RawValue { name: string; value: number; note: string }
interface SpecData {
  tags: RawValue[];
  reservedTags: Set<number>;
  enums: Map<string, { name: string; mask: boolean; section: string; values: RawValue[]; reserved: Set<number> }>;
  /** section number -> enum/mask name */
  sectionEnum: Map<string, string>;
  tables: Table[];
}

const HEX_CELL = /^(?:0x)?([0-9A-Fa-f]{6,8})\b\s*(.*)$/;

function parseHexCell(cell: string): { value: number; note: string } | undefined {
  const m = HEX_CELL.exec(cell.trim());
  if (!m) return undefined;
  const rest = (m[2] ?? '').trim();
  if (/^[-–]/.test(rest)) return undefined; // a range
  return { value: parseInt(m[1] ?? '', 16), note: rest };
}

function isSkippedName(name: string): boolean {
  return /^\(?(unused|reserved)\)?$/i.test(name) || /^extensions?$/i.test(name) || name === '';
}

function extractSpec(text: string, v: '1.4' | '2.1'): SpecData {
  const tables = parseTables(text);
  const data: SpecData = { tags: [], reservedTags: new Set(), enums: new Map(), sectionEnum: new Map(), tables };
  const isTagSection = (t: Table): boolean =>
    v === '1.4' ? t.section === '9.1.3.1' : t.section === '11.56' && /^Tag Enumeration$/i.test(t.sectionTitle);
  const isEnumSection = (t: Table): boolean =>
    (v === '1.4' ? /^9\.1\.3\.2\.\d+$/.test(t.section) : /^11\.\d+$/.test(t.section)) &&
    /\sEnumeration$/i.test(t.sectionTitle) &&
    !isTagSection(t);
  const isMaskSection = (t: Table): boolean => (v === '1.4' ? /^9\.1\.3\.3\.\d+$/ : /^12\.\d+$/).test(t.section);

  for (const t of tables) {
    const headerIdx = t.rows.findIndex((r) => r.length >= 2);
    const header = t.rows[headerIdx];
    if (!header) continue;
    const h0 = (header[0] ?? '').toLowerCase();
    const h1 = (header[1] ?? '').toLowerCase();
    const nameValueTable = (h0 === 'name' || h0 === 'object') && (h1 === 'value' || h1 === 'tag value');
    if (!nameValueTable) continue;
    const body = t.rows.slice(headerIdx + 1).filter((r) => r.length >= 2);
    const tagTable = isTagSection(t);
    const enumTable = isEnumSection(t);
    const maskTable = isMaskSection(t);
    if (!tagTable && !enumTable && !maskTable) continue;
    const values: RawValue[] = [];
    const reserved = new Set<number>();
    for (const r of body) {
      const name = clean(r[0] ?? '');
      const hv = parseHexCell(r[1] ?? '');
      if (!hv) continue;
      if (isSkippedName(name)) {
        if (/reserved/i.test(name)) reserved.add(hv.value);
        continue;
      }
      values.push({ name, value: hv.value, note: hv.note });
    }
    if (tagTable) {
      data.tags.push(...values);
      for (const r of reserved) data.reservedTags.add(r);
      continue;
    }
    const enumName = clean(t.sectionTitle.replace(/\s+Enumeration$/i, ''));
    const k = key(enumName);
    const existing = data.enums.get(k);
    if (existing) {
      existing.values.push(...values);
      for (const r of reserved) existing.reserved.add(r);
    } else {
      data.enums.set(k, { name: enumName, mask: maskTable, section: t.section, values, reserved });
    }
    data.sectionEnum.set(t.section, enumName);
  }
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Item types

const ITEM_TYPES = [
  'Structure', 'Integer', 'Long Integer', 'Big Integer', 'Enumeration', 'Boolean', 'Text String', 'Byte String',
  'Date-Time Extended', 'Date-Time', 'Interval',
] as const;

const typeKey = (s: string): string => s.toLowerCase().replace(/[\s-]/g, '');

/**
 * Recognises the item type(s) an "Encoding"/"Type" cell states: "Text String", "TextString", "Date Time",
 * "Byte String / Structure", "Enumeration, see 9.1.3.2.1", "Structure (with ...)", ...
 */
function itemTypes(cell: string): string[] {
  const out: string[] = [];
  for (const part of cell.split(/\s*(?:[/,;:]|\bor\b)\s*/)) {
    const p = typeKey(part);
    // longest names first, so that "Date-Time Extended" wins over "Date-Time"
    const t = [...ITEM_TYPES].sort((a, b) => b.length - a.length).find((x) => {
      const k = typeKey(x);
      return p === k || (p.startsWith(k) && /^[,.(;]/.test(p.slice(k.length)));
    });
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

/** Keyed by key(tag name): item type -> number of tables stating it; enumeration names a tag is said to use. */
interface TypeInfo { types: Map<string, Map<string, number>>; enumRefs: Map<string, Set<string>> }

function addType(info: TypeInfo, tag: string, type: string, weight = 2): void {
  let m = info.types.get(key(tag));
  if (!m) info.types.set(key(tag), (m = new Map()));
  m.set(type, (m.get(type) ?? 0) + weight);
}
function addEnumRef(info: TypeInfo, tag: string, en: string): void {
  let s = info.enumRefs.get(key(tag));
  if (!s) info.enumRefs.set(key(tag), (s = new Set()));
  s.add(en);
}

/**
 * 1.4 Appendix C "Tag Cross-Reference": Object | Defined | Type | Notes. The "Defined" column cites the enumeration /
 * mask sections (9.1.3.2.x / 9.1.3.3.x).
 */
function typesFromCrossReference(spec: SpecData, info: TypeInfo): void {
  for (const t of spec.tables) {
    const header = t.rows[0];
    if (!header || header.length < 3) continue;
    if (!(header[0] === 'Object' && header[1] === 'Defined' && header[2] === 'Type')) continue;
    for (const r of t.rows.slice(1)) {
      const name = clean(r[0] ?? '');
      if (!name) continue;
      for (const type of itemTypes(r[2] ?? '')) addType(info, name, type);
      for (const ref of (r[1] ?? '').split(/[,\s]+/)) {
        const en = spec.sectionEnum.get(ref.replace(/\.$/, ''));
        if (en) addEnumRef(info, name, en);
      }
    }
  }
}

/** Any table whose header has an "Encoding" column: first column names an item, "Encoding" gives its type. */
function typesFromEncodingTables(spec: SpecData, info: TypeInfo, knownTags: Map<string, string>): void {
  for (const t of spec.tables) {
    const header = t.rows.find((r) => r.length >= 2);
    if (!header) continue;
    const encCol = header.findIndex((c) => /^Encoding$/i.test(c));
    if (encCol < 1) continue;
    const rows = t.rows.slice(t.rows.indexOf(header) + 1).map((r) => ({
      name: clean(r[0] ?? '').replace(/\s*\(.*\)$/, ''),
      enc: clean(r[encCol] ?? ''),
    }));
    rows.forEach((r, i) => {
      if (!knownTags.has(key(r.name))) return;
      let types = itemTypes(r.enc);
      // "Random Number Generator | RNG Parameters": the encoding is a (structure) tag of its own
      if (types.length === 0 && knownTags.has(key(r.enc))) types = ['Structure'];
      if (types.length === 0) return;
      // "X | Structure" heading a table that then lists a field "X" with a primitive type (2.1 §7.26-7.30): the
      // table's own first row is a placeholder, the field's row gives the encoding actually used.
      if (types[0] === 'Structure' && rows.some((o, j) => j > i && key(o.name) === key(r.name))) return;
      // a spelling that differs from the tag's ("Timestamp" for Time Stamp) counts for less
      const weight = knownTags.get(key(r.name)) === r.name ? 2 : 1;
      for (const type of types) addType(info, r.name, type, weight);
      // An attribute section's one-row table whose row misnames the attribute (2.1 §4.3 "Always Sensitive" lists
      // "Sensitive"): the type also belongs to the attribute the section is about.
      const attrSection = /^(3|4)\.\d+$/.test(t.section);
      if (attrSection && rows.length === 1 && key(t.sectionTitle) !== key(r.name) && knownTags.has(key(t.sectionTitle)))
        for (const type of types) addType(info, t.sectionTitle, type);
      const m = /^Enumeration\s*\(([^)]+)\)/i.exec(r.enc);
      if (m) addEnumRef(info, r.name, clean(m[1] ?? ''));
      const see = /see\s+(\d+(?:\.\d+)+)/i.exec(r.enc);
      if (see) {
        const en = spec.sectionEnum.get(see[1] ?? '');
        if (en) addEnumRef(info, r.name, en);
      }
    });
  }
}

/**
 * Operation payload tables have no "Encoding" column, but their descriptions often start with the type:
 * "An Integer object that indicates ...", "A Boolean ...". Used only for tags no "Encoding" column types.
 */
function typesFromDescriptions(spec: SpecData, info: TypeInfo, knownTags: Map<string, string>): void {
  const re = /^(?:An?|The)\s+(Integer|Long Integer|Big Integer|Boolean|Text String|Byte String|Date-Time|Date Time|Interval|Enumeration|Structure)\b/i;
  for (const t of spec.tables) {
    const header = t.rows.find((r) => r.length >= 2);
    if (!header) continue;
    const col = header.findIndex((c) => /^Description$/i.test(c));
    if (col < 1) continue;
    for (const r of t.rows.slice(t.rows.indexOf(header) + 1)) {
      const name = clean(r[0] ?? '');
      if (!knownTags.has(key(name))) continue;
      const d = clean(r[col] ?? '');
      const m = re.exec(d) ?? /\(as an? ([A-Za-z -]+?)\)/.exec(d);
      const ty = m ? itemTypes(m[1] ?? '')[0] : undefined;
      if (ty) addType(info, name, ty);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PyKMIP (dates only)

interface PyEnum { values: Map<number, Version | undefined> }

function parsePyKmip(path: string): Map<string, PyEnum> {
  if (!existsSync(path)) throw new Error(`PyKMIP enums module not found at ${path} (set PYKMIP_ENUMS)`);
  const out = new Map<string, PyEnum>();
  let cur: PyEnum | undefined;
  let ver: Version | undefined;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const cls = /^class\s+(\w+)\(/.exec(line);
    if (cls) {
      cur = { values: new Map() };
      out.set(key(cls[1] ?? ''), cur);
      ver = undefined;
      continue;
    }
    if (!cur) continue;
    if (/^\S/.test(line)) {
      cur = undefined;
      continue;
    }
    const c = /^\s+#\s*KMIP\s+(\d\.\d)\b/.exec(line);
    if (c) {
      const v = c[1] as Version;
      if (VERSIONS.includes(v)) ver = v;
      continue;
    }
    const a = /^\s+[A-Z][A-Z0-9_a-z]*\s*=\s*(0x[0-9A-Fa-f]+)/.exec(line);
    if (a) {
      const n = parseInt(a[1] ?? '', 16);
      if (!cur.values.has(n)) cur.values.set(n, ver);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// PKCS#11 v3.0 (enumerations defined by reference)

// CK_FUNCTION_LIST_3_0, in order; the enumeration value is the 1-based position.
const PKCS11_FUNCTIONS = (
  'C_Initialize C_Finalize C_GetInfo C_GetFunctionList C_GetSlotList C_GetSlotInfo C_GetTokenInfo ' +
  'C_GetMechanismList C_GetMechanismInfo C_InitToken C_InitPIN C_SetPIN C_OpenSession C_CloseSession ' +
  'C_CloseAllSessions C_GetSessionInfo C_GetOperationState C_SetOperationState C_Login C_Logout C_CreateObject ' +
  'C_CopyObject C_DestroyObject C_GetObjectSize C_GetAttributeValue C_SetAttributeValue C_FindObjectsInit ' +
  'C_FindObjects C_FindObjectsFinal C_EncryptInit C_Encrypt C_EncryptUpdate C_EncryptFinal C_DecryptInit ' +
  'C_Decrypt C_DecryptUpdate C_DecryptFinal C_DigestInit C_Digest C_DigestUpdate C_DigestKey C_DigestFinal ' +
  'C_SignInit C_Sign C_SignUpdate C_SignFinal C_SignRecoverInit C_SignRecover C_VerifyInit C_Verify ' +
  'C_VerifyUpdate C_VerifyFinal C_VerifyRecoverInit C_VerifyRecover C_DigestEncryptUpdate C_DecryptDigestUpdate ' +
  'C_SignEncryptUpdate C_DecryptVerifyUpdate C_GenerateKey C_GenerateKeyPair C_WrapKey C_UnwrapKey C_DeriveKey ' +
  'C_SeedRandom C_GenerateRandom C_GetFunctionStatus C_CancelFunction C_WaitForSlotEvent C_GetInterfaceList ' +
  'C_GetInterface C_LoginUser C_SessionCancel C_MessageEncryptInit C_EncryptMessage C_EncryptMessageBegin ' +
  'C_EncryptMessageNext C_MessageEncryptFinal C_MessageDecryptInit C_DecryptMessage C_DecryptMessageBegin ' +
  'C_DecryptMessageNext C_MessageDecryptFinal C_MessageSignInit C_SignMessage C_SignMessageBegin ' +
  'C_SignMessageNext C_MessageSignFinal C_MessageVerifyInit C_VerifyMessage C_VerifyMessageBegin ' +
  'C_VerifyMessageNext C_MessageVerifyFinal'
).split(' ');

// CKR_* return values (name without the CKR_ prefix : value).
const PKCS11_RETURN_CODES = (
  'OK:0 CANCEL:1 HOST_MEMORY:2 SLOT_ID_INVALID:3 GENERAL_ERROR:5 FUNCTION_FAILED:6 ARGUMENTS_BAD:7 NO_EVENT:8 ' +
  'NEED_TO_CREATE_THREADS:9 CANT_LOCK:A ATTRIBUTE_READ_ONLY:10 ATTRIBUTE_SENSITIVE:11 ATTRIBUTE_TYPE_INVALID:12 ' +
  'ATTRIBUTE_VALUE_INVALID:13 ACTION_PROHIBITED:1B DATA_INVALID:20 DATA_LEN_RANGE:21 DEVICE_ERROR:30 ' +
  'DEVICE_MEMORY:31 DEVICE_REMOVED:32 ENCRYPTED_DATA_INVALID:40 ENCRYPTED_DATA_LEN_RANGE:41 AEAD_DECRYPT_FAILED:42 ' +
  'FUNCTION_CANCELED:50 FUNCTION_NOT_PARALLEL:51 FUNCTION_NOT_SUPPORTED:54 KEY_HANDLE_INVALID:60 ' +
  'KEY_SIZE_RANGE:62 KEY_TYPE_INCONSISTENT:63 KEY_NOT_NEEDED:64 KEY_CHANGED:65 KEY_NEEDED:66 KEY_INDIGESTIBLE:67 ' +
  'KEY_FUNCTION_NOT_PERMITTED:68 KEY_NOT_WRAPPABLE:69 KEY_UNEXTRACTABLE:6A MECHANISM_INVALID:70 ' +
  'MECHANISM_PARAM_INVALID:71 OBJECT_HANDLE_INVALID:82 OPERATION_ACTIVE:90 OPERATION_NOT_INITIALIZED:91 ' +
  'PIN_INCORRECT:A0 PIN_INVALID:A1 PIN_LEN_RANGE:A2 PIN_EXPIRED:A3 PIN_LOCKED:A4 SESSION_CLOSED:B0 ' +
  'SESSION_COUNT:B1 SESSION_HANDLE_INVALID:B3 SESSION_PARALLEL_NOT_SUPPORTED:B4 SESSION_READ_ONLY:B5 ' +
  'SESSION_EXISTS:B6 SESSION_READ_ONLY_EXISTS:B7 SESSION_READ_WRITE_SO_EXISTS:B8 SIGNATURE_INVALID:C0 ' +
  'SIGNATURE_LEN_RANGE:C1 TEMPLATE_INCOMPLETE:D0 TEMPLATE_INCONSISTENT:D1 TOKEN_NOT_PRESENT:E0 ' +
  'TOKEN_NOT_RECOGNIZED:E1 TOKEN_WRITE_PROTECTED:E2 UNWRAPPING_KEY_HANDLE_INVALID:F0 UNWRAPPING_KEY_SIZE_RANGE:F1 ' +
  'UNWRAPPING_KEY_TYPE_INCONSISTENT:F2 USER_ALREADY_LOGGED_IN:100 USER_NOT_LOGGED_IN:101 ' +
  'USER_PIN_NOT_INITIALIZED:102 USER_TYPE_INVALID:103 USER_ANOTHER_ALREADY_LOGGED_IN:104 USER_TOO_MANY_TYPES:105 ' +
  'WRAPPED_KEY_INVALID:110 WRAPPED_KEY_LEN_RANGE:112 WRAPPING_KEY_HANDLE_INVALID:113 WRAPPING_KEY_SIZE_RANGE:114 ' +
  'WRAPPING_KEY_TYPE_INCONSISTENT:115 RANDOM_SEED_NOT_SUPPORTED:120 RANDOM_NO_RNG:121 DOMAIN_PARAMS_INVALID:130 ' +
  'CURVE_NOT_SUPPORTED:140 BUFFER_TOO_SMALL:150 SAVED_STATE_INVALID:160 INFORMATION_SENSITIVE:170 ' +
  'STATE_UNSAVEABLE:180 CRYPTOKI_NOT_INITIALIZED:190 CRYPTOKI_ALREADY_INITIALIZED:191 MUTEX_BAD:1A0 ' +
  'MUTEX_NOT_LOCKED:1A1 NEW_PIN_MODE:1B0 NEXT_OTP:1B1 EXCEEDED_MAX_ITERATIONS:1B5 FIPS_SELF_TEST_FAILED:1B6 ' +
  'LIBRARY_LOAD_FAILED:1B7 PIN_TOO_WEAK:1B8 PUBLIC_KEY_INVALID:1B9 FUNCTION_REJECTED:200 TOKEN_RESOURCE_EXCEEDED:201 ' +
  'OPERATION_CANCEL_FAILED:202'
)
  .split(' ')
  .map((p) => {
    const [n, v] = p.split(':');
    return { name: n ?? '', value: parseInt(v ?? '', 16) };
  });

// ---------------------------------------------------------------------------------------------------------------
// Tag -> enumeration links that neither the 1.4 cross-reference nor a same-name match gives.

const TAG_ENUM_EXTRA: Record<string, string> = {
  'Attribute Reference': 'Tag', // 2.1 §5.5: "Enumeration (Tag)"
  'Mask Generator Hashing Algorithm': 'Hashing Algorithm',
  'Unique Identifier': 'Unique Identifier', // 2.x: Text String, Integer or Enumeration (ID placeholders)
  'Linked Object Identifier': 'Unique Identifier', // 2.x: same choice as Unique Identifier
  'Extension Type': 'Item Type', // 2.x Extension Information: the item type of the extension tag
};

// Typos in the spec texts, corrected before merging: enumeration -> { as printed: intended }.
const SPEC_ERRATA: Record<string, Record<string, string>> = {
  'Mask Generator': { MFG1: 'MGF1' }, // 2.1 §11.30 prints "MFG1"; 1.4, PyKMIP and the 2.1 test vectors use MGF1
};

// Item types no "Encoding" column or description states, taken from how the 2.x text uses the tag.
const TAG_TYPE_EXTRA: Record<string, string> = {
  Ephemeral: 'Boolean', // 2.1 request header: "Indicates that the Data output ... should not be returned" (a flag)
  'Server Hashed Password': 'Byte String', // a hash value, like Hashed Password
  'Certificate Request Unique Identifier': 'Text String', // a Unique Identifier
  'Common Protection Storage Masks': 'Structure', // like Protection Storage Masks
  'Private Protection Storage Masks': 'Structure',
  'Public Protection Storage Masks': 'Structure',
};

// ---------------------------------------------------------------------------------------------------------------
// Merge

interface OutValue { name: string; value: number; since: Version; until?: Version }
interface OutEnum { name: string; values: OutValue[]; mask: boolean }

function main(): void {
  const t14 = readFileSync(join(SPEC_DIR, 'kmip-spec-v1.4-os.txt'), 'utf8');
  const t21 = readFileSync(join(SPEC_DIR, 'kmip-spec-v2.1-os.txt'), 'utf8');
  const s14 = extractSpec(t14, '1.4');
  const s21 = extractSpec(t21, '2.1');
  // fail loudly if the texts no longer parse as expected
  const expect = (what: string, n: number, min: number): void => {
    if (n < min) throw new Error(`parsed only ${n} ${what} (expected at least ${min}): has the spec text changed?`);
  };
  expect('1.4 tags', s14.tags.length, 290);
  expect('2.1 tags', s21.tags.length, 350);
  expect('1.4 enumerations and masks', s14.enums.size, 51);
  expect('2.1 enumerations and masks', s21.enums.size, 64);
  const py = parsePyKmip(PYKMIP_ENUMS);
  const pyTags = py.get('tags');
  if (!pyTags) throw new Error('PyKMIP enums module has no Tags class');
  const notes: string[] = [];

  // ----- tags
  const pyTagDated = [...pyTags.values.entries()].filter(
    (e): e is [number, Version] => e[1] !== undefined && e[0] > 0x420000,
  );
  pyTagDated.sort((a, b) => a[0] - b[0]);
  const maxPyTag = pyTagDated.length ? (pyTagDated[pyTagDated.length - 1]?.[0] ?? 0) : 0;
  const tagSinceFromRange = (v: number): Version => {
    let best: Version = '1.0';
    for (const [tv, ver] of pyTagDated) if (tv <= v) best = ver;
    return best;
  };
  const m14 = new Map(s14.tags.map((t) => [t.value, t]));
  const m21 = new Map(s21.tags.map((t) => [t.value, t]));
  if (m14.size !== s14.tags.length) notes.push('duplicate tag values in the 1.4 table');
  if (m21.size !== s21.tags.length) notes.push('duplicate tag values in the 2.1 table');
  const tagValues = [...new Set([...m14.keys(), ...m21.keys()])].sort((a, b) => a - b);
  const tags: OutValue[] = [];
  for (const v of tagValues) {
    const a = m14.get(v);
    const b = m21.get(v);
    const pv = pyTags.values.get(v);
    if (a) {
      let since: Version = pv ?? tagSinceFromRange(v);
      if (vIndex(since) > vIndex('1.4')) {
        notes.push(`tag ${a.name} 0x${v.toString(16)}: PyKMIP says ${since} but it is in 1.4; using range heuristic`);
        since = vMin(tagSinceFromRange(v), '1.4');
      }
      if (!pv) notes.push(`tag ${a.name} 0x${v.toString(16)}: not dated by PyKMIP, range heuristic -> ${since}`);
      if (b && key(a.name) === key(b.name)) tags.push({ name: b.name, value: v, since });
      else {
        tags.push({ name: a.name, value: v, since, until: '1.4' });
        if (b) tags.push({ name: b.name, value: v, since: '2.0' });
      }
    } else if (b) {
      let since: Version;
      if (pv) since = vMax(pv, '2.0');
      else {
        since = v > maxPyTag ? '2.1' : '2.0';
        notes.push(`tag ${b.name} 0x${v.toString(16)}: not in PyKMIP, range heuristic -> ${since}`);
      }
      tags.push({ name: b.name, value: v, since });
    }
  }
  const tagByKey = new Map<string, OutValue>();
  for (const t of tags) {
    const k = key(t.name);
    const prev = tagByKey.get(k);
    if (prev && prev.value !== t.value) notes.push(`tag name ${t.name} used for two values`);
    if (!prev || !t.until) tagByKey.set(k, t);
  }

  // ----- item types and tag -> enum references
  // 2.1 and 1.4 normative tables ("Encoding" column), and the (non-normative) 1.4 Tag Cross-Reference appendix,
  // which is used for 1.x tags the normative tables do not type.
  const knownTagKeys = new Map([...tagByKey].map(([k, t]) => [k, t.name]));
  const info21: TypeInfo = { types: new Map(), enumRefs: new Map() };
  typesFromEncodingTables(s21, info21, knownTagKeys);
  const info14: TypeInfo = { types: new Map(), enumRefs: new Map() };
  typesFromEncodingTables(s14, info14, knownTagKeys);
  const info14x: TypeInfo = { types: new Map(), enumRefs: new Map() };
  typesFromCrossReference(s14, info14x);
  const infoDesc: TypeInfo = { types: new Map(), enumRefs: new Map() };
  typesFromDescriptions(s21, infoDesc, knownTagKeys);
  typesFromDescriptions(s14, infoDesc, knownTagKeys);
  const pickType = (m: Map<string, number> | undefined): string | undefined => {
    if (!m || m.size === 0) return undefined;
    return [...m.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
  };

  // ----- enumerations
  const enumKeys = new Set([...s14.enums.keys(), ...s21.enums.keys()]);
  const enums: OutEnum[] = [];
  const tagSinceByKey = (name: string): Version | undefined => tagByKey.get(key(name))?.since;
  for (const ek of enumKeys) {
    const e14 = s14.enums.get(ek);
    const e21 = s21.enums.get(ek);
    const name = e21?.name ?? e14?.name ?? ek;
    const mask = (e21?.mask ?? false) || (e14?.mask ?? false);
    const pe = py.get(ek);
    const pyDated = pe ? [...pe.values.entries()].filter((x): x is [number, Version] => x[1] !== undefined) : [];
    pyDated.sort((x, y) => x[0] - y[0]);
    const maxPy = pe ? Math.max(0, ...pe.values.keys()) : 0;
    const enumTagSince = tagSinceByKey(name);
    const since14 = (v: number): Version => {
      const pv = pe?.values.get(v);
      if (pv && vIndex(pv) <= vIndex('1.4')) return pv;
      let best: Version | undefined;
      for (const [x, ver] of pyDated) if (x <= v && vIndex(ver) <= vIndex('1.4')) best = ver;
      const r = best ?? (enumTagSince && vIndex(enumTagSince) <= vIndex('1.4') ? enumTagSince : '1.0');
      notes.push(`enum ${name} 0x${v.toString(16)}: not dated by PyKMIP -> ${r}`);
      return r;
    };
    const since21 = (v: number): Version => {
      const pv = pe?.values.get(v);
      let r: Version;
      if (pv) return vMax(pv, '2.0');
      if (pe && pe.values.has(v)) r = '2.0'; // listed by PyKMIP without a version comment
      else if (pe && pe.values.size > 0) r = '2.1'; // PyKMIP's list (complete for 2.0) lacks the value
      else r = vMax(enumTagSince ?? '2.0', '2.0'); // PyKMIP lacks the enumeration: date it by its tag
      notes.push(`enum ${name} 0x${v.toString(16)}: 2.x only, not dated by PyKMIP -> ${r}`);
      return r;
    };
    const v14 = new Map((e14?.values ?? []).map((x) => [x.value, x]));
    const errata = SPEC_ERRATA[name] ?? {};
    const v21 = new Map((e21?.values ?? []).map((x) => [x.value, { ...x, name: errata[x.name] ?? x.name }]));
    const all = [...new Set([...v14.keys(), ...v21.keys()])].sort((x, y) => x - y);
    const values: OutValue[] = [];
    for (const v of all) {
      const a = v14.get(v);
      const b = v21.get(v);
      if (a) {
        const since = since14(v);
        if (b && key(a.name) === key(b.name)) values.push({ name: b.name, value: v, since });
        else {
          values.push({ name: a.name, value: v, since, until: '1.4' });
          if (b) values.push({ name: b.name, value: v, since: '2.0' });
        }
      } else if (b) {
        values.push({ name: b.name, value: v, since: since21(v) });
      }
    }
    if (!e21) notes.push(`enumeration ${name} is only in 1.4: all its values get until 1.4`);
    enums.push({ name, values, mask });
  }

  // PKCS#11 enumerations (defined by reference in 2.x)
  const addRef = (name: string, vals: { name: string; value: number }[]): void => {
    const since = vMax(tagSinceByKey(name) ?? '2.0', '2.0');
    const existing = enums.find((e) => key(e.name) === key(name));
    const values = vals.map((x) => ({ name: x.name, value: x.value, since }));
    if (existing) existing.values.push(...values);
    else enums.push({ name, values, mask: false });
  };
  addRef('PKCS#11 Function', PKCS11_FUNCTIONS.map((n, i) => ({ name: n, value: i + 1 })));
  addRef('PKCS#11 Return Code', PKCS11_RETURN_CODES);
  enums.sort((a, b) => a.name.localeCompare(b.name));

  // ----- TAG_TYPES and TAG_ENUM
  const tagTypes: Record<string, string> = {};
  const tagTypes1x: Record<string, string> = {};
  const tagEnum: Record<string, string> = {};
  const enumByKey = new Map(enums.map((e) => [key(e.name), e]));
  const findTag = (n: string): OutValue | undefined => tagByKey.get(key(n));
  const tagTypeAlternatives: Record<string, string[]> = {};
  for (const t of tags) {
    const k = key(t.name);
    const ty21 = pickType(info21.types.get(k));
    const ty14 = pickType(info14.types.get(k)) ?? pickType(info14x.types.get(k));
    const tyDesc = pickType(infoDesc.types.get(k));
    // last resorts: a hand-typed tag, or a tag named like an enumeration (Key Wrap Type, Endpoint Role, ...)
    const tyLast = TAG_TYPE_EXTRA[t.name] ?? (enumByKey.has(k) ? (enumByKey.get(k)?.mask ? 'Integer' : 'Enumeration') : undefined);
    const ty = (t.until ? (ty14 ?? ty21) : (ty21 ?? ty14)) ?? tyDesc ?? tyLast;
    if (ty) tagTypes[t.name] = ty;
    else notes.push(`tag ${t.name}: no item type stated`);
    if (ty && ty === tyDesc && !ty14 && !ty21) notes.push(`tag ${t.name}: type ${ty} inferred from a description`);
    if (!t.until && ty14 && ty21 && ty14 !== ty21) tagTypes1x[t.name] = ty14;
    // every type the normative tables state (the appendix only when they state none), most stated first
    const weights = new Map<string, number>();
    const normative = t.until ? [info14] : [info21, info14];
    const sources = normative.some((x) => x.types.has(k)) ? normative : [info14x];
    for (const src of sources) for (const [x, w] of src.types.get(k) ?? []) weights.set(x, (weights.get(x) ?? 0) + w);
    if (ty && weights.size > 0 && !weights.has(ty)) weights.set(ty, Infinity);
    const all = [...weights.entries()].sort((a, b) => b[1] - a[1]).map(([x]) => x);
    if (ty && all[0] !== ty) all.splice(all.indexOf(ty), 1), all.unshift(ty);
    if (all.length > 1) tagTypeAlternatives[t.name] = all;
  }

  for (const t of tags) {
    const k = key(t.name);
    const refs = new Set<string>();
    for (const src of [info14, info14x, info21]) for (const x of src.enumRefs.get(k) ?? []) refs.add(x);
    const extra = TAG_ENUM_EXTRA[t.name];
    if (extra) refs.add(extra);
    const ty = tagTypes[t.name];
    const ty1 = tagTypes1x[t.name];
    const same = enumByKey.get(k);
    const alts = tagTypeAlternatives[t.name] ?? [];
    const isEnum = ty === 'Enumeration' || ty1 === 'Enumeration' || alts.includes('Enumeration');
    if (refs.size === 0 && same && (isEnum || (same.mask && ty === 'Integer'))) refs.add(same.name);
    if (refs.size === 0 && isEnum)
      notes.push(`tag ${t.name} is an Enumeration but no enumeration was linked to it`);
    const resolved = [...refs].map((r) => (r === 'Tag' ? 'Tag' : (enumByKey.get(key(r))?.name ?? r)));
    const first = resolved[0];
    if (resolved.length > 1) notes.push(`tag ${t.name} refers to several enumerations: ${resolved.join(', ')}`);
    for (const r of resolved) if (r !== 'Tag' && !enumByKey.has(key(r))) notes.push(`tag ${t.name}: unknown enum ${r}`);
    if (first) tagEnum[t.name] = first;
  }

  // ----- sanity
  for (const e of enums) {
    const seen = new Map<string, number>();
    for (const v of e.values) {
      const k = key(v.name);
      const p = seen.get(k);
      if (p !== undefined && p !== v.value) notes.push(`enum ${e.name}: name ${v.name} used for two values`);
      seen.set(k, v.value);
    }
  }

  if (DEBUG) {
    for (const n of notes) console.error('note:', n);
  }

  // ----- emit
  const q = (s: string): string => JSON.stringify(s);
  const hex = (n: number, w: number): string => '0x' + n.toString(16).toUpperCase().padStart(w, '0');
  const entry = (v: OutValue, w: number): string =>
    `{ name: ${q(v.name)}, ${w === 6 ? 'tag' : 'value'}: ${hex(v.value, w)}, since: '${v.since}'${v.until ? `, until: '${v.until}'` : ''} }`;
  const out: string[] = [];
  out.push('// GENERATED FILE - do not edit by hand.');
  out.push('// Generated by kmip-server/ttlv/spec/generate.ts from the OASIS KMIP 1.4 and 2.1 specification texts');
  out.push('// ($KMIP_SPEC_DIR, default /work/shared/kmip-spec), with `since` versions dated from PyKMIP\'s enums module.');
  out.push('// Regenerate with: npm run gen:spec');
  out.push('');
  out.push("export type Version = '1.0' | '1.1' | '1.2' | '1.3' | '1.4' | '2.0' | '2.1';");
  out.push('export interface TagDef { name: string; tag: number; since: Version; until?: Version }');
  out.push('export interface EnumValueDef { name: string; value: number; since: Version; until?: Version }');
  out.push('export interface EnumDef { name: string; values: ReadonlyArray<EnumValueDef>; mask?: boolean }');
  out.push('');
  out.push('export const TAGS: readonly TagDef[] = [');
  for (const t of tags) out.push('  ' + entry(t, 6) + ',');
  out.push('];');
  out.push('');
  out.push('export const ENUMS: readonly EnumDef[] = [');
  for (const e of enums) {
    out.push(`  { name: ${q(e.name)},${e.mask ? ' mask: true,' : ''} values: [`);
    for (const v of e.values) out.push('    ' + entry(v, 8) + ',');
    out.push('  ] },');
  }
  out.push('];');
  out.push('');
  out.push('/** Tag spec name -> name of the enumeration or bit mask its value uses ("Tag": the tag table itself). */');
  out.push('export const TAG_ENUM: Readonly<Record<string, string>> = {');
  for (const [k, v] of Object.entries(tagEnum).sort((a, b) => a[0].localeCompare(b[0]))) out.push(`  ${q(k)}: ${q(v)},`);
  out.push('};');
  out.push('');
  out.push('/** Tag spec name -> item type, as stated by the spec (2.x where it states one, else 1.x). */');
  out.push('export const TAG_TYPES: Readonly<Record<string, string>> = {');
  for (const [k, v] of Object.entries(tagTypes).sort((a, b) => a[0].localeCompare(b[0]))) out.push(`  ${q(k)}: ${q(v)},`);
  out.push('};');
  out.push('');
  out.push('/** Tags whose item type in KMIP 1.x differs from TAG_TYPES (the 2.x type): tag spec name -> 1.x type. */');
  out.push('export const TAG_TYPES_1X: Readonly<Record<string, string>> = {');
  for (const [k, v] of Object.entries(tagTypes1x).sort((a, b) => a[0].localeCompare(b[0]))) out.push(`  ${q(k)}: ${q(v)},`);
  out.push('};');
  out.push('');
  out.push('/** Tags the spec allows several item types for (e.g. Key Value: Byte String when wrapped, else Structure). */');
  out.push('export const TAG_TYPE_ALTERNATIVES: Readonly<Record<string, readonly string[]>> = {');
  for (const [k, v] of Object.entries(tagTypeAlternatives).sort((a, b) => a[0].localeCompare(b[0])))
    out.push(`  ${q(k)}: [${v.map(q).join(', ')}],`);
  out.push('};');
  out.push('');
  writeFileSync(OUT, out.join('\n'));
  const nValues = enums.reduce((n, e) => n + e.values.length, 0);
  console.log(
    `wrote ${OUT}: ${tags.length} tags, ${enums.length} enumerations (${enums.filter((e) => e.mask).length} masks, ` +
      `${nValues} values), ${Object.keys(tagEnum).length} tag->enum links, ${Object.keys(tagTypes).length} tag types`,
  );
}

main();
