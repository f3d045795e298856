import test from 'ava';
import { ConfigError, parseConfig } from './config.ts';

test('defaults: leader election on, metrics on 8080, namespace from POD_NAMESPACE', (t) => {
  const c = parseConfig([], { POD_NAMESPACE: 'kmip-system' });
  t.is(c.namespace, 'kmip-system');
  t.true(c.leaderElect);
  t.is(c.metricsPort, 8080);
  t.is(c.caSecretName, 'kube-kmip-ca');
  t.deepEqual(c.caKeySpec, { type: 'ec', curve: 'P-256' });
  t.is(c.leaseDurationMs, 15_000);
  t.is(c.kubeconfig, undefined);
});

test('flags override defaults; --no-leader-elect turns election off', (t) => {
  const c = parseConfig(['--kubeconfig', '/k', '--namespace', 'x', '--no-leader-elect', '--metrics-port', '0', '--ca-key-type', 'rsa-3072', '--resync-period', '1m'], {});
  t.is(c.kubeconfig, '/k');
  t.is(c.namespace, 'x');
  t.false(c.leaderElect);
  t.is(c.metricsPort, 0);
  t.deepEqual(c.caKeySpec, { type: 'rsa', bits: 3072 });
  t.is(c.resyncMs, 60_000);
});

test('mistakes are refused with the flag named', (t) => {
  t.throws(() => parseConfig(['--metrics-port', 'http'], {}), { instanceOf: ConfigError, message: /--metrics-port/ });
  t.throws(() => parseConfig(['--lease-duration', '5s', '--renew-deadline', '10s'], {}), { instanceOf: ConfigError, message: /renew-deadline/ });
  t.throws(() => parseConfig(['--ca-key-type', 'dsa'], {}), { instanceOf: ConfigError, message: /--ca-key-type/ });
  t.throws(() => parseConfig(['--nope'], {}), { instanceOf: ConfigError });
});
