/**
 * Asynchronous operations end to end: the dev server as a child process, real mutual TLS, the TS client. A second
 * credential of the same scope and role stands for another client.
 */
import test from 'ava';
import { issueDevCredential } from '../../kmip-server/dev/bootstrap.ts';
import { KmipClient, type BatchResult } from '../../kmip-server/client/client.ts';
import { CancellationResult } from '../../kmip-server/ttlv/enums.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { bool, bytes, enumeration, ItemType, text, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { readCredential, startDevServer } from '../helpers/dev-server.ts';
import { ResultReason, ResultStatus, connectAs, credentialDoc, tryRequest, uidItem, waitFor, writeManifest } from '../helpers/kmip.ts';

const V1_2 = { major: 1, minor: 2 };
const ASYNC: TtlvItem[] = [bool(Tag.AsynchronousIndicator, true)];

async function one(client: KmipClient, operation: string, payload: TtlvItem[], header: TtlvItem[] = []): Promise<BatchResult> {
  const res = await client.batch([{ operation, payload }], { extra: header });
  return res.items[0]!;
}
const acvItem = (acv: Uint8Array) => bytes(Tag.AsynchronousCorrelationValue, acv);

test('async Locate then Poll; async Archive canceled before it runs; another client cannot poll', async (t) => {
  // A long start delay: only a Poll starts an operation, so the Cancel below cannot race the background start.
  const server = await startDevServer(t, { args: ['--async-start-delay-ms', '60000'] });
  const admin = await connectAs(server, undefined, { t, version: V1_2 });

  const name = `async-${Date.now()}`;
  const uid = await admin.create({ name });
  const located = await one(admin, 'Locate', [
    { tag: Tag.Attribute, type: ItemType.Structure, value: [text(Tag.AttributeName, 'Name'), {
      tag: Tag.AttributeValue, type: ItemType.Structure,
      value: [text(Tag.NameValue, name), enumeration(Tag.NameType, 1)],
    }] },
  ], ASYNC);
  t.is(located.statusName, 'OperationPending');
  const locateAcv = located.asynchronousCorrelationValue!;

  // Another client of the same scope and role: the value means nothing to it.
  const issued = await issueDevCredential(server.dataDir, { scope: 'default', role: 'admin', name: 'other' });
  await writeManifest(server.dataDir, 'other.yaml', [credentialDoc('other', 'default', 'admin', issued.serialNumber)]);
  const otherCred = await readCredential(issued.credentialDir);
  await waitFor('the second credential to be accepted', async () => (await tryRequest(server, otherCred)).stage === 'answered', 10_000, 100);
  const other = await connectAs(server, otherCred, { t, version: V1_2 });
  const foreignPoll = await one(other, 'Poll', [acvItem(locateAcv)]);
  t.is(foreignPoll.status, ResultStatus.OperationFailed);
  t.is(foreignPoll.reason, ResultReason.ItemNotFound);
  const foreignCancel = await one(other, 'Cancel', [acvItem(locateAcv)]);
  t.is(foreignCancel.payload?.value.find((i) => i.tag === Tag.CancellationResult)?.value, CancellationResult.Unavailable);

  // The owner polls: the Locate runs and its own answer comes back.
  const polled = await one(admin, 'Poll', [acvItem(locateAcv)]);
  t.is(polled.operationName, 'Locate');
  t.is(polled.status, ResultStatus.Success);
  t.deepEqual(polled.payload?.value.filter((i) => i.tag === Tag.UniqueIdentifier).map((i) => i.value), [uid]);

  // Archive, canceled right away: Canceled, and the key is not archived.
  const archive = await one(admin, 'Archive', [uidItem(uid)], ASYNC);
  t.is(archive.statusName, 'OperationPending');
  const canceled = await one(admin, 'Cancel', [acvItem(archive.asynchronousCorrelationValue!)]);
  t.is(canceled.status, ResultStatus.Success);
  t.is(canceled.payload?.value.find((i) => i.tag === Tag.CancellationResult)?.value, CancellationResult.Canceled);
  const get = await one(admin, 'Get', [uidItem(uid)]);
  t.is(get.status, ResultStatus.Success, `Get after the canceled Archive: ${get.reasonName ?? ''}`);
  const afterCancel = await one(admin, 'Poll', [acvItem(archive.asynchronousCorrelationValue!)]);
  t.is(afterCancel.operationName, 'Archive');
  t.is(afterCancel.reason, ResultReason.OperationCanceledByRequester);
});

test('without a Poll an asynchronous operation runs after the start delay, and a restart forgets it', async (t) => {
  const server = await startDevServer(t, { args: ['--async-start-delay-ms', '100'] });
  const admin = await connectAs(server, undefined, { t, version: V1_2 });
  const uid = await admin.create({});
  const archive = await one(admin, 'Archive', [uidItem(uid)], ASYNC);
  t.is(archive.statusName, 'OperationPending');
  await waitFor('the Archive to run', async () => (await one(admin, 'Get', [uidItem(uid)])).reason === ResultReason.ObjectArchived, 5000, 50);
  const cancel = await one(admin, 'Cancel', [acvItem(archive.asynchronousCorrelationValue!)]);
  t.is(cancel.payload?.value.find((i) => i.tag === Tag.CancellationResult)?.value, CancellationResult.Completed);

  // Results live in memory only: after a restart (same data) the value is unknown, the archived key stays archived.
  const recover = await one(admin, 'Recover', [uidItem(uid)], ASYNC);
  t.is(recover.statusName, 'OperationPending');
  await admin.close();
  await server.stop();
  const again = await startDevServer(t, { dataDir: server.dataDir, args: ['--async-start-delay-ms', '60000'] });
  const client = await connectAs(again, undefined, { t, version: V1_2 });
  t.is((await one(client, 'Poll', [acvItem(recover.asynchronousCorrelationValue!)])).reason, ResultReason.ItemNotFound);
  t.is((await one(client, 'Get', [uidItem(uid)])).reason, ResultReason.ObjectArchived, 'the Recover never ran');
});
