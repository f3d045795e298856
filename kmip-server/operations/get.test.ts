import test from 'ava';
import { constants, createDecipheriv, createPrivateKey, privateDecrypt } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  BlockCipherMode, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, EncodingOption, HashingAlgorithm, KeyCompressionType, KeyFormatType as F,
  KeyWrapType, ObjectType, PaddingMethod, ResultReason, WrappingMethod,
} from '../ttlv/enums.ts';
import { ItemType, bool, bytes, dateTime, enumeration, int, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { decode } from '../ttlv/reader.ts';
import { materialOf } from '../crypto/key-block.ts';
import { V1_2, V1_4, V2_1, attr1x, attributeValues, createKey, harness, uidItem, uidOf } from './harness.fixture.ts';
import { keyBlockOf, keyPairPayload, ok, textField } from './key-ops.fixture.ts';
import { RSA2048_PKCS1_HEX } from '../crypto/test-vectors.fixture.ts';

const fmt = (f: number): TtlvItem => enumeration(Tag.KeyFormatType, f);

test('Get converts a stored RSA private key to PKCS#8 and Transparent and back, byte-exact', async (t) => {
  const h = harness();
  const u = uidOf(ok(await h.one(V1_4, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.PrivateKey),
    struct(Tag.TemplateAttribute, []),
    struct(Tag.PrivateKey, [struct(Tag.KeyBlock, [
      fmt(F.PKCS_1), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from(RSA2048_PKCS1_HEX, 'hex'))]),
      enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 2048),
    ])]),
  ])));
  const pkcs8 = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(u), fmt(F.PKCS_8)])));
  t.deepEqual(pkcs8.value[0], fmt(F.PKCS_8));
  const m = materialOf(pkcs8);
  t.is(m?.type, ItemType.ByteString);
  const k = createPrivateKey({ key: Buffer.from((m as { value: Uint8Array }).value), format: 'der', type: 'pkcs8' });
  t.is(k.export({ format: 'der', type: 'pkcs1' }).toString('hex'), RSA2048_PKCS1_HEX);
  const tr = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(u), fmt(F.TransparentRSAPrivateKey)])));
  t.is(materialOf(tr)?.type, ItemType.Structure);
  t.deepEqual(tr.value.slice(2), [enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 2048)]);
  // The stored form is untouched.
  const stored = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(u)])));
  t.deepEqual(stored.value[0], fmt(F.PKCS_1));
  // Formats that cannot hold the key.
  for (const f of [F.X_509, F.ECPrivateKey, F.Raw, F.TransparentSymmetricKey, F.PKCS_12]) {
    t.is((await h.one(V1_4, 'Get', [uidItem(u), fmt(f)])).reason, ResultReason.KeyFormatTypeNotSupported);
  }
});

test('Get of a generated key pair in other formats: X.509 public key, Transparent EC, compression', async (t) => {
  const h = harness();
  const r = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [enumeration(Tag.CryptographicAlgorithm, Alg.EC), int(Tag.CryptographicLength, 256)])));
  const pub = textField(r, Tag.PublicKeyUniqueIdentifier);
  const priv = textField(r, Tag.PrivateKeyUniqueIdentifier);
  const q = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(pub), fmt(F.TransparentECPublicKey)])));
  const qs = (materialOf(q) as { value: TtlvItem[] }).value.find((i) => i.tag === Tag.QString) as { value: Uint8Array };
  t.is(qs.value.length, 65);
  t.is(qs.value[0], 4);
  ok(await h.one(V2_1, 'Get', [uidItem(priv), fmt(F.PKCS_8)]));
  ok(await h.one(V2_1, 'Get', [uidItem(pub), enumeration(Tag.KeyCompressionType, KeyCompressionType.ECPublicKeyTypeUncompressed)]));
  t.is((await h.one(V2_1, 'Get', [uidItem(pub), enumeration(Tag.KeyCompressionType, KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime)])).reason, ResultReason.KeyCompressionTypeNotSupported);
  t.is((await h.one(V2_1, 'Get', [uidItem(pub), fmt(F.PKCS_1)])).reason, ResultReason.KeyFormatTypeNotSupported);
});

test('serving an object clears Fresh', async (t) => {
  const h = harness();
  const u = await createKey(h, V1_4);
  t.deepEqual(await attributeValues(h, u, 'Fresh'), [bool(Tag.AttributeValue, true)]);
  ok(await h.one(V1_4, 'Get', [uidItem(u)]));
  t.deepEqual(await attributeValues(h, u, 'Fresh'), [bool(Tag.AttributeValue, false)]);
});

test('Sensitive keys are not served in the clear; non-extractable keys not at all', async (t) => {
  const h = harness();
  const sensitive = await createKey(h, V2_1, [bool(Tag.Sensitive, true)]);
  t.is((await h.one(V2_1, 'Get', [uidItem(sensitive)])).reason, ResultReason.Sensitive);
  t.deepEqual(await attributeValues(h, sensitive, 'Always Sensitive'), [bool(Tag.AttributeValue, true)]);
  const fixed = await createKey(h, V2_1, [bool(Tag.Extractable, false)]);
  t.is((await h.one(V2_1, 'Get', [uidItem(fixed)])).reason, ResultReason.NotExtractable);
  t.deepEqual(await attributeValues(h, fixed, 'Never Extractable'), [bool(Tag.AttributeValue, true)]);
});

test('a destroyed object: Object Destroyed in 2.x, Item Not Found in 1.x; no identifier and no placeholder is Item Not Found', async (t) => {
  const h = harness();
  const u = await createKey(h, V1_4);
  ok(await h.one(V1_4, 'Destroy', [uidItem(u)]));
  t.is((await h.one(V2_1, 'Get', [uidItem(u)])).reason, ResultReason.ObjectDestroyed);
  t.is((await h.one(V1_2, 'Get', [uidItem(u)])).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V1_2, 'Get', [])).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V1_2, 'Get', [uidItem('no-such-object')])).reason, ResultReason.ItemNotFound);
});

test('Key Wrap Type As Registered returns a wrapped key as registered; otherwise it is not unwrapped', async (t) => {
  const h = harness();
  const wrapped = struct(Tag.KeyBlock, [
    fmt(F.Raw), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5', 'hex'))]),
    enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128),
    struct(Tag.KeyWrappingData, [
      enumeration(Tag.WrappingMethod, 1), struct(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, 'kek')]), enumeration(Tag.EncodingOption, EncodingOption.NoEncoding),
    ]),
  ]);
  const u = uidOf(ok(await h.one(V1_4, 'Register', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.TemplateAttribute, []), struct(Tag.SymmetricKey, [wrapped])])));
  t.deepEqual(keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(u), fmt(F.Raw), enumeration(Tag.KeyWrapType, KeyWrapType.AsRegistered)]))), wrapped);
  // Without a Key Wrap Type it is served as registered too (key-unwrap.ts); unwrapping needs the key it names.
  t.deepEqual(keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(u)]))), wrapped);
  const nw = await h.one(V1_4, 'Get', [uidItem(u), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)]);
  t.is(nw.reason, ResultReason.ItemNotFound, nw.message);
});

// ---- Key Wrapping Specification ----

const KEK = '000102030405060708090a0b0c0d0e0f';
const KEY = '00112233445566778899aabbccddeeff';

async function registerAes(h: ReturnType<typeof harness>, keyHex: string, attrs: TtlvItem[]): Promise<string> {
  return uidOf(ok(await h.one(V1_4, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
    struct(Tag.TemplateAttribute, attrs),
    struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
      fmt(F.Raw), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from(keyHex, 'hex'))]),
      enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, keyHex.length * 4),
    ])]),
  ])));
}

const wrapSpec = (kek: string, extra: TtlvItem[] = [], params: TtlvItem[] = [enumeration(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)]): TtlvItem =>
  struct(Tag.KeyWrappingSpecification, [
    enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt),
    struct(Tag.EncryptionKeyInformation, [uidItem(kek), ...(params.length ? [struct(Tag.CryptographicParameters, params)] : [])]),
    ...extra,
  ]);

const wrappedValue = (r: Parameters<typeof keyBlockOf>[0]): Buffer => {
  const kv = keyBlockOf(r).value.find((i) => i.tag === Tag.KeyValue);
  if (kv?.type !== ItemType.ByteString) throw new Error('Key Value is not wrapped bytes');
  return Buffer.from(kv.value);
};

test('Get wraps with AES Key Wrap: No Encoding gives RFC 3394\'s answer; TTLV encoding wraps the Key Value structure', async (t) => {
  const h = harness();
  const kek = await registerAes(h, KEK, [attr1x('Cryptographic Usage Mask', int(0, Mask.WrapKey)), attr1x('Activation Date', dateTime(0, Math.floor(Date.now() / 1000) - 60))]);
  const key = await registerAes(h, KEY, [attr1x('Cryptographic Usage Mask', int(0, Mask.Encrypt)), attr1x('Contact Information', text(0, 'ops'))]);
  const raw = ok(await h.one(V1_4, 'Get', [uidItem(key), wrapSpec(kek, [enumeration(Tag.EncodingOption, EncodingOption.NoEncoding)])]));
  t.is(wrappedValue(raw).toString('hex'), '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
  const data = keyBlockOf(raw).value.at(-1);
  t.is(data?.tag, Tag.KeyWrappingData);

  const ttlv = ok(await h.one(V1_4, 'Get', [uidItem(key), wrapSpec(kek, [text(Tag.AttributeName, 'Contact Information')])]));
  const d = createDecipheriv('id-aes128-wrap', Buffer.from(KEK, 'hex'), Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  const plain = Buffer.concat([d.update(wrappedValue(ttlv)), d.final()]);
  t.deepEqual(decode(plain), struct(Tag.KeyValue, [
    bytes(Tag.KeyMaterial, Buffer.from(KEY, 'hex')),
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Contact Information'), text(Tag.AttributeValue, 'ops')]),
  ]));
  // Attributes cannot travel without an encoding.
  const bad = await h.one(V1_4, 'Get', [uidItem(key), wrapSpec(kek, [text(Tag.AttributeName, 'Contact Information'), enumeration(Tag.EncodingOption, EncodingOption.NoEncoding)])]);
  t.is(bad.reason, ResultReason.EncodingOptionError);
});

test('the wrapping key must exist, be Active and allow Wrap Key; a Sensitive key may leave wrapped', async (t) => {
  const h = harness();
  const preActive = await registerAes(h, KEK, [attr1x('Cryptographic Usage Mask', int(0, Mask.WrapKey))]);
  const noWrap = await registerAes(h, KEK, [attr1x('Cryptographic Usage Mask', int(0, Mask.Encrypt)), attr1x('Activation Date', dateTime(0, 1))]);
  const kek = await registerAes(h, KEK, [attr1x('Cryptographic Usage Mask', int(0, Mask.WrapKey)), attr1x('Activation Date', dateTime(0, 1))]);
  const key = uidOf(ok(await h.one(V2_1, 'Create', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.Attributes, [
    enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 256), int(Tag.CryptographicUsageMask, Mask.Encrypt), bool(Tag.Sensitive, true),
  ])])));
  t.is((await h.one(V2_1, 'Get', [uidItem(key), wrapSpec('missing')])).reason, ResultReason.WrappingObjectNotFound);
  t.is((await h.one(V1_4, 'Get', [uidItem(key), wrapSpec('missing')])).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V2_1, 'Get', [uidItem(key), wrapSpec(preActive)])).reason, ResultReason.WrongKeyLifecycleState);
  t.is((await h.one(V2_1, 'Get', [uidItem(key), wrapSpec(noWrap)])).reason, ResultReason.IncompatibleCryptographicUsageMask);
  t.is(wrappedValue(ok(await h.one(V2_1, 'Get', [uidItem(key), wrapSpec(kek)]))).length, 32 + 8 + 8 + 8);
  // Padding mode takes material of any length.
  t.true(wrappedValue(ok(await h.one(V2_1, 'Get', [uidItem(key), wrapSpec(kek, [], [enumeration(Tag.BlockCipherMode, BlockCipherMode.AESKeyWrapPadding)])]))).length > 0);
  t.is((await h.one(V2_1, 'Get', [uidItem(key), wrapSpec(kek, [], [enumeration(Tag.BlockCipherMode, BlockCipherMode.GCM)])])).reason, ResultReason.FeatureNotSupported);
});

test('Get wraps under an RSA public key with OAEP; the private key unwraps it', async (t) => {
  const h = harness();
  const pair = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 2048), dateTime(Tag.ActivationDate, 1)],
    [int(Tag.CryptographicUsageMask, Mask.UnwrapKey)], [int(Tag.CryptographicUsageMask, Mask.WrapKey)])));
  const key = await createKey(h, V2_1);
  const r = ok(await h.one(V2_1, 'Get', [uidItem(key), wrapSpec(textField(pair, Tag.PublicKeyUniqueIdentifier), [], [enumeration(Tag.PaddingMethod, PaddingMethod.OAEP), enumeration(Tag.HashingAlgorithm, HashingAlgorithm.SHA_256)])]));
  const privDer = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(textField(pair, Tag.PrivateKeyUniqueIdentifier))]))).value.find((i) => i.tag === Tag.KeyValue) as { value: TtlvItem[] };
  const privateKey = createPrivateKey({ key: Buffer.from((privDer.value[0] as { value: Uint8Array }).value), format: 'der', type: 'pkcs1' });
  const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrappedValue(r));
  const kv = decode(plain);
  t.is(kv.tag, Tag.KeyValue);
  t.deepEqual(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(key)]))).value.find((i) => i.tag === Tag.KeyValue), kv);
});
