// CPU time of the dispatcher alone per request (decode, authorize, operation, store read, encode):
// no TLS, no sockets, one thread. The part of a request's cost the server's code decides, measured
// with little noise even on a busy machine (the best of several rounds is reported).
//
//   node test/bench/dispatch.ts [--ops N] [--rounds R] [--only 'Encrypt GCM 64B']
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Dispatcher } from '../../kmip-server/dispatcher.ts';
import { SqliteStore } from '../../kmip-server/store/sqlite.ts';
import { DEFAULT_SERVER_LIMITS } from '../../kmip-server/server.ts';
import { ALL_PERMISSIONS } from '../../kmip-server/operations/permissions.ts';
import { Tag } from '../../kmip-server/ttlv/tag.ts';
import { BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, ObjectType } from '../../kmip-server/ttlv/enums.ts';
import { decode } from '../../kmip-server/ttlv/reader.ts';
import { encode } from '../../kmip-server/ttlv/writer.ts';
import { bool, bytes, enumeration, int, struct, text, type TtlvItem } from '../../kmip-server/ttlv/types.ts';
import { attributes, parseResponse, requestMessage, uniqueIdentifier, V1_4 } from '../../kmip-server/client/client.ts';
import type { Identity } from '../../kmip-server/auth/identity.ts';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' }, only: { type: 'string' } } });
const N = Number(values.ops);
const ROUNDS = Number(values.rounds);

const dir = await mkdtemp(join(tmpdir(), 'kmip-dispatch-'));
const store = await SqliteStore.open({ path: join(dir, 'kmip.db'), kek: randomBytes(32) });
const dispatcher = new Dispatcher({
  store,
  limits: DEFAULT_SERVER_LIMITS,
  server: { vendorIdentification: 'bench', serverInformation: 'bench', leaseSeconds: 3600 },
  onInternalError: (err) => { throw err; },
});
const who: Identity = { scopeId: 's', roleId: 'r', scopeName: 'ns/s', roleName: 'admin', credentialName: 'c', credentialId: 'c', operations: new Set(ALL_PERMISSIONS) };
const call = async (operation: string, payload: TtlvItem[]) => {
  const out = await dispatcher.handle(encode(requestMessage(V1_4, [{ operation, payload }])), who);
  const item = parseResponse(decode(out!)).items[0]!;
  if (item.statusName !== 'Success') throw new Error(`${operation}: ${item.statusName} ${item.message ?? ''}`);
  return item.payload!;
};
const createPayload = [
  enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
  attributes(V1_4, [
    enumeration(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), int(Tag.CryptographicLength, 256),
    int(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt),
  ]),
];
const uid = uniqueIdentifier(await call('Create', createPayload));
await call('Get', [text(Tag.UniqueIdentifier, uid)]);
await call('Activate', [text(Tag.UniqueIdentifier, uid)]);
const gcm = (data: Uint8Array) => [
  text(Tag.UniqueIdentifier, uid),
  struct(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, BlockCipherMode.GCM), int(Tag.TagLength, 16), bool(Tag.RandomIV, true)]),
  bytes(Tag.Data, data),
];

const sealed = await call('Encrypt', gcm(randomBytes(64)));
const field = (tag: number) => {
  const f = sealed.value.find((x) => x.tag === tag);
  if (!f || !(f.value instanceof Uint8Array)) throw new Error(`Encrypt returned no ${tag.toString(16)}`);
  return f.value;
};
const decryptPayload = [
  text(Tag.UniqueIdentifier, uid),
  struct(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, BlockCipherMode.GCM), int(Tag.TagLength, 16)]),
  bytes(Tag.Data, field(Tag.Data)),
  bytes(Tag.IVCounterNonce, field(Tag.IVCounterNonce)),
  bytes(Tag.AuthenticatedEncryptionTag, field(Tag.AuthenticatedEncryptionTag)),
];
await call('Decrypt', decryptPayload);

const frames: Record<string, Uint8Array> = {
  Get: encode(requestMessage(V1_4, [{ operation: 'Get', payload: [text(Tag.UniqueIdentifier, uid)] }])),
  'Get Attributes': encode(requestMessage(V1_4, [{ operation: 'Get Attributes', payload: [text(Tag.UniqueIdentifier, uid)] }])),
  Create: encode(requestMessage(V1_4, [{ operation: 'Create', payload: createPayload }])),
  'Encrypt GCM 64B': encode(requestMessage(V1_4, [{ operation: 'Encrypt', payload: gcm(randomBytes(64)) }])),
  'Decrypt GCM 64B': encode(requestMessage(V1_4, [{ operation: 'Decrypt', payload: decryptPayload }])),
};
for (const [op, frame] of Object.entries(frames)) {
  if (values.only && op !== values.only) continue;
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const n = op === 'Create' ? Math.ceil(N / 4) : N;
    const c0 = process.cpuUsage();
    // Creates are issued 16 at a time, as concurrent connections would (group commit).
    for (let i = 0; i < n; i += 16) await Promise.all(Array.from({ length: Math.min(16, n - i) }, () => dispatcher.handle(frame, who)));
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / n);
  }
  process.stdout.write(`${op.padEnd(16)} dispatcher CPU ${best.toFixed(1).padStart(6)} µs/op (best of ${ROUNDS})\n`);
}
await store.close();
await rm(dir, { recursive: true, force: true });
