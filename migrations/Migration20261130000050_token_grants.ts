import { Migration } from '@mikro-orm/migrations';

/**
 * Credit grants (issue 14). A balance is now the sum of its grants' `remaining`: each grant has a
 * source, a priority (lower burns first), an optional expiry, and is burned by charges in order.
 * `ledger_grant_burns` records how much each ledger entry took from (positive) or gave back to
 * (negative, a refund) each grant, so an auditor recomputes every grant's remaining as
 * amount - sum(burns) (`npm run ledger:verify` does). `ledger_entry_id` names the entry that created
 * the grant (null for the grants this migration creates).
 *
 * Like the ledger, neither table has a foreign key: both are written only by the flusher's fenced
 * statement (and by sign-up, in the user's own transaction), and a per-row trigger would cost the
 * hot statement (migration 6); ledger:verify reports orphans.
 *
 * Existing users get one grant equal to their balance, so the books stay balanced across the upgrade:
 * source ADMIN when their ledger shows a grant by an admin (metadata.grantedBy), else SIGNUP (both
 * burn at priority 50, so the label changes nothing but what the user is shown). A user with no
 * tokens gets no grant. These rows get random (v4) ids; the service writes UUIDv7.
 */
export class Migration20261130000050_token_grants extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table token_grants (
        id uuid primary key,
        user_id uuid not null,
        source text not null check (source in ('SIGNUP', 'ALLOWANCE', 'PROMOTION', 'PURCHASE', 'ADMIN', 'REFUND')),
        amount bigint not null check (amount > 0),
        remaining bigint not null,
        priority int not null check (priority >= 0),
        expires_at timestamptz null,
        created_at timestamptz not null default now(),
        reason text not null default '',
        idempotency_key varchar(255) null,
        ledger_entry_id uuid null,
        expired_at timestamptz null,
        expiry_alerted_at timestamptz null,
        constraint token_grants_remaining_check check (remaining >= 0 and remaining <= amount)
      );`);
    this.addSql(`create unique index token_grants_idempotency_unique on token_grants (idempotency_key) where idempotency_key is not null;`);
    this.addSql(`create index token_grants_user_index on token_grants (user_id, created_at desc);`);
    this.addSql(`create index token_grants_due_index on token_grants (expires_at) where expired_at is null and expires_at is not null and remaining > 0;`);
    this.addSql(`
      create table ledger_grant_burns (
        ledger_entry_id uuid not null,
        grant_id uuid not null,
        amount bigint not null check (amount <> 0),
        primary key (ledger_entry_id, grant_id)
      );`);
    this.addSql(`
      insert into token_grants (id, user_id, source, amount, remaining, priority, expires_at, created_at, reason)
      select gen_random_uuid(), u.id, s.source, u.tokens, u.tokens, 50, null, u.created_at, 'balance before grants'
        from users u
        cross join lateral (
          select case when exists (
            select 1 from token_ledger l where l.user_id = u.id and l.kind = 'GRANT' and l.metadata ? 'grantedBy'
          ) then 'ADMIN' else 'SIGNUP' end as source
        ) s
       where u.tokens > 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table ledger_grant_burns;`);
    this.addSql(`drop table token_grants;`);
  }
}
