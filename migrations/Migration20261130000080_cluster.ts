import { Migration } from '@mikro-orm/migrations';

/**
 * Several instances on one database (issue 17; ARCHITECTURE.md, "Several instances").
 *
 * cluster_instances: every instance in clustered mode, renewing `expires_at` (the database's clock)
 * every third of LEASE_TTL_MS. balance_leases: which instance owns a user's balance actor, under which
 * epoch; a lease lasts as long as its instance's row is LIVE or DRAINING and not expired, and moves
 * only by counting the epoch up. users.balance_epoch is the epoch of the lease its balance was last
 * loaded under: every flush names it beside balance_version, and taking a lease over writes it in the
 * same statement, so a deposed owner's batch finds it moved and is rolled back (the fence); the row
 * lock on users orders a takeover and a flush either way. Without clustered mode it stays 0.
 *
 * flow_runs.instance_id: the instance running a flow, so a survivor fails the runs of a dead one.
 * cluster_secrets: secrets every instance must share (JWT signing when JWT_SECRET is unset, the internal
 * endpoint's), created once by whichever instance starts first.
 */
export class Migration20261130000080_cluster extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table cluster_instances (
        id text primary key,
        address text not null,
        state text not null default 'LIVE' check (state in ('LIVE', 'DRAINING', 'GONE')),
        started_at timestamptz not null default now(),
        expires_at timestamptz not null
      );`);
    this.addSql(`
      create table balance_leases (
        user_id uuid primary key references users(id) on delete cascade,
        instance_id text not null,
        epoch bigint not null check (epoch > 0),
        acquired_at timestamptz not null default now()
      );`);
    this.addSql(`create index balance_leases_instance_index on balance_leases (instance_id);`);
    this.addSql(`alter table users add column balance_epoch bigint not null default 0;`);
    this.addSql(`alter table flow_runs add column instance_id text null;`);
    this.addSql(`create index flow_runs_running_instance_index on flow_runs (instance_id) where status = 'RUNNING';`);
    this.addSql(`
      create table cluster_secrets (
        name text primary key,
        secret text not null,
        created_at timestamptz not null default now()
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table cluster_secrets;`);
    this.addSql(`drop index flow_runs_running_instance_index;`);
    this.addSql(`alter table flow_runs drop column instance_id;`);
    this.addSql(`alter table users drop column balance_epoch;`);
    this.addSql(`drop table balance_leases;`);
    this.addSql(`drop table cluster_instances;`);
  }
}
