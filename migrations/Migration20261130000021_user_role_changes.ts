import { Migration } from '@mikro-orm/migrations';

/**
 * Every change of a user's role, with who made it and through which channel: `CLI` (npm run admin;
 * `cli_user` is the operating-system account that ran it), `API` (the setUserRole mutation;
 * `changed_by` is the admin's user id) or `SIGNUP` (ADMIN_EMAILS, development only). No foreign key
 * to users: like the ledger, the record of who held admin powers outlives the account.
 */
export class Migration20261130000021_user_role_changes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table user_role_changes (
        id uuid primary key,
        user_id uuid not null,
        old_role text null check (old_role in ('USER', 'ADMIN')),
        new_role text not null check (new_role in ('USER', 'ADMIN')),
        channel text not null check (channel in ('CLI', 'API', 'SIGNUP')),
        changed_by uuid null,
        cli_user text null,
        created_at timestamptz not null default now(),
        check ((channel = 'API') = (changed_by is not null)),
        check ((channel = 'CLI') = (cli_user is not null))
      );`);
    this.addSql(`create index user_role_changes_user_created_index on user_role_changes (user_id, created_at desc);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table user_role_changes;`);
  }
}
