import test from 'ava';
import { DigitalSignatureAlgorithm } from '../ttlv/enums.ts';
import { CertificateError, certificateFacts, distinguishedName } from './certificate.ts';
import { DER, oid, readOne, sequence, tlv } from './der.ts';
import { KMIP_CERT_HEX } from './test-vectors.fixture.ts';

test('the TC-132 certificate: names in RFC 4514 order, serial, signature algorithm, DER parts', (t) => {
  const der = Buffer.from(KMIP_CERT_HEX, 'hex');
  const f = certificateFacts(der);
  t.is(f.subjectText, 'CN=KMIP,OU=OASIS,O=TEST,C=US');
  t.is(f.issuerText, 'CN=KMIP,OU=OASIS,O=TEST,C=US');
  t.is(f.serialText, '01');
  t.is(Buffer.from(f.serialDer).toString('hex'), '020101');
  t.is(f.signatureAlgorithm, DigitalSignatureAlgorithm.SHA_1WithRSAEncryption);
  t.is(f.publicKey?.asymmetricKeyDetails?.modulusLength, 2048);
  // The raw Names are the DER SEQUENCEs found in the certificate, starting with C=US.
  t.is(Buffer.from(f.issuerDer).toString('hex').slice(0, 30), '303b310b3009060355040613025553');
  t.true(der.includes(Buffer.from(f.subjectDer)));
  t.is(f.subjectAltName, undefined);
});

test('distinguished names escape RFC 4514 specials and join multi-valued RDNs with +', (t) => {
  const atv = (o: string, value: string, tag: number = DER.UTF8_STRING) => sequence(oid(o), tlv(tag, Buffer.from(value)));
  const rdn = (...a: Uint8Array[]) => tlv(DER.SET, Buffer.concat(a));
  const name = sequence(
    rdn(atv('2.5.4.6', 'US', DER.PRINTABLE_STRING)),
    rdn(atv('2.5.4.10', 'Acme, Inc.'), atv('2.5.4.11', 'R+D')),
    rdn(atv('2.5.4.3', ' #lead')),
    rdn(atv('1.2.3.4', 'x')),
  );
  t.is(distinguishedName(readOne(name)), '1.2.3.4=x,CN=\\ #lead,O=Acme\\, Inc.+OU=R\\+D,C=US');
});

test('what is not a certificate is a CertificateError', (t) => {
  t.throws(() => certificateFacts(Buffer.from('3003020101', 'hex')), { instanceOf: CertificateError });
});
