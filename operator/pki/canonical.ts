/**
 * Canonical text forms of a certificate's serial number and fingerprint. Every component that
 * records or compares them (issuer, KmipClientCredential status, the server's policy lookup) uses
 * these forms, so plain string equality is enough.
 *
 * Serial number: lowercase hexadecimal of the serial's big-endian octets with leading zero octets
 *   removed (at least one octet kept), always an even number of digits, no separators, no "0x".
 *   That is the DER INTEGER's content octets minus the 0x00 sign octet DER adds when the top bit is
 *   set; it equals OpenSSL's `openssl x509 -serial` and Node's `X509Certificate.serialNumber`,
 *   lowercased. Serials issued here are 16 random octets with the top bit clear and the next bit
 *   set, so they are always exactly 32 hex digits, e.g. "5f0c...e1".
 *
 * Fingerprint: lowercase hexadecimal SHA-256 of the certificate's DER encoding, 64 digits, no
 *   separators (Node's `fingerprint256` is the same uppercased with colons).
 */
import { createHash, randomBytes } from 'node:crypto';

/** A fresh serial number in canonical form: 16 random octets, positive, top octet 0x40..0x7f. */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/**
 * Canonical form of a serial number given as its octets (e.g. the DER INTEGER content) or as hex
 * text in any common spelling: any case, optional "0x", ':' or space separators, odd length.
 */
export function canonicalSerialNumber(serial: Uint8Array | string): string {
  let hex: string;
  if (typeof serial === 'string') {
    hex = serial.trim().toLowerCase().replace(/^0x/, '').replace(/[:\s]/g, '');
    if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`not a hexadecimal serial number: "${serial}"`);
    if (hex.length % 2 === 1) hex = `0${hex}`;
  } else {
    if (serial.length === 0) throw new Error('empty serial number');
    hex = Buffer.from(serial).toString('hex');
  }
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}

/** Canonical fingerprint of a certificate's DER encoding. */
export function fingerprintSha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Canonical form of a SHA-256 fingerprint written as hex in any case, with or without ':' separators. */
export function canonicalFingerprint(text: string): string {
  const hex = text.trim().toLowerCase().replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a SHA-256 fingerprint: "${text}"`);
  return hex;
}
