import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BalanceService } from '../balance/service';
import type { PubSub } from '../realtime/pubsub';
import { collectProcessMetrics, type ProcessMetrics } from './process-metrics';

/**
 * Prometheus metrics, served at GET /metrics. One registry per app instance, so several instances
 * in one process (tests) never share counters; `stop()` when the app closes.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly tokensCharged = new Counter({ name: 'andora_tokens_charged_total', help: 'Tokens charged, by task and model', labelNames: ['task', 'model'], registers: [this.registry] });
  readonly refusals = new Counter({ name: 'andora_refusals_total', help: 'Requests refused, by error code', labelNames: ['code'], registers: [this.registry] });
  readonly flushBatch = new Histogram({
    name: 'andora_flush_batch_entries',
    help: 'Ledger entries per group commit',
    buckets: [1, 4, 16, 64, 256, 1_024, 4_096, 16_384],
    registers: [this.registry],
  });
  readonly flushSeconds = new Histogram({
    name: 'andora_flush_commit_seconds',
    help: 'Time of one group commit',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly providerSeconds = new Histogram({
    name: 'andora_provider_request_seconds',
    help: 'Provider call latency, by provider, model and outcome',
    labelNames: ['provider', 'model', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly providerErrors = new Counter({ name: 'andora_provider_errors_total', help: 'Failed provider calls', labelNames: ['provider'], registers: [this.registry] });
  readonly alertsRaised = new Counter({ name: 'andora_alerts_raised_total', help: 'Alerts raised, by type', labelNames: ['type'], registers: [this.registry] });
  readonly subscriptionsOpen = new Gauge({ name: 'andora_websocket_subscriptions', help: 'Open websocket operations', registers: [this.registry] });
  readonly forwardSeconds = new Histogram({
    name: 'andora_balance_forward_seconds',
    help: "Balance operations forwarded to their owner on another instance (clustered mode), by operation and outcome (ok, refused: the owner's answer was an error, moved: asked again elsewhere)",
    labelNames: ['op', 'outcome'],
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly leasesLost = new Counter({ name: 'andora_balance_leases_lost_total', help: "Times this instance's leases were found lost (clustered mode)", registers: [this.registry] });
  readonly holdsExpired = new Counter({ name: 'andora_holds_expired_total', help: 'Holds released by the TTL sweeper', registers: [this.registry] });

  private readonly process: ProcessMetrics;

  constructor(balance: BalanceService, pubsub?: PubSub) {
    this.process = collectProcessMetrics(this.registry, 'andora_');
    const stat = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
    stat('andora_reservations_in_flight', 'Open holds', () => balance.stats().openHolds);
    stat('andora_live_actors', 'Balances held in memory', () => balance.stats().liveActors);
    stat('andora_journal_depth', 'Ledger entries waiting for their commit', () => balance.stats().journalDepth);
    if (pubsub) this.watchPubSub(pubsub);
  }

  /** Ends the process metrics' event-loop monitor and GC observer. */
  stop(): void {
    this.process.stop();
  }

  /** Live updates: counters kept by the pub/sub and its bus, read at each scrape. */
  private watchPubSub(pubsub: PubSub): void {
    const total = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(read()); } });
    total('andora_pubsub_published_total', 'Live updates published here', () => pubsub.counts.published);
    total('andora_pubsub_delivered_total', 'Live updates handed to subscribers here (one per subscriber), from any instance', () => pubsub.counts.delivered);
    total('andora_pubsub_sent_total', 'Live updates sent to the other instances through Redis', () => pubsub.busCounts?.sent ?? 0);
    total('andora_pubsub_received_total', 'Live updates from other instances delivered here', () => pubsub.busCounts?.received ?? 0);
    new Counter({
      name: 'andora_pubsub_dropped_total',
      help: 'Live updates dropped: subscriber queue full (queue), or not sent to the other instances (Redis disconnected, outgoing buffer full, send failed, too large) or unreadable from them',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ reason: 'queue' }, pubsub.counts.queueDropped);
        for (const [reason, n] of Object.entries(pubsub.busCounts?.dropped ?? {})) this.inc({ reason }, n);
      },
    });
  }
}
