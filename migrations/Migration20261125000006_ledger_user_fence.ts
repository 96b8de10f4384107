import { Migration } from '@mikro-orm/migrations';

/**
 * The ledger's user is vouched for by the fence, not by a foreign key; balance rows keep room for
 * their updates.
 *
 * Every token_ledger row is written either with its new user (sign-up, one transaction) or by the
 * flusher in the same statement as its user's fenced balance update, and that statement fails
 * (andora_balance_fence) unless every one of those users rows was updated, so each row's user
 * exists when it commits. The foreign key repeated that check with a trigger per inserted row: about
 * 8 µs of PostgreSQL CPU per ledger row, a fifth of the batch statement (BENCHMARKS.md). Its ON
 * DELETE CASCADE was also wrong for a ledger: deleting an account must not erase what it was
 * charged. `npm run ledger:verify` reports rows whose user is gone.
 */
export class Migration20261125000006_ledger_user_fence extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table token_ledger drop constraint token_ledger_user_id_fkey;`);
    // Every flush rewrites balances: room on each page keeps those updates HOT (no new index entries
    // for users_pkey and users_email_key). Applies to pages written from now on.
    this.addSql(`alter table users set (fillfactor = 80);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table users reset (fillfactor);`);
    this.addSql(`alter table token_ledger add constraint token_ledger_user_id_fkey foreign key (user_id) references users(id) on delete cascade;`);
  }
}
