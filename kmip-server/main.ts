#!/usr/bin/env node
import { readFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { parseCli, USAGE, type CliConfig } from './config.ts';
import { watchTlsFiles } from './tls-reload.ts';
import { startKmipServer, type RunningServer } from './server.ts';
import { SqliteStore } from './store/sqlite.ts';
import { ConfigMapStore } from './store/configmap.ts';
import type { ObjectStore } from './store/types.ts';
import { kekFromEnv, loadOrCreateKek, parseKekFile } from './store/kek.ts';
import { FilePolicySource } from './policy/files.ts';
import { KubernetesPolicySource } from './policy/kubernetes.ts';
import { notifyingWrites, ScopeStatusReporter } from './k8s/scope-status.ts';
import type { PolicySource } from './policy/model.ts';
import { KubeClient } from './k8s/client.ts';
import { contextNamespace, inClusterNamespace, loadKubeConfig } from './k8s/kubeconfig.ts';
import { ensureDevEnvironment } from './dev/bootstrap.ts';
import { metricsUrl } from './metrics.ts';

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
  const notify = cfg.notifyEndpoint !== undefined ? { notifyEndpoint: cfg.notifyEndpoint } : {};
  let env = await ensureDevEnvironment({ dataDir: cfg.dataDir, host: l.host, port: l.port || 5696, ...notify });
  const kek = process.env.KMIP_KEK ? kekFromEnv('KMIP_KEK') : await loadOrCreateKek(cfg.kekFile ?? env.kekPath);
  const store = await SqliteStore.open({ path: join(cfg.dataDir, 'kmip.db'), kek });
  const policy = await FilePolicySource.open(cfg.manifests ?? env.manifestsDir);
  policy.on('error', (err) => log.error({ err }, 'policy reload failed'));
  for (const p of policy.problems) log.warn(p, 'policy problem');
  const server = await startKmipServer({
    listen: cfg.listen,
    tls: { certPem: env.serverCertPem, keyPem: env.serverKeyPem, caPem: env.caPem, minVersion: cfg.tlsMinVersion, ciphers: cfg.ciphers },
    limits: cfg.limits,
    async: cfg.async,
    store,
    policy,
    logger: log,
    httpListen: cfg.httpListen,
    ...(cfg.metricsListen ? { metricsListen: cfg.metricsListen } : {}),
  });
  const actual = server.addresses[0]!;
  if (actual.port !== l.port) env = await ensureDevEnvironment({ dataDir: cfg.dataDir, host: l.host, port: actual.port, ...notify });
  const rel = relative(process.cwd(), env.credentialDir);
  const creds = rel && !rel.startsWith('..') ? rel : env.credentialDir;
  // Before the listening line, which tells whoever waits for it that everything is up.
  if (server.metricsAddress) process.stdout.write(`kmip-server (dev) metrics on ${metricsUrl(server.metricsAddress)}\n`);
  process.stdout.write(
    `kmip-server (dev) listening on ${actual.host}:${actual.port}; credentials in ${creds}/ (ca.pem, cert.pem, key.pem, client.pem; PyKMIP: config_file=${creds}/pykmip.conf)\n`,
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
  if (cfg.policy === 'files' && !cfg.manifests) throw new Error('serve needs --manifests DIR, or --policy kubernetes');
  const kube = cfg.policy === 'kubernetes' || cfg.store === 'configmap' ? await kubeClient(cfg) : undefined;
  let store: ObjectStore | undefined;
  let policy: PolicySource | undefined;
  try {
    if (kube) {
      const ns = cfg.namespace ?? inClusterNamespace() ?? contextNamespace(kube.kc);
      if (cfg.store === 'configmap') {
        const storeNs = cfg.storeNamespace ?? ns;
        if (!storeNs) throw new Error('--store configmap needs --store-namespace or --namespace (or to run in a pod)');
        store = await ConfigMapStore.open({ client: kube.client, namespace: storeNs, kek: await kekThatExists(cfg), logger: log });
        log.info({ namespace: storeNs }, 'object store: ConfigMaps');
      }
      if (cfg.policy === 'kubernetes') {
        if (!cfg.allNamespaces && !ns) throw new Error('--policy kubernetes needs --namespace NS or --all-namespaces (or to run in a pod)');
        const k = KubernetesPolicySource.start({ client: kube.client, ...(cfg.allNamespaces ? {} : { namespace: ns! }), logger: log });
        policy = k;
        const waiting = setInterval(() => log.warn({ namespace: cfg.allNamespaces ? '*' : ns }, 'still waiting for the first list of KmipScope/KmipRole/KmipClientCredential'), 15_000);
        try {
          await k.ready();
        } finally {
          clearInterval(waiting);
        }
      }
    }
    if (!store) {
      const kek = process.env.KMIP_KEK ? kekFromEnv('KMIP_KEK') : await loadOrCreateKek(cfg.kekFile ?? join(cfg.dataDir, 'kek'));
      await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
      store = await SqliteStore.open({ path: join(cfg.dataDir, 'kmip.db'), kek });
    }
    if (!policy) {
      const files = await FilePolicySource.open(cfg.manifests!);
      files.on('error', (err) => log.error({ err }, 'policy reload failed'));
      for (const p of files.problems) log.warn(p, 'policy problem');
      policy = files;
    }
  } catch (err) {
    await policy?.close();
    await store?.close();
    kube?.client.close();
    throw err;
  }
  // With the policy from the cluster, the server reports each KmipScope's object count in its
  // status and deletes the objects of scopes deleted with deletionPolicy Force (started below).
  let reporter: ScopeStatusReporter | undefined;
  const served = policy instanceof KubernetesPolicySource ? notifyingWrites(store, () => reporter?.written()) : store;
  const material = {
    certPem: await readFile(cfg.tlsCert, 'utf8'),
    keyPem: await readFile(cfg.tlsKey, 'utf8'),
    caPem: await readFile(cfg.clientCa, 'utf8'),
  };
  const server = await startKmipServer({
    listen: cfg.listen,
    tls: {
      ...material,
      minVersion: cfg.tlsMinVersion,
      ciphers: cfg.ciphers,
    },
    limits: cfg.limits,
    async: cfg.async,
    store: served,
    policy,
    logger: log,
    httpListen: cfg.httpListen,
    ...(cfg.metricsListen ? { metricsListen: cfg.metricsListen } : {}),
  });
  if (server.metricsAddress) process.stdout.write(`kmip-server metrics on ${metricsUrl(server.metricsAddress)}\n`);
  for (const h of server.httpAddresses) process.stdout.write(`kmip-server HTTPS POST /kmip on ${h.host}:${h.port}\n`);
  for (const a of server.addresses) process.stdout.write(`kmip-server listening on ${a.host}:${a.port}\n`);
  if (kube && policy instanceof KubernetesPolicySource) {
    reporter = ScopeStatusReporter.start({ client: kube.client, store, scopes: policy, intervalMs: cfg.scopeReportIntervalMs, logger: log });
  }
  const reloader = cfg.tlsReloadIntervalMs > 0
    ? watchTlsFiles(server, { cert: cfg.tlsCert, key: cfg.tlsKey, ca: cfg.clientCa }, material, { intervalMs: cfg.tlsReloadIntervalMs, logger: log })
    : undefined;
  const [s, p] = [store, policy];
  return {
    ...server,
    async close() {
      reloader?.stop();
      await server.close();
      await reporter?.close();
      await p.close();
      await s.close();
      kube?.client.close();
    },
  };
}

async function kubeClient(cfg: CliConfig) {
  const kc = loadKubeConfig(cfg.kubeconfig);
  return { kc, client: await KubeClient.fromKubeConfig(kc) };
}

/**
 * The KEK for a store shared through the cluster: KMIP_KEK or an existing --kek-file (a mounted
 * Secret). Never generated here: a key made up on one pod's disk would be lost with the pod, and
 * every replica must hold the same one.
 */
async function kekThatExists(cfg: CliConfig): Promise<Uint8Array> {
  if (process.env.KMIP_KEK) return kekFromEnv('KMIP_KEK');
  if (!cfg.kekFile) throw new Error('--store configmap needs the key-encryption key in KMIP_KEK or --kek-file (e.g. a mounted Secret)');
  try {
    return parseKekFile(await readFile(cfg.kekFile));
  } catch (err) {
    throw new Error(`--kek-file ${cfg.kekFile}: ${(err as Error).message}`);
  }
}

main().catch((err) => {
  process.stderr.write(`kmip-server: ${(err as Error).message}\n`);
  process.exit(1);
});
