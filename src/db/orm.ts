import type { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { MIGRATION_NAMES } from '../../migrations/names';
import { ENTITIES } from './entities';

export interface OrmOptions {
  url: string;
  /** The embedded database serves exactly one connection (see embedded.ts). */
  singleConnection: boolean;
  /** Largest pool against a real server. @default 10 */
  poolMax?: number;
  log: Logger;
}

const POOL_MAX_DEFAULT = 10;
/** MikroORM's table of applied migrations (its default name, in the default schema). */
const MIGRATIONS_TABLE = 'public.mikro_orm_migrations';

export function ormConfig(opts: OrmOptions): Options {
  return {
    clientUrl: opts.url,
    entities: ENTITIES,
    discovery: { warnWhenNoEntities: true },
    // The pool: with tarn, `max` alone fails; min 0 lets an idle embedded connection close cleanly.
    pool: opts.singleConnection ? { min: 0, max: 1 } : { min: 0, max: opts.poolMax ?? POOL_MAX_DEFAULT },
    // The list of migrations is added by migratorOf, which loads them.
    migrations: {
      tableName: MIGRATIONS_TABLE,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    // Never implicitly use the global EntityManager: every request and flush forks its own.
    allowGlobalContext: false,
    // PGlite's CommonJS build and the dialect load modules with import(); jest needs the require path.
    dynamicImportProvider: (id: string) => import(id),
    // Every SQL statement at LOG_LEVEL=debug (tests count them to prove batching).
    logger: (message: string) => opts.log.debug({ orm: message }),
    debug: opts.log.isLevelEnabled('debug') ? ['query'] : false,
  };
}

/**
 * The names of the migrations the database has not applied, from one query on MikroORM's table (all of
 * them when the table does not exist yet). MikroORM's Migrator decides the same from the same table;
 * asking it means loading @mikro-orm/migrations and umzug (224 modules, about 50 ms of CPU at every
 * start, and at every /readyz its own queries), which only a database with something to apply needs.
 */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  const connection = orm.em.getConnection();
  const [table] = await connection.execute<Array<{ present: boolean }>>(`select to_regclass('${MIGRATIONS_TABLE}') is not null as present`);
  if (!table?.present) return [...MIGRATION_NAMES];
  const rows = await connection.execute<Array<{ name: string }>>(`select name from ${MIGRATIONS_TABLE}`);
  const applied = new Set(rows.map((row) => row.name));
  return MIGRATION_NAMES.filter((name) => !applied.has(name));
}

/** MikroORM's Migrator with every migration, both loaded now. */
export function migratorOf(orm: MikroORM): Migrator {
  const options = orm.config.get('migrations');
  if (!options.migrationsList) {
    const { MIGRATIONS } = require('../../migrations') as typeof import('../../migrations');
    orm.config.set('migrations', { ...options, migrationsList: MIGRATIONS });
  }
  return orm.getMigrator() as Migrator;
}

/** Connects and applies every pending migration. */
export async function openOrm(opts: OrmOptions): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(opts));
  if ((await pendingMigrations(orm)).length === 0) return orm;
  const applied = await migratorOf(orm).up();
  if (applied.length > 0) opts.log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  return orm;
}

/** True when the database answers and no migration is pending. */
export async function isReady(orm: MikroORM): Promise<boolean> {
  try {
    return (await pendingMigrations(orm)).length === 0;
  } catch {
    return false;
  }
}
