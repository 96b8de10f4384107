/**
 * `npm run cluster`: three instances of the service on one PostgreSQL and Redis, behind HAProxy
 * (deploy/haproxy.cfg), for trying the clustered mode of issue 17 on one machine.
 *
 *   npm run cluster
 *   DATABASE_URL=postgres://… REDIS_URL=redis://… npm run cluster
 *
 * DATABASE_URL defaults to the database `andora_cluster` on the local PostgreSQL (created if
 * missing), REDIS_URL to the local Redis. The instances listen on 127.0.0.1:4001-4003 (INSTANCE_ID
 * i1-i3) and HAProxy on 127.0.0.1:4000 when it is installed. Every other variable of the
 * environment reaches the instances as it is (README, "Environment"; without JWT_SECRET they share a
 * signing key kept in the database). Ctrl-C stops them all (SIGTERM: each drains and hands its
 * balances over); a second Ctrl-C kills them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';

const ROOT = resolve(__dirname, '../..');
const MAIN_JS = join(ROOT, 'dist/src/main.js');
const HAPROXY_CFG = join(ROOT, 'deploy/haproxy.cfg');

/** The instances deploy/haproxy.cfg sends traffic to: change both together. */
const INSTANCES = [
  { id: 'i1', port: 4001 },
  { id: 'i2', port: 4002 },
  { id: 'i3', port: 4003 },
] as const;
const FRONTEND_URL = 'http://127.0.0.1:4000/graphql';
const STATS_URL = 'http://127.0.0.1:4099/';
const DATABASE_URL_DEFAULT = 'postgres://postgres@127.0.0.1:5432/andora_cluster';
const REDIS_URL_DEFAULT = 'redis://127.0.0.1:6379';
const LISTENING_MSG = 'GraphQL over HTTP and websocket listening';
/** Longest an instance may take to listen (migrations on a new database included). */
const START_TIMEOUT_MS = 120_000;

const children = new Map<string, ChildProcess>();
let stopping = false;
/** 1 once something failed: the exit code when the last process has ended. */
let exitCode = 0;

function say(line: string): void {
  process.stdout.write(`[cluster] ${line}\n`);
}

/** Creates the database DATABASE_URL names when it does not exist, connecting to `postgres` beside it. */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`DATABASE_URL: a database name of letters, digits and _ expected, got "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`create database ${name}`);
      say(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

/** Runs `command`, its output prefixed with `[name]`; resolves once a line satisfies `ready` (or at once without one). */
function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, ready?: (line: string) => boolean): Promise<void> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(name, child);
  return new Promise((resolveReady, rejectReady) => {
    const timer = ready ? setTimeout(() => rejectReady(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS) : undefined;
    const onLine = (line: string) => {
      process.stdout.write(`[${name}] ${line}\n`);
      if (ready?.(line)) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('error', (err) => {
      clearTimeout(timer);
      rejectReady(err);
    });
    child.once('exit', (code, signal) => {
      children.delete(name);
      clearTimeout(timer);
      rejectReady(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready`));
      if (!stopping) {
        exitCode = 1;
        say(`${name} exited (${signal ?? `code ${code}`}); the others keep serving. Ctrl-C stops them.`);
      }
      if (children.size === 0) process.exit(exitCode);
    });
    if (!ready) resolveReady();
  });
}

async function startInstance(id: string, port: number, shared: NodeJS.ProcessEnv): Promise<void> {
  const env = { ...shared, INSTANCE_ID: id, PORT: String(port), HOST: '127.0.0.1' };
  await run(id, process.execPath, [MAIN_JS], env, (line) => line.includes(LISTENING_MSG));
  say(`${id} listens on 127.0.0.1:${port} (pid ${children.get(id)?.pid}; \`kill -9\` it to watch a takeover)`);
}

function haproxyInstalled(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
}

/** SIGTERM to every child (each drains and hands over); a second Ctrl-C sends SIGKILL. */
function stopAll(signal: NodeJS.Signals): void {
  if (children.size === 0) process.exit(exitCode);
  say(stopping ? 'killing every process (SIGKILL)' : `stopping every process (SIGTERM); Ctrl-C again to kill them`);
  for (const child of children.values()) child.kill(stopping ? 'SIGKILL' : signal);
  stopping = true;
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} does not exist: run \`npm run build\` (npm run cluster does)`);
  const databaseUrl = process.env.DATABASE_URL ?? DATABASE_URL_DEFAULT;
  const redisUrl = process.env.REDIS_URL ?? REDIS_URL_DEFAULT;
  await ensureDatabase(databaseUrl);
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  const shared: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    // HAProxy appends the client's address to X-Forwarded-For (option forwardfor).
    TRUST_PROXY: process.env.TRUST_PROXY ?? '1',
  };
  say(`database ${new URL(databaseUrl).host}${new URL(databaseUrl).pathname}, Redis ${new URL(redisUrl).host}`);
  // The first alone: it runs the migrations a new database needs, which two instances must not do at once.
  const [first, ...rest] = INSTANCES;
  await startInstance(first.id, first.port, shared);
  await Promise.all(rest.map((i) => startInstance(i.id, i.port, shared)));
  const direct = INSTANCES.map((i) => `http://127.0.0.1:${i.port}/graphql`).join(', ');
  if (haproxyInstalled()) {
    await run('haproxy', 'haproxy', ['-db', '-f', HAPROXY_CFG], process.env);
    say(`ready: ${FRONTEND_URL} (HTTP and websocket, through HAProxy; its view of the instances: ${STATS_URL}); instances: ${direct}`);
  } else {
    say(`ready: instances at ${direct}`);
    say(`HAProxy is not installed, so nothing listens on ${FRONTEND_URL}: install it (Debian/Ubuntu: \`apt-get install haproxy\`) and run \`npm run cluster\` again`);
  }
  say('Ctrl-C stops everything');
}

main().catch((err: unknown) => {
  process.stderr.write(`[cluster] ${err instanceof Error ? err.message : String(err)}\n`);
  exitCode = 1;
  stopAll('SIGTERM');
});
