import test from 'ava';
import { constants, createPublicKey, generateKeyPairSync, verify as nodeVerify } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, DigitalSignatureAlgorithm as DSA, HashingAlgorithm as H, KeyFormatType as F, ObjectType,
  PaddingMethod, ResultReason, RevocationReasonCode, ValidityIndicator,
} from '../ttlv/enums.ts';
import { bool, bytes, enumeration, struct } from '../ttlv/types.ts';
import { V1_4, V2_1, harness, uidItem } from './harness.fixture.ts';
import { ok } from './key-ops.fixture.ts';
import { activeSince, bytesOf, enumOf, hex, mask, params, privateBody, publicBody, register } from './crypto-ops.fixture.ts';
import { RSA2048_PKCS1_HEX } from '../crypto/test-vectors.fixture.ts';
import { PSS_DATA, PSS_SHA256_SIGNATURE } from '../crypto/kat.fixture.ts';

const pss256 = params(enumeration(Tag.PaddingMethod, PaddingMethod.PSS), enumeration(Tag.HashingAlgorithm, H.SHA_256), enumeration(Tag.CryptographicAlgorithm, Alg.RSA));
const rsaPublicPkcs1 = (): Buffer => createPublicKey({ key: hex(RSA2048_PKCS1_HEX), format: 'der', type: 'pkcs1' }).export({ format: 'der', type: 'pkcs1' });

async function rsaPair(h: ReturnType<typeof harness>, v = V1_4, extra: Parameters<typeof register>[4] = []) {
  const priv = await register(h, v, ObjectType.PrivateKey, privateBody(F.PKCS_1, hex(RSA2048_PKCS1_HEX), Alg.RSA, 2048), [mask(Mask.Sign), activeSince(), pss256, ...extra]);
  const pub = await register(h, v, ObjectType.PublicKey, publicBody(F.PKCS_1, rsaPublicPkcs1(), Alg.RSA, 2048), [mask(Mask.Verify), activeSince(), pss256, ...extra]);
  return { priv, pub };
}

const verify = (h: ReturnType<typeof harness>, v: typeof V1_4, uid: string, data: Buffer, sig: Buffer, ...p: ReturnType<typeof params>[]) =>
  h.one(v, 'SignatureVerify', [uidItem(uid), ...p, bytes(Tag.Data, data), bytes(Tag.SignatureData, sig)]);

test('RSA-PSS: the OASIS signature of CS-AC-M-2 verifies; a signature made here verifies (key parameters PSS / SHA-256)', async (t) => {
  const h = harness();
  const { priv, pub } = await rsaPair(h);
  t.is(enumOf(ok(await verify(h, V1_4, pub, hex(PSS_DATA), hex(PSS_SHA256_SIGNATURE))), Tag.ValidityIndicator), ValidityIndicator.Valid);
  t.is(enumOf(ok(await verify(h, V1_4, pub, hex('ff' + PSS_DATA.slice(2)), hex(PSS_SHA256_SIGNATURE))), Tag.ValidityIndicator), ValidityIndicator.Invalid);
  const data = Buffer.from('sign me');
  const sig = bytesOf(ok(await h.one(V2_1, 'Sign', [uidItem(priv), bytes(Tag.Data, data)])), Tag.SignatureData)!;
  t.true(nodeVerify('sha256', data, { key: createPublicKey({ key: rsaPublicPkcs1(), format: 'der', type: 'pkcs1' }), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig));
  t.is(enumOf(ok(await verify(h, V2_1, pub, data, sig)), Tag.ValidityIndicator), ValidityIndicator.Valid);
  const sha1 = params(enumeration(Tag.PaddingMethod, PaddingMethod.PSS), enumeration(Tag.HashingAlgorithm, H.SHA_1));
  t.is(enumOf(ok(await verify(h, V2_1, pub, data, sig, sha1)), Tag.ValidityIndicator), ValidityIndicator.Invalid);
  t.is(enumOf(ok(await verify(h, V2_1, pub, data, Buffer.from('garbage'))), Tag.ValidityIndicator), ValidityIndicator.Invalid);
});

test('PKCS#1 v1.5 by Digital Signature Algorithm, over Data and over Digested Data, gives the same signature', async (t) => {
  const h = harness();
  const { priv, pub } = await rsaPair(h);
  const p = params(enumeration(Tag.DigitalSignatureAlgorithm, DSA.SHA_256WithRSAEncryption));
  const data = Buffer.from('abc');
  const a = bytesOf(ok(await h.one(V1_4, 'Sign', [uidItem(priv), p, bytes(Tag.Data, data)])), Tag.SignatureData)!;
  const b = bytesOf(ok(await h.one(V1_4, 'Sign', [uidItem(priv), p, bytes(Tag.DigestedData, hex('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'))])), Tag.SignatureData)!;
  t.deepEqual(a, b);
  t.is(enumOf(ok(await verify(h, V1_4, pub, data, a, p)), Tag.ValidityIndicator), ValidityIndicator.Valid);
  t.is((await h.one(V1_4, 'Sign', [uidItem(priv), p, bytes(Tag.Data, data), bytes(Tag.DigestedData, Buffer.alloc(32))])).reason, ResultReason.InvalidField);
});

test('ECDSA P-384 and Ed25519 keys sign and verify; by parts too', async (t) => {
  const h = harness();
  for (const [type, opts, alg, bits] of [['ec', { namedCurve: 'secp384r1' }, Alg.EC, 384], ['ed25519', {}, Alg.Ed25519, 256]] as const) {
    const { privateKey, publicKey } = generateKeyPairSync(type as 'ec', opts as { namedCurve: string });
    const priv = await register(h, V2_1, ObjectType.PrivateKey, privateBody(F.PKCS_8, privateKey.export({ format: 'der', type: 'pkcs8' }), alg, bits), [mask(Mask.Sign), activeSince()]);
    const pub = await register(h, V2_1, ObjectType.PublicKey, publicBody(F.X_509, publicKey.export({ format: 'der', type: 'spki' }), alg, bits), [mask(Mask.Verify), activeSince()]);
    const data = Buffer.from('message in two parts');
    const init = ok(await h.one(V2_1, 'Sign', [uidItem(priv), bytes(Tag.Data, data.subarray(0, 8)), bool(Tag.InitIndicator, true)]));
    const fin = ok(await h.one(V2_1, 'Sign', [bytes(Tag.Data, data.subarray(8)), bytes(Tag.CorrelationValue, bytesOf(init, Tag.CorrelationValue)!), bool(Tag.FinalIndicator, true)]));
    const sig = bytesOf(fin, Tag.SignatureData)!;
    t.is(enumOf(ok(await verify(h, V2_1, pub, data, sig)), Tag.ValidityIndicator), ValidityIndicator.Valid, `${type}`);
    const single = bytesOf(ok(await h.one(V2_1, 'Sign', [uidItem(priv), bytes(Tag.Data, data)])), Tag.SignatureData)!;
    t.is(enumOf(ok(await verify(h, V2_1, pub, data, single)), Tag.ValidityIndicator), ValidityIndicator.Valid);
  }
});

test('Sign needs an Active private key with the Sign bit; Verify works on a Deactivated public key (CS-AC-M-8 dates)', async (t) => {
  const h = harness();
  const { priv, pub } = await rsaPair(h);
  const data = Buffer.from('x');
  t.is((await h.one(V2_1, 'Sign', [uidItem(pub), bytes(Tag.Data, data)])).reason, ResultReason.InvalidObjectType);
  t.is((await h.one(V1_4, 'Sign', [uidItem(pub), bytes(Tag.Data, data)])).reason, ResultReason.PermissionDenied);
  const sig = bytesOf(ok(await h.one(V1_4, 'Sign', [uidItem(priv), bytes(Tag.Data, data)])), Tag.SignatureData)!;
  for (const uid of [priv, pub]) {
    ok(await h.one(V1_4, 'Revoke', [uidItem(uid), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.Superseded)])]));
  }
  t.is((await h.one(V1_4, 'Sign', [uidItem(priv), bytes(Tag.Data, data)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'Sign', [uidItem(priv), bytes(Tag.Data, data)])).reason, ResultReason.WrongKeyLifecycleState);
  t.is(enumOf(ok(await verify(h, V1_4, pub, data, sig)), Tag.ValidityIndicator), ValidityIndicator.Valid);
  const noVerifyBit = await register(h, V2_1, ObjectType.PublicKey, publicBody(F.PKCS_1, rsaPublicPkcs1(), Alg.RSA, 2048), [mask(Mask.Encrypt), activeSince()]);
  t.is((await verify(h, V2_1, noVerifyBit, data, sig)).reason, ResultReason.IncompatibleCryptographicUsageMask);
});

test('Signature Verify with the RSA parameters on an EC key checks ECDSA with the given hash (vector CS-AC-M-3-ECC-13)', async (t) => {
  const h = harness();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const priv = await register(h, V1_4, ObjectType.PrivateKey, privateBody(F.ECPrivateKey, privateKey.export({ format: 'der', type: 'sec1' }), Alg.EC, 256),
    [mask(Mask.Sign), activeSince(), params(enumeration(Tag.CryptographicAlgorithm, Alg.ECDSA))]);
  const pub = await register(h, V1_4, ObjectType.PublicKey, publicBody(F.X_509, publicKey.export({ format: 'der', type: 'spki' }), Alg.EC, 256), [mask(Mask.Verify), activeSince()]);
  const data = hex('01020304050607080910111213141516');
  const sig = bytesOf(ok(await h.one(V1_4, 'Sign', [uidItem(priv), bytes(Tag.Data, data)])), Tag.SignatureData)!;
  t.is(enumOf(ok(await verify(h, V1_4, pub, data, sig, pss256)), Tag.ValidityIndicator), ValidityIndicator.Valid);
  const sha1 = params(enumeration(Tag.PaddingMethod, PaddingMethod.PSS), enumeration(Tag.HashingAlgorithm, H.SHA_1), enumeration(Tag.CryptographicAlgorithm, Alg.RSA));
  t.is(enumOf(ok(await verify(h, V1_4, pub, data, sig, sha1)), Tag.ValidityIndicator), ValidityIndicator.Invalid);
  t.is((await h.one(V2_1, 'Sign', [uidItem(priv), pss256, bytes(Tag.Data, data)])).reason, ResultReason.BadCryptographicParameters);
});
