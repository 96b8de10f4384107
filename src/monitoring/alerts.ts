import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { JournalEntry } from '../balance/actor';
import type { MonitoringConfig } from '../config';
import { TokenAlert, type AlertSeverity, type AlertType, type ITokenAlert } from '../db/entities';
import type { PubSub } from '../realtime/pubsub';

export const alertTopics = {
  user: (userId: string) => `alerts:user:${userId}`,
  all: 'alerts:all',
};

/** Users whose last pattern check is remembered; past it the oldest are forgotten. */
const SPIKE_CHECKS_TRACKED_MAX = 100_000;
/** How often expired alerts are deleted. */
const RETENTION_SWEEP_INTERVAL_MS = 60_000;
const HOURS_PER_WEEK = 7 * 24;
const MS_PER_HOUR = 3_600_000;

export interface AlertObserver {
  raised?(alert: ITokenAlert): void;
}

/**
 * Raises alerts from committed balance changes, persists them (they survive restarts for
 * alertRetentionHours) and publishes them to the owner's and the admins' subscriptions.
 *
 * Every rule looks at one committed ledger entry, so the rules hold across restarts without state:
 * - NEGATIVE_BALANCE (CRITICAL): a charge recorded an overage (usage the balance could not cover).
 * - LOW_BALANCE (WARNING): the entry took the balance from ≥ threshold to < threshold. Staying below
 *   raises nothing more; rising above and crossing again raises it again (re-armed).
 * - HIGH_USAGE (WARNING): one operation used more than highUsageThreshold tokens.
 * - SUSPICIOUS_PATTERN (INFO): the last hour's charges exceed spikeFactor × the trailing 7-day hourly
 *   average, with minimum volumes so new users are not flagged; checked at most once per interval.
 */
export class AlertService {
  private readonly lastSpikeCheckMs = new Map<string, number>();
  private readonly observers: AlertObserver[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly orm: MikroORM,
    private readonly pubsub: PubSub,
    private readonly config: MonitoringConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  addObserver(observer: AlertObserver): void {
    this.observers.push(observer);
  }

  start(): void {
    this.sweepTimer = setInterval(() => void this.deleteExpired().catch((err) => this.log.error({ err }, 'alert retention sweep failed')), RETENTION_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Waits for alerts being evaluated, so none is lost at shutdown. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Called for every committed ledger entry; evaluation runs beside the request, never in its way. */
  onCommitted(entry: JournalEntry): void {
    const work = this.evaluate(entry).catch((err) => this.log.error({ err, userId: entry.actor.userId }, 'alert evaluation failed'));
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Resolves once every evaluation started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async active(userId: string): Promise<ITokenAlert[]> {
    return this.orm.em.fork().find(TokenAlert, { userId, createdAt: { $gt: this.retentionStart() } }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  retentionStart(): Date {
    return new Date(this.now() - this.config.alertRetentionHours * MS_PER_HOUR);
  }

  private async evaluate(entry: JournalEntry): Promise<void> {
    const userId = entry.actor.userId;
    const before = entry.balanceAfter - entry.amount;
    const overage = typeof entry.metadata.overage === 'number' ? entry.metadata.overage : 0;
    const used = entry.kind === 'CHARGE' ? -entry.amount + overage : 0;
    const context = { ledgerEntryId: entry.id, taskType: entry.taskType, balance: entry.balanceAfter };
    if (overage > 0) {
      await this.raise(userId, 'NEGATIVE_BALANCE', 'CRITICAL', `Usage of ${overage} tokens could not be charged: the balance ran out`, { ...context, overage });
    }
    const low = this.config.lowBalanceThreshold;
    if (before >= low && entry.balanceAfter < low) {
      await this.raise(userId, 'LOW_BALANCE', 'WARNING', `Balance fell below ${low} tokens (${entry.balanceAfter} left)`, { ...context, threshold: low });
    }
    if (used > this.config.highUsageThreshold) {
      await this.raise(userId, 'HIGH_USAGE', 'WARNING', `One ${entry.taskType ?? 'operation'} used ${used} tokens`, { ...context, tokens: used, threshold: this.config.highUsageThreshold });
    }
    if (used > 0) await this.checkPattern(userId, context);
  }

  private async checkPattern(userId: string, context: Record<string, unknown>): Promise<void> {
    const now = this.now();
    const last = this.lastSpikeCheckMs.get(userId);
    if (last !== undefined && now - last < this.config.spikeCheckIntervalMs) return;
    this.lastSpikeCheckMs.delete(userId);
    this.lastSpikeCheckMs.set(userId, now);
    if (this.lastSpikeCheckMs.size > SPIKE_CHECKS_TRACKED_MAX) this.lastSpikeCheckMs.delete(this.lastSpikeCheckMs.keys().next().value!);

    const [row] = await this.orm.em.fork().execute<Array<{ last_hour: string | null; history: string | null; flagged: string }>>(
      `select
         (select coalesce(sum(-amount), 0) from token_ledger where user_id = ? and kind = 'CHARGE' and created_at > ?) as last_hour,
         (select coalesce(sum(-amount), 0) from token_ledger where user_id = ? and kind = 'CHARGE' and created_at > ? and created_at <= ?) as history,
         (select count(*) from token_alerts where user_id = ? and type = 'SUSPICIOUS_PATTERN' and created_at > ?) as flagged`,
      [userId, new Date(now - MS_PER_HOUR), userId, new Date(now - HOURS_PER_WEEK * MS_PER_HOUR), new Date(now - MS_PER_HOUR), userId, new Date(now - MS_PER_HOUR)],
    );
    const lastHour = Number(row?.last_hour ?? 0);
    const history = Number(row?.history ?? 0);
    const hourlyAverage = history / (HOURS_PER_WEEK - 1);
    const spike =
      lastHour >= this.config.spikeMinTokens &&
      history >= this.config.spikeMinHistoryTokens &&
      lastHour > this.config.spikeFactor * hourlyAverage &&
      Number(row?.flagged ?? 0) === 0;
    if (!spike) return;
    await this.raise(userId, 'SUSPICIOUS_PATTERN', 'INFO', `Usage in the last hour (${lastHour} tokens) is over ${this.config.spikeFactor}× the usual hourly average (${Math.round(hourlyAverage)})`, {
      ...context,
      lastHourTokens: lastHour,
      hourlyAverageTokens: Math.round(hourlyAverage),
      factor: this.config.spikeFactor,
    });
  }

  async raise(userId: string, type: AlertType, severity: AlertSeverity, message: string, details: Record<string, unknown>): Promise<ITokenAlert> {
    const em = this.orm.em.fork();
    const fields = { id: randomUUID(), userId, type, severity, message, details, createdAt: new Date(this.now()) };
    // insert, not create + flush: a flush enters an AsyncLocalStorage (see db/transaction.ts).
    await em.insert(TokenAlert, fields);
    const alert = em.create(TokenAlert, fields, { persist: false });
    this.log.warn({ alert: type, severity, userId, details }, message);
    this.pubsub.publish(alertTopics.user(userId), alert);
    this.pubsub.publish(alertTopics.all, alert);
    for (const o of this.observers) o.raised?.(alert);
    return alert;
  }

  private async deleteExpired(): Promise<void> {
    await this.orm.em.fork().nativeDelete(TokenAlert, { createdAt: { $lte: this.retentionStart() } });
  }
}
