import test from 'ava';
import { X509Certificate, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import {
  CertificateRequestType, CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, KeyFormatType as F, LinkType, NameType, ObjectType,
  ResultReason, RevocationReasonCode, State,
} from '../ttlv/enums.ts';
import { ItemType, bytes, enumeration, int, interval, struct, text, type TtlvItem } from '../ttlv/types.ts';
import type { ProtocolVersion } from '../client/client.ts';
import { x509, type CryptoKey as CryptoKey_ } from '../../operator/pki/provider.ts';
import { pemEncode } from '../../operator/pki/pem.ts';
import { V1_0, V1_2, V1_4, V2_1, createKey, harness, identity, nameValue, uidItem, uidOf, uidsOf, type Harness } from './harness.fixture.ts';
import { attributes2x, container, links, nameValues, objectOf, ok } from './key-ops.fixture.ts';
import { CA_NAME } from './certify.ts';

interface Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: Uint8Array;
}

function rsaPair(): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}

function ecPair(): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}

async function csrFor(pair: Pair, subject: string, san?: string): Promise<Uint8Array> {
  const alg = pair.publicKey.asymmetricKeyType === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = {
    privateKey: pair.privateKey.toCryptoKey(alg, true, ['sign']) as unknown as CryptoKey_,
    publicKey: pair.publicKey.toCryptoKey(alg, true, ['verify']) as unknown as CryptoKey_,
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys,
    signingAlgorithm: alg,
    ...(san ? { extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: san }])] } : {}),
  });
  return new Uint8Array(csr.rawData);
}

async function registerPublicKey(h: Harness, version: ProtocolVersion, pair: Pair, who = identity('scope-a')): Promise<string> {
  const alg = pair.publicKey.asymmetricKeyType === 'rsa' ? Alg.RSA : Alg.EC;
  return uidOf(ok(await h.one(version, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.PublicKey),
    container(version, Tag.TemplateAttribute, Tag.Attributes, [int(Tag.CryptographicUsageMask, Mask.Verify)]),
    struct(Tag.PublicKey, [struct(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, F.X_509), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, pair.spki)]), enumeration(Tag.CryptographicAlgorithm, alg),
    ])]),
  ], who)));
}

function certifyPayload(version: ProtocolVersion, uid: string | undefined, csr: Uint8Array | undefined, attrs: TtlvItem[] = [], type: number = CertificateRequestType.PKCS_10): TtlvItem[] {
  const out: TtlvItem[] = [];
  if (uid !== undefined) out.push(uidItem(uid));
  if (csr) out.push(enumeration(Tag.CertificateRequestType, type), bytes(version.major >= 2 ? Tag.CertificateRequestValue : Tag.CertificateRequest, csr));
  out.push(container(version, Tag.TemplateAttribute, Tag.Attributes, attrs));
  return out;
}

async function certificate(h: Harness, uid: string, who?: ReturnType<typeof identity>): Promise<X509Certificate> {
  const cert = objectOf(ok(await h.one(V1_4, 'Get', [uidItem(uid)], who)));
  const v = cert.value.find((i) => i.tag === Tag.CertificateValue);
  if (v?.type !== ItemType.ByteString) throw new Error('no certificate value');
  return new X509Certificate(Buffer.from(v.value));
}

/** The scope's CA certificate, found the way a client would: Locate by name, then the Certificate. */
async function caCertificates(h: Harness, who?: ReturnType<typeof identity>): Promise<X509Certificate[]> {
  const located = uidsOf(ok(await h.one(V1_4, 'Locate', [
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Name'), struct(Tag.AttributeValue, [text(Tag.NameValue, CA_NAME), enumeration(Tag.NameType, NameType.UninterpretedTextString)])]),
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Object Type'), enumeration(Tag.AttributeValue, ObjectType.Certificate)]),
  ], who)));
  return Promise.all(located.map((u) => certificate(h, u, who)));
}

const reason = async (h: Harness, version: ProtocolVersion, op: string, payload: TtlvItem[]): Promise<number | undefined> => {
  const r = await h.one(version, op, payload);
  return r.status === 0 ? undefined : r.reason;
};

test('Certify a Public Key with a PKCS#10 request: an X.509 certificate from the scope CA, linked both ways', async (t) => {
  const h = harness();
  const pair = rsaPair();
  const pub = await registerPublicKey(h, V1_2, pair);
  const csr = await csrFor(pair, 'C=US, O=ACME, OU=KMIP, CN=Client', 'client.example');
  const uid = uidOf(ok(await h.one(V1_2, 'Certify', certifyPayload(V1_2, pub, csr, [int(Tag.CryptographicUsageMask, Mask.Sign | Mask.Verify), nameValue('cert-1')]))));
  const cert = await certificate(h, uid);
  const [ca, ...more] = await caCertificates(h);
  t.is(more.length, 0);
  t.true(cert.verify(ca!.publicKey));
  t.true(cert.checkIssued(ca!));
  t.true(cert.publicKey.equals(pair.publicKey));
  t.is(cert.subject, 'C=US\nO=ACME\nOU=KMIP\nCN=Client');
  t.is(cert.subjectAltName, 'DNS:client.example');
  t.false(cert.ca);
  t.regex(ca!.subject, /O=kube-kmip\nCN=Certify CA scope-a/);
  t.true(ca!.ca);
  const x = new x509.X509Certificate(cert.raw);
  t.is(x.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  t.is((x.signatureAlgorithm as { name?: string }).name, 'RSASSA-PKCS1-v1_5');
  const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
  t.true(days > 364 && days <= 365);

  const ca2 = await attributes2x(h, uid);
  t.deepEqual(links(ca2.get(Tag.Link)), [[LinkType.PublicKeyLink, pub]]);
  t.deepEqual(nameValues(ca2.get(Tag.Name)), ['cert-1']);
  t.deepEqual(ca2.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign | Mask.Verify)]);
  t.deepEqual(ca2.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 2048)]);
  t.is(ca2.get(Tag.CertificateLength)?.[0]?.value, cert.raw.length);
  t.deepEqual(links((await attributes2x(h, pub)).get(Tag.Link)), [[LinkType.CertificateLink, uid]]);

  // A second Certify uses the same CA (still one CA certificate in the scope).
  const again = uidOf(ok(await h.one(V1_2, 'Certify', certifyPayload(V1_2, pub, csr))));
  t.true((await certificate(h, again)).verify(ca!.publicKey));
  t.is((await caCertificates(h)).length, 1);
  t.deepEqual(links((await attributes2x(h, pub)).get(Tag.Link)), [[LinkType.CertificateLink, uid], [LinkType.CertificateLink, again]]);
});

test('the scope CA: its private key is never returned nor usable to Sign; every scope has its own', async (t) => {
  const h = harness();
  const pair = ecPair();
  const pub = await registerPublicKey(h, V1_4, pair);
  ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pub, await csrFor(pair, 'CN=a'))));
  const keys = uidsOf(ok(await h.one(V1_4, 'Locate', [
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Object Type'), enumeration(Tag.AttributeValue, ObjectType.PrivateKey)]),
  ])));
  t.is(keys.length, 1);
  const key = keys[0]!;
  t.is(await reason(h, V1_4, 'Get', [uidItem(key)]), ResultReason.NotExtractable);
  t.is(await reason(h, V1_4, 'Sign', [uidItem(key), bytes(Tag.Data, Buffer.from('x'))]), ResultReason.PermissionDenied);
  const ka = await attributes2x(h, key);
  t.deepEqual(ka.get(Tag.State), [enumeration(Tag.State, State.Active)]);
  t.deepEqual(ka.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.CertificateSign | Mask.CRLSign)]);

  // Another scope gets another CA; neither sees the other's.
  const b = identity('scope-b');
  const pubB = await registerPublicKey(h, V1_4, pair, b);
  const certB = uidOf(ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pubB, await csrFor(pair, 'CN=b')), b)));
  const [caA] = await caCertificates(h);
  const [caB, ...moreB] = await caCertificates(h, b);
  t.is(moreB.length, 0);
  t.false(caA!.publicKey.equals(caB!.publicKey));
  t.true((await certificate(h, certB, b)).verify(caB!.publicKey));
  t.false((await certificate(h, certB, b)).verify(caA!.publicKey));
});

test('a revoked CA is replaced by a new one at the next Certify', async (t) => {
  const h = harness();
  const pair = ecPair();
  const pub = await registerPublicKey(h, V1_4, pair);
  const first = uidOf(ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pub, await csrFor(pair, 'CN=x')))));
  const [oldCa] = await caCertificates(h);
  const [caKey] = uidsOf(ok(await h.one(V1_4, 'Locate', [
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Object Type'), enumeration(Tag.AttributeValue, ObjectType.PrivateKey)]),
  ])));
  ok(await h.one(V1_4, 'Revoke', [uidItem(caKey!), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.CACompromise)])]));
  const second = uidOf(ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pub, await csrFor(pair, 'CN=x')))));
  const cas = await caCertificates(h);
  t.is(cas.length, 2);
  const newCa = cas.find((c) => !c.publicKey.equals(oldCa!.publicKey))!;
  t.true((await certificate(h, first)).verify(oldCa!.publicKey));
  t.true((await certificate(h, second)).verify(newCa.publicKey));
});

test('Certify without a Certificate Request: the subject from the attributes; the ID Placeholder names the key', async (t) => {
  const h = harness();
  const pair = ecPair();
  const pub = await registerPublicKey(h, V1_0, pair);
  // 1.0's text subject, RFC 4514 order (most specific first).
  const subject1x = struct(Tag.Attribute, [
    text(Tag.AttributeName, 'Certificate Subject'),
    struct(Tag.AttributeValue, [text(Tag.CertificateSubjectDistinguishedName, 'CN=Text,O=ACME,C=US')]),
  ]);
  const [, r] = await h.send(V1_0, [
    { operation: 'GetAttributes', payload: [uidItem(pub)] },
    { operation: 'Certify', payload: [struct(Tag.TemplateAttribute, [subject1x])] },
  ]);
  // Get Attributes does not set the ID Placeholder: nothing to certify.
  t.is(r?.reason, ResultReason.MissingData);
  const [, c, g] = await h.send(V1_0, [
    { operation: 'Locate', payload: [struct(Tag.Attribute, [text(Tag.AttributeName, 'Object Type'), enumeration(Tag.AttributeValue, ObjectType.PublicKey)])] },
    { operation: 'Certify', payload: [struct(Tag.TemplateAttribute, [subject1x])] },
    { operation: 'Get', payload: [] },
  ]);
  t.is(uidOf(ok(g!)), uidOf(ok(c!)));
  const cert = new X509Certificate(Buffer.from(objectOf(g!).value.find((i) => i.tag === Tag.CertificateValue)!.value as Uint8Array));
  t.is(cert.subject, 'C=US\nO=ACME\nCN=Text');
  t.true(cert.publicKey.equals(pair.publicKey));

  // 1.1+: the X.509 Certificate Subject (DER); 2.x: the per-part attributes.
  const der = new Uint8Array(new x509.Name('C=DE, O=Org, CN=Der').toArrayBuffer());
  const viaDer = uidOf(ok(await h.one(V1_2, 'Certify', certifyPayload(V1_2, pub, undefined, [
    struct(Tag.Attribute, [text(Tag.AttributeName, 'X.509 Certificate Subject'), struct(Tag.AttributeValue, [bytes(Tag.SubjectDistinguishedName, der)])]),
  ]))));
  t.is((await certificate(h, viaDer)).subject, 'C=DE\nO=Org\nCN=Der');
  const viaParts = uidOf(ok(await h.one(V2_1, 'Certify', certifyPayload(V2_1, pub, undefined, [text(Tag.CertificateSubjectCN, 'Parts'), text(Tag.CertificateSubjectO, 'Org')]))));
  t.is((await certificate(h, viaParts)).subject, 'O=Org\nCN=Parts');
  // No subject at all.
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, pub, undefined)), ResultReason.MissingData);
});

test('Certify refuses a request for another key, a bad signature, a non-public key', async (t) => {
  const h = harness();
  const pair = rsaPair();
  const pub = await registerPublicKey(h, V1_4, pair);
  const otherCsr = await csrFor(ecPair(), 'CN=other');
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, pub, otherCsr)), ResultReason.InvalidField);
  t.is(await reason(h, V2_1, 'Certify', certifyPayload(V2_1, pub, otherCsr)), ResultReason.InvalidCSR);
  const tampered = Uint8Array.from(await csrFor(pair, 'CN=ok'));
  tampered[tampered.length - 5]! ^= 0xff;
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, pub, tampered)), ResultReason.InvalidField);
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, pub, Uint8Array.of(1, 2, 3))), ResultReason.InvalidField);
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, pub, await csrFor(pair, 'CN=ok'), [], CertificateRequestType.CRMF)), ResultReason.FeatureNotSupported);
  const key = await createKey(h, V1_4);
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, key, await csrFor(pair, 'CN=ok'))), ResultReason.PermissionDenied);
  t.is(await reason(h, V2_1, 'Certify', certifyPayload(V2_1, key, await csrFor(pair, 'CN=ok'))), ResultReason.InvalidObjectType);
  t.is(await reason(h, V1_4, 'Certify', certifyPayload(V1_4, 'nope', await csrFor(pair, 'CN=ok'))), ResultReason.ItemNotFound);
  // A PEM request is read too; a request alone (no Public Key object) is certified without links.
  const pem = Buffer.from(pemEncode('CERTIFICATE REQUEST', await csrFor(pair, 'CN=pem')));
  const alone = uidOf(ok(await h.one(V2_1, 'Certify', certifyPayload(V2_1, undefined, pem, [], CertificateRequestType.PEM))));
  t.is((await certificate(h, alone)).subject, 'CN=pem');
  t.is((await attributes2x(h, alone)).get(Tag.Link), undefined);
});

test('Re-certify: same key and subject, the names move, links as 1.4 §4.8 says', async (t) => {
  const h = harness();
  const pair = rsaPair();
  const pub = await registerPublicKey(h, V1_4, pair);
  const csr = await csrFor(pair, 'C=US, O=ACME, CN=Client', 'client.example');
  const old = uidOf(ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pub, csr, [
    int(Tag.CryptographicUsageMask, Mask.Sign | Mask.Verify), nameValue('cert-1'), text(Tag.ContactInformation, 'pki@example'),
  ]))));
  const fresh = uidOf(ok(await h.one(V1_4, 'ReCertify', [uidItem(old), container(V1_4, Tag.TemplateAttribute, Tag.Attributes, [nameValue('cert-2')])])));
  const [o, n] = [await certificate(h, old), await certificate(h, fresh)];
  t.not(n.serialNumber, o.serialNumber);
  t.is(n.subject, o.subject);
  t.is(n.subjectAltName, 'DNS:client.example');
  t.true(n.publicKey.equals(pair.publicKey));
  t.is(n.issuer, o.issuer);

  const oa = await attributes2x(h, old);
  const na = await attributes2x(h, fresh);
  t.is(oa.get(Tag.Name), undefined);
  t.deepEqual(nameValues(na.get(Tag.Name)), ['cert-1', 'cert-2']);
  t.deepEqual(links(oa.get(Tag.Link)), [[LinkType.PublicKeyLink, pub], [LinkType.ReplacementObjectLink, fresh]]);
  t.deepEqual(links(na.get(Tag.Link)), [[LinkType.ReplacedObjectLink, old], [LinkType.PublicKeyLink, pub]]);
  t.deepEqual(links((await attributes2x(h, pub)).get(Tag.Link)), [[LinkType.CertificateLink, fresh]]);
  t.deepEqual(na.get(Tag.ContactInformation), oa.get(Tag.ContactInformation));
  t.deepEqual(na.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign | Mask.Verify)]);
  t.notDeepEqual(na.get(Tag.Digest), oa.get(Tag.Digest));
  t.notDeepEqual(na.get(Tag.X_509CertificateIdentifier), oa.get(Tag.X_509CertificateIdentifier));

  // With a request for the same key and another subject; with a request for another key.
  const third = uidOf(ok(await h.one(V1_4, 'ReCertify', [uidItem(fresh), enumeration(Tag.CertificateRequestType, CertificateRequestType.PKCS_10), bytes(Tag.CertificateRequest, await csrFor(pair, 'CN=Renamed'))])));
  t.is((await certificate(h, third)).subject, 'CN=Renamed');
  t.is((await certificate(h, third)).subjectAltName, undefined);
  t.is(await reason(h, V1_4, 'ReCertify', [uidItem(third), enumeration(Tag.CertificateRequestType, CertificateRequestType.PKCS_10), bytes(Tag.CertificateRequest, await csrFor(rsaPair(), 'CN=x'))]), ResultReason.InvalidField);
  // Not a certificate; Offset together with dates.
  t.is(await reason(h, V1_4, 'ReCertify', [uidItem(pub)]), ResultReason.PermissionDenied);
  t.is(await reason(h, V2_1, 'ReCertify', [uidItem(pub)]), ResultReason.InvalidObjectType);
  t.is(await reason(h, V1_4, 'ReCertify', [uidItem(third), interval(Tag.Offset, 60), container(V1_4, Tag.TemplateAttribute, Tag.Attributes, [{ tag: Tag.ActivationDate, type: ItemType.DateTime, value: 1 }])]), ResultReason.InvalidMessage);
});

test('Re-certify of a registered certificate (no Public Key Link): the server\'s CA issues its successor', async (t) => {
  const h = harness();
  const pair = ecPair();
  const selfSigned = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=self',
    keys: {
      privateKey: pair.privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']) as unknown as CryptoKey_,
      publicKey: pair.publicKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) as unknown as CryptoKey_,
    },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const old = uidOf(ok(await h.one(V1_4, 'Register', [
    enumeration(Tag.ObjectType, ObjectType.Certificate),
    container(V1_4, Tag.TemplateAttribute, Tag.Attributes, [nameValue('self')]),
    struct(Tag.Certificate, [enumeration(Tag.CertificateType, 1), bytes(Tag.CertificateValue, new Uint8Array(selfSigned.rawData))]),
  ])));
  const fresh = uidOf(ok(await h.one(V1_4, 'ReCertify', [uidItem(old)])));
  const n = await certificate(h, fresh);
  t.is(n.subject, 'CN=self');
  t.true(n.publicKey.equals(pair.publicKey));
  const [ca] = await caCertificates(h);
  t.true(n.verify(ca!.publicKey));
  t.deepEqual(links((await attributes2x(h, fresh)).get(Tag.Link)), [[LinkType.ReplacedObjectLink, old]]);
  t.deepEqual(nameValues((await attributes2x(h, fresh)).get(Tag.Name)), ['self']);
});

test('a CA key a client made extractable is not used again', async (t) => {
  const h = harness();
  const pair = ecPair();
  const pub = await registerPublicKey(h, V1_4, pair);
  ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pub, await csrFor(pair, 'CN=x'))));
  const [caKey] = uidsOf(ok(await h.one(V1_4, 'Locate', [
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Object Type'), enumeration(Tag.AttributeValue, ObjectType.PrivateKey)]),
  ])));
  ok(await h.one(V1_4, 'ModifyAttribute', [uidItem(caKey!), struct(Tag.Attribute, [text(Tag.AttributeName, 'Extractable'), { tag: Tag.AttributeValue, type: ItemType.Boolean, value: true }])]));
  const [oldCa] = await caCertificates(h);
  const next = uidOf(ok(await h.one(V1_4, 'Certify', certifyPayload(V1_4, pub, await csrFor(pair, 'CN=x')))));
  t.false((await certificate(h, next)).verify(oldCa!.publicKey));
  t.is((await caCertificates(h)).length, 2);
});

test('the scope CA is the whole scope\'s: made under a header credential, it is owned by no one and serves the next user too', async (t) => {
  const { parseHeaderCredentials } = await import('../policy/header-credentials.ts');
  const { hashPassword } = await import('../auth/password-hash.ts');
  const { usernamePasswordAuthentication } = await import('../client/client.ts');
  const cheap = { ln: 10, r: 8, p: 1 };
  const { credentials } = parseHeaderCredentials([
    { username: 'fred', passwordHash: await hashPassword('f', cheap) },
    { username: 'barney', passwordHash: await hashPassword('b', cheap) },
  ]);
  const who = { ...identity('scope-a'), credentialId: 'cred-a', headerCredentials: credentials };
  const h = harness(who);
  const certifyAs = async (user: string, password: string) => {
    const pair = rsaPair();
    const auth = [usernamePasswordAuthentication(user, password)];
    const [pub] = await h.send(V1_4, [{ operation: 'Register', payload: [
      enumeration(Tag.ObjectType, ObjectType.PublicKey),
      container(V1_4, Tag.TemplateAttribute, Tag.Attributes, [int(Tag.CryptographicUsageMask, Mask.Verify)]),
      struct(Tag.PublicKey, [struct(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, F.X_509), struct(Tag.KeyValue, [bytes(Tag.KeyMaterial, pair.spki)]), enumeration(Tag.CryptographicAlgorithm, Alg.RSA),
      ])]),
    ] }], who, auth);
    const [cert] = await h.send(V1_4, [{ operation: 'Certify', payload: certifyPayload(V1_4, uidOf(ok(pub!)), await csrFor(pair, `CN=${user}`)) }], who, auth);
    return uidOf(ok(cert!));
  };
  const fredCert = await certifyAs('fred', 'f');
  const barneyCert = await certifyAs('barney', 'b');
  t.is((await h.store.get('scope-a', fredCert))!.owner, 'cred-a/user:fred', 'the certificate made for fred is his');
  const cas = (await h.store.list('scope-a')).filter((r) => r.names.includes(CA_NAME));
  t.is(cas.length, 2, 'one CA: its certificate and its key');
  t.true(cas.every((r) => r.owner === undefined), 'owned by no one');
  await t.throwsAsync(certificate(h, fredCert, who), undefined, 'without fred\'s header credential his certificate is out of reach');
  const ca = await caCertificates(h);
  t.is(ca.length, 1, 'a client without a header credential finds the one CA');
  const issuedTo = async (uid: string, user: string, password: string) => {
    const [got] = await h.send(V1_4, [{ operation: 'Get', payload: [uidItem(uid)] }], who, [usernamePasswordAuthentication(user, password)]);
    const v = objectOf(ok(got!)).value.find((i) => i.tag === Tag.CertificateValue);
    return new X509Certificate(Buffer.from(v!.value as Uint8Array));
  };
  for (const c of [await issuedTo(fredCert, 'fred', 'f'), await issuedTo(barneyCert, 'barney', 'b')]) t.true(c.checkIssued(ca[0]!), 'issued by the one CA');
});
