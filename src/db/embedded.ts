import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';

/**
 * The embedded default database: PGlite (PostgreSQL compiled to WASM, on this process's event loop)
 * served over the PostgreSQL wire protocol by pglite-socket, so the application talks to it through
 * the same `pg` driver and MikroORM dialect as to a real server.
 *
 * One PGlite is one session: the socket server allows one connection and the pool must hold one
 * (see ../shared/STACK.md for what went wrong with more).
 */
export interface EmbeddedPostgres {
  /** postgres:// URL of the socket server on 127.0.0.1. */
  url: string;
  close(): Promise<void>;
}

const LOCK_FILE = 'andora.lock';
/** PGlite's own data directory inside DATA_DIR (beside the lock file). */
export const PGLITE_DIR = 'pg';

/**
 * PGlite's buffer pool. initdb writes PostgreSQL's default, 128 MB, which every open allocates inside
 * the WebAssembly memory, and a closed PGlite's memory stays mapped until the garbage collector frees
 * it. With 32 MB, 20 opens in one process took 140 against 221 ms of CPU each and peaked at 275
 * against 809 MB of RSS, and the test suite (~70 test apps in process, ~25 test servers and CLIs) took
 * 18 % less CPU. The embedded database is for trials and development, where the data is a few MB: on a
 * 45 MB table, random reads through an index took 1.21 times the CPU, single-row writes 1.02
 * (`npm run bench:embedded`, BENCHMARKS.md).
 */
export const EMBEDDED_SHARED_BUFFERS = '32MB';

/** PGlite's own start parameters with our buffer pool. */
export function pgliteStartParams(defaults: readonly string[], sharedBuffers: string = EMBEDDED_SHARED_BUFFERS): string[] {
  return [...defaults, '-c', `shared_buffers=${sharedBuffers}`];
}

export class DataDirLockedError extends Error {}

/**
 * Two processes opening one PGlite directory corrupt it and PGlite takes no lock of its own, so we
 * take one: a file holding our pid, created exclusively. A lock left by a killed process (its pid is
 * gone) is taken over.
 */
function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(`data directory ${dir} is in use by process ${holder}`);
      }
      if (holder === process.pid) {
        throw new DataDirLockedError(`data directory ${dir} is already open in this process`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirLockedError(`could not lock data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const unlock = lockDataDir(dir);
  try {
    // Both packages ship CommonJS builds that load their WASM with dynamic import().
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const started = Date.now();
    const db = await PGlite.create(join(dir, PGLITE_DIR), { startParams: pgliteStartParams(PGlite.defaultStartParams) });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
    await server.start();
    const url = `postgres://postgres@${server.getServerConn()}/postgres`;
    log.info({ dataDir: dir, ms: Date.now() - started }, 'embedded PostgreSQL (PGlite) started');
    return {
      url,
      async close() {
        await server.stop();
        await db.close();
        unlock();
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}
