import { Migration } from '@mikro-orm/migrations';

/**
 * Per-brand monthly token quotas (issue 15). A row is written by setBrandQuota and then adopted by
 * the owner's balance actor, which enforces it; `version` counts every change so that an actor never
 * adopts an older one after a newer (src/balance/service.ts). Removing a quota keeps the row with
 * monthly_tokens null, so the version keeps counting. user_id is the brand's owner (whose actor
 * loads it); warned_month / exceeded_month make the 80% warning and the refusal alert once per brand
 * and month, across restarts and the alerts' retention.
 *
 * The alert types gain QUOTA_WARNING and QUOTA_EXCEEDED.
 */
export class Migration20261130000070_brand_quotas extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table brand_quotas (
        brand_id uuid primary key references brands(id) on delete cascade,
        user_id uuid not null references users(id) on delete cascade,
        monthly_tokens bigint null check (monthly_tokens >= 0),
        version bigint not null default 1,
        warned_month date null,
        exceeded_month date null,
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`create index brand_quotas_user_index on brand_quotas (user_id);`);
    this.addSql(`alter table token_alerts drop constraint token_alerts_type_check;`);
    this.addSql(
      `alter table token_alerts add constraint token_alerts_type_check check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN', 'GRANT_EXPIRING', 'REFUND_DEFICIT', 'QUOTA_WARNING', 'QUOTA_EXCEEDED'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`delete from token_alerts where type in ('QUOTA_WARNING', 'QUOTA_EXCEEDED');`);
    this.addSql(`alter table token_alerts drop constraint token_alerts_type_check;`);
    this.addSql(`alter table token_alerts add constraint token_alerts_type_check check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN', 'GRANT_EXPIRING', 'REFUND_DEFICIT'));`);
    this.addSql(`drop table brand_quotas;`);
  }
}
