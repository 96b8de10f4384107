import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { MIGRATIONS } from '../migrations';
import { MIGRATION_NAMES } from '../migrations/names';
import { TEMPLATE_ENV, currentTemplate } from './support/database-template';
import { createTestDatabase, startTestApp, type TestApp } from './support/test-app';

/**
 * Test apps start from a copy of one template migrated per jest run (test/support/database-template.ts).
 * The copy must be exactly what the migrations build, and a template built from other migration files
 * must never be used.
 */

/** Every table, column, constraint, index, trigger and function of the public schema, in a stable order. */
const SCHEMA_SQL = `
  select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable || ' default=' || coalesce(column_default, '') as line
    from information_schema.columns where table_schema = 'public'
  union all
  select 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    from pg_constraint where connamespace = 'public'::regnamespace
  union all
  select 'index ' || indexdef from pg_indexes where schemaname = 'public'
  union all
  select 'trigger ' || tgrelid::regclass::text || ' ' || pg_get_triggerdef(oid)
    from pg_trigger where not tgisinternal and tgrelid in (select oid from pg_class where relnamespace = 'public'::regnamespace)
  union all
  select 'function ' || pg_get_functiondef(p.oid) from pg_proc p where pronamespace = 'public'::regnamespace
  order by 1`;

/** This test migrates a database from nothing, the slow start the template saves; a backstop against a hang,
 * generous because a saturated two-core machine once took over 120 s (then with PGlite's initdb in it too). */
const FRESH_MIGRATION_TEST_MS = 300_000;

interface Started {
  app: TestApp;
  /** The log lines of its start, info level and up. */
  lines: string[];
}

async function startLogged(env: Record<string, string> = {}, fresh = false): Promise<Started> {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  // Fresh: a database without any migration (on the embedded database, a copy of the run's unmigrated one).
  const db = await createTestDatabase({ empty: fresh });
  return { app: await startTestApp(env, db, { log: pino({ level: 'info' }, sink) }), lines };
}

const migrationsApplied = (lines: string[]): string[][] =>
  lines.map((l) => JSON.parse(l) as { msg: string; migrations?: string[] }).filter((l) => l.msg === 'migrations applied').map((l) => l.migrations ?? []);

async function schemaOf(t: TestApp): Promise<string[]> {
  const rows = await t.app.services.orm.em.fork().execute<Array<{ line: string }>>(SCHEMA_SQL);
  return rows.map((r) => r.line);
}

async function appliedMigrations(t: TestApp): Promise<string[]> {
  const rows = await t.app.services.orm.em.fork().execute<Array<{ name: string }>>('select name from mikro_orm_migrations order by id');
  return rows.map((r) => r.name);
}

const MIGRATIONS_DIR = join(__dirname, '../migrations');

describe('test databases', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it('list every migration file once, in order, under the same names for the check at start and for the Migrator', () => {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^Migration\d+_\w+\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(MIGRATIONS.map((m) => m.name)).toEqual(files);
    expect([...MIGRATION_NAMES]).toEqual(files);
    for (const m of MIGRATIONS) expect(m.class.name).toBe(m.name);
  });

  it('start as a copy of the migrated template: the migrations at start find nothing to do, and the schema is the one they build', async () => {
    expect(currentTemplate(process.env.TEST_DATABASE_URL)).toBeDefined();
    const copy = await startLogged();
    apps.push(copy.app);
    const fresh = await startLogged({}, true);
    apps.push(fresh.app);

    expect(migrationsApplied(copy.lines)).toEqual([]);
    expect(migrationsApplied(fresh.lines)).toEqual([MIGRATIONS.map((m) => m.name)]);
    expect(await appliedMigrations(copy.app)).toEqual(MIGRATIONS.map((m) => m.name));
    const schema = await schemaOf(copy.app);
    expect(schema.length).toBeGreaterThan(MIGRATIONS.length);
    expect(schema).toEqual(await schemaOf(fresh.app));
  }, FRESH_MIGRATION_TEST_MS);

  it('are empty: a copy holds no rows of another test', async () => {
    const first = await startLogged();
    apps.push(first.app);
    await first.app.signUp();
    const second = await startLogged();
    apps.push(second.app);
    const [row] = await second.app.app.services.orm.em.fork().execute<Array<{ n: string }>>('select count(*) as n from users');
    expect(Number(row!.n)).toBe(0);
  });

  it('never use a template built from other migration files, or for another database server', () => {
    const saved = process.env[TEMPLATE_ENV]!;
    const template = JSON.parse(saved) as { key: string; server?: string };
    try {
      process.env[TEMPLATE_ENV] = JSON.stringify({ ...template, key: 'built from other migrations' });
      expect(currentTemplate(process.env.TEST_DATABASE_URL)).toBeUndefined();
      process.env[TEMPLATE_ENV] = JSON.stringify({ ...template, server: template.server ? undefined : 'postgres://postgres@127.0.0.1:5432/postgres' });
      expect(currentTemplate(process.env.TEST_DATABASE_URL)).toBeUndefined();
    } finally {
      process.env[TEMPLATE_ENV] = saved;
    }
    expect(currentTemplate(process.env.TEST_DATABASE_URL)).toEqual(template);
  });
});
