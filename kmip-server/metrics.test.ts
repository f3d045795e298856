import test from 'ava';
import http from 'node:http';
import { pino } from 'pino';
import { ServerMetrics, metricsUrl, startMetricsListener } from './metrics.ts';
import { BatchErrorContinuationOption, Operation, ResultReason, ResultStatus } from './ttlv/enums.ts';
import { Tag } from './ttlv/tag.ts';
import { enumeration } from './ttlv/types.ts';
import { V1_4, V2_1, createAes, createKey, harness, identity, uidItem } from './operations/harness.fixture.ts';

/** The value of one sample line (`name{labels} value`) in a text exposition; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

const quiet = pino({ level: 'silent' });

test('batch items are counted per operation and status, failures by their Result Reason name', async (t) => {
  const m = new ServerMetrics({ processMetrics: false });
  m.item(Operation.Create, ResultStatus.Success, undefined);
  m.item(Operation.Create, ResultStatus.Success, undefined);
  m.item(Operation.Get, ResultStatus.OperationFailed, ResultReason.ItemNotFound);
  m.item(Operation.Encrypt, ResultStatus.OperationFailed, ResultReason.PermissionDenied);
  m.item(Operation.Locate, ResultStatus.OperationPending, undefined);
  m.item(Operation.Destroy, ResultStatus.OperationUndone, undefined);
  m.item(0x7fff_0001, ResultStatus.OperationFailed, ResultReason.OperationNotSupported);
  m.item(undefined, ResultStatus.OperationFailed, ResultReason.InvalidMessage);
  m.item(Operation.Get, ResultStatus.OperationFailed, 0x7fff_0002);
  const text = await m.registry.metrics();
  t.is(sample(text, 'kube_kmip_operations_total{operation="Create",status="success"}'), 2);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Get",status="ItemNotFound"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Encrypt",status="PermissionDenied"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Locate",status="pending"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Destroy",status="undone"}'), 1);
  // Codes outside the enumerations never become label values of their own.
  t.is(sample(text, 'kube_kmip_operations_total{operation="unknown",status="OperationNotSupported"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="unknown",status="InvalidMessage"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Get",status="unknown"}'), 1);
  t.regex(text, /^# TYPE kube_kmip_operations_total counter$/m);
});

test('messages are timed per protocol version; a version the server does not speak is "unknown"', async (t) => {
  const m = new ServerMetrics({ processMetrics: false });
  m.message({ major: 2, minor: 1 }, 0.0003);
  m.message({ major: 2, minor: 1 }, 0.2);
  m.message({ major: 1, minor: 4 }, 0.001);
  m.message({ major: 9, minor: 9 }, 0.001);
  const text = await m.registry.metrics();
  t.is(sample(text, 'kube_kmip_message_duration_seconds_count{version="2.1"}'), 2);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_bucket{le="0.0005",version="2.1"}'), 1);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_bucket{le="0.25",version="2.1"}'), 2);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_count{version="1.4"}'), 1);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_count{version="unknown"}'), 1);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_count{version="9.9"}'), undefined);
});

test('connection and asynchronous-table gauges read their sources when scraped; refusals start at 0', async (t) => {
  const m = new ServerMetrics({ processMetrics: false });
  let open = 3;
  m.observe({ connections: () => open, asyncOperations: () => 7 });
  m.refused('limit');
  m.refused('handshake');
  m.refused('handshake');
  let text = await m.registry.metrics();
  t.is(sample(text, 'kube_kmip_connections'), 3);
  t.is(sample(text, 'kube_kmip_async_operations'), 7);
  t.is(sample(text, 'kube_kmip_connections_refused_total{reason="limit"}'), 1);
  t.is(sample(text, 'kube_kmip_connections_refused_total{reason="handshake"}'), 2);
  t.is(sample(text, 'kube_kmip_connections_refused_total{reason="unknown-credential"}'), 0);
  open = 0;
  text = await m.registry.metrics();
  t.is(sample(text, 'kube_kmip_connections'), 0);
});

test('process metrics are in the same registry, with the kube_kmip_ prefix', async (t) => {
  const text = await new ServerMetrics().registry.metrics();
  t.regex(text, /^kube_kmip_process_cpu_seconds_total /m);
  t.regex(text, /^kube_kmip_nodejs_eventloop_lag_seconds /m);
});

test('the dispatcher counts what its responses carry, and names no object or tenant', async (t) => {
  const m = new ServerMetrics({ processMetrics: false });
  const h = harness(identity('tenant-scope-x'), { metrics: m });
  const uid = await createKey(h, V2_1);
  t.is((await h.one(V2_1, 'Get', [uidItem(uid)])).status, ResultStatus.Success);
  t.is((await h.one(V1_4, 'Get', [uidItem('no-such-object')])).reason, ResultReason.ItemNotFound);
  // Undo: the Create that succeeded is reported undone, the failing Get by its reason.
  const undo = await h.send(V2_1, [
    { operation: 'Create', payload: createAes(V2_1) },
    { operation: 'Get', payload: [uidItem('missing-too')] },
  ], undefined, [enumeration(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Undo)]);
  t.deepEqual(undo.map((r) => r.status), [ResultStatus.OperationUndone, ResultStatus.OperationFailed]);
  const text = await m.registry.metrics();
  t.is(sample(text, 'kube_kmip_operations_total{operation="Create",status="success"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Create",status="undone"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Get",status="success"}'), 1);
  // 1.4 names a missing object Item Not Found, 2.x Object Not Found.
  t.is(sample(text, 'kube_kmip_operations_total{operation="Get",status="ItemNotFound"}'), 1);
  t.is(sample(text, 'kube_kmip_operations_total{operation="Get",status="ObjectNotFound"}'), 1);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_count{version="2.1"}'), 3);
  t.is(sample(text, 'kube_kmip_message_duration_seconds_count{version="1.4"}'), 1);
  for (const secret of [uid, 'no-such-object', 'tenant-scope-x']) t.false(text.includes(secret), secret);
});

test('the listener serves GET /metrics, 404 elsewhere, 405 for other methods, and closes', async (t) => {
  const m = new ServerMetrics({ processMetrics: false });
  m.item(Operation.Query, ResultStatus.Success, undefined);
  const l = await startMetricsListener(m, { host: '127.0.0.1', port: 0 }, quiet);
  t.teardown(() => l.close());
  t.not(l.address.port, 0);
  const url = metricsUrl(l.address);
  t.is(url, `http://127.0.0.1:${l.address.port}/metrics`);
  const ok = await fetch(url);
  t.is(ok.status, 200);
  t.regex(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  t.is(sample(await ok.text(), 'kube_kmip_operations_total{operation="Query",status="success"}'), 1);
  t.is((await fetch(`${url}?x=1`)).status, 200);
  t.is((await fetch(`http://127.0.0.1:${l.address.port}/`)).status, 404);
  t.is((await fetch(`http://127.0.0.1:${l.address.port}/metrics/extra`)).status, 404);
  const post = await fetch(url, { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET');
  // A kept-alive connection does not hold close() up.
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => http.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
  await l.close();
  agent.destroy();
  await t.throwsAsync(fetch(url));
});

test('metricsUrl brackets an IPv6 host', (t) => {
  t.is(metricsUrl({ host: '::1', port: 9464 }), 'http://[::1]:9464/metrics');
});
