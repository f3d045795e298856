import { ProfileName } from '../ttlv/enums.ts';

/**
 * The KMIP profiles this server claims in its Query Profiles answer (1.4 §4.25, 2.1 §6.1.40), each proven by a
 * family of the OASIS conformance vectors that the server passes (`npm run conformance`; query.test.ts checks that
 * every family named here exists and that none of its files is skipped but for a vector defect it names).
 *
 * 1.3 / 1.4 profile names carry the KMIP version they apply to: only "KMIP v1.3" and "KMIP v1.4" names are claimed,
 * proven by the v1.3 and v1.4 vector folders. 2.x names carry no version; Profile Version says 2.1, the KMIP Profiles
 * document whose vectors (v2.1 folder) prove them. Query answers the names that exist at the request's version.
 *
 * Not claimed:
 * - Baseline Server "Basic" / "TLS v1.2" and Complete Server (1.x), Complete Server (2.x): the 1.x baseline names bind
 *   an authentication suite whose mandatory TLS cipher suites (RSA key exchange, CBC) this server does not offer by
 *   default (server.ts DEFAULT_TLS12_CIPHERS is ECDHE with AEAD only), the 1.3/1.4 vectors have no baseline family to
 *   prove them, and "Complete" means every profile (PKCS#11 is not offered). Baseline Server (2.x) likewise: BL-M-1..13
 *   (2.1) pass, but the profile also binds authentication suites whose cipher-suite list could not be checked here;
 *   when in doubt, not claimed.
 * - HTTPS / JSON / XML Server: the MSGENC vectors pass, but only where the optional HTTPS binding (`--http-port`) is
 *   on, which a Query answer cannot know.
 * - Suite B minLOS_128 / 192: they bind TLS to ECDSA certificates of a given curve, which is the deployment's choice.
 * - Quantum Safe, AES XTS, PKCS#11, and every client profile.
 */
export interface ClaimedProfile {
  /** Profile Name enumeration value. */
  name: number;
  /** The vector folder and families (vectors.ts familyOf) whose files prove the claim. */
  proof: { folder: 'v1.3' | 'v1.4' | 'v2.1'; families: readonly string[] };
  /** 2.x Profile Version: the KMIP Profiles document version. */
  version?: { major: number; minor: number };
  /** One line: what the proof covers. */
  why: string;
}

const P = ProfileName;
const V2_1 = { major: 2, minor: 1 };

export const CLAIMED_PROFILES: readonly ClaimedProfile[] = [
  // KMIP v1.3 profiles: the v1.3 vector folder.
  { name: P.SymmetricKeyLifecycleServerKMIPV1_3, proof: { folder: 'v1.3', families: ['SKLC'] }, why: 'SKLC-M-1..3 and SKLC-O-1 (1.3) pass' },
  { name: P.AsymmetricKeyLifecycleServerKMIPV1_3, proof: { folder: 'v1.3', families: ['AKLC'] }, why: 'AKLC-M-1..3 and AKLC-O-1 (1.3) pass' },
  { name: P.BasicCryptographicServerKMIPV1_3, proof: { folder: 'v1.3', families: ['CS-BC'] }, why: 'all 29 CS-BC-M files (1.3) pass' },
  { name: P.AdvancedCryptographicServerKMIPV1_3, proof: { folder: 'v1.3', families: ['CS-AC'] }, why: 'CS-AC-M (1.3) pass but CS-AC-M-1, a vector defect (its PSS signature is not of its Data)' },
  { name: P.RNGCryptographicServerKMIPV1_3, proof: { folder: 'v1.3', families: ['CS-RNG'] }, why: 'CS-RNG-M-1 and CS-RNG-O-3 (1.3) pass; O-1/2/4 are other answers to the same RNG Seed request' },
  { name: P.SymmetricKeyFoundryServerKMIPV1_3, proof: { folder: 'v1.3', families: ['SKFF'] }, why: 'SKFF-M-1..12 (1.3: basic, intermediate, advanced) pass' },
  { name: P.OpaqueManagedObjectStoreServerKMIPV1_3, proof: { folder: 'v1.3', families: ['OMOS'] }, why: 'OMOS-M-1 and OMOS-O-1 (1.3) pass' },
  { name: P.StorageArrayWithSelfEncryptingDriveServerKMIPV1_3, proof: { folder: 'v1.3', families: ['SASED'] }, why: 'SASED-M-1..3 (1.3) pass' },
  { name: P.TapeLibraryServerKMIPV1_3, proof: { folder: 'v1.3', families: ['TL'] }, why: 'TL-M-1..3 (1.3) pass' },
  // KMIP v1.4 profiles: the v1.4 vector folder.
  { name: P.SymmetricKeyLifecycleServerKMIPV1_4, proof: { folder: 'v1.4', families: ['SKLC'] }, why: 'SKLC-M-1..3 and SKLC-O-1 (1.4) pass' },
  { name: P.AsymmetricKeyLifecycleServerKMIPV1_4, proof: { folder: 'v1.4', families: ['AKLC'] }, why: 'AKLC-M-1..3 and AKLC-O-1 (1.4) pass' },
  { name: P.BasicCryptographicServerKMIPV1_4, proof: { folder: 'v1.4', families: ['CS-BC', 'CS-BC-M-GCM'] }, why: 'all 28 CS-BC-M and 26 CS-BC-M-GCM files (1.4) pass' },
  { name: P.AdvancedCryptographicServerKMIPV1_4, proof: { folder: 'v1.4', families: ['CS-AC', 'CS-AC-M-OAEP'] }, why: 'all 8 CS-AC-M and 10 CS-AC-M-OAEP files (1.4) pass' },
  { name: P.RNGCryptographicServerKMIPV1_4, proof: { folder: 'v1.4', families: ['CS-RNG'] }, why: 'CS-RNG-M-1 and CS-RNG-O-3 (1.4) pass; O-1/2/4 are other answers to the same RNG Seed request' },
  { name: P.SymmetricKeyFoundryServerKMIPV1_4, proof: { folder: 'v1.4', families: ['SKFF'] }, why: 'SKFF-M-1..12 (1.4) pass' },
  { name: P.OpaqueManagedObjectStoreServerKMIPV1_4, proof: { folder: 'v1.4', families: ['OMOS'] }, why: 'OMOS-M-1 and OMOS-O-1 (1.4) pass' },
  { name: P.StorageArrayWithSelfEncryptingDriveServerKMIPV1_4, proof: { folder: 'v1.4', families: ['SASED'] }, why: 'SASED-M-1..3 (1.4) pass' },
  { name: P.TapeLibraryServerKMIPV1_4, proof: { folder: 'v1.4', families: ['TL'] }, why: 'TL-M-1..3 (1.4) pass' },
  // 2.x profiles (KMIP Profiles 2.1): the v2.1 vector folder.
  { name: P.SymmetricKeyLifecycleServer, version: V2_1, proof: { folder: 'v2.1', families: ['SKLC'] }, why: 'SKLC-M-1..3 and SKLC-O-1 (2.1) pass' },
  { name: P.AsymmetricKeyLifecycleServer, version: V2_1, proof: { folder: 'v2.1', families: ['AKLC'] }, why: 'AKLC-M-1..3 and AKLC-O-1 (2.1) pass' },
  {
    name: P.BasicCryptographicServer, version: V2_1,
    proof: { folder: 'v2.1', families: ['CS-BC', 'CS-BC-M-GCM', 'CS-BC-M-CHACHA20', 'CS-BC-M-CHACHA20POLY1305'] },
    why: 'all CS-BC-M files (2.1: 14 plain, 3 GCM, 3 ChaCha20, 1 ChaCha20-Poly1305) pass',
  },
  { name: P.AdvancedCryptographicServer, version: V2_1, proof: { folder: 'v2.1', families: ['CS-AC', 'CS-AC-M-OAEP'] }, why: 'all 8 CS-AC-M and 10 CS-AC-M-OAEP files (2.1) pass' },
  { name: P.RNGCryptographicServer, version: V2_1, proof: { folder: 'v2.1', families: ['CS-RNG'] }, why: 'CS-RNG-M-1 and CS-RNG-O-3 (2.1) pass; O-1/2/4 are other answers to the same RNG Seed request' },
  { name: P.SymmetricKeyFoundryServer, version: V2_1, proof: { folder: 'v2.1', families: ['SKFF'] }, why: 'SKFF-M-1..12 (2.1) pass' },
  { name: P.OpaqueManagedObjectStoreServer, version: V2_1, proof: { folder: 'v2.1', families: ['OMOS'] }, why: 'OMOS-M-1 and OMOS-O-1 (2.1) pass' },
  { name: P.StorageArrayWithSelfEncryptingDriveServer, version: V2_1, proof: { folder: 'v2.1', families: ['SASED'] }, why: 'SASED-M-1..3 (2.1) pass' },
  { name: P.TapeLibraryServer, version: V2_1, proof: { folder: 'v2.1', families: ['TL'] }, why: 'TL-M-1..3 (2.1) pass' },
];
