/**
 * Vector files the conformance run does not send, each with the reason printed in the report. A skipped file is
 * never counted as passed. An entry names a family (exactly, see vectors.ts familyOf) or a substring of the
 * file's path relative to the vectors directory (e.g. "v1.2/TC_32_").
 *
 * Keep reasons factual: what the file needs that this run (or this server) does not provide.
 */
export interface SkipRule {
  family?: string;
  /** Substring of the relative path ("v1.4/TC-NP-1-14.xml"). */
  path?: string;
  /**
   * Skip only when the run lacks this: 'http' (the server's HTTPS binding), 'notify' (a listener the
   * server sends Notify and Put to, see push-listener.ts).
   */
  unless?: 'http' | 'notify';
  reason: string;
}

export const SKIPS: readonly SkipRule[] = [
  {
    family: 'MSGENC',
    unless: 'http',
    reason: 'HTTPS / JSON / XML message encodings: needs the server\'s HTTPS binding (POST /kmip), which this run does not have',
  },
  {
    family: 'TC_NP',
    unless: 'notify',
    reason: 'Notify and Put are server-to-client operations: needs a server that sends them to this run\'s listener (the dev server the run starts does)',
  },
  {
    family: 'TC-NP',
    unless: 'notify',
    reason: 'Notify and Put are server-to-client operations: needs a server that sends them to this run\'s listener (the dev server the run starts does)',
  },
  // Answers that describe the recording vendor's server, not KMIP: each is the recording server's self-description
  // or policy, which the spec leaves to the server.
  {
    path: '_122_',
    reason: "vendor-specific: expects Query Extension List/Map to name the recording vendor's extensions \"ACME LOCATION\" (tag 0x54AA01) and \"ACME ZIP CODE\" (0x54AA02); 1.4 §4.25 has a server list the extensions it supports, and this one defines none",
  },
  {
    path: 'TC-Q-PROF-',
    reason: 'vendor-specific: expects Query Profiles to answer exactly the recording server\'s claims (Tape Library Server KMIP v1.2, v1.3, v1.4); 1.4 §4.25 has a server list the profiles it supports, and this one claims the server profiles its vectors prove (kmip-server/operations/profiles.ts: at 1.4 Symmetric/Asymmetric Key Lifecycle, Basic/Advanced/RNG Cryptographic, Symmetric Key Foundry, Opaque Managed Object Store, Storage Array with SED and Tape Library Server, KMIP v1.3 and v1.4), so its answer has Tape Library Server KMIP v1.3 and v1.4 among others and no v1.2 names',
  },
  {
    path: 'TC-Q-S2C-',
    reason: "vendor-specific: expects Capability Information to say Shredding Algorithm Cryptographic, the recording server's own; 1.4 §2.1.21 defines no behaviour for it, and this server's Destroy deletes the sealed material but keeps the scope's data key (crypto-shredding happens only when a scope is deleted), so it answers Unspecified",
  },
  // TC_95 (same requests, no Lease Time or Deactivation Date set): 1.0 expects leases of 16 s then 0 s, 1.1 0 s and
  // 0 s, 1.2 3600 s and 3600 s. 1.4 §4.17 / §3.20 leave the lease length to the server (0 = no limit), so at most
  // one can hold; this server grants its configured lease (3600 s) and passes v1.2.
  {
    path: 'v1.0/TC_95_10_',
    reason: "alternative answer to v1.2/TC_95_12 (lease policy): expects the recording server's leases of 16 s then 0 s; the lease length is the server's choice (1.4 §4.17, §3.20) and this server's 3600 s passes the 1.2 file",
  },
  {
    path: 'v1.1/TC_95_11_',
    reason: "alternative answer to v1.2/TC_95_12 (lease policy): expects the recording server's lease of 0 s (no limit) twice; the lease length is the server's choice (1.4 §4.17, §3.20) and this server's 3600 s passes the 1.2 file",
  },
  // CS-RNG-O-1..4 (1.3, 1.4, 2.1) are one request, byte for byte the same (RNG Seed with 32 bytes of Data; only the
  // 2.1 Client Correlation Value differs), with four different expected answers: the four a server may give
  // (1.4 §4.36: it may use all, part or none of the seed, or refuse). One server gives one of them.
  // This server uses none of the seed (node:crypto cannot add entropy to OpenSSL's DRBG) and says so with Data Length 0,
  // as §4.36 provides: it passes O-3.
  {
    path: 'CS-RNG-O-1-',
    reason: 'same RNG Seed request (32 bytes) as CS-RNG-O-2, O-3 and O-4, but expects Data Length 32 (all of the seed used): using a seed needs OpenSSL\'s RAND_seed/RAND_add, which node:crypto does not have, so this server uses none and answers 0 (1.4 §4.36) and passes O-3',
  },
  {
    path: 'CS-RNG-O-2-',
    reason: 'same RNG Seed request (32 bytes) as CS-RNG-O-1, O-3 and O-4, but expects Data Length 16 (half the seed used): using a seed needs OpenSSL\'s RAND_seed/RAND_add, which node:crypto does not have, so this server answers 0 and passes O-3',
  },
  { path: 'CS-RNG-O-4-', reason: 'same RNG Seed request (32 bytes) as CS-RNG-O-1, O-2 and O-3, but expects Permission Denied; this server accepts the request and answers Data Length 0 (seed not used), so it passes O-3' },
  {
    path: 'SKFF_O_6_11_',
    reason: "vendor-specific: Get Attribute List of a key created with no Object Group expects an Object Group; 1.4 §3.33 makes it optional (SHALL always have a value: No; set by client or server), the 1.0 file of this case (SKFF_O_6_10) lists none, and this server groups only on request",
  },
  { family: 'PKCS11', reason: 'the PKCS#11 operation (KMIP 2.1 PKCS#11 profile) is not offered: a profile this server does not claim' },
  // Vector defects, each checked by hand against the file. Plain typos whose intended value the
  // file proves are not skipped but corrected (errata.ts).
  {
    path: 'v1.0/TC_92_10_',
    reason: 'vector defect (dated): sets literal dates of its 2010 recording (Activation 2009-02-11, Deactivation 2010-02-11T13:03:59, two minutes after the recording) and expects State Active next, which holds only before that instant; run any later, a conforming server answers Deactivated (1.4 §3.22). v1.1/v1.2 are this case with $NOW dates and pass',
  },
  {
    path: 'TC_ECC_3_10_',
    reason: 'vector defect: registers the P-256 private key as a SEC1 ECPrivateKey (30770201...) but expects Get to return a password-encrypted PKCS#8 EncryptedPrivateKeyInfo (pbeWithSHA1And3-KeyTripleDES-CBC, random salt), byte-identical to what TC_ECC_2_10 registers; a Get without Key Wrapping Specification returns the key as registered, and no password is given',
  },
  {
    path: 'TC_ECC_3_11_',
    reason: 'vector defect: registers a secp256k1 key pair (SEC1 30740201..., public 3056...) but expects the Gets to return the P-256 pair of TC_ECC_2_11 (its encrypted PKCS#8 blob and public key 3059...): another key on another curve',
  },
  {
    path: 'TC_ECC_2_12_',
    reason: 'vector defect: registers a password-encrypted PKCS#8 EncryptedPrivateKeyInfo (pbeWithSHA1And3-KeyTripleDES-CBC) and expects Get to return the secp256k1 key of TC_ECC_3_12 unencrypted, as SEC1 ECPrivateKey bytes (30740201..., not a PKCS#8 PrivateKeyInfo though labelled PKCS_8); that needs a password the file never gives',
  },
  {
    path: '_142_',
    reason: 'conflicts with the spec: expects the bare 24-byte AES Key Wrap of the key (1fa68b0a..., the RFC 3394 §4.1 value, TC_141\'s No Encoding answer) although the request names an attribute to wrap and no Encoding Option; 1.4 §2.1.6 (Table 12) makes that TTLV encoding of the Key Value with the attribute (the 1.2 file\'s own comment says so), and No Encoding with attribute names is an Encoding Option Error',
  },
  {
    path: 'TC-SK-CREATE-ENCRYPT-DECRYPT-DESTROY',
    reason: 'vector defect: expects Encrypt with a key created without Activation Date (Pre-Active: "SHALL NOT be used for any cryptographic purpose", 1.4 §3.22) to succeed, and sends Decrypt a 256-byte ciphertext of a 28-byte plaintext that no AES-128 mode produces and only the recording\'s random key could open',
  },
  {
    path: 'v1.2/CS_BC_M_7_12_',
    reason: "vector defect: its only request Encrypts under the recording server's key identifier 3cad8f67-… that the file never registers (its comment describes a Register and a usage-limit failure the file does not contain), continuing a stream by a Correlation Value no answer gave (Init Indicator false)",
  },
  {
    path: 'v1.3/CS-AC-M-1-13',
    reason: 'vector defect: the expected RSA-PSS signature is not of the request\'s Data: under the file\'s key it opens as a PSS encoding (MGF1 SHA-256, 222-byte salt) whose hash matches no SHA-1/224/256/384/512 digest of the Data (and a PSS salt is random: 1.4 records $SIGNATURE_DATA)',
  },
];

/** The reason a file is skipped, or undefined when it runs. */
export function skipReason(
  file: { rel: string; family: string },
  rules: readonly SkipRule[] = SKIPS,
  have: { http?: boolean; notify?: boolean } = {},
): string | undefined {
  for (const r of rules) {
    if (r.unless === 'http' && have.http) continue;
    if (r.unless === 'notify' && have.notify) continue;
    if (r.family !== undefined && r.family === file.family) return r.reason;
    if (r.path !== undefined && file.rel.includes(r.path)) return r.reason;
  }
  return undefined;
}
