import test from 'ava';
import { constants, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import { rsaEncrypt } from '../../kmip-server/crypto/rsa-cipher.ts';
import * as K from '../../kmip-server/crypto/kat.fixture.ts';
import { HashingAlgorithm as H, MaskGenerator, PaddingMethod } from '../../kmip-server/ttlv/enums.ts';
import { fromXml } from '../../kmip-server/ttlv/xml.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { emeOaepDecode, oaepCheckFor, oaepDecrypt, oaepKeysOf, type OaepParams } from './oaep.ts';
import { findVectorsDir, listVectorFiles, readVectorSteps, type VectorFile } from './vectors.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const priv = (der: string) => createPrivateKey({ key: hex(der), format: 'der', type: 'pkcs1' });
const params = (hash: string, mgfHash: string, label = ''): OaepParams => ({ hash, mgfHash, label: Buffer.from(label) });

test('OAEP decoding agrees with node for the same hash both ways, with and without a label', (t) => {
  const key = priv(K.OAEP_SHA256_PRIVATE_PKCS1);
  for (const [hash, label] of [['sha1', ''], ['sha256', ''], ['sha384', 'L'], ['sha512', 'a label']] as const) {
    const ct = publicEncrypt({ key: createPublicKey(key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, oaepLabel: Buffer.from(label) }, Buffer.from('message'));
    // node's decryption (used when the hashes agree) and the EME-OAEP decoding written out here, on raw RSA.
    t.is(oaepDecrypt(key, params(hash, hash, label), ct)?.toString(), 'message');
    const em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ct);
    t.is(emeOaepDecode(params(hash, hash, label), em)?.toString(), 'message', hash);
    // A different label or hash does not decode.
    t.is(emeOaepDecode(params(hash, hash, `${label}x`), em), undefined);
    t.is(emeOaepDecode(params(hash === 'sha1' ? 'sha256' : 'sha1', hash, label), em), undefined);
  }
});

test('OAEP decoding with MGF1 hash apart from the OAEP hash reads the OASIS vector\'s ciphertext (another implementation)', (t) => {
  const key = priv(K.OAEP_SHA384_MGF256_PRIVATE_PKCS1);
  const ct = hex(K.OAEP_SHA384_MGF256_CIPHERTEXT);
  t.is(oaepDecrypt(key, params('sha384', 'sha256'), ct)?.toString('hex'), K.OAEP_SHA384_MGF256_PLAINTEXT);
  t.is(oaepDecrypt(key, params('sha384', 'sha384'), ct), undefined);
  t.is(oaepDecrypt(key, params('sha256', 'sha384'), ct), undefined);
  t.is(oaepDecrypt(key, params('sha384', 'sha256', 'label'), ct), undefined);
  // Not a ciphertext for this key: wrong length, or a value that is not an OAEP encoding.
  t.is(oaepDecrypt(key, params('sha384', 'sha256'), ct.subarray(1)), undefined);
  t.is(oaepDecrypt(key, params('sha384', 'sha256'), Buffer.alloc(256, 1)), undefined);
});

function vector(rel: string): VectorFile | undefined {
  try {
    return listVectorFiles(findVectorsDir()).find((f) => f.rel === rel);
  } catch {
    return undefined;
  }
}

/** The Encrypt request of an OAEP vector as sent, for the identifier `id`. */
function encryptRequest(id: string, data: string, params = ''): TtlvItem {
  return fromXml(`<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/><ProtocolVersionMinor type="Integer" value="4"/></ProtocolVersion><BatchCount type="Integer" value="1"/></RequestHeader>
    <BatchItem><Operation type="Enumeration" value="Encrypt"/><RequestPayload><UniqueIdentifier type="TextString" value="${id}"/>${params}<Data type="ByteString" value="${data}"/></RequestPayload></BatchItem></RequestMessage>`);
}

const bound = (id: string) => new Map<string, TtlvItem>([['UNIQUE_IDENTIFIER_0', { tag: 0x420094, type: ItemType.TextString, value: id }]]);

test('the OAEP rule: an Encrypt under the vector\'s OAEP key is checked by decryption, a wrong ciphertext is refused', (t) => {
  const vf = vector('v1.4/CS-AC-M-OAEP-9-14.xml');
  if (!vf) {
    t.log('vectors not found');
    t.pass();
    return;
  }
  const keys = oaepKeysOf(vf.path, vf.family, readVectorSteps(vf.path));
  t.is(keys.length, 1);
  t.is(keys[0]!.variable, 'UNIQUE_IDENTIFIER_0');
  t.regex(keys[0]!.privateFrom, /^CS-AC-M-OAEP-(8|10)-14\.xml$/);
  const plaintext = '6628194e12073db03ba94cda9ef9532397d50dba79b987004afefe34';
  const check = oaepCheckFor(encryptRequest('id-1', plaintext), keys, bound('id-1'));
  if (!check) return t.fail('no check for the OAEP Encrypt');
  t.regex(check.describe, /RSA-OAEP SHA-384, MGF1 SHA-256, with a label/);
  // A fresh ciphertext from the server's own OAEP code, with the vector's parameters: accepted.
  const pub = createPublicKey(keys[0]!.privateKey);
  const p = { paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: H.SHA_384, maskGenerator: MaskGenerator.MGF1, maskGeneratorHashingAlgorithm: H.SHA_256, pSource: Buffer.from('Kilroy was here') };
  t.true(check.verify(rsaEncrypt(pub, p, hex(plaintext))));
  t.true(check.verify(rsaEncrypt(pub, p, hex(plaintext))), 'another run, another ciphertext, same check');
  // Refused: a different plaintext, the label left out, the hashes swapped, random bytes.
  t.false(check.verify(rsaEncrypt(pub, p, hex('00' + plaintext))));
  t.false(check.verify(rsaEncrypt(pub, { ...p, pSource: undefined }, hex(plaintext))));
  t.false(check.verify(rsaEncrypt(pub, { ...p, hashingAlgorithm: H.SHA_256, maskGeneratorHashingAlgorithm: H.SHA_384 }, hex(plaintext))));
  t.false(check.verify(Buffer.alloc(256, 7)));
});

test('the OAEP rule does not apply to other keys, other identifiers, or other padding', (t) => {
  const oaep = vector('v1.4/CS-AC-M-OAEP-1-14.xml');
  const aes = vector('v1.4/CS-BC-M-6-14.xml');
  const pkcs1 = vector('v1.4/CS-AC-M-OAEP-2-14.xml');
  if (!oaep || !aes || !pkcs1) {
    t.pass();
    return;
  }
  // A symmetric key (AES-ECB is deterministic) and a file that registers only a private key: no OAEP key.
  t.deepEqual(oaepKeysOf(aes.path, aes.family, readVectorSteps(aes.path)), []);
  t.deepEqual(oaepKeysOf(pkcs1.path, pkcs1.family, readVectorSteps(pkcs1.path)), []);
  const keys = oaepKeysOf(oaep.path, oaep.family, readVectorSteps(oaep.path));
  t.is(keys.length, 1);
  const data = '01020304';
  // Another object's identifier, or the OAEP key under parameters that say PKCS#1 v1.5 or no padding.
  t.is(oaepCheckFor(encryptRequest('other', data), keys, bound('id-1')), undefined);
  const cp = (pm: string) => `<CryptographicParameters><PaddingMethod type="Enumeration" value="${pm}"/></CryptographicParameters>`;
  t.is(oaepCheckFor(encryptRequest('id-1', data, cp('PKCS1V1_5')), keys, bound('id-1')), undefined);
  t.is(oaepCheckFor(encryptRequest('id-1', data, cp('None')), keys, bound('id-1')), undefined);
  t.truthy(oaepCheckFor(encryptRequest('id-1', data, cp('OAEP')), keys, bound('id-1')));
  t.truthy(oaepCheckFor(encryptRequest('id-1', data), keys, bound('id-1')));
});
