import test from 'ava';
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  BlockCipherMode as Mode, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, HashingAlgorithm as H, KeyFormatType as F, LinkType,
  MaskGenerator, ObjectType, PaddingMethod, ResultReason, RevocationReasonCode, UsageLimitsUnit,
} from '../ttlv/enums.ts';
import { bool, bytes, dateTime, enumeration, int, long, struct, text } from '../ttlv/types.ts';
import { V1_2, V1_4, V2_1, attr1x, harness, identity, uidItem } from './harness.fixture.ts';
import { ok } from './key-ops.fixture.ts';
import {
  activeSince, bytesOf, has, hex, mask, nowSeconds, params, privateBody, publicBody, register, registerSymmetric,
} from './crypto-ops.fixture.ts';

const V1_3 = { major: 1, minor: 3 };
const ZERO16 = Buffer.alloc(16);
const gcm = (tagLength = 16) => params(enumeration(Tag.BlockCipherMode, Mode.GCM), int(Tag.TagLength, tagLength));
const ecb = params(enumeration(Tag.BlockCipherMode, Mode.ECB));

async function gcmKey(h: ReturnType<typeof harness>, version: { major: number; minor: number }) {
  return registerSymmetric(h, version, ZERO16, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince()]);
}

test('GCM at 1.4 and 2.1: the tag travels in Authenticated Encryption Tag both ways, never in Data', async (t) => {
  for (const v of [V1_4, V2_1]) {
    const h = harness();
    const uid = await gcmKey(h, v);
    const r = ok(await h.one(v, 'Encrypt', [uidItem(uid), gcm(), bytes(Tag.Data, ZERO16), bytes(Tag.IVCounterNonce, Buffer.alloc(12))]));
    t.is(bytesOf(r, Tag.Data)?.toString('hex'), '0388dace60b6a392f328c2b971b2fe78');
    t.is(bytesOf(r, Tag.AuthenticatedEncryptionTag)?.toString('hex'), 'ab6e47d42cec13bdf53a67b21257bddf');
    const d = ok(await h.one(v, 'Decrypt', [uidItem(uid), gcm(), bytes(Tag.Data, bytesOf(r, Tag.Data)!), bytes(Tag.IVCounterNonce, Buffer.alloc(12)),
      bytes(Tag.AuthenticatedEncryptionTag, bytesOf(r, Tag.AuthenticatedEncryptionTag)!)]));
    t.deepEqual(bytesOf(d, Tag.Data), ZERO16);
    const bad = await h.one(v, 'Decrypt', [uidItem(uid), gcm(), bytes(Tag.Data, bytesOf(r, Tag.Data)!), bytes(Tag.IVCounterNonce, Buffer.alloc(12)),
      bytes(Tag.AuthenticatedEncryptionTag, hex('006e47d42cec13bdf53a67b21257bddf'))]);
    t.is(bad.reason, ResultReason.CryptographicFailure);
  }
});

test('GCM at 1.2 and 1.3 (OpenBao seal): the tag is appended to Data both ways, with no tag field', async (t) => {
  for (const v of [V1_2, V1_3]) {
    const h = harness();
    const uid = await gcmKey(h, v);
    const iv = Buffer.alloc(12);
    const r = ok(await h.one(v, 'Encrypt', [uidItem(uid), gcm(), bytes(Tag.Data, ZERO16), bytes(Tag.IVCounterNonce, iv)]));
    t.is(bytesOf(r, Tag.Data)?.toString('hex'), '0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf');
    t.false(has(r, Tag.AuthenticatedEncryptionTag));
    const d = ok(await h.one(v, 'Decrypt', [uidItem(uid), gcm(), bytes(Tag.Data, bytesOf(r, Tag.Data)!), bytes(Tag.IVCounterNonce, iv)]));
    t.deepEqual(bytesOf(d, Tag.Data), ZERO16);
    const tampered = bytesOf(r, Tag.Data)!;
    tampered[tampered.length - 1]! ^= 1;
    t.is((await h.one(v, 'Decrypt', [uidItem(uid), gcm(), bytes(Tag.Data, tampered), bytes(Tag.IVCounterNonce, iv)])).reason, ResultReason.CryptographicFailure);
  }
});

test('GCM: a 12-byte tag decrypts (truncated); tag lengths 1 and 32 are General Failure, as the vectors expect', async (t) => {
  const h = harness();
  const uid = await gcmKey(h, V1_4);
  const iv = Buffer.alloc(12);
  ok(await h.one(V1_4, 'Decrypt', [uidItem(uid), gcm(12), bytes(Tag.Data, hex('0388dace60b6a392f328c2b971b2fe78')), bytes(Tag.IVCounterNonce, iv),
    bytes(Tag.AuthenticatedEncryptionTag, hex('ab6e47d42cec13bdf53a67b2'))]));
  for (const len of [1, 32]) {
    const r = await h.one(V1_4, 'Encrypt', [uidItem(uid), gcm(len), bytes(Tag.Data, ZERO16), bytes(Tag.IVCounterNonce, iv)]);
    t.is(r.reason, ResultReason.GeneralFailure);
  }
});

test('Random IV (libmongocrypt: CBC, PKCS5, Random IV at 1.2): the server makes the IV, returns it, and Decrypt needs it back', async (t) => {
  const h = harness();
  const created = ok(await h.one(V1_2, 'Create', [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.TemplateAttribute, [
    attr1x('Cryptographic Algorithm', enumeration(0, Alg.AES)), attr1x('Cryptographic Length', int(0, 256)),
    attr1x('Cryptographic Usage Mask', int(0, Mask.Encrypt | Mask.Decrypt)),
  ])]));
  const uid = created.payload!.value.find((i) => i.tag === Tag.UniqueIdentifier)!.value as string;
  ok(await h.one(V1_2, 'Activate', [uidItem(uid)]));
  const p = params(enumeration(Tag.BlockCipherMode, Mode.CBC), enumeration(Tag.PaddingMethod, PaddingMethod.PKCS5), enumeration(Tag.CryptographicAlgorithm, Alg.AES), bool(Tag.RandomIV, true));
  const data = Buffer.from('96 bytes of data encryption key material, more or less');
  const r = ok(await h.one(V1_2, 'Encrypt', [uidItem(uid), p, bytes(Tag.Data, data)]));
  const iv = bytesOf(r, Tag.IVCounterNonce)!;
  t.is(iv.length, 16);
  t.is(bytesOf(r, Tag.Data)!.length, 64);
  const again = ok(await h.one(V1_2, 'Encrypt', [uidItem(uid), p, bytes(Tag.Data, data)]));
  t.notDeepEqual(bytesOf(again, Tag.IVCounterNonce), iv);
  t.deepEqual(bytesOf(ok(await h.one(V1_2, 'Decrypt', [uidItem(uid), p, bytes(Tag.Data, bytesOf(r, Tag.Data)!), bytes(Tag.IVCounterNonce, iv)])), Tag.Data), data);
  const noIv = await h.one(V1_2, 'Decrypt', [uidItem(uid), p, bytes(Tag.Data, bytesOf(r, Tag.Data)!)]);
  t.is(noIv.reason, ResultReason.InvalidMessage);
});

test('parameters come from the request, else from the key\'s Cryptographic Parameters', async (t) => {
  const h = harness();
  const key = hex('0123456789abcdef0123456789abcdef');
  const uid = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince(), ecb]);
  const data = hex('01020304050607080910111213141516');
  t.is(bytesOf(ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.Data, data)])), Tag.Data)?.toString('hex'), 'd9bcce11b0b437b90239552df3a360c9');
  const cbc = params(enumeration(Tag.BlockCipherMode, Mode.CBC));
  const r = ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), cbc, bytes(Tag.Data, data), bytes(Tag.IVCounterNonce, ZERO16)]));
  t.is(bytesOf(r, Tag.Data)?.toString('hex'), 'd9bcce11b0b437b90239552df3a360c9', 'CBC with a zero IV is ECB for one block');
  const none = await registerSymmetric(h, V2_1, key, Alg.AES, [mask(Mask.Encrypt), activeSince()]);
  t.is((await h.one(V2_1, 'Encrypt', [uidItem(none), bytes(Tag.Data, data)])).reason, ResultReason.BadCryptographicParameters);
  t.is((await h.one(V1_4, 'Encrypt', [uidItem(none), bytes(Tag.Data, data)])).reason, ResultReason.InvalidField);
});

test('state rules: Encrypt needs Active; Decrypt also works Deactivated and Compromised; Pre-Active and Destroyed refuse both', async (t) => {
  const h = harness();
  const key = hex('0123456789abcdef0123456789abcdef');
  const data = hex('01020304050607080910111213141516');
  const enc = (v: typeof V1_4, uid: string) => h.one(v, 'Encrypt', [uidItem(uid), ecb, bytes(Tag.Data, data)]);
  const dec = (v: typeof V1_4, uid: string) => h.one(v, 'Decrypt', [uidItem(uid), ecb, bytes(Tag.Data, hex('d9bcce11b0b437b90239552df3a360c9'))]);

  const pre = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt)]);
  t.is((await enc(V1_4, pre)).reason, ResultReason.PermissionDenied);
  t.is((await dec(V1_4, pre)).reason, ResultReason.PermissionDenied);
  t.is((await enc(V2_1, pre)).reason, ResultReason.WrongKeyLifecycleState);

  for (const code of [RevocationReasonCode.CessationOfOperation, RevocationReasonCode.KeyCompromise]) {
    const uid = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince()]);
    ok(await h.one(V1_4, 'Revoke', [uidItem(uid), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code)])]));
    t.is((await enc(V1_4, uid)).reason, ResultReason.PermissionDenied);
    t.is((await enc(V2_1, uid)).reason, ResultReason.WrongKeyLifecycleState);
    t.is(bytesOf(ok(await dec(V1_4, uid)), Tag.Data)?.toString('hex'), data.toString('hex'), `decrypt after revocation ${code}`);
    ok(await h.one(V1_4, 'Destroy', [uidItem(uid)]));
    t.is((await dec(V2_1, uid)).reason, ResultReason.WrongKeyLifecycleState);
  }
});

test('dates: Protect Stop Date passed refuses Encrypt, Process Start Date to come refuses Decrypt (vector CS-BC-M-14)', async (t) => {
  const h = harness();
  const key = hex('0123456789abcdef0123456789abcdef');
  const now = nowSeconds();
  const both = await registerSymmetric(h, V2_1, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince(),
    dateTime(Tag.ProcessStartDate, now + 3600), dateTime(Tag.ProtectStopDate, now - 3600)]);
  const data = bytes(Tag.Data, ZERO16);
  t.is((await h.one(V1_4, 'Encrypt', [uidItem(both), ecb, data])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'Decrypt', [uidItem(both), ecb, data])).reason, ResultReason.WrongKeyLifecycleState);
  // Before its Process Start Date a key may still protect; after its Protect Stop Date it may still process.
  const early = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince(), dateTime(Tag.ProcessStartDate, now + 3600)]);
  ok(await h.one(V1_4, 'Encrypt', [uidItem(early), ecb, data]));
  const late = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince(), dateTime(Tag.ProtectStopDate, now - 60)]);
  ok(await h.one(V1_4, 'Decrypt', [uidItem(late), ecb, data]));
});

test('usage mask: 2.x Incompatible Cryptographic Usage Mask, 1.x Permission Denied; wrong object types refused', async (t) => {
  const h = harness();
  const uid = await registerSymmetric(h, V2_1, ZERO16, Alg.AES, [mask(Mask.Decrypt), activeSince()]);
  const req = [uidItem(uid), ecb, bytes(Tag.Data, ZERO16)];
  t.is((await h.one(V2_1, 'Encrypt', req)).reason, ResultReason.IncompatibleCryptographicUsageMask);
  t.is((await h.one(V1_4, 'Encrypt', req)).reason, ResultReason.PermissionDenied);
  ok(await h.one(V1_4, 'Decrypt', req));
  const secret = await register(h, V2_1, ObjectType.SecretData, struct(Tag.SecretData, [enumeration(Tag.SecretDataType, 2),
    struct(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, F.Opaque), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, ZERO16)])])]), [mask(Mask.Encrypt), activeSince()]);
  t.is((await h.one(V2_1, 'Encrypt', [uidItem(secret), ecb, bytes(Tag.Data, ZERO16)])).reason, ResultReason.InvalidObjectType);
  t.is((await h.one(V1_4, 'Encrypt', [uidItem(secret), ecb, bytes(Tag.Data, ZERO16)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V1_4, 'Encrypt', [uidItem('no-such-key'), ecb, bytes(Tag.Data, ZERO16)])).reason, ResultReason.ItemNotFound);
  const unrestricted = await registerSymmetric(h, V2_1, ZERO16, Alg.AES, [mask(Mask.Unrestricted), activeSince()]);
  ok(await h.one(V2_1, 'Encrypt', [uidItem(unrestricted), ecb, bytes(Tag.Data, ZERO16)]));
});

test('Usage Limits in bytes are charged by Encrypt, not Decrypt; exhausted is Permission Denied at every version (CS-BC-M-7)', async (t) => {
  const h = harness();
  const limits = struct(Tag.UsageLimits, [long(Tag.UsageLimitsTotal, 32n), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Byte)]);
  const uid = await registerSymmetric(h, V2_1, ZERO16, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince(), limits]);
  const req = [uidItem(uid), ecb, bytes(Tag.Data, ZERO16)];
  ok(await h.one(V1_4, 'Encrypt', req));
  ok(await h.one(V1_4, 'Decrypt', req));
  ok(await h.one(V1_4, 'Encrypt', req));
  t.is((await h.one(V2_1, 'Encrypt', req)).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V1_4, 'Encrypt', req)).reason, ResultReason.PermissionDenied);
  ok(await h.one(V1_4, 'Decrypt', req));
  const objects = struct(Tag.UsageLimits, [long(Tag.UsageLimitsTotal, 1n), enumeration(Tag.UsageLimitsUnit, UsageLimitsUnit.Object)]);
  const once = await registerSymmetric(h, V2_1, ZERO16, Alg.AES, [mask(Mask.Encrypt), activeSince(), objects]);
  ok(await h.one(V2_1, 'Encrypt', [uidItem(once), ecb, bytes(Tag.Data, Buffer.alloc(64))]));
  t.is((await h.one(V2_1, 'Encrypt', [uidItem(once), ecb, bytes(Tag.Data, ZERO16)])).reason, ResultReason.PermissionDenied);
});

test('by parts (TC-STREAM-ENC): ECB output in whole blocks, two streams one after the other, Correlation Values bound to the caller', async (t) => {
  const h = harness();
  const key = hex('0123456789abcdef0123456789abcdef');
  const uid = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince(), ecb]);
  const one = bytesOf(ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.Data, hex('01020304050607080910111213141516'))])), Tag.Data)!;

  const init = ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.Data, hex('0102030405060708')), bool(Tag.InitIndicator, true)]));
  const cv = bytesOf(init, Tag.CorrelationValue)!;
  t.false(has(init, Tag.Data));
  const mid = ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.Data, hex('0910111213141516')), bytes(Tag.CorrelationValue, cv)]));
  t.deepEqual(bytesOf(mid, Tag.Data), one);
  const fin = ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.CorrelationValue, cv), bool(Tag.FinalIndicator, true)]));
  t.false(has(fin, Tag.Data));
  t.is((await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.CorrelationValue, cv), bool(Tag.FinalIndicator, true)])).reason, ResultReason.ItemNotFound);

  const cv2 = bytesOf(ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bool(Tag.InitIndicator, true)])), Tag.CorrelationValue)!;
  t.notDeepEqual(cv2, cv);
  // Another caller cannot use it; nor can it be used for another operation or key.
  const other = identity('scope-b');
  t.is((await h.one(V1_4, 'Encrypt', [bytes(Tag.Data, ZERO16), bytes(Tag.CorrelationValue, cv2)], other)).reason, ResultReason.ItemNotFound);
  t.is((await h.one(V2_1, 'Decrypt', [bytes(Tag.Data, ZERO16), bytes(Tag.CorrelationValue, cv2)])).reason, ResultReason.InvalidCorrelationValue);
  ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), bytes(Tag.Data, hex('010203040506070809101112')), bytes(Tag.CorrelationValue, cv2)]));
  const last = ok(await h.one(V1_4, 'Encrypt', [bytes(Tag.Data, hex('13141516')), bytes(Tag.CorrelationValue, cv2), bool(Tag.FinalIndicator, true)]));
  t.deepEqual(bytesOf(last, Tag.Data), one);
});

test('GCM by parts: Data as it comes, the tag at Final (CS-BC-M-GCM-3); Decrypt by parts with the tag at the end of the data at 1.3, none at 1.2', async (t) => {
  const h = harness();
  const key = hex('feffe9928665731c6d6a8f9467308308');
  const uid = await registerSymmetric(h, V1_4, key, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince()]);
  const pt = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
  const init = ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), gcm(), bytes(Tag.Data, pt.subarray(0, 32)), bytes(Tag.IVCounterNonce, hex('cafebabefacedbad')),
    bool(Tag.InitIndicator, true), bytes(Tag.AuthenticatedEncryptionAdditionalData, hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'))]));
  t.is(bytesOf(init, Tag.Data)?.toString('hex'), '61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423');
  const fin = ok(await h.one(V1_4, 'Encrypt', [uidItem(uid), gcm(), bytes(Tag.Data, pt.subarray(32)), bytes(Tag.CorrelationValue, bytesOf(init, Tag.CorrelationValue)!), bool(Tag.FinalIndicator, true)]));
  t.is(bytesOf(fin, Tag.Data)?.toString('hex'), '73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598');
  t.is(bytesOf(fin, Tag.AuthenticatedEncryptionTag)?.toString('hex'), '3612d2e79e3b0785561be14aaca2fccb');

  const ct = Buffer.concat([bytesOf(init, Tag.Data)!, bytesOf(fin, Tag.Data)!, bytesOf(fin, Tag.AuthenticatedEncryptionTag)!]);
  const aad = bytes(Tag.AuthenticatedEncryptionAdditionalData, hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'));
  const d0 = ok(await h.one(V1_3, 'Decrypt', [uidItem(uid), gcm(), bytes(Tag.Data, ct.subarray(0, 50)), bytes(Tag.IVCounterNonce, hex('cafebabefacedbad')), aad, bool(Tag.InitIndicator, true)]));
  const d1 = ok(await h.one(V1_3, 'Decrypt', [uidItem(uid), bytes(Tag.Data, ct.subarray(50)), bytes(Tag.CorrelationValue, bytesOf(d0, Tag.CorrelationValue)!), bool(Tag.FinalIndicator, true)]));
  t.deepEqual(Buffer.concat([bytesOf(d0, Tag.Data) ?? Buffer.alloc(0), bytesOf(d1, Tag.Data) ?? Buffer.alloc(0)]), pt);
  // By parts came with 1.3: at 1.2 the fields do not exist and the answer could not carry a Correlation Value.
  const at12 = await h.one(V1_2, 'Decrypt', [uidItem(uid), gcm(), bytes(Tag.Data, ct.subarray(0, 50)), bytes(Tag.IVCounterNonce, hex('cafebabefacedbad')), aad, bool(Tag.InitIndicator, true)]);
  t.is(at12.reason, ResultReason.InvalidField);
});

test('missing IV is Invalid Message (CS-BC-M-11); missing Data is Missing Data', async (t) => {
  const h = harness();
  const uid = await registerSymmetric(h, V2_1, ZERO16, Alg.AES, [mask(Mask.Encrypt | Mask.Decrypt), activeSince()]);
  const cbc = params(enumeration(Tag.BlockCipherMode, Mode.CBC), enumeration(Tag.PaddingMethod, PaddingMethod.PKCS5));
  t.is((await h.one(V2_1, 'Decrypt', [uidItem(uid), cbc, bytes(Tag.Data, ZERO16)])).reason, ResultReason.InvalidMessage);
  t.is((await h.one(V1_4, 'Encrypt', [uidItem(uid), cbc])).reason, ResultReason.MissingData);
});

test('RSA-OAEP (OpenBao seal): Encrypt with the Public Key, Decrypt with the Private Key, MGF1 fields at 1.4 or none at 1.2', async (t) => {
  const h = harness();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const priv = await register(h, V1_4, ObjectType.PrivateKey, privateBody(F.PKCS_1, privateKey.export({ format: 'der', type: 'pkcs1' }), Alg.RSA, 2048),
    [mask(Mask.Decrypt), activeSince()]);
  const pub = await register(h, V1_4, ObjectType.PublicKey, publicBody(F.X_509, publicKey.export({ format: 'der', type: 'spki' }), Alg.RSA, 2048),
    [mask(Mask.Encrypt), activeSince(), struct(Tag.Link, [enumeration(Tag.LinkType, LinkType.PrivateKeyLink), text(Tag.LinkedObjectIdentifier, priv)])]);
  const msg = Buffer.from('the vault master key');
  const p14 = params(enumeration(Tag.CryptographicAlgorithm, Alg.RSA), enumeration(Tag.PaddingMethod, PaddingMethod.OAEP), enumeration(Tag.HashingAlgorithm, H.SHA_256),
    enumeration(Tag.MaskGenerator, MaskGenerator.MGF1), enumeration(Tag.MaskGeneratorHashingAlgorithm, H.SHA_256));
  const c14 = bytesOf(ok(await h.one(V1_4, 'Encrypt', [uidItem(pub), p14, bytes(Tag.Data, msg)])), Tag.Data)!;
  // A standard RSA-OAEP-SHA256 ciphertext (what a client decrypting locally expects).
  t.deepEqual(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, c14), msg);
  t.deepEqual(bytesOf(ok(await h.one(V1_4, 'Decrypt', [uidItem(priv), p14, bytes(Tag.Data, c14)])), Tag.Data), msg);

  const p12 = params(enumeration(Tag.CryptographicAlgorithm, Alg.RSA), enumeration(Tag.PaddingMethod, PaddingMethod.OAEP), enumeration(Tag.HashingAlgorithm, H.SHA_256));
  const c12 = bytesOf(ok(await h.one(V1_2, 'Encrypt', [uidItem(pub), p12, bytes(Tag.Data, msg)])), Tag.Data)!;
  t.deepEqual(bytesOf(ok(await h.one(V1_2, 'Decrypt', [uidItem(priv), p12, bytes(Tag.Data, c12)])), Tag.Data), msg);
  // Decrypt is refused on the public key, Encrypt by parts is refused.
  t.is((await h.one(V1_4, 'Decrypt', [uidItem(pub), p14, bytes(Tag.Data, c14)])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'Encrypt', [uidItem(pub), p14, bytes(Tag.Data, msg), bool(Tag.InitIndicator, true)])).reason, ResultReason.UnsupportedCryptographicParameters);
});

test('an archived key is Object Archived', async (t) => {
  const h = harness();
  const uid = await registerSymmetric(h, V1_4, ZERO16, Alg.AES, [mask(Mask.Encrypt), activeSince()]);
  ok(await h.one(V1_4, 'Archive', [uidItem(uid)]));
  t.is((await h.one(V1_4, 'Encrypt', [uidItem(uid), ecb, bytes(Tag.Data, ZERO16)])).reason, ResultReason.ObjectArchived);
});

test('the ID Placeholder names the key when the Unique Identifier is omitted (Create then Encrypt in one batch)', async (t) => {
  const h = harness();
  const [c, e] = await h.send(V1_4, [
    { operation: 'Create', payload: [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), struct(Tag.TemplateAttribute, [
      attr1x('Cryptographic Algorithm', enumeration(0, Alg.AES)), attr1x('Cryptographic Length', int(0, 128)),
      attr1x('Cryptographic Usage Mask', int(0, Mask.Encrypt)), attr1x('Activation Date', dateTime(0, nowSeconds() - 10)),
    ])] },
    { operation: 'Encrypt', payload: [ecb, bytes(Tag.Data, ZERO16)] },
  ]);
  ok(c!);
  t.is(bytesOf(ok(e!), Tag.Data)?.length, 16);
});
