import { Migration } from '@mikro-orm/migrations';

/** Accounts, brands and the token ledger. */
export class Migration20261125000001_foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table users (
        id uuid primary key default gen_random_uuid(),
        email varchar(255) not null unique,
        password_hash varchar(255) not null,
        tokens bigint not null default 10000 check (tokens >= 0),
        balance_version bigint not null default 0,
        plan varchar(255) not null default 'free',
        role text not null default 'USER' check (role in ('USER', 'ADMIN')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`
      create table brands (
        id uuid primary key default gen_random_uuid(),
        owner_id uuid not null references users(id) on delete cascade,
        name varchar(255) not null,
        description text null,
        industry varchar(255) null,
        audience text null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`create index brands_owner_id_index on brands (owner_id);`);
    this.addSql(`
      create table token_ledger (
        id uuid primary key,
        seq bigserial not null unique,
        user_id uuid not null references users(id) on delete cascade,
        kind text not null check (kind in ('GRANT', 'CHARGE', 'REFUND', 'ADJUST', 'EXPIRE')),
        amount bigint not null,
        balance_after bigint not null check (balance_after >= 0),
        brand_id uuid null,
        task_type varchar(255) null,
        model varchar(255) null,
        prompt_tokens int not null default 0,
        completion_tokens int not null default 0,
        cost_nano_usd bigint not null default 0,
        idempotency_key varchar(255) null,
        hold_id uuid null,
        metadata jsonb not null default '{}',
        created_at timestamptz not null default now()
      );`);
    this.addSql(`create index token_ledger_user_seq_index on token_ledger (user_id, seq desc);`);
    this.addSql(
      `create unique index token_ledger_user_idempotency_unique on token_ledger (user_id, idempotency_key) where idempotency_key is not null;`,
    );
  }
}
