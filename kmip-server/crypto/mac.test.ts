import test from 'ava';
import { BlockCipherMode, CryptographicAlgorithm as Alg, HashingAlgorithm as H } from '../ttlv/enums.ts';
import { CryptoError } from './crypto-error.ts';
import { Cmac, macEquals, macOnce, macSpec, openMac } from './mac.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 4231 test cases 1 and 2; RFC 2202 test case 1 for SHA-1.
test('HMAC-SHA1/224/256/384/512: RFC 2202 and RFC 4231 vectors', (t) => {
  const key = Buffer.alloc(20, 0x0b);
  const hi = Buffer.from('Hi There');
  const expect: [number, string][] = [
    [Alg.HMAC_SHA1, 'b617318655057264e28bc0b6fb378c8ef146be00'],
    [Alg.HMAC_SHA224, '896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22'],
    [Alg.HMAC_SHA256, 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [Alg.HMAC_SHA384, 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6'],
    [Alg.HMAC_SHA512, '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854'],
  ];
  for (const [alg, mac] of expect) t.is(h(macOnce(macSpec(alg, {}), key, hi)), mac);
  t.is(h(macOnce(macSpec(undefined, { cryptographicAlgorithm: Alg.HMAC_SHA256 }), Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('the KMIP vector CS-AC-M-4: an AES key used with HMAC-SHA256 from its Cryptographic Parameters', (t) => {
  const spec = macSpec(Alg.AES, { cryptographicAlgorithm: Alg.HMAC_SHA256 });
  t.deepEqual(spec, { kind: 'hmac', hash: H.SHA_256 });
  t.is(h(macOnce(spec, hex('0123456789abcdef0123456789abcdef'), hex('01020304050607080910111213141516'))),
    'c911e78196d64c30f631bb079ea37b97a95936d4da764d6a171df030c895ecf9');
});

// NIST SP 800-38B, Appendix D.1 (AES-128): subkeys and four messages.
const K = hex('2b7e151628aed2a6abf7158809cf4f3c');
const M64 = hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');

test('CMAC-AES-128: SP 800-38B D.1 examples 1-4, in one call and byte by byte', (t) => {
  const spec = macSpec(Alg.AES, {});
  t.deepEqual(spec, { kind: 'cmac', cipher: Alg.AES });
  const cases: [number, string][] = [
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [len, mac] of cases) {
    t.is(h(macOnce(spec, K, M64.subarray(0, len))), mac, `${len} bytes`);
    const m = new Cmac(Alg.AES, K);
    for (let i = 0; i < len; i++) m.update(M64.subarray(i, i + 1));
    t.is(h(m.digest()), mac, `${len} bytes by parts`);
  }
});

test('MAC choice: HMAC keys, Hashing Algorithm, CMAC mode; SHA-3 HMAC available', (t) => {
  t.deepEqual(macSpec(Alg.HMAC_SHA512, {}), { kind: 'hmac', hash: H.SHA_512 });
  t.deepEqual(macSpec(undefined, { hashingAlgorithm: H.SHA_384 }), { kind: 'hmac', hash: H.SHA_384 });
  t.deepEqual(macSpec(Alg.DES3, { blockCipherMode: BlockCipherMode.CMAC }), { kind: 'cmac', cipher: Alg.DES3 });
  t.deepEqual(macSpec(Alg.HMAC_SHA3_256, {}), { kind: 'hmac', hash: H.SHA3_256 });
  t.is(macOnce(macSpec(Alg.HMAC_SHA3_512, {}), Buffer.from('k'), Buffer.from('d')).length, 64);
  t.is((t.throws(() => macSpec(undefined, {})) as CryptoError).kind, 'bad-params');
  t.is((t.throws(() => macSpec(Alg.AES, { cryptographicAlgorithm: Alg.RSA })) as CryptoError).kind, 'unsupported');
  t.is(macOnce(macSpec(Alg.DES3, {}), Buffer.alloc(24, 3), Buffer.from('tdes cmac')).length, 8);
});

test('macEquals: equal only for the same bytes and length', (t) => {
  const m = openMac({ kind: 'hmac', hash: H.SHA_256 }, Buffer.from('key'));
  m.update(Buffer.from('a'));
  const d = m.digest();
  t.true(macEquals(d, Buffer.from(d)));
  t.false(macEquals(d, d.subarray(0, 16)));
  const x = Buffer.from(d);
  x[31]! ^= 1;
  t.false(macEquals(d, x));
});
