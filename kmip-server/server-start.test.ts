import test from 'ava';
import net from 'node:net';
import { pino } from 'pino';
import { createRootCa, issueServerCertificate } from '../operator/pki/index.ts';
import { MemoryStore } from './store/memory.ts';
import { StaticPolicySource } from './policy/model.ts';
import { policyFromResources } from './policy/resources.ts';
import { startKmipServer } from './server.ts';

/** A port something else holds for the test's duration. */
async function takenPort(t: { teardown(f: () => void): void }): Promise<number> {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => blocker.close());
  return (blocker.address() as net.AddressInfo).port;
}

/** Whether a port can be bound now (nothing left listening on it). */
async function free(port: number): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

for (const where of ['a second KMIP listener', 'the HTTPS listener', 'the metrics listener'] as const) {
  test(`a port in use for ${where}: the start fails and leaves no listener open`, async (t) => {
    const ca = await createRootCa({ commonName: 'start test CA' });
    const cert = await issueServerCertificate(ca, { ipAddresses: ['127.0.0.1'] });
    const taken = await takenPort(t);
    // The first listener's port: chosen free, then handed to the server.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const first = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const bad = { host: '127.0.0.1', port: taken };
    const err = await t.throwsAsync(startKmipServer({
      listen: [{ host: '127.0.0.1', port: first }, ...(where === 'a second KMIP listener' ? [bad] : [])],
      ...(where === 'the HTTPS listener' ? { httpListen: [bad] } : {}),
      ...(where === 'the metrics listener' ? { metricsListen: bad } : {}),
      tls: { certPem: cert.certificatePem, keyPem: cert.privateKeyPem, caPem: ca.certificatePem },
      store: new MemoryStore(),
      policy: new StaticPolicySource(policyFromResources([]).snapshot),
      logger: pino({ level: 'silent' }),
    }));
    t.regex(err!.message, /EADDRINUSE/);
    t.true(await free(first), 'the listener that had started is closed again');
  });
}
