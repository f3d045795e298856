import test from 'ava';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { KeyFormatType, ObjectType, RecommendedCurve, ResultReason } from '../ttlv/enums.ts';
import { ItemType, bigInt, bytes, enumeration, int, struct, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { encode } from '../ttlv/writer.ts';
import { KmipError } from '../messages/errors.ts';
import { convertKeyBlock } from './formats.ts';
import { materialOf } from './key-block.ts';
import {
  KeyMaterialError, isEncryptedPkcs8, keyFacts, privateKeyFrom, privateKeyMaterial, publicKeyFrom, publicKeyMaterial,
} from './keys.ts';
import { bytesToBigInt } from './der.ts';
import { RSA2048_PKCS1_DIGEST, RSA2048_PKCS1_HEX, RSA2048_TRANSPARENT_DIGEST } from './test-vectors.fixture.ts';

const F = KeyFormatType;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (s: string | undefined): bigint => bytesToBigInt(Buffer.from(s ?? '', 'base64url'));

function block(format: number, material: TtlvItem, alg = 4, len = 2048): StructureItem {
  return struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, format), struct(Tag.KeyValue, [material]), enumeration(Tag.CryptographicAlgorithm, alg), int(Tag.CryptographicLength, len)]);
}
const der = (b: StructureItem): Uint8Array => {
  const m = materialOf(b);
  if (m?.type !== ItemType.ByteString) throw new Error('not a byte string');
  return m.value;
};
const fields = (b: StructureItem): Map<number, TtlvItem> => {
  const m = materialOf(b);
  if (m?.type !== ItemType.Structure) throw new Error('not a structure');
  return new Map(m.value.map((i) => [i.tag, i]));
};
const big = (m: Map<number, TtlvItem>, tag: number): bigint => {
  const v = m.get(tag);
  if (v?.type !== ItemType.BigInteger) throw new Error(`no big integer ${tag}`);
  return v.value;
};

const vectorKey = Buffer.from(RSA2048_PKCS1_HEX, 'hex');

test('RSA private key: PKCS#1 → PKCS#8 → PKCS#1 and PKCS#1 → Transparent → PKCS#1 give back the same bytes', (t) => {
  const pkcs1 = block(F.PKCS_1, bytes(Tag.KeyMaterial, vectorKey));
  const pkcs8 = convertKeyBlock(ObjectType.PrivateKey, pkcs1, F.PKCS_8);
  t.not(hex(der(pkcs8)), RSA2048_PKCS1_HEX);
  t.is(hex(der(convertKeyBlock(ObjectType.PrivateKey, pkcs8, F.PKCS_1))), RSA2048_PKCS1_HEX);
  const transparent = convertKeyBlock(ObjectType.PrivateKey, pkcs1, F.TransparentRSAPrivateKey);
  t.is(hex(der(convertKeyBlock(ObjectType.PrivateKey, transparent, F.PKCS_1))), RSA2048_PKCS1_HEX);
  t.is(hex(der(convertKeyBlock(ObjectType.PrivateKey, convertKeyBlock(ObjectType.PrivateKey, pkcs8, F.TransparentRSAPrivateKey), F.PKCS_8))), hex(der(pkcs8)));
  // Algorithm and length travel with the block.
  t.deepEqual(transparent.value.slice(2), pkcs1.value.slice(2));
});

test('RSA private key: the transparent numbers are node\'s JWK components, and the digests are TC-182\'s', (t) => {
  const jwk = createPrivateKey({ key: vectorKey, format: 'der', type: 'pkcs1' }).export({ format: 'jwk' });
  const tb = convertKeyBlock(ObjectType.PrivateKey, block(F.PKCS_1, bytes(Tag.KeyMaterial, vectorKey)), F.TransparentRSAPrivateKey);
  const m = fields(tb);
  t.is(big(m, Tag.Modulus), b64(jwk.n));
  t.is(big(m, Tag.PublicExponent), b64(jwk.e));
  t.is(big(m, Tag.PrivateExponent), b64(jwk.d));
  t.is(big(m, Tag.P), b64(jwk.p));
  t.is(big(m, Tag.Q), b64(jwk.q));
  t.is(big(m, Tag.PrimeExponentP), b64(jwk.dp));
  t.is(big(m, Tag.PrimeExponentQ), b64(jwk.dq));
  t.is(big(m, Tag.CRTCoefficient), b64(jwk.qi));
  // The order KMIP lists them in (and TC-133 shows).
  t.deepEqual([...m.keys()], [Tag.Modulus, Tag.PrivateExponent, Tag.PublicExponent, Tag.P, Tag.Q, Tag.PrimeExponentP, Tag.PrimeExponentQ, Tag.CRTCoefficient]);
  t.is(createHash('sha256').update(vectorKey).digest('hex'), RSA2048_PKCS1_DIGEST);
  t.is(createHash('sha256').update(encode(materialOf(tb)!)).digest('hex'), RSA2048_TRANSPARENT_DIGEST);
});

test('RSA public key: PKCS#1 ↔ X.509 ↔ Transparent round trips are byte-exact; modulus = JWK n', (t) => {
  const pub = createPublicKey(createPrivateKey({ key: vectorKey, format: 'der', type: 'pkcs1' }));
  const pkcs1 = pub.export({ format: 'der', type: 'pkcs1' });
  const spki = pub.export({ format: 'der', type: 'spki' });
  const b = block(F.PKCS_1, bytes(Tag.KeyMaterial, pkcs1));
  const x509 = convertKeyBlock(ObjectType.PublicKey, b, F.X_509);
  t.is(hex(der(x509)), hex(spki));
  t.is(hex(der(convertKeyBlock(ObjectType.PublicKey, x509, F.PKCS_1))), hex(pkcs1));
  const tr = convertKeyBlock(ObjectType.PublicKey, b, F.TransparentRSAPublicKey);
  t.is(big(fields(tr), Tag.Modulus), b64(pub.export({ format: 'jwk' }).n));
  t.is(big(fields(tr), Tag.PublicExponent), 65537n);
  t.is(hex(der(convertKeyBlock(ObjectType.PublicKey, tr, F.PKCS_1))), hex(pkcs1));
  t.is(hex(der(convertKeyBlock(ObjectType.PublicKey, tr, F.X_509))), hex(spki));
});

test('a private key cannot be asked for in a public format, nor an RSA key in an EC format', (t) => {
  const b = block(F.PKCS_1, bytes(Tag.KeyMaterial, vectorKey));
  for (const to of [F.X_509, F.ECPrivateKey, F.TransparentECPrivateKey, F.Raw, F.TransparentRSAPublicKey]) {
    const err = t.throws(() => convertKeyBlock(ObjectType.PrivateKey, b, to), { instanceOf: KmipError });
    t.is(err?.reason, ResultReason.KeyFormatTypeNotSupported);
  }
});

const CURVES: [number, string, number][] = [
  [RecommendedCurve.P_256, 'P-256', 256],
  [RecommendedCurve.P_384, 'P-384', 384],
  [RecommendedCurve.P_521, 'P-521', 521],
  [RecommendedCurve.SECP256K1, 'secp256k1', 256],
];

for (const [curve, name, bits] of CURVES) {
  test(`EC ${name}: SEC1 ↔ PKCS#8 ↔ Transparent EC private keys, X.509 ↔ Transparent EC public keys, against the JWK`, (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: name });
    const jwk = privateKey.export({ format: 'jwk' });
    const sec1 = privateKey.export({ format: 'der', type: 'sec1' });
    const b = block(F.ECPrivateKey, bytes(Tag.KeyMaterial, sec1), 0x1a, bits);
    const tr = convertKeyBlock(ObjectType.PrivateKey, b, F.TransparentECPrivateKey);
    const m = fields(tr);
    t.deepEqual(m.get(Tag.RecommendedCurve), enumeration(Tag.RecommendedCurve, curve));
    t.is(big(m, Tag.D), b64(jwk.d));
    t.is(hex(der(convertKeyBlock(ObjectType.PrivateKey, tr, F.ECPrivateKey))), hex(sec1));
    const pkcs8 = convertKeyBlock(ObjectType.PrivateKey, b, F.PKCS_8);
    t.is(hex(der(pkcs8)), hex(privateKey.export({ format: 'der', type: 'pkcs8' })));
    t.is(hex(der(convertKeyBlock(ObjectType.PrivateKey, pkcs8, F.ECPrivateKey))), hex(sec1));
    // 1.0-1.2's Transparent ECDSA layout is the same structure.
    t.deepEqual(materialOf(convertKeyBlock(ObjectType.PrivateKey, b, F.TransparentECDSAPrivateKey)), materialOf(tr));

    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const pb = block(F.X_509, bytes(Tag.KeyMaterial, spki), 0x1a, bits);
    const ptr = convertKeyBlock(ObjectType.PublicKey, pb, F.TransparentECPublicKey);
    const q = fields(ptr).get(Tag.QString);
    t.is(q?.type, ItemType.ByteString);
    t.is(hex((q as { value: Uint8Array }).value), '04' + Buffer.from(jwk.x!, 'base64url').toString('hex') + Buffer.from(jwk.y!, 'base64url').toString('hex'));
    t.is(hex(der(convertKeyBlock(ObjectType.PublicKey, ptr, F.X_509))), hex(spki));
    t.throws(() => convertKeyBlock(ObjectType.PublicKey, pb, F.PKCS_1), { instanceOf: KmipError });
  });
}

test('a transparent EC private key without its public point is completed, and signs like the original', (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const d = b64(privateKey.export({ format: 'jwk' }).d);
  const k = privateKeyFrom(F.TransparentECPrivateKey, struct(Tag.KeyMaterial, [enumeration(Tag.RecommendedCurve, RecommendedCurve.P_384), bigInt(Tag.D, d)]));
  t.deepEqual(keyFacts(k), { family: 'ec', bits: 384, curve: keyFacts(privateKey).curve! });
  const sig = sign('sha384', Buffer.from('data'), k);
  t.true(verify('sha384', Buffer.from('data'), publicKey, sig));
});

test('a Transparent RSA Private Key with only some components is completed to the same key', (t) => {
  const full = privateKeyMaterial(createPrivateKey({ key: vectorKey, format: 'der', type: 'pkcs1' }), F.TransparentRSAPrivateKey)!;
  const m = new Map((full as StructureItem).value.map((i) => [i.tag, i]));
  const pick = (...tags: number[]): TtlvItem => struct(Tag.KeyMaterial, tags.map((x) => m.get(x)!));
  const pkcs1 = (k: KeyObject): string => k.export({ format: 'der', type: 'pkcs1' }).toString('hex');
  // Modulus and both exponents: the primes are recovered by factoring.
  t.is(pkcs1(privateKeyFrom(F.TransparentRSAPrivateKey, pick(Tag.Modulus, Tag.PublicExponent, Tag.PrivateExponent))), RSA2048_PKCS1_HEX);
  // Modulus, primes and public exponent: d is derived (mod λ(n)), so the encoding may differ, the key does not.
  const derived = privateKeyFrom(F.TransparentRSAPrivateKey, pick(Tag.Modulus, Tag.PublicExponent, Tag.P, Tag.Q));
  const sig = sign('sha256', Buffer.from('m'), derived);
  t.true(verify('sha256', Buffer.from('m'), createPublicKey(createPrivateKey({ key: vectorKey, format: 'der', type: 'pkcs1' })), sig));
  // Modulus alone is not a private key.
  t.throws(() => privateKeyFrom(F.TransparentRSAPrivateKey, pick(Tag.Modulus)), { instanceOf: KeyMaterialError });
  // Primes that do not multiply to the modulus are refused.
  const bad = struct(Tag.KeyMaterial, [m.get(Tag.Modulus)!, m.get(Tag.PublicExponent)!, bigInt(Tag.P, 7n), m.get(Tag.Q)!]);
  t.throws(() => privateKeyFrom(F.TransparentRSAPrivateKey, bad), { instanceOf: KeyMaterialError, message: /Modulus/ });
});

test('Ed25519 keys are PKCS#8 / X.509 only', (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  t.deepEqual(keyFacts(privateKey), { family: 'ed25519', bits: 256 });
  t.truthy(privateKeyMaterial(privateKey, F.PKCS_8));
  t.is(privateKeyMaterial(privateKey, F.PKCS_1), undefined);
  t.is(privateKeyMaterial(privateKey, F.ECPrivateKey), undefined);
  t.truthy(publicKeyMaterial(publicKey, F.X_509));
  t.is(publicKeyMaterial(publicKey, F.TransparentECPublicKey), undefined);
});

test('unreadable key material is a KeyMaterialError naming the format, never the bytes', (t) => {
  const junk = Buffer.from('3082010a0282010100deadbeefcafebabe00112233', 'hex');
  for (const [format, fn] of [[F.PKCS_1, privateKeyFrom], [F.PKCS_8, privateKeyFrom], [F.ECPrivateKey, privateKeyFrom], [F.X_509, publicKeyFrom], [F.PKCS_1, publicKeyFrom]] as const) {
    const err = t.throws(() => fn(format, bytes(Tag.KeyMaterial, junk)), { instanceOf: KeyMaterialError });
    t.false(err!.message.toLowerCase().includes('deadbeef'));
    t.false(err!.message.includes(junk.toString('base64')));
  }
  t.throws(() => privateKeyFrom(F.PKCS_1, struct(Tag.KeyMaterial, [])), { instanceOf: KeyMaterialError, message: /byte string/ });
  t.throws(() => privateKeyFrom(F.TransparentRSAPrivateKey, bytes(Tag.KeyMaterial, junk)), { instanceOf: KeyMaterialError, message: /structure/ });
});

test('an encrypted PKCS#8 key is recognised and not read', (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const enc = privateKey.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'test passphrase' });
  t.true(isEncryptedPkcs8(enc));
  t.false(isEncryptedPkcs8(privateKey.export({ format: 'der', type: 'pkcs8' })));
  t.throws(() => privateKeyFrom(F.PKCS_8, bytes(Tag.KeyMaterial, enc)), { instanceOf: KeyMaterialError, message: /encrypted/ });
  // Get cannot convert it either.
  t.throws(() => convertKeyBlock(ObjectType.PrivateKey, block(F.PKCS_8, bytes(Tag.KeyMaterial, enc), 0x1a, 256), F.ECPrivateKey), { instanceOf: KmipError });
});

test('symmetric keys convert between Raw and Transparent Symmetric Key; a wrapped key converts to nothing', (t) => {
  const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const raw = block(F.Raw, bytes(Tag.KeyMaterial, key), 3, 128);
  const tr = convertKeyBlock(ObjectType.SymmetricKey, raw, F.TransparentSymmetricKey);
  t.deepEqual(materialOf(tr), struct(Tag.KeyMaterial, [bytes(Tag.Key, key)]));
  t.deepEqual(convertKeyBlock(ObjectType.SymmetricKey, tr, F.Raw), raw);
  const wrapped = struct(Tag.KeyBlock, [...raw.value, struct(Tag.KeyWrappingData, [enumeration(Tag.WrappingMethod, 1)])]);
  t.throws(() => convertKeyBlock(ObjectType.SymmetricKey, wrapped, F.TransparentSymmetricKey), { instanceOf: KmipError });
});
