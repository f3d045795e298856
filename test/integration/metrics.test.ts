/**
 * The dev server with --metrics-listen (a child process, real mutual TLS for KMIP, plain HTTP for
 * GET /metrics): what clients did shows up in the scrape, and nothing that identifies an object or
 * its key material does.
 */
import test from 'ava';
import net from 'node:net';
import { V1_4 } from '../../kmip-server/client/client.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { ItemType, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { startDevServer } from '../helpers/dev-server.ts';
import { ResultReason, connectAs, outcome, reasonName } from '../helpers/kmip.ts';

/** The value of one sample line (`name{labels} value`); undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}

function keyMaterial(item: TtlvItem): Uint8Array | undefined {
  if (item.tag === Tag.KeyMaterial && item.type === ItemType.ByteString) return item.value;
  if (item.type !== ItemType.Structure) return undefined;
  for (const c of item.value) {
    const found = keyMaterial(c);
    if (found) return found;
  }
  return undefined;
}

test('GET /metrics counts operations, times messages, shows connections, and names no object or key', async (t) => {
  const server = await startDevServer(t, { args: ['--metrics-listen', '127.0.0.1:0'] });
  const m = /metrics on (http:\/\/127\.0\.0\.1:(\d+)\/metrics)/.exec(server.stdout());
  if (!m) return t.fail(`no metrics line in stdout: ${server.stdout()}`);
  const url = m[1]!;
  t.not(Number(m[2]), server.port);

  const client = await connectAs(server, undefined, { t, version: V1_4 });
  const uid = await client.create();
  const got = await client.get(uid);
  const material = keyMaterial(got);
  if (!material) return t.fail('Get returned no Key Material');
  t.true(material.length >= 16);
  const missing = await outcome(client.get('00000000-no-such-object'));
  t.true(missing.kind === 'failed' && missing.reason === ResultReason.ItemNotFound, missing.kind === 'failed' ? reasonName(missing.reason) : missing.kind);

  // A bare TCP connect and close (what a kubelet tcpSocket probe does) is not a failed handshake;
  // something that is not TLS at all on the KMIP port is.
  const tcp = (data?: string) => new Promise<void>((resolve) => {
    const s = net.connect(server.port, '127.0.0.1', () => (data === undefined ? s.end() : s.end(data)));
    s.on('error', () => undefined).on('close', () => resolve()).resume();
  });
  await tcp();
  await tcp('GET / HTTP/1.0\r\n\r\n');

  const res = await fetch(url);
  t.is(res.status, 200);
  const text = await res.text();
  t.true((sample(text, 'kube_kmip_operations_total{operation="Create",status="success"}') ?? 0) >= 1, text);
  t.true((sample(text, 'kube_kmip_operations_total{operation="Get",status="success"}') ?? 0) >= 1);
  t.true((sample(text, 'kube_kmip_operations_total{operation="Get",status="ItemNotFound"}') ?? 0) >= 1);
  t.true((sample(text, 'kube_kmip_connections') ?? 0) >= 1, 'the client connection is open');
  t.true((sample(text, 'kube_kmip_message_duration_seconds_count{version="1.4"}') ?? 0) >= 3);
  t.is(sample(text, 'kube_kmip_connections_refused_total{reason="handshake"}'), 1);
  t.is(sample(text, 'kube_kmip_connections_refused_total{reason="limit"}'), 0);
  t.not(sample(text, 'kube_kmip_async_operations'), undefined);
  t.regex(text, /^kube_kmip_process_resident_memory_bytes /m);

  const hex = Buffer.from(material).toString('hex');
  for (const secret of [uid, hex, hex.toUpperCase(), Buffer.from(material).toString('base64'), '00000000-no-such-object']) {
    t.false(text.includes(secret), `the scrape contains ${secret === uid ? 'the Unique Identifier' : 'the key material or a client-sent uid'}`);
  }

  t.is((await fetch(url, { method: 'POST' })).status, 405);
  t.is((await fetch(url.replace(/\/metrics$/, '/'))).status, 404);
});
