/**
 * Server-to-client Notify and Put (KMIP 1.4 §5, 2.1 §6.2). KMIP leaves open how a server learns a
 * client's endpoint; here the operator of the server declares it per credential
 * (KmipClientCredential spec.notifications.endpoint).
 *
 * After a message's writes are durable (never before, and without holding up its response), every
 * subscribed credential of the scope hears about each object the message wrote:
 * - a new object: Put (New, or Replace when it replaces another: Re-key), object and attributes,
 *   only to credentials whose role allows operation_get, and only when Get would return the
 *   object unwrapped (not Sensitive, Extractable);
 * - a changed object: Notify with the attributes that changed, deleted ones and Last Change Date,
 *   to credentials whose role allows operation_get_attributes or operation_get.
 * Messages are in the protocol version of the request that caused them. Delivery: delivery.ts.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { encode } from '../ttlv/writer.ts';
import type { Identity } from '../auth/identity.ts';
import type { ProtocolVersion } from '../messages/version.ts';
import type { CommittedChange } from '../objects/unit-of-work.ts';
import type { CredentialPolicy, PolicySnapshot, PolicySource } from '../policy/model.ts';
import { DEFAULT_DELIVERY_LIMITS, EndpointDelivery, type DeliveryCounters, type DeliveryLimits, type Outgoing } from './delivery.ts';
import { NOTIFY, PUT, attributeDiff, notPushable, notifyPayload, putPayload, requestMessage } from './messages.ts';

export interface NotifierOptions {
  policy: PolicySource;
  /** The server's current certificate and key (it connects with them), and the client CA bundle. */
  tls: () => { certPem: string; keyPem: string; caCerts: readonly X509Certificate[]; minVersion?: 'TLSv1.2' | 'TLSv1.3' };
  logger: Logger;
  limits?: Partial<DeliveryLimits>;
}

const GET = 'operation_get';
const GET_ATTRIBUTES = 'operation_get_attributes';

export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #limits: DeliveryLimits;
  /** One per (endpoint, credential): its own queue and connection. */
  readonly #endpoints = new Map<string, EndpointDelivery>();
  readonly #counters: DeliveryCounters = { delivered: 0, failed: 0, dropped: 0 };
  /** Subscribed credentials by scope id, per policy snapshot. */
  #subscribers = new WeakMap<PolicySnapshot, Map<string, CredentialPolicy[]>>();
  #closed = false;

  constructor(opts: NotifierOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_DELIVERY_LIMITS, ...opts.limits };
    opts.policy.on('change', this.#prune);
  }

  /** A credential deleted or unsubscribed (or its endpoint moved): its queue goes, unsent. */
  readonly #prune = (): void => {
    const live = new Set<string>();
    for (const list of this.#byScope(this.#opts.policy.current()).values()) for (const c of list) live.add(deliveryKey(c));
    for (const [key, d] of this.#endpoints) {
      if (live.has(key)) continue;
      this.#endpoints.delete(key);
      void d.close();
    }
  };

  /** Counters since start, and messages waiting now. */
  stats(): DeliveryCounters & { queued: number } {
    let queued = 0;
    for (const e of this.#endpoints.values()) queued += e.queued;
    return { ...this.#counters, queued };
  }

  /**
   * A message of `identity` committed `changes`. Returns at once; the messages are built on the next
   * turn of the event loop and sent in the background. Never throws.
   */
  committed(identity: Identity, version: ProtocolVersion, changes: readonly CommittedChange[]): void {
    if (this.#closed || this.#subscribersOf(identity.scopeId).length === 0) return;
    setImmediate(() => {
      try {
        this.#fanOut(identity.scopeId, version, changes);
      } catch (err) {
        this.#opts.logger.error({ err }, 'could not build notifications');
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#opts.policy.off('change', this.#prune);
    await Promise.all([...this.#endpoints.values()].map((e) => e.close()));
    this.#endpoints.clear();
  }

  #subscribersOf(scopeId: string): CredentialPolicy[] {
    return this.#byScope(this.#opts.policy.current()).get(scopeId) ?? [];
  }

  #byScope(snapshot: PolicySnapshot): Map<string, CredentialPolicy[]> {
    let byScope = this.#subscribers.get(snapshot);
    if (!byScope) {
      byScope = new Map();
      const all = new Set([...snapshot.bySerial.values(), ...snapshot.byFingerprint.values()]);
      for (const c of all) {
        if (!c.notifications) continue;
        const list = byScope.get(c.scopeId) ?? [];
        list.push(c);
        byScope.set(c.scopeId, list);
      }
      this.#subscribers.set(snapshot, byScope);
    }
    return byScope;
  }

  #fanOut(scopeId: string, version: ProtocolVersion, changes: readonly CommittedChange[]): void {
    if (this.#closed) return;
    const snapshot = this.#opts.policy.current();
    const recipients = this.#subscribersOf(scopeId).flatMap((cred) => {
      const role = snapshot.roles.get(cred.roleId);
      if (!role || role.scopeId !== scopeId || !snapshot.scopes.has(scopeId)) return [];
      return [{ cred, get: role.operations.has(GET), attributes: role.operations.has(GET) || role.operations.has(GET_ATTRIBUTES) }];
    });
    if (recipients.length === 0) return;
    for (const change of changes) {
      const obj = change.after;
      // An object a header sub-identity owns is that sub-identity's alone (auth/header-credential.ts); an endpoint
      // proves only the certificate, not the sub-identity's password, so nothing about it is pushed.
      if (obj.owner !== undefined) {
        this.#opts.logger.debug({ uid: obj.uid }, 'object owned by a header credential: no Put or Notify');
        continue;
      }
      if (change.created) {
        const why = notPushable(obj);
        if (why !== undefined) {
          this.#opts.logger.debug({ uid: obj.uid, reason: why }, 'new object not pushed with Put');
          continue;
        }
        const bytes = encode(requestMessage(version, PUT, putPayload(obj, version)));
        for (const r of recipients) if (r.get) this.#send(r.cred, { operation: 'Put', uid: obj.uid, bytes });
        continue;
      }
      const payload = notifyPayload(obj, attributeDiff(change), version);
      if (!payload) continue;
      const bytes = encode(requestMessage(version, NOTIFY, payload));
      for (const r of recipients) if (r.attributes) this.#send(r.cred, { operation: 'Notify', uid: obj.uid, bytes });
    }
  }

  #send(cred: CredentialPolicy, msg: Outgoing): void {
    const endpoint = cred.notifications!.endpoint;
    const key = deliveryKey(cred);
    let d = this.#endpoints.get(key);
    if (!d) {
      d = new EndpointDelivery({
        endpoint,
        credential: { namespace: cred.namespace, name: cred.name, scopeId: cred.scopeId, roleId: cred.roleId },
        policy: this.#opts.policy,
        tls: this.#opts.tls,
        logger: this.#opts.logger,
        limits: this.#limits,
        counters: this.#counters,
      });
      this.#endpoints.set(key, d);
    }
    d.enqueue(msg);
  }
}

const deliveryKey = (c: CredentialPolicy): string => JSON.stringify([c.notifications?.endpoint, c.namespace, c.name, c.scopeId, c.roleId]);
