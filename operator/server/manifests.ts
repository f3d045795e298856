/**
 * The Kubernetes objects of the KMIP server, built from its configuration: pure functions, so a
 * test can compare them with what the API server holds and run the server process with the same
 * arguments the pod would get.
 */
import type { KubeObject } from '../runtime/client.ts';
import { MANAGED_BY_LABELS } from '../controllers/labels.ts';
import type { ServerConfig } from './config.ts';

/** Where the pod finds what the operator gives it. */
export const SERVER_PATHS = {
  tlsDir: '/etc/kube-kmip/tls',
  kekDir: '/etc/kube-kmip/kek',
  dataDir: '/var/lib/kube-kmip',
  main: '/app/kmip-server/main.ts',
} as const;

export const KEK_KEY = 'kek';
export const SERVER_COMPONENT = 'kmip-server';
/** Non-root uid of the image (distroless "nonroot"). */
export const SERVER_UID = 65532;

export const names = (cfg: Pick<ServerConfig, 'name'>) => ({
  statefulSet: cfg.name,
  service: cfg.name,
  headless: `${cfg.name}-headless`,
  pdb: cfg.name,
  tlsSecret: `${cfg.name}-tls`,
  kekSecret: `${cfg.name}-kek`,
});

/** The labels that select the server's pods (never change: a StatefulSet's selector is immutable). */
export function selectorLabels(cfg: Pick<ServerConfig, 'name'>): Record<string, string> {
  return { 'app.kubernetes.io/name': 'kube-kmip', 'app.kubernetes.io/instance': cfg.name, 'app.kubernetes.io/component': SERVER_COMPONENT };
}

export function objectLabels(cfg: Pick<ServerConfig, 'name'>): Record<string, string> {
  return { ...selectorLabels(cfg), ...MANAGED_BY_LABELS };
}

/** DNS names the server certificate carries: every name a client in the cluster can use, then the configured ones. */
export function serverDnsNames(cfg: ServerConfig, namespace: string): string[] {
  const n = names(cfg);
  const out: string[] = [];
  for (const svc of [n.service, n.headless]) {
    out.push(svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`);
  }
  // Each pod by name, through the headless Service.
  out.push(`*.${n.headless}.${namespace}.svc`, `*.${n.headless}.${namespace}.svc.cluster.local`);
  for (const h of cfg.certificate.hostnames) if (!out.includes(h)) out.push(h);
  return out;
}

/** The server's command line in the pod (after `node /app/kmip-server/main.ts`). */
export function serverArgs(cfg: ServerConfig, namespace: string): string[] {
  const args = [
    'serve',
    '--policy', 'kubernetes',
    ...(cfg.watchNamespace ? ['--namespace', cfg.watchNamespace] : ['--all-namespaces']),
    '--store', cfg.storage.type,
    ...(cfg.storage.type === 'sqlite' ? ['--data-dir', SERVER_PATHS.dataDir] : ['--store-namespace', cfg.storage.namespace || namespace]),
    '--listen', `0.0.0.0:${cfg.service.port}`,
    ...(cfg.http.enabled ? ['--http-listen', `0.0.0.0:${cfg.http.port}`] : []),
    ...(cfg.metrics.enabled ? ['--metrics-listen', `0.0.0.0:${cfg.metrics.port}`] : []),
    '--tls-cert', `${SERVER_PATHS.tlsDir}/tls.crt`,
    '--tls-key', `${SERVER_PATHS.tlsDir}/tls.key`,
    '--client-ca', `${SERVER_PATHS.tlsDir}/ca.crt`,
    '--kek-file', `${SERVER_PATHS.kekDir}/${KEK_KEY}`,
    '--tls-min-version', cfg.tls.minVersion,
    ...(cfg.tls.tls12Ciphers ? ['--tls12-ciphers', cfg.tls.tls12Ciphers] : []),
    ...(cfg.tls.legacyCiphers ? ['--legacy-ciphers'] : []),
    '--max-message-bytes', String(cfg.limits.maxMessageBytes),
    '--max-connections', String(cfg.limits.maxConnections),
    '--idle-timeout-ms', String(cfg.limits.idleTimeoutMs),
    '--handshake-timeout-ms', String(cfg.limits.handshakeTimeoutMs),
    '--message-timeout-ms', String(cfg.limits.messageTimeoutMs),
    '--async-start-delay-ms', String(cfg.async.startDelayMs),
    '--async-max-per-client', String(cfg.async.maxPerClient),
    '--async-max-total', String(cfg.async.maxTotal),
    '--async-result-ttl-ms', String(cfg.async.resultTtlMs),
    '--async-max-result-bytes', String(cfg.async.maxResultBytes),
    '--log-level', cfg.logLevel,
  ];
  return args;
}

/** The KMIP ports: what the client Service exposes (possibly a LoadBalancer, outside the cluster). */
function ports(cfg: ServerConfig): Array<{ name: string; port: number }> {
  return [{ name: 'kmip', port: cfg.service.port }, ...(cfg.http.enabled ? [{ name: 'kmip-https', port: cfg.http.port }] : [])];
}

/**
 * The KMIP ports and the plain-HTTP metrics port: the pod's and the headless Service's. Metrics stay
 * off the client Service, which may be a LoadBalancer; a scraper finds every pod through the headless
 * one (and a ServiceMonitor selecting both Services by label scrapes each pod once).
 */
function podPorts(cfg: ServerConfig): Array<{ name: string; port: number }> {
  return [...ports(cfg), ...(cfg.metrics.enabled ? [{ name: 'metrics', port: cfg.metrics.port }] : [])];
}

export function clientService(cfg: ServerConfig, namespace: string): KubeObject {
  const n = names(cfg);
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: {
      name: n.service, namespace, labels: objectLabels(cfg),
      ...(Object.keys(cfg.service.annotations).length ? { annotations: cfg.service.annotations } : {}),
    },
    spec: {
      type: cfg.service.type,
      selector: selectorLabels(cfg),
      ports: ports(cfg).map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' })),
    },
  } as KubeObject;
}

export function headlessService(cfg: ServerConfig, namespace: string): KubeObject {
  const n = names(cfg);
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: n.headless, namespace, labels: objectLabels(cfg) },
    spec: {
      clusterIP: 'None',
      // Peers and debugging reach a pod by name before it is ready.
      publishNotReadyAddresses: true,
      selector: selectorLabels(cfg),
      ports: podPorts(cfg).map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' })),
    },
  } as KubeObject;
}

export function podDisruptionBudget(cfg: ServerConfig, namespace: string): KubeObject {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
    metadata: { name: names(cfg).pdb, namespace, labels: objectLabels(cfg) },
    // maxUnavailable, not minAvailable: with one replica, minAvailable 1 would block every node drain.
    spec: { maxUnavailable: cfg.podDisruptionBudget.maxUnavailable, selector: { matchLabels: selectorLabels(cfg) } },
  } as KubeObject;
}

export function statefulSet(cfg: ServerConfig, namespace: string): KubeObject {
  const n = names(cfg);
  const sqlite = cfg.storage.type === 'sqlite';
  const probe = { tcpSocket: { port: 'kmip' }, periodSeconds: 10, timeoutSeconds: 3 };
  const container = {
    name: 'kmip-server',
    image: cfg.image,
    imagePullPolicy: cfg.imagePullPolicy,
    command: ['node', SERVER_PATHS.main],
    args: serverArgs(cfg, namespace),
    env: [
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    ports: podPorts(cfg).map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
    readinessProbe: { ...probe, initialDelaySeconds: 2 },
    livenessProbe: { ...probe, initialDelaySeconds: 15, failureThreshold: 6 },
    ...(Object.keys(cfg.resources).length ? { resources: cfg.resources } : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'tls', mountPath: SERVER_PATHS.tlsDir, readOnly: true },
      { name: 'kek', mountPath: SERVER_PATHS.kekDir, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      ...(sqlite ? [{ name: 'data', mountPath: SERVER_PATHS.dataDir }] : []),
    ],
  };
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: n.statefulSet, namespace, labels: objectLabels(cfg) },
    spec: {
      serviceName: n.headless,
      replicas: cfg.replicas,
      // SQLite: one pod, never two at once on the volume. ConfigMaps: replicas are peers.
      podManagementPolicy: sqlite ? 'OrderedReady' : 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(cfg) },
      template: {
        metadata: {
          labels: { ...cfg.podLabels, ...objectLabels(cfg) },
          ...(Object.keys(cfg.podAnnotations).length ? { annotations: cfg.podAnnotations } : {}),
        },
        spec: {
          serviceAccountName: cfg.serviceAccountName,
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true, runAsUser: SERVER_UID, runAsGroup: SERVER_UID, fsGroup: SERVER_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(cfg.imagePullSecrets.length ? { imagePullSecrets: cfg.imagePullSecrets.map((name) => ({ name })) } : {}),
          ...(Object.keys(cfg.nodeSelector).length ? { nodeSelector: cfg.nodeSelector } : {}),
          ...(cfg.tolerations.length ? { tolerations: cfg.tolerations } : {}),
          ...(Object.keys(cfg.affinity).length ? { affinity: cfg.affinity } : {}),
          ...(cfg.priorityClassName ? { priorityClassName: cfg.priorityClassName } : {}),
          containers: [container],
          volumes: [
            { name: 'tls', secret: { secretName: n.tlsSecret, defaultMode: 0o440 } },
            { name: 'kek', secret: { secretName: n.kekSecret, defaultMode: 0o440 } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
      ...(sqlite ? {
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        volumeClaimTemplates: [{
          metadata: { name: 'data', labels: objectLabels(cfg) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: cfg.storage.size } },
            ...(cfg.storage.storageClassName ? { storageClassName: cfg.storage.storageClassName } : {}),
          },
        }],
      } : {}),
    },
  } as KubeObject;
}
