import { execFile } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL server of the test's own, in a temporary directory, so a test can stop and restart
 * the database under load without touching anyone else's. PostgreSQL refuses to run as root: as
 * root, every command runs as the `postgres` OS user.
 */
export interface PrivatePostgres {
  /** postgres:// URL of the `postgres` database, trust authentication over TCP on 127.0.0.1. */
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  start(): Promise<void>;
  /** Fast shutdown: open sessions are terminated and their transactions rolled back. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server (immediately) if it runs and deletes its files. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Longest a pg_ctl or initdb call may take. */
const COMMAND_TIMEOUT_MS = 60_000;
const BIN_DIRS = ['/usr/local/bin', '/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'];

function findBinary(name: string): string {
  for (const dir of BIN_DIRS) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Try the next directory.
    }
  }
  throw new Error(
    `${name} not found in ${BIN_DIRS.join(', ')}: the durability tests need a PostgreSQL server installation ` +
      '(Debian: apt-get install postgresql); they are not skipped without it',
  );
}

/** Runs a PostgreSQL program, as the postgres user when we are root. Rejects with its output. */
function run(program: string, args: string[]): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const runuser = RUNUSER.find((p) => existsSync(p));
  if (asRoot && !runuser) throw new Error('running as root and runuser is missing: cannot start PostgreSQL as the postgres user');
  const [file, argv] = asRoot ? [runuser!, ['-u', 'postgres', '--', program, ...args]] : [program, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: COMMAND_TIMEOUT_MS, cwd: tmpdir() }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A port that was free a moment ago (the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The uid and gid of the `postgres` OS user, from /etc/passwd. */
function postgresUid(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres OS user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Creates the cluster (initdb) and returns it stopped. */
export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const initdb = findBinary('initdb');
  const pgCtl = findBinary('pg_ctl');
  const dir = mkdtempSync(join(tmpdir(), 'andora-pg-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresUid();
    chownSync(dir, uid, gid);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  let running = false;
  let destroyed = false;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  try {
    await run(initdb, ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get running() {
      return running;
    },
    async start() {
      await run(pgCtl, ['-D', dataDir, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop() {
      await run(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart() {
      await run(pgCtl, ['-D', dataDir, '-o', options, '-l', logFile, '-m', 'fast', '-w', '-t', '60', 'restart']);
      running = true;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      if (running) await run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']).catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pg;
}
