import type { HeaderCredentialPolicy } from '../policy/model.ts';

/**
 * Who is calling: resolved from the verified peer certificate through the policy source.
 * `scopeId`/`roleId` are the opaque ids (the custom resources' UIDs) carried by the certificate.
 */
export interface Identity {
  /**
   * The identity the current policy gives the same certificate, for work done after the message was answered
   * (asynchronous operations start up to --async-start-delay-ms later); undefined once the credential is gone.
   * Absent (tests, benchmarks): the identity is taken as it was.
   */
  recheck?: () => Identity | undefined;
  scopeId: string;
  roleId: string;
  /** Human-readable names for logs (namespace/name); never used for decisions. */
  scopeName: string;
  roleName: string;
  credentialName: string;
  /**
   * The KmipClientCredential's opaque id (its UID): with `scopeId`, what owns per-client server state such as
   * pending asynchronous operations (async/pending.ts). A credential re-created under the same name is another client.
   */
  credentialId: string;
  /** Sub-identities the credential declares for the request header (auth/header-credential.ts); none when absent. */
  headerCredentials?: readonly HeaderCredentialPolicy[];
  /**
   * The verified header sub-identity of this message, as stored with the objects it makes
   * (`<credential id>/user:<name>` ...); undefined when the message names none. Objects with an
   * owner are visible only to messages with the same owner.
   */
  owner?: string;
  /** The header sub-identity for logs (`user:Fred`); never a password. */
  headerIdentity?: string;
  /** Vault-style operation names the role allows (`operation_get` ...), after expanding `operation_all`. */
  operations: ReadonlySet<string>;
}
