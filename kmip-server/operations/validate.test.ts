import test from 'ava';
import { webcrypto } from 'node:crypto';
import { Tag } from '../ttlv/tag.ts';
import { CertificateType, ObjectType, ResultReason, RevocationReasonCode, ValidityIndicator } from '../ttlv/enums.ts';
import { bytes, dateTime, enumeration, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { x509, type CryptoKey } from '../../operator/pki/provider.ts';
import { V1_0, V1_4, V2_1, createKey, harness, identity, uidItem, uidOf, type Harness } from './harness.fixture.ts';
import { container, ok } from './key-ops.fixture.ts';
import { enumOf } from './crypto-ops.fixture.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

interface Issued { der: Uint8Array; keys: CryptoKeyPair; name: string }
type CryptoKeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };

const newKeys = async (): Promise<CryptoKeyPair> => (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;

let serial = 1;
async function issue(name: string, opts: { issuer?: Issued; ca?: boolean; notBefore?: Date; notAfter?: Date; signWith?: CryptoKeyPair } = {}): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject: `CN=${name}`,
    issuer: `CN=${opts.issuer?.name ?? name}`,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: (opts.signWith ?? opts.issuer?.keys ?? keys).privateKey,
    signingAlgorithm: SIGN,
    extensions: opts.ca ? [new x509.BasicConstraintsExtension(true, undefined, true)] : [],
  });
  return { der: new Uint8Array(cert.rawData), keys, name };
}

const byValue = (c: Issued): TtlvItem => struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, c.der)]);

async function registerCert(h: Harness, c: Issued, who = identity('scope-a')): Promise<string> {
  return uidOf(ok(await h.one(V2_1, 'Register', [enumeration(Tag.ObjectType, ObjectType.Certificate), container(V2_1, 0, Tag.Attributes, []), byValue(c)], who)));
}

const verdict = async (h: Harness, items: TtlvItem[], v = V2_1, who?: ReturnType<typeof identity>): Promise<number | undefined> =>
  enumOf(ok(await h.one(v, 'Validate', items, who)), Tag.ValidityIndicator);

test('a chain ending in a root the scope holds is Valid, in any order, completed from the scope\'s certificates', async (t) => {
  const root = await issue('root', { ca: true });
  const inter = await issue('inter', { issuer: root, ca: true });
  const leaf = await issue('leaf', { issuer: inter });
  const h = harness();
  const rootUid = await registerCert(h, root);
  t.is(await verdict(h, [byValue(leaf), byValue(inter)]), ValidityIndicator.Valid);
  t.is(await verdict(h, [uidItem(rootUid), byValue(leaf), byValue(inter)], V1_0), ValidityIndicator.Valid);
  // Only the leaf: the intermediate is not known, so the chain cannot be anchored.
  t.is(await verdict(h, [byValue(leaf)]), ValidityIndicator.Unknown);
  await registerCert(h, inter);
  t.is(await verdict(h, [byValue(leaf)], V1_4), ValidityIndicator.Valid);
  // Certificates given by value are not stored.
  t.is(await h.store.count('scope-a'), 2);

  // Another scope does not trust this scope's root.
  t.is(await verdict(h, [byValue(leaf), byValue(inter), byValue(root)], V2_1, identity('scope-b')), ValidityIndicator.Unknown);
});

test('expired, not yet valid, badly signed, non-CA issuers and broken chains are Invalid', async (t) => {
  const root = await issue('root', { ca: true });
  const inter = await issue('inter', { issuer: root, ca: true });
  const leaf = await issue('leaf', { issuer: inter, notAfter: new Date(Date.now() + 2 * DAY) });
  const h = harness();
  await registerCert(h, root);
  const at = (ms: number) => dateTime(Tag.ValidityDate, Math.floor(ms / 1000));
  t.is(await verdict(h, [byValue(leaf), byValue(inter), at(Date.now() + DAY)]), ValidityIndicator.Valid);
  t.is(await verdict(h, [byValue(leaf), byValue(inter), at(Date.now() + 3 * DAY)]), ValidityIndicator.Invalid);
  t.is(await verdict(h, [byValue(leaf), byValue(inter), at(Date.now() - 2 * DAY)]), ValidityIndicator.Invalid);

  const forged = await issue('leaf', { issuer: inter, signWith: await newKeys() });
  t.is(await verdict(h, [byValue(forged), byValue(inter)]), ValidityIndicator.Invalid);
  const notCa = await issue('inter', { issuer: root, ca: false });
  const below = await issue('leaf2', { issuer: notCa });
  t.is(await verdict(h, [byValue(below), byValue(notCa)]), ValidityIndicator.Invalid);
  // Two chains (or a stray certificate) in one request.
  const stray = await issue('stray', { ca: true });
  t.is(await verdict(h, [byValue(leaf), byValue(inter), byValue(stray)]), ValidityIndicator.Invalid);
});

test('a chain through a compromised certificate of the scope is Invalid', async (t) => {
  const root = await issue('root', { ca: true });
  const leaf = await issue('leaf', { issuer: root });
  const h = harness();
  const rootUid = await registerCert(h, root);
  t.is(await verdict(h, [byValue(leaf)]), ValidityIndicator.Valid);
  ok(await h.one(V2_1, 'Revoke', [uidItem(rootUid), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)]),
    dateTime(Tag.CompromiseOccurrenceDate, 1)]));
  t.is(await verdict(h, [byValue(leaf)]), ValidityIndicator.Invalid);
});

test('Validate refuses requests it cannot read: no certificates, unreadable ones, identifiers of other objects', async (t) => {
  const h = harness();
  t.is((await h.one(V2_1, 'Validate', [])).reason, ResultReason.MissingData);
  t.is((await h.one(V2_1, 'Validate', [struct(Tag.Certificate, [enumeration(Tag.CertificateType, CertificateType.X_509), bytes(Tag.CertificateValue, Buffer.from('not a cert'))])])).reason, ResultReason.InvalidField);
  const key = await createKey(h, V2_1);
  t.is((await h.one(V2_1, 'Validate', [uidItem(key)])).reason, ResultReason.InvalidObjectType);
  t.is((await h.one(V1_4, 'Validate', [uidItem(key)])).reason, ResultReason.InvalidField);
  const root = await issue('root', { ca: true });
  const other = await registerCert(h, root, identity('scope-b'));
  t.is((await h.one(V1_4, 'Validate', [text(Tag.UniqueIdentifier, other)])).reason, ResultReason.ItemNotFound);
});
