/**
 * The credential Secret's `keystore.p12`: a PKCS#12 keystore of the client key and its chain, for
 * Java clients and anything else that wants one file. Built by the KMIP server's RFC 7292 writer
 * (kmip-server/crypto/pkcs12.ts), with the certificates left readable as Java keystores expect.
 */
import { createPrivateKey } from 'node:crypto';
import { encodePfx } from '../../kmip-server/crypto/pkcs12.ts';

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
  if (input.certificatesDer.length === 0) throw new Error("a PKCS#12 keystore needs the key's certificate");
  return encodePfx({
    key: createPrivateKey(input.privateKeyPem),
    certificates: input.certificatesDer,
    password: input.password,
    friendlyName: input.alias,
    encryptCertificates: false,
    iterations: 10_000,
  });
}
