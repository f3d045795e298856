/**
 * The KMIP server the operator runs: its configuration, read from a YAML file (`kmip-operator
 * --server-config PATH`; the Helm chart renders it from `.Values.server` into a ConfigMap). The
 * format is documented in docs/server-config.md; every key is optional except `image`, and an
 * unknown or misspelled key is an error that names it, so a typo never silently means a default.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_ASYNC_OPTIONS, type AsyncOptions } from '../../kmip-server/async/pending.ts';
import { parseKeySpec, type KeySpec } from '../pki/index.ts';
import { parseDuration } from '../runtime/duration.ts';

export type StorageType = 'sqlite' | 'configmap';

export interface ServerConfig {
  name: string;
  serviceAccountName: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets: string[];
  replicas: number;
  /** namespace: the ConfigMap store's ("" = the operator's namespace). */
  storage: { type: StorageType; size: string; storageClassName: string; namespace: string };
  service: { type: 'ClusterIP' | 'NodePort' | 'LoadBalancer'; port: number; annotations: Record<string, string> };
  certificate: { hostnames: string[]; ipAddresses: string[]; keyType: KeySpec; keyTypeName: string; durationMs: number };
  tls: { minVersion: 'TLSv1.2' | 'TLSv1.3'; tls12Ciphers: string; legacyCiphers: boolean };
  limits: {
    maxMessageBytes: number; maxConnections: number; idleTimeoutMs: number; handshakeTimeoutMs: number; messageTimeoutMs: number;
  };
  /**
   * Asynchronous requests (Operation Pending, Poll, Cancel; docs/clients.md): the server's --async-* flags. Results live
   * in the memory of one replica; maxTotal 0 turns asynchronous processing off.
   */
  async: Pick<AsyncOptions, 'startDelayMs' | 'maxPerClient' | 'maxTotal' | 'resultTtlMs' | 'maxResultBytes'>;
  /** "" = all namespaces. */
  watchNamespace: string;
  http: { enabled: boolean; port: number };
  /** Prometheus metrics over plain HTTP (GET /metrics, --metrics-listen); on by default. */
  metrics: { enabled: boolean; port: number };
  logLevel: string;
  resources: Record<string, unknown>;
  podAnnotations: Record<string, string>;
  podLabels: Record<string, string>;
  nodeSelector: Record<string, string>;
  tolerations: unknown[];
  affinity: Record<string, unknown>;
  priorityClassName: string;
  podDisruptionBudget: { enabled: boolean; maxUnavailable: number };
  /**
   * CA certificates (PEM) of other issuers whose client certificates the server accepts, e.g. the
   * CA of a cert-manager Issuer named by credentials' spec.issuerRef; added to the client-CA bundle.
   */
  trustedIssuersPem: string;
}

export class ServerConfigError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one level of the document: each accessor removes its key, and `done` rejects leftovers. */
class Fields {
  readonly #path: string;
  readonly #rest: Obj;
  constructor(path: string, value: unknown) {
    if (value === undefined || value === null) value = {};
    if (!isObj(value)) throw new ServerConfigError(`${path || 'the server configuration'} must be a mapping`);
    this.#path = path;
    this.#rest = { ...value };
  }
  #take(key: string): unknown {
    const v = this.#rest[key];
    delete this.#rest[key];
    return v === null ? undefined : v;
  }
  #where(key: string): string {
    return this.#path ? `${this.#path}.${key}` : key;
  }
  string(key: string, dflt: string, check?: (s: string) => string | undefined): string {
    const v = this.#take(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'string') throw new ServerConfigError(`${this.#where(key)} must be a string`);
    const problem = check?.(v);
    if (problem) throw new ServerConfigError(`${this.#where(key)}: ${problem}`);
    return v;
  }
  oneOf<T extends string>(key: string, dflt: T, allowed: readonly T[]): T {
    const v = this.string(key, dflt);
    if (!(allowed as readonly string[]).includes(v)) throw new ServerConfigError(`${this.#where(key)} must be one of ${allowed.join(', ')}; got "${v}"`);
    return v as T;
  }
  int(key: string, dflt: number, min: number, max: number): number {
    const v = this.#take(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ServerConfigError(`${this.#where(key)} must be an integer from ${min} to ${max}; got ${JSON.stringify(v)}`);
    }
    return v;
  }
  bool(key: string, dflt: boolean): boolean {
    const v = this.#take(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw new ServerConfigError(`${this.#where(key)} must be true or false`);
    return v;
  }
  strings(key: string, check?: (s: string) => string | undefined): string[] {
    const v = this.#take(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ServerConfigError(`${this.#where(key)} must be a list of strings`);
    for (const s of v as string[]) {
      const problem = check?.(s);
      if (problem) throw new ServerConfigError(`${this.#where(key)}: ${problem}`);
    }
    return v as string[];
  }
  stringMap(key: string): Record<string, string> {
    const v = this.#take(key);
    if (v === undefined) return {};
    if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new ServerConfigError(`${this.#where(key)} must be a mapping of strings to strings`);
    return v as Record<string, string>;
  }
  /** Passed to Kubernetes as is (resources, affinity): the API server validates them. */
  opaqueMap(key: string): Obj {
    const v = this.#take(key);
    if (v === undefined) return {};
    if (!isObj(v)) throw new ServerConfigError(`${this.#where(key)} must be a mapping`);
    return v;
  }
  opaqueList(key: string): unknown[] {
    const v = this.#take(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new ServerConfigError(`${this.#where(key)} must be a list`);
    return v;
  }
  nested(key: string): Fields {
    return new Fields(this.#where(key), this.#take(key));
  }
  done(): void {
    const left = Object.keys(this.#rest);
    if (left.length) throw new ServerConfigError(`unknown key${left.length > 1 ? 's' : ''} ${left.map((k) => this.#where(k)).join(', ')}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

export function parseServerConfig(text: string): ServerConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ServerConfigError(`not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const f = new Fields('', doc);
  // The headless Service is <name>-headless, and pods <name>-N: 63 - "-headless".
  const name = f.string('name', 'kube-kmip-server', (s) => (DNS_LABEL.test(s) && s.length <= 52 ? undefined : 'must be a DNS label of at most 52 characters'));
  const serviceAccountName = f.string('serviceAccountName', name, (s) => (DNS_NAME.test(s) ? undefined : 'not a valid name'));
  const image = f.string('image', '');
  if (!image) throw new ServerConfigError('image is required (the kube-kmip image the server pods run)');
  const imagePullPolicy = f.oneOf('imagePullPolicy', 'IfNotPresent', ['Always', 'IfNotPresent', 'Never'] as const);
  const imagePullSecrets = f.strings('imagePullSecrets');
  const replicas = f.int('replicas', 1, 0, 100);

  const st = f.nested('storage');
  const storage = {
    type: st.oneOf('type', 'sqlite', ['sqlite', 'configmap'] as const),
    size: st.string('size', '1Gi', (s) => (QUANTITY.test(s) ? undefined : `not a quantity: "${s}" (e.g. 1Gi)`)),
    storageClassName: st.string('storageClassName', ''),
    namespace: st.string('namespace', '', (v) => (v === '' || DNS_LABEL.test(v) ? undefined : 'not a namespace name')),
  };
  st.done();
  if (storage.type === 'sqlite' && replicas > 1) {
    throw new ServerConfigError(`storage.type sqlite keeps the objects on one pod's volume, so replicas must be 0 or 1 (got ${replicas}); use storage.type configmap for more`);
  }

  const sv = f.nested('service');
  const service = {
    type: sv.oneOf('type', 'ClusterIP', ['ClusterIP', 'NodePort', 'LoadBalancer'] as const),
    port: sv.int('port', 5696, 1, 65535),
    annotations: sv.stringMap('annotations'),
  };
  sv.done();

  const c = f.nested('certificate');
  const keyTypeName = c.string('keyType', 'ec-p256');
  let keyType: KeySpec;
  try {
    keyType = parseKeySpec(keyTypeName);
  } catch (err) {
    throw new ServerConfigError(`certificate.keyType: ${(err as Error).message}`);
  }
  const durationText = c.string('duration', '2160h');
  let durationMs: number;
  try {
    durationMs = parseDuration(durationText);
  } catch (err) {
    throw new ServerConfigError(`certificate.duration: ${(err as Error).message}`);
  }
  if (durationMs < 60 * 60_000) throw new ServerConfigError(`certificate.duration must be at least 1h; got ${durationText}`);
  const certificate = {
    hostnames: c.strings('hostnames', (s) => (DNS_NAME.test(s) ? undefined : `not a DNS name: "${s}"`)),
    ipAddresses: c.strings('ipAddresses', (s) => (isIP(s) ? undefined : `not an IP address: "${s}"`)),
    keyType, keyTypeName, durationMs,
  };
  c.done();

  const t = f.nested('tls');
  const tls = {
    minVersion: t.oneOf('minVersion', 'TLSv1.2', ['TLSv1.2', 'TLSv1.3'] as const),
    tls12Ciphers: t.string('tls12Ciphers', ''),
    legacyCiphers: t.bool('legacyCiphers', false),
  };
  t.done();

  const l = f.nested('limits');
  const limits = {
    maxMessageBytes: l.int('maxMessageBytes', 1_048_576, 1024, 64 * 1_048_576),
    maxConnections: l.int('maxConnections', 1024, 1, 1_000_000),
    idleTimeoutMs: l.int('idleTimeoutMs', 300_000, 1000, 86_400_000),
    handshakeTimeoutMs: l.int('handshakeTimeoutMs', 10_000, 100, 600_000),
    messageTimeoutMs: l.int('messageTimeoutMs', 30_000, 100, 600_000),
  };
  l.done();

  // The server's own defaults (kmip-server/async/pending.ts), so an absent key means what the bare server does.
  const a = f.nested('async');
  const asyncOptions = {
    startDelayMs: a.int('startDelayMs', DEFAULT_ASYNC_OPTIONS.startDelayMs, 0, 600_000),
    maxPerClient: a.int('maxPerClient', DEFAULT_ASYNC_OPTIONS.maxPerClient, 1, 1_000_000),
    maxTotal: a.int('maxTotal', DEFAULT_ASYNC_OPTIONS.maxTotal, 0, 1_000_000),
    resultTtlMs: a.int('resultTtlMs', DEFAULT_ASYNC_OPTIONS.resultTtlMs, 1000, 86_400_000),
    maxResultBytes: a.int('maxResultBytes', DEFAULT_ASYNC_OPTIONS.maxResultBytes, 0, 16 * 1024 * 1024 * 1024),
  };
  a.done();

  const watchNamespace = f.string('watchNamespace', '', (s) => (s === '' || DNS_LABEL.test(s) ? undefined : 'not a namespace name'));
  const h = f.nested('http');
  const http = { enabled: h.bool('enabled', false), port: h.int('port', 5697, 1, 65535) };
  h.done();
  if (http.enabled && http.port === service.port) throw new ServerConfigError(`http.port must differ from service.port (both ${http.port})`);
  const m = f.nested('metrics');
  const metrics = { enabled: m.bool('enabled', true), port: m.int('port', 9464, 1, 65535) };
  m.done();
  // Plain HTTP never shares a port with a mutual-TLS KMIP listener.
  if (metrics.enabled && metrics.port === service.port) throw new ServerConfigError(`metrics.port must differ from service.port (both ${metrics.port})`);
  if (metrics.enabled && http.enabled && metrics.port === http.port) throw new ServerConfigError(`metrics.port must differ from http.port (both ${metrics.port})`);
  const logLevel = f.oneOf('logLevel', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const);
  const resources = f.opaqueMap('resources');
  const podAnnotations = f.stringMap('podAnnotations');
  const podLabels = f.stringMap('podLabels');
  const nodeSelector = f.stringMap('nodeSelector');
  const tolerations = f.opaqueList('tolerations');
  const affinity = f.opaqueMap('affinity');
  const priorityClassName = f.string('priorityClassName', '');
  const trustedIssuersPem = f.strings('trustedIssuers').map((pem, i) => caCertificatesPem(pem, `trustedIssuers[${i}]`)).join('');
  const p = f.nested('podDisruptionBudget');
  const podDisruptionBudget = { enabled: p.bool('enabled', true), maxUnavailable: p.int('maxUnavailable', 1, 1, 100) };
  p.done();
  f.done();
  return {
    name, serviceAccountName, image, imagePullPolicy, imagePullSecrets, replicas, storage, service, certificate, tls, limits, async: asyncOptions,
    watchNamespace, http, metrics, logLevel, resources, podAnnotations, podLabels, nodeSelector, tolerations, affinity, priorityClassName,
    podDisruptionBudget, trustedIssuersPem,
  };
}

/** The CA certificates of a PEM text, normalised; anything else in it is an error. */
function caCertificatesPem(text: string, where: string): string {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ServerConfigError(`${where}: no PEM certificate in it`);
  return blocks.map((b, j) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(b);
    } catch (err) {
      throw new ServerConfigError(`${where}: certificate ${j + 1} does not parse: ${(err as Error).message}`);
    }
    if (!cert.ca) throw new ServerConfigError(`${where}: certificate ${j + 1} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate`);
    return `${cert.toString().trimEnd()}\n`;
  }).join('');
}
