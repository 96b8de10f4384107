import { Migration } from '@mikro-orm/migrations';

/**
 * What an idempotency key was used for: the fingerprint of the request (src/idempotency.ts) is kept
 * beside the key, so the same key sent with a different request is refused instead of replaying
 * the first result. Rows from before have none: their keys are still only checked against the task.
 * (The ledger entry keeps the same fingerprint in its metadata.)
 */
export class Migration20261130000030_request_fingerprint extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table generations add column request_fingerprint varchar(64) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table generations drop column request_fingerprint;`);
  }
}
