/**
 * The PKI shared by the operator and the KMIP server's dev mode. Import from here.
 *
 * Canonical forms (canonical.ts): serial numbers are lowercase hex of the serial's octets without
 * leading zero octets (issued serials: exactly 32 digits); fingerprints are lowercase hex SHA-256
 * of the DER certificate (64 digits). Both without separators.
 */
export {
  ALL_KEY_SPECS,
  DEFAULT_KEY_SPEC,
  EC_CURVES,
  RSA_BITS,
  assertKeySpec,
  describeKeyObject,
  describeKeySpec,
  describePublicKeySpki,
  exportPrivateKeyPem,
  exportPublicKeySpki,
  generateKeyPair,
  importPrivateKeyPem,
  keySpecEquals,
  parseKeySpec,
  type EcCurve,
  type KeyPair,
  type KeySpec,
  type RsaBits,
} from './keys.ts';
export {
  DEFAULT_INTERMEDIATE_CA_TTL_DAYS,
  DEFAULT_ROOT_CA_TTL_DAYS,
  createIntermediateCa,
  createRootCa,
  loadCertificateAuthority,
  type CertificateAuthority,
  type CreateCaOptions,
} from './ca.ts';
export {
  DEFAULT_CLIENT_TTL_DAYS,
  DEFAULT_SERVER_TTL_DAYS,
  issueClientCertificate,
  issueServerCertificate,
  type ClientCertificateOptions,
  type IssuedCertificate,
  type ServerCertificateOptions,
  type SignedCertificate,
} from './issue.ts';
export { createCsr, signCsr, type CreateCsrOptions, type SignCsrOptions } from './csr.ts';
export { selfSignedCertificate, type SelfSignedOptions } from './selfsigned.ts';
export { identityFromCertificate, type CertificateIdentity } from './identity.ts';
export {
  canonicalFingerprint,
  canonicalSerialNumber,
  fingerprintSha256,
  randomSerialNumber,
} from './canonical.ts';
export { BACKDATE_MS, type Validity, type ValidityOptions } from './validity.ts';
export {
  certificateDer,
  certificatePem,
  joinPem,
  pemCertificates,
  pemDecode,
  pemDecodeAll,
  pemEncode,
  type PemBlock,
} from './pem.ts';
