/**
 * Server-to-client Notify and Put through a real server: TLS both ways, the in-memory store, the
 * policy built from KmipClientCredential resources (spec.notifications), and listeners playing the
 * subscribed clients' endpoints.
 */
import test from 'ava';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createRootCa, issueClientCertificate, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from '../../operator/pki/index.ts';
import { KmipClient, V1_4 } from '../client/client.ts';
import { MemoryStore } from '../store/memory.ts';
import { StaticPolicySource } from '../policy/model.ts';
import { policyFromResources, type KubeResource } from '../policy/resources.ts';
import { startKmipServer, type RunningServer } from '../server.ts';
import { Tag } from '../ttlv/tag.ts';
import { Operation, PutFunction, State } from '../ttlv/enums.ts';
import { ItemType, struct, text, type StructureItem, type TtlvItem } from '../ttlv/types.ts';
import { ManagedObject } from '../objects/managed-object.ts';
import { startPushListener, type Push, type PushListener } from '../../test/conformance/push-listener.ts';
import { Notifier } from './notifier.ts';
import { X509Certificate } from 'node:crypto';

const SCOPE = 'scope-1';

interface Cred {
  name: string;
  role: 'reader' | 'blind' | 'auditor';
  cert: IssuedCertificate;
  /** The listener this credential subscribes, if any, and whose certificate it presents. */
  endpoint?: { listener: PushListener; presents: IssuedCertificate };
}

function resources(creds: Cred[]): KubeResource[] {
  return [
    { kind: 'KmipScope', metadata: { namespace: 'default', name: 's', uid: SCOPE } },
    { kind: 'KmipRole', metadata: { namespace: 'default', name: 'reader', uid: 'role-reader' }, spec: { scopeRef: { name: 's' }, operations: ['operation_all'] } },
    {
      // May create and change objects, but neither Get them nor read their attributes.
      kind: 'KmipRole', metadata: { namespace: 'default', name: 'blind', uid: 'role-blind' },
      spec: { scopeRef: { name: 's' }, operations: ['operation_create', 'operation_add_attribute', 'operation_modify_attribute', 'operation_destroy'] },
    },
    {
      // Reads attributes, never keys.
      kind: 'KmipRole', metadata: { namespace: 'default', name: 'auditor', uid: 'role-auditor' },
      spec: { scopeRef: { name: 's' }, operations: ['operation_get_attributes'] },
    },
    ...creds.map((c): KubeResource => ({
      kind: 'KmipClientCredential',
      metadata: { namespace: 'default', name: c.name, uid: `cred-${c.name}` },
      spec: { scopeRef: { name: 's' }, roleRef: { name: c.role }, ...(c.endpoint ? { notifications: { endpoint: c.endpoint.listener.endpoint } } : {}) },
      status: { serialNumber: c.cert.serialNumber, certificateFingerprints: [c.cert.fingerprintSha256] },
    })),
  ];
}

interface World {
  ca: CertificateAuthority;
  server: RunningServer;
  logs: string[];
  connect(c: Cred): Promise<KmipClient>;
}

async function world(t: import('ava').ExecutionContext, creds: Cred[], ca: CertificateAuthority, limits = {}): Promise<World> {
  const serverCert = await issueServerCertificate(ca, { ipAddresses: ['127.0.0.1'] });
  const { snapshot, problems } = policyFromResources(resources(creds));
  t.deepEqual(problems, []);
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  for (const c of creds) c.endpoint?.listener.setCredentials({ ca: ca.certificatePem, cert: c.endpoint.presents.certificatePem, key: c.endpoint.presents.privateKeyPem });
  const server = await startKmipServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    tls: { certPem: serverCert.certificatePem, keyPem: serverCert.privateKeyPem, caPem: ca.certificatePem },
    store: new MemoryStore(),
    policy: new StaticPolicySource(snapshot),
    logger: pino({ level: 'debug' }, sink),
    notifications: { backoffMs: 50, maxBackoffMs: 200, timeoutMs: 2000, ...limits },
  });
  t.teardown(() => server.close());
  const port = server.addresses[0]!.port;
  return {
    ca, server, logs,
    async connect(c) {
      const client = await KmipClient.connect({ host: '127.0.0.1', port, ca: ca.certificatePem, cert: c.cert.certificatePem, key: c.cert.privateKeyPem, version: V1_4, timeoutMs: 5000 });
      t.teardown(() => client.close().catch(() => undefined));
      return client;
    },
  };
}

async function listener(t: import('ava').ExecutionContext): Promise<PushListener> {
  const l = await startPushListener();
  l.hold(true);
  t.teardown(() => l.close());
  return l;
}

const issue = (ca: CertificateAuthority, role: string) => issueClientCertificate(ca, { scopeId: SCOPE, roleId: `role-${role}` });

/** The batch item's operation and payload of a received request. */
function itemOf(p: Push): { operation: number; payload: StructureItem } {
  const msg = p.request as StructureItem;
  const item = msg.value.find((c) => c.tag === Tag.BatchItem) as StructureItem;
  const op = item.value.find((c) => c.tag === Tag.Operation)!;
  return { operation: op.value as number, payload: item.value.find((c) => c.tag === Tag.RequestPayload) as StructureItem };
}

function attrs(payload: StructureItem): Map<string, TtlvItem | undefined> {
  const out = new Map<string, TtlvItem | undefined>();
  for (const a of payload.value) {
    if (a.tag !== Tag.Attribute || a.type !== ItemType.Structure) continue;
    const name = a.value.find((c) => c.tag === Tag.AttributeName);
    if (name?.type === ItemType.TextString) out.set(name.value, a.value.find((c) => c.tag === Tag.AttributeValue));
  }
  return out;
}

/** Create of a 128-bit AES key, 1.x form, with more attributes. */
const createPayload = (more: TtlvItem[] = []): TtlvItem[] => [
  { tag: Tag.ObjectType, type: ItemType.Enumeration, value: 2 },
  struct(Tag.TemplateAttribute, [
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Cryptographic Algorithm'), { tag: Tag.AttributeValue, type: ItemType.Enumeration, value: 3 }]),
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Cryptographic Length'), { tag: Tag.AttributeValue, type: ItemType.Integer, value: 128 }]),
    struct(Tag.Attribute, [text(Tag.AttributeName, 'Cryptographic Usage Mask'), { tag: Tag.AttributeValue, type: ItemType.Integer, value: 12 }]),
    ...more,
  ]),
];
const xAttr = (name: string, value: string) => struct(Tag.Attribute, [text(Tag.AttributeName, name), text(Tag.AttributeValue, value)]);
const uidOf = (p: StructureItem) => (p.value.find((c) => c.tag === Tag.UniqueIdentifier) as { value: string }).value;

test('a subscribed client gets Put New after Create and Notify after Modify Attribute; a stranger at an endpoint and a role that cannot Get get nothing', async (t) => {
  t.timeout(60_000);
  const ca = await createRootCa({ commonName: 'notify test CA' });
  const [aliceCert, bobCert, carolCert, daveCert] = await Promise.all([issue(ca, 'reader'), issue(ca, 'reader'), issue(ca, 'reader'), issue(ca, 'blind')]);
  const [la, lb, ld, lf] = await Promise.all([listener(t), listener(t), listener(t), listener(t)]);
  const frankCert = await issue(ca, 'auditor');
  // frank may read attributes but not Get: Notify, never Put.
  const frank: Cred = { name: 'frank', role: 'auditor', cert: frankCert, endpoint: { listener: lf, presents: frankCert } };
  const alice: Cred = { name: 'alice', role: 'reader', cert: aliceCert, endpoint: { listener: la, presents: aliceCert } };
  // bob subscribes an endpoint where carol's certificate answers (another live credential): no key to carol.
  const bob: Cred = { name: 'bob', role: 'reader', cert: bobCert, endpoint: { listener: lb, presents: carolCert } };
  const carol: Cred = { name: 'carol', role: 'reader', cert: carolCert };
  // dave's role may create but not Get: no Put, and no Notify (it cannot read attributes either).
  const dave: Cred = { name: 'dave', role: 'blind', cert: daveCert, endpoint: { listener: ld, presents: daveCert } };
  const w = await world(t, [alice, bob, carol, dave, frank], ca);

  const client = await w.connect(alice);
  const uid = uidOf(await client.call('Create', createPayload([xAttr('x-ID', 'first')])));
  const put = await la.next(10_000);
  t.truthy(put, 'alice received a Put');
  const p = itemOf(put!);
  t.is(p.operation, Operation.Put);
  t.is(uidOf(p.payload), uid);
  t.is((p.payload.value.find((c) => c.tag === Tag.PutFunction) as { value: number }).value, PutFunction.New);
  const key = p.payload.value.find((c) => c.tag === Tag.SymmetricKey);
  t.truthy(key, 'the object itself');
  const a = attrs(p.payload);
  t.is((a.get('x-ID') as { value: string }).value, 'first');
  t.is((a.get('Unique Identifier') as { value: string }).value, uid);
  t.is((a.get('State') as { value: number }).value, State.PreActive);
  t.is((a.get('Cryptographic Length') as { value: number }).value, 128);
  t.true(a.has('Last Change Date'));
  // Sent in the request's version, answered by the client.
  const header = (put!.request as StructureItem).value[0] as StructureItem;
  const pv = header.value.find((c) => c.tag === Tag.ProtocolVersion) as StructureItem;
  t.deepEqual(pv.value.map((c) => c.value), [1, 4]);
  put!.replySuccess();

  await client.call('Modify Attribute', [text(Tag.UniqueIdentifier, uid), xAttr('x-ID', 'second')]);
  const notify = await la.next(10_000);
  t.truthy(notify, 'alice received a Notify');
  const n = itemOf(notify!);
  t.is(n.operation, Operation.Notify);
  t.is(uidOf(n.payload), uid);
  const na = attrs(n.payload);
  t.is((na.get('x-ID') as { value: string }).value, 'second');
  t.true(na.has('Last Change Date'));
  t.false(na.has('Cryptographic Length'), 'only what changed');
  t.false(n.payload.value.some((c) => c.tag === Tag.SymmetricKey), 'no key material in a Notify');
  notify!.replySuccess();
  const frankHeard = await lf.next(10_000);
  t.is(itemOf(frankHeard!).operation, Operation.Notify, 'an auditor hears of the change, and got no Put before it');
  frankHeard!.replySuccess();

  // bob's endpoint was tried and refused for carol's certificate; dave's was never tried.
  const deadline = Date.now() + 10_000;
  while (!w.logs.some((l) => l.includes('another or no credential')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.true(w.logs.some((l) => l.includes('another or no credential') && l.includes('default/bob')));
  t.is(lb.received(), 0, 'carol, answering at bob\'s endpoint, got nothing');
  t.is(ld.received(), 0, 'a role that cannot Get gets nothing');
  // Per-delivery log lines, and never the key.
  t.true(w.logs.some((l) => l.includes('notification delivered') && l.includes(uid)));
  const keyBytes = findBytes(key!);
  t.truthy(keyBytes);
  const hex = Buffer.from(keyBytes!).toString('hex');
  const b64 = Buffer.from(keyBytes!).toString('base64');
  t.false(w.logs.some((l) => l.includes(hex) || l.includes(b64)), 'no key material in the log');
});

function findBytes(item: TtlvItem): Uint8Array | undefined {
  if (item.type === ItemType.ByteString) return item.value;
  if (item.type === ItemType.Structure) for (const c of item.value) {
    const b = findBytes(c);
    if (b) return b;
  }
  return undefined;
}

test('nothing is sent before the write is acknowledged, and a client that did not subscribe gets nothing', async (t) => {
  t.timeout(60_000);
  const ca = await createRootCa({ commonName: 'notify test CA' });
  const [aliceCert, erinCert] = await Promise.all([issue(ca, 'reader'), issue(ca, 'reader')]);
  const la = await listener(t);
  const alice: Cred = { name: 'alice', role: 'reader', cert: aliceCert, endpoint: { listener: la, presents: aliceCert } };
  const erin: Cred = { name: 'erin', role: 'reader', cert: erinCert };
  const w = await world(t, [alice, erin], ca);
  const client = await w.connect(erin);
  // A batch that fails under Undo commits nothing: no Put.
  const res = await client.batch([
    { operation: 'Create', payload: createPayload() },
    { operation: 'Get', payload: [text(Tag.UniqueIdentifier, 'no-such-object')] },
  ], { extra: [{ tag: Tag.BatchErrorContinuationOption, type: ItemType.Enumeration, value: 3 }] });
  t.is(res.items[1]!.status, 1);
  t.is(await la.next(1000), undefined, 'an undone Create pushes nothing');
  // erin's own Create is pushed to alice (same scope, alice may Get), and erin never hears of anything.
  const uid = await client.create({ length: 128 });
  const put = await la.next(10_000);
  t.is(uidOf(itemOf(put!).payload), uid);
});

/**
 * A Notifier whose one subscriber ('reader' role, operation_get) listens at an endpoint that is down: nothing is
 * delivered, so what the notifier queues, drops or never takes shows in its stats.
 */
async function notifierWithDownSubscriber(t: { teardown(fn: () => unknown): void }, queueLimit: number, logger: pino.Logger) {
  const ca = await createRootCa({ commonName: 'notify test CA' });
  const cert = await issue(ca, 'reader');
  // A port nothing listens on: take one, then close it.
  const gone = await startPushListener();
  const endpoint = gone.endpoint;
  await gone.close();
  const { snapshot } = policyFromResources([
    ...resources([]),
    {
      kind: 'KmipClientCredential', metadata: { namespace: 'default', name: 'down', uid: 'cred-down' },
      spec: { scopeRef: { name: 's' }, roleRef: { name: 'reader' }, notifications: { endpoint } },
      status: { serialNumber: cert.serialNumber, certificateFingerprints: [cert.fingerprintSha256] },
    },
  ]);
  const serverCert = await issueServerCertificate(ca, { ipAddresses: ['127.0.0.1'] });
  const notifier = new Notifier({
    policy: new StaticPolicySource(snapshot),
    tls: () => ({ certPem: serverCert.certificatePem, keyPem: serverCert.privateKeyPem, caCerts: [new X509Certificate(ca.certificatePem)] }),
    logger,
    limits: { queueLimit, backoffMs: 10_000, maxBackoffMs: 10_000, maxAttempts: 100 },
  });
  t.teardown(() => notifier.close());
  const identity = { scopeId: SCOPE, roleId: 'role-reader', scopeName: 'default/s', roleName: 'default/reader', credentialName: 'default/x', credentialId: 'cred-x', operations: new Set(['operation_get']) };
  return { notifier, identity };
}

test('the queue to an endpoint that is down stays bounded: the oldest messages are dropped with a warning', async (t) => {
  t.timeout(30_000);
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  const { notifier, identity } = await notifierWithDownSubscriber(t, 5, pino({ level: 'info' }, sink));
  for (let i = 0; i < 20; i++) {
    const obj = new ManagedObject({
      uid: `obj-${i}`, scope: SCOPE, objectType: 7,
      attributes: [{ name: 'State', value: { tag: Tag.AttributeValue, type: ItemType.Enumeration, value: State.PreActive } }],
      body: struct(Tag.SecretData, [struct(Tag.KeyBlock, [])]),
    });
    notifier.committed(identity, V1_4, [{ uid: obj.uid, created: true, before: undefined, after: obj }]);
  }
  const deadline = Date.now() + 5000;
  while (notifier.stats().dropped < 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const s = notifier.stats();
  // One is in flight (at the head, waiting to retry), at most queueLimit held.
  t.true(s.queued <= 5, `queued ${s.queued}`);
  t.is(s.dropped, 15);
  t.is(s.delivered, 0);
  t.true(logs.some((l) => l.includes('notification queue full')));
});

test('an object a header sub-identity owns is never pushed: no Put, no Notify', async (t) => {
  const { notifier, identity } = await notifierWithDownSubscriber(t, 100, pino({ level: 'silent' }));
  const make = (uid: string, owner?: string) => new ManagedObject({
    uid, scope: SCOPE, objectType: 7, owner,
    attributes: [{ name: 'State', value: { tag: Tag.AttributeValue, type: ItemType.Enumeration, value: State.PreActive } }],
    body: struct(Tag.SecretData, [struct(Tag.KeyBlock, [])]),
  });
  const owned = make('owned', 'cred-x/user:Fred');
  const changed = make('owned', 'cred-x/user:Fred');
  changed.attributes.push({ name: 'x-note', value: { tag: Tag.AttributeValue, type: ItemType.TextString, value: 'changed' } });
  notifier.committed(identity, V1_4, [{ uid: owned.uid, created: true, before: undefined, after: owned }]);
  notifier.committed(identity, V1_4, [{ uid: owned.uid, created: false, before: owned.toRecord(), after: changed }]);
  await new Promise((r) => setTimeout(r, 100));
  const none = notifier.stats();
  t.is(none.queued + none.dropped + none.delivered + none.failed, 0);
  // The same object without an owner is queued for the subscriber (the endpoint is down, so it waits).
  notifier.committed(identity, V1_4, [{ uid: 'open', created: true, before: undefined, after: make('open') }]);
  const deadline = Date.now() + 5000;
  while (notifier.stats().queued + notifier.stats().failed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(notifier.stats().queued + notifier.stats().failed > 0);
});
