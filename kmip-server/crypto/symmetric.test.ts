import test from 'ava';
import { BlockCipherMode as Mode, CryptographicAlgorithm as Alg, PaddingMethod } from '../ttlv/enums.ts';
import { CryptoError } from './crypto-error.ts';
import { decryptOnce, encryptOnce, openSymmetric } from './symmetric.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

// NIST SP 800-38A, Appendix F (AES-128).
const K128 = hex('2b7e151628aed2a6abf7158809cf4f3c');
const P1 = hex('6bc1bee22e409f96e93d7e117393172a');
const P2 = hex('ae2d8a571e03ac9c9eb76fac45af8e51');
const IV = hex('000102030405060708090a0b0c0d0e0f');

test('AES-128 ECB: SP 800-38A F.1.1', (t) => {
  t.is(h(encryptOnce(Alg.AES, K128, P1, { params: { blockCipherMode: Mode.ECB } }).data), '3ad77bb40d7a3660a89ecaf32466ef97');
});

test('AES-128 CBC: SP 800-38A F.2.1, both directions', (t) => {
  const ct = encryptOnce(Alg.AES, K128, Buffer.concat([P1, P2]), { params: { blockCipherMode: Mode.CBC }, iv: IV }).data;
  t.is(h(ct), '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2');
  t.is(h(decryptOnce(Alg.AES, K128, ct, { params: { blockCipherMode: Mode.CBC }, iv: IV })), h(Buffer.concat([P1, P2])));
});

test('AES-128 CTR: SP 800-38A F.5.1 (a full counter block, and the same block as nonce + Initial Counter Value)', (t) => {
  const block = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  t.is(h(encryptOnce(Alg.AES, K128, P1, { params: { blockCipherMode: Mode.CTR }, iv: block }).data), '874d6191b620e3261bef6864990db6ce');
  const nonce = block.subarray(0, 12);
  const icv = block.readUInt32BE(12);
  t.is(h(encryptOnce(Alg.AES, K128, P1, { params: { blockCipherMode: Mode.CTR, initialCounterValue: icv }, iv: nonce }).data), '874d6191b620e3261bef6864990db6ce');
});

test('AES-128 CFB128 and OFB: SP 800-38A F.3.13 and F.4.1', (t) => {
  t.is(h(encryptOnce(Alg.AES, K128, P1, { params: { blockCipherMode: Mode.CFB }, iv: IV }).data), '3b3fd92eb72dad20333449f8e83cfb4a');
  t.is(h(encryptOnce(Alg.AES, K128, Buffer.concat([P1, P2]), { params: { blockCipherMode: Mode.OFB }, iv: IV }).data), '3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825');
});

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2, 4 and 5.
test('AES-GCM: test case 2 (zero key, zero block)', (t) => {
  const r = encryptOnce(Alg.AES, Buffer.alloc(16), Buffer.alloc(16), { params: { blockCipherMode: Mode.GCM, tagLength: 16 }, iv: Buffer.alloc(12) });
  t.is(h(r.data), '0388dace60b6a392f328c2b971b2fe78');
  t.is(h(r.tag), 'ab6e47d42cec13bdf53a67b21257bddf');
});

const GCM_K = hex('feffe9928665731c6d6a8f9467308308');
const GCM_P = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
const GCM_A = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');

test('AES-GCM: test case 4 (AAD) and 5 (64-bit IV); truncated tags verify, altered ones do not', (t) => {
  const p = { blockCipherMode: Mode.GCM, tagLength: 16 };
  const r4 = encryptOnce(Alg.AES, GCM_K, GCM_P, { params: p, iv: hex('cafebabefacedbaddecaf888'), aad: GCM_A });
  t.is(h(r4.data), '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091');
  t.is(h(r4.tag), '5bc94fbc3221a5db94fae95ae7121a47');
  const r5 = encryptOnce(Alg.AES, GCM_K, GCM_P, { params: p, iv: hex('cafebabefacedbad'), aad: GCM_A });
  t.is(h(r5.data), '61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598');
  t.is(h(r5.tag), '3612d2e79e3b0785561be14aaca2fccb');

  const iv = hex('cafebabefacedbaddecaf888');
  for (const len of [4, 8, 12, 13, 14, 15, 16]) {
    const out = decryptOnce(Alg.AES, GCM_K, r4.data, { params: { blockCipherMode: Mode.GCM, tagLength: len }, iv, aad: GCM_A, tag: r4.tag!.subarray(0, len) });
    t.is(h(out), h(GCM_P), `tag length ${len}`);
  }
  const bad = Buffer.from(r4.tag!);
  bad[0]! ^= 1;
  const e = t.throws(() => decryptOnce(Alg.AES, GCM_K, r4.data, { params: p, iv, aad: GCM_A, tag: bad }));
  t.is((e as CryptoError).kind, 'failure');
  t.throws(() => decryptOnce(Alg.AES, GCM_K, r4.data, { params: p, iv, aad: hex('00'), tag: r4.tag }));
});

test('AES-GCM: tag lengths outside 4, 8, 12-16 are a tag-length error', (t) => {
  for (const len of [1, 3, 5, 11, 17, 32]) {
    const e = t.throws(() => encryptOnce(Alg.AES, GCM_K, GCM_P, { params: { blockCipherMode: Mode.GCM, tagLength: len }, iv: Buffer.alloc(12) }));
    t.is((e as CryptoError).kind, 'tag-length', `tag length ${len}`);
  }
});

test('AES-GCM by parts gives what one call gives', (t) => {
  const c = openSymmetric('encrypt', Alg.AES, GCM_K, { params: { blockCipherMode: Mode.GCM }, iv: hex('cafebabefacedbaddecaf888'), aad: GCM_A });
  const parts = [c.update(GCM_P.subarray(0, 7)), c.update(GCM_P.subarray(7, 40)), c.update(GCM_P.subarray(40)), c.final()];
  t.is(h(Buffer.concat(parts)), '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091');
  t.is(h(c.tag()), '5bc94fbc3221a5db94fae95ae7121a47');
});

test('AES-XTS-128: IEEE 1619 vector 2', (t) => {
  const key = Buffer.concat([Buffer.alloc(16, 0x11), Buffer.alloc(16, 0x22)]);
  const tweak = Buffer.alloc(16);
  tweak.writeUIntLE(0x3333333333, 0, 5);
  const r = encryptOnce(Alg.AES, key, Buffer.alloc(32, 0x44), { params: { blockCipherMode: Mode.XTS }, iv: tweak });
  t.is(h(r.data), 'c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0');
});

test('CBC with PKCS5 padding: the KMIP vector CS-BC-M-10 (key 0123..ef, IV 0102..16)', (t) => {
  const key = hex('0123456789abcdef0123456789abcdef');
  const data = hex('010203040506070809101112131415160102030405060708091011121314151601');
  const params = { blockCipherMode: Mode.CBC, paddingMethod: PaddingMethod.PKCS5 };
  const r = encryptOnce(Alg.AES, key, data, { params, iv: hex('01020304050607080910111213141516') });
  t.is(r.data.length, 48);
  t.true(h(r.data).startsWith('79abc5c23868ad84d388ce61110a6274'));
  t.is(h(decryptOnce(Alg.AES, key, r.data, { params, iv: hex('01020304050607080910111213141516') })), h(data));
  // Without padding, data must be whole blocks.
  t.is((t.throws(() => encryptOnce(Alg.AES, key, data, { params: { blockCipherMode: Mode.CBC }, iv: Buffer.alloc(16) })) as CryptoError).kind, 'failure');
});

test('Random IV: generated when asked and missing; a missing IV is otherwise a missing-iv error', (t) => {
  const key = Buffer.alloc(16, 7);
  const params = { blockCipherMode: Mode.CBC, paddingMethod: PaddingMethod.PKCS5, randomIv: true };
  const r = encryptOnce(Alg.AES, key, Buffer.from('hello'), { params });
  t.is(r.iv?.length, 16);
  t.is(decryptOnce(Alg.AES, key, r.data, { params, iv: r.iv }).toString(), 'hello');
  t.is((t.throws(() => decryptOnce(Alg.AES, key, r.data, { params })) as CryptoError).kind, 'missing-iv');
  t.is((t.throws(() => encryptOnce(Alg.AES, key, Buffer.from('x'), { params: { blockCipherMode: Mode.CBC } })) as CryptoError).kind, 'missing-iv');
  const g = encryptOnce(Alg.AES, key, Buffer.from('x'), { params: { blockCipherMode: Mode.GCM, randomIv: true } });
  t.is(g.iv?.length, 12);
  t.is(encryptOnce(Alg.AES, key, Buffer.from('x'), { params: { blockCipherMode: Mode.GCM, randomIv: true, ivLength: 128 } }).iv?.length, 16);
});

test('Triple DES: SP 800-67 example and the KMIP vector CS-BC-M-4-12-3DES', (t) => {
  const key = hex('0123456789abcdef23456789abcdef01456789abcdef0123');
  const r = encryptOnce(Alg.DES3, key, Buffer.from('The qufck brown fox jump') /* sic: SP 800-67's example text */, { params: { blockCipherMode: Mode.ECB } });
  t.is(h(r.data), 'a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900');
  const k2 = hex('010101010101010101010101010101010101010101010101');
  const r2 = encryptOnce(Alg.DES3, k2, hex('010203040506070809101112131415161718192021222324'), { params: { blockCipherMode: Mode.ECB } });
  t.is(h(r2.data), 'cead373db80eabf87477d921e6d5a5d116c10e3814ebe004');
});

const SUNSCREEN = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

test('ChaCha20: RFC 8439 §2.4.2 (12-byte nonce, counter 1) and the 8-byte-nonce KMIP vector CS-BC-M-CHACHA20-1', (t) => {
  const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const r = encryptOnce(Alg.ChaCha20, key, SUNSCREEN, { params: { initialCounterValue: 1 }, iv: hex('000000000000004a00000000') });
  t.is(h(r.data), [
    '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab',
    '8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d',
  ].join(''));
  const z = encryptOnce(Alg.ChaCha20, Buffer.alloc(32), Buffer.alloc(64), { params: {}, iv: Buffer.alloc(8) });
  t.true(h(z.data).startsWith('76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7'));
});

test('ChaCha20-Poly1305: RFC 8439 §2.8.2', (t) => {
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const iv = hex('070000004041424344454647');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const r = encryptOnce(Alg.ChaCha20Poly1305, key, SUNSCREEN, { params: { blockCipherMode: Mode.AEAD }, iv, aad });
  t.is(h(r.data), [
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36',
    '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
  ].join(''));
  t.is(h(r.tag), '1ae10b594f09e26a7e902ecbd0600691');
  t.is(decryptOnce(Alg.ChaCha20Poly1305, key, r.data, { params: {}, iv, aad, tag: r.tag }).toString(), SUNSCREEN.toString());
});

test('AES-CCM round trip; wrong key sizes and unsupported modes are refused', (t) => {
  const key = Buffer.alloc(16, 9);
  const params = { blockCipherMode: Mode.CCM, tagLength: 8 };
  const r = encryptOnce(Alg.AES, key, Buffer.from('ccm data'), { params, iv: Buffer.alloc(12, 1), aad: Buffer.from('hdr') });
  t.is(r.tag?.length, 8);
  t.is(decryptOnce(Alg.AES, key, r.data, { params, iv: Buffer.alloc(12, 1), aad: Buffer.from('hdr'), tag: r.tag }).toString(), 'ccm data');
  t.is((t.throws(() => encryptOnce(Alg.AES, Buffer.alloc(20), Buffer.alloc(16), { params: { blockCipherMode: Mode.ECB } })) as CryptoError).kind, 'bad-key');
  t.is((t.throws(() => encryptOnce(Alg.AES, key, Buffer.alloc(16), { params: { blockCipherMode: Mode.PCBC }, iv: Buffer.alloc(16) })) as CryptoError).kind, 'unsupported');
  t.is((t.throws(() => encryptOnce(Alg.AES, key, Buffer.alloc(16), { params: {} })) as CryptoError).kind, 'bad-params');
  t.is((t.throws(() => encryptOnce(Alg.AES, key, Buffer.alloc(16), { params: { blockCipherMode: Mode.ECB, cryptographicAlgorithm: Alg.DES3 } })) as CryptoError).kind, 'bad-params');
});
