/**
 * PEM encoding and decoding (RFC 7468): base64 body wrapped at 64 columns, LF line endings,
 * trailing newline. Concatenated PEM (a chain, or mongod's key-then-certificate file) is just the
 * blocks one after another.
 */

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export function pemEncode(label: string, der: Uint8Array | ArrayBuffer): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block in `text`, in order. Text between blocks (OpenSSL's "Bag Attributes") is ignored. */
export function pemDecodeAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const label = m[1]!;
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error(`malformed PEM block "${label}"`);
    blocks.push({ label, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return blocks;
}

/** The DER of the single (first) block labelled `label`; throws when there is none. */
export function pemDecode(text: string, label: string): Uint8Array {
  const block = pemDecodeAll(text).find((b) => b.label === label);
  if (!block) throw new Error(`no PEM "${label}" block found`);
  return block.der;
}

/** The DER of every CERTIFICATE block, in order. */
export function pemCertificates(text: string): Uint8Array[] {
  return pemDecodeAll(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der);
}

export function certificatePem(der: Uint8Array | ArrayBuffer): string {
  return pemEncode('CERTIFICATE', der);
}

/**
 * DER of a certificate given either as PEM text (the first CERTIFICATE block) or as DER bytes.
 * A Uint8Array that begins with "-----BEGIN" is treated as PEM text.
 */
export function certificateDer(pemOrDer: string | Uint8Array): Uint8Array {
  if (typeof pemOrDer !== 'string') {
    const head = Buffer.from(pemOrDer.subarray(0, 11)).toString('latin1');
    if (head !== '-----BEGIN ') return new Uint8Array(pemOrDer);
    pemOrDer = Buffer.from(pemOrDer).toString('utf8');
  }
  const der = pemCertificates(pemOrDer)[0];
  if (!der) throw new Error('no PEM CERTIFICATE block found');
  return der;
}

/** Concatenate PEM texts, each ending in exactly one newline. */
export function joinPem(...parts: string[]): string {
  return parts
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `${p}\n`)
    .join('');
}
