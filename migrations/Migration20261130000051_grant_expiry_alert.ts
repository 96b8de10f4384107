import { Migration } from '@mikro-orm/migrations';

/**
 * GRANT_EXPIRING (INFO): raised once per grant of at least GRANT_EXPIRY_ALERT_TOKENS_MIN tokens, three
 * days before it expires (src/monitoring/alerts.ts). Once is kept by token_grants.expiry_alerted_at
 * (migration 50), not by the alert row, which retention deletes.
 */
export class Migration20261130000051_grant_expiry_alert extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table token_alerts drop constraint token_alerts_type_check;`);
    this.addSql(
      `alter table token_alerts add constraint token_alerts_type_check check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN', 'GRANT_EXPIRING'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`delete from token_alerts where type = 'GRANT_EXPIRING';`);
    this.addSql(`alter table token_alerts drop constraint token_alerts_type_check;`);
    this.addSql(`alter table token_alerts add constraint token_alerts_type_check check (type in ('NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN'));`);
  }
}
