import { Migration } from '@mikro-orm/migrations';

/**
 * setUserPlan takes effect from the next UTC month: the plan waits in pending_plan with the month it
 * starts (yyyy-mm); the user's first activity in that month or later makes it their plan (and grants
 * that plan's monthly allowance, src/balance/service.ts).
 */
export class Migration20261130000052_pending_plan extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table users add column pending_plan varchar(255) null, add column pending_plan_from varchar(7) null;`);
    this.addSql(`alter table users add constraint users_pending_plan_check check ((pending_plan is null) = (pending_plan_from is null));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table users drop constraint users_pending_plan_check, drop column pending_plan, drop column pending_plan_from;`);
  }
}
