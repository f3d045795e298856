#!/usr/bin/env node
/**
 * kmip-operator: the kube-kmip operator process (`kmip-operator --help`), and startOperator, the
 * same thing as a function for tests and embedding.
 *
 * RBAC it needs: get/list/watch on kmipscopes, kmiproles, kmipclientcredentials (and update/patch,
 * with their /status); get/list/watch/create/patch/delete on Secrets; create on
 * events.k8s.io Events; get/create/update on coordination.k8s.io Leases in its namespace; patch on
 * apps Deployments and StatefulSets (rollout restarts). With --server-config, in its own namespace:
 * create/patch/delete on apps StatefulSets, Services and policy PodDisruptionBudgets.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { ConfigError, USAGE, parseConfig, type OperatorConfig } from './config.ts';
import { registerControllers, type ControllersOptions } from './controllers/index.ts';
import { KubeClient } from './runtime/client.ts';
import { Manager, type ManagerOptions } from './runtime/manager.ts';
import { OperatorMetrics } from './runtime/metrics.ts';
import { parseServerConfig, type ServerConfig } from './server/config.ts';

export interface StartOperatorOptions {
  /** The cluster: a client, or a kubeconfig path (undefined: in-cluster / default). */
  client?: KubeClient;
  kubeconfig?: string;
  logger: Logger;
  namespace: string;
  identity?: string;
  leaderElection?: ManagerOptions['leaderElection'];
  probe?: ManagerOptions['probe'];
  informers?: ManagerOptions['informers'];
  workers?: number;
  backoff?: ManagerOptions['backoff'];
  metrics?: OperatorMetrics;
  controllers?: Omit<ControllersOptions, 'namespace'>;
}

/** Builds the manager with every controller and starts it (campaigning, when leader election is on). */
export async function startOperator(o: StartOperatorOptions): Promise<Manager> {
  const client = o.client ?? KubeClient.load(o.kubeconfig);
  const mgr = new Manager({
    client,
    logger: o.logger,
    ...(o.metrics ? { metrics: o.metrics } : {}),
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.leaderElection !== undefined ? { leaderElection: o.leaderElection } : {}),
    ...(o.probe !== undefined ? { probe: o.probe } : {}),
    ...(o.informers ? { informers: o.informers } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.backoff ? { backoff: o.backoff } : {}),
  });
  registerControllers(mgr, { ...o.controllers, namespace: o.namespace });
  await mgr.start();
  return mgr;
}

function optionsFromConfig(cfg: OperatorConfig, logger: Logger, server: ServerConfig | undefined): StartOperatorOptions {
  return {
    logger,
    namespace: cfg.namespace,
    ...(cfg.kubeconfig ? { kubeconfig: cfg.kubeconfig } : {}),
    leaderElection: cfg.leaderElect
      ? { namespace: cfg.namespace, name: cfg.leaderElectionId, leaseDurationMs: cfg.leaseDurationMs, renewDeadlineMs: cfg.renewDeadlineMs, retryPeriodMs: cfg.retryPeriodMs }
      : false,
    probe: { port: cfg.metricsPort, host: cfg.metricsHost },
    informers: { resyncMs: cfg.resyncMs },
    workers: cfg.workers,
    metrics: new OperatorMetrics({ processMetrics: true }),
    controllers: { caSecretName: cfg.caSecretName, caKeySpec: cfg.caKeySpec, caRotationOverlapMs: cfg.caRotationOverlapMs, ...(server ? { server } : {}) },
  };
}

async function main(argv: string[]): Promise<void> {
  let cfg: OperatorConfig;
  try {
    cfg = parseConfig(argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`kmip-operator: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (cfg.help) {
    process.stdout.write(USAGE);
    return;
  }
  let server: ServerConfig | undefined;
  if (cfg.serverConfigPath) {
    try {
      server = parseServerConfig(readFileSync(cfg.serverConfigPath, 'utf8'));
    } catch (err) {
      process.stderr.write(`kmip-operator: --server-config ${cfg.serverConfigPath}: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  const log = pino({ level: cfg.logLevel, base: { component: 'kmip-operator' } }, pino.destination(2));
  const mgr = await startOperator(optionsFromConfig(cfg, log, server));
  log.info({ namespace: cfg.namespace, leaderElection: cfg.leaderElect, probePort: mgr.probePort, identity: mgr.identity }, 'kmip-operator started');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A second signal, or a stop that hangs, ends the process anyway.
    setTimeout(() => process.exit(1), 30_000).unref();
    mgr.stop().then(() => process.exit(0), (err: Error) => {
      log.error({ err: err.message }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

// Run as a program (also through a symlink, as an npm-linked `kmip-operator` bin is), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`kmip-operator: ${err.message}\n`);
    process.exit(1);
  });
}
