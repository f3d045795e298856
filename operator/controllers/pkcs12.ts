/**
 * A PKCS#12 (RFC 7292) keystore holding one private key and its certificate chain, as OpenSSL 3
 * and Java read them: the key in a pkcs8ShroudedKeyBag (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC,
 * encrypted by node:crypto), the certificates in plain certBags (they are public), and an
 * HMAC-SHA256 integrity MAC keyed by the PKCS#12 KDF. node:crypto can read PKCS#12 (as `pfx`) but
 * not write it; this is the smallest DER writer that does.
 */
import { createHash, createHmac, createPrivateKey, randomBytes } from 'node:crypto';

const OID = {
  data: '1.2.840.113549.1.7.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** Iterations for the MAC key and the key encryption (OpenSSL 3's default is 2048). */
const ITERATIONS = 10_000;

// ---- DER -------------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
// DER orders a SET OF by encoding; every set written here has one element.
const set = (item: Buffer) => tlv(0x31, item);
const octetString = (b: Buffer) => tlv(0x04, b);
const explicit0 = (inner: Buffer) => tlv(0xa0, inner);
const NULL = Buffer.from([0x05, 0x00]);

function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function bmpString(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return tlv(0x1e, b);
}

const attribute = (type: string, value: Buffer) => sequence(oid(type), set(value));
const contentInfoData = (content: Buffer) => sequence(oid(OID.data), explicit0(octetString(content)));

// ---- PKCS#12 KDF (RFC 7292 appendix B.2), SHA-256 ----------------------------------------------

function pkcs12Kdf(password: string, salt: Buffer, id: number, iterations: number, size: number): Buffer {
  const u = 32; // SHA-256 output
  const v = 64; // SHA-256 block
  // The password as a BMPString with a two-zero-byte terminator.
  const pw = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) pw.writeUInt16BE(password.charCodeAt(i), i * 2);
  const fill = (src: Buffer) => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(pw)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < size; produced += u) {
    let A = createHash('sha256').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha256').update(A).digest();
    out.push(A);
    const B = fill(A);
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, size);
}

// ---- the keystore ------------------------------------------------------------------------------

export interface Pkcs12Input {
  /** PKCS#8 (or any PEM Node reads) private key. */
  privateKeyPem: string;
  /** DER certificates: the key's certificate first, then its issuers. */
  certificatesDer: Uint8Array[];
  password: string;
  /** friendlyName of the key and its certificate (the alias Java shows). */
  alias: string;
}

export function pkcs12(input: Pkcs12Input): Buffer {
  const [leaf, ...chain] = input.certificatesDer;
  if (!leaf) throw new Error('a PKCS#12 keystore needs the key\'s certificate');
  const localKeyId = createHash('sha1').update(leaf).digest();
  const keyAttrs = set(Buffer.concat([attribute(OID.friendlyName, bmpString(input.alias)), attribute(OID.localKeyId, octetString(localKeyId))]));

  const encryptedKey = createPrivateKey(input.privateKeyPem).export({
    format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: input.password,
  });
  const keyBag = sequence(oid(OID.pkcs8ShroudedKeyBag), explicit0(encryptedKey), keyAttrs);

  const certBag = (der: Uint8Array, attrs?: Buffer) => sequence(
    oid(OID.certBag),
    explicit0(sequence(oid(OID.x509Certificate), explicit0(octetString(Buffer.from(der))))),
    ...(attrs ? [attrs] : []),
  );
  const certBags = [certBag(leaf, keyAttrs), ...chain.map((c) => certBag(c))];

  const authSafe = sequence(contentInfoData(sequence(...certBags)), contentInfoData(sequence(keyBag)));

  const salt = randomBytes(16);
  const macKey = pkcs12Kdf(input.password, salt, 3, ITERATIONS, 32);
  const mac = createHmac('sha256', macKey).update(authSafe).digest();
  const macData = sequence(sequence(sequence(oid(OID.sha256), NULL), octetString(mac)), octetString(salt), integer(ITERATIONS));

  return sequence(integer(3), contentInfoData(authSafe), macData);
}
