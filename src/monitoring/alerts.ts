import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { JournalEntry } from '../balance/actor';
import type { QuotaEvent } from '../balance/service';
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
/** GRANT_EXPIRING is raised this long before a grant expires (three days). */
export const GRANT_EXPIRY_ALERT_AHEAD_MS = 259_200_000;
/** Grants of at least this many tokens get GRANT_EXPIRING. */
export const GRANT_EXPIRY_ALERT_TOKENS_MIN = 1_000;
/** How often grants about to expire are looked for. */
const GRANT_EXPIRY_CHECK_INTERVAL_MS = 60_000;
/** Grants alerted per check (oldest expiry first); the rest wait for the next check. */
const GRANT_EXPIRY_ALERTS_PER_CHECK_MAX = 500;
const HOURS_PER_WEEK = 7 * 24;
const MS_PER_HOUR = 3_600_000;

export interface AlertObserver {
  raised?(alert: ITokenAlert): void;
}

/**
 * Raises alerts from committed balance changes, persists them (they survive restarts for
 * alertRetentionHours) and publishes them to the owner's and the admins' subscriptions.
 *
 * Every rule looks at one committed ledger entry; a user's entries are evaluated one after another,
 * in commit order.
 * - NEGATIVE_BALANCE (CRITICAL): a charge recorded an overage (usage the balance could not cover).
 * - LOW_BALANCE (WARNING) is a state, kept in the database: raised when a change leaves the balance
 *   below the threshold and the user has no active (unresolved) low-balance alert, resolved (and so
 *   re-armed) when a change leaves it at or above the threshold. A unique index allows one active
 *   low-balance alert per user, so raising it is idempotent, across restarts and processes alike. An
 *   active one outlives the retention window: a balance that stays low stays flagged.
 * - HIGH_USAGE (WARNING): one operation used more than highUsageThreshold tokens.
 * - REFUND_DEFICIT (CRITICAL): a payment refund asked back purchased tokens that were already spent
 *   (the balance is never taken below zero or below what holds cover; the rest is the deficit).
 * - SUSPICIOUS_PATTERN (INFO): the last hour's charges exceed spikeFactor × the trailing 7-day hourly
 *   average, with minimum volumes so new users are not flagged; checked at most once per interval.
 * - QUOTA_WARNING (WARNING): a brand's usage this month reached 80% of its quota; QUOTA_EXCEEDED
 *   (CRITICAL): a reservation was refused for the brand's quota. Each once per brand and month: the
 *   balance actor signals the first of each in its life, and the month is recorded on the quota row
 *   (brand_quotas.warned_month / exceeded_month) before the alert is raised, so a restart, a second
 *   actor or the retention sweep never raises it twice.
 */
export class AlertService {
  private readonly lastSpikeCheckMs = new Map<string, number>();
  private readonly observers: AlertObserver[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The last evaluation queued for each user with one running: the next one waits for it. */
  private readonly queued = new Map<string, Promise<void>>();

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

  /** `duty`: whether this instance runs the platform's sweeps now (clustered mode: the leader only). @default always */
  start(duty: () => boolean = () => true): void {
    this.sweepTimer = setInterval(() => {
      if (duty()) void this.deleteExpired().catch((err) => this.log.error({ err }, 'alert retention sweep failed'));
    }, RETENTION_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.expiryTimer = setInterval(() => {
      if (duty()) void this.alertExpiringGrants().catch((err) => this.log.error({ err }, 'grant expiry alerts failed'));
    }, GRANT_EXPIRY_CHECK_INTERVAL_MS);
    this.expiryTimer.unref();
  }

  /**
   * GRANT_EXPIRING (INFO) for grants of at least GRANT_EXPIRY_ALERT_TOKENS_MIN tokens with tokens left
   * that expire within GRANT_EXPIRY_ALERT_AHEAD_MS, once per grant: the grant is marked
   * (expiry_alerted_at) by the same statement that picks it, so two checks never alert it twice.
   * Returns how many were raised.
   */
  async alertExpiringGrants(): Promise<number> {
    const now = this.now();
    const rows = await this.orm.em.fork().execute<Array<{ id: string; user_id: string; amount: string; remaining: string; expires_at: Date | string; source: string }>>(
      `update token_grants set expiry_alerted_at = ?
        where id in (select id from token_grants
                      where expired_at is null and expires_at is not null and remaining > 0 and expiry_alerted_at is null
                        and amount >= ? and expires_at > ? and expires_at <= ?
                      order by expires_at limit ?)
          and expiry_alerted_at is null
        returning id, user_id, amount, remaining, expires_at, source`,
      [new Date(now), GRANT_EXPIRY_ALERT_TOKENS_MIN, new Date(now), new Date(now + GRANT_EXPIRY_ALERT_AHEAD_MS), GRANT_EXPIRY_ALERTS_PER_CHECK_MAX],
    );
    for (const r of rows) {
      const expiresAt = new Date(r.expires_at).toISOString();
      await this.raise(r.user_id, 'GRANT_EXPIRING', 'INFO', `${Number(r.remaining)} tokens of a ${r.source.toLowerCase()} grant expire on ${expiresAt}`, {
        grantId: r.id,
        source: r.source,
        amount: Number(r.amount),
        remaining: Number(r.remaining),
        expiresAt,
      });
    }
    return rows.length;
  }

  /** Waits for alerts being evaluated, so none is lost at shutdown. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Called for every committed ledger entry; evaluation runs beside the request, never in its way.
   * A user's entries are evaluated in order, so a grant's resolution never overtakes the charge
   * before it (or a charge's raise the grant before it).
   */
  onCommitted(entry: JournalEntry): void {
    const userId = entry.actor.userId;
    const previous = this.queued.get(userId);
    const evaluate = () => this.evaluate(entry).catch((err) => this.log.error({ err, userId }, 'alert evaluation failed'));
    const work = previous ? previous.then(evaluate) : evaluate();
    this.queued.set(userId, work);
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      if (this.queued.get(userId) === work) this.queued.delete(userId);
    });
  }

  /** A brand's quota reached 80% or refused a reservation: raised once per brand, month and kind. */
  onQuota(event: QuotaEvent): void {
    const work = this.raiseQuota(event).catch((err) => this.log.error({ err, userId: event.userId, brandId: event.brandId }, 'quota alert failed'));
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async raiseQuota(event: QuotaEvent): Promise<void> {
    const column = event.kind === 'WARNING' ? 'warned_month' : 'exceeded_month';
    const marked = await this.orm.em.fork().execute<Array<{ brand_id: string }>>(
      `update brand_quotas set ${column} = ?::date where brand_id = ? and ${column} is distinct from ?::date returning brand_id`,
      [event.month, event.brandId, event.month],
    );
    if (marked.length === 0) return;
    const details = { brandId: event.brandId, month: event.month, monthlyTokens: event.monthlyTokens, used: event.used, ...(event.required === undefined ? {} : { required: event.required }) };
    if (event.kind === 'WARNING') {
      await this.raise(event.userId, 'QUOTA_WARNING', 'WARNING', `Brand ${event.brandId} used ${event.used} of its ${event.monthlyTokens} monthly tokens (80% or more)`, details);
    } else {
      await this.raise(event.userId, 'QUOTA_EXCEEDED', 'CRITICAL', `Brand ${event.brandId} reached its monthly quota of ${event.monthlyTokens} tokens: a generation needing ${event.required ?? 0} was refused`, details);
    }
  }

  /** Resolves once every evaluation started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The user's alerts within the retention window, and a low-balance alert still unresolved however old. */
  async active(userId: string): Promise<ITokenAlert[]> {
    return this.orm.em.fork().find(
      TokenAlert,
      { userId, $or: [{ createdAt: { $gt: this.retentionStart() } }, { type: 'LOW_BALANCE', resolvedAt: null }] },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
  }

  retentionStart(): Date {
    return new Date(this.now() - this.config.alertRetentionHours * MS_PER_HOUR);
  }

  private async evaluate(entry: JournalEntry): Promise<void> {
    const userId = entry.actor.userId;
    const overage = typeof entry.metadata.overage === 'number' ? entry.metadata.overage : 0;
    const used = entry.kind === 'CHARGE' ? -entry.amount + overage : 0;
    const context = { ledgerEntryId: entry.id, taskType: entry.taskType, balance: entry.balanceAfter };
    const deficit = entry.kind === 'REVOKE' && typeof entry.metadata.deficit === 'number' ? entry.metadata.deficit : 0;
    if (deficit > 0) {
      await this.raise(userId, 'REFUND_DEFICIT', 'CRITICAL', `A refund asked back ${String(entry.metadata.requested)} tokens, ${deficit} of them already spent: recorded as a deficit on the purchase`, {
        ...context,
        purchaseId: entry.metadata.purchaseId,
        requested: entry.metadata.requested,
        deficit,
      });
    }
    if (overage > 0) {
      await this.raise(userId, 'NEGATIVE_BALANCE', 'CRITICAL', `Usage of ${overage} tokens could not be charged: the balance ran out`, { ...context, overage });
    }
    await this.trackLowBalance(entry, context);
    if (used > this.config.highUsageThreshold) {
      await this.raise(userId, 'HIGH_USAGE', 'WARNING', `One ${entry.taskType ?? 'operation'} used ${used} tokens`, { ...context, tokens: used, threshold: this.config.highUsageThreshold });
    }
    if (used > 0) await this.checkPattern(userId, context);
  }

  /**
   * Below the threshold: raise LOW_BALANCE unless one is active (the partial unique index decides,
   * so two evaluations racing raise it once). At or above it after a change that added tokens:
   * resolve the active one. A charge never lifts a balance, so it never needs the second query.
   */
  private async trackLowBalance(entry: JournalEntry, context: Record<string, unknown>): Promise<void> {
    const userId = entry.actor.userId;
    const low = this.config.lowBalanceThreshold;
    if (entry.balanceAfter >= low) {
      if (entry.amount > 0) await this.orm.em.fork().nativeUpdate(TokenAlert, { userId, type: 'LOW_BALANCE', resolvedAt: null }, { resolvedAt: new Date(this.now()) });
      return;
    }
    const fields = {
      id: randomUUID(),
      userId,
      type: 'LOW_BALANCE' as const,
      severity: 'WARNING' as const,
      message: `Balance is below ${low} tokens (${entry.balanceAfter} left)`,
      details: { ...context, threshold: low },
      createdAt: new Date(this.now()),
      resolvedAt: null,
    };
    const inserted = await this.orm.em.fork().execute<Array<{ id: string }>>(
      `insert into token_alerts (id, user_id, type, severity, message, details, created_at)
       values (?, ?, ?, ?, ?, ?::jsonb, ?)
       on conflict (user_id) where type = 'LOW_BALANCE' and resolved_at is null do nothing
       returning id`,
      [fields.id, userId, fields.type, fields.severity, fields.message, JSON.stringify(fields.details), fields.createdAt],
    );
    if (inserted.length > 0) this.announce(fields);
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
    const fields = { id: randomUUID(), userId, type, severity, message, details, createdAt: new Date(this.now()), resolvedAt: null };
    // insert, not create + flush: a flush enters an AsyncLocalStorage (see db/transaction.ts).
    await this.orm.em.fork().insert(TokenAlert, fields);
    return this.announce(fields);
  }

  /** Logs a stored alert and publishes it to its owner's and the admins' subscriptions. */
  private announce(fields: ITokenAlert): ITokenAlert {
    const alert = this.orm.em.fork().create(TokenAlert, fields, { persist: false });
    this.log.warn({ alert: alert.type, severity: alert.severity, userId: alert.userId, details: alert.details }, alert.message);
    this.pubsub.publish(alertTopics.user(alert.userId), alert);
    this.pubsub.publish(alertTopics.all, alert);
    for (const o of this.observers) o.raised?.(alert);
    return alert;
  }

  /** Deletes alerts past the retention window (every minute); an unresolved low-balance alert stays while the balance is low. */
  async deleteExpired(): Promise<void> {
    await this.orm.em.fork().nativeDelete(TokenAlert, {
      createdAt: { $lte: this.retentionStart() },
      $not: { type: 'LOW_BALANCE', resolvedAt: null },
    });
  }
}
