/**
 * Issue 4's end-to-end check: `npm run dev:cluster` (startDevCluster: control plane, CRDs, operator,
 * KMIP server with --policy kubernetes --all-namespaces --store sqlite), examples/pykmip.yaml
 * applied through the API as `kubectl apply -f examples/` would, the operator's Secret written to
 * files, and PyKMIP's ProxyKmipClient (/usr/bin/python3, own HOME) driving the server with them:
 *
 * - Create, Activate and Get succeed; Destroy (not in the role) is Permission Denied;
 * - adding operation_destroy to the KmipRole makes Destroy work within 5 s;
 * - deleting the KmipClientCredential makes a new connection fail within 5 s.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestMessage, V1_4 } from '../../kmip-server/client/client.ts';
import { KmipConnection } from '../../kmip-server/client/connection.ts';
import { PyKmip, stopDrivers, type PykmipError } from '../interop/pykmip/driver.ts';
import { SYSTEM_PYTHON } from '../setup/pykmip.ts';
import { ensureBinaries } from './control-plane.ts';
import { startDevCluster, writeSecretFiles, type DevCluster } from './dev-cluster.ts';
import { waitFor } from './wait.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;
const EXAMPLE = fileURLToPath(new URL('../../examples/pykmip/pykmip.yaml', import.meta.url));
const NS = 'default';
const GROUP = '/apis/kubekmip.io/v1alpha1';

let cluster: DevCluster | undefined;
let work: string | undefined;

function dev(): DevCluster {
  if (!cluster) throw new Error('the dev cluster did not start');
  return cluster;
}

test.before('start the dev cluster', async (t) => {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import kmip'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`PyKMIP is not importable by ${SYSTEM_PYTHON} (npm test installs python3-pykmip): ${probe.stderr}`);
  t.timeout(BUILD_TIMEOUT_MS, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(120_000, 'the dev cluster did not start');
  work = await mkdtemp(join(tmpdir(), 'kube-kmip-dev-cluster-'));
  cluster = await startDevCluster({ dir: join(work, 'cluster'), log: (l) => t.log(l) });
});

test.after.always('stop PyKMIP and the dev cluster', async () => {
  await stopDrivers();
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether a fresh TLS connection with these files gets a Discover Versions answered. */
async function serverAccepts(files: { cert: string; key: string; ca: string }): Promise<boolean> {
  let conn: KmipConnection;
  try {
    conn = await KmipConnection.connect({ host: dev().host, port: dev().port, ...files, timeoutMs: 3000 });
  } catch {
    return false;
  }
  try {
    await conn.send(requestMessage(V1_4, [{ operation: 'Discover Versions', payload: [] }]));
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

const isDenied = (e: PykmipError) => e.type === 'KmipOperationFailure' && e.reason === 'PERMISSION_DENIED';

test.serial('examples/pykmip/pykmip.yaml: PyKMIP with the operator-issued Secret; role edit and credential deletion take effect within 5 s', async (t) => {
  t.timeout(60_000);
  const c = dev();
  const applied = await c.apply(readFileSync(EXAMPLE, 'utf8'), NS);
  t.deepEqual(applied, ['kmipscope/pykmip', 'kmiprole/pykmip', 'kmipclientcredential/pykmip']);

  const t0 = Date.now();
  await waitFor('Secret pykmip-client', async () => {
    const r = await c.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/secrets/pykmip-client`);
    return r.status === 200 && r.body.data?.['tls.crt'] && r.body.data['tls.key'] && r.body.data['ca.crt'] ? true : undefined;
  }, 20_000);
  const out = join(work!, 'pykmip-client');
  await writeSecretFiles(c.request, 'pykmip-client', NS, out, { host: c.host, port: c.port });
  const files = {
    cert: readFileSync(join(out, 'tls.crt'), 'utf8'),
    key: readFileSync(join(out, 'tls.key'), 'utf8'),
    ca: readFileSync(join(out, 'ca.crt'), 'utf8'),
  };
  // The server learns the certificate's serial from the credential's status, through its watch.
  await waitFor('the KMIP server to accept the new credential', async () => ((await serverAccepts(files)) ? true : undefined), 10_000, 100);
  t.log(`Secret issued and accepted ${Date.now() - t0} ms after apply`);

  const conf = join(out, 'pykmip.conf');
  const py = await PyKmip.open(t, conf, null);

  // Create + Activate + Get.
  const uid = await py.call<string>('create', { algorithm: 'AES', length: 256, name: 'dev-cluster-key' });
  t.truthy(uid);
  await py.call('activate', { uid });
  const got = await py.call<{ object_type: string; value: string; cryptographic_length: number }>('get', { uid });
  t.is(got.object_type, 'SYMMETRIC_KEY');
  t.is(got.cryptographic_length, 256);
  t.is(got.value.length, 64);

  // Destroy is not in the role: denied (on a Pre-Active key, which Destroy would otherwise remove).
  const doomed = await py.call<string>('create', { algorithm: 'AES', length: 128 });
  const denied = await py.failure('destroy', { uid: doomed });
  t.true(isDenied(denied), `Destroy without operation_destroy: ${JSON.stringify(denied)}`);

  // The role gains operation_destroy: Destroy works within 5 s, on the same connection.
  const patched = await c.request('PATCH', `${GROUP}/namespaces/${NS}/kmiproles/pykmip`,
    { spec: { operations: ['operation_create', 'operation_get', 'operation_activate', 'operation_destroy'] } },
    { 'content-type': 'application/merge-patch+json' });
  t.is(patched.status, 200);
  const tRole = Date.now();
  const roleMs = await waitFor('Destroy to be allowed', async () => {
    const a = await py.answer('destroy', { uid: doomed });
    if (a.ok) return Date.now() - tRole;
    if (!isDenied(a.error)) throw new Error(`Destroy failed otherwise: ${JSON.stringify(a.error)}`);
    return undefined;
  }, 5000, 100);
  t.log(`Destroy allowed ${roleMs} ms after the role edit`);
  t.true(roleMs <= 5000);
  const gone = await py.failure('get', { uid: doomed });
  t.is(gone.reason, 'ITEM_NOT_FOUND', 'the destroyed key is gone');
  await py.call('get', { uid });

  // The credential is deleted: a new PyKMIP connection fails within 5 s.
  const del = await c.request('DELETE', `${GROUP}/namespaces/${NS}/kmipclientcredentials/pykmip`);
  t.true(del.status === 200 || del.status === 202, `delete: HTTP ${del.status}`);
  const tDel = Date.now();
  let lastError: PykmipError | undefined;
  const credMs = await waitFor('a new connection to be refused', async () => {
    const opened = await py.answer('open', { config_file: conf, version: null });
    const a = opened.ok ? await py.answer('get', { uid }) : opened;
    if (a.ok) return undefined;
    // Refused at the connection (TLS or socket), not a KMIP answer.
    if (a.error.type === 'KmipOperationFailure') throw new Error(`a KMIP answer instead of a refused connection: ${JSON.stringify(a.error)}`);
    lastError = a.error;
    return Date.now() - tDel;
  }, 5000, 100);
  t.log(`new connection refused ${credMs} ms after the deletion (${lastError?.type}: ${lastError?.message})`);
  t.true(credMs <= 5000);
  t.false(await serverAccepts(files), 'the TLS client with the same files is refused too');
});
