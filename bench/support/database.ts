import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { openOrm } from '../../src/db/orm';
import { inTransaction } from '../../src/db/transaction';
import type { Logger } from '../../src/logger';

/** The database a benchmark runs against, migrated and empty; `close()` removes it. */
export interface BenchDatabase {
  kind: 'postgresql' | 'pglite';
  /** For the report: server version and where it lives (no credentials). */
  description: string;
  orm: MikroORM;
  /** Connections the ORM pool may open. */
  poolMax: number;
  /**
   * CPU time (ms) used so far by this database's server backends, read from /proc: only for a
   * server on this machine; undefined otherwise. PGlite runs inside this process instead.
   */
  serverCpuMs(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** The ORM pool against a real server: the service's own default (src/db/orm.ts). */
const POOL_MAX_POSTGRESQL = 10;

/**
 * `serverUrl` set: a fresh database created on that server and dropped at the end, as the tests do.
 * Unset: the embedded PGlite in a fresh temporary directory, deleted at the end.
 */
export async function openBenchDatabase(serverUrl: string | undefined, log: Logger): Promise<BenchDatabase> {
  if (serverUrl) return openOnServer(serverUrl, log);
  const dataDir = mkdtempSync(join(tmpdir(), 'andora-bench-'));
  try {
    const embedded = await startEmbeddedPostgres(dataDir, log);
    const orm = await openOrm({ url: embedded.url, singleConnection: true, log });
    return {
      kind: 'pglite',
      description: `PGlite ${await serverVersion(orm)} (embedded, temp dir, one connection over pglite-socket)`,
      orm,
      poolMax: 1,
      serverCpuMs: async () => undefined,
      close: async () => {
        await orm.close();
        await embedded.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function openOnServer(serverUrl: string, log: Logger): Promise<BenchDatabase> {
  const { url, name, drop } = await createScratchDatabase(serverUrl);
  try {
    const orm = await openOrm({ url: url.toString(), singleConnection: false, poolMax: POOL_MAX_POSTGRESQL, log });
    return {
      kind: 'postgresql',
      description: `PostgreSQL ${await serverVersion(orm)} at ${url.host}, database ${name} (dropped afterwards)`,
      orm,
      poolMax: POOL_MAX_POSTGRESQL,
      serverCpuMs: () => backendCpuMs(orm, url.hostname),
      close: async () => {
        await orm.close();
        await drop();
      },
    };
  } catch (err) {
    await drop();
    throw err;
  }
}

/**
 * A fresh, empty database on that server (no migrations yet) and how to drop it. Also the test
 * suite's database on a server (test/support/test-app.ts), with its own name prefix, as a copy of
 * `template` (a migrated database nobody is connected to) when given.
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix = 'andora_bench',
  template?: string,
): Promise<{ url: URL; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, template ? `create database ${name} template ${template}` : `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url, name, drop: () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`) };
}

/** One statement on a connection of its own, closed right after (a template must be left with none). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const PROC_TICKS_PER_SEC = 100;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * utime + stime of every backend connected to our database. Backends that exit between two readings
 * are lost, so the difference is a lower bound; the pool keeps its connections for the whole run.
 */
async function backendCpuMs(orm: MikroORM, host: string): Promise<number | undefined> {
  if (!LOCAL_HOSTS.has(host)) return undefined;
  const rows = await orm.em
    .fork()
    .execute<Array<{ pid: number }>>(`select pid from pg_stat_activity where datname = current_database()`);
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return undefined;
    }
  }
  return (ticks / PROC_TICKS_PER_SEC) * 1_000;
}

async function serverVersion(orm: MikroORM): Promise<string> {
  const [row] = await orm.em.fork().execute<Array<{ v: string }>>(`select current_setting('server_version') as v`);
  return row?.v ?? '?';
}

/**
 * Inserts `count` users holding `tokens` each, with the GRANT ledger row that explains each balance,
 * in two set-based statements. Returns their ids in a stable order (by email).
 */
/**
 * `count` users with `tokens` each, as sign-up leaves them: a GRANT ledger row and the grant rows
 * (migration 50). One grant (SIGNUP) per user, or with `grantsPerUser` 3: a promotion expiring in a
 * day (burned first), an admin grant and a purchase, a third of the tokens each (the rest to the
 * purchase), as a user of the credits feature holds them. `prefix` keeps sets apart.
 */
export async function seedUsers(orm: MikroORM, count: number, tokens: number, opts: { grantsPerUser?: 1 | 3; prefix?: string } = {}): Promise<string[]> {
  const prefix = opts.prefix ?? 'bench-';
  await inTransaction(orm, async (tx) => {
    await tx.execute(
      `insert into users (email, password_hash, tokens, plan)
       select ? || lpad(i::text, 7, '0') || '@example.invalid', 'not-a-hash', ?, 'free'
         from generate_series(1, ?) as i`,
      [prefix, tokens, count],
    );
    await tx.execute(
      `insert into token_ledger (id, user_id, kind, amount, balance_after, metadata)
       select gen_random_uuid(), id, 'GRANT', tokens, tokens, '{"reason":"benchmark seed"}'::jsonb from users where email like ? || '%'`,
      [prefix],
    );
    if ((opts.grantsPerUser ?? 1) === 1) {
      await tx.execute(
        `insert into token_grants (id, user_id, source, amount, remaining, priority, reason)
         select gen_random_uuid(), id, 'SIGNUP', tokens, tokens, 50, 'benchmark seed' from users where email like ? || '%' and tokens > 0`,
        [prefix],
      );
    } else {
      const third = Math.floor(tokens / 3);
      await tx.execute(
        `insert into token_grants (id, user_id, source, amount, remaining, priority, expires_at, reason)
         select gen_random_uuid(), u.id, g.source, g.amount, g.amount, g.priority, g.expires_at, 'benchmark seed'
           from users u cross join (values ('PROMOTION', ?::bigint, 20, now() + interval '1 day'), ('ADMIN', ?::bigint, 50, null::timestamptz),
                                           ('PURCHASE', ?::bigint, 100, null::timestamptz)) as g(source, amount, priority, expires_at)
          where u.email like ? || '%'`,
        [third, third, tokens - 2 * third, prefix],
      );
    }
  });
  const rows = await orm.em.fork().execute<Array<{ id: string }>>(`select id from users where email like ? || '%' order by email`, [prefix]);
  return rows.map((r) => r.id);
}
