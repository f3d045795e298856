/**
 * Events (events.k8s.io/v1) for what a person looking at an object should see: a certificate
 * issued, a CSR refused, a deletion blocked. Repeats of the same event for the same object within
 * `dedupeMs` are dropped, so a reconcile that keeps failing the same way does not flood the
 * namespace. Recording never fails a reconcile: errors are logged.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from './client.ts';
import { Events } from './resources.ts';

export type EventType = 'Normal' | 'Warning';

export const REPORTING_CONTROLLER = 'kubekmip.io/kmip-operator';

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #dedupeMs: number;
  readonly #recent = new Map<string, number>();

  constructor(client: KubeClient, opts: { instance: string; logger: Logger; dedupeMs?: number }) {
    this.#client = client;
    this.#instance = opts.instance;
    this.#log = opts.logger;
    this.#dedupeMs = opts.dedupeMs ?? 10 * 60_000;
  }

  /** `action` is what the operator did or failed to do (Issue, Sign, Delete); `reason` why, in CamelCase. */
  async record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const { name, namespace, uid } = regarding.metadata;
    if (!name || !namespace) return;
    const dedupeKey = `${uid}\u0000${type}\u0000${reason}\u0000${note}`;
    const now = Date.now();
    const last = this.#recent.get(dedupeKey);
    if (last !== undefined && now - last < this.#dedupeMs) return;
    this.#recent.set(dedupeKey, now);
    if (this.#recent.size > 10_000) {
      for (const [k, t] of this.#recent) if (now - t >= this.#dedupeMs) this.#recent.delete(k);
    }
    try {
      await this.#client.create(Events, {
        metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
        eventTime: microTime(new Date(now)),
        type,
        reason,
        action,
        note: note.length > 1000 ? `${note.slice(0, 999)}…` : note,
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.#instance.slice(0, 128),
        regarding: {
          apiVersion: regarding.apiVersion, kind: regarding.kind, name, namespace, uid,
          resourceVersion: regarding.metadata.resourceVersion,
        },
      } as KubeObject);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, object: `${namespace}/${name}`, reason }, 'could not record event');
    }
  }
}
