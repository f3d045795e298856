import test from 'ava';
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, KeyFormatType as F, LinkType, ObjectType, RecommendedCurve, ResultReason, State,
} from '../ttlv/enums.ts';
import { ItemType, bool, enumeration, int, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { materialOf } from '../crypto/key-block.ts';
import { V1_0, V1_2, V1_4, V2_1, attr1x, harness, nameValue, uidItem } from './harness.fixture.ts';
import { attributes2x, keyBlockOf, keyPairPayload, links, nameValues, objectOf, ok, textField } from './key-ops.fixture.ts';

const alg = (a: number): TtlvItem => enumeration(Tag.CryptographicAlgorithm, a);
const len = (n: number): TtlvItem => int(Tag.CryptographicLength, n);
const mask = (m: number): TtlvItem => int(Tag.CryptographicUsageMask, m);
const curve = (c: number): TtlvItem => struct(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, c)]);
const der = (b: ReturnType<typeof keyBlockOf>): Buffer => {
  const m = materialOf(b);
  if (m?.type !== ItemType.ByteString) throw new Error('material is not bytes');
  return Buffer.from(m.value);
};

for (const version of [V1_0, V1_4, V2_1]) {
  test(`RSA key pair (${version.major}.${version.minor}): two objects linked both ways, masks and names per half, PKCS#1 both`, async (t) => {
    const h = harness();
    const r = ok(await h.one(version, 'CreateKeyPair', keyPairPayload(version, [alg(Alg.RSA), len(2048)], [nameValue('ckp-private'), mask(Mask.Sign)], [nameValue('ckp-public'), mask(Mask.Verify)])));
    const priv = textField(r, Tag.PrivateKeyUniqueIdentifier);
    const pub = textField(r, Tag.PublicKeyUniqueIdentifier);
    t.not(priv, pub);
    t.deepEqual(r.payload?.value.map((i) => i.tag), [Tag.PrivateKeyUniqueIdentifier, Tag.PublicKeyUniqueIdentifier]);

    const pa = await attributes2x(h, priv);
    const qa = await attributes2x(h, pub);
    t.deepEqual(links(pa.get(Tag.Link)), [[LinkType.PublicKeyLink, pub]]);
    t.deepEqual(links(qa.get(Tag.Link)), [[LinkType.PrivateKeyLink, priv]]);
    t.deepEqual(nameValues(pa.get(Tag.Name)), ['ckp-private']);
    t.deepEqual(nameValues(qa.get(Tag.Name)), ['ckp-public']);
    t.deepEqual(pa.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign)]);
    t.deepEqual(qa.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Verify)]);
    t.deepEqual(pa.get(Tag.ObjectType), [enumeration(Tag.ObjectType, ObjectType.PrivateKey)]);
    t.deepEqual(qa.get(Tag.ObjectType), [enumeration(Tag.ObjectType, ObjectType.PublicKey)]);
    for (const a of [pa, qa]) {
      t.deepEqual(a.get(Tag.CryptographicAlgorithm), [enumeration(Tag.CryptographicAlgorithm, Alg.RSA)]);
      t.deepEqual(a.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 2048)]);
      t.deepEqual(a.get(Tag.State), [enumeration(Tag.State, State.PreActive)]);
      t.deepEqual(a.get(Tag.KeyFormatType), [enumeration(Tag.KeyFormatType, F.PKCS_1)]);
      t.deepEqual(a.get(Tag.Fresh), [bool(Tag.Fresh, true)]);
      t.is(a.get(Tag.RandomNumberGenerator)?.length, 1);
    }

    // Get without a format: PKCS#1 both (what AKLC and TC-81 expect), and the halves belong together.
    const gp = ok(await h.one(version, 'Get', [uidItem(priv)]));
    const gq = ok(await h.one(version, 'Get', [uidItem(pub)]));
    t.is(objectOf(gp).tag, Tag.PrivateKey);
    t.is(objectOf(gq).tag, Tag.PublicKey);
    const bp = keyBlockOf(gp);
    const bq = keyBlockOf(gq);
    for (const b of [bp, bq]) {
      t.deepEqual(b.value.find((i) => i.tag === Tag.KeyFormatType), enumeration(Tag.KeyFormatType, F.PKCS_1));
      t.deepEqual(b.value.find((i) => i.tag === Tag.CryptographicLength), int(Tag.CryptographicLength, 2048));
    }
    const privateKey = createPrivateKey({ key: der(bp), format: 'der', type: 'pkcs1' });
    t.is(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    t.is(privateKey.asymmetricKeyDetails?.publicExponent, 65537n);
    t.deepEqual(createPublicKey(privateKey).export({ format: 'der', type: 'pkcs1' }), der(bq));

    // Digests are over the stored PKCS#1 bytes.
    const digest = pa.get(Tag.Digest)?.[0];
    t.is(digest?.type, ItemType.Structure);
    const dv = (digest as { value: TtlvItem[] }).value.find((i) => i.tag === Tag.DigestValue) as { value: Uint8Array };
    t.is(Buffer.from(dv.value).toString('hex'), createHash('sha256').update(der(bp)).digest('hex'));
  });
}

test('the ID Placeholder is the private key: a following Get and Activate act on it', async (t) => {
  const h = harness();
  const [c, g, a] = await h.send(V1_2, [
    { operation: 'CreateKeyPair', payload: keyPairPayload(V1_2, [alg(Alg.RSA), len(1024), mask(Mask.Sign | Mask.Verify)]) },
    { operation: 'Get', payload: [] },
    { operation: 'Activate', payload: [] },
  ]);
  const priv = textField(ok(c!), Tag.PrivateKeyUniqueIdentifier);
  t.is(textField(ok(g!), Tag.UniqueIdentifier), priv);
  t.is(textField(ok(a!), Tag.UniqueIdentifier), priv);
});

test('EC key pairs: the curve from Cryptographic Domain Parameters or from the length; SEC1 and X.509 stored', async (t) => {
  const h = harness();
  const cases: [TtlvItem[], number, string][] = [
    [[alg(Alg.EC), curve(RecommendedCurve.P_384)], 384, 'secp384r1'],
    [[alg(Alg.ECDSA), len(521)], 521, 'secp521r1'],
    [[alg(Alg.ECDH)], 256, 'prime256v1'],
    [[alg(Alg.EC), len(256), curve(RecommendedCurve.P_256)], 256, 'prime256v1'],
  ];
  for (const [common, bits, openssl] of cases) {
    const r = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, common, [mask(Mask.Sign)], [mask(Mask.Verify)])));
    const bp = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(textField(r, Tag.PrivateKeyUniqueIdentifier))])));
    const bq = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(textField(r, Tag.PublicKeyUniqueIdentifier))])));
    t.deepEqual(bp.value.find((i) => i.tag === Tag.KeyFormatType), enumeration(Tag.KeyFormatType, F.ECPrivateKey));
    t.deepEqual(bq.value.find((i) => i.tag === Tag.KeyFormatType), enumeration(Tag.KeyFormatType, F.X_509));
    t.deepEqual(bp.value.find((i) => i.tag === Tag.CryptographicLength), int(Tag.CryptographicLength, bits));
    const k = createPrivateKey({ key: der(bp), format: 'der', type: 'sec1' });
    t.is(k.asymmetricKeyDetails?.namedCurve, openssl);
    const sig = sign(null, Buffer.from('msg'), k);
    t.true(verify(null, Buffer.from('msg'), createPublicKey({ key: der(bq), format: 'der', type: 'spki' }), sig));
    const attrs = await attributes2x(h, textField(r, Tag.PublicKeyUniqueIdentifier));
    t.is(attrs.get(Tag.CryptographicDomainParameters)?.length, 1);
  }
  const mismatch = await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [alg(Alg.EC), len(384), curve(RecommendedCurve.P_256)]));
  t.is(mismatch.reason, ResultReason.InvalidField);
});

test('Ed25519 and Ed448 key pairs (PKCS#8 / X.509); a requested Key Format Type is honoured with a second digest', async (t) => {
  const h = harness();
  for (const [a, type] of [[Alg.Ed25519, 'ed25519'], [Alg.Ed448, 'ed448']] as const) {
    const r = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [alg(a)])));
    const bp = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(textField(r, Tag.PrivateKeyUniqueIdentifier))])));
    t.deepEqual(bp.value.find((i) => i.tag === Tag.KeyFormatType), enumeration(Tag.KeyFormatType, F.PKCS_8));
    t.is(createPrivateKey({ key: der(bp), format: 'der', type: 'pkcs8' }).asymmetricKeyType, type);
    const attrs = await attributes2x(h, textField(r, Tag.PrivateKeyUniqueIdentifier));
    t.deepEqual(attrs.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign)]);
  }
  const r = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [alg(Alg.RSA), len(1024)], [enumeration(Tag.KeyFormatType, F.PKCS_8)], [enumeration(Tag.KeyFormatType, F.TransparentRSAPublicKey)])));
  const priv = textField(r, Tag.PrivateKeyUniqueIdentifier);
  const pub = textField(r, Tag.PublicKeyUniqueIdentifier);
  t.deepEqual(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(priv)]))).value[0], enumeration(Tag.KeyFormatType, F.PKCS_8));
  t.deepEqual(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(pub)]))).value[0], enumeration(Tag.KeyFormatType, F.TransparentRSAPublicKey));
  const pa = await attributes2x(h, priv);
  t.deepEqual(pa.get(Tag.KeyFormatType), [enumeration(Tag.KeyFormatType, F.PKCS_8)]);
  const digestFormats = (pa.get(Tag.Digest) ?? []).map((d) => (d as { value: TtlvItem[] }).value.find((i) => i.tag === Tag.KeyFormatType));
  t.deepEqual(digestFormats, [enumeration(Tag.KeyFormatType, F.PKCS_8), enumeration(Tag.KeyFormatType, F.PKCS_1)]);
  // Default usage masks for RSA when the request gives none.
  t.deepEqual(pa.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign | Mask.Decrypt | Mask.UnwrapKey)]);
});

test('refusals: unsupported sizes and algorithms, halves that disagree, quantum-safe requests, missing algorithm', async (t) => {
  const h = harness();
  const reason = async (common: TtlvItem[], priv: TtlvItem[] = [], pub: TtlvItem[] = []) => (await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, common, priv, pub))).reason;
  t.is(await reason([alg(Alg.RSA), len(512)]), ResultReason.InvalidField);
  t.is(await reason([alg(Alg.RSA), len(8192)]), ResultReason.InvalidField);
  t.is(await reason([alg(Alg.AES), len(256)]), ResultReason.InvalidField);
  t.is(await reason([alg(Alg.DSA), len(2048)]), ResultReason.InvalidField);
  t.is(await reason([len(2048)]), ResultReason.MissingData);
  t.is(await reason([], [alg(Alg.RSA), len(2048)], [alg(Alg.RSA), len(3072)]), ResultReason.InvalidField);
  t.is(await reason([alg(Alg.RSA), len(2048), bool(Tag.QuantumSafe, true)]), ResultReason.GeneralFailure);
  t.is(await reason([alg(Alg.RSA), len(2048)], [enumeration(Tag.KeyFormatType, F.ECPrivateKey)]), ResultReason.InvalidField);
  // Server-set attributes stay the server's.
  t.is(await reason([alg(Alg.RSA), len(2048), enumeration(Tag.State, State.Active)]), ResultReason.InvalidField);
  // Nothing was stored by the failures.
  t.is(await h.store.count('scope-a'), 0);
});

test('1.x Templates named in the Common / Private / Public Template-Attributes apply, explicit attributes win', async (t) => {
  const h = harness();
  const template = (name: string, attrs: TtlvItem[]) => h.one(V1_2, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.Template),
    struct(Tag.TemplateAttribute, [attr1x('Name', nameValue(name))]),
    struct(Tag.Template, attrs),
  ]);
  ok(await template('rsa-2048', [attr1x('Cryptographic Algorithm', alg(Alg.RSA)), attr1x('Cryptographic Length', len(2048)), attr1x('Object Group', text(0, 'from-template'))]));
  ok(await template('signing', [attr1x('Cryptographic Usage Mask', mask(Mask.Sign | Mask.Verify)), attr1x('Contact Information', text(0, 'template'))]));
  const r = ok(await h.one(V1_2, 'CreateKeyPair', [
    struct(Tag.CommonTemplateAttribute, [nameValue('rsa-2048'), attr1x('Cryptographic Length', len(1024))]),
    struct(Tag.PrivateKeyTemplateAttribute, [nameValue('signing'), attr1x('Cryptographic Usage Mask', mask(Mask.Sign))]),
    struct(Tag.PublicKeyTemplateAttribute, [nameValue('signing')]),
  ]));
  const pa = await attributes2x(h, textField(r, Tag.PrivateKeyUniqueIdentifier));
  const qa = await attributes2x(h, textField(r, Tag.PublicKeyUniqueIdentifier));
  t.deepEqual(pa.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 1024)]);
  t.deepEqual(pa.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign)]);
  t.deepEqual(qa.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign | Mask.Verify)]);
  t.deepEqual(qa.get(Tag.ContactInformation), [text(Tag.ContactInformation, 'template')]);
  t.deepEqual(pa.get(Tag.ObjectGroup), [text(Tag.ObjectGroup, 'from-template')]);
  // The templates' own names stay theirs.
  t.is(pa.get(Tag.Name), undefined);
  const missing = await h.one(V1_2, 'CreateKeyPair', [struct(Tag.CommonTemplateAttribute, [nameValue('no-such-template')])]);
  t.is(missing.reason, ResultReason.ItemNotFound);
});
