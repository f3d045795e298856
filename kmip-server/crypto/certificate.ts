/**
 * What Register derives from an X.509 certificate (KMIP 1.4 §3.9-3.15, 2.1 §4.7, §4.8, §4.22,
 * §4.61-4.63): the DER pieces (serial, issuer, subject, alternative names), the RFC 4514 text of
 * the names for 1.0's Certificate Identifier/Subject/Issuer, the signature algorithm, and the
 * public key. node's X509Certificate checks the whole encoding; the DER walk picks out the raw parts.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { DigitalSignatureAlgorithm } from '../ttlv/enums.ts';
import { DER, DerError, children, expect, oidValue, readOne, type Tlv } from './der.ts';

export interface CertificateFacts {
  /** Serial number as node prints it (upper-case hex), 1.0's Certificate Identifier Serial Number. */
  serialText: string;
  /** The serial's whole DER INTEGER encoding (what the vectors show as Certificate Serial Number). */
  serialDer: Uint8Array;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  issuerText: string;
  subjectText: string;
  /** Each name's attribute values as (OID, text), most specific first (the RFC 4514 order). */
  issuerParts: NamePart[];
  subjectParts: NamePart[];
  /** GeneralNames DER of the Subject / Issuer Alternative Name extensions, when present. */
  subjectAltName?: Uint8Array;
  issuerAltName?: Uint8Array;
  signatureAlgorithm?: number;
  /** Undefined when OpenSSL cannot read the key (an unknown curve, a damaged SubjectPublicKeyInfo). */
  publicKey?: KeyObject;
}

export interface NamePart {
  oid: string;
  value: string;
}

export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

const SIGNATURE_ALGORITHMS: Readonly<Record<string, number>> = {
  '1.2.840.113549.1.1.2': DigitalSignatureAlgorithm.MD2WithRSAEncryption,
  '1.2.840.113549.1.1.4': DigitalSignatureAlgorithm.MD5WithRSAEncryption,
  '1.2.840.113549.1.1.5': DigitalSignatureAlgorithm.SHA_1WithRSAEncryption,
  '1.2.840.113549.1.1.14': DigitalSignatureAlgorithm.SHA_224WithRSAEncryption,
  '1.2.840.113549.1.1.11': DigitalSignatureAlgorithm.SHA_256WithRSAEncryption,
  '1.2.840.113549.1.1.12': DigitalSignatureAlgorithm.SHA_384WithRSAEncryption,
  '1.2.840.113549.1.1.13': DigitalSignatureAlgorithm.SHA_512WithRSAEncryption,
  '1.2.840.113549.1.1.10': DigitalSignatureAlgorithm.RSASSA_PSS,
  '1.2.840.10040.4.3': DigitalSignatureAlgorithm.DSAWithSHA_1,
  '2.16.840.1.101.3.4.3.1': DigitalSignatureAlgorithm.DSAWithSHA224,
  '2.16.840.1.101.3.4.3.2': DigitalSignatureAlgorithm.DSAWithSHA256,
  '1.2.840.10045.4.1': DigitalSignatureAlgorithm.ECDSAWithSHA_1,
  '1.2.840.10045.4.3.1': DigitalSignatureAlgorithm.ECDSAWithSHA224,
  '1.2.840.10045.4.3.2': DigitalSignatureAlgorithm.ECDSAWithSHA256,
  '1.2.840.10045.4.3.3': DigitalSignatureAlgorithm.ECDSAWithSHA384,
  '1.2.840.10045.4.3.4': DigitalSignatureAlgorithm.ECDSAWithSHA512,
  '2.16.840.1.101.3.4.3.14': DigitalSignatureAlgorithm.SHA3_256WithRSAEncryption,
  '2.16.840.1.101.3.4.3.15': DigitalSignatureAlgorithm.SHA3_384WithRSAEncryption,
  '2.16.840.1.101.3.4.3.16': DigitalSignatureAlgorithm.SHA3_512WithRSAEncryption,
};

/** Attribute type short names of RFC 4514 §3 (and the few others certificates commonly carry). */
const NAME_TYPES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'T',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.46': 'dnQualifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const SUBJECT_ALT_NAME = '2.5.29.17';
const ISSUER_ALT_NAME = '2.5.29.18';

export function certificateFacts(der: Uint8Array): CertificateFacts {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(der));
  } catch {
    throw new CertificateError('the Certificate Value is not a DER X.509 certificate');
  }
  try {
    const top = children(expect(readOne(der), DER.SEQUENCE, 'Certificate'));
    const tbs = children(expect(top[0], DER.SEQUENCE, 'TBSCertificate'));
    let i = tbs[0]?.tag === 0xa0 ? 1 : 0; // [0] version is optional
    const serial = expect(tbs[i++], DER.INTEGER, 'serialNumber');
    const sigAlg = children(expect(tbs[i++], DER.SEQUENCE, 'signature'));
    const issuer = expect(tbs[i++], DER.SEQUENCE, 'issuer');
    i++; // validity
    const subject = expect(tbs[i++], DER.SEQUENCE, 'subject');
    i++; // subjectPublicKeyInfo
    const facts: CertificateFacts = {
      serialText: cert.serialNumber.toUpperCase(),
      serialDer: Uint8Array.from(serial.raw),
      issuerDer: Uint8Array.from(issuer.raw),
      subjectDer: Uint8Array.from(subject.raw),
      issuerText: distinguishedName(issuer),
      subjectText: distinguishedName(subject),
      issuerParts: nameParts(issuer),
      subjectParts: nameParts(subject),
    };
    const publicKey = readablePublicKey(cert);
    if (publicKey) facts.publicKey = publicKey;
    const alg = SIGNATURE_ALGORITHMS[oidValue(expect(sigAlg[0], DER.OID, 'signature algorithm'))];
    if (alg !== undefined) facts.signatureAlgorithm = alg;
    const extWrapper = tbs.slice(i).find((t) => t.tag === 0xa3);
    if (extWrapper) {
      for (const ext of children(expect(children(extWrapper)[0], DER.SEQUENCE, 'extensions'))) {
        const parts = children(ext);
        const id = oidValue(expect(parts[0], DER.OID, 'extnID'));
        const value = expect(parts[parts.length - 1], DER.OCTET_STRING, 'extnValue').content;
        if (id === SUBJECT_ALT_NAME) facts.subjectAltName = Uint8Array.from(value);
        if (id === ISSUER_ALT_NAME) facts.issuerAltName = Uint8Array.from(value);
      }
    }
    return facts;
  } catch (err) {
    if (err instanceof DerError) throw new CertificateError(`the certificate could not be read: ${err.message}`);
    throw err;
  }
}

/**
 * The certificate's public key, or undefined when OpenSSL cannot decode it: the certificate itself parsed, and a
 * store of certificates must not fail on a key type it does not know.
 */
export function readablePublicKey(cert: X509Certificate): KeyObject | undefined {
  try {
    return cert.publicKey;
  } catch {
    return undefined;
  }
}

/** RFC 4514 string of a Name: RDNs last to first, multi-valued RDNs joined by '+'. */
export function distinguishedName(name: Tlv): string {
  return children(name).reverse().map((rdn) => children(rdn).map(attributeTypeAndValue).join('+')).join(',');
}

/** The text values of a Name, most specific first; values that are not strings are left out. */
export function nameParts(name: Tlv): NamePart[] {
  const out: NamePart[] = [];
  for (const rdn of children(name).reverse()) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      const text = value && directoryString(value);
      if (type && text !== undefined) out.push({ oid: oidValue(expect(type, DER.OID, 'AttributeType')), value: text });
    }
  }
  return out;
}

function attributeTypeAndValue(atv: Tlv): string {
  const [type, value] = children(atv);
  const id = oidValue(expect(type, DER.OID, 'AttributeType'));
  const label = NAME_TYPES[id] ?? id;
  if (!value) throw new DerError('AttributeTypeAndValue lacks its value');
  const text = directoryString(value);
  return `${label}=${text === undefined ? '#' + Buffer.from(value.raw).toString('hex') : escapeValue(text)}`;
}

function directoryString(t: Tlv): string | undefined {
  const b = Buffer.from(t.content);
  switch (t.tag) {
    case DER.UTF8_STRING:
    case DER.PRINTABLE_STRING:
    case DER.IA5_STRING:
      return b.toString('utf8');
    case DER.T61_STRING:
      return b.toString('latin1');
    case DER.BMP_STRING:
      return Buffer.from(b).swap16().toString('utf16le');
    case DER.UNIVERSAL_STRING: {
      let s = '';
      for (let j = 0; j + 3 < b.length; j += 4) s += String.fromCodePoint(b.readUInt32BE(j));
      return s;
    }
    default:
      return undefined;
  }
}

function escapeValue(v: string): string {
  let out = v.replace(/[\\,+"<>;=]/g, (c) => '\\' + c).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = '\\' + out;
  if (out.endsWith(' ') && out.length > 1) out = out.slice(0, -1) + '\\ ';
  return out;
}
