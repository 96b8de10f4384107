import { Migration } from '@mikro-orm/migrations';

/**
 * Lets the flusher write a batch as ONE autocommit statement and still be fenced: the statement ends
 * by calling this with how many balances it meant to write and how many it wrote; a difference
 * raises, which rolls back every part of the statement (ledger rows and attachments included).
 */
export class Migration20261125000005_fence_check extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create or replace function andora_balance_fence(expected bigint, written bigint) returns boolean
      language plpgsql as $$
      begin
        if written <> expected then
          raise exception 'balance fence violated: % of % balances written', written, expected using errcode = 'ANF01';
        end if;
        return true;
      end
      $$;`);
  }
}
