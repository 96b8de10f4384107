/**
 * `npm run admin -- promote <email> | demote <email> | list`: runs one command of ./admin-command.ts
 * on the database the environment names, writes to stdout and stderr, exits with its code.
 */
import { runAdminCommand } from './admin-command';

runAdminCommand(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admin failed: ${String((err as Error | undefined)?.stack ?? err)}\n`);
    process.exit(2);
  },
);
