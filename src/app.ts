import type { MikroORM } from '@mikro-orm/postgresql';
import { Auth } from './accounts/auth';
import { AccountService } from './accounts/service';
import { verifyLedger } from './balance/ledger';
import { BalanceService } from './balance/service';
import type { Config } from './config';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded';
import { openOrm } from './db/orm';
import { startHttpServer } from './graphql/server';
import { createLogger, type Logger } from './logger';
import { PubSub, topics } from './realtime/pubsub';
import type { Services } from './services';

export interface App {
  /** http://host:port/graphql — also the websocket endpoint (ws://). */
  url: string;
  port: number;
  services: Services;
  /** Stops taking requests, lets running ones finish, commits the journal, closes the database. */
  close(): Promise<void>;
}

export class LedgerMismatchError extends Error {}

/** The one place the service is wired. main.ts and the tests both call it. */
export async function bootstrap(config: Config, opts: { log?: Logger } = {}): Promise<App> {
  const log = opts.log ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const orm = await openDatabase(config, log, cleanups);
    await checkBooks(orm, log);
    const auth = Auth.create({ secret: config.jwtSecret, dataDir: config.dataDir, ttlSeconds: config.jwtTtlSeconds, log });
    const pubsub = new PubSub();
    const balance = new BalanceService(orm, config.balance, log);
    balance.addListener({ changed: (userId, snapshot) => pubsub.publish(topics.balance(userId), snapshot) });
    balance.start();
    cleanups.push(() => balance.stop());
    const accounts = new AccountService(orm, auth, config);
    const services: Services = { config, log, orm, auth, accounts, balance, pubsub };
    const http = await startHttpServer(services);
    cleanups.push(() => http.close());
    return { url: http.url, port: http.port, services, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function openDatabase(config: Config, log: Logger, cleanups: Array<() => Promise<void>>): Promise<MikroORM> {
  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    cleanups.push(() => embedded!.close());
  }
  const orm = await openOrm({ url: config.databaseUrl ?? embedded!.url, singleConnection: !!embedded, log });
  cleanups.push(() => orm.close());
  return orm;
}

/** users.tokens must equal the sum of each user's ledger; starting on broken books would hide it. */
async function checkBooks(orm: MikroORM, log: Logger): Promise<void> {
  const { users, mismatches } = await verifyLedger(orm);
  if (mismatches.length > 0) {
    log.fatal({ mismatches: mismatches.slice(0, 20), count: mismatches.length }, 'ledger does not match balances');
    throw new LedgerMismatchError(`ledger check failed for ${mismatches.length} user(s); run npm run ledger:verify`);
  }
  log.info({ users }, 'ledger check passed: every balance equals the sum of its ledger');
}
