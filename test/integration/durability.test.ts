/**
 * Durability: clients stream Creates (each with a Name and a custom x- attribute) at the dev server
 * (a child process); the server is SIGKILLed mid-stream and restarted on the same data directory.
 * Every Create the server answered must be there afterwards, with its Name and custom attribute:
 * an answer is a promise that the object is on disk.
 */
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { KmipClient, V1_4, V2_1, attribute1x, nameAttribute, type ProtocolVersion } from '../../kmip-server/client/client.ts';
import { CryptographicAlgorithm, CryptographicUsageMask, ObjectType } from '../../kmip-server/ttlv/enums.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { ItemType, enumeration, int, struct, text, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { startDevServer, tempDir, type DevServer } from '../helpers/dev-server.ts';
import { attributes1x, connectAs, customAttribute1x, nameValue, sleep, uidItem } from '../helpers/kmip.ts';

interface Answered {
  uid: string;
  name: string;
  seq: string;
}

/** Create payload with a Name and the custom attribute x-seq, for a 1.x or 2.x request. */
function createPayload(version: ProtocolVersion, name: string, seq: string): TtlvItem[] {
  const standard: TtlvItem[] = [
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
    int(Tag.CryptographicLength, 256),
    int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt),
    nameAttribute(name),
  ];
  const attrs =
    version.major >= 2
      ? // 2.x: a Vendor Attribute of vendor "x" is the same attribute as 1.x's custom "x-seq".
        struct(Tag.Attributes, [...standard, struct(Tag.Attribute, [text(Tag.VendorIdentification, 'x'), text(Tag.AttributeName, 'seq'), text(Tag.AttributeValue, seq)])])
      : struct(Tag.TemplateAttribute, [...standard.map(attribute1x), customAttribute1x('x-seq', seq)]);
  return [enumeration(Tag.ObjectType, ObjectType.SymmetricKey), attrs];
}

/** Streams Creates until the connection fails; records every answered one. */
interface Stats {
  sent: number;
  /** Streams that have stopped (their connection failed). */
  ended: number;
  /** Requests sent but never answered: the server died with them in flight. */
  inFlight: Array<{ name: string; seq: string }>;
}

async function stream(server: DevServer, version: ProtocolVersion, stream: number, answered: Answered[], stats: Stats): Promise<void> {
  let c: KmipClient;
  try {
    c = await connectAs(server, server.credentials, { version });
  } catch {
    stats.ended++;
    return;
  }
  for (let n = 0; ; n++) {
    const name = `durable-${stream}-${n}-${randomUUID()}`;
    const seq = `${stream}:${n}`;
    stats.sent++;
    let p;
    try {
      p = await c.call('Create', createPayload(version, name, seq));
    } catch {
      // The server died with this request in flight: it may or may not have been stored.
      stats.inFlight.push({ name, seq });
      stats.ended++;
      return;
    }
    const uid = p.value.find((i) => i.tag === Tag.UniqueIdentifier);
    if (uid?.type !== ItemType.TextString) throw new Error('Create answered without a Unique Identifier');
    answered.push({ uid: uid.value, name, seq });
  }
}

test('every Create answered before a SIGKILL survives the restart with its Name and x- attribute', async (t) => {
  const dataDir = join(await tempDir(t), 'data');
  const first = await startDevServer(t, { dataDir });
  const answered: Answered[] = [];
  const stats: Stats = { sent: 0, ended: 0, inFlight: [] };
  const versions = [V1_4, V1_4, V2_1, V2_1];
  const streams = versions.map((v, i) => stream(first, v, i, answered, stats));

  // Kill mid-stream: once enough has been answered (or after a while on a slow machine).
  const deadline = Date.now() + 3000;
  while (answered.length < 400 && Date.now() < deadline) await sleep(10);
  const killedAfter = answered.length;
  t.is(stats.ended, 0, 'every stream was still running when the kill was sent');
  const exit = await first.kill('SIGKILL');
  t.is(exit.signal, 'SIGKILL');
  await Promise.all(streams);
  t.log(`${answered.length} Creates answered (${killedAfter} when the kill was sent), ${stats.inFlight.length} unanswered, ${stats.sent} sent`);
  t.true(answered.length >= 50, 'enough Creates were answered for the test to mean something');

  const second = await startDevServer(t, { dataDir });
  t.not(second.pid, first.pid);
  // Check everything over a few connections, 50 Get Attributes per message.
  const missing: string[] = [];
  const wrong: string[] = [];
  const chunks: Answered[][] = [];
  for (let i = 0; i < answered.length; i += 50) chunks.push(answered.slice(i, i + 50));
  const clients = await Promise.all([0, 1, 2].map(() => connectAs(second, second.credentials, { t, version: V1_4 })));
  await Promise.all(clients.map(async (c, k) => {
    for (let i = k; i < chunks.length; i += clients.length) {
      const chunk = chunks[i]!;
      const res = await c.batch(chunk.map((a) => ({ operation: 'Get Attributes', payload: [uidItem(a.uid), text(Tag.AttributeName, 'Name'), text(Tag.AttributeName, 'x-seq')] })));
      res.items.forEach((item, j) => {
        const a = chunk[j]!;
        if (item.status !== 0 || !item.payload) {
          missing.push(`${a.uid} (${a.seq}): ${item.reasonName ?? item.statusName} ${item.message ?? ''}`);
          return;
        }
        const attrs = attributes1x(item.payload);
        const names = (attrs.get('Name') ?? []).map(nameValue);
        const seqs = (attrs.get('x-seq') ?? []).map((v) => (v.type === ItemType.TextString ? v.value : undefined));
        if (names.length !== 1 || names[0] !== a.name || seqs.length !== 1 || seqs[0] !== a.seq) {
          wrong.push(`${a.uid}: Name ${JSON.stringify(names)} (want ${a.name}), x-seq ${JSON.stringify(seqs)} (want ${a.seq})`);
        }
      });
    }
  }));
  t.deepEqual(missing, [], 'every answered Create is still there');
  t.deepEqual(wrong, [], 'with its Name and x-seq');

  // A Create the server never answered is all there or not there at all.
  const c = clients[0]!;
  for (const f of stats.inFlight) {
    const found = await c.locate(f.name);
    t.true(found.length <= 1, `unanswered ${f.seq}: at most one object`);
    if (found.length === 1) {
      const attrs = attributes1x(await c.getAttributes(found[0]!, ['x-seq']));
      t.deepEqual((attrs.get('x-seq') ?? []).map((v) => v.value), [f.seq], `unanswered ${f.seq}: stored whole`);
    }
  }

  // The key material survived too (a sample), and the restarted server takes new writes.
  for (const a of answered.filter((_, i) => i % Math.max(1, Math.floor(answered.length / 20)) === 0)) {
    const got = await c.get(a.uid);
    t.true(got.value.some((i) => i.tag === Tag.SymmetricKey), `${a.uid} still has its key`);
  }
  const after = await c.create({ name: `after-restart-${randomUUID()}` });
  t.truthy(after);
});
