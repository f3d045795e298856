/**
 * The one place that wires @peculiar/x509 to Node's WebCrypto implementation. Every PKI module
 * imports `x509` from here (never from '@peculiar/x509' directly) so the provider is always set
 * before the library is used, and the reflect shim tsyringe needs is loaded first.
 */
import './reflect-metadata.ts';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

export { x509 };
export const subtle: webcrypto.SubtleCrypto = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;
