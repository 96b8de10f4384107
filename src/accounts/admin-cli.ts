/**
 * `npm run admin -- promote <email>`, `npm run admin -- demote <email>`, `npm run admin -- list`:
 * the way to give and take the ADMIN role, on the database the environment names (DATABASE_URL, or the
 * embedded one in DATA_DIR: stop the server first, the embedded database admits one process and this
 * refuses while its lock is held). Each change is recorded in user_role_changes with channel CLI and
 * the operating-system account that ran it. Exits 0 when done (or nothing to do), 1 when refused
 * (usage, unknown email, last admin, database in use), 2 on an unexpected failure.
 */
import { hostname, userInfo } from 'node:os';
import type { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../config';
import type { Role } from '../db/entities';
import { DataDirLockedError, startEmbeddedPostgres } from '../db/embedded';
import { openOrm } from '../db/orm';
import { AppError } from '../errors';
import { createLogger } from '../logger';
import { normalizeEmail } from './email';
import { changeRole, listAdmins } from './roles';

const USAGE = 'usage: npm run admin -- promote <email> | demote <email> | list';
const COMMANDS: Record<string, Role> = { promote: 'ADMIN', demote: 'USER' };

class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  const [command, email, ...rest] = args;
  if (command !== 'list' && (!command || !(command in COMMANDS) || !email || rest.length > 0)) throw new UsageError(USAGE);
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
  const orm = await openOrm({ url: config.databaseUrl ?? embedded!.url, singleConnection: !!embedded, log });
  try {
    if (command === 'list') return await list(orm);
    return await change(orm, normalizeEmail(email!), COMMANDS[command!]!);
  } finally {
    await orm.close();
    await embedded?.close();
  }
}

async function change(orm: MikroORM, email: string, role: Role): Promise<number> {
  const { user, previousRole, changed } = await changeRole(orm, { email }, role, { channel: 'CLI', cliUser: cliUser() });
  const what = changed ? `${user.email}: ${previousRole} -> ${role}` : `${user.email} is already ${role}: nothing changed`;
  process.stdout.write(`${what}${changed && role === 'ADMIN' ? ' (sign in again to use the admin role)' : ''}\n`);
  return 0;
}

async function list(orm: MikroORM): Promise<number> {
  const admins = await listAdmins(orm);
  for (const admin of admins) process.stdout.write(`${admin.email}\t${admin.id}\t${admin.createdAt.toISOString()}\n`);
  process.stdout.write(`${admins.length} admin(s)\n`);
  return 0;
}

/** Who ran the command, for the record: the operating-system account and host. */
function cliUser(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the uid still says something.
    name = `uid:${process.getuid?.() ?? '?'}`;
  }
  return `${name}@${hostname()}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError || err instanceof AppError) {
      process.stderr.write(`admin: ${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`admin: ${err.message}: stop the server first (the embedded database admits one process)\n`);
      process.exit(1);
    }
    process.stderr.write(`admin failed: ${String(err?.stack ?? err)}\n`);
    process.exit(2);
  },
);
