import test from 'ava';
import { ResultReason, ResultStatus } from '../ttlv/enums.ts';
import { Tag } from '../ttlv/tag.ts';
import { enumeration, int, struct, text, type TtlvItem } from '../ttlv/types.ts';
import { CredentialType, CryptographicAlgorithm, NameType, ObjectType } from '../ttlv/enums.ts';
import { deviceAuthentication, usernamePasswordAuthentication } from '../client/client.ts';
import { harness, identity, uidItem, V1_2, V2_1 } from '../operations/harness.fixture.ts';
import { parseHeaderCredentials } from '../policy/header-credentials.ts';
import type { Identity } from './identity.ts';
import { hashPassword } from './password-hash.ts';

const FAST = { ln: 10, r: 8, p: 1 };

const DEVICE = { serialNumber: 'serNum123456', deviceIdentifier: 'devID2233', networkIdentifier: 'netID9000', machineIdentifier: 'machineID1', mediaIdentifier: 'mediaID313' };

/** scope-a's credential declaring Fred, Barney and two devices (one with a password, one without). */
async function declaring(): Promise<Identity> {
  const { credentials, problems } = parseHeaderCredentials([
    { username: 'Fred', passwordHash: await hashPassword('password1', FAST) },
    { username: 'Barney', passwordHash: await hashPassword('secret2', FAST) },
    { device: DEVICE, passwordHash: await hashPassword('secret', FAST) },
    { device: { deviceIdentifier: 'sensor-7' } },
  ]);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { ...identity('scope-a'), credentialId: 'cred-a', headerCredentials: credentials };
}

const fred = () => [usernamePasswordAuthentication('Fred', 'password1')];
const barney = () => [usernamePasswordAuthentication('Barney', 'secret2')];

const nameItem = (name: string) => struct(Tag.Name, [text(Tag.NameValue, name), enumeration(Tag.NameType, NameType.UninterpretedTextString)]);

const createKey = (name: string): TtlvItem[] => [
  enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
  struct(Tag.Attributes, [
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
    int(Tag.CryptographicLength, 128),
    int(Tag.CryptographicUsageMask, 12),
    nameItem(name),
  ]),
];

const locateByName = (name: string): TtlvItem[] => [struct(Tag.Attributes, [nameItem(name)])];

async function setup() {
  const who = await declaring();
  const h = harness(who);
  const send = (op: string, payload: TtlvItem[], header?: TtlvItem[]) => h.send(V2_1, [{ operation: op, payload }], who, header).then((r) => r[0]!);
  const created = await send('Create', createKey('k1'), fred());
  if (created.status !== ResultStatus.Success) throw new Error(`Create failed: ${created.message}`);
  const uid = created.payload!.value.find((i) => i.tag === Tag.UniqueIdentifier)!.value as string;
  return { h, who, send, uid };
}

const found = (r: { payload?: { value: TtlvItem[] } }) => (r.payload?.value ?? []).filter((i) => i.tag === Tag.UniqueIdentifier).map((i) => i.value);

test('an object Fred creates is his: Barney gets Permission Denied, and Locate does not show it to him', async (t) => {
  const { send, uid, h } = await setup();
  t.is((await h.store.get('scope-a', uid))!.owner, 'cred-a/user:Fred');
  t.is((await send('Get', [uidItem(uid)], fred())).status, ResultStatus.Success);
  const denied = await send('Get', [uidItem(uid)], barney());
  t.is(denied.status, ResultStatus.OperationFailed);
  t.is(denied.reason, ResultReason.PermissionDenied);
  t.deepEqual(found(await send('Locate', locateByName('k1'), barney())), []);
  t.deepEqual(found(await send('Locate', locateByName('k1'), fred())), [uid]);
  t.is((await send('Destroy', [uidItem(uid)], barney())).reason, ResultReason.PermissionDenied);
  t.is((await send('Destroy', [uidItem(uid)], fred())).status, ResultStatus.Success);
});

test('a message without a header credential cannot reach an owned object; unowned objects stay shared', async (t) => {
  const { send, uid } = await setup();
  t.is((await send('Get', [uidItem(uid)])).reason, ResultReason.PermissionDenied);
  t.deepEqual(found(await send('Locate', locateByName('k1'))), []);
  const shared = await send('Create', createKey('shared'));
  const sharedUid = found(shared)[0] as string;
  t.is((await send('Get', [uidItem(sharedUid)], fred())).status, ResultStatus.Success);
  t.is((await send('Get', [uidItem(sharedUid)], barney())).status, ResultStatus.Success);
  t.deepEqual(found(await send('Locate', locateByName('shared'), barney())), [sharedUid]);
});

test('names stay unique across the scope: Barney cannot take the name of an object he cannot see', async (t) => {
  const { send } = await setup();
  const own = found(await send('Create', createKey('b1'), barney()))[0] as string;
  const clash = await send('AddAttribute', [uidItem(own), struct(Tag.NewAttribute, [nameItem('k1')])], barney());
  t.is(clash.status, ResultStatus.OperationFailed);
  t.is(clash.reason, ResultReason.NonUniqueNameAttribute);
  t.is((await send('AddAttribute', [uidItem(own), struct(Tag.NewAttribute, [nameItem('b2')])], barney())).status, ResultStatus.Success);
});

test('a wrong password or an unknown user fails the whole message with Authentication Not Successful', async (t) => {
  const { h, who, uid } = await setup();
  for (const auth of [
    usernamePasswordAuthentication('Fred', 'password2'),
    usernamePasswordAuthentication('Fred'),
    usernamePasswordAuthentication('Wilma', 'password1'),
    usernamePasswordAuthentication('fred', 'password1'),
  ]) {
    const items = await h.send(V1_2, [{ operation: 'Get', payload: [uidItem(uid)] }, { operation: 'Query', payload: [] }], who, [auth]);
    t.is(items.length, 1, 'one failure for the message, no batch item ran');
    t.is(items[0]!.reason, ResultReason.AuthenticationNotSuccessful);
    t.false(items[0]!.message!.includes('password'), 'the answer never echoes what was sent');
  }
});

test('exactly one credential of a supported type: two, or another type, are refused', async (t) => {
  const { h, who, uid } = await setup();
  const two = struct(Tag.Authentication, [...usernamePasswordAuthentication('Fred', 'password1').value, ...usernamePasswordAuthentication('Fred', 'password1').value]);
  const otp = struct(Tag.Authentication, [struct(Tag.Credential, [
    enumeration(Tag.CredentialType, CredentialType.OneTimePassword),
    struct(Tag.CredentialValue, [text(Tag.Username, 'Fred')]),
  ])]);
  for (const auth of [two, otp]) {
    const [r] = await h.send(V2_1, [{ operation: 'Get', payload: [uidItem(uid)] }], who, [auth]);
    t.is(r!.reason, ResultReason.AuthenticationNotSuccessful);
  }
});

test('a Device credential matches only its whole tuple and its password; one declared without a password takes none', async (t) => {
  const { send } = await setup();
  const ok = await send('Create', createKey('dev'), [deviceAuthentication({ ...DEVICE, password: 'secret' })]);
  t.is(ok.status, ResultStatus.Success);
  const uid = found(ok)[0] as string;
  t.is((await send('Get', [uidItem(uid)], [deviceAuthentication({ ...DEVICE, password: 'secret' })])).status, ResultStatus.Success);
  t.is((await send('Get', [uidItem(uid)], [deviceAuthentication({ ...DEVICE, password: 'wrong' })])).reason, ResultReason.AuthenticationNotSuccessful);
  t.is((await send('Get', [uidItem(uid)], [deviceAuthentication({ ...DEVICE })])).reason, ResultReason.AuthenticationNotSuccessful);
  const { mediaIdentifier: _, ...partial } = DEVICE;
  t.is((await send('Get', [uidItem(uid)], [deviceAuthentication({ ...partial, password: 'secret' })])).reason, ResultReason.AuthenticationNotSuccessful);
  t.is((await send('Get', [uidItem(uid)], [deviceAuthentication({ deviceIdentifier: 'sensor-7' })])).reason, ResultReason.PermissionDenied, 'another device: valid, not the owner');
  t.is((await send('Get', [uidItem(uid)], [deviceAuthentication({ deviceIdentifier: 'sensor-7', password: 'x' })])).reason, ResultReason.AuthenticationNotSuccessful);
  t.is((await send('Get', [uidItem(uid)], fred())).reason, ResultReason.PermissionDenied);
});

test('a credential that declares no header credentials ignores them, as before', async (t) => {
  const plain = identity('scope-a');
  const h = harness(plain);
  const [created] = await h.send(V2_1, [{ operation: 'Create', payload: createKey('k') }], plain, [usernamePasswordAuthentication('Anyone', 'whatever')]);
  t.is(created!.status, ResultStatus.Success);
  const uid = found(created!)[0] as string;
  t.false('owner' in (await h.store.get('scope-a', uid))!);
  const [got] = await h.send(V2_1, [{ operation: 'Get', payload: [uidItem(uid)] }], plain);
  t.is(got!.status, ResultStatus.Success);
});

test('ownership is per TLS credential: the same user name under another credential of the scope is another owner', async (t) => {
  const { h, uid } = await setup();
  const other = { ...(await declaring()), credentialId: 'cred-b' };
  const [r] = await h.send(V2_1, [{ operation: 'Get', payload: [uidItem(uid)] }], other, fred());
  t.is(r!.reason, ResultReason.PermissionDenied);
});
