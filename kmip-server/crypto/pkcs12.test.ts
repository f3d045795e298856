import test from 'ava';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tag } from '../ttlv/tag.ts';
import {
  CertificateType, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, KeyFormatType as F, LinkType, ObjectType, ResultReason, SecretDataType, WrappingMethod,
} from '../ttlv/enums.ts';
import { ItemType, bigInt, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { V1_4, V2_1, harness, uidItem, type Harness } from '../operations/harness.fixture.ts';
import { keyBlockOf, ok } from '../operations/key-ops.fixture.ts';
import { activeSince, mask, register } from '../operations/crypto-ops.fixture.ts';
import type { ProtocolVersion } from '../client/client.ts';
import { privateKeyFrom } from './keys.ts';
import { Pkcs12Error, bmpPassword, buildPfx, encodePfx, pkcs12Kdf } from './pkcs12.ts';

// The key and chain of the KMIP 1.4 test case TC-PKCS12-1-14 (EE ← Inter ← CATop, RSA 1024).
const TC = {
  n: 0x9bccc77338705de30fae343fd02f8f94ec4657a8c24a0e56103bc45db6d740868b9ac3fbcc0ebac6e1e8a954a85050d6aae7600934b8ebe8b03db6ba0884b1aee69e4fc3a1bd11fcbfef68de0baa888d1f5cbca2d81a3168b2a901e9f84d3854ee10aa7235dfef0684f58d98879c936372435f2cb102782d3884f9abb818817dn,
  d: 0x663fd00a23594394d85ea8f5d468d25f976d56ec6f8e70b834f1349f9876ce673ec9f4a3953979853b1019c970a93d5495574264e85010ab66b729ec0fd91e4eb2adb3c7db9c45335af14ae697d11f4c9efaf12c201011541be7416dab856f7e65939f1eb6746d2916106717c870a0a260b5240c9a432c5e194c16b5e9e23541n,
  e: 0x10001n,
  p: 0xf3f5b19edf657aaa4dc25167c69a725117c7f8ec7b77ab2b18e07b051d520470771661ccb7156575f61a1665210fd86a4277331b1b50f822bc51fa8d2334ff6dn,
  q: 0xa37d3b2bc4ab29ed59dbc6ddfa7f9104e51791e7e91b2689b505f60da6851f1efef7d3d1bd2011c433b0287f309329fbc490582c9de0eefef23fd74256647051n,
  dp: 0x33c794399a44d9b247ead4886838e3c69e7b8d33f448c405d3b3e1a8863ea03e96a8237de5e61eb0d8d954a3864eecaa310d47c59b18a67208f285716b659649n,
  dq: 0x983bc73a553250a33bd6235295abed7c925a2539be5cd2c0cdb8544a97b143ae581aaab99592e4183f4d1c187b41bd893b9a7110729e7dcd16040e4c2e27ee51n,
  qi: 0x548ad39760b4f5fabcd6d5e7bbdcbf7954f9f32256fba159d6b138c4fb3ad9ff078041f53af2c6aad9b8847279feb576b4f016c3f39dafe4b817ed4f09e95da1n,
  ee: '3082022930820192a00302010202083132333435363738300d06092a864886f70d01010b05003031310b300906035504061302415531123010060355040a13094b6d69702054657374310e300c06035504031305496e746572301e170d3135313231373036313030375a170d3136303130333036353033365a302e310b300906035504061302415531123010060355040a13094b6d69702054657374310b300906035504031302454530819f300d06092a864886f70d010101050003818d00308189028181009bccc77338705de30fae343fd02f8f94ec4657a8c24a0e56103bc45db6d740868b9ac3fbcc0ebac6e1e8a954a85050d6aae7600934b8ebe8b03db6ba0884b1aee69e4fc3a1bd11fcbfef68de0baa888d1f5cbca2d81a3168b2a901e9f84d3854ee10aa7235dfef0684f58d98879c936372435f2cb102782d3884f9abb818817d0203010001a34d304b301d0603551d0e0416041488ca3ff1ce8f6b8af4647ea1a1829abd91b227c4301f0603551d230418301680147c3a5ad107907f9af1106e85c6dffc431ba7829030090603551d1304023000300d06092a864886f70d01010b050003818100d39bdd1623dd990a65007d82cc06aedda9fe7bedffb03189d4f51f4ae70cfb275568b62bc59ef2d80b82300de83d871c28541c6d8d9f601c12180b790b9c6c3ca14520fee8be4878f72e7e47b5a8918774ee5776c93e1ba84063f0ca48b5d7d05362489e7b7e7071263c011fb14562aa63b7bdd1715a5e186028a3caa874b283',
  inter: '3082022c30820195a00302010202082ba702a221b225b1300d06092a864886f70d01010b05003031310b300906035504061302415531123010060355040a13094b6d69702054657374310e300c060355040313054341546f70301e170d3135313231373036313030375a170d3136303130333036353033365a3031310b300906035504061302415531123010060355040a13094b6d69702054657374310e300c06035504031305496e74657230819f300d06092a864886f70d010101050003818d0030818902818100da8a80678619e2bbc97faa72e1ca1065774386944f23f3fc9f828dabd4c376b92dc137f5d9e9169b3f34f4cec2ccba599af4145928ad7b7ed7b28eef13467d33cbe884ed37fd49d056c93b52dbd8c7b7094da4e6e058e58e5a62bd0d8870334840490872ca6224cb424ff5a5e24a08747a063d9a28db6b953fa7272c054fbc910203010001a34d304b301d0603551d0e041604147c3a5ad107907f9af1106e85c6dffc431ba78290301f0603551d23041830168014ebea2ce9d172dcdae3e4cfd0a6c7b76f56b58d0e30090603551d1304023000300d06092a864886f70d01010b05000381810025cea98195d45ad0fdde69cda48bb48c658bf85b5a07a3549bac1cdb82f7749d0f73b177a9b33ae89fef2a4e3443501a854e5362aefa71abf72b21a603970ecb9234094741ea22d2b980c6f20d573c046b4957c21a8c542a9d55702493882f4837ad9dfbdf8a290a8455ca9a0e5536b128aea4d6987f68b24a9afbf68b68b542',
  top: '3082023c308201a5a00302010202085b5f5313eda014b0300d06092a864886f70d01010b05003031310b300906035504061302415531123010060355040a13094b6d69702054657374310e300c060355040313054341546f70301e170d3135313231373036313030375a170d3136303130333036353033365a3031310b300906035504061302415531123010060355040a13094b6d69702054657374310e300c060355040313054341546f7030819f300d06092a864886f70d010101050003818d00308189028181008abb95879a2eb079703359276298b247d1a18a07b473fee0938b4c264822e07755038543576778e248a7609ff503635bfa9b9fb919fc780956ca727ad023e072af57f2d7d1b95d7268f94e73a15da883d3eaa6ff88d5361831aca782a43230d2e3987416d4b7d1ca31f96beefb74c1a662a51b2482d36e72b473005b5bd5ea950203010001a35d305b301d0603551d0e04160414ebea2ce9d172dcdae3e4cfd0a6c7b76f56b58d0e301f0603551d23041830168014ebea2ce9d172dcdae3e4cfd0a6c7b76f56b58d0e300c0603551d13040530030101ff300b0603551d0f040403020106300d06092a864886f70d01010b050003818100322572c79ad54647d7dc0ecb6c931ee6cff9da8289b15a3b748abb885aac1a0815eccdeaa62f2025c5bbd658b02cec54de6ae044c0b8018004c77f179451fb1b9d9f3fb30090b62b6adf5aed8f7e4a42624642133bd7b19bc572d9ea5fbb369fea5c8a8d55a608b6724a71bd5de743f02a506f2f0d5417193f95d8b182eb93ef',
} as const;

const transparentRsa = (): StructureItem => struct(Tag.KeyMaterial, [
  bigInt(Tag.Modulus, TC.n), bigInt(Tag.PrivateExponent, TC.d), bigInt(Tag.PublicExponent, TC.e), bigInt(Tag.P, TC.p), bigInt(Tag.Q, TC.q),
  bigInt(Tag.PrimeExponentP, TC.dp), bigInt(Tag.PrimeExponentQ, TC.dq), bigInt(Tag.CRTCoefficient, TC.qi),
]);
const tcKey = (): KeyObject => privateKeyFrom(F.TransparentRSAPrivateKey, transparentRsa());
const der = (h: string): Buffer => Buffer.from(h, 'hex');
const pem = (h: string): string => new X509Certificate(der(h)).toString();
const pkcs8 = (k: KeyObject): string => k.export({ format: 'der', type: 'pkcs8' }).toString('hex');

// ---- openssl ----

const OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

interface Opened {
  status: number | null;
  stdout: string;
  stderr: string;
  keys: KeyObject[];
  certs: string[];
}

/** `openssl pkcs12 -in x.p12 -passin pass:... -nodes [-info]`, with the PEM blocks it prints read back. */
function opensslOpen(pfx: Uint8Array, password: string, ...extra: string[]): Opened {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-p12-'));
  try {
    const file = join(dir, 'x.p12');
    writeFileSync(file, pfx);
    const r = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${password}`, '-nodes', ...extra], { encoding: 'utf8' });
    const blocks = (label: string): string[] => r.stdout.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g')) ?? [];
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      keys: blocks('PRIVATE KEY').map((b) => createPrivateKey(b)),
      certs: blocks('CERTIFICATE').map((b) => new X509Certificate(b).raw.toString('hex')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node's TLS stack (OpenSSL) loads the key and certificate; SECLEVEL 0 lets it take the test case's RSA 1024 key. */
const nodeOpens = (pfx: Uint8Array, passphrase: string): unknown => createSecureContext({ pfx: Buffer.from(pfx), passphrase, ciphers: 'DEFAULT@SECLEVEL=0' });

// ---- the KDF ----

test('PKCS#12 KDF: the classic SHA-1 vector and OpenSSL 3 PKCS12KDF with SHA-256', (t) => {
  // Password "smeg" (BMPString), salt 0A58CF64530D823F, ID 1, 1 iteration, 24 bytes.
  t.is(pkcs12Kdf('sha1', bmpPassword('smeg'), der('0a58cf64530d823f'), 1, 1, 24).toString('hex'), '8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3');
  // `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexpass:<BMP "password"> -kdfopt hexsalt:0102030405060708
  //  -kdfopt iter:2048 -kdfopt id:3 PKCS12KDF` (OpenSSL 3.0.19).
  t.is(
    pkcs12Kdf('sha256', bmpPassword('password'), der('0102030405060708'), 3, 2048, 32).toString('hex'),
    '4f510e1b5428cb3a1b784ceee7b1a95670f60e825199c121bd1752ee9e1c83f2',
  );
  // Longer than one hash output: the I_j update runs (checked against openssl when it is there).
  const long = pkcs12Kdf('sha256', bmpPassword('password'), der('0102030405060708'), 1, 3, 80);
  t.is(long.length, 80);
  if (OPENSSL) {
    const r = spawnSync('openssl', ['kdf', '-keylen', '80', '-kdfopt', 'digest:SHA256', '-kdfopt', `hexpass:${bmpPassword('password').toString('hex')}`,
      '-kdfopt', 'hexsalt:0102030405060708', '-kdfopt', 'iter:3', '-kdfopt', 'id:1', 'PKCS12KDF'], { encoding: 'utf8' });
    t.is(r.stdout.trim().replaceAll(':', '').toLowerCase(), long.toString('hex'));
  }
});

test('passwords become a zero-terminated BMPString; bytes that are not UTF-8 count one per character', (t) => {
  t.is(bmpPassword('password').toString('hex'), '00700061007300730077006f007200640000');
  t.is(bmpPassword(Buffer.from('pässword', 'utf8')).toString('hex'), bmpPassword('pässword').toString('hex'));
  t.is(bmpPassword(Uint8Array.of(0xff, 0x41)).toString('hex'), '00ff00410000');
  t.is(bmpPassword('').toString('hex'), '0000');
});

// ---- the container ----

test('buildPfx: openssl opens it with the password and finds the same key and chain, leaf first', (t) => {
  if (!OPENSSL) return t.pass('openssl is not installed');
  const key = tcKey();
  const pfx = buildPfx({
    privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    // Out of order and as one bundle plus one single block: the leaf is found by its key.
    certificatesPem: [pem(TC.inter) + pem(TC.ee), pem(TC.top)],
    password: 'changeit',
    friendlyName: 'mongod-0',
  });
  const o = opensslOpen(pfx, 'changeit', '-info');
  t.is(o.status, 0, o.stderr);
  t.is(o.keys.length, 1);
  t.is(pkcs8(o.keys[0]!), pkcs8(key));
  t.deepEqual(o.certs, [TC.ee, TC.inter, TC.top]);
  // The algorithms OpenSSL 3 uses by default.
  t.regex(o.stderr + o.stdout, /MAC: sha256, Iteration 2048/);
  t.regex(o.stderr + o.stdout, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
  t.regex(o.stderr + o.stdout, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
  // friendlyName and localKeyID (SHA-1 of the leaf) on the key and the leaf certificate only.
  const localKeyId = createHash('sha1').update(der(TC.ee)).digest('hex').toUpperCase().match(/../g)!.join(' ');
  t.is(o.stdout.match(/friendlyName: mongod-0/g)?.length, 2);
  t.is(o.stdout.match(new RegExp(`localKeyID: ${localKeyId}`, 'g'))?.length, 2);
  t.is(o.stdout.match(/Bag Attributes: <No Attributes>/g)?.length, 2);
});

test('a wrong password fails the MAC; the container does not repeat the password', (t) => {
  const pfx = encodePfx({ key: tcKey(), certificates: [der(TC.ee)], password: 'right-password' });
  t.false(pfx.includes(Buffer.from('right-password')));
  t.false(pfx.includes(bmpPassword('right-password').subarray(0, -2)));
  // node (OpenSSL underneath) reads it, and refuses the wrong password.
  t.notThrows(() => nodeOpens(pfx, 'right-password'));
  t.throws(() => nodeOpens(pfx, 'wrong-password'), { message: /mac verify failure/i });
  if (!OPENSSL) return;
  const bad = opensslOpen(pfx, 'wrong-password');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /Mac verify error/i);
  t.is(bad.keys.length, 0);
});

test('unencrypted certificates, a key-only container, an EC key, a non-ASCII password', (t) => {
  if (!OPENSSL) return t.pass('openssl is not installed');
  const plain = opensslOpen(encodePfx({ key: tcKey(), certificates: [der(TC.ee), der(TC.inter)], password: 'p', encryptCertificates: false }), 'p', '-info');
  t.is(plain.status, 0, plain.stderr);
  t.regex(plain.stderr + plain.stdout, /PKCS7 Data\nCertificate bag/);
  t.deepEqual(plain.certs, [TC.ee, TC.inter]);

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const alone = opensslOpen(encodePfx({ key: privateKey, certificates: [], password: 'pässwörd', friendlyName: 'ec', iterations: 10_000 }), 'pässwörd', '-info');
  t.is(alone.status, 0, alone.stderr);
  t.deepEqual(alone.certs, []);
  t.is(pkcs8(alone.keys[0]!), pkcs8(privateKey));
  t.regex(alone.stderr + alone.stdout, /MAC: sha256, Iteration 10000/);
  t.regex(alone.stdout, /friendlyName: ec/);
});

test('refusals: no certificate holds the key, a certificate that is not X.509, a public key; messages carry no secrets', (t) => {
  const password = 'do-not-leak';
  const e1 = t.throws(() => encodePfx({ key: tcKey(), certificates: [der(TC.inter), der(TC.top)], password }), { instanceOf: Pkcs12Error });
  const e2 = t.throws(() => encodePfx({ key: tcKey(), certificates: [der('3003020101')], password }), { instanceOf: Pkcs12Error });
  const e3 = t.throws(() => buildPfx({ privateKeyPem: 'nonsense', certificatesPem: '', password }), { instanceOf: Pkcs12Error });
  const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  t.throws(() => encodePfx({ key: pub, certificates: [], password }), { instanceOf: Pkcs12Error });
  t.throws(() => encodePfx({ key: tcKey(), certificates: [], password, iterations: 0 }), { instanceOf: Pkcs12Error });
  for (const e of [e1, e2, e3]) t.false(e?.message.includes(password) ?? true);
});

// ---- KMIP: Get with Key Format Type PKCS#12 ----

const link = (type: number, uid: string): TtlvItem => struct(Tag.Link, [enumeration(Tag.LinkType, type), text(Tag.LinkedObjectIdentifier, uid)]);
const certBody = (hex: string): StructureItem => struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, der(hex))]);
const secretBody = (type: number, value: string): StructureItem => struct(Tag.SecretData, [
  enumeration(Tag.SecretDataType, type),
  struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from(value))])]),
]);
const privateBody = (): StructureItem => struct(Tag.PrivateKey, [struct(Tag.KeyBlock, [
  enumeration(Tag.KeyFormatType, F.TransparentRSAPrivateKey), struct(Tag.KeyValue, [transparentRsa()]),
  enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 1024),
])]);
const getPkcs12 = (h: Harness, v: ProtocolVersion, uid: string) => h.one(v, 'Get', [uidItem(uid), enumeration(Tag.KeyFormatType, F.PKCS_12)]);

/** The objects of TC-PKCS12-1-14: password, key, EE ← Inter ← CATop by PKCS#12 Certificate Links. */
async function scenario(h: Harness, v: ProtocolVersion, keyAttrs: TtlvItem[] = []) {
  const password = await register(h, v, ObjectType.SecretData, secretBody(SecretDataType.Password, 'password'), [activeSince(), mask(Mask.DeriveKey)]);
  const top = await register(h, v, ObjectType.Certificate, certBody(TC.top), []);
  const inter = await register(h, v, ObjectType.Certificate, certBody(TC.inter), [link(LinkType.PKCS_12CertificateLink, top)]);
  const ee = await register(h, v, ObjectType.Certificate, certBody(TC.ee), [link(LinkType.PKCS_12CertificateLink, inter)]);
  const key = await register(h, v, ObjectType.PrivateKey, privateBody(), [
    mask(Mask.Decrypt | Mask.Encrypt), link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PKCS_12CertificateLink, ee), ...keyAttrs,
  ]);
  return { password, top, inter, ee, key };
}

for (const v of [V1_4, V2_1]) {
  test(`Get PKCS#12 (${v.major}.${v.minor}): a Byte String Key Value that opens with the linked password`, async (t) => {
    const h = harness();
    const { key } = await scenario(h, v);
    const block = keyBlockOf(ok(await getPkcs12(h, v, key)));
    t.deepEqual(block.value[0], enumeration(Tag.KeyFormatType, F.PKCS_12));
    const kv = block.value[1];
    t.is(kv?.tag, Tag.KeyValue);
    t.is(kv?.type, ItemType.ByteString);
    t.deepEqual(block.value.slice(2), [enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 1024)]);
    const pfx = (kv as { value: Uint8Array }).value;
    t.notThrows(() => nodeOpens(pfx, 'password'));
    // The stored key is untouched.
    t.deepEqual(keyBlockOf(ok(await h.one(v, 'Get', [uidItem(key)]))).value[0], enumeration(Tag.KeyFormatType, F.TransparentRSAPrivateKey));
    if (!OPENSSL) return;
    const o = opensslOpen(pfx, 'password');
    t.is(o.status, 0, o.stderr);
    t.is(pkcs8(o.keys[0]!), pkcs8(tcKey()));
    t.deepEqual(o.certs, [TC.ee, TC.inter, TC.top]);
    t.is(o.stdout.match(/friendlyName: alias/g)?.length, 2, 'the default alias (1.4 §3.45)');
    t.not(opensslOpen(pfx, 'passw0rd').status, 0);
  });
}

test('Get PKCS#12 uses the PKCS#12 Friendly Name, and follows Public Key Link → Certificate Link and Certificate Links', async (t) => {
  const h = harness();
  const password = await register(h, V2_1, ObjectType.SecretData, secretBody(SecretDataType.Password, 'pw'), [activeSince()]);
  const top = await register(h, V2_1, ObjectType.Certificate, certBody(TC.top), []);
  const inter = await register(h, V2_1, ObjectType.Certificate, certBody(TC.inter), [link(LinkType.CertificateLink, top)]);
  const ee = await register(h, V2_1, ObjectType.Certificate, certBody(TC.ee), [link(LinkType.CertificateLink, inter)]);
  const pub = await register(h, V2_1, ObjectType.PublicKey, struct(Tag.PublicKey, [struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, F.PKCS_1), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, createPublicKey(tcKey()).export({ format: 'der', type: 'pkcs1' }))]),
    enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 1024),
  ])]), [link(LinkType.CertificateLink, ee)]);
  const key = await register(h, V2_1, ObjectType.PrivateKey, privateBody(), [
    link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PublicKeyLink, pub), text(Tag.PKCS_12FriendlyName, 'tls'),
  ]);
  const pfx = (keyBlockOf(ok(await getPkcs12(h, V2_1, key))).value[1] as { value: Uint8Array }).value;
  t.notThrows(() => nodeOpens(pfx, 'pw'));
  if (!OPENSSL) return;
  const o = opensslOpen(pfx, 'pw');
  t.deepEqual(o.certs, [TC.ee, TC.inter, TC.top]);
  t.is(o.stdout.match(/friendlyName: tls/g)?.length, 2);
});

test('Get PKCS#12 refusals: no, two or a wrong PKCS#12 Password Link; a certificate of another key; two chains', async (t) => {
  const h = harness();
  const { password, ee, inter, top, key } = await scenario(h, V1_4);
  const reason = async (v: ProtocolVersion, attrs: TtlvItem[]) => (await getPkcs12(h, v, await register(h, v, ObjectType.PrivateKey, privateBody(), attrs))).reason;

  // No password link: 1.x cannot return the format; 2.x says Bad Password.
  t.is(await reason(V1_4, [link(LinkType.PKCS_12CertificateLink, ee)]), ResultReason.KeyFormatTypeNotSupported);
  t.is(await reason(V2_1, [link(LinkType.PKCS_12CertificateLink, ee)]), ResultReason.BadPassword);
  const other = await register(h, V1_4, ObjectType.SecretData, secretBody(SecretDataType.Password, 'x'), [activeSince()]);
  t.is(await reason(V1_4, [link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PKCS_12PasswordLink, other)]), ResultReason.InvalidField);
  t.is(await reason(V2_1, [link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PKCS_12PasswordLink, other)]), ResultReason.BadPassword);
  // Not Secret Data, not a Password, not Active, missing.
  const seed = await register(h, V1_4, ObjectType.SecretData, secretBody(SecretDataType.Seed, 'x'), [activeSince()]);
  const inactive = await register(h, V1_4, ObjectType.SecretData, secretBody(SecretDataType.Password, 'x'), []);
  for (const p of [ee, seed, inactive, 'no-such-object']) {
    t.is(await reason(V1_4, [link(LinkType.PKCS_12PasswordLink, p)]), ResultReason.InvalidField, p);
    t.is(await reason(V2_1, [link(LinkType.PKCS_12PasswordLink, p)]), ResultReason.BadPassword, p);
  }
  // The certificate link names a certificate of another key.
  t.is(await reason(V1_4, [link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PKCS_12CertificateLink, inter)]), ResultReason.InvalidField);
  // Two certificates of this key: two chains.
  const ee2 = await register(h, V1_4, ObjectType.Certificate, certBody(TC.ee), [link(LinkType.PKCS_12CertificateLink, top)]);
  t.is(await reason(V1_4, [link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PKCS_12CertificateLink, ee), link(LinkType.PKCS_12CertificateLink, ee2)]), ResultReason.InvalidField);
  // A certificate of another key among them is passed over.
  const one = ok(await getPkcs12(h, V1_4, await register(h, V1_4, ObjectType.PrivateKey, privateBody(), [
    link(LinkType.PKCS_12PasswordLink, password), link(LinkType.PKCS_12CertificateLink, ee), link(LinkType.PKCS_12CertificateLink, inter),
  ])));
  t.is(keyBlockOf(one).value[1]?.type, ItemType.ByteString);
  // No certificate link at all: a key-only container.
  const alone = ok(await getPkcs12(h, V1_4, await register(h, V1_4, ObjectType.PrivateKey, privateBody(), [link(LinkType.PKCS_12PasswordLink, password)])));
  if (OPENSSL) {
    const o = opensslOpen((keyBlockOf(alone).value[1] as { value: Uint8Array }).value, 'password');
    t.is(o.status, 0, o.stderr);
    t.is(o.keys.length, 1);
    t.deepEqual(o.certs, []);
  }
  // A Key Wrapping Specification is refused (the container has its own protection).
  const kek = await register(h, V1_4, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, F.Raw), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.alloc(32, 7))]),
    enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 256),
  ])]), [activeSince(), mask(Mask.WrapKey)]);
  const wrapped = await h.one(V1_4, 'Get', [uidItem(key), enumeration(Tag.KeyFormatType, F.PKCS_12), struct(Tag.KeyWrappingSpecification, [
    enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt), struct(Tag.EncryptionKeyInformation, [uidItem(kek)]),
  ])]);
  t.is(wrapped.reason, ResultReason.FeatureNotSupported);
});
