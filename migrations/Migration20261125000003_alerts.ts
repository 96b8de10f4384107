import { Migration } from '@mikro-orm/migrations';

/** Alerts raised from balance events; kept for ALERT_RETENTION_HOURS, then deleted. */
export class Migration20261125000003_alerts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table token_alerts (
        id uuid primary key,
        user_id uuid not null references users(id) on delete cascade,
        type text not null check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN')),
        severity text not null check (severity in ('INFO', 'WARNING', 'CRITICAL')),
        message text not null,
        details jsonb not null default '{}',
        created_at timestamptz not null default now()
      );`);
    this.addSql(`create index token_alerts_user_created_index on token_alerts (user_id, created_at desc);`);
    this.addSql(`create index token_alerts_created_index on token_alerts (created_at);`);
  }
}
