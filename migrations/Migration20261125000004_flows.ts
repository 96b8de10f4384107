import { Migration } from '@mikro-orm/migrations';

/**
 * Runs of multi-agent flows and their steps. A finished step is written inside the ledger's group
 * commit (with its charge and generation), so, as for generations, generation_id and ledger_entry_id
 * have no foreign keys: a row that could fail a constraint would block every other user's batch.
 */
export class Migration20261125000004_flows extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table flow_runs (
        id uuid primary key,
        user_id uuid not null references users(id) on delete cascade,
        brand_id uuid not null references brands(id) on delete cascade,
        kind varchar(64) not null,
        status text not null check (status in ('RUNNING', 'FINISHED', 'FAILED', 'CANCELLED')),
        input jsonb not null,
        error text null,
        failed_step int null,
        created_at timestamptz not null,
        finished_at timestamptz null
      );`);
    this.addSql(`create index flow_runs_brand_created_index on flow_runs (brand_id, created_at desc, id desc);`);
    this.addSql(`create index flow_runs_running_index on flow_runs (id) where status = 'RUNNING';`);
    this.addSql(`
      create table flow_steps (
        flow_run_id uuid not null references flow_runs(id) on delete cascade,
        index int not null check (index >= 1),
        agent varchar(64) not null,
        task_type varchar(64) not null,
        status text not null check (status in ('PENDING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', 'SKIPPED')),
        generation_id uuid null,
        ledger_entry_id uuid null,
        model varchar(255) null,
        prompt_tokens int not null default 0,
        completion_tokens int not null default 0,
        cost_nano_usd bigint not null default 0,
        output jsonb null,
        error text null,
        started_at timestamptz null,
        finished_at timestamptz null,
        primary key (flow_run_id, index)
      );`);
  }
}
