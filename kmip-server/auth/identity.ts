/**
 * Who is calling: resolved from the verified peer certificate through the policy source.
 * `scopeId`/`roleId` are the opaque ids (the custom resources' UIDs) carried by the certificate.
 */
export interface Identity {
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
  /** Vault-style operation names the role allows (`operation_get` ...), after expanding `operation_all`. */
  operations: ReadonlySet<string>;
}
