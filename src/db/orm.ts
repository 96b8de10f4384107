import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { MIGRATIONS } from '../../migrations';
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

export function ormConfig(opts: OrmOptions): Options {
  return {
    clientUrl: opts.url,
    entities: ENTITIES,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: true },
    // The pool: with tarn, `max` alone fails; min 0 lets an idle embedded connection close cleanly.
    pool: opts.singleConnection ? { min: 0, max: 1 } : { min: 0, max: opts.poolMax ?? POOL_MAX_DEFAULT },
    migrations: {
      migrationsList: MIGRATIONS,
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

/** Connects and applies every pending migration. */
export async function openOrm(opts: OrmOptions): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(opts));
  const applied = await orm.getMigrator().up();
  if (applied.length > 0) opts.log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  return orm;
}

/** True when the database answers and no migration is pending. */
export async function isReady(orm: MikroORM): Promise<boolean> {
  try {
    await orm.em.getConnection().execute('select 1');
    const pending = await orm.getMigrator().getPendingMigrations();
    return pending.length === 0;
  } catch {
    return false;
  }
}
