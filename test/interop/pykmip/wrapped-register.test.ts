/**
 * PyKMIP 0.10 registering a key wrapped under a key the server holds (issue 3, Build item 3): ProxyKmipClient.register()
 * of a SymmetricKey carrying key_wrapping_data (AES Key Wrap, RFC 3394, No Encoding: PyKMIP puts the wrapped bytes in
 * Key Material), then get() without and with a Key Wrapping Specification naming the same key. The server keeps the
 * key as registered; the wrapped bytes PyKMIP gets back are unwrapped here with node:crypto and compared.
 * PyKMIP has no Import, Export or Validate, so those are covered by the operation unit tests only.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { startDevServer, suiteTeardown, type DevServer } from '../../helpers/dev-server.ts';
import { SYSTEM_PYTHON } from '../../setup/pykmip.ts';

const SCRIPT = String.raw`
import json, sys
from kmip import enums
from kmip.pie import client as pie_client, objects

conf, kek_hex, wrapped_hex = sys.argv[1:4]
kwd = lambda kek: {
    'wrapping_method': enums.WrappingMethod.ENCRYPT,
    'encryption_key_information': {
        'unique_identifier': kek,
        'cryptographic_parameters': {'block_cipher_mode': enums.BlockCipherMode.NIST_KEY_WRAP},
    },
    'encoding_option': enums.EncodingOption.NO_ENCODING,
}
with pie_client.ProxyKmipClient(config_file=conf) as c:
    kek = c.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, bytes.fromhex(kek_hex),
        masks=[enums.CryptographicUsageMask.WRAP_KEY, enums.CryptographicUsageMask.UNWRAP_KEY]))
    c.activate(kek)
    uid = c.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, bytes.fromhex(wrapped_hex),
        masks=[enums.CryptographicUsageMask.ENCRYPT], key_wrapping_data=kwd(kek)))
    plain = c.get(uid)
    spec = {'wrapping_method': enums.WrappingMethod.ENCRYPT, 'encryption_key_information': kwd(kek)['encryption_key_information'],
            'encoding_option': enums.EncodingOption.NO_ENCODING}
    again = c.get(uid, key_wrapping_specification=spec)
    out = {'kek': kek, 'uid': uid}
    for name, o in (('get', plain), ('get_spec', again)):
        out[name] = {'value': o.value.hex(), 'kek': o.key_wrapping_data.get('encryption_key_information', {}).get('unique_identifier')}
    print(json.dumps(out))
`;

const suite = suiteTeardown();
let server: DevServer;
test.before(async () => {
  server = await startDevServer(suite);
});
test.after.always(() => suite.run());

function python(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(SYSTEM_PYTHON, ['-c', SCRIPT, ...args], { env: { PATH: '/usr/bin:/bin', HOME: server.dataDir, LANG: 'C.UTF-8' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('PyKMIP registers an AES-KW wrapped key under a server key and gets it back wrapped, as registered', async (t) => {
  const kek = randomBytes(32);
  const key = randomBytes(32);
  const iv = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
  const c = createCipheriv('id-aes256-wrap', kek, iv);
  const wrapped = Buffer.concat([c.update(key), c.final()]);
  const r = await python([server.credentials.pykmipConf, kek.toString('hex'), wrapped.toString('hex')]);
  t.is(r.code, 0, r.stderr.slice(-3000));
  const out = JSON.parse(r.stdout) as { kek: string; uid: string; get: { value: string; kek: string }; get_spec: { value: string; kek: string } };
  for (const got of [out.get, out.get_spec]) {
    t.is(got.value, wrapped.toString('hex'));
    t.is(got.kek, out.kek);
    const d = createDecipheriv('id-aes256-wrap', kek, iv);
    t.deepEqual(Buffer.concat([d.update(Buffer.from(got.value, 'hex')), d.final()]), key);
  }
});
