/**
 * `npm run ledger:verify`: checks that every user's balance equals the sum of their ledger and of their
 * grants' remaining, and every grant's remaining its amount minus the ledger's burns of it, on the
 * database the environment names (DATABASE_URL, or the embedded one in DATA_DIR — stop the server
 * first: the embedded database admits one process). Exits 1 on any mismatch.
 */
import { loadConfig } from '../config';
import { startEmbeddedPostgres } from '../db/embedded';
import { openOrm } from '../db/orm';
import { createLogger } from '../logger';
import { verifyLedger } from './ledger';

async function main(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
  const orm = await openOrm({ url: config.databaseUrl ?? embedded!.url, singleConnection: !!embedded, log });
  try {
    const { users, grants, mismatches, grantMismatches, entryMismatches } = await verifyLedger(orm);
    const bad = mismatches.length + grantMismatches.length + entryMismatches.length;
    process.stdout.write(
      `${JSON.stringify({ users, grants, mismatches: mismatches.length, grantMismatches: grantMismatches.length, entryMismatches: entryMismatches.length, examples: [...mismatches, ...grantMismatches, ...entryMismatches].slice(0, 10) })}\n`,
    );
    process.stdout.write(
      bad === 0
        ? `ledger OK: ${users} users, every balance equals its ledger sum and its grants' remaining; ${grants} grants, each equal to its amount minus its burns\n`
        : `ledger MISMATCH for ${mismatches.length} user(s), ${grantMismatches.length} grant(s), ${entryMismatches.length} ledger entr(ies)\n`,
    );
    return bad === 0 ? 0 : 1;
  } finally {
    await orm.close();
    await embedded?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ledger:verify failed: ${String(err?.stack ?? err)}\n`);
    process.exit(2);
  },
);
