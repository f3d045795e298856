/**
 * kmip-operator's command line: flags, their defaults (some from the environment a Deployment
 * gives a pod), and the usage text.
 */
import { parseArgs } from 'node:util';
import { parseKeySpec, type KeySpec } from './pki/index.ts';
import { parseDuration } from './runtime/duration.ts';
import { DEFAULT_CA_SECRET } from './controllers/ca.ts';

export interface OperatorConfig {
  /** Path of a kubeconfig; undefined: $KUBECONFIG, in-cluster, or ~/.kube/config. */
  kubeconfig?: string;
  /** The operator's namespace: the CA Secret and the leader Lease live there. */
  namespace: string;
  caSecretName: string;
  caKeySpec: KeySpec;
  /** Least time a CA rotation trusts both CAs before switching, and again before dropping the old one. */
  caRotationOverlapMs: number;
  leaderElect: boolean;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Port of /healthz /readyz /metrics; 0 picks a free one. */
  metricsPort: number;
  metricsHost: string;
  resyncMs: number;
  workers: number;
  logLevel: string;
  /** YAML file of the KMIP server the operator runs (docs/server-config.md); none when undefined. */
  serverConfigPath?: string;
  help: boolean;
}

export const USAGE = `Usage: kmip-operator [flags]

The kube-kmip operator: reconciles KmipScope, KmipRole and KmipClientCredential resources, keeps the
kube-kmip CA in a Secret and issues client certificates into Secrets.

Flags:
  --kubeconfig PATH            kubeconfig to use (default: $KUBECONFIG, in-cluster config, ~/.kube/config)
  --namespace NS               the operator's namespace, for the CA Secret and the leader Lease
                               (default: $POD_NAMESPACE, else kube-kmip)
  --ca-secret NAME             the CA Secret (default: ${DEFAULT_CA_SECRET}); created on first start
  --ca-key-type SPEC           key of a CA created on first start: ec-p256 (default), ec-p384, ec-p521,
                               rsa-2048, rsa-3072, rsa-4096
  --ca-rotation-overlap DURATION
                               during a CA rotation (annotate the CA Secret kubekmip.io/rotate=<any new
                               value>, or automatic when a third of the CA's lifetime is left): how long
                               the new CA is trusted before it signs, and the old one after (default: 24h)
  --leader-elect / --no-leader-elect
                               elect a leader through a Lease, so only one replica reconciles (default: on)
  --leader-election-id NAME    the Lease's name (default: kube-kmip-operator)
  --lease-duration DURATION    how long a lease lasts without renewal (default: 15s)
  --renew-deadline DURATION    how long the leader tries to renew before stepping down (default: 10s)
  --retry-period DURATION      between acquire/renew attempts (default: 2s)
  --metrics-port PORT          port of /healthz, /readyz and /metrics (default: 8080; 0 picks one)
  --metrics-host HOST          address they listen on (default: 0.0.0.0)
  --resync-period DURATION     full relist of every watched kind (default: 10m)
  --workers N                  reconciles in parallel per controller (default: 2)
  --server-config PATH         run the KMIP server described in this YAML file (docs/server-config.md):
                               StatefulSet, Services, PodDisruptionBudget, server certificate and KEK
                               in the operator's namespace (default: none; the chart sets it)
  --log-level LEVEL            fatal, error, warn, info, debug, trace (default: info)
  -h, --help                   show this text
`;

export class ConfigError extends Error {}

function duration(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new ConfigError(`--${flag}: ${(err as Error).message}`);
  }
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowNegative: true,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'ca-secret': { type: 'string', default: DEFAULT_CA_SECRET },
        'ca-key-type': { type: 'string', default: 'ec-p256' },
        'ca-rotation-overlap': { type: 'string', default: '24h' },
        'leader-elect': { type: 'boolean', default: true },
        'leader-election-id': { type: 'string', default: 'kube-kmip-operator' },
        'lease-duration': { type: 'string', default: '15s' },
        'renew-deadline': { type: 'string', default: '10s' },
        'retry-period': { type: 'string', default: '2s' },
        'metrics-port': { type: 'string', default: '8080' },
        'metrics-host': { type: 'string', default: '0.0.0.0' },
        'resync-period': { type: 'string', default: '10m' },
        workers: { type: 'string', default: '2' },
        'log-level': { type: 'string', default: 'info' },
        'server-config': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  let caKeySpec: KeySpec;
  try {
    caKeySpec = parseKeySpec(values['ca-key-type']);
  } catch (err) {
    throw new ConfigError(`--ca-key-type: ${(err as Error).message}`);
  }
  const logLevel = values['log-level'];
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new ConfigError(`--log-level: unknown level "${logLevel}"`);
  const cfg: OperatorConfig = {
    namespace: values.namespace ?? env['POD_NAMESPACE'] ?? 'kube-kmip',
    caSecretName: values['ca-secret'],
    caKeySpec,
    caRotationOverlapMs: duration('ca-rotation-overlap', values['ca-rotation-overlap']),
    leaderElect: values['leader-elect'],
    leaderElectionId: values['leader-election-id'],
    leaseDurationMs: duration('lease-duration', values['lease-duration']),
    renewDeadlineMs: duration('renew-deadline', values['renew-deadline']),
    retryPeriodMs: duration('retry-period', values['retry-period']),
    metricsPort: integer('metrics-port', values['metrics-port'], 0, 65535),
    metricsHost: values['metrics-host'],
    resyncMs: duration('resync-period', values['resync-period']),
    workers: integer('workers', values.workers, 1, 64),
    logLevel,
    help: values.help,
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values['server-config'] ? { serverConfigPath: values['server-config'] } : {}),
  };
  if (cfg.leaderElect && !(cfg.retryPeriodMs < cfg.renewDeadlineMs && cfg.renewDeadlineMs < cfg.leaseDurationMs)) {
    throw new ConfigError('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  return cfg;
}
