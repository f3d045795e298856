import test from 'ava';
import { HashingAlgorithm as H } from '../ttlv/enums.ts';
import { CryptoError } from './crypto-error.ts';
import { hashDerive, hkdf, hmacDerive, pbkdf2 } from './kdf.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('PBKDF2-HMAC-SHA1: RFC 6070 (1, 2 and 4096 iterations; SHA-1 is the default PRF)', (t) => {
  const p = Buffer.from('password');
  const s = Buffer.from('salt');
  t.is(h(pbkdf2(undefined, p, s, 1, 20)), '0c60c80f961f0e71f3a9b524af6012062fe037a6');
  t.is(h(pbkdf2(H.SHA_1, p, s, 2, 20)), 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
  t.is(h(pbkdf2(H.SHA_1, p, s, 4096, 20)), '4b007901b765489abead49d926f721d065a429c1');
  t.is(h(pbkdf2(H.SHA_1, Buffer.from('passwordPASSWORDpassword'), Buffer.from('saltSALTsaltSALTsaltSALTsaltSALTsalt'), 4096, 25)), '3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038');
  t.is((t.throws(() => pbkdf2(H.SHA_1, p, s, 0, 20)) as CryptoError).kind, 'bad-params');
});

test('HKDF-SHA256: RFC 5869 test cases 1 and 3', (t) => {
  const ikm = Buffer.alloc(22, 0x0b);
  t.is(h(hkdf(H.SHA_256, ikm, hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42)),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  t.is(h(hkdf(undefined, ikm, Buffer.alloc(0), Buffer.alloc(0), 42)),
    '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  t.is((t.throws(() => hkdf(H.SHA_256, ikm, Buffer.alloc(0), Buffer.alloc(0), 255 * 32 + 1)) as CryptoError).kind, 'failure');
});

test('HASH and HMAC derivations: truncated digests (the KMIP vector TC-DERIVEKEY-1), too long is a failure', (t) => {
  t.is(h(hashDerive(H.SHA_256, hex('00112233445566778899aabbccddeeff'), 16)), 'a8faed6abbf35c12a4b26e40f6feb19d');
  t.is(h(hmacDerive(H.SHA_256, Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), 32)), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  t.is((t.throws(() => hashDerive(H.SHA_256, Buffer.from('x'), 33)) as CryptoError).kind, 'failure');
  t.is((t.throws(() => hashDerive(H.MD2, Buffer.from('x'), 8)) as CryptoError).kind, 'unsupported');
});
