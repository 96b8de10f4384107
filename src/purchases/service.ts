import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import { z } from 'zod';
import { BalanceFencedError, BalanceUnavailableError } from '../balance/errors';
import type { BalanceService } from '../balance/service';
import { LIMITS } from '../config';
import { TokenPackage, TokenPurchase, type ITokenPackage, type ITokenPurchase, type PurchaseStatus } from '../db/entities';
import { uuidv7 } from '../db/ids';
import { executeBound } from '../db/sql';
import { inTransaction } from '../db/transaction';
import { AppError, notFound } from '../errors';
import { idempotencyKeyReused, requestFingerprint } from '../idempotency';
import { parseInput } from '../input';
import { activePackages, PURCHASE_ATTACHMENT, purchasesPage, type PurchaseAttachment } from './store';
import type { StripeGateway } from './stripe';

const packageSchema = z.object({
  id: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'id: 1 to 64 lower-case letters, digits, - or _, starting with a letter or digit'),
  name: z.string().trim().min(1, 'name: required').max(LIMITS.shortInputCharsMax, `name: at most ${LIMITS.shortInputCharsMax} characters`),
  tokens: z.number().int().min(1, 'tokens: must be positive').max(LIMITS.packageTokensMax, `tokens: at most ${LIMITS.packageTokensMax}`),
  priceCents: z
    .number()
    .int()
    .min(LIMITS.packagePriceCentsMin, `priceCents: at least ${LIMITS.packagePriceCentsMin}`)
    .max(LIMITS.packagePriceCentsMax, `priceCents: at most ${LIMITS.packagePriceCentsMax}`),
  currency: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{3}$/, 'currency: a three-letter ISO 4217 code such as "usd"')
    .transform((c) => c.toLowerCase()),
  active: z.boolean().nullish().transform((a) => a ?? true),
});

const httpUrl = (field: string) =>
  z
    .string()
    .trim()
    .min(1, `${field}: required`)
    .max(LIMITS.checkoutUrlCharsMax, `${field}: at most ${LIMITS.checkoutUrlCharsMax} characters`)
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), `${field}: an http or https URL`);

const purchaseSchema = z.object({
  packageId: z.string().trim().min(1, 'packageId: required').max(64, 'packageId: not a package id'),
  successUrl: httpUrl('successUrl'),
  cancelUrl: httpUrl('cancelUrl'),
  idempotencyKey: z
    .string()
    .trim()
    .min(1, 'idempotencyKey: empty')
    .max(LIMITS.idempotencyKeyCharsMax, `idempotencyKey: at most ${LIMITS.idempotencyKeyCharsMax} characters`)
    .nullish(),
});

export type PackageInput = z.input<typeof packageSchema>;
export type PurchaseInput = z.input<typeof purchaseSchema>;

export interface PurchaseStarted {
  checkoutUrl: string;
  purchase: ITokenPurchase;
}

/** How a webhook delivery is answered: Stripe retries anything but 2xx. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Statuses a purchase has once its tokens were granted. */
const GRANTED: ReadonlySet<PurchaseStatus> = new Set(['COMPLETED', 'REFUNDED', 'PARTIALLY_REFUNDED']);

/** The ledger key of a purchase's grant: one grant per purchase, whatever Stripe redelivers. */
export const purchaseGrantKey = (purchaseId: string) => `purchase:${purchaseId}`;

const UUID = z.uuid();

/** What an event asks of a purchase. */
type Action = { kind: 'paid' | 'unpaid' | 'expired'; paymentIntentId: string | null } | { kind: 'refund'; amountRefundedCents: number; paymentIntentId: string | null };

export const PURCHASES_DISABLED_MESSAGE = 'purchasing tokens is not enabled on this service (no STRIPE_SECRET_KEY)';

/**
 * Token packages sold through Stripe Checkout. A purchase is a row PENDING with a Checkout Session;
 * Stripe's verified webhooks move it on, each event at most once (by event id), the events of one
 * purchase one after another:
 * - paid (checkout.session.completed with payment_status paid, async_payment_succeeded): `fulfil`,
 *   one grant whose commit also marks the purchase COMPLETED and records the event;
 * - expired (or async_payment_failed): EXPIRED, unless already paid;
 * - charge.refunded: the cumulative refunded amount is stored, then `settleRefunds` takes back its
 *   share of the tokens (REVOKE, never below what holds cover or zero; the rest is the purchase's
 *   deficit and an admin alert), status PARTIALLY_REFUNDED or REFUNDED. A refund that arrives before
 *   the completion is applied when the completion arrives.
 * A webhook is answered 2xx only once its effect is committed.
 */
export class PurchaseService {
  /** The last piece of work queued per purchase: events of one purchase run one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private webhooksInFlight = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly balance: BalanceService,
    private readonly gateway: StripeGateway | undefined,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.gateway !== undefined;
  }

  packages(): Promise<ITokenPackage[]> {
    return activePackages(this.orm);
  }

  /** Creates or changes a package (admins). Packages are never deleted: `active: false` takes one off the catalog. */
  async upsertPackage(input: PackageInput): Promise<ITokenPackage> {
    const p = parseInput(packageSchema, input);
    await this.orm.em.fork().execute(
      `insert into token_packages (id, name, tokens, price_cents, currency, active) values (?, ?, ?, ?, ?, ?)
       on conflict (id) do update set name = excluded.name, tokens = excluded.tokens, price_cents = excluded.price_cents,
         currency = excluded.currency, active = excluded.active, updated_at = now()`,
      [p.id, p.name, p.tokens, p.priceCents, p.currency, p.active],
    );
    return (await this.orm.em.fork().findOne(TokenPackage, { id: p.id }))!;
  }

  purchases(userId: string, first: number, after: string | null | undefined) {
    return purchasesPage(this.orm, userId, first, after);
  }

  /**
   * Starts a purchase: a PENDING row with the package's tokens and price as they are now, and a
   * Checkout Session for it. The same idempotency key (with the same input) returns the same
   * purchase and session; with another input it is refused.
   */
  async purchase(userId: string, input: PurchaseInput): Promise<PurchaseStarted> {
    if (!this.gateway) {
      throw new AppError('BAD_USER_INPUT', PURCHASES_DISABLED_MESSAGE, { reason: 'PURCHASES_DISABLED' });
    }
    const req = parseInput(purchaseSchema, input);
    const fingerprint = requestFingerprint({ packageId: req.packageId, successUrl: req.successUrl, cancelUrl: req.cancelUrl });
    const key = req.idempotencyKey ?? null;
    let purchase = key ? await this.byKey(userId, key, fingerprint) : null;
    if (!purchase) {
      const pkg = await this.orm.em.fork().findOne(TokenPackage, { id: req.packageId, active: true });
      if (!pkg) throw notFound('token package');
      await this.refuseTooManyPending(userId);
      purchase = await this.insertPurchase(userId, pkg, key, fingerprint);
    }
    if (purchase.checkoutUrl) return { checkoutUrl: purchase.checkoutUrl, purchase };
    return this.openCheckout(purchase, req.successUrl, req.cancelUrl);
  }

  /** Each purchase opens a Checkout Session at Stripe: a user may have only so many waiting for payment. */
  private async refuseTooManyPending(userId: string): Promise<void> {
    const since = new Date(this.now() - LIMITS.pendingPurchasesWindowMs);
    const pending = await this.orm.em.fork().find(
      TokenPurchase,
      { userId, status: 'PENDING', createdAt: { $gt: since } },
      { fields: ['createdAt'], orderBy: { createdAt: 'asc' }, limit: LIMITS.pendingPurchasesPerUserMax },
    );
    if (pending.length < LIMITS.pendingPurchasesPerUserMax) return;
    const retryAfterMs = Math.max(1, pending[0]!.createdAt.getTime() + LIMITS.pendingPurchasesWindowMs - this.now());
    throw new AppError('RATE_LIMITED', `at most ${LIMITS.pendingPurchasesPerUserMax} purchases may wait for payment at once; pay or cancel one first`, {
      limit: 'pendingPurchasesPerUser',
      retryAfterMs,
    });
  }

  private async byKey(userId: string, key: string, fingerprint: string): Promise<ITokenPurchase | null> {
    const existing = await this.orm.em.fork().findOne(TokenPurchase, { userId, idempotencyKey: key });
    if (existing && existing.requestFingerprint !== fingerprint) throw idempotencyKeyReused();
    return existing;
  }

  private async insertPurchase(userId: string, pkg: ITokenPackage, key: string | null, fingerprint: string): Promise<ITokenPurchase> {
    const id = uuidv7();
    // Whole milliseconds, so the (created_at, id) cursor round-trips exactly.
    const createdAt = new Date(this.now());
    const inserted = await this.orm.em.fork().execute<Array<{ id: string }>>(
      `insert into token_purchases (id, user_id, package_id, tokens, amount_cents, currency, status, idempotency_key, request_fingerprint, created_at)
       values (?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)
       on conflict (user_id, idempotency_key) where idempotency_key is not null do nothing
       returning id`,
      [id, userId, pkg.id, pkg.tokens, pkg.priceCents, pkg.currency, key, key ? fingerprint : null, createdAt],
    );
    // Lost a race with the same key: the other request's purchase is this one.
    if (inserted.length === 0) return (await this.byKey(userId, key!, fingerprint))!;
    return (await this.orm.em.fork().findOne(TokenPurchase, { id }))!;
  }

  /**
   * The purchase's Checkout Session. Stripe's idempotency key is the purchase's, so two requests
   * racing here (or a retry after a failure) get the same session.
   */
  private async openCheckout(purchase: ITokenPurchase, successUrl: string, cancelUrl: string): Promise<PurchaseStarted> {
    const pkg = (await this.orm.em.fork().findOne(TokenPackage, { id: purchase.packageId }))!;
    let session;
    try {
      session = await this.gateway!.createCheckout({
        purchaseId: purchase.id,
        userId: purchase.userId,
        packageName: pkg.name,
        amountCents: purchase.amountCents,
        currency: purchase.currency,
        successUrl,
        cancelUrl,
      });
    } catch (err) {
      if (!this.gateway!.isStripeError(err)) throw err;
      this.log.error({ err, purchaseId: purchase.id }, 'Stripe refused or failed to create a checkout session');
      throw new AppError('UPSTREAM_FAILED', 'the payment provider could not start the checkout; retry with the same idempotencyKey', {
        retryable: true,
      });
    }
    await this.orm.em.fork().nativeUpdate(TokenPurchase, { id: purchase.id }, { checkoutSessionId: session.id, checkoutUrl: session.url, updatedAt: new Date(this.now()) });
    return { checkoutUrl: session.url, purchase: { ...purchase, checkoutSessionId: session.id, checkoutUrl: session.url } };
  }

  /**
   * POST /webhooks/stripe. 400 for a body that is not a genuine, recent Stripe event (nothing
   * changes); 2xx once its effect is committed (or it needs none); 503 while the database or the
   * ledger cannot commit it, so Stripe retries (the work may go on and the retry then finds it done).
   */
  async webhook(rawBody: Buffer, signature: string | undefined): Promise<WebhookAnswer> {
    if (!this.gateway) return { status: 404, body: { error: 'purchases are not enabled' } };
    let event: Stripe.Event;
    try {
      event = this.gateway.verify(rawBody, signature ?? '');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'Stripe webhook refused: signature not valid');
      return { status: 400, body: { error: 'signature verification failed' } };
    }
    if (this.webhooksInFlight >= LIMITS.webhooksInFlightMax) return { status: 503, body: { error: 'busy; retry' } };
    this.webhooksInFlight++;
    const work = this.handle(event);
    void work.then(
      () => this.webhooksInFlight--,
      () => this.webhooksInFlight--,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), LIMITS.webhookAnswerMsMax)));
    try {
      const outcome = await Promise.race([work, late]);
      if (outcome === 'late') {
        this.log.warn({ eventId: event.id, type: event.type }, 'Stripe webhook not committed in time: answering 503 so Stripe retries');
        return { status: 503, body: { error: 'not committed yet; retry' } };
      }
      return { status: 200, body: { received: true, outcome } };
    } catch (err) {
      const retryable = err instanceof BalanceUnavailableError || err instanceof BalanceFencedError || isDatabaseError(err);
      this.log.error({ err, eventId: event.id, type: event.type }, 'Stripe webhook failed; Stripe will retry');
      return { status: retryable ? 503 : 500, body: { error: retryable ? 'temporarily unavailable; retry' : 'internal error' } };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Acts on one verified event; resolves with what it did once that is committed. */
  private async handle(event: Stripe.Event): Promise<string> {
    const target = await this.targetOf(event);
    if (!target) return 'ignored';
    return this.serialized(target.purchaseId, () => this.apply(event, target.purchaseId, target.action));
  }

  private async targetOf(event: Stripe.Event): Promise<{ purchaseId: string; action: Action } | null> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
      case 'checkout.session.expired':
      case 'checkout.session.async_payment_failed': {
        const session = event.data.object;
        const purchaseId = session.client_reference_id ?? session.metadata?.purchaseId;
        const paymentIntentId = idOf(session.payment_intent);
        const kind =
          event.type === 'checkout.session.expired' || event.type === 'checkout.session.async_payment_failed'
            ? 'expired'
            : session.payment_status === 'paid'
              ? 'paid'
              : 'unpaid';
        return this.ours(event, purchaseId, { kind, paymentIntentId });
      }
      case 'charge.refunded': {
        const charge = event.data.object;
        const paymentIntentId = idOf(charge.payment_intent);
        let purchaseId: string | null | undefined = charge.metadata?.purchaseId;
        if (!purchaseId && paymentIntentId) {
          purchaseId = (await this.orm.em.fork().findOne(TokenPurchase, { paymentIntentId }, { fields: ['id'] }))?.id;
        }
        return this.ours(event, purchaseId, { kind: 'refund', amountRefundedCents: charge.amount_refunded, paymentIntentId });
      }
      default:
        return null;
    }
  }

  private ours(event: Stripe.Event, purchaseId: string | null | undefined, action: Action): { purchaseId: string; action: Action } | null {
    if (purchaseId && UUID.safeParse(purchaseId).success) return { purchaseId, action };
    this.log.warn({ eventId: event.id, type: event.type }, 'Stripe event names no purchase of ours: ignored');
    return null;
  }

  /** Runs `work` after every earlier piece of work for the same purchase. */
  private serialized<T>(purchaseId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(purchaseId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.queues.set(purchaseId, tail);
    void tail.then(() => {
      if (this.queues.get(purchaseId) === tail) this.queues.delete(purchaseId);
    });
    return run;
  }

  private async apply(event: Stripe.Event, purchaseId: string, action: Action): Promise<string> {
    const found = await this.purchaseAndEvent(purchaseId, event.id);
    if (!found) {
      this.log.warn({ eventId: event.id, type: event.type, purchaseId }, 'Stripe event for an unknown purchase: ignored');
      return 'ignored';
    }
    let purchase = found.purchase;
    if (found.recorded) {
      // Redelivered. Nothing to do, unless a crash came between recording a refund and taking
      // its tokens back (Stripe got no 2xx then, hence the redelivery): finish that.
      await this.settleRefunds(purchase);
      return 'duplicate';
    }
    const fields = { eventId: event.id, type: event.type, purchaseId };
    switch (action.kind) {
      case 'paid':
        if (GRANTED.has(purchase.status)) {
          await this.record(event, purchase.id, null, {});
          await this.settleRefunds(purchase);
          return 'already-granted';
        }
        if (await this.repairGrant(purchase, event)) return 'granted';
        await this.fulfil(purchase, event, action.paymentIntentId);
        // A grant whose attachments could not be written is kept without them (the flusher's
        // poison-entry policy): then the purchase is completed here, before Stripe hears 200.
        if (await this.repairGrant(purchase, event, { onlyIfPending: true })) return 'granted';
        this.log.info({ ...fields, userId: purchase.userId, tokens: purchase.tokens }, 'purchase completed: tokens granted');
        // Refunds recorded before the completion (under this purchase's turn, so the row read above has them).
        await this.settleRefunds({ ...purchase, status: 'COMPLETED' });
        return 'granted';
      case 'unpaid':
        await this.record(event, purchase.id, null, { payment_intent_id: action.paymentIntentId });
        return 'awaiting-payment';
      case 'expired':
        await this.record(event, purchase.id, purchase.status === 'PENDING' ? 'EXPIRED' : null, {});
        return purchase.status === 'PENDING' ? 'expired' : 'ignored';
      case 'refund': {
        await this.record(event, purchase.id, null, { refunded_cents: action.amountRefundedCents, payment_intent_id: action.paymentIntentId });
        purchase = (await this.orm.em.fork().findOne(TokenPurchase, { id: purchaseId }))!;
        await this.settleRefunds(purchase);
        this.log.info({ ...fields, refundedCents: purchase.refundedCents }, 'purchase refund recorded');
        return GRANTED.has(purchase.status) ? 'refunded' : 'refund-recorded';
      }
    }
  }

  /**
   * THE one place a purchase becomes tokens: a grant keyed `purchase:<id>` (one per purchase, the
   * ledger's unique key holds it across processes), whose commit also marks the purchase COMPLETED
   * and records the event. A PURCHASE grant (issue 14): no expiry, and its default priority burns it
   * after every other source.
   */
  private fulfil(purchase: ITokenPurchase, event: Stripe.Event, paymentIntentId: string | null) {
    const attachment: PurchaseAttachment = {
      purchaseId: purchase.id,
      status: 'COMPLETED',
      completedAt: new Date(this.now()).toISOString(),
      paymentIntentId,
      event: { id: event.id, type: event.type },
    };
    return this.balance.grant(
      purchase.userId,
      purchase.tokens,
      `purchase of token package ${purchase.packageId}`,
      purchaseGrantKey(purchase.id),
      { purchaseId: purchase.id, packageId: purchase.packageId, amountCents: purchase.amountCents, currency: purchase.currency },
      { [PURCHASE_ATTACHMENT]: attachment },
      { source: 'PURCHASE', reason: `purchase of token package ${purchase.packageId}` },
    );
  }

  /**
   * The refunded share of the purchase's tokens not yet taken back, taken back now (REVOKE) from what
   * remains of the purchase's grant (what was spent of it is the deficit), with
   * the purchase's new totals and status in the same commit. Nothing before the grant: a refund
   * that arrives first waits on the purchase for its completion.
   */
  private async settleRefunds(purchase: ITokenPurchase): Promise<void> {
    if (!GRANTED.has(purchase.status) || purchase.refundedCents === 0) return;
    const target = refundedShare(purchase.tokens, purchase.refundedCents, purchase.amountCents);
    if (target <= purchase.revokedTokens) return;
    const status: PurchaseStatus = purchase.refundedCents >= purchase.amountCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    const result = await this.balance.revoke(
      purchase.userId,
      target - purchase.revokedTokens,
      `payment refunded for purchase of token package ${purchase.packageId}`,
      `${purchaseGrantKey(purchase.id)}:revoke:${target}`,
      { purchaseId: purchase.id, refundedCents: purchase.refundedCents, amountCents: purchase.amountCents },
      {
        attachments: {
          [PURCHASE_ATTACHMENT]: {
            purchaseId: purchase.id,
            status,
            revokedTokens: target,
            deficitTokens: purchase.deficitTokens,
          } satisfies PurchaseAttachment,
        },
        // What could not be taken back is added to the purchase's deficit, in the same commit.
        addDeficitTo: { attachment: PURCHASE_ATTACHMENT, field: 'deficitTokens' },
      },
      // From what remains of this purchase's own grant (burns recorded), not from other grants.
      purchase.grantEntryId ?? undefined,
    );
    this.log.info({ purchaseId: purchase.id, userId: purchase.userId, taken: result.taken, deficit: result.deficit, status }, 'refund applied: tokens taken back');
  }

  /**
   * A grant already in the ledger for a purchase still PENDING: its commit could not carry the
   * purchase (written without attachments) or another process granted it. The purchase is marked
   * completed with that grant instead of granting again.
   */
  private async repairGrant(purchase: ITokenPurchase, event: Stripe.Event, opts: { onlyIfPending?: boolean } = {}): Promise<boolean> {
    const [grant] = await this.orm.em.fork().execute<Array<{ id: string; created_at: Date }>>(
      `select l.id, l.created_at from token_ledger l
        where l.user_id = ? and l.idempotency_key = ? and l.kind = 'GRANT'
          and (not ? or exists (select 1 from token_purchases p where p.id = ? and p.status in ('PENDING', 'EXPIRED')))`,
      [purchase.userId, purchaseGrantKey(purchase.id), opts.onlyIfPending ?? false, purchase.id],
    );
    if (!grant) return false;
    this.log.error({ purchaseId: purchase.id, ledgerEntryId: grant.id }, 'purchase granted but not marked completed: marking it completed now');
    await this.record(event, purchase.id, 'COMPLETED', { grant_entry_id: grant.id, completed_at: grant.created_at });
    return true;
  }

  /** The purchase, and whether the event was already recorded: one query, the common path of every delivery. */
  private async purchaseAndEvent(purchaseId: string, eventId: string): Promise<{ purchase: ITokenPurchase; recorded: boolean } | null> {
    const em = this.orm.em.fork();
    const [row] = await em.execute<Array<Record<string, unknown> & { event_recorded: boolean }>>(
      'select p.*, exists (select 1 from stripe_events e where e.id = ?) as event_recorded from token_purchases p where p.id = ?',
      [eventId, purchaseId],
    );
    if (!row) return null;
    const { event_recorded: recorded, ...columns } = row;
    return { purchase: em.map(TokenPurchase, columns), recorded };
  }

  /**
   * Records an event that moves no tokens, with what it changes on the purchase, in one transaction:
   * `status` only from PENDING (or, for a repair, to COMPLETED), the refunded amount only upwards
   * (charge.amount_refunded is cumulative and events may arrive out of order).
   */
  private async record(
    event: Stripe.Event,
    purchaseId: string,
    status: PurchaseStatus | null,
    set: { refunded_cents?: number; payment_intent_id?: string | null; grant_entry_id?: string; completed_at?: Date },
  ): Promise<void> {
    await inTransaction(this.orm, async (em) => {
      const inserted = await executeBound<{ id: string }>(
        em,
        `insert into stripe_events (id, type, purchase_id, ledger_entry_id) values (?, ?, ?, ?) on conflict (id) do nothing returning id`,
        [event.id, event.type, purchaseId, set.grant_entry_id ?? null],
      );
      if (inserted.length === 0) return;
      await executeBound(
        em,
        `update token_purchases set
           status = case when ?::text is not null and (status = 'PENDING' or ?::text = 'COMPLETED') then ?::text else status end,
           refunded_cents = greatest(refunded_cents, coalesce(?::int, 0)),
           payment_intent_id = coalesce(payment_intent_id, ?::text),
           grant_entry_id = coalesce(grant_entry_id, ?::uuid),
           completed_at = coalesce(completed_at, ?::timestamptz),
           updated_at = now()
         where id = ?`,
        [status, status, status, set.refunded_cents ?? null, set.payment_intent_id ?? null, set.grant_entry_id ?? null, set.completed_at ?? null, purchaseId],
      );
    });
  }
}

/** The tokens a refund of `refundedCents` out of `amountCents` takes back: their share, rounded down. */
export function refundedShare(tokens: number, refundedCents: number, amountCents: number): number {
  const refunded = Math.min(refundedCents, amountCents);
  return Number((BigInt(tokens) * BigInt(refunded)) / BigInt(amountCents));
}

function idOf(ref: string | { id: string } | null | undefined): string | null {
  if (!ref) return null;
  return typeof ref === 'string' ? ref : ref.id;
}

/** An error from the database driver (connection refused or lost, a server-side error). */
function isDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string } | null;
  return (
    !!e &&
    ((typeof e.code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|57P|08|53)/.test(e.code)) ||
      /Connection|Knex|DriverException|ConnectionException/.test(e.name ?? ''))
  );
}
