import { Migration } from '@mikro-orm/migrations';

/**
 * Emails are stored in one form only (src/accounts/email.ts: trimmed, lower case), and PostgreSQL
 * holds every writer to it, so the existing unique constraint on `email` is unique on the normalized
 * address: " Admin@Example.test" and "admin@example.test" can no longer be two accounts.
 *
 * Existing rows are normalized first. Two rows that differ only in case or surrounding spaces cannot
 * both keep their address; the migration stops and names them instead of choosing one (an operator
 * merges or renames those accounts, then starts the service again).
 *
 * `collate "C"` makes `lower()` change ASCII letters only, whatever the database's locale (a Turkish
 * locale lower-cases "I" to a dotless "ı"); accepted addresses are ASCII, so this is exactly what the
 * service writes.
 */
export class Migration20261130000020_email_normalized extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      do $$
      declare clashes text;
      begin
        select string_agg(normalized, ', ') into clashes
          from (select lower(btrim(email) collate "C") as normalized from users group by 1 having count(*) > 1 order by 1 limit 20) c;
        if clashes is not null then
          raise exception 'users: several accounts share an email once trimmed and lower-cased: %; merge or rename them, then start again', clashes;
        end if;
      end $$;`);
    this.addSql(`update users set email = lower(btrim(email) collate "C") where email <> lower(btrim(email) collate "C");`);
    this.addSql(`alter table users add constraint users_email_normalized check (email = lower(btrim(email) collate "C"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table users drop constraint users_email_normalized;`);
  }
}
