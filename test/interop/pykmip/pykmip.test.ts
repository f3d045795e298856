/**
 * PyKMIP 0.10's ProxyKmipClient (Debian's python3-pykmip under /usr/bin/python3) against the dev
 * server, over real TLS with the generated pykmip.conf, at KMIP 1.2 (PyKMIP's default), 1.0 and 1.4.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { selfSignedCertificate } from '../../../operator/pki/index.ts';
import { startDevServer, suiteTeardown, type DevServer } from '../../helpers/dev-server.ts';
import { SYSTEM_PYTHON } from '../../setup/pykmip.ts';
import { PyKmip, stopDrivers, type PykmipVersion } from './driver.ts';

const VERSIONS: Array<{ label: string; version: PykmipVersion }> = [
  { label: '1.2', version: null },
  { label: '1.0', version: 'KMIP_1_0' },
  { label: '1.4', version: 'KMIP_1_4' },
];

interface GotObject {
  class: string;
  object_type: string;
  value: string;
  cryptographic_algorithm?: string;
  cryptographic_length?: number;
  key_format_type?: string;
  data_type?: string;
  opaque_type?: string;
  certificate_type?: string;
  split_key_parts?: number;
  key_part_identifier?: number;
  split_key_threshold?: number;
  split_key_method?: string;
}

interface GotAttributes {
  uid: string;
  attributes: Array<{ name: string; index: number | null; value: unknown }>;
}

const suite = suiteTeardown();
let server: DevServer;
let material: {
  rsaSpki: Buffer;
  rsaPkcs8: Buffer;
  certDer: Buffer;
};

test.before(async () => {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import kmip; print(kmip.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`PyKMIP is not importable by ${SYSTEM_PYTHON} (npm test installs python3-pykmip): ${probe.stderr}`);
  server = await startDevServer(suite);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = await selfSignedCertificate({ commonName: 'pykmip-interop' });
  material = {
    rsaSpki: rsa.publicKey.export({ type: 'spki', format: 'der' }),
    rsaPkcs8: rsa.privateKey.export({ type: 'pkcs8', format: 'der' }),
    certDer: Buffer.from(new X509Certificate(cert.certificatePem).raw),
  };
});
test.after.always(async () => {
  await stopDrivers();
  await suite.run();
});

const open = (t: ExecutionContext, version: PykmipVersion) => PyKmip.open(t, server.credentials.pykmipConf, version);

/**
 * Attributes to ask for by name. PyKMIP 0.10 cannot decode several standard attributes (Original
 * Creation Date (1.2+), Link, Revocation Reason, ...: its attribute value factory raises), so a
 * Get Attributes naming none -- "all of them" -- fails inside PyKMIP for 1.2+ objects. Suites name them.
 */
const DESCRIBE = ['Unique Identifier', 'Object Type', 'Name', 'State', 'Cryptographic Algorithm', 'Cryptographic Length', 'Cryptographic Usage Mask'];

/** Standard attributes PyKMIP 0.10's attribute value factory can decode (kmip/core/factories/attribute_values.py). */
const PYKMIP_DECODES = new Set([
  'Unique Identifier', 'Name', 'Object Type', 'Cryptographic Algorithm', 'Cryptographic Length', 'Cryptographic Parameters',
  'Certificate Type', 'Certificate Length', 'Digest', 'Operation Policy Name', 'Cryptographic Usage Mask', 'Lease Time', 'State',
  'Initial Date', 'Activation Date', 'Process Start Date', 'Protect Stop Date', 'Deactivation Date', 'Destroy Date',
  'Compromise Occurrence Date', 'Compromise Date', 'Archive Date', 'Object Group', 'Fresh', 'Application Specific Information',
  'Contact Information', 'Last Change Date', 'Sensitive',
]);

const attr = (got: GotAttributes, name: string): unknown => got.attributes.find((a) => a.name === name)?.value;
const names = (got: GotAttributes): string[] =>
  got.attributes.filter((a) => a.name === 'Name').map((a) => (a.value as { name_value: string }).name_value);

/** The public key (SPKI DER) of a private key in the format PyKMIP reports. */
function publicOfPrivate(der: Buffer, format: string | undefined): Buffer {
  const type = format === 'PKCS_1' ? 'pkcs1' : 'pkcs8';
  return createPublicKey(createPrivateKey({ key: der, format: 'der', type })).export({ type: 'spki', format: 'der' });
}

function spkiOf(der: Buffer, format: string | undefined): Buffer {
  if (format === 'PKCS_1') return createPublicKey({ key: der, format: 'der', type: 'pkcs1' }).export({ type: 'spki', format: 'der' });
  return createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
}

interface RegisterCase {
  type: string;
  objectType: string;
  pieClass: string;
  args: () => Record<string, unknown>;
  /** Fields Get must return as registered. */
  same: Array<keyof GotObject>;
}

const REGISTER_CASES: RegisterCase[] = [
  {
    type: 'SymmetricKey',
    objectType: 'SYMMETRIC_KEY',
    pieClass: 'SymmetricKey',
    args: () => ({ algorithm: 'AES', length: 256, value: randomBytes(32).toString('hex'), masks: ['ENCRYPT', 'DECRYPT'] }),
    same: ['cryptographic_algorithm', 'cryptographic_length'],
  },
  {
    type: 'PublicKey',
    objectType: 'PUBLIC_KEY',
    pieClass: 'PublicKey',
    args: () => ({ algorithm: 'RSA', length: 2048, value: material.rsaSpki.toString('hex'), format: 'X_509', masks: ['VERIFY'] }),
    same: ['cryptographic_algorithm', 'cryptographic_length', 'key_format_type'],
  },
  {
    type: 'PrivateKey',
    objectType: 'PRIVATE_KEY',
    pieClass: 'PrivateKey',
    args: () => ({ algorithm: 'RSA', length: 2048, value: material.rsaPkcs8.toString('hex'), format: 'PKCS_8', masks: ['SIGN'] }),
    same: ['cryptographic_algorithm', 'cryptographic_length', 'key_format_type'],
  },
  {
    type: 'SecretData',
    objectType: 'SECRET_DATA',
    pieClass: 'SecretData',
    args: () => ({ value: Buffer.from(`correct horse battery staple ${randomUUID()}`).toString('hex'), data_type: 'PASSWORD', masks: ['DERIVE_KEY'] }),
    same: ['data_type'],
  },
  {
    type: 'X509Certificate',
    objectType: 'CERTIFICATE',
    pieClass: 'X509Certificate',
    args: () => ({ value: material.certDer.toString('hex'), masks: ['VERIFY'] }),
    same: ['certificate_type'],
  },
  {
    type: 'OpaqueObject',
    objectType: 'OPAQUE_DATA',
    pieClass: 'OpaqueObject',
    args: () => ({ value: randomBytes(100).toString('hex'), opaque_type: 'NONE' }),
    same: ['opaque_type'],
  },
  {
    type: 'SplitKey',
    objectType: 'SPLIT_KEY',
    pieClass: 'SplitKey',
    args: () => ({ algorithm: 'AES', length: 128, value: randomBytes(16).toString('hex'), masks: ['ENCRYPT', 'DECRYPT'], parts: 3, part: 2, threshold: 2, method: 'XOR' }),
    same: ['cryptographic_algorithm', 'cryptographic_length', 'split_key_parts', 'key_part_identifier', 'split_key_threshold', 'split_key_method'],
  },
];

for (const { label, version } of VERSIONS) {
  const title = (s: string) => `KMIP ${label}: ${s}`;

  test(title('Create AES-256: Get returns a 256-bit AES key, Get Attributes describes it'), async (t) => {
    const py = await open(t, version);
    const name = `pykmip-create-${randomUUID()}`;
    const uid = await py.call<string>('create', { algorithm: 'AES', length: 256, name });
    t.regex(uid, /\S/);
    const got = await py.call<GotObject>('get', { uid });
    t.is(got.class, 'SymmetricKey');
    t.is(got.cryptographic_algorithm, 'AES');
    t.is(got.cryptographic_length, 256);
    t.is(Buffer.from(got.value, 'hex').length, 32);
    const attrs = await py.call<GotAttributes>('get_attributes', { uid, names: DESCRIBE });
    t.is(attrs.uid, uid);
    t.is(attr(attrs, 'Object Type'), 'SYMMETRIC_KEY');
    t.is(attr(attrs, 'Cryptographic Algorithm'), 'AES');
    t.is(attr(attrs, 'Cryptographic Length'), 256);
    t.is(attr(attrs, 'State'), 'PRE_ACTIVE');
    t.is(attr(attrs, 'Unique Identifier'), uid);
    t.deepEqual(names(attrs), [name]);
    // ENCRYPT | DECRYPT
    t.is(attr(attrs, 'Cryptographic Usage Mask'), 4 | 8);
    // Two Creates give two different keys.
    const other = await py.call<string>('create', { algorithm: 'AES', length: 256 });
    t.not(other, uid);
    t.not((await py.call<GotObject>('get', { uid: other })).value, got.value);
  });

  test(title('Create Key Pair RSA-2048: two linked objects whose keys match'), async (t) => {
    const py = await open(t, version);
    const base = `pykmip-pair-${randomUUID()}`;
    const [pub, priv] = await py.call<[string, string]>('create_key_pair', {
      algorithm: 'RSA', length: 2048, public_name: `${base}-pub`, private_name: `${base}-priv`,
    });
    t.not(pub, priv);
    const gotPub = await py.call<GotObject>('get', { uid: pub });
    const gotPriv = await py.call<GotObject>('get', { uid: priv });
    t.is(gotPub.class, 'PublicKey');
    t.is(gotPriv.class, 'PrivateKey');
    t.is(gotPub.cryptographic_algorithm, 'RSA');
    t.is(gotPriv.cryptographic_algorithm, 'RSA');
    t.is(gotPub.cryptographic_length, 2048);
    t.is(gotPriv.cryptographic_length, 2048);
    const spki = spkiOf(Buffer.from(gotPub.value, 'hex'), gotPub.key_format_type);
    t.deepEqual(publicOfPrivate(Buffer.from(gotPriv.value, 'hex'), gotPriv.key_format_type), spki, 'the private key belongs to the public key');
    t.is(createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength, 2048);
    const pubAttrs = await py.call<GotAttributes>('get_attributes', { uid: pub, names: DESCRIBE });
    const privAttrs = await py.call<GotAttributes>('get_attributes', { uid: priv, names: DESCRIBE });
    t.deepEqual(names(pubAttrs), [`${base}-pub`]);
    t.deepEqual(names(privAttrs), [`${base}-priv`]);
    t.is(attr(pubAttrs, 'Object Type'), 'PUBLIC_KEY');
    t.is(attr(privAttrs, 'Object Type'), 'PRIVATE_KEY');
    t.true((await py.call<string[]>('get_attribute_list', { uid: pub })).includes('Link'), 'public key has a Link to its private key');
    t.true((await py.call<string[]>('get_attribute_list', { uid: priv })).includes('Link'), 'private key has a Link to its public key');
  });

  for (const c of REGISTER_CASES) {
    test(title(`Register ${c.type}: Get returns the registered bytes`), async (t) => {
      const py = await open(t, version);
      const name = `pykmip-reg-${c.type}-${randomUUID()}`;
      const args: Record<string, unknown> = { type: c.type, name, ...c.args() };
      const uid = await py.call<string>('register', args);
      const got = await py.call<GotObject>('get', { uid });
      t.is(got.class, c.pieClass);
      t.is(got.value, args.value as string, 'Get returns exactly the registered bytes');
      const expected: Partial<GotObject> = {
        cryptographic_algorithm: args.algorithm as string,
        cryptographic_length: args.length as number,
        key_format_type: args.format as string,
        data_type: args.data_type as string,
        opaque_type: args.opaque_type as string,
        certificate_type: 'X_509',
        split_key_parts: args.parts as number,
        key_part_identifier: args.part as number,
        split_key_threshold: args.threshold as number,
        split_key_method: args.method as string,
      };
      for (const f of c.same) t.is(got[f], expected[f], `Get returns ${f} as registered`);
      const attrs = await py.call<GotAttributes>('get_attributes', { uid, names: ['Object Type', 'Name', 'State'] });
      t.is(attr(attrs, 'Object Type'), c.objectType);
      t.deepEqual(names(attrs), [name]);
      // KMIP 1.x gives State to cryptographic objects; an Opaque Object is not one.
      if (c.objectType !== 'OPAQUE_DATA') t.is(attr(attrs, 'State'), 'PRE_ACTIVE');
    });
  }

  test(title('Get Attribute List names the attributes the object has'), async (t) => {
    const py = await open(t, version);
    const uid = await py.call<string>('create', { algorithm: 'AES', length: 128, name: `pykmip-list-${randomUUID()}` });
    const list = await py.call<string[]>('get_attribute_list', { uid });
    for (const n of ['Unique Identifier', 'Object Type', 'Cryptographic Algorithm', 'Cryptographic Length', 'Cryptographic Usage Mask', 'State', 'Name', 'Initial Date']) {
      t.true(list.includes(n), `${n} is listed (got ${list.join(', ')})`);
    }
    t.is(new Set(list).size, list.length, 'each name once');
    if (version === 'KMIP_1_0') t.false(list.includes('Original Creation Date'), 'no 1.2 attribute in a 1.0 answer');
    else t.true(list.includes('Original Creation Date'));
    // The listed attributes PyKMIP can decode come back by name, each with a value.
    const decodable = list.filter((n) => PYKMIP_DECODES.has(n) || n.startsWith('x-'));
    for (const n of DESCRIBE) t.true(decodable.includes(n));
    const attrs = await py.call<GotAttributes>('get_attributes', { uid, names: decodable });
    t.deepEqual([...new Set(attrs.attributes.map((a) => a.name))].sort(), [...decodable].sort());
  });

  if (version === 'KMIP_1_0') {
    // 1.0 has no attribute PyKMIP 0.10 fails to decode on a fresh key, so "all attributes" works there.
    test(title('Get Attributes naming none returns all of them'), async (t) => {
      const py = await open(t, version);
      const name = `pykmip-all-${randomUUID()}`;
      const uid = await py.call<string>('create', { algorithm: 'AES', length: 192, name });
      const all = await py.call<GotAttributes>('get_attributes', { uid });
      t.is(attr(all, 'Unique Identifier'), uid);
      t.is(attr(all, 'Cryptographic Length'), 192);
      t.deepEqual(names(all), [name]);
      for (const n of ['Object Type', 'Cryptographic Algorithm', 'Cryptographic Usage Mask', 'State', 'Initial Date', 'Last Change Date']) {
        t.true(all.attributes.some((a) => a.name === n), `${n} is among all attributes`);
      }
    });
  }

  test(title('Locate by name, by object type and by state'), async (t) => {
    const py = await open(t, version);
    const tag = randomUUID();
    const key = await py.call<string>('create', { algorithm: 'AES', length: 256, name: `pykmip-loc-key-${tag}` });
    const idle = await py.call<string>('create', { algorithm: 'AES', length: 256, name: `pykmip-loc-idle-${tag}` });
    const secret = await py.call<string>('register', {
      type: 'SecretData', name: `pykmip-loc-secret-${tag}`, value: randomBytes(16).toString('hex'), data_type: 'PASSWORD', masks: ['DERIVE_KEY'],
    });
    await py.call('activate', { uid: key });

    t.deepEqual(await py.call<string[]>('locate', { name: `pykmip-loc-key-${tag}` }), [key]);
    t.deepEqual(await py.call<string[]>('locate', { name: `pykmip-loc-nothing-${tag}` }), [], 'an unknown name finds nothing');

    const secrets = await py.call<string[]>('locate', { object_type: 'SECRET_DATA' });
    t.true(secrets.includes(secret), 'Locate by Secret Data finds the secret');
    t.false(secrets.includes(key) || secrets.includes(idle), 'Locate by Secret Data finds no symmetric key');
    const keys = await py.call<string[]>('locate', { object_type: 'SYMMETRIC_KEY' });
    t.true(keys.includes(key) && keys.includes(idle));
    t.false(keys.includes(secret));

    const active = await py.call<string[]>('locate', { state: 'ACTIVE' });
    t.true(active.includes(key), 'the activated key is Active');
    t.false(active.includes(idle), 'the other key is not');
    const preActive = await py.call<string[]>('locate', { state: 'PRE_ACTIVE' });
    t.true(preActive.includes(idle));
    t.false(preActive.includes(key));

    t.deepEqual(await py.call<string[]>('locate', { name: `pykmip-loc-idle-${tag}`, state: 'ACTIVE' }), [], 'criteria combine (AND)');
    t.deepEqual(await py.call<string[]>('locate', { name: `pykmip-loc-idle-${tag}`, object_type: 'SYMMETRIC_KEY', state: 'PRE_ACTIVE' }), [idle]);
  });

  test(title('Activate, Revoke, Destroy move the object through its states'), async (t) => {
    const py = await open(t, version);
    const uid = await py.call<string>('create', { algorithm: 'AES', length: 256, name: `pykmip-life-${randomUUID()}` });
    const state = async () => attr(await py.call<GotAttributes>('get_attributes', { uid, names: ['State'] }), 'State');
    t.is(await state(), 'PRE_ACTIVE');
    await py.call('activate', { uid });
    t.is(await state(), 'ACTIVE');
    t.truthy(attr(await py.call<GotAttributes>('get_attributes', { uid, names: ['Activation Date'] }), 'Activation Date'), 'Activation Date is set');
    const again = await py.failure('activate', { uid });
    t.is(again.type, 'KmipOperationFailure', 'activating an Active object fails');
    const early = await py.failure('destroy', { uid });
    t.is(early.type, 'KmipOperationFailure', 'an Active object cannot be destroyed');
    t.is(await state(), 'ACTIVE');
    await py.call('revoke', { uid, reason: 'CESSATION_OF_OPERATION', message: 'retired' });
    t.is(await state(), 'DEACTIVATED');
    await py.call('destroy', { uid });
    const gone = await py.failure('get', { uid });
    t.is(gone.reason, 'ITEM_NOT_FOUND', 'the key material is gone');
    t.is(await state(), 'DESTROYED');
    // Compromise of another key.
    const other = await py.call<string>('create', { algorithm: 'AES', length: 256 });
    await py.call('activate', { uid: other });
    await py.call('revoke', { uid: other, reason: 'KEY_COMPROMISE' });
    t.is(attr(await py.call<GotAttributes>('get_attributes', { uid: other, names: ['State'] }), 'State'), 'COMPROMISED');
    // An unknown uid.
    t.is((await py.failure('get', { uid: randomUUID() })).reason, 'ITEM_NOT_FOUND');
  });

  test(title('Query lists operations and object types'), async (t) => {
    const py = await open(t, version);
    const q = await py.call<{ operations: string[]; object_types: string[]; vendor_identification: string | null }>('query', {
      functions: ['QUERY_OPERATIONS', 'QUERY_OBJECTS', 'QUERY_SERVER_INFORMATION'],
    });
    for (const op of ['CREATE', 'CREATE_KEY_PAIR', 'REGISTER', 'LOCATE', 'GET', 'GET_ATTRIBUTES', 'GET_ATTRIBUTE_LIST', 'ACTIVATE', 'REVOKE', 'DESTROY', 'QUERY']) {
      t.true(q.operations.includes(op), `Query Operations lists ${op} (got ${q.operations.join(', ')})`);
    }
    if (version !== 'KMIP_1_0') t.true(q.operations.includes('DISCOVER_VERSIONS'), 'Discover Versions (1.1+) is listed');
    for (const ot of ['SYMMETRIC_KEY', 'PUBLIC_KEY', 'PRIVATE_KEY', 'SECRET_DATA', 'CERTIFICATE', 'OPAQUE_DATA']) {
      t.true(q.object_types.includes(ot), `Query Objects lists ${ot} (got ${q.object_types.join(', ')})`);
    }
    t.is(q.vendor_identification, 'kube-kmip');
  });

  test(title('Discover Versions: all versions, or the intersection with the offer'), async (t) => {
    const py = await open(t, version);
    const all = await py.call<Array<[number, number]>>('discover_versions', {});
    for (const v of [[1, 0], [1, 1], [1, 2], [1, 3], [1, 4]]) t.true(all.some((a) => a[0] === v[0] && a[1] === v[1]), `lists ${v.join('.')}`);
    const sorted = [...all].sort((a, b) => b[0] - a[0] || b[1] - a[1]);
    t.deepEqual(all, sorted, 'newest first');
    t.deepEqual(await py.call('discover_versions', { versions: [[1, 2], [1, 0]] }), [[1, 2], [1, 0]]);
    t.deepEqual(await py.call('discover_versions', { versions: [[9, 9], [1, 4]] }), [[1, 4]]);
    t.deepEqual(await py.call('discover_versions', { versions: [[9, 9]] }), [], 'no common version: empty list');
  });
}
