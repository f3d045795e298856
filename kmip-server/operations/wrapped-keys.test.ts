import test from 'ava';
import { constants, createCipheriv, createDecipheriv, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  BlockCipherMode, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, EncodingOption, HashingAlgorithm, KeyFormatType as F, KeyWrapType,
  LinkType, ObjectType, PaddingMethod, ResultReason, WrappingMethod,
} from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { encode } from '../ttlv/writer.ts';
import type { ProtocolVersion } from '../client/client.ts';
import { V1_4, V2_1, harness, identity, uidItem, uidOf, type Harness } from './harness.fixture.ts';
import { container, keyBlockOf, ok } from './key-ops.fixture.ts';
import { activeSince, mask, params, privateBody, publicBody, register, registerSymmetric } from './crypto-ops.fixture.ts';

const IV_KW = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const kw = (kek: Buffer, plain: Buffer): Buffer => {
  const c = createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, IV_KW);
  return Buffer.concat([c.update(plain), c.final()]);
};
const unkw = (kek: Buffer, wrapped: Uint8Array): Buffer => {
  const d = createDecipheriv(`id-aes${kek.length * 8}-wrap`, kek, IV_KW);
  return Buffer.concat([d.update(wrapped), d.final()]);
};

const kekInfo = (uid: string, p: TtlvItem[] = [enumeration(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)]): StructureItem =>
  struct(Tag.EncryptionKeyInformation, [uidItem(uid), ...(p.length ? [params(...p)] : [])]);

/** A Symmetric Key whose Key Value is the wrapped bytes, as a client registers a key wrapped under a server key. */
function wrappedAes(wrapped: Buffer, info: StructureItem, encoding: number = EncodingOption.NoEncoding, bits = 256): StructureItem {
  return struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, F.Raw), bytes(Tag.KeyValue, wrapped), enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, bits),
    struct(Tag.KeyWrappingData, [enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt), info, enumeration(Tag.EncodingOption, encoding)]),
  ])]);
}

const kvOf = (block: StructureItem): TtlvItem | undefined => block.value.find((i) => i.tag === Tag.KeyValue);
const materialBytes = (block: StructureItem): Buffer => {
  const kv = kvOf(block);
  const m = kv?.type === ItemType.Structure ? kv.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
  if (m?.type !== ItemType.ByteString) throw new Error('no plaintext Key Material');
  return Buffer.from(m.value);
};
const wrappedBytes = (block: StructureItem): Buffer => {
  const kv = kvOf(block);
  if (kv?.type !== ItemType.ByteString) throw new Error('Key Value is not wrapped bytes');
  return Buffer.from(kv.value);
};

async function setup(h: Harness, v: ProtocolVersion, kekMask = Mask.WrapKey | Mask.UnwrapKey) {
  const kekBytes = randomBytes(32);
  const kek = await registerSymmetric(h, v, kekBytes, Alg.AES, [mask(kekMask), activeSince()]);
  const key = randomBytes(32);
  const wrapped = kw(kekBytes, key);
  const uid = await register(h, v, ObjectType.SymmetricKey, wrappedAes(wrapped, kekInfo(kek)), [mask(Mask.Encrypt | Mask.Decrypt), activeSince()]);
  return { kekBytes, kek, key, wrapped, uid };
}

test('a key registered wrapped under a server key (AES-KW) comes back as registered; the client unwraps it', async (t) => {
  for (const v of [V1_4, V2_1]) {
    const h = harness();
    const s = await setup(h, v);
    const block = keyBlockOf(ok(await h.one(v, 'Get', [uidItem(s.uid)])));
    t.deepEqual(wrappedBytes(block), s.wrapped);
    t.deepEqual(unkw(s.kekBytes, wrappedBytes(block)), s.key);
    t.truthy(block.value.find((i) => i.tag === Tag.KeyWrappingData));
    // As Registered says the same; a Key Wrapping Specification equal to the stored wrapping is the stored value.
    t.deepEqual(keyBlockOf(ok(await h.one(v, 'Get', [uidItem(s.uid), enumeration(Tag.KeyWrapType, KeyWrapType.AsRegistered)]))), block);
    const same = struct(Tag.KeyWrappingSpecification, [enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt), kekInfo(s.kek), enumeration(Tag.EncodingOption, EncodingOption.NoEncoding)]);
    t.deepEqual(keyBlockOf(ok(await h.one(v, 'Get', [uidItem(s.uid), same]))), block);
    // The server cannot compute a digest of material it never saw.
    const attrs = await h.one(V1_4, 'GetAttributes', [uidItem(s.uid), text(Tag.AttributeName, 'Digest')]);
    t.is(ok(attrs).payload?.value.filter((i) => i.tag === Tag.Attribute).length, 0);
    // Its Key Wrapping Data says Encoding Option (1.1): a 1.0 reader could not decode the Key Block as stored.
    t.is((await h.one({ major: 1, minor: 0 }, 'Get', [uidItem(s.uid)])).reason, ResultReason.FeatureNotSupported);
  }
});

test('Key Wrap Type Not Wrapped unwraps under the named key; another Key Wrapping Specification re-wraps', async (t) => {
  const h = harness();
  const s = await setup(h, V2_1);
  const plain = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(s.uid), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])));
  t.deepEqual(materialBytes(plain), s.key);
  t.falsy(plain.value.find((i) => i.tag === Tag.KeyWrappingData));

  const kek2Bytes = randomBytes(16);
  const kek2 = await registerSymmetric(h, V2_1, kek2Bytes, Alg.AES, [mask(Mask.WrapKey), activeSince()]);
  const spec = struct(Tag.KeyWrappingSpecification, [enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt), kekInfo(kek2), enumeration(Tag.EncodingOption, EncodingOption.NoEncoding)]);
  const rewrapped = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(s.uid), spec])));
  t.deepEqual(unkw(kek2Bytes, wrappedBytes(rewrapped)), s.key);
  // Not Wrapped and a Key Wrapping Specification contradict each other.
  t.is((await h.one(V2_1, 'Get', [uidItem(s.uid), spec, enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])).reason, ResultReason.InvalidField);
  // The stored form is served in its registered format only.
  t.is((await h.one(V2_1, 'Get', [uidItem(s.uid), enumeration(Tag.KeyFormatType, F.TransparentSymmetricKey)])).reason, ResultReason.KeyFormatTypeNotSupported);
});

test('a still-wrapped key is never used: Encrypt fails with a spec error, and the stored value is unchanged', async (t) => {
  const h = harness();
  const s = await setup(h, V2_1);
  const r = await h.one(V2_1, 'Encrypt', [uidItem(s.uid), params(enumeration(Tag.BlockCipherMode, BlockCipherMode.ECB)), bytes(Tag.Data, Buffer.alloc(16))]);
  t.is(r.reason, ResultReason.FeatureNotSupported);
  t.regex(r.message ?? '', /wrapped/);
  t.falsy(r.payload);
  t.deepEqual(wrappedBytes(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(s.uid)])))), s.wrapped);
});

test('unwrapping checks integrity, the key\'s Unwrap Key permission and the caller\'s scope', async (t) => {
  const h = harness();
  const s = await setup(h, V2_1);
  // Claims the server KEK but was wrapped under another key: AES-KW's integrity check catches it.
  const liar = await register(h, V2_1, ObjectType.SymmetricKey, wrappedAes(kw(randomBytes(32), randomBytes(32)), kekInfo(s.kek)), [mask(Mask.Encrypt)]);
  t.is((await h.one(V2_1, 'Get', [uidItem(liar), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])).reason, ResultReason.CryptographicFailure);

  // A KEK allowed to wrap but not to unwrap.
  const h2 = harness();
  const w = await setup(h2, V2_1, Mask.WrapKey);
  t.is((await h2.one(V2_1, 'Get', [uidItem(w.uid), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])).reason, ResultReason.IncompatibleCryptographicUsageMask);
  t.is((await h2.one(V1_4, 'Get', [uidItem(w.uid), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])).reason, ResultReason.PermissionDenied);

  // Another scope registers a key naming scope A's KEK: for scope B that KEK does not exist.
  const b = identity('scope-b');
  const foreign = uidOf(ok(await h.one(V2_1, 'Register', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.Attributes, []), wrappedAes(s.wrapped, kekInfo(s.kek))], b)));
  t.is((await h.one(V2_1, 'Get', [uidItem(foreign), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)], b)).reason, ResultReason.WrappingObjectNotFound);
  t.is((await h.one(V1_4, 'Get', [uidItem(foreign), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)], b)).reason, ResultReason.ItemNotFound);
});

test('a key wrapped with RSA-OAEP under a server public key (TTLV encoding) unwraps with its private key', async (t) => {
  const h = harness();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const priv = await register(h, V2_1, ObjectType.PrivateKey, privateBody(F.PKCS_1, privateKey.export({ format: 'der', type: 'pkcs1' }), Alg.RSA, 2048), [mask(Mask.UnwrapKey), activeSince()]);
  const pub = await register(h, V2_1, ObjectType.PublicKey, publicBody(F.PKCS_1, publicKey.export({ format: 'der', type: 'pkcs1' }), Alg.RSA, 2048), [
    mask(Mask.WrapKey), activeSince(), struct(Tag.Link, [enumeration(Tag.LinkType, LinkType.PrivateKeyLink), text(Tag.LinkedObjectIdentifier, priv)]),
  ]);
  const key = randomBytes(32);
  const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encode(struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, key)])));
  const oaep = [enumeration(Tag.PaddingMethod, PaddingMethod.OAEP), enumeration(Tag.HashingAlgorithm, HashingAlgorithm.SHA_256)];
  const uid = await register(h, V2_1, ObjectType.SymmetricKey, wrappedAes(wrapped, kekInfo(pub, oaep), EncodingOption.TTLVEncoding), [mask(Mask.Encrypt)]);
  t.deepEqual(materialBytes(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(uid), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])))), key);
  // Naming the private key directly works too.
  const direct = await register(h, V2_1, ObjectType.SymmetricKey, wrappedAes(wrapped, kekInfo(priv, oaep), EncodingOption.TTLVEncoding), [mask(Mask.Encrypt)]);
  t.deepEqual(materialBytes(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(direct), enumeration(Tag.KeyWrapType, KeyWrapType.NotWrapped)])))), key);
});

test('Register refuses Key Wrapping Data that does not say how the key was wrapped', async (t) => {
  const h = harness();
  const reg = (body: StructureItem) => h.one(V2_1, 'Register', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), container(V2_1, 0, Tag.Attributes, []), body]);
  const blockWith = (kv: TtlvItem, kwd: TtlvItem[]) => struct(Tag.SymmetricKey, [struct(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, F.Raw), kv, enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128), struct(Tag.KeyWrappingData, kwd),
  ])]);
  const wrapped = bytes(Tag.KeyValue, randomBytes(24));
  const method = enumeration(Tag.WrappingMethod, WrappingMethod.Encrypt);
  t.is((await reg(blockWith(wrapped, [method]))).reason, ResultReason.MissingData);
  t.is((await reg(blockWith(wrapped, [kekInfo('k')]))).reason, ResultReason.MissingData);
  // TTLV encoding (the default) wraps the whole Key Value: a Key Value structure cannot be that.
  t.is((await reg(blockWith(struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, randomBytes(24))]), [method, kekInfo('k')]))).reason, ResultReason.InvalidField);
  ok(await reg(blockWith(wrapped, [method, kekInfo('k')])));
});
