#!/usr/bin/env node
import { readFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { parseCli, USAGE, type CliConfig } from './config.ts';
import { startKmipServer, type RunningServer } from './server.ts';
import { SqliteStore } from './store/sqlite.ts';
import { kekFromEnv, loadOrCreateKek } from './store/kek.ts';
import { FilePolicySource } from './policy/files.ts';
import { ensureDevEnvironment } from './dev/bootstrap.ts';

async function main(): Promise<void> {
  let cfg: CliConfig;
  try {
    cfg = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`kmip-server: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (cfg.command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  // Logs go to stderr as JSON; stdout carries only the one line that says how to connect.
  const log = pino({ level: cfg.logLevel, base: { component: 'kmip-server' } }, pino.destination(2));
  const server = cfg.command === 'dev' ? await dev(cfg, log) : await serve(cfg, log);
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

async function dev(cfg: CliConfig, log: pino.Logger): Promise<RunningServer & { close(): Promise<void> }> {
  const l = cfg.listen[0]!;
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  let env = await ensureDevEnvironment({ dataDir: cfg.dataDir, host: l.host, port: l.port || 5696 });
  const kek = process.env.KMIP_KEK ? kekFromEnv('KMIP_KEK') : await loadOrCreateKek(cfg.kekFile ?? env.kekPath);
  const store = await SqliteStore.open({ path: join(cfg.dataDir, 'kmip.db'), kek });
  const policy = await FilePolicySource.open(cfg.manifests ?? env.manifestsDir);
  policy.on('error', (err) => log.error({ err }, 'policy reload failed'));
  for (const p of policy.problems) log.warn(p, 'policy problem');
  const server = await startKmipServer({
    listen: cfg.listen,
    tls: { certPem: env.serverCertPem, keyPem: env.serverKeyPem, caPem: env.caPem, minVersion: cfg.tlsMinVersion, ciphers: cfg.ciphers },
    limits: cfg.limits,
    store,
    policy,
    logger: log,
    httpListen: cfg.httpListen,
  });
  const actual = server.addresses[0]!;
  if (actual.port !== l.port) env = await ensureDevEnvironment({ dataDir: cfg.dataDir, host: l.host, port: actual.port });
  const rel = relative(process.cwd(), env.credentialDir);
  const creds = rel && !rel.startsWith('..') ? rel : env.credentialDir;
  process.stdout.write(
    `kmip-server (dev) listening on ${actual.host}:${actual.port}; connect with ${creds}/{ca.pem,cert.pem,key.pem} or PYKMIP_CONF=${creds}/pykmip.conf\n`,
  );
  for (const h of server.httpAddresses) process.stdout.write(`kmip-server (dev) HTTPS POST /kmip on ${h.host}:${h.port}\n`);
  return {
    ...server,
    async close() {
      await server.close();
      await policy.close();
      await store.close();
    },
  };
}

async function serve(cfg: CliConfig, log: pino.Logger): Promise<RunningServer> {
  if (!cfg.tlsCert || !cfg.tlsKey || !cfg.clientCa) throw new Error('serve needs --tls-cert, --tls-key and --client-ca');
  if (!cfg.manifests) throw new Error('serve needs --manifests DIR (the Kubernetes policy source comes with the operator)');
  const kek = process.env.KMIP_KEK ? kekFromEnv('KMIP_KEK') : await loadOrCreateKek(cfg.kekFile ?? join(cfg.dataDir, 'kek'));
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  const store = await SqliteStore.open({ path: join(cfg.dataDir, 'kmip.db'), kek });
  const policy = await FilePolicySource.open(cfg.manifests);
  for (const p of policy.problems) log.warn(p, 'policy problem');
  const server = await startKmipServer({
    listen: cfg.listen,
    tls: {
      certPem: await readFile(cfg.tlsCert, 'utf8'),
      keyPem: await readFile(cfg.tlsKey, 'utf8'),
      caPem: await readFile(cfg.clientCa, 'utf8'),
      minVersion: cfg.tlsMinVersion,
      ciphers: cfg.ciphers,
    },
    limits: cfg.limits,
    store,
    policy,
    logger: log,
    httpListen: cfg.httpListen,
  });
  for (const h of server.httpAddresses) process.stdout.write(`kmip-server HTTPS POST /kmip on ${h.host}:${h.port}\n`);
  for (const a of server.addresses) process.stdout.write(`kmip-server listening on ${a.host}:${a.port}\n`);
  return {
    ...server,
    async close() {
      await server.close();
      await policy.close();
      await store.close();
    },
  };
}

main().catch((err) => {
  process.stderr.write(`kmip-server: ${(err as Error).message}\n`);
  process.exit(1);
});
