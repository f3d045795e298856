import test from 'ava';
import { createPrivateKey } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm as Alg, KeyCompressionType, KeyFormatType as F, KeyWrapType, ObjectType, ResultReason,
} from '../ttlv/enums.ts';
import { ItemType, bool, bytes, enumeration, int, struct, type TtlvItem } from '../ttlv/types.ts';
import { materialOf } from '../crypto/key-block.ts';
import { V1_2, V1_4, V2_1, attributeValues, createKey, harness, uidItem, uidOf } from './harness.fixture.ts';
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
    struct(Tag.KeyWrappingData, [enumeration(Tag.WrappingMethod, 1)]),
  ]);
  const u = uidOf(ok(await h.one(V1_4, 'Register', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.TemplateAttribute, []), struct(Tag.SymmetricKey, [wrapped])])));
  t.deepEqual(keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(u), fmt(F.Raw), enumeration(Tag.KeyWrapType, KeyWrapType.AsRegistered)]))), wrapped);
  t.is((await h.one(V1_4, 'Get', [uidItem(u)])).reason, ResultReason.FeatureNotSupported);
});
