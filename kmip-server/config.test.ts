import test from 'ava';
import { parseCli } from './config.ts';
import { DEFAULT_SERVER_LIMITS, LEGACY_TLS12_CIPHERS } from './server.ts';
import { DEFAULT_ASYNC_OPTIONS } from './async/pending.ts';

test('limits come from flags, defaults otherwise', (t) => {
  const c = parseCli(['dev', '--max-message-bytes', '65536', '--max-depth', '8', '--max-batch-items', '4', '--message-timeout-ms', '2000']);
  t.is(c.limits.maxMessageBytes, 65536);
  t.is(c.limits.maxDepth, 8);
  t.is(c.limits.maxBatchItems, 4);
  t.is(c.limits.messageTimeoutMs, 2000);
  t.is(c.limits.maxConnections, DEFAULT_SERVER_LIMITS.maxConnections);
});

test('listen addresses, HTTPS binding and legacy ciphers', (t) => {
  const c = parseCli(['serve', '--listen', '0.0.0.0:5696', '--listen', '[::1]:15696', '--http-listen', '127.0.0.1:8443', '--legacy-ciphers']);
  t.deepEqual(c.listen, [{ host: '0.0.0.0', port: 5696 }, { host: '::1', port: 15696 }]);
  t.deepEqual(c.httpListen, [{ host: '127.0.0.1', port: 8443 }]);
  t.true(c.ciphers.endsWith(LEGACY_TLS12_CIPHERS));
});

test('bad input is a clear error', (t) => {
  t.throws(() => parseCli(['dev', '--max-depth', 'deep']), { message: /--max-depth must be a non-negative integer/ });
  t.throws(() => parseCli(['dev', '--tls-min-version', 'SSLv3']), { message: /TLSv1.2 or TLSv1.3/ });
  t.throws(() => parseCli(['frobnicate']), { message: /unknown command/ });
  // A port must be written out and fit in 16 bits; an empty one used to mean "any free port".
  t.throws(() => parseCli(['dev', '--listen', '127.0.0.1:']), { message: /--listen: "" is not a port/ });
  t.throws(() => parseCli(['dev', '--listen', '127.0.0.1:70000']), { message: /--listen: "70000" is not a port/ });
  t.throws(() => parseCli(['dev', '--port', '5696x']), { message: /--port: "5696x" is not a port/ });
  t.throws(() => parseCli(['dev', '--http-port=-1']), { message: /--http-port: "-1" is not a port/ });
  t.deepEqual(parseCli(['dev', '--listen', '[::1]:0']).listen, [{ host: '::1', port: 0 }]);
  t.throws(() => parseCli(['dev', '--listen', '::1:5696']), { message: /--listen ::1:5696: expected HOST:PORT/ }, 'IPv6 needs brackets');
  t.throws(() => parseCli(['dev', '--notify-endpoint', 'localhost:70000']), { message: /--notify-endpoint: "70000" is not a port/ });
});

test('asynchronous processing settings come from flags, defaults otherwise', (t) => {
  const c = parseCli(['serve', '--async-start-delay-ms', '250', '--async-max-total', '0']);
  t.is(c.async.startDelayMs, 250);
  t.is(c.async.maxTotal, 0);
  t.is(c.async.maxPerClient, DEFAULT_ASYNC_OPTIONS.maxPerClient);
  t.is(c.async.resultTtlMs, DEFAULT_ASYNC_OPTIONS.resultTtlMs);
  t.throws(() => parseCli(['dev', '--async-max-per-client', 'many']), { message: /--async-max-per-client must be a non-negative integer/ });
});

test('--metrics-listen: off unless given, HOST:PORT, never a KMIP listener\'s port', (t) => {
  t.is(parseCli(['serve']).metricsListen, undefined);
  t.deepEqual(parseCli(['serve', '--metrics-listen', '0.0.0.0:9464']).metricsListen, { host: '0.0.0.0', port: 9464 });
  t.deepEqual(parseCli(['dev', '--metrics-listen', '[::1]:0']).metricsListen, { host: '::1', port: 0 });
  t.throws(() => parseCli(['serve', '--metrics-listen', '9464']), { message: /--metrics-listen 9464: expected HOST:PORT/ });
  t.throws(() => parseCli(['serve', '--metrics-listen', 'localhost:99999']), { message: /--metrics-listen: "99999" is not a port/ });
  t.throws(() => parseCli(['serve', '--listen', '0.0.0.0:5696', '--metrics-listen', '127.0.0.1:5696']), { message: /KMIP listener's/ });
  t.throws(() => parseCli(['dev', '--http-port', '8443', '--metrics-listen', '127.0.0.1:8443']), { message: /KMIP listener's/ });
});
