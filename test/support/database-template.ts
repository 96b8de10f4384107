import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { adminQuery } from '../../bench/support/database';
import { PGLITE_DIR, startEmbeddedPostgres } from '../../src/db/embedded';
import { openOrm } from '../../src/db/orm';
import { createLogger } from '../../src/logger';

/**
 * One migrated database per jest run, copied for every test app instead of migrating a fresh one
 * each time (initdb plus every migration cost about 3 s per app on the embedded database).
 *
 * jest's globalSetup (test/support/global-setup.ts) builds it and names it in the environment
 * variable TEMPLATE_ENV, which the workers inherit; createTestDatabase copies it; globalTeardown
 * removes it. A template is only used while the migration files are exactly the ones it was built
 * from (`key`), so an edited migration can never be served from a stale copy. The service still runs
 * its migrations at start on the copy: they find nothing to do.
 */
export interface DatabaseTemplate {
  /** sha256 of every file in migrations/ (names and contents) when the template was built. */
  key: string;
  /** This run's folder: the embedded template and every test app's DATA_DIR; removed at teardown. */
  root: string;
  /** The TEST_DATABASE_URL it was built for; unset for the embedded database. */
  server?: string;
  /** Embedded: a migrated PGlite data directory, closed cleanly (its `pg` folder is copied). */
  dataDir?: string;
  /**
   * Embedded: a PGlite data directory as PGlite's initdb leaves it, before any migration, for the
   * tests that migrate from nothing (`createTestDatabase({ empty: true })`): initdb costs about 2 s of
   * CPU each time, the copy a fraction of that.
   */
  emptyDataDir?: string;
  /** PostgreSQL: a migrated database on `server` that accepts no connections (CREATE DATABASE … TEMPLATE). */
  database?: string;
}

export const TEMPLATE_ENV = 'ANDORA_TEST_TEMPLATE';

const MIGRATIONS_DIR = resolve(__dirname, '../../migrations');
const TEMPLATE_PREFIX = 'andora_template';
const TMPFS_DIR = '/dev/shm';
/** statfs f_type of tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
/** Room a run may need there: a few dozen data directories at once, with a wide margin. */
const TMPFS_FREE_BYTES_MIN = 4 * 1024 ** 3;

/** Fingerprint of the migration files: any edit, addition or removal gives another key. */
export function migrationsKey(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(file).update('\0').update(readFileSync(join(MIGRATIONS_DIR, file))).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Migrates a template for `server` (a PostgreSQL URL) or, unset, for the embedded database, in a new
 * folder for this run.
 */
export async function buildTemplate(server: string | undefined): Promise<DatabaseTemplate> {
  const key = migrationsKey();
  const root = mkdtempSync(join(runFolderParent(), 'andora-test-run-'));
  try {
    if (server) return { key, root, server, database: await buildServerTemplate(server, key) };
    return { key, root, ...(await buildEmbeddedTemplates(root)) };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/**
 * tmpfs when there is one with room to spare: a data directory is about 1,000 files and 39 MB, and
 * copying and deleting it there takes a fraction of the time on disk (0.3 s and 0.06 s against 0.75 s
 * and 2.6 s on this machine's ext4 under load). Nothing here needs to outlive the machine.
 */
function runFolderParent(): string {
  try {
    const fs = statfsSync(TMPFS_DIR);
    accessSync(TMPFS_DIR, constants.W_OK);
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= TMPFS_FREE_BYTES_MIN) return TMPFS_DIR;
  } catch {
    // No usable tmpfs: the system's temporary directory.
  }
  return tmpdir();
}

async function buildEmbeddedTemplates(root: string): Promise<{ dataDir: string; emptyDataDir: string }> {
  const log = createLogger('silent');
  const emptyDataDir = join(root, 'empty');
  // A PGlite directory survives a file copy only when it was closed cleanly.
  await (await startEmbeddedPostgres(emptyDataDir, log)).close();
  const dataDir = join(root, 'template');
  copyPgliteDir(emptyDataDir, dataDir);
  const embedded = await startEmbeddedPostgres(dataDir, log);
  try {
    const orm = await openOrm({ url: embedded.url, singleConnection: true, log });
    await orm.close();
  } finally {
    await embedded.close();
  }
  return { dataDir, emptyDataDir };
}

async function buildServerTemplate(server: string, key: string): Promise<string> {
  await dropTemplatesOfDeadRuns(server);
  // The pid lets a later run drop this template if this run dies before its teardown.
  const name = `${TEMPLATE_PREFIX}_${key.slice(0, 12)}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await adminQuery(server, `create database ${name}`);
  try {
    const url = new URL(server);
    url.pathname = `/${name}`;
    const orm = await openOrm({ url: url.toString(), singleConnection: false, poolMax: 1, log: createLogger('silent') });
    await orm.close();
    // CREATE DATABASE … TEMPLATE fails while anyone is connected to the template: allow no one.
    await adminQuery(server, `alter database ${name} with is_template true allow_connections false`);
    return name;
  } catch (err) {
    await dropServerTemplate(server, name);
    throw err;
  }
}

/** Removes a template built by buildTemplate, and every test app's DATA_DIR left in its run folder. */
export async function destroyTemplate(template: DatabaseTemplate): Promise<void> {
  rmSync(template.root, { recursive: true, force: true });
  if (template.server && template.database) await dropServerTemplate(template.server, template.database);
}

async function dropServerTemplate(server: string, name: string): Promise<void> {
  await adminQuery(server, `alter database ${name} with is_template false`).catch(() => undefined);
  await adminQuery(server, `drop database if exists ${name} with (force)`);
}

/**
 * Templates left by runs that died before their teardown, recognised by the pid in their name. Only
 * on a server on this machine, where that pid means this machine's process.
 */
async function dropTemplatesOfDeadRuns(server: string): Promise<void> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(server).hostname)) return;
  const client = new Client({ connectionString: server });
  await client.connect();
  const rows = await client
    .query<{ datname: string }>(`select datname from pg_database where datname like '${TEMPLATE_PREFIX}\\_%'`)
    .finally(() => client.end());
  for (const { datname } of rows.rows) {
    const pid = Number(datname.split('_').at(-2));
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) await dropServerTemplate(server, datname);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runTemplate(): DatabaseTemplate | undefined {
  const raw = process.env[TEMPLATE_ENV];
  return raw ? (JSON.parse(raw) as DatabaseTemplate) : undefined;
}

/**
 * The template of this jest run, if there is one that fits: built for the same database server and
 * from the migration files as they are now. Undefined otherwise (a test app then migrates a fresh
 * database, as the service does on first start).
 */
export function currentTemplate(server: string | undefined): DatabaseTemplate | undefined {
  const template = runTemplate();
  if (!template || template.server !== server || template.key !== migrationsKey()) return undefined;
  return template;
}

/** A new, empty DATA_DIR: in this run's folder under jest, else in the system's temporary directory. */
export function newDataDir(): string {
  return mkdtempSync(join(runTemplate()?.root ?? tmpdir(), 'andora-test-'));
}

/**
 * Fills an empty DATA_DIR with a copy of the embedded template's database: the migrated one, or with
 * `empty` the one initdb left (no migrations applied).
 */
export function copyEmbeddedTemplate(template: DatabaseTemplate, dataDir: string, opts: { empty?: boolean } = {}): void {
  const source = opts.empty ? template.emptyDataDir : template.dataDir;
  if (!source) throw new Error('not an embedded database template');
  copyPgliteDir(source, dataDir);
}

function copyPgliteDir(fromDataDir: string, toDataDir: string): void {
  // COPYFILE_FICLONE shares blocks on file systems that can (copy-on-write) and copies elsewhere.
  cpSync(join(fromDataDir, PGLITE_DIR), join(toDataDir, PGLITE_DIR), { recursive: true, mode: constants.COPYFILE_FICLONE });
}
