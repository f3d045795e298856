import test from 'ava';
import { Tag } from '../ttlv/tag.ts';
import {
  CryptographicAlgorithm as Alg, CryptographicUsageMask as Mask, KeyFormatType as F, LinkType, ObjectType, ResultReason, RevocationReasonCode, State,
} from '../ttlv/enums.ts';
import { ItemType, dateTime, enumeration, int, interval, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { V1_2, V1_4, V2_1, attr1x, createAes, createKey, harness, nameValue, uidItem, uidOf } from './harness.fixture.ts';
import { attributes2x, keyBlockOf, keyPairPayload, links, nameValues, ok, textField } from './key-ops.fixture.ts';

const now = (): number => Math.floor(Date.now() / 1000);
const date = (values: readonly TtlvItem[] | undefined): number => {
  const v = values?.[0];
  if (v?.type !== ItemType.DateTime) throw new Error('not a date');
  return v.value;
};
const material = async (h: ReturnType<typeof harness>, uid: string): Promise<string> => {
  const kv = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(uid)]))).value.find((i) => i.tag === Tag.KeyValue);
  return JSON.stringify(kv, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
};

test('Re-key: a new key of the same algorithm and length takes the names; links both ways; attributes copied', async (t) => {
  const h = harness();
  const old = await createKey(h, V1_4, [nameValue('rk-1'), text(Tag.ContactInformation, 'ops'), text(Tag.ObjectGroup, 'g1')], undefined);
  const r = ok(await h.one(V1_4, 'ReKey', [uidItem(old)]));
  const fresh = uidOf(r);
  t.not(fresh, old);
  const oa = await attributes2x(h, old);
  const na = await attributes2x(h, fresh);
  t.is(oa.get(Tag.Name), undefined);
  t.deepEqual(nameValues(na.get(Tag.Name)), ['rk-1']);
  t.deepEqual(links(oa.get(Tag.Link)), [[LinkType.ReplacementObjectLink, fresh]]);
  t.deepEqual(links(na.get(Tag.Link)), [[LinkType.ReplacedObjectLink, old]]);
  for (const tag of [Tag.CryptographicAlgorithm, Tag.CryptographicLength, Tag.CryptographicUsageMask, Tag.ContactInformation, Tag.ObjectGroup]) {
    t.deepEqual(na.get(tag), oa.get(tag));
  }
  t.notDeepEqual(na.get(Tag.Digest), oa.get(Tag.Digest));
  t.not(await material(h, fresh), await material(h, old));
  t.deepEqual(na.get(Tag.State), [enumeration(Tag.State, State.PreActive)]);
  t.is(na.get(Tag.RandomNumberGenerator)?.length, 1);
  const block = keyBlockOf(ok(await h.one(V1_4, 'Get', [uidItem(fresh)])));
  t.deepEqual(block.value.slice(2), [enumeration(Tag.CryptographicAlgorithm, Alg.AES), int(Tag.CryptographicLength, 128)]);
});

test('Re-key without Offset copies the dates; with Offset, Activation = now + Offset and the others move with it', async (t) => {
  const h = harness();
  const t0 = now();
  const old = await createKey(h, V1_4, [dateTime(Tag.ActivationDate, t0 - 3600)]);
  ok(await h.one(V1_4, 'AddAttribute', [uidItem(old), attr1x('Deactivation Date', dateTime(0, t0 + 7200))]));
  const copied = uidOf(ok(await h.one(V1_4, 'ReKey', [uidItem(old)])));
  const ca = await attributes2x(h, copied);
  t.is(date(ca.get(Tag.ActivationDate)), t0 - 3600);
  t.is(date(ca.get(Tag.DeactivationDate)), t0 + 7200);
  t.deepEqual(ca.get(Tag.State), [enumeration(Tag.State, State.Active)]);

  const shifted = uidOf(ok(await h.one(V1_4, 'ReKey', [uidItem(copied), interval(Tag.Offset, 600)])));
  const sa = await attributes2x(h, shifted);
  const activation = date(sa.get(Tag.ActivationDate));
  t.true(Math.abs(activation - (now() + 600)) <= 2);
  t.is(date(sa.get(Tag.DeactivationDate)) - activation, 7200 + 3600);
  t.deepEqual(sa.get(Tag.State), [enumeration(Tag.State, State.PreActive)]);

  // An Offset with explicit lifecycle dates is Invalid Message (1.4 Table 331).
  const both = await h.one(V1_4, 'ReKey', [uidItem(shifted), interval(Tag.Offset, 0), struct(Tag.TemplateAttribute, [attr1x('Activation Date', dateTime(0, t0))])]);
  t.is(both.reason, ResultReason.InvalidMessage);
});

test('Re-key of a compromised key gives an active key with no compromise, revocation or destroy dates (TC-93)', async (t) => {
  const h = harness();
  const old = await createKey(h, V1_4, [dateTime(Tag.ActivationDate, now() - 10)]);
  ok(await h.one(V1_4, 'Revoke', [uidItem(old), struct(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)])]));
  const fresh = uidOf(ok(await h.one(V1_4, 'ReKey', [uidItem(old)])));
  const a = await attributes2x(h, fresh);
  t.deepEqual(a.get(Tag.State), [enumeration(Tag.State, State.Active)]);
  for (const tag of [Tag.CompromiseDate, Tag.CompromiseOccurrenceDate, Tag.RevocationReason, Tag.DestroyDate]) t.is(a.get(tag), undefined);
});

test('chained Re-keys through the ID Placeholder accumulate names from each request (TC-REKEY-1-10)', async (t) => {
  const h = harness();
  const first = await createKey(h, V1_4, [nameValue('orig'), dateTime(Tag.ActivationDate, now() - 3600)]);
  const step = (name: string) => ({ operation: 'ReKey', payload: [struct(Tag.TemplateAttribute, [attr1x('Name', nameValue(name))])] });
  const results = await h.send(V1_4, [
    { operation: 'ReKey', payload: [uidItem(first), struct(Tag.TemplateAttribute, [attr1x('Name', nameValue('one'))])] },
    step('two'),
    step('three'),
    { operation: 'GetAttributes', payload: [text(Tag.AttributeName, 'Name'), text(Tag.AttributeName, 'State')] },
  ]);
  for (const r of results) ok(r);
  const last = uidOf(results[2]!);
  t.is(uidOf(results[3]!), last);
  const a = await attributes2x(h, last);
  t.deepEqual(nameValues(a.get(Tag.Name)), ['orig', 'one', 'two', 'three']);
  t.deepEqual(a.get(Tag.State), [enumeration(Tag.State, State.Active)]);
  // Each intermediate key points both ways.
  const second = uidOf(results[0]!);
  const mid = await attributes2x(h, second);
  t.deepEqual(links(mid.get(Tag.Link)), [[LinkType.ReplacedObjectLink, first], [LinkType.ReplacementObjectLink, uidOf(results[1]!)]]);
  t.is(mid.get(Tag.Name), undefined);
});

test('Re-key keeps a Transparent Symmetric Key format; 2.x Attributes override; refusals', async (t) => {
  const h = harness();
  const u = uidOf(ok(await h.one(V2_1, 'Create', createAes(V2_1, [enumeration(Tag.KeyFormatType, F.TransparentSymmetricKey)], 256))));
  const fresh = uidOf(ok(await h.one(V2_1, 'ReKey', [uidItem(u), struct(Tag.Attributes, [int(Tag.CryptographicUsageMask, Mask.Encrypt)])])));
  t.deepEqual(keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(fresh)]))).value[0], enumeration(Tag.KeyFormatType, F.TransparentSymmetricKey));
  const a = await attributes2x(h, fresh);
  t.deepEqual(a.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Encrypt)]);
  t.deepEqual(a.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 256)]);

  const pair = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 1024)])));
  t.is((await h.one(V2_1, 'ReKey', [uidItem(textField(pair, Tag.PrivateKeyUniqueIdentifier))])).reason, ResultReason.InvalidObjectType);
  t.is((await h.one(V1_4, 'ReKey', [uidItem(textField(pair, Tag.PrivateKeyUniqueIdentifier))])).reason, ResultReason.PermissionDenied);
  t.is((await h.one(V2_1, 'ReKey', [uidItem('nope')])).reason, ResultReason.ObjectNotFound);
  t.is((await h.one(V1_4, 'ReKey', [uidItem('nope')])).reason, ResultReason.ItemNotFound);
  ok(await h.one(V2_1, 'Destroy', [uidItem(fresh)]));
  t.is((await h.one(V2_1, 'ReKey', [uidItem(fresh)])).reason, ResultReason.ObjectDestroyed);
});

test('Re-key Key Pair: new pair linked to each other and to the old pair, names moved, Locate + Get by placeholder (TC-133)', async (t) => {
  const h = harness();
  const c = ok(await h.one(V1_2, 'CreateKeyPair', keyPairPayload(V1_2,
    [enumeration(Tag.CryptographicAlgorithm, Alg.RSA), int(Tag.CryptographicLength, 1024)],
    [nameValue('rkp-private'), int(Tag.CryptographicUsageMask, Mask.Sign)],
    [nameValue('rkp-public'), int(Tag.CryptographicUsageMask, Mask.Verify)])));
  const oldPriv = textField(c, Tag.PrivateKeyUniqueIdentifier);
  const oldPub = textField(c, Tag.PublicKeyUniqueIdentifier);
  const r = ok(await h.one(V1_2, 'ReKeyKeyPair', [text(Tag.PrivateKeyUniqueIdentifier, oldPriv)]));
  const newPriv = textField(r, Tag.PrivateKeyUniqueIdentifier);
  const newPub = textField(r, Tag.PublicKeyUniqueIdentifier);

  const [np, nq, op, oq] = await Promise.all([newPriv, newPub, oldPriv, oldPub].map((u) => attributes2x(h, u)));
  t.deepEqual(links(np!.get(Tag.Link)), [[LinkType.PublicKeyLink, newPub], [LinkType.ReplacedObjectLink, oldPriv]]);
  t.deepEqual(links(nq!.get(Tag.Link)), [[LinkType.PrivateKeyLink, newPriv], [LinkType.ReplacedObjectLink, oldPub]]);
  t.deepEqual(links(op!.get(Tag.Link)), [[LinkType.PublicKeyLink, oldPub], [LinkType.ReplacementObjectLink, newPriv]]);
  t.deepEqual(links(oq!.get(Tag.Link)), [[LinkType.PrivateKeyLink, oldPriv], [LinkType.ReplacementObjectLink, newPub]]);
  t.deepEqual(nameValues(np!.get(Tag.Name)), ['rkp-private']);
  t.deepEqual(nameValues(nq!.get(Tag.Name)), ['rkp-public']);
  t.is(op!.get(Tag.Name), undefined);
  t.is(oq!.get(Tag.Name), undefined);
  t.deepEqual(np!.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Sign)]);
  t.deepEqual(nq!.get(Tag.CryptographicUsageMask), [int(Tag.CryptographicUsageMask, Mask.Verify)]);
  t.deepEqual(np!.get(Tag.CryptographicLength), [int(Tag.CryptographicLength, 1024)]);

  const [loc, got] = await h.send(V1_2, [
    { operation: 'Locate', payload: [attr1x('Name', nameValue('rkp-public')), attr1x('Object Type', enumeration(0, ObjectType.PublicKey))] },
    { operation: 'Get', payload: [enumeration(Tag.KeyFormatType, F.TransparentRSAPublicKey)] },
  ]);
  t.is(uidOf(ok(loc!)), newPub);
  t.deepEqual(keyBlockOf(ok(got!)).value[0], enumeration(Tag.KeyFormatType, F.TransparentRSAPublicKey));

  // The placeholder now names the new private key: a second Re-key Key Pair in the same batch chains.
  const [again, chained] = await h.send(V2_1, [
    { operation: 'ReKeyKeyPair', payload: [text(Tag.PrivateKeyUniqueIdentifier, newPriv), interval(Tag.Offset, 60)] },
    { operation: 'ReKeyKeyPair', payload: [] },
  ]);
  const third = await attributes2x(h, textField(ok(chained!), Tag.PrivateKeyUniqueIdentifier));
  t.deepEqual(links(third.get(Tag.Link))[1], [LinkType.ReplacedObjectLink, textField(ok(again!), Tag.PrivateKeyUniqueIdentifier)]);
  t.true(Math.abs(date((await attributes2x(h, textField(again!, Tag.PrivateKeyUniqueIdentifier))).get(Tag.ActivationDate)) - (now() + 60)) <= 2);
});

test('Re-key Key Pair keeps EC curves and formats, and refuses a key without its pair', async (t) => {
  const h = harness();
  const c = ok(await h.one(V2_1, 'CreateKeyPair', keyPairPayload(V2_1, [enumeration(Tag.CryptographicAlgorithm, Alg.ECDSA), int(Tag.CryptographicLength, 384)])));
  const r = ok(await h.one(V2_1, 'ReKeyKeyPair', [text(Tag.PrivateKeyUniqueIdentifier, textField(c, Tag.PrivateKeyUniqueIdentifier))]));
  const b = keyBlockOf(ok(await h.one(V2_1, 'Get', [uidItem(textField(r, Tag.PrivateKeyUniqueIdentifier))])));
  t.deepEqual(b.value[0], enumeration(Tag.KeyFormatType, F.ECPrivateKey));
  t.deepEqual(b.value.slice(2), [enumeration(Tag.CryptographicAlgorithm, Alg.ECDSA), int(Tag.CryptographicLength, 384)]);

  // A registered private key with no Public Key Link cannot be re-keyed as a pair.
  const lone = ok(await h.one(V2_1, 'Get', [uidItem(textField(r, Tag.PrivateKeyUniqueIdentifier))]));
  const u = uidOf(ok(await h.one(V2_1, 'Register', [enumeration(Tag.ObjectType, ObjectType.PrivateKey), struct(Tag.Attributes, []), lone.payload!.value[2]!])));
  t.is((await h.one(V2_1, 'ReKeyKeyPair', [text(Tag.PrivateKeyUniqueIdentifier, u)])).reason, ResultReason.InvalidField);
  t.is((await h.one(V2_1, 'ReKeyKeyPair', [text(Tag.PrivateKeyUniqueIdentifier, textField(r, Tag.PublicKeyUniqueIdentifier))])).reason, ResultReason.InvalidObjectType);
});
