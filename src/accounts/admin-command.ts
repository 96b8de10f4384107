/**
 * The commands of `npm run admin -- promote <email> | demote <email> | list` (./admin-cli.ts is the
 * process around them): the way to give and take the ADMIN role, on the database the environment
 * names (DATABASE_URL, or the embedded one in DATA_DIR: stop the server first, the embedded database
 * admits one process and this refuses while its lock is held). Each change is recorded in
 * user_role_changes with channel CLI and the operating-system account that ran it. Exit codes: 0 when
 * done (or nothing to do), 1 when refused (usage, unknown email, last admin, database in use), 2 on
 * an unexpected failure.
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

/** Where a command writes: the process's stdout and stderr in the CLI. */
export interface AdminOutput {
  out(text: string): void;
  err(text: string): void;
}

/** Runs one command on the database `env` names; resolves with the exit code (0 done, 1 refused, 2 failed). */
export async function runAdminCommand(args: string[], env: NodeJS.ProcessEnv, output: AdminOutput): Promise<number> {
  try {
    return await run(args, env, output);
  } catch (err) {
    if (err instanceof UsageError || err instanceof AppError) {
      output.err(`admin: ${err.message}\n`);
      return 1;
    }
    if (err instanceof DataDirLockedError) {
      output.err(`admin: ${err.message}: stop the server first (the embedded database admits one process)\n`);
      return 1;
    }
    output.err(`admin failed: ${String((err as Error | undefined)?.stack ?? err)}\n`);
    return 2;
  }
}

async function run(args: string[], env: NodeJS.ProcessEnv, output: AdminOutput): Promise<number> {
  const [command, email, ...rest] = args;
  if (command !== 'list' && (!command || !(command in COMMANDS) || !email || rest.length > 0)) throw new UsageError(USAGE);
  const config = loadConfig(env);
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
  try {
    const orm = await openOrm({ url: config.databaseUrl ?? embedded!.url, singleConnection: !!embedded, log });
    try {
      if (command === 'list') return await list(orm, output);
      return await change(orm, normalizeEmail(email!), COMMANDS[command!]!, output);
    } finally {
      await orm.close();
    }
  } finally {
    await embedded?.close();
  }
}

async function change(orm: MikroORM, email: string, role: Role, output: AdminOutput): Promise<number> {
  const { user, previousRole, changed } = await changeRole(orm, { email }, role, { channel: 'CLI', cliUser: cliUser() });
  const what = changed ? `${user.email}: ${previousRole} -> ${role}` : `${user.email} is already ${role}: nothing changed`;
  output.out(`${what}${changed && role === 'ADMIN' ? ' (sign in again to use the admin role)' : ''}\n`);
  return 0;
}

async function list(orm: MikroORM, output: AdminOutput): Promise<number> {
  const admins = await listAdmins(orm);
  for (const admin of admins) output.out(`${admin.email}\t${admin.id}\t${admin.createdAt.toISOString()}\n`);
  output.out(`${admins.length} admin(s)\n`);
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
