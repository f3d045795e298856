import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, HashingAlgorithm as H, KeyFormatType as F, ObjectType, ResultReason, SecretDataType,
  UsageLimitsUnit, ValidityIndicator,
} from '../ttlv/enums.ts';
import { bool, bytes, enumeration, int, long, struct } from '../ttlv/types.ts';
import { V1_2, V1_4, V2_1, harness, uidItem } from './harness.fixture.ts';
import { ok } from './key-ops.fixture.ts';
import { activeSince, bytesOf, enumOf, hex, mask, params, register, registerSymmetric } from './crypto-ops.fixture.ts';

const KEY = hex('0123456789abcdef0123456789abcdef');
const DATA = hex('01020304050607080910111213141516');
const HMAC256 = 'c911e78196d64c30f631bb079ea37b97a95936d4da764d6a171df030c895ecf9';

test('MAC and MAC Verify with an AES key and HMAC-SHA256 parameters (CS-AC-M-4/5/6); Invalid for another MAC', async (t) => {
  const h = harness();
  const uid = await registerSymmetric(h, V1_4, KEY, Alg.AES, [mask(Mask.MACGenerate | Mask.MACVerify), activeSince(),
    params(enumeration(Tag.CryptographicAlgorithm, Alg.HMAC_SHA256))]);
  const r = ok(await h.one(V1_4, 'MAC', [uidItem(uid), bytes(Tag.Data, DATA)]));
  t.is(bytesOf(r, Tag.MACData)?.toString('hex'), HMAC256);
  t.is(enumOf(ok(await h.one(V1_4, 'MACVerify', [uidItem(uid), bytes(Tag.Data, DATA), bytes(Tag.MACData, hex(HMAC256))])), Tag.ValidityIndicator), ValidityIndicator.Valid);
  t.is(enumOf(ok(await h.one(V2_1, 'MACVerify', [uidItem(uid), bytes(Tag.Data, DATA), bytes(Tag.MACData, hex(HMAC256).subarray(0, 16))])), Tag.ValidityIndicator), ValidityIndicator.Invalid);
  // With no HMAC parameters an AES key computes CMAC (SP 800-38B D.1 example 2).
  const cmacKey = await registerSymmetric(h, V2_1, hex('2b7e151628aed2a6abf7158809cf4f3c'), Alg.AES, [mask(Mask.MACGenerate), activeSince()]);
  t.is(bytesOf(ok(await h.one(V2_1, 'MAC', [uidItem(cmacKey), bytes(Tag.Data, hex('6bc1bee22e409f96e93d7e117393172a'))])), Tag.MACData)?.toString('hex'), '070a16b46b4d4144f79bdd9dd04a287c');
});

test('MAC by parts, MAC with an HMAC key and a Secret Data key; the mask and Usage Limits apply', async (t) => {
  const h = harness();
  const hmacKey = await registerSymmetric(h, V2_1, KEY, Alg.HMAC_SHA256, [mask(Mask.MACGenerate), activeSince(),
    struct(Tag.UsageLimits, [long(Tag.UsageLimitsTotal, 2n), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Object)])]);
  const init = ok(await h.one(V2_1, 'MAC', [uidItem(hmacKey), bytes(Tag.Data, DATA.subarray(0, 5)), bool(Tag.InitIndicator, true)]));
  const cv = bytesOf(init, Tag.CorrelationValue)!;
  ok(await h.one(V2_1, 'MAC', [bytes(Tag.Data, DATA.subarray(5, 9)), bytes(Tag.CorrelationValue, cv)]));
  const fin = ok(await h.one(V2_1, 'MAC', [bytes(Tag.Data, DATA.subarray(9)), bytes(Tag.CorrelationValue, cv), bool(Tag.FinalIndicator, true)]));
  t.is(bytesOf(fin, Tag.MACData)?.toString('hex'), HMAC256);
  ok(await h.one(V2_1, 'MAC', [uidItem(hmacKey), bytes(Tag.Data, DATA)]));
  t.is((await h.one(V2_1, 'MAC', [uidItem(hmacKey), bytes(Tag.Data, DATA)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'MACVerify', [uidItem(hmacKey), bytes(Tag.Data, DATA), bytes(Tag.MACData, hex(HMAC256))])).reason, ResultReason.IncompatibleCryptographicUsageMask);

  const secret = await register(h, V1_4, ObjectType.SecretData, struct(Tag.SecretData, [enumeration(Tag.SecretDataType, SecretDataType.Password),
    struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from('Jefe'))])])]), [mask(Mask.MACGenerate), activeSince()]);
  const r = ok(await h.one(V1_4, 'MAC', [uidItem(secret), params(enumeration(Tag.HashingAlgorithm, H.SHA_256)), bytes(Tag.Data, Buffer.from('what do ya want for nothing?'))]));
  t.is(bytesOf(r, Tag.MACData)?.toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  t.is((await h.one(V1_4, 'MAC', [uidItem(secret), bytes(Tag.Data, DATA)])).reason, ResultReason.InvalidField, 'no algorithm for a Secret Data at 1.x');
});

test('Hash: SHA-256 and SHA-512 of the CS-AC-M-7 data, by parts, SHA3; without a hash it is Missing Data', async (t) => {
  const h = harness();
  const sha = (alg: number) => params(enumeration(Tag.HashingAlgorithm, alg));
  t.is(bytesOf(ok(await h.one(V1_4, 'Hash', [sha(H.SHA_256), bytes(Tag.Data, DATA)])), Tag.Data)?.toString('hex'), 'ad41233d22cf9322e3a7ff49a13da434797abed3bab80950a1a0d4e582b7ea72');
  t.is(bytesOf(ok(await h.one(V1_4, 'Hash', [sha(H.SHA_256), bytes(Tag.Data, Buffer.from('abc'))])), Tag.Data)?.toString('hex'),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const init = ok(await h.one(V2_1, 'Hash', [sha(H.SHA_256), bytes(Tag.Data, Buffer.from('a')), bool(Tag.InitIndicator, true)]));
  const fin = ok(await h.one(V2_1, 'Hash', [bytes(Tag.Data, Buffer.from('bc')), bytes(Tag.CorrelationValue, bytesOf(init, Tag.CorrelationValue)!), bool(Tag.FinalIndicator, true)]));
  t.is(bytesOf(fin, Tag.Data)?.toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.is(bytesOf(ok(await h.one(V2_1, 'Hash', [sha(H.SHA3_256), bytes(Tag.Data, Buffer.from('abc'))])), Tag.Data)?.toString('hex'),
    '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532');
  t.is((await h.one(V1_4, 'Hash', [bytes(Tag.Data, DATA)])).reason, ResultReason.MissingData);
  t.is((await h.one(V2_1, 'Hash', [sha(H.Tiger), bytes(Tag.Data, DATA)])).reason, ResultReason.UnsupportedCryptographicParameters);
});

test('RNG Retrieve returns Data Length random bytes; RNG Seed says it used none of the seed (Data Length 0), and still requires Data', async (t) => {
  const h = harness();
  const a = bytesOf(ok(await h.one(V1_4, 'RNGRetrieve', [int(Tag.DataLength, 32)])), Tag.Data)!;
  const b = bytesOf(ok(await h.one(V1_4, 'RNGRetrieve', [int(Tag.DataLength, 32)])), Tag.Data)!;
  t.is(a.length, 32);
  t.notDeepEqual(a, b);
  t.is((await h.one(V1_4, 'RNGRetrieve', [int(Tag.DataLength, 0)])).reason, ResultReason.InvalidField);
  t.is((await h.one(V1_4, 'RNGRetrieve', [int(Tag.DataLength, 2 * 1024 * 1024)])).reason, ResultReason.InvalidField);
  const s = ok(await h.one(V1_2, 'RNGSeed', [bytes(Tag.Data, Buffer.alloc(32, 1))]));
  const len = s.payload?.value.find((i) => i.tag === Tag.DataLength);
  t.deepEqual(len, int(Tag.DataLength, 0));
  t.is((await h.one(V1_2, 'RNGSeed', [])).statusName, 'OperationFailed');
});
