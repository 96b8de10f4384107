import { Migration } from '@mikro-orm/migrations';

/**
 * What each generation produced (linked to the charge that paid for it) and per-brand daily usage.
 * Both are written inside the ledger's group commit, so brand_id has no foreign key on purpose: a
 * row that could fail a constraint would block every other user's batch behind it.
 */
export class Migration20261125000002_generations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table generations (
        id uuid primary key,
        user_id uuid not null references users(id) on delete cascade,
        brand_id uuid not null,
        ledger_entry_id uuid not null references token_ledger(id),
        task_type varchar(64) not null,
        status text not null check (status in ('COMPLETED', 'PARTIAL')),
        model varchar(255) not null,
        prompt_tokens int not null,
        completion_tokens int not null,
        cost_nano_usd bigint not null,
        idempotency_key varchar(255) null,
        output jsonb not null,
        created_at timestamptz not null default now()
      );`);
    this.addSql(`create index generations_brand_created_index on generations (brand_id, created_at desc);`);
    this.addSql(`create index generations_user_created_index on generations (user_id, created_at desc);`);
    this.addSql(
      `create unique index generations_user_idempotency_unique on generations (user_id, idempotency_key) where idempotency_key is not null;`,
    );
    this.addSql(`
      create table brand_token_usage (
        brand_id uuid not null,
        usage_date date not null,
        task_type varchar(64) not null,
        tokens bigint not null default 0 check (tokens >= 0),
        requests int not null default 0,
        cost_nano_usd bigint not null default 0,
        metadata jsonb not null default '{}',
        primary key (brand_id, usage_date, task_type)
      );`);
  }
}
