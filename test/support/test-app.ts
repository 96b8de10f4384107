import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createScratchDatabase } from '../../bench/support/database';
import { bootstrap, type App, type BootstrapOptions } from '../../src/app';
import { loadConfig } from '../../src/config';
import { copyEmbeddedTemplate, currentTemplate, newDataDir } from './database-template';
import { gql } from './graphql-client';

/**
 * Where a test's database lives. Unset TEST_DATABASE_URL: the embedded PGlite in a fresh temporary
 * DATA_DIR. Set (CI's second pass): a fresh database created on that PostgreSQL server. Under jest
 * both start as a copy of the run's migrated template (./database-template.ts), so the service's
 * migrations find nothing to do; without a fitting template they start empty and are migrated.
 */
export interface TestDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A database of its own for one test: a copy of the run's migrated template, or an empty one with
 * `{ empty: true }` (for tests that run the migrations themselves; on the embedded database a copy
 * of the run's freshly initialised, unmigrated one).
 */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = newDataDir();
  const server = process.env.TEST_DATABASE_URL;
  const template = currentTemplate(server);
  if (!server) {
    // Empty: as initdb left it (copied when the run has a template, else PGlite's initdb at start).
    if (template) copyEmbeddedTemplate(template, dataDir, opts);
    return { env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const scratch = await createScratchDatabase(server, 'andora_test', opts.empty ? undefined : template?.database);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: scratch.url.toString() },
    drop: async () => {
      await scratch.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/**
 * Every test signs its users up and in from 127.0.0.1: the per-address limits are lifted for the
 * suite (test/login-throttle.test.ts sets its own). The per-email failure limits stay the defaults.
 */
export const UNTHROTTLED = { SIGNUP_PER_ADDRESS_MAX: '1000000', SIGNIN_PER_ADDRESS_MAX: '1000000' };

/**
 * In-process test apps under NODE_ENV=test hash passwords at argon2's lowest cost: hundreds of
 * sign-ups at the production cost were a visible share of the suite's CPU. The production cost is
 * checked in test/config.test.ts; servers run as child processes keep it.
 */
export const CHEAP_PASSWORD_HASH = { PASSWORD_HASH_MEMORY_KIB: '8', PASSWORD_HASH_ITERATIONS: '1' };

export interface TestApp {
  app: App;
  url: string;
  db: TestDatabase;
  env: Record<string, string>;
  /** Signs up a fresh user; returns its token and id. */
  signUp(email?: string, password?: string): Promise<{ token: string; userId: string; email: string }>;
  /** Stops the server; keeps the database unless `drop` is true. */
  close(opts?: { drop?: boolean }): Promise<void>;
}

let counter = 0;

export async function startTestApp(env: Record<string, string> = {}, db?: TestDatabase, opts: BootstrapOptions = {}): Promise<TestApp> {
  const database = db ?? (await createTestDatabase());
  const fullEnv = {
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    ...UNTHROTTLED,
    // Refused outside NODE_ENV=test: apps started as production or development keep the default cost.
    ...((env.NODE_ENV ?? 'test') === 'test' ? CHEAP_PASSWORD_HASH : {}),
    ...database.env,
    ...env,
  };
  const app = await bootstrap(loadConfig(fullEnv), opts);
  return {
    app,
    url: app.url,
    db: database,
    env: fullEnv,
    signUp: async (email = `user${++counter}-${randomBytes(4).toString('hex')}@example.com`, password = 'correct horse battery') => {
      const res = await gql(app.url, 'mutation($e:String!,$p:String!){ signUp(input:{email:$e,password:$p}){ token user { id } } }', { e: email, p: password });
      if (!res.data) throw new Error(`signUp failed: ${JSON.stringify(res.errors)}`);
      return { token: res.data.signUp.token, userId: res.data.signUp.user.id, email };
    },
    close: async (opts = {}) => {
      await app.close();
      if (opts.drop ?? true) await database.drop();
    },
  };
}
