import { Tag } from '../ttlv/tag.ts';
import type { ProtocolVersion } from './version.ts';

/**
 * What the server knows about each standard attribute: its tag, whether an object may hold
 * several instances, the first protocol version that has it (never sent to an older client),
 * and who may write it.
 *
 * `client`: 'create' = settable in Create/Register templates and afterwards by Add/Modify/Delete;
 * 'initial' = settable only when the object is made; 'server' = only the server sets it.
 */
export interface AttributeRule {
  name: string;
  tag: number;
  multi: boolean;
  since: ProtocolVersion;
  until?: ProtocolVersion;
  client: 'create' | 'initial' | 'server';
  /** Deletable by a client once set. */
  deletable: boolean;
}

const v = (major: number, minor: number): ProtocolVersion => ({ major, minor });

type Row = [name: string, tag: number, multi: boolean, since: ProtocolVersion, client: AttributeRule['client'], deletable?: boolean, until?: ProtocolVersion];

const ROWS: Row[] = [
  ['Unique Identifier', Tag.UniqueIdentifier, false, v(1, 0), 'server'],
  ['Name', Tag.Name, true, v(1, 0), 'create', true],
  ['Object Type', Tag.ObjectType, false, v(1, 0), 'server'],
  ['Cryptographic Algorithm', Tag.CryptographicAlgorithm, false, v(1, 0), 'initial'],
  ['Cryptographic Length', Tag.CryptographicLength, false, v(1, 0), 'initial'],
  ['Cryptographic Parameters', Tag.CryptographicParameters, true, v(1, 0), 'create', true],
  ['Cryptographic Domain Parameters', Tag.CryptographicDomainParameters, false, v(1, 0), 'initial'],
  ['Certificate Type', Tag.CertificateType, false, v(1, 0), 'server'],
  ['Certificate Length', Tag.CertificateLength, false, v(1, 1), 'server'],
  ['Certificate Identifier', Tag.CertificateIdentifier, false, v(1, 0), 'server', false, v(1, 4)],
  ['Certificate Subject', Tag.CertificateSubject, false, v(1, 0), 'server', false, v(1, 4)],
  ['Certificate Issuer', Tag.CertificateIssuer, false, v(1, 0), 'server', false, v(1, 4)],
  ['X.509 Certificate Identifier', Tag.X_509CertificateIdentifier, false, v(1, 1), 'server'],
  ['X.509 Certificate Subject', Tag.X_509CertificateSubject, false, v(1, 1), 'server'],
  ['X.509 Certificate Issuer', Tag.X_509CertificateIssuer, false, v(1, 1), 'server'],
  ['Digital Signature Algorithm', Tag.DigitalSignatureAlgorithm, true, v(1, 1), 'server'],
  ['Digest', Tag.Digest, true, v(1, 0), 'server'],
  ['Operation Policy Name', Tag.OperationPolicyName, false, v(1, 0), 'create', true, v(1, 4)],
  ['Cryptographic Usage Mask', Tag.CryptographicUsageMask, false, v(1, 0), 'initial'],
  ['Lease Time', Tag.LeaseTime, false, v(1, 0), 'server'],
  ['Usage Limits', Tag.UsageLimits, false, v(1, 0), 'create', true],
  ['State', Tag.State, false, v(1, 0), 'server'],
  ['Initial Date', Tag.InitialDate, false, v(1, 0), 'server'],
  ['Activation Date', Tag.ActivationDate, false, v(1, 0), 'initial'],
  ['Process Start Date', Tag.ProcessStartDate, false, v(1, 0), 'initial'],
  ['Protect Stop Date', Tag.ProtectStopDate, false, v(1, 0), 'initial'],
  ['Deactivation Date', Tag.DeactivationDate, false, v(1, 0), 'initial'],
  ['Destroy Date', Tag.DestroyDate, false, v(1, 0), 'server'],
  ['Compromise Occurrence Date', Tag.CompromiseOccurrenceDate, false, v(1, 0), 'server'],
  ['Compromise Date', Tag.CompromiseDate, false, v(1, 0), 'server'],
  ['Revocation Reason', Tag.RevocationReason, false, v(1, 0), 'server'],
  ['Archive Date', Tag.ArchiveDate, false, v(1, 0), 'server'],
  ['Object Group', Tag.ObjectGroup, true, v(1, 0), 'create', true],
  ['Fresh', Tag.Fresh, false, v(1, 1), 'create'],
  ['Link', Tag.Link, true, v(1, 0), 'create', true],
  ['Application Specific Information', Tag.ApplicationSpecificInformation, true, v(1, 0), 'create', true],
  ['Contact Information', Tag.ContactInformation, false, v(1, 0), 'create', true],
  ['Last Change Date', Tag.LastChangeDate, false, v(1, 0), 'server'],
  ['Alternative Name', Tag.AlternativeName, true, v(1, 2), 'create', true],
  ['Key Value Present', Tag.KeyValuePresent, false, v(1, 2), 'server'],
  ['Key Value Location', Tag.KeyValueLocation, true, v(1, 2), 'create', true],
  ['Original Creation Date', Tag.OriginalCreationDate, false, v(1, 2), 'server'],
  ['Random Number Generator', Tag.RandomNumberGenerator, false, v(1, 3), 'initial'],
  ['PKCS#12 Friendly Name', Tag.PKCS_12FriendlyName, false, v(1, 4), 'create', true],
  ['Description', Tag.Description, false, v(1, 4), 'create', true],
  ['Comment', Tag.Comment, false, v(1, 4), 'create', true],
  ['Sensitive', Tag.Sensitive, false, v(1, 4), 'create'],
  ['Always Sensitive', Tag.AlwaysSensitive, false, v(1, 4), 'server'],
  ['Extractable', Tag.Extractable, false, v(1, 4), 'create'],
  ['Never Extractable', Tag.NeverExtractable, false, v(1, 4), 'server'],
  ['Key Format Type', Tag.KeyFormatType, false, v(2, 0), 'server'],
  ['Short Unique Identifier', Tag.ShortUniqueIdentifier, false, v(2, 0), 'server'],
  ['Protection Storage Mask', Tag.ProtectionStorageMask, false, v(2, 0), 'initial'],
  ['Protection Level', Tag.ProtectionLevel, false, v(2, 0), 'create', true],
  ['Protection Period', Tag.ProtectionPeriod, false, v(2, 0), 'create', true],
  ['Quantum Safe', Tag.QuantumSafe, false, v(2, 0), 'create'],
  ['Certificate Subject CN', Tag.CertificateSubjectCN, false, v(2, 0), 'server'],
  ['Certificate Issuer CN', Tag.CertificateIssuerCN, false, v(2, 0), 'server'],
  ['Certificate Subject O', Tag.CertificateSubjectO, false, v(2, 0), 'server'],
  ['Certificate Issuer O', Tag.CertificateIssuerO, false, v(2, 0), 'server'],
  ['Certificate Subject OU', Tag.CertificateSubjectOU, false, v(2, 0), 'server'],
  ['Certificate Issuer OU', Tag.CertificateIssuerOU, false, v(2, 0), 'server'],
  ['Certificate Subject Email', Tag.CertificateSubjectEmail, false, v(2, 0), 'server'],
  ['Certificate Issuer Email', Tag.CertificateIssuerEmail, false, v(2, 0), 'server'],
  ['Certificate Subject C', Tag.CertificateSubjectC, false, v(2, 0), 'server'],
  ['Certificate Issuer C', Tag.CertificateIssuerC, false, v(2, 0), 'server'],
  ['Certificate Subject ST', Tag.CertificateSubjectST, false, v(2, 0), 'server'],
  ['Certificate Issuer ST', Tag.CertificateIssuerST, false, v(2, 0), 'server'],
  ['Certificate Subject L', Tag.CertificateSubjectL, false, v(2, 0), 'server'],
  ['Certificate Issuer L', Tag.CertificateIssuerL, false, v(2, 0), 'server'],
  ['Certificate Subject UID', Tag.CertificateSubjectUID, false, v(2, 0), 'server'],
  ['Certificate Issuer UID', Tag.CertificateIssuerUID, false, v(2, 0), 'server'],
  ['Certificate Subject Serial Number', Tag.CertificateSubjectSerialNumber, false, v(2, 0), 'server'],
  ['Certificate Issuer Serial Number', Tag.CertificateIssuerSerialNumber, false, v(2, 0), 'server'],
  ['Certificate Subject Title', Tag.CertificateSubjectTitle, false, v(2, 0), 'server'],
  ['Certificate Issuer Title', Tag.CertificateIssuerTitle, false, v(2, 0), 'server'],
  ['Certificate Subject DC', Tag.CertificateSubjectDC, false, v(2, 0), 'server'],
  ['Certificate Issuer DC', Tag.CertificateIssuerDC, false, v(2, 0), 'server'],
  ['Certificate Subject DN Qualifier', Tag.CertificateSubjectDNQualifier, false, v(2, 0), 'server'],
  ['Certificate Issuer DN Qualifier', Tag.CertificateIssuerDNQualifier, false, v(2, 0), 'server'],
  ['Rotate Date', Tag.RotateDate, false, v(2, 1), 'create', true],
  ['Rotate Automatic', Tag.RotateAutomatic, false, v(2, 1), 'create', true],
  ['Rotate Interval', Tag.RotateInterval, false, v(2, 1), 'create', true],
  ['Rotate Name', Tag.RotateName, false, v(2, 1), 'create', true],
  ['Rotate Offset', Tag.RotateOffset, false, v(2, 1), 'create', true],
  ['NIST Key Type', Tag.NISTKeyType, false, v(2, 0), 'create', true],
];

export const ATTRIBUTE_RULES: readonly AttributeRule[] = ROWS.map(
  ([name, tag, multi, since, client, deletable = false, until]) => ({ name, tag, multi, since, client, deletable, ...(until ? { until } : {}) }),
);

const BY_NAME = new Map(ATTRIBUTE_RULES.map((r) => [r.name.toLowerCase(), r]));
const BY_TAG = new Map(ATTRIBUTE_RULES.map((r) => [r.tag, r]));

/** Custom attributes: 1.x names starting x- (client) or y- (server); 2.x Vendor Attributes. */
export const isCustomName = (name: string): boolean => /^[xy]-/i.test(name) || name.includes('-') && !BY_NAME.has(name.toLowerCase());

export const ruleByName = (name: string): AttributeRule | undefined => BY_NAME.get(name.toLowerCase());
export const ruleByTag = (tag: number): AttributeRule | undefined => BY_TAG.get(tag);
