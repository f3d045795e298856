import test from 'ava';
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import { HashingAlgorithm as H, MaskGenerator, PaddingMethod } from '../ttlv/enums.ts';
import { CryptoError } from './crypto-error.ts';
import { oaepDecode, oaepEncode, rsaDecrypt, rsaEncrypt, rsaRaw } from './rsa-cipher.ts';
import * as K from './kat.fixture.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const priv = (der: string) => createPrivateKey({ key: hex(der), format: 'der', type: 'pkcs1' });
const oaep = (hash: number, mgf?: number) => ({
  paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: hash, maskGenerator: MaskGenerator.MGF1, ...(mgf !== undefined ? { maskGeneratorHashingAlgorithm: mgf } : {}),
});

// The OASIS 1.4 vectors CS-AC-M-OAEP-2, -4 and -8: ciphertexts made by another implementation.
const CASES = [
  ['SHA-256 / MGF1 SHA-256', K.OAEP_SHA256_PRIVATE_PKCS1, K.OAEP_SHA256_CIPHERTEXT, K.OAEP_SHA256_PLAINTEXT, oaep(H.SHA_256, H.SHA_256)],
  ['SHA-384 / MGF1 SHA-384', K.OAEP_SHA384_PRIVATE_PKCS1, K.OAEP_SHA384_CIPHERTEXT, K.OAEP_SHA384_PLAINTEXT, oaep(H.SHA_384, H.SHA_384)],
  ['SHA-384 / MGF1 SHA-256', K.OAEP_SHA384_MGF256_PRIVATE_PKCS1, K.OAEP_SHA384_MGF256_CIPHERTEXT, K.OAEP_SHA384_MGF256_PLAINTEXT, oaep(H.SHA_384, H.SHA_256)],
] as const;

for (const [name, key, ct, pt, params] of CASES) {
  test(`RSA-OAEP ${name}: decrypts the OASIS vector, and round-trips its own ciphertexts`, (t) => {
    const k = priv(key);
    t.is(rsaDecrypt(k, params, hex(ct)).toString('hex'), pt);
    const mine = rsaEncrypt(createPublicKey(k), params, hex(pt));
    t.not(mine.toString('hex'), ct, 'OAEP is randomized');
    t.is(rsaDecrypt(k, params, mine).toString('hex'), pt);
  });
}

test('RSA-OAEP: the MGF1 hash defaults to SHA-1 (KMIP), not to the OAEP hash', (t) => {
  const k = priv(K.OAEP_SHA256_PRIVATE_PKCS1);
  // The vector was made with MGF1 SHA-256: without the field, the default SHA-1 does not decrypt it.
  const e = t.throws(() => rsaDecrypt(k, { paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: H.SHA_256 }, hex(K.OAEP_SHA256_CIPHERTEXT)));
  t.is((e as CryptoError).kind, 'failure');
  // Without MGF fields both ways, it is consistent with itself.
  const p = { paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: H.SHA_256 };
  t.is(rsaDecrypt(k, p, rsaEncrypt(createPublicKey(k), p, Buffer.from('seal'))).toString(), 'seal');
});

test('OAEP encoded and decoded here interoperates with node\'s OAEP (same hash both ways, with a label)', (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spec = { hash: H.SHA_256, mgfHash: H.SHA_256, label: Buffer.from('L') };
  const nodeOpts = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('L') };
  // Encoded here, decrypted by node.
  const mine = rsaRaw.public(publicKey, oaepEncode(spec, 256, Buffer.from('message')));
  t.is(privateDecrypt({ key: privateKey, ...nodeOpts }, mine).toString(), 'message');
  // Encrypted by node, decoded here.
  const theirs = publicEncrypt({ key: publicKey, ...nodeOpts }, Buffer.from('other'));
  t.is(oaepDecode(spec, 256, rsaRaw.private(privateKey, theirs)).toString(), 'other');
  // Tampering and a wrong label fail.
  const em = rsaRaw.private(privateKey, theirs);
  const bad = Buffer.from(em);
  bad[100]! ^= 1;
  t.throws(() => oaepDecode(spec, 256, bad));
  t.throws(() => oaepDecode({ ...spec, label: Buffer.from('M') }, 256, em));
});

test('PKCS#1 v1.5 encryption round trip; too-long data, no padding and other paddings are refused', (t) => {
  const k = priv(K.OAEP_SHA256_PRIVATE_PKCS1);
  const p = { paddingMethod: PaddingMethod.PKCS1V1_5 };
  t.is(rsaDecrypt(k, p, rsaEncrypt(createPublicKey(k), p, Buffer.from('v15'))).toString(), 'v15');
  t.is((t.throws(() => rsaEncrypt(k, p, Buffer.alloc(246))) as CryptoError).kind, 'failure');
  t.is((t.throws(() => rsaEncrypt(k, {}, Buffer.alloc(1))) as CryptoError).kind, 'bad-params');
  t.is((t.throws(() => rsaEncrypt(k, { paddingMethod: PaddingMethod.None }, Buffer.alloc(1))) as CryptoError).kind, 'unsupported');
  t.is((t.throws(() => rsaEncrypt(k, oaep(H.SHA_512), Buffer.alloc(200))) as CryptoError).kind, 'failure');
});
