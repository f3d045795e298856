/**
 * PyKMIP 0.10's ProxyKmipClient doing cryptography against the dev server (issue 3, item 5): Encrypt/Decrypt
 * (AES-256 CBC PKCS5 with a client IV and with a server-made Random IV; AES-GCM), Sign / Signature Verify
 * (RSA-2048 PKCS#1 v1.5 with SHA-256) and MAC (HMAC-SHA256), at KMIP 1.2 (PyKMIP's default) and 1.4.
 *
 * Results are checked, not just success: every ciphertext, tag, signature and MAC is recomputed here with
 * node:crypto from the key material PyKMIP fetches with Get, and Decrypt / Signature Verify must give back
 * the plaintext / VALID -- and INVALID or a Cryptographic Failure when the input was tampered with.
 *
 * crypto_driver.py is driver.py plus the crypto operations, spoken over the same JSON lines; this suite
 * runs one long-lived /usr/bin/python3 per KMIP version (tests of a version take turns, versions run in
 * parallel), each with its own empty HOME, and opens a fresh connection per test from the admin
 * credential's generated pykmip.conf.
 *
 * PyKMIP 0.10 and GCM: ProxyKmipClient.encrypt()/decrypt() take Cryptographic Parameters with Block Cipher
 * Mode GCM and Tag Length, but cannot send Authenticated Encryption Additional Data nor carry the
 * Authenticated Encryption Tag (both KMIP 1.4 fields; PyKMIP's payload classes encode them only at 1.4).
 * At 1.2 the server appends the tag to Data, so encrypt()/decrypt() work as they are; at 1.4 the suite sends
 * PyKMIP's own Encrypt/Decrypt payloads (with AAD and tag) through the client's KMIPProxy.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  constants, createCipheriv, createHmac, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startDevServer, suiteTeardown, type DevServer, type Teardown } from '../../helpers/dev-server.ts';
import { SYSTEM_PYTHON } from '../../setup/pykmip.ts';
import { PykmipFailure, type PykmipError, type PykmipVersion } from './driver.ts';

const DRIVER = fileURLToPath(new URL('./crypto_driver.py', import.meta.url));

const VERSIONS: Array<{ label: string; version: PykmipVersion }> = [
  { label: '1.2', version: null },
  { label: '1.4', version: 'KMIP_1_4' },
];

type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: PykmipError };

/** One crypto_driver.py process (a lane): tests of one KMIP version queue for it. */
class Lane {
  readonly #child: ChildProcess;
  readonly #home = mkdtempSync(join(tmpdir(), 'pykmip-crypto-home-'));
  readonly #pending = new Map<number, (a: Answer) => void>();
  #next = 1;
  #stderr = '';
  #exit: string | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor() {
    this.#child = spawn(SYSTEM_PYTHON, [DRIVER], {
      env: { PATH: '/usr/bin:/bin', HOME: this.#home, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-16_000);
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const a = JSON.parse(line) as Answer;
      this.#pending.get(a.id)?.(a);
      this.#pending.delete(a.id);
    });
    this.#child.once('exit', (code, signal) => {
      rmSync(this.#home, { recursive: true, force: true });
      this.#exit = `crypto_driver.py exited (code ${code}, signal ${signal}): ${this.#stderr.slice(-2000)}`;
      for (const [id, resolve] of this.#pending) resolve(this.#exited(id));
      this.#pending.clear();
    });
  }

  #exited(id: number): Answer {
    return { id, ok: false, error: { type: 'DriverExited', status: null, reason: null, message: this.#exit ?? 'exited' } };
  }

  answer(op: string, args: Record<string, unknown>): Promise<Answer> {
    if (this.#exit) return Promise.resolve(this.#exited(0));
    const id = this.#next++;
    return new Promise<Answer>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  /** Resolves once the previous holder is done; call the returned release when finished. */
  async take(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.#tail;
    this.#tail = before.then(() => mine);
    await before;
    return release;
  }

  async stop(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

const lanes = new Map<string, Lane>();

/** A PyKMIP connection for one test, on its version's lane. */
class Py {
  readonly lane: Lane;
  constructor(lane: Lane) {
    this.lane = lane;
  }

  static async open(t: Teardown, version: PykmipVersion): Promise<Py> {
    const key = version ?? 'default';
    let lane = lanes.get(key);
    if (!lane) lanes.set(key, (lane = new Lane()));
    const release = await lane.take();
    const py = new Py(lane);
    t.teardown(async () => {
      await lane.answer('close', {}).catch(() => undefined);
      release();
    });
    await py.call('open', { config_file: server.credentials.pykmipConf, version });
    return py;
  }

  async call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const a = await this.lane.answer(op, args);
    if (!a.ok) throw new PykmipFailure(op, a.error);
    return a.result as T;
  }

  async failure(op: string, args: Record<string, unknown> = {}): Promise<PykmipError> {
    const a = await this.lane.answer(op, args);
    if (a.ok) throw new Error(`PyKMIP ${op} succeeded but was expected to fail (result ${JSON.stringify(a.result)})`);
    return a.error;
  }
}

const suite = suiteTeardown();
let server: DevServer;

test.before(async () => {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import kmip; print(kmip.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`PyKMIP is not importable by ${SYSTEM_PYTHON} (npm test installs python3-pykmip): ${probe.stderr}`);
  server = await startDevServer(suite);
  for (const { version } of VERSIONS) lanes.set(version ?? 'default', new Lane()); // start Python while others wait
});
test.after.always(async () => {
  await Promise.all([...lanes.values()].map((l) => l.stop()));
  lanes.clear();
  await suite.run();
});

const hex = (b: Buffer) => b.toString('hex');
const buf = (h: string) => Buffer.from(h, 'hex');

interface GotObject {
  value: string;
  key_format_type?: string;
  cryptographic_algorithm?: string;
  cryptographic_length?: number;
}

/** A fresh Active key made by the server (PyKMIP Create), and its bytes as PyKMIP's Get returns them. */
async function activeKey(py: Py, algorithm: string, length: number, masks: string[]): Promise<{ uid: string; key: Buffer }> {
  const uid = await py.call<string>('create', { algorithm, length, masks });
  await py.call('activate', { uid });
  const got = await py.call<GotObject>('get', { uid });
  const key = buf(got.value);
  if (key.length * 8 !== length) throw new Error(`Get returned ${key.length} bytes for a ${length}-bit ${algorithm} key`);
  return { uid, key };
}

function aesCbc(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('aes-256-cbc', key, iv); // PKCS#7 padding by default, = PKCS5 for AES
  return Buffer.concat([c.update(data), c.final()]);
}

function aesGcm(key: Buffer, iv: Buffer, data: Buffer, aad?: Buffer): { ct: Buffer; tag: Buffer } {
  const c = createCipheriv('aes-256-gcm', key, iv);
  if (aad) c.setAAD(aad);
  const ct = Buffer.concat([c.update(data), c.final()]);
  return { ct, tag: c.getAuthTag() };
}

/** A key from PyKMIP's Get of an RSA key, whatever format the server chose. */
function rsaKey(got: GotObject, kind: 'public' | 'private'): KeyObject {
  const der = buf(got.value);
  const f = got.key_format_type;
  if (kind === 'public') {
    const type = f === 'PKCS_1' ? 'pkcs1' : f === 'X_509' ? 'spki' : undefined;
    if (!type) throw new Error(`unexpected public key format ${f}`);
    return createPublicKey({ key: der, format: 'der', type });
  }
  const type = f === 'PKCS_1' ? 'pkcs1' : f === 'PKCS_8' ? 'pkcs8' : undefined;
  if (!type) throw new Error(`unexpected private key format ${f}`);
  return createPrivateKey({ key: der, format: 'der', type });
}

const CBC = { block_cipher_mode: 'CBC', padding_method: 'PKCS5', cryptographic_algorithm: 'AES' };
const GCM = { block_cipher_mode: 'GCM', cryptographic_algorithm: 'AES', tag_length: 16 };

for (const { label, version } of VERSIONS) {
  const v14 = version === 'KMIP_1_4';

  test(`KMIP ${label}: AES-256 CBC PKCS5 with a client IV matches a local computation and decrypts`, async (t) => {
    const py = await Py.open(t, version);
    const { uid, key } = await activeKey(py, 'AES', 256, ['ENCRYPT', 'DECRYPT']);
    const iv = randomBytes(16);
    for (const plaintext of [randomBytes(45), randomBytes(32), Buffer.alloc(0)]) {
      const r = await py.call<{ data: string; iv: string | null }>('encrypt', { uid, data: hex(plaintext), params: CBC, iv: hex(iv) });
      t.is(r.data, hex(aesCbc(key, iv, plaintext)), `${plaintext.length}-byte plaintext`);
      if (r.iv !== null) t.is(r.iv, hex(iv), 'an IV in the response can only be the one sent');
      const back = await py.call<string>('decrypt', { uid, data: r.data, params: CBC, iv: hex(iv) });
      t.is(back, hex(plaintext));
    }
    // The wrong IV garbles the first block only; the wrong key fails the padding or gives other bytes.
    const plaintext = randomBytes(40);
    const { data } = await py.call<{ data: string }>('encrypt', { uid, data: hex(plaintext), params: CBC, iv: hex(iv) });
    const other = randomBytes(16);
    const garbled = await py.call<string>('decrypt', { uid, data, params: CBC, iv: hex(other) });
    t.not(garbled.slice(0, 32), hex(plaintext).slice(0, 32));
    t.is(garbled.slice(32), hex(plaintext).slice(32));
  });

  test(`KMIP ${label}: AES-256 CBC PKCS5 with a Random IV: the server's IV is returned, fresh, and used`, async (t) => {
    const py = await Py.open(t, version);
    const { uid, key } = await activeKey(py, 'AES', 256, ['ENCRYPT', 'DECRYPT']);
    const params = { ...CBC, random_iv: true };
    const plaintext = Buffer.from('PyKMIP random IV interop: AES-256-CBC/PKCS5, 49 B');
    const first = await py.call<{ data: string; iv: string | null }>('encrypt', { uid, data: hex(plaintext), params });
    t.truthy(first.iv, 'Random IV: the server returns the IV it made');
    t.is(buf(first.iv!).length, 16);
    t.is(first.data, hex(aesCbc(key, buf(first.iv!), plaintext)));
    const second = await py.call<{ data: string; iv: string | null }>('encrypt', { uid, data: hex(plaintext), params });
    t.not(second.iv, first.iv, 'a new IV each time');
    t.not(second.data, first.data);
    t.is(second.data, hex(aesCbc(key, buf(second.iv!), plaintext)));
    t.is(await py.call<string>('decrypt', { uid, data: first.data, params: CBC, iv: first.iv }), hex(plaintext));
    t.is(await py.call<string>('decrypt', { uid, data: second.data, params: CBC, iv: second.iv }), hex(plaintext));
  });

  if (!v14) {
    test(`KMIP ${label}: AES-256 GCM through encrypt()/decrypt(): the tag rides at the end of Data`, async (t) => {
      const py = await Py.open(t, version);
      const { uid, key } = await activeKey(py, 'AES', 256, ['ENCRYPT', 'DECRYPT']);
      const iv = randomBytes(12);
      const plaintext = randomBytes(37);
      const r = await py.call<{ data: string; iv: string | null }>('encrypt', { uid, data: hex(plaintext), params: GCM, iv: hex(iv) });
      const local = aesGcm(key, iv, plaintext);
      t.is(r.data, hex(Buffer.concat([local.ct, local.tag])), 'ciphertext || 16-byte tag');
      t.is(await py.call<string>('decrypt', { uid, data: r.data, params: GCM, iv: hex(iv) }), hex(plaintext));
      const tampered = buf(r.data);
      tampered[tampered.length - 1]! ^= 1;
      const e = await py.failure('decrypt', { uid, data: hex(tampered), params: GCM, iv: hex(iv) });
      t.is(e.type, 'KmipOperationFailure');
      t.is(e.reason, 'CRYPTOGRAPHIC_FAILURE', 'a bad tag is a Cryptographic Failure');
    });
  } else {
    test(`KMIP ${label}: AES-256 GCM with AAD: Authenticated Encryption Tag both ways, matches a local computation`, async (t) => {
      const py = await Py.open(t, version);
      const { uid, key } = await activeKey(py, 'AES', 256, ['ENCRYPT', 'DECRYPT']);
      const iv = randomBytes(12);
      const aad = Buffer.from('kube-kmip pykmip gcm aad');
      const plaintext = randomBytes(37);
      const r = await py.call<{ data: string; iv: string | null; tag: string | null }>('gcm_encrypt', {
        uid, data: hex(plaintext), params: GCM, iv: hex(iv), aad: hex(aad),
      });
      const local = aesGcm(key, iv, plaintext, aad);
      t.is(r.data, hex(local.ct), 'Data is the ciphertext alone at 1.4');
      t.is(r.tag, hex(local.tag), 'the tag is in Authenticated Encryption Tag');
      const args = { uid, data: r.data, params: GCM, iv: hex(iv), aad: hex(aad), tag: r.tag };
      t.is(await py.call<string>('gcm_decrypt', args), hex(plaintext));
      for (const bad of [{ tag: hex(randomBytes(16)) }, { aad: hex(Buffer.from('other aad')) }]) {
        const e = await py.failure('gcm_decrypt', { ...args, ...bad });
        t.is(e.reason, 'CRYPTOGRAPHIC_FAILURE', `tampered ${Object.keys(bad)[0]}`);
      }
      // A shorter tag, as Tag Length asks.
      const short = await py.call<{ data: string; tag: string | null }>('gcm_encrypt', {
        uid, data: hex(plaintext), params: { ...GCM, tag_length: 12 }, iv: hex(iv), aad: hex(aad),
      });
      t.is(short.tag, hex(local.tag.subarray(0, 12)));
      t.is(await py.call<string>('gcm_decrypt', { ...args, params: { ...GCM, tag_length: 12 }, tag: short.tag }), hex(plaintext));
    });
  }

  for (const [how, params] of [
    ['padding + hashing', { cryptographic_algorithm: 'RSA', hashing_algorithm: 'SHA_256', padding_method: 'PKCS1v15' }],
    ['digital signature algorithm', { digital_signature_algorithm: 'SHA256_WITH_RSA_ENCRYPTION' }],
  ] as const) {
    test(`KMIP ${label}: RSA-2048 PKCS#1 v1.5 SHA-256 Sign / Signature Verify (${how})`, async (t) => {
      const py = await Py.open(t, version);
      const [pub, priv] = await py.call<[string, string]>('create_key_pair', {
        algorithm: 'RSA', length: 2048, public_masks: ['VERIFY'], private_masks: ['SIGN'],
      });
      await py.call('activate', { uid: pub });
      await py.call('activate', { uid: priv });
      const publicKey = rsaKey(await py.call<GotObject>('get', { uid: pub }), 'public');
      t.is(publicKey.asymmetricKeyDetails?.modulusLength, 2048);
      const message = Buffer.from(`PyKMIP signs this at KMIP ${label} ${hex(randomBytes(8))}`);
      const signature = buf(await py.call<string>('sign', { uid: priv, data: hex(message), params }));
      t.is(signature.length, 256);
      t.true(nodeVerify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature), 'verifies locally');
      // PKCS#1 v1.5 is deterministic: the same bytes as signing locally with the private key from Get.
      const privateKey = rsaKey(await py.call<GotObject>('get', { uid: priv }), 'private');
      t.is(hex(signature), hex(nodeSign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING })));

      t.is(await py.call<string>('signature_verify', { uid: pub, data: hex(message), signature: hex(signature), params }), 'VALID');
      const tampered = Buffer.from(message);
      tampered[0]! ^= 1;
      t.is(await py.call<string>('signature_verify', { uid: pub, data: hex(tampered), signature: hex(signature), params }), 'INVALID');
      const badSig = Buffer.from(signature);
      badSig[100]! ^= 0x40;
      t.is(await py.call<string>('signature_verify', { uid: pub, data: hex(message), signature: hex(badSig), params }), 'INVALID');
    });
  }

  test(`KMIP ${label}: HMAC-SHA256 MAC equals a local HMAC`, async (t) => {
    const py = await Py.open(t, version);
    const { uid, key } = await activeKey(py, 'HMAC_SHA256', 256, ['MAC_GENERATE', 'MAC_VERIFY']);
    for (const data of [Buffer.from('The quick brown fox jumps over the lazy dog'), randomBytes(1000), Buffer.alloc(1)]) {
      const r = await py.call<{ uid: string; mac: string }>('mac', { uid, data: hex(data), algorithm: 'HMAC_SHA256' });
      t.is(r.uid, uid);
      t.is(r.mac, createHmac('sha256', key).update(data).digest('hex'), `${data.length}-byte message`);
    }
  });
}
