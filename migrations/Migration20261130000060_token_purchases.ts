import { Migration } from '@mikro-orm/migrations';

/**
 * Token packages sold through Stripe Checkout (issue 16).
 *
 * - token_packages: the catalog. A package is never deleted once sold (purchases reference it), only
 *   deactivated; what a buyer paid and got is copied onto the purchase.
 * - token_purchases: one Checkout Session each. The grant of its tokens (ledger key
 *   `purchase:<id>`) and the purchase's COMPLETED status are written in one commit (the balance
 *   flusher's attachments); refunds take back their share through REVOKE ledger entries, and what
 *   was already spent is kept as deficit_tokens.
 * - stripe_events: every webhook event we acted on, by Stripe's event id, so a redelivery does nothing.
 * - Ledger kind REVOKE and alert type REFUND_DEFICIT.
 */
export class Migration20261130000060_token_purchases extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table token_packages (
        id text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
        name text not null,
        tokens bigint not null check (tokens > 0),
        price_cents integer not null check (price_cents > 0),
        currency text not null check (currency ~ '^[a-z]{3}$'),
        active boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`
      create table token_purchases (
        id uuid primary key,
        user_id uuid not null references users(id) on delete cascade,
        package_id text not null references token_packages(id) on delete restrict,
        tokens bigint not null check (tokens > 0),
        amount_cents integer not null check (amount_cents > 0),
        currency text not null,
        status text not null check (status in ('PENDING', 'COMPLETED', 'EXPIRED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
        idempotency_key varchar(255) null,
        request_fingerprint text null,
        checkout_session_id text null unique,
        checkout_url text null,
        payment_intent_id text null,
        grant_entry_id uuid null,
        refunded_cents integer not null default 0 check (refunded_cents >= 0),
        revoked_tokens bigint not null default 0 check (revoked_tokens >= 0),
        deficit_tokens bigint not null default 0 check (deficit_tokens >= 0 and deficit_tokens <= revoked_tokens),
        created_at timestamptz not null,
        completed_at timestamptz null,
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`create index token_purchases_user_created_index on token_purchases (user_id, created_at desc, id desc);`);
    this.addSql(
      `create unique index token_purchases_user_idempotency_unique on token_purchases (user_id, idempotency_key) where idempotency_key is not null;`,
    );
    this.addSql(`create index token_purchases_payment_intent_index on token_purchases (payment_intent_id) where payment_intent_id is not null;`);
    this.addSql(`
      create table stripe_events (
        id text primary key,
        type text not null,
        purchase_id uuid null references token_purchases(id) on delete set null,
        ledger_entry_id uuid null,
        received_at timestamptz not null default now()
      );`);
    this.addSql(`alter table token_ledger drop constraint token_ledger_kind_check;`);
    this.addSql(`alter table token_ledger add constraint token_ledger_kind_check check (kind in ('GRANT', 'CHARGE', 'REFUND', 'ADJUST', 'EXPIRE', 'REVOKE'));`);
    this.addSql(`alter table token_alerts drop constraint token_alerts_type_check;`);
    this.addSql(
      `alter table token_alerts add constraint token_alerts_type_check check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN', 'GRANT_EXPIRING', 'REFUND_DEFICIT'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table stripe_events;`);
    this.addSql(`drop table token_purchases;`);
    this.addSql(`drop table token_packages;`);
    this.addSql(`alter table token_ledger drop constraint token_ledger_kind_check;`);
    this.addSql(`alter table token_ledger add constraint token_ledger_kind_check check (kind in ('GRANT', 'CHARGE', 'REFUND', 'ADJUST', 'EXPIRE'));`);
    this.addSql(`alter table token_alerts drop constraint token_alerts_type_check;`);
    this.addSql(`alter table token_alerts add constraint token_alerts_type_check check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN', 'GRANT_EXPIRING'));`);
  }
}
