import test from 'ava';
import { createPrivateKey, createPublicKey, createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, constants } from 'node:crypto';
import { CryptographicAlgorithm as Alg, DigitalSignatureAlgorithm as DSA, HashingAlgorithm as H, PaddingMethod } from '../ttlv/enums.ts';
import { CryptoError } from './crypto-error.ts';
import { openSignatureStream, signOnce, signatureSpec, verifyOnce } from './signature.ts';
import { RSA2048_PKCS1_HEX } from './test-vectors.fixture.ts';
import * as K from './kat.fixture.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const rsa = createPrivateKey({ key: hex(RSA2048_PKCS1_HEX), format: 'der', type: 'pkcs1' });
const rsaPub = createPublicKey(rsa);
const data = hex('01020304050607080910111213141516');

test('RSASSA-PSS: the OASIS vector CS-AC-M-2 signature is Valid (salt 222, MGF1 = hash), and not for other data or hash', (t) => {
  const spec = signatureSpec(rsaPub, { paddingMethod: PaddingMethod.PSS, hashingAlgorithm: H.SHA_256, cryptographicAlgorithm: Alg.RSA }, 'verify');
  t.deepEqual(spec, { family: 'rsa', pss: true, hash: H.SHA_256, mgfHash: H.SHA_256 });
  t.true(verifyOnce(rsaPub, spec, { data: hex(K.PSS_DATA) }, hex(K.PSS_SHA256_SIGNATURE)));
  t.true(verifyOnce(rsaPub, { ...spec, saltLength: 222 }, { data: hex(K.PSS_DATA) }, hex(K.PSS_SHA256_SIGNATURE)));
  t.false(verifyOnce(rsaPub, { ...spec, saltLength: 32 }, { data: hex(K.PSS_DATA) }, hex(K.PSS_SHA256_SIGNATURE)));
  t.false(verifyOnce(rsaPub, spec, { data: hex('ff' + K.PSS_DATA.slice(2)) }, hex(K.PSS_SHA256_SIGNATURE)));
  const sha1 = signatureSpec(rsaPub, { paddingMethod: PaddingMethod.PSS, hashingAlgorithm: H.SHA_1 }, 'verify');
  t.false(verifyOnce(rsaPub, sha1, { data: hex(K.PSS_DATA) }, hex(K.PSS_SHA256_SIGNATURE)));
  // The digest path (PSS decoded here) agrees.
  const digest = createHash('sha256').update(hex(K.PSS_DATA)).digest();
  t.true(verifyOnce(rsaPub, spec, { digest }, hex(K.PSS_SHA256_SIGNATURE)));
});

test('RSASSA-PSS: signatures made here verify with node and with a separate MGF1 hash round trip', (t) => {
  const spec = signatureSpec(rsa, { paddingMethod: PaddingMethod.PSS, hashingAlgorithm: H.SHA_256 }, 'sign');
  t.is(spec.saltLength, 32);
  const s = signOnce(rsa, spec, { data });
  t.true(nodeVerify('sha256', data, { key: rsaPub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, s));
  const viaDigest = signOnce(rsa, spec, { digest: createHash('sha256').update(data).digest() });
  t.true(nodeVerify('sha256', data, { key: rsaPub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, viaDigest));
  const mixed = signatureSpec(rsa, { paddingMethod: PaddingMethod.PSS, hashingAlgorithm: H.SHA_384, maskGeneratorHashingAlgorithm: H.SHA_1, saltLength: 20 }, 'sign');
  const m = signOnce(rsa, mixed, { data });
  t.true(verifyOnce(rsaPub, { ...mixed, saltLength: undefined } as never, { data }, m));
  t.false(verifyOnce(rsaPub, { ...mixed, mgfHash: H.SHA_384 }, { data }, m));
});

test('RSASSA-PKCS1-v1_5: deterministic, equal to node\'s, the same over a Digested Data', (t) => {
  for (const [hash, name] of [[H.SHA_1, 'sha1'], [H.SHA_256, 'sha256'], [H.SHA_512, 'sha512'], [H.SHA3_256, 'sha3-256']] as const) {
    const spec = signatureSpec(rsa, { hashingAlgorithm: hash }, 'sign');
    const s = signOnce(rsa, spec, { data });
    t.is(s.toString('hex'), nodeSign(name, data, rsa).toString('hex'));
    t.is(signOnce(rsa, spec, { digest: createHash(name).update(data).digest() }).toString('hex'), s.toString('hex'));
    t.true(verifyOnce(rsaPub, spec, { data }, s));
    t.true(verifyOnce(rsaPub, spec, { digest: createHash(name).update(data).digest() }, s));
    t.false(verifyOnce(rsaPub, spec, { data: hex('00') }, s));
  }
  const viaDsa = signatureSpec(rsa, { digitalSignatureAlgorithm: DSA.SHA_384WithRSAEncryption }, 'sign');
  t.deepEqual(viaDsa, { family: 'rsa', pss: false, hash: H.SHA_384 });
  t.is((t.throws(() => signOnce(rsa, viaDsa, { digest: Buffer.alloc(20) })) as CryptoError).kind, 'bad-params');
});

test('ECDSA: the OASIS vector TC-ECDSA-SIGN signature (secp256k1, SHA-256, DER) is Valid; own signatures round trip', (t) => {
  const pub = createPublicKey({ key: hex(K.ECDSA_SECP256K1_PUBLIC_SPKI), format: 'der', type: 'spki' });
  const key = createPrivateKey({ key: hex(K.ECDSA_SECP256K1_PRIVATE_SEC1), format: 'der', type: 'sec1' });
  const spec = signatureSpec(pub, { hashingAlgorithm: H.SHA_256, cryptographicAlgorithm: Alg.ECDSA }, 'verify');
  t.true(verifyOnce(pub, spec, { data: hex(K.ECDSA_DATA) }, hex(K.ECDSA_SHA256_SIGNATURE)));
  t.false(verifyOnce(pub, spec, { data: hex('00') }, hex(K.ECDSA_SHA256_SIGNATURE)));
  t.false(verifyOnce(pub, spec, { data: hex(K.ECDSA_DATA) }, Buffer.from('not DER')));
  const s = signOnce(key, signatureSpec(key, { cryptographicAlgorithm: Alg.ECDSA }, 'sign'), { data });
  t.is(s[0], 0x30, 'DER SEQUENCE');
  t.true(verifyOnce(pub, spec, { data }, s));
  // Verify ignores parameters of another family (vector CS-AC-M-3-ECC-13); Sign refuses them.
  t.true(verifyOnce(pub, signatureSpec(pub, { paddingMethod: PaddingMethod.PSS, hashingAlgorithm: H.SHA_256, cryptographicAlgorithm: Alg.RSA }, 'verify'), { data }, s));
  t.is((t.throws(() => signatureSpec(key, { cryptographicAlgorithm: Alg.RSA }, 'sign')) as CryptoError).kind, 'bad-params');
  t.is((t.throws(() => signOnce(key, signatureSpec(key, {}, 'sign'), { digest: Buffer.alloc(32) })) as CryptoError).kind, 'unsupported');
});

test('ECDSA default hashes follow the curve: P-256 SHA-256, P-384 SHA-384, P-521 SHA-512', (t) => {
  for (const [curve, hash] of [['prime256v1', H.SHA_256], ['secp384r1', H.SHA_384], ['secp521r1', H.SHA_512]] as const) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const spec = signatureSpec(privateKey, {}, 'sign');
    t.is(spec.hash, hash);
    t.true(verifyOnce(publicKey, spec, { data }, signOnce(privateKey, spec, { data })));
  }
});

test('Ed25519: RFC 8032 §7.1 test 1', (t) => {
  const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const key = createPrivateKey({ key: Buffer.concat([hex('302e020100300506032b657004220420'), seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey({ key: Buffer.concat([hex('302a300506032b6570032100'), hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')]), format: 'der', type: 'spki' });
  const spec = signatureSpec(key, {}, 'sign');
  t.deepEqual(spec, { family: 'eddsa', pss: false });
  const sig = signOnce(key, spec, { data: Buffer.alloc(0) });
  t.is(sig.toString('hex'), 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
  t.true(verifyOnce(pub, spec, { data: Buffer.alloc(0) }, sig));
  // By parts (kept and signed at the end).
  const st = openSignatureStream(key, spec, 'sign');
  st.update(hex('0102'));
  st.update(hex('03'));
  t.true(verifyOnce(pub, spec, { data: hex('010203') }, st.sign()));
});

test('by parts equals one call, for PKCS#1, PSS (checked) and ECDSA; a stream only does its own direction', (t) => {
  const pkcs1 = signatureSpec(rsa, { hashingAlgorithm: H.SHA_256 }, 'sign');
  const st = openSignatureStream(rsa, pkcs1, 'sign');
  st.update(data.subarray(0, 5));
  st.update(data.subarray(5));
  t.is(st.sign().toString('hex'), signOnce(rsa, pkcs1, { data }).toString('hex'));
  const pss = signatureSpec(rsa, { paddingMethod: PaddingMethod.PSS }, 'sign');
  const ps = openSignatureStream(rsa, pss, 'sign');
  ps.update(data);
  const v = openSignatureStream(rsaPub, signatureSpec(rsaPub, { paddingMethod: PaddingMethod.PSS }, 'verify'), 'verify');
  v.update(data.subarray(0, 3));
  v.update(data.subarray(3));
  t.true(v.verify(ps.sign()));
  t.throws(() => v.sign());
});
