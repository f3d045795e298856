/**
 * The operator restarted while 100 credentials are being issued, against a real API server: every
 * credential converges Ready, and none got more than one certificate (the second instance finds
 * the first one's work in the Secrets instead of issuing again).
 */
import test from 'ava';
import { join } from 'node:path';
import { pino } from 'pino';
import { startOperator } from '../../operator/main.ts';
import { KubeClient } from '../../operator/runtime/client.ts';
import type { Manager } from '../../operator/runtime/manager.ts';
import { ensureBinaries, startControlPlane, type ControlPlane } from './control-plane.ts';
import { applyCredentials } from './credential-load.ts';
import { createNamespaces, installCrds, sleep } from './wait.ts';

const OPERATOR_NS = 'kube-kmip';
const NS = 'load';
const COUNT = 100;
const logger = pino({ level: process.env['ENVTEST_OPERATOR_LOG'] ?? 'silent' }, pino.destination(2));

let cp: ControlPlane | undefined;
const operators: Manager[] = [];

test.before(async (t) => {
  t.timeout(90 * 60_000, 'building the envtest binaries took too long');
  await ensureBinaries();
  t.timeout(120_000);
  cp = await startControlPlane();
  await installCrds(cp);
  await createNamespaces(cp, [OPERATOR_NS, NS]);
});

test.after.always(async () => {
  for (const o of operators) await o.stop().catch(() => undefined);
  await cp?.stop();
});

const start = async (identity: string) => {
  const mgr = await startOperator({
    kubeconfig: cp!.kubeconfigPath,
    logger: logger.child({ instance: identity }),
    namespace: OPERATOR_NS,
    identity,
    leaderElection: { namespace: OPERATOR_NS, name: 'kube-kmip-operator', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 },
    backoff: { baseMs: 50, maxMs: 2000 },
  });
  operators.push(mgr);
  return mgr;
};

test('restart in the middle of 100 credentials: all converge Ready, one certificate each', async (t) => {
  t.timeout(240_000);
  const client = KubeClient.load(cp!.kubeconfigPath);
  t.teardown(() => client.close());
  const first = await start('first');
  const load = await applyCredentials(client, NS, COUNT);
  t.teardown(() => load.stop());
  // Stop the first instance once some, not all, have been issued.
  for (let i = 0; load.serials.size < 10 && i < 600; i++) await sleep(50);
  const issuedBefore = load.serials.size;
  await first.stop();
  t.log(`first instance stopped after ${issuedBefore} of ${COUNT} Secrets`);
  t.true(issuedBefore < COUNT, 'the restart happened in the middle');
  await start('second');
  const deadline = Date.now() + 200_000;
  while (load.ready() < COUNT && Date.now() < deadline) await sleep(200);
  t.is(load.ready(), COUNT, 'every credential Ready');
  t.is(load.serials.size, COUNT, 'every credential has its Secret');
  const duplicated = [...load.serials].filter(([, s]) => s.size !== 1).map(([n, s]) => `${n}: ${[...s].join(', ')}`);
  t.deepEqual(duplicated, [], 'one certificate per credential');
  // And status names the certificate its Secret holds.
  for (const c of load.credentials()) t.true(load.serials.get(c.metadata.name!)?.has(c.status?.serialNumber ?? ''), c.metadata.name);
});
