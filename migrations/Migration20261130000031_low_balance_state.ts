import { Migration } from '@mikro-orm/migrations';

/**
 * LOW_BALANCE becomes a state (src/monitoring/alerts.ts): an alert is active until resolved_at is
 * set, and each user has at most one active low-balance alert, so raising it is idempotent across
 * restarts and, later, across instances. Low-balance alerts raised before were one per crossing and
 * may repeat per user: they are all marked resolved here, and a user whose balance is still low gets
 * a fresh alert with their next balance change.
 */
export class Migration20261130000031_low_balance_state extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table token_alerts add column resolved_at timestamptz null;`);
    this.addSql(`update token_alerts set resolved_at = now() where type = 'LOW_BALANCE';`);
    this.addSql(
      `create unique index token_alerts_low_balance_active_unique on token_alerts (user_id) where type = 'LOW_BALANCE' and resolved_at is null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index token_alerts_low_balance_active_unique;`);
    this.addSql(`alter table token_alerts drop column resolved_at;`);
  }
}
