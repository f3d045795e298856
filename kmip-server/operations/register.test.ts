import test from 'ava';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CertificateType, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, DigitalSignatureAlgorithm, EncodingOption, KeyFormatType as F, ObjectType,
  ResultReason, SecretDataType, SplitKeyMethod, ValidityIndicator,
} from '../ttlv/enums.ts';
import { ItemType, bigInt, bool, bytes, dateTime, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import type { ProtocolVersion } from '../client/client.ts';
import { V1_0, V1_2, V1_4, V2_1, attr1x, attributeValues, harness, nameValue, uidItem, uidOf, type Harness } from './harness.fixture.ts';
import { attributes2x, container, keyBlockOf, ok } from './key-ops.fixture.ts';
import { AES256_KEY_HEX, AES256_RAW_DIGEST, AES256_TRANSPARENT_DIGEST, KMIP_CERT_HEX, RSA2048_PKCS1_DIGEST, RSA2048_PKCS1_HEX } from '../crypto/test-vectors.fixture.ts';

function keyBlock(format: number, material: TtlvItem | undefined, alg?: number, len?: number, extra: TtlvItem[] = []): StructureItem {
  const c: TtlvItem[] = [enumeration(Tag.KeyFormatType, format)];
  if (material) c.push(struct(Tag.KeyValue, [{ ...material, tag: Tag.KeyMaterial } as TtlvItem]));
  if (alg !== undefined) c.push(enumeration(Tag.CryptographicAlgorithm, alg));
  if (len !== undefined) c.push(int(Tag.CryptographicLength, len));
  return struct(Tag.KeyBlock, [...c, ...extra]);
}

function registerPayload(version: ProtocolVersion, objectType: number, object: StructureItem, attrs: TtlvItem[] = []): TtlvItem[] {
  return [enumeration(Tag.ObjectType, objectType), container(version, Tag.TemplateAttribute, Tag.Attributes, attrs), object];
}

const register = async (h: Harness, version: ProtocolVersion, objectType: number, object: StructureItem, attrs: TtlvItem[] = []) =>
  h.one(version, 'Register', registerPayload(version, objectType, object, attrs));

const digestHex = (v: TtlvItem | undefined): string => {
  const d = v?.type === ItemType.Structure ? v.value.find((i) => i.tag === Tag.DigestValue) : undefined;
  return d?.type === ItemType.ByteString ? Buffer.from(d.value).toString('hex') : '';
};
const mask = (m: number): TtlvItem => int(Tag.CryptographicUsageMask, m);
const raw = (hex: string): TtlvItem => bytes(Tag.KeyMaterial, Buffer.from(hex, 'hex'));

test('symmetric keys: Raw and Transparent register with the digests TC-181 expects; Get returns them as registered', async (t) => {
  const h = harness();
  const a = uidOf(ok(await register(h, V1_2, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [keyBlock(F.Raw, raw(AES256_KEY_HEX), Alg.AES, 256)]), [mask(Mask.Encrypt)])));
  const b = uidOf(ok(await register(h, V1_2, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [
    keyBlock(F.TransparentSymmetricKey, struct(Tag.KeyMaterial, [bytes(Tag.Key, Buffer.from(AES256_KEY_HEX, 'hex'))]), Alg.AES, 256),
  ]), [mask(Mask.Encrypt)])));
  t.is(digestHex((await attributeValues(h, a, 'Digest'))[0]), AES256_RAW_DIGEST);
  t.is(digestHex((await attributeValues(h, b, 'Digest'))[0]), AES256_TRANSPARENT_DIGEST);
  const got = keyBlockOf(ok(await h.one(V1_2, 'Get', [uidItem(b)])));
  t.deepEqual(got.value[0], enumeration(Tag.KeyFormatType, F.TransparentSymmetricKey));
  // Without a length, the server takes it from the material; DES3 counts 168 bits for 24 bytes.
  const c = uidOf(ok(await register(h, V2_1, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [keyBlock(F.Raw, raw('00'.repeat(24)), Alg.DES3)]))));
  t.deepEqual((await attributes2x(h, c)).get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 168)]);
});

test('a symmetric key whose material disagrees with its Cryptographic Length is Invalid Field', async (t) => {
  const h = harness();
  const bad = [
    keyBlock(F.Raw, raw('00112233445566778899aabbccddeeff'), Alg.AES, 256),
    keyBlock(F.Raw, raw('0011'), Alg.AES, 128),
    keyBlock(F.Raw, raw('00'.repeat(16)), Alg.DES3, 168),
  ];
  for (const b of bad) {
    const r = await register(h, V1_4, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [b]));
    t.is(r.reason, ResultReason.InvalidField, r.message);
    t.notRegex(r.message ?? '', /00112233/);
  }
  // The template's length must agree with the block's too.
  const r = await register(h, V1_4, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [keyBlock(F.Raw, raw('00'.repeat(16)), Alg.AES, 128)]), [int(Tag.CryptographicLength, 256)]);
  t.is(r.reason, ResultReason.InvalidField);
  // A wrapped key's bytes are not the key: its length is not checked (TC-WRAP registers 24 bytes of AES-128).
  const wrapped = keyBlock(F.Raw, raw('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5'), Alg.AES, 128, [struct(Tag.KeyWrappingData, [enumeration(Tag.WrappingMethod, 1), struct(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, 'kek')]), enumeration(Tag.EncodingOption, EncodingOption.NoEncoding)])]);
  ok(await register(h, V1_4, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [wrapped])));
  t.is(await h.store.count('scope-a'), 1);
});

test('RSA private and public keys in every format register; algorithm and length are derived and checked', async (t) => {
  const h = harness();
  const key = createPrivateKey({ key: Buffer.from(RSA2048_PKCS1_HEX, 'hex'), format: 'der', type: 'pkcs1' });
  const pub = createPublicKey(key);
  const priv = uidOf(ok(await register(h, V1_2, ObjectType.PrivateKey, struct(Tag.PrivateKey, [keyBlock(F.PKCS_1, raw(RSA2048_PKCS1_HEX), Alg.RSA, 2048)]), [mask(Mask.Sign)])));
  t.is(digestHex((await attributeValues(h, priv, 'Digest'))[0]), RSA2048_PKCS1_DIGEST);
  for (const [format, material] of [
    [F.PKCS_8, bytes(0, key.export({ format: 'der', type: 'pkcs8' }))],
  ] as const) {
    const u = uidOf(ok(await register(h, V2_1, ObjectType.PrivateKey, struct(Tag.PrivateKey, [keyBlock(format, material)]))));
    const a = await attributes2x(h, u);
    t.deepEqual(a.get(Tag.CryptographicAlgorithm), [enumeration(Tag.CryptographicAlgorithm, Alg.RSA)]);
    t.deepEqual(a.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 2048)]);
    t.deepEqual(a.get(Tag.KeyFormatType), [enumeration(Tag.KeyFormatType, format)]);
  }
  for (const [format, material] of [
    [F.PKCS_1, bytes(0, pub.export({ format: 'der', type: 'pkcs1' }))],
    [F.X_509, bytes(0, pub.export({ format: 'der', type: 'spki' }))],
  ] as const) {
    ok(await register(h, V1_4, ObjectType.PublicKey, struct(Tag.PublicKey, [keyBlock(format, material, Alg.RSA, 2048)]), [mask(Mask.Verify)]));
  }
  // Transparent forms, read back through Get conversions.
  const tr = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(priv), enumeration(Tag.KeyFormatType, F.TransparentRSAPrivateKey)])));
  const t2 = uidOf(ok(await register(h, V1_4, ObjectType.PrivateKey, struct(Tag.PrivateKey, [tr]))));
  const back = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(t2), enumeration(Tag.KeyFormatType, F.PKCS_1)])));
  t.deepEqual(back.value.find((i) => i.tag === Tag.KeyValue), struct(Tag.KeyValue, [raw(RSA2048_PKCS1_HEX)]));
});

test('an unparsable or mislabelled private key is Invalid Field, and the message carries no key bytes', async (t) => {
  const h = harness();
  const junk = '308204a502010002820101deadbeef0123456789';
  const cases: StructureItem[] = [
    keyBlock(F.PKCS_1, raw(junk), Alg.RSA, 2048),
    keyBlock(F.PKCS_8, raw(junk), Alg.RSA, 2048),
    keyBlock(F.ECPrivateKey, raw(RSA2048_PKCS1_HEX), Alg.EC, 256),
    keyBlock(F.PKCS_1, raw(RSA2048_PKCS1_HEX), Alg.EC, 2048),
    keyBlock(F.PKCS_1, raw(RSA2048_PKCS1_HEX), Alg.RSA, 1024),
    keyBlock(F.TransparentRSAPrivateKey, struct(0, [bigInt(Tag.Modulus, 0xdeadbeefn)]), Alg.RSA, 32),
  ];
  for (const b of cases) {
    const r = await register(h, V1_4, ObjectType.PrivateKey, struct(Tag.PrivateKey, [b]));
    t.is(r.reason, ResultReason.InvalidField, r.message);
    t.notRegex(r.message ?? '', /deadbeef|ab7f161c/i);
  }
  const pub = await register(h, V1_4, ObjectType.PublicKey, struct(Tag.PublicKey, [keyBlock(F.X_509, raw(junk), Alg.RSA, 2048)]));
  t.is(pub.reason, ResultReason.InvalidField);
  t.is(await h.store.count('scope-a'), 0);
});

test('EC keys: SEC1, PKCS#8 (plain and encrypted), X.509 and Transparent EC register', async (t) => {
  const h = harness();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const sec1 = uidOf(ok(await register(h, V1_2, ObjectType.PrivateKey, struct(Tag.PrivateKey, [keyBlock(F.ECPrivateKey, bytes(0, privateKey.export({ format: 'der', type: 'sec1' })), Alg.ECDSA, 256)]))));
  const enc = privateKey.export({ format: 'der', type: 'pkcs8', cipher: 'aes-128-cbc', passphrase: 'pw' });
  const encrypted = uidOf(ok(await register(h, V1_2, ObjectType.PrivateKey, struct(Tag.PrivateKey, [keyBlock(F.PKCS_8, bytes(0, enc), Alg.ECDSA, 256)]))));
  ok(await register(h, V1_2, ObjectType.PublicKey, struct(Tag.PublicKey, [keyBlock(F.X_509, bytes(0, publicKey.export({ format: 'der', type: 'spki' })), Alg.ECDSA, 256)])));
  // The encrypted key comes back as given, and cannot be converted.
  const got = keyBlockOf(ok(await h.one(V1_2, 'Get', [uidItem(encrypted)])));
  t.deepEqual(got.value.find((i) => i.tag === Tag.KeyValue), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, enc)]));
  t.is((await h.one(V1_2, 'Get', [uidItem(encrypted), enumeration(Tag.KeyFormatType, F.ECPrivateKey)])).reason, ResultReason.KeyFormatTypeNotSupported);
  const tr = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(sec1), enumeration(Tag.KeyFormatType, F.TransparentECPrivateKey)])));
  const again = uidOf(ok(await register(h, V2_1, ObjectType.PrivateKey, struct(Tag.PrivateKey, [tr]))));
  t.deepEqual((await attributes2x(h, again)).get(Tag.CryptographicAlgorithm), [enumeration(Tag.CryptographicAlgorithm, Alg.ECDSA)]);
});

test('certificates: type, length, 1.0 identifier/subject/issuer, X.509 DER attributes, signature algorithm, public key size', async (t) => {
  const h = harness();
  const der = Buffer.from(KMIP_CERT_HEX, 'hex');
  const cert = struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, der)]);
  const u = uidOf(ok(await register(h, V1_0, ObjectType.Certificate, cert, [mask(Mask.Verify | Mask.Sign)])));
  const v = async (name: string) => (await attributeValues(h, u, name))[0];
  t.deepEqual(await v('Certificate Type'), enumeration(Tag.AttributeValue, CertificateType.X_509));
  t.deepEqual(await v('Certificate Length'), int(Tag.AttributeValue, 790));
  t.deepEqual(await v('Cryptographic Length'), int(Tag.AttributeValue, 2048));
  t.deepEqual(await v('Digital Signature Algorithm'), enumeration(Tag.AttributeValue, DigitalSignatureAlgorithm.SHA_1WithRSAEncryption));
  t.deepEqual(await v('Certificate Identifier'), struct(Tag.AttributeValue, [text(Tag.Issuer, 'CN=KMIP,OU=OASIS,O=TEST,C=US'), text(Tag.SerialNumber, '01')]));
  t.deepEqual(await v('Certificate Subject'), struct(Tag.AttributeValue, [text(Tag.CertificateSubjectDistinguishedName, 'CN=KMIP,OU=OASIS,O=TEST,C=US')]));
  t.deepEqual(await v('Certificate Issuer'), struct(Tag.AttributeValue, [text(Tag.CertificateIssuerDistinguishedName, 'CN=KMIP,OU=OASIS,O=TEST,C=US')]));
  const x509id = await v('X.509 Certificate Identifier');
  t.deepEqual((x509id as StructureItem).value[1], bytes(Tag.CertificateSerialNumber, Buffer.from('020101', 'hex')));
  t.deepEqual(digestHex(await v('Digest')), createHash('sha256').update(der).digest('hex'));
  // Get returns it as stored, with or without asking for X.509.
  const g = ok(await h.one(V1_0, 'Get', [uidItem(u)]));
  t.deepEqual(g.payload?.value[2], cert);
  t.deepEqual(ok(await h.one(V1_0, 'Get', [uidItem(u), enumeration(Tag.KeyFormatType, F.X_509)])).payload?.value[2], cert);
  t.is((await h.one(V1_0, 'Get', [uidItem(u), enumeration(Tag.KeyFormatType, F.PKCS_1)])).reason, ResultReason.KeyFormatTypeNotSupported);
  // 2.x clients may restate Certificate Type; a wrong one is refused. 2.x sees the name parts as attributes.
  const u2 = uidOf(ok(await register(h, V2_1, ObjectType.Certificate, cert, [enumeration(Tag.CertificateType, CertificateType.X_509)])));
  const a2 = await attributes2x(h, u2);
  t.deepEqual(a2.get(Tag.CertificateSubjectCN), [text(Tag.CertificateSubjectCN, 'KMIP')]);
  t.deepEqual(a2.get(Tag.CertificateIssuerOU), [text(Tag.CertificateIssuerOU, 'OASIS')]);
  t.deepEqual(a2.get(Tag.CertificateSubjectC), [text(Tag.CertificateSubjectC, 'US')]);
  t.is(a2.get(Tag.CertificateIdentifier), undefined);
  t.is((await register(h, V2_1, ObjectType.Certificate, cert, [enumeration(Tag.CertificateType, CertificateType.PGP)])).reason, ResultReason.InvalidField);
  t.is((await register(h, V2_1, ObjectType.Certificate, struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, der.subarray(0, 100))]))).reason, ResultReason.InvalidField);
});

test('Secret Data (usage mask 0), Opaque Objects, Split Keys and PGP Keys register; their envelopes are checked', async (t) => {
  const h = harness();
  const secret = struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Password), keyBlock(F.Opaque, raw('53656372657450617373776f7264'))]);
  const s = uidOf(ok(await register(h, V1_2, ObjectType.SecretData, secret, [mask(0)])));
  t.deepEqual(ok(await h.one(V1_2, 'Get', [uidItem(s)])).payload?.value[2], secret);
  t.is((await register(h, V1_2, ObjectType.SecretData, struct(Tag.SecretData, [keyBlock(F.Opaque, raw('00'))]))).reason, ResultReason.MissingData);

  const opaque = struct(Tag.OpaqueObject, [enumeration(Tag.OpaqueDataType, 0x80000001), bytes(Tag.OpaqueDataValue, Buffer.from('secret'))]);
  const o = uidOf(ok(await register(h, V2_1, ObjectType.OpaqueObject, opaque, [nameValue('opaque-1')])));
  t.deepEqual(ok(await h.one(V2_1, 'Get', [uidItem(o)])).payload?.value[2], opaque);

  const split = (id: number, threshold: number) => struct(Tag.SplitKey, [
    int(Tag.SplitKeyParts, 4), int(Tag.KeyPartIdentifier, id), int(Tag.SplitKeyThreshold, threshold), enumeration(Tag.SplitKeyMethod, SplitKeyMethod.XOR),
    keyBlock(F.Raw, raw('66c46a7754f94de420c7b1a7fff5ec56'), Alg.AES, 128),
  ]);
  ok(await register(h, V1_2, ObjectType.SplitKey, split(1, 2)));
  t.is((await register(h, V1_2, ObjectType.SplitKey, split(5, 2))).reason, ResultReason.InvalidField);
  t.is((await register(h, V1_2, ObjectType.SplitKey, split(1, 9))).reason, ResultReason.InvalidField);

  const pgp = struct(Tag.PGPKey, [int(Tag.PGPKeyVersion, 4), keyBlock(F.Raw, bytes(0, Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n')), Alg.RSA, 2048)]);
  const pgpUid = uidOf(ok(await register(h, V1_2, ObjectType.PGPKey, pgp)));
  t.is((await register(h, V1_2, ObjectType.PGPKey, struct(Tag.PGPKey, [keyBlock(F.Raw, raw('00'), Alg.RSA, 2048)]))).reason, ResultReason.MissingData);
  // PGP Key is a 1.2 object type: a 1.1 client cannot decode it, and is told so instead of getting 1.2 tags.
  t.is((await h.one({ major: 1, minor: 1 }, 'Get', [uidItem(pgpUid)])).reason, ResultReason.FeatureNotSupported);
  ok(await h.one(V1_2, 'Get', [uidItem(pgpUid)]));
});

test('a key with no Key Value but a Key Value Location (MDO) registers with Key Value Present false', async (t) => {
  const h = harness();
  const location = struct(Tag.KeyValueLocation, [text(Tag.KeyValueLocationValue, 'HSM-1'), enumeration(Tag.KeyValueLocationType, 1)]);
  const u = uidOf(ok(await register(h, V1_2, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [keyBlock(F.Raw, undefined, Alg.AES, 128)]), [location])));
  t.deepEqual(await attributeValues(h, u, 'Key Value Present'), [bool(Tag.AttributeValue, false)]);
  t.deepEqual(await attributeValues(h, u, 'Digest'), []);
  t.deepEqual(keyBlockOf(ok(await h.one(V1_2, 'Get', [uidItem(u)]))), keyBlock(F.Raw, undefined, Alg.AES, 128));
  t.is((await register(h, V1_2, ObjectType.SymmetricKey, struct(Tag.SymmetricKey, [keyBlock(F.Raw, undefined, Alg.AES, 128)]))).reason, ResultReason.MissingData);
});

test('Original Creation Date: the client\'s on Register, absent when not given', async (t) => {
  const h = harness();
  const sym = struct(Tag.SymmetricKey, [keyBlock(F.Raw, raw('00'.repeat(16)), Alg.AES, 128)]);
  const given = uidOf(ok(await register(h, V1_2, ObjectType.SymmetricKey, sym, [dateTime(Tag.OriginalCreationDate, 38520)])));
  t.deepEqual(await attributeValues(h, given, 'Original Creation Date'), [dateTime(Tag.AttributeValue, 38520)]);
  const none = uidOf(ok(await register(h, V1_2, ObjectType.SymmetricKey, sym)));
  t.deepEqual(await attributeValues(h, none, 'Original Creation Date'), []);
});

test('1.x Templates: registered with their names, applied by Name in Create and Register, explicit attributes win', async (t) => {
  const h = harness();
  // The template's name may come from its Template-Attribute or from inside it (SASED-M-2 does the latter).
  const t1 = uidOf(ok(await h.one(V1_2, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.Template),
    struct(Tag.TemplateAttribute, [attr1x('Name', nameValue('tmpl-1')), attr1x('x-ID', text(0, 'the template'))]),
    struct(Tag.Template, [
      attr1x('Object Group', text(0, 'Group1')),
      attr1x('Contact Information', text(0, 'Joe')),
      attr1x('x-ID', text(0, 'from-template')),
      attr1x('Cryptographic Algorithm', enumeration(0, Alg.AES)),
      attr1x('Cryptographic Length', int(0, 256)),
    ]),
  ])));
  ok(await h.one(V1_2, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.Template),
    struct(Tag.TemplateAttribute, []),
    struct(Tag.Template, [attr1x('Name', nameValue('tmpl-2')), attr1x('Contact Information', text(0, 'Ann'))]),
  ]));
  const tattrs = await attributes2x(h, t1);
  t.is(tattrs.get(Tag.State), undefined);
  t.is(tattrs.get(Tag.Digest), undefined);

  const created = uidOf(ok(await h.one(V1_2, 'Create', [
    enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
    struct(Tag.TemplateAttribute, [
      nameValue('tmpl-1'), nameValue('tmpl-2'),
      attr1x('Cryptographic Length', int(0, 128)),
      attr1x('Cryptographic Usage Mask', mask(Mask.Encrypt)),
      attr1x('Name', nameValue('key-1')),
      attr1x('x-ID', text(0, 'from-create')),
    ]),
  ])));
  const v = (name: string) => attributeValues(h, created, name);
  t.deepEqual(await v('Cryptographic Length'), [int(Tag.AttributeValue, 128)]);
  t.deepEqual(await v('Cryptographic Algorithm'), [enumeration(Tag.AttributeValue, Alg.AES)]);
  t.deepEqual(await v('Object Group'), [text(Tag.AttributeValue, 'Group1')]);
  t.deepEqual(await v('Contact Information'), [text(Tag.AttributeValue, 'Ann')]);
  t.deepEqual(await v('x-ID'), [text(Tag.AttributeValue, 'from-template'), text(Tag.AttributeValue, 'from-create')]);
  t.deepEqual((await v('Name')).length, 1);
  t.deepEqual(keyBlockOf(ok(await h.one(V1_2, 'Get', [uidItem(created)]))).value.find((i) => i.tag === Tag.CryptographicLength), int(Tag.CryptographicLength, 128));

  const secret = uidOf(ok(await h.one(V1_2, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.SecretData),
    struct(Tag.TemplateAttribute, [nameValue('tmpl-2')]),
    struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Password), keyBlock(F.Opaque, raw('2a2a'))]),
  ])));
  t.deepEqual(await attributeValues(h, secret, 'Contact Information'), [text(Tag.AttributeValue, 'Ann')]);
  t.deepEqual(await attributeValues(h, secret, 'Name'), []);

  // 2.x has no Templates; a template with server-owned attributes is refused.
  t.is((await h.one(V2_1, 'Register', [enumeration(Tag.ObjectType, ObjectType.Template), struct(Tag.Template, [])])).reason, ResultReason.InvalidField);
  t.is((await h.one(V1_2, 'Register', [enumeration(Tag.ObjectType, ObjectType.Template), struct(Tag.Template, [attr1x('State', enumeration(0, 2))])])).reason, ResultReason.InvalidField);
});

// The OASIS P-256 test certificate (TC_ECC_3_10) with one byte of its curve OID changed, as the fuzzer sent it:
// X.509 parses, but OpenSSL cannot read the public key. Once an internal error; now stored, with no key facts.
const UNREADABLE_KEY_CERT_HEX = '308201d73082017da003020102020900dada16a58d2924d9300a06082a8648ce3d0403023048310b3009060355040613025553310d300b060355040a0c0454455354310e300c060355040b0c054f41534953311a301806035504030c114b4d49502d45432d736563703235367231301e170d3133303632363033353434335a170d3233303632343033353434335a3048310b3009060355040613025553310d300b060355040a0c0454455354310e300c060355040b0c054f41534953311a301806035504030c114b4d49502d45432d7365637032353672313059301306072a8648ce3d020106082a8648cea203010703420004b344392fb72aa267f86d7d837de1d96ce960ffc05ceef3f1fa26d8546a6442f3c1397e929aad8dcab25b282ca8a1cf00bef7cb18a0f5ea44493a30a6d223b25ba350304e301d0603551d0e04160414c74bdb9d456b3b14868fd9c8867de0fcdfefd493301f0603551d23041830168014c74bdb9d456b3b14868fd9c8867de0fcdfefd493300c0603551d13040530030101ff300a06082a8648ce3d04030203480030450220235f5fcb375dd606af3a121a7876ce9c1a15d257449a0eaa600f8e1266904bdf022100a9b85e143d8925a2ebb08bc8434d56af2f73005fff429bcd8245fd5fb21a7b45';

test('a certificate whose public key OpenSSL cannot read registers without key facts; Validate finds it Invalid', async (t) => {
  const h = harness();
  const der = Buffer.from(UNREADABLE_KEY_CERT_HEX, 'hex');
  const cert = struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, der)]);
  const uid = uidOf(ok(await register(h, V1_4, ObjectType.Certificate, cert)));
  t.deepEqual(await attributeValues(h, uid, 'Cryptographic Length'), []);
  t.is((await attributeValues(h, uid, 'Certificate Length'))[0]?.value, der.length);
  // Self-signed in name, but a signature under an unreadable key cannot be checked.
  const r = ok(await h.one(V1_4, 'Validate', [text(Tag.UniqueIdentifier, uid)]));
  t.is(r.payload!.value.find((i) => i.tag === Tag.ValidityIndicator)?.value, ValidityIndicator.Invalid);
});
