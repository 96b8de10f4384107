import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_JWT_SECRET, UNTHROTTLED, type TestDatabase } from './test-app';
import { Arrivals } from './wait';

/** Folders a file of this project may sit below its root (test/support, or dist/test/support). */
const ROOT_DEPTH_MAX = 4;

/**
 * The project's root: the nearest folder above this file with a package.json. Under jest this file
 * runs from test/support; `npm run bench:cluster` runs its compiled copy from dist/test/support.
 */
function projectRoot(): string {
  let dir = __dirname;
  for (let up = 0; up < ROOT_DEPTH_MAX; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json within ${ROOT_DEPTH_MAX} folders above ${__dirname}`);
}

export const PROJECT_ROOT = projectRoot();

/**
 * The real server (`node dist/src/main.js`) as a child process, for tests that kill it. The build is
 * a precondition: `npm run build` (CI builds before jest).
 */
export const MAIN_JS = join(PROJECT_ROOT, 'dist/src/main.js');
/** `npm run ledger:verify` without the build step. */
export const VERIFY_CLI_JS = join(PROJECT_ROOT, 'dist/src/balance/verify-cli.js');
/** `npm run admin` without the build step. */
export const ADMIN_CLI_JS = join(PROJECT_ROOT, 'dist/src/accounts/admin-cli.js');

/**
 * Node flags a child inherits from the process that starts it. `npm test` runs with --liftoff-only:
 * V8 then runs PGlite's 9 MB of WebAssembly with its baseline compiler only, instead of also
 * recompiling all of it with the optimizing one in the background: a process that opens PGlite and
 * runs 200 queries takes half the CPU, 2,000 queries 0.6 of it; past ~10,000 the optimized code would
 * pay (`npm run bench:embedded`, BENCHMARKS.md). The benchmarks run without it, and so do their servers.
 */
const INHERITED_NODE_FLAGS = ['--liftoff-only'];
const nodeFlags = () => process.execArgv.filter((flag) => INHERITED_NODE_FLAGS.includes(flag));

const LISTENING_MSG = 'GraphQL over HTTP and websocket listening';
/** Longest a start may take: the embedded database's first open is the slow part. */
const START_TIMEOUT_MS = 60_000;
/** Log lines kept for assertions and failure messages. */
const LOG_LINES_MAX = 5_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Parsed JSON log lines (stdout), oldest first; non-JSON lines as { raw }. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<Exit>;
  /** Resolves once a log line satisfies `match` (one already logged counts); rejects naming `what` after `ms`. */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, ms: number, what: string): Promise<void>;
  /** Sends the signal and waits for the process to end. */
  kill(signal: NodeJS.Signals): Promise<Exit>;
}

const live = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL): for afterAll and failure paths. */
export async function killAllServers(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((done) => {
          child.once('exit', () => done());
          if (!child.kill('SIGKILL')) done();
        }),
    ),
  );
  live.clear();
}

/**
 * The environment of a test server process: its database, a free port on loopback, the test JWT
 * secret, `adminEmail` as the admin, info logs (the start is read from them) and the per-address
 * throttles lifted (UNTHROTTLED); `extra` on top.
 */
export function serverProcessEnv(db: TestDatabase, adminEmail: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...db.env, PORT: '0', HOST: '127.0.0.1', ADMIN_EMAILS: adminEmail, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', ...UNTHROTTLED, ...extra };
}

export function assertBuilt(): void {
  for (const file of [MAIN_JS, VERIFY_CLI_JS, ADMIN_CLI_JS]) {
    if (!existsSync(file)) throw new Error(`${file} does not exist: run \`npm run build\` before these tests (they run the compiled server)`);
  }
}

/**
 * Starts the server with exactly `env` (plus PATH) and resolves once it listens, with the URL from
 * its log line. Rejects, with its output, if it exits first or takes longer than START_TIMEOUT_MS.
 */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [...nodeFlags(), MAIN_JS], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const logs = new Arrivals<Record<string, unknown>>(LOG_LINES_MAX);
  const stderr: string[] = [];
  const exited = new Promise<Exit>((done) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      done({ code, signal });
    });
  });
  const output = () => [...logs.all.slice(-30).map((l) => JSON.stringify(l)), ...stderr.slice(-30)].join('\n');

  return new Promise<ServerProcess>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`server did not listen within ${START_TIMEOUT_MS} ms:\n${output()}`));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (stderr.length < LOG_LINES_MAX) stderr.push(line);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { raw: line };
      }
      logs.push(entry);
      if (entry.msg === LISTENING_MSG && typeof entry.url === 'string') {
        clearTimeout(timer);
        resolveStart({
          url: entry.url,
          pid: child.pid!,
          logs: logs.all as Array<Record<string, unknown>>,
          exited,
          waitForLog: (match, ms, what) => logs.waitFor((all) => all.some(match), ms, what),
          kill: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      rejectStart(new ServerExitedError(exit, logs.all as Array<Record<string, unknown>>, `server exited (${JSON.stringify(exit)}) before listening:\n${output()}`));
    });
  });
}

export class ServerExitedError extends Error {
  constructor(
    readonly exit: Exit,
    readonly logs: Array<Record<string, unknown>>,
    message: string,
  ) {
    super(message);
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled ledger check (`npm run ledger:verify`) on the database `env` names. */
export function runVerifyCli(env: Record<string, string>): Promise<CliResult> {
  return runCli(VERIFY_CLI_JS, [], env);
}

/** Runs the compiled admin CLI (`npm run admin -- <args>`) on the database `env` names. */
export function runAdminCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(ADMIN_CLI_JS, args, env);
}

function runCli(file: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  assertBuilt();
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...nodeFlags(), file, ...args],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: START_TIMEOUT_MS },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
