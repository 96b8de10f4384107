import { randomBytes, randomInt } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import { Client } from 'pg';
import { gql, wsClient, type GraphQLResponse } from './graphql-client';
import { serverProcessEnv, startServerProcess, type Exit, type ServerProcess } from './server-process';
import type { TestDatabase } from './test-app';
import { within } from './wait';

/**
 * Several real server processes (`node dist/src/main.js`, ./server-process.ts) on one PostgreSQL
 * database and one Redis: the clustered mode of issue 17, as the cluster tests and `npm run
 * bench:cluster` run it. Each instance listens on a free port of its own (PORT=0, the URL read from
 * its log line) under the name `i1`, `i2`, … (INSTANCE_ID); replacements get the next free name.
 *
 * Redis is shared by everyone on the machine, so every cluster gets a REDIS_PREFIX of its own: two
 * runs never see each other's messages. Without a Redis URL the harness runs one instance alone
 * (the single-instance mode): several instances without Redis would each be a writer of its own.
 */

/** @default 3 */
export const CLUSTER_INSTANCES_DEFAULT = 3;
/** Instances one cluster may run at once, replacements included (a bound, not a target). */
export const CLUSTER_INSTANCES_MAX = 16;
/** Instance names handed out over a cluster's life (`i1` … `i64`): starts and replacements. */
export const INSTANCE_STARTS_MAX = 64;
/** @default 5_000, the service's own default (src/config.ts). */
export const LEASE_TTL_MS_DEFAULT = 5_000;
/** How long a SIGTERM'd instance may take to drain, hand its leases over and exit. */
export const STOP_WAIT_MS = 30_000;
/** How long a kill -9 takes to be reported by the operating system (a backstop). */
export const KILL_WAIT_MS = 10_000;

export interface ClusterOptions {
  /** The database every instance uses: a PostgreSQL server database (its env carries DATABASE_URL). */
  db: TestDatabase;
  /** @default CLUSTER_INSTANCES_DEFAULT; must be 1 without `redisUrl`. */
  instances?: number;
  /** REDIS_URL of the instances: clustered mode. @default process.env.TEST_REDIS_URL */
  redisUrl?: string | undefined;
  /** LEASE_TTL_MS of the instances. @default LEASE_TTL_MS_DEFAULT */
  leaseTtlMs?: number;
  /** Signs up as ADMIN (ADMIN_EMAILS). */
  adminEmail: string;
  /** More environment for every instance (a fake provider, thresholds, LOG_LEVEL …). */
  env?: Record<string, string>;
}

export interface Instance {
  /** Its INSTANCE_ID: `i1`, `i2`, … */
  id: string;
  /** http://127.0.0.1:PORT/graphql, from its log line. */
  url: string;
  process: ServerProcess;
  /** Exactly the environment it was started with. */
  env: Record<string, string>;
}

/** Who owns a user's balance, as the instances recorded it (migration 80). */
export interface Owner {
  instanceId: string;
  epoch: number;
  address: string;
  expiresAt: Date;
  state: string;
}

export interface Cluster {
  /** Instances receiving requests: started and neither killed nor told to stop. */
  readonly live: readonly Instance[];
  /** Every instance ever started, by id (stopped ones included, for their logs). */
  readonly all: ReadonlyMap<string, Instance>;
  readonly redisPrefix: string | undefined;
  readonly leaseTtlMs: number;
  readonly databaseUrl: string | undefined;
  /** A live instance picked at random, as a load balancer without affinity would. */
  pick(): Instance;
  /** A live instance by id; throws when it is not live. */
  instance(id: string): Instance;
  /** One GraphQL operation over HTTP to a random live instance (or `on`). */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string, on?: Instance): Promise<GraphQLResponse<T> & { instance: string }>;
  /** A graphql-ws client on a random live instance (or `on`). Dispose it yourself. */
  ws(token: string | undefined, on?: Instance): { client: WsClient; instance: Instance };
  /** Starts one more instance (next free id, or `id`) and resolves once it listens. */
  start(opts?: { id?: string; env?: Record<string, string> }): Promise<Instance>;
  /** kill -9: the instance leaves `live` at once, before the signal is sent. */
  kill9(id: string): Promise<Exit>;
  /** SIGTERM: the instance leaves `live` at once (a load balancer stops routing to it), then drains. */
  stop(id: string, waitMs?: number): Promise<Exit>;
  /**
   * Replaces every instance live now, one at a time: start the replacement, wait until it listens,
   * then SIGTERM the old one and wait for its exit (a deploy with one instance of surge). With
   * `order: 'stop-first'` the old one stops before its replacement starts (no surge).
   */
  rollingRestart(opts?: { order?: 'surge' | 'stop-first'; onStep?: (step: RestartStep) => void }): Promise<RestartStep[]>;
  /** Resolves once a log line of instance `id` satisfies `match` (earlier lines count). */
  waitForLog(id: string, match: (entry: Record<string, unknown>) => boolean, ms: number, what: string): Promise<void>;
  /** The owner of `userId`'s balance, from balance_leases and cluster_instances; undefined when none. */
  owner(userId: string): Promise<Owner | undefined>;
  /** SIGKILLs every instance still running (the database is the caller's). */
  close(): Promise<void>;
}

export interface RestartStep {
  stopped: string;
  started: string;
  exit: Exit;
}

/** The environment of instance `id` of a cluster: the test server's, plus the clustered-mode variables. */
export function instanceEnv(
  opts: Pick<ClusterOptions, 'db' | 'adminEmail' | 'env'> & { id: string; redisUrl: string | undefined; redisPrefix: string | undefined; leaseTtlMs: number },
): Record<string, string> {
  const clustered: Record<string, string> = opts.redisUrl
    ? { REDIS_URL: opts.redisUrl, REDIS_PREFIX: opts.redisPrefix!, LEASE_TTL_MS: String(opts.leaseTtlMs) }
    : {};
  return serverProcessEnv(opts.db, opts.adminEmail, { INSTANCE_ID: opts.id, ...clustered, ...opts.env });
}

/**
 * Starts the instances: the first alone (it runs any migration the database still needs, which two
 * instances must not do at once), then the others together.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const redisUrl = 'redisUrl' in opts ? opts.redisUrl : process.env.TEST_REDIS_URL;
  const count = opts.instances ?? CLUSTER_INSTANCES_DEFAULT;
  if (!Number.isSafeInteger(count) || count < 1 || count > CLUSTER_INSTANCES_MAX) {
    throw new Error(`instances: 1 to ${CLUSTER_INSTANCES_MAX}, got ${count}`);
  }
  if (!redisUrl && count > 1) {
    throw new Error('several instances need a Redis URL (clustered mode): without REDIS_URL each instance would be a balance writer of its own');
  }
  const leaseTtlMs = opts.leaseTtlMs ?? LEASE_TTL_MS_DEFAULT;
  // REDIS_PREFIX: up to 64 of A-Z a-z 0-9 . _ - (src/config.ts).
  const redisPrefix = redisUrl ? `andora-test-${process.pid}-${randomBytes(4).toString('hex')}` : undefined;
  const all = new Map<string, Instance>();
  let live: Instance[] = [];
  let starts = 0;

  const nextId = () => {
    for (;;) {
      if (starts >= INSTANCE_STARTS_MAX) throw new Error(`more than ${INSTANCE_STARTS_MAX} instance starts in one cluster`);
      const id = `i${++starts}`;
      if (!all.has(id)) return id;
    }
  };
  const start = async (startOpts: { id?: string; env?: Record<string, string> } = {}): Promise<Instance> => {
    if (live.length >= CLUSTER_INSTANCES_MAX) throw new Error(`${CLUSTER_INSTANCES_MAX} instances are live already`);
    const id = startOpts.id ?? nextId();
    const env = instanceEnv({ ...opts, env: { ...opts.env, ...startOpts.env }, id, redisUrl, redisPrefix, leaseTtlMs });
    const server = await startServerProcess(env);
    const instance: Instance = { id, url: server.url, process: server, env };
    all.set(id, instance);
    live.push(instance);
    return instance;
  };
  const instance = (id: string): Instance => {
    const found = live.find((i) => i.id === id);
    if (!found) throw new Error(`instance ${id} is not live (live: ${live.map((i) => i.id).join(', ') || 'none'})`);
    return found;
  };
  const leave = (id: string): Instance => {
    const found = instance(id);
    live = live.filter((i) => i !== found);
    return found;
  };
  const pick = (): Instance => {
    if (live.length === 0) throw new Error('no live instance');
    return live[randomInt(live.length)]!;
  };
  const stop = async (id: string, waitMs = STOP_WAIT_MS): Promise<Exit> => within(leave(id).process.kill('SIGTERM'), waitMs, `instance ${id} to exit after SIGTERM`);
  const databaseUrl = opts.db.env.DATABASE_URL;

  try {
    await start();
    await Promise.all(Array.from({ length: count - 1 }, () => start()));
  } catch (err) {
    await Promise.all([...all.values()].map((i) => i.process.kill('SIGKILL')));
    throw err;
  }

  return {
    get live() {
      return live;
    },
    all,
    redisPrefix,
    leaseTtlMs,
    databaseUrl,
    pick,
    instance,
    gql: async (query, variables = {}, token, on) => {
      const target = on ?? pick();
      return { ...(await gql(target.url, query, variables, token)), instance: target.id };
    },
    ws: (token, on) => {
      const target = on ?? pick();
      return { client: wsClient(target.url, token), instance: target };
    },
    start,
    kill9: (id) => within(leave(id).process.kill('SIGKILL'), KILL_WAIT_MS, `instance ${id} to exit after SIGKILL`),
    stop,
    rollingRestart: async ({ order = 'surge', onStep } = {}) => {
      const steps: RestartStep[] = [];
      for (const old of [...live]) {
        let started: Instance;
        let exit: Exit;
        if (order === 'surge') {
          started = await start();
          exit = await stop(old.id);
        } else {
          exit = await stop(old.id);
          started = await start();
        }
        const step = { stopped: old.id, started: started.id, exit };
        steps.push(step);
        onStep?.(step);
      }
      return steps;
    },
    waitForLog: (id, match, ms, what) => {
      const found = all.get(id);
      if (!found) throw new Error(`no instance ${id}`);
      return found.process.waitForLog(match, ms, `instance ${id}: ${what}`);
    },
    owner: (userId) => (databaseUrl ? ownerOf(databaseUrl, userId) : Promise.resolve(undefined)),
    close: async () => {
      live = [];
      await Promise.all([...all.values()].map((i) => i.process.kill('SIGKILL')));
    },
  };
}

/**
 * The owner of a balance, as PostgreSQL records it: the lease (balance_leases) joined to its
 * instance (cluster_instances), the tables of migration 80. A lease whose instance expired is still
 * returned (with its expiresAt): whether it is over is the caller's question.
 */
export async function ownerOf(databaseUrl: string, userId: string): Promise<Owner | undefined> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ instance_id: string; epoch: string; address: string; expires_at: Date; state: string }>(
      `select l.instance_id, l.epoch, i.address, i.expires_at, i.state
         from balance_leases l join cluster_instances i on i.id = l.instance_id
        where l.user_id = $1`,
      [userId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { instanceId: row.instance_id, epoch: Number(row.epoch), address: row.address, expiresAt: row.expires_at, state: row.state };
  } finally {
    await client.end();
  }
}
