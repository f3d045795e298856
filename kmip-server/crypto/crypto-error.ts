/**
 * The one error the cryptographic primitives (crypto/symmetric, rsa-cipher, signature, mac, kdf) throw. Its
 * kind says what went wrong; operations turn it into the Result Reason of the request's version
 * (crypto/key-use.ts kmipError). Messages never carry key material, plaintext or secrets.
 */
export type CryptoErrorKind =
  /** The algorithm, mode, padding or option is one this server does not implement. */
  | 'unsupported'
  /** The parameters are missing, inconsistent, or invalid for the algorithm. */
  | 'bad-params'
  /** The authentication tag length is not one the cipher allows (the vectors expect General Failure). */
  | 'tag-length'
  /** The mode needs an IV/Counter/Nonce and none was given (the vectors expect Invalid Message). */
  | 'missing-iv'
  /** The key does not fit the algorithm (wrong length, wrong key type). */
  | 'bad-key'
  /** The operation itself failed: authentication, padding, data too long or not block aligned. */
  | 'failure';

export class CryptoError extends Error {
  readonly kind: CryptoErrorKind;
  constructor(kind: CryptoErrorKind, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.kind = kind;
  }
}

export const unsupported = (message: string): CryptoError => new CryptoError('unsupported', message);
export const badParams = (message: string): CryptoError => new CryptoError('bad-params', message);
export const badKey = (message: string): CryptoError => new CryptoError('bad-key', message);
export const cryptoFailure = (message: string): CryptoError => new CryptoError('failure', message);
