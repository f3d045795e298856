/**
 * The operator's Prometheus metrics, in a registry of their own (so two operators in one process,
 * as the leader-election test runs them, do not share counters). Names follow controller-runtime's
 * with a kube_kmip_operator_ prefix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  readonly relists: Counter<'resource'>;
  readonly isLeader: Gauge;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconcileTotal = new Counter({
      name: 'kube_kmip_operator_reconcile_total',
      help: 'Reconciles per controller and result (success, requeue, requeue_after, error, terminal_error).',
      labelNames: ['controller', 'result'], registers,
    });
    this.reconcileErrors = new Counter({
      name: 'kube_kmip_operator_reconcile_errors_total',
      help: 'Reconciles that failed, per controller.',
      labelNames: ['controller'], registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'kube_kmip_operator_reconcile_time_seconds',
      help: 'How long a reconcile took, per controller.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'kube_kmip_operator_workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['name'], registers,
    });
    this.queueAdds = new Counter({
      name: 'kube_kmip_operator_workqueue_adds_total', help: 'Keys added to the work queue (duplicates not counted).', labelNames: ['name'], registers,
    });
    this.activeWorkers = new Gauge({
      name: 'kube_kmip_operator_active_workers', help: 'Reconciles in progress, per controller.', labelNames: ['controller'], registers,
    });
    this.watchRestarts = new Counter({
      name: 'kube_kmip_operator_watch_restarts_total',
      help: 'Watches restarted, per resource and reason (closed, silent, gone, error).',
      labelNames: ['resource', 'reason'], registers,
    });
    this.relists = new Counter({
      name: 'kube_kmip_operator_relists_total', help: 'Full lists an informer made, per resource.', labelNames: ['resource'], registers,
    });
    this.isLeader = new Gauge({
      name: 'kube_kmip_operator_leader', help: '1 while this instance holds the leader lease (or runs without election).', registers,
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kube_kmip_operator_' });
  }
}
