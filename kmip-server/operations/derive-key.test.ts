import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import {
  BlockCipherMode, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, DerivationMethod, HashingAlgorithm as H, KeyFormatType as F, LinkType,
  ObjectType, ResultReason, SecretDataType,
} from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, struct, type TtlvItem } from '../ttlv/types.ts';
import type { ProtocolVersion } from '../client/client.ts';
import { V1_4, V2_1, harness, uidItem, uidOf } from './harness.fixture.ts';
import { attributes2x, container, keyBlockOf, links, ok } from './key-ops.fixture.ts';
import { activeSince, hex, mask, params, register, registerSymmetric } from './crypto-ops.fixture.ts';

const derivePayload = (v: ProtocolVersion, objectType: number, uids: string[], method: number, dp: TtlvItem[], attrs: TtlvItem[]): TtlvItem[] => [
  enumeration(Tag.ObjectType, objectType), ...uids.map(uidItem), enumeration(Tag.DerivationMethod, method),
  struct(Tag.DerivationParameters, dp), container(v, Tag.TemplateAttribute, Tag.Attributes, attrs),
];
const aes128 = [enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128), int(Tag.CryptographicUsageMask, Mask.Encrypt | Mask.Decrypt)];

function material(r: ReturnType<typeof keyBlockOf>): string {
  const kv = r.value.find((i) => i.tag === Tag.KeyValue);
  const m = kv?.type === ItemType.Structure ? kv.value.find((i) => i.tag === Tag.KeyMaterial) : undefined;
  return m?.type === ItemType.ByteString ? Buffer.from(m.value).toString('hex') : '';
}

test('HASH derivation of the key itself (TC-DERIVEKEY-1): the derived key, its links both ways, the ID Placeholder', async (t) => {
  const h = harness();
  const base = await registerSymmetric(h, V1_4, hex('00112233445566778899aabbccddeeff'), Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt | Mask.DeriveKey), activeSince()]);
  const [d, g] = await h.send(V1_4, [
    { operation: 'DeriveKey', payload: derivePayload(V1_4, ObjectType.SymmetricKey, [base], DerivationMethod.HASH, [params(enumeration(Tag.HashingAlgorithm, H.SHA_256))], aes128) },
    { operation: 'Get', payload: [] },
  ]);
  const derived = uidOf(ok(d!));
  const block = keyBlockOf(ok(g!));
  t.is(material(block), 'a8faed6abbf35c12a4b26e40f6feb19d');
  t.deepEqual(block.value.slice(2), [enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128)]);
  t.deepEqual(links((await attributes2x(h, derived)).get(Tag.Link)), [[LinkType.DerivationBaseObjectLink, base]]);
  t.deepEqual(links((await attributes2x(h, base)).get(Tag.Link)), [[LinkType.DerivedKeyLink, derived]]);
  t.is((await attributes2x(h, derived)).get(Tag.Digest)?.length, 1);
});

test('PBKDF2 from a password Secret Data (RFC 6070), HKDF (RFC 5869), HMAC and ENCRYPT derivations', async (t) => {
  const h = harness();
  const password = await register(h, V2_1, ObjectType.SecretData, struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Password),
    struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from('password'))])])]), [mask(Mask.DeriveKey), activeSince()]);
  const secret = (bits: number) => [int(Tag.CryptographicLength, bits), int(Tag.CryptographicUsageMask, Mask.DeriveKey)];
  const get = async (r: Awaited<ReturnType<typeof h.one>>) => material(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(uidOf(ok(r)))]))));

  const p = await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SecretData, [password], DerivationMethod.PBKDF2,
    [params(enumeration(Tag.HashingAlgorithm, H.SHA_1)), bytes(Tag.Salt, Buffer.from('salt')), int(Tag.IterationCount, 2)], secret(160)));
  t.is(await get(p), 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');

  const ikm = await registerSymmetric(h, V2_1, Buffer.alloc(22, 0x0b), Alg.HMAC_SHA256, [mask(Mask.DeriveKey), activeSince()]);
  const k = await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SecretData, [ikm], DerivationMethod.HKDF,
    [params(enumeration(Tag.HashingAlgorithm, H.SHA_256)), bytes(Tag.Salt, hex('000102030405060708090a0b0c')), bytes(Tag.DerivationData, hex('f0f1f2f3f4f5f6f7f8f9'))], secret(336)));
  t.is(await get(k), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');

  const m = await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SymmetricKey, [ikm], DerivationMethod.HMAC, [bytes(Tag.DerivationData, Buffer.from('label'))], aes128));
  t.is((await get(m)).length, 32);

  const aes = await registerSymmetric(h, V2_1, hex('2b7e151628aed2a6abf7158809cf4f3c'), Alg.AES, [mask(Mask.DeriveKey), activeSince()]);
  const e = await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SymmetricKey, [aes], DerivationMethod.ENCRYPT,
    [params(enumeration(Tag.BlockCipherMode, BlockCipherMode.ECB)), bytes(Tag.DerivationData, hex('6bc1bee22e409f96e93d7e117393172a'))], aes128));
  t.is(await get(e), '3ad77bb40d7a3660a89ecaf32466ef97');
});

test('Derive Key refusals: no Derive Key bit, too long for the method, both Derivation Data and a Secret Data, no identifier', async (t) => {
  const h = harness();
  const noBit = await registerSymmetric(h, V2_1, hex('00112233445566778899aabbccddeeff'), Alg.AES, [mask(Mask.Encrypt), activeSince()]);
  const hash = [params(enumeration(Tag.HashingAlgorithm, H.SHA_256))];
  t.is((await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SymmetricKey, [noBit], DerivationMethod.HASH, hash, aes128))).reason, ResultReason.IncompatibleCryptographicUsageMask);
  t.is((await h.one(V1_4, 'DeriveKey', derivePayload(V1_4, ObjectType.SymmetricKey, [noBit], DerivationMethod.HASH, hash, aes128))).reason, ResultReason.PermissionDenied);
  const base = await registerSymmetric(h, V2_1, hex('00112233445566778899aabbccddeeff'), Alg.AES, [mask(Mask.DeriveKey), activeSince()]);
  const long = [int(Tag.CryptographicLength, 512), int(Tag.CryptographicUsageMask, Mask.Encrypt)];
  t.is((await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SecretData, [base], DerivationMethod.HASH, hash, long))).reason, ResultReason.CryptographicFailure);
  const sd = await register(h, V2_1, ObjectType.SecretData, struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Seed),
    struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.alloc(8))])])]), [mask(Mask.DeriveKey), activeSince()]);
  t.is((await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SymmetricKey, [base, sd], DerivationMethod.HASH, [...hash, bytes(Tag.DerivationData, Buffer.alloc(1))], aes128))).reason,
    ResultReason.InvalidMessage);
  t.is((await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SymmetricKey, [], DerivationMethod.HASH, hash, aes128))).reason, ResultReason.MissingData);
  t.is((await h.one(V2_1, 'DeriveKey', derivePayload(V2_1, ObjectType.SymmetricKey, [base], DerivationMethod.NIST800_108_C, hash, aes128))).reason,
    ResultReason.UnsupportedCryptographicParameters);
});
