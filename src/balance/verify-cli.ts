/**
 * `npm run ledger:verify`: checks that every user's balance equals the sum of their ledger and of their
 * grants' remaining, every grant's remaining its amount minus the ledger's burns of it, and that
 * every completed token purchase has exactly one grant (and no other purchase has one), on the
 * database the environment names (DATABASE_URL, or the embedded one in DATA_DIR — stop the server
 * first: the embedded database admits one process), and that each brand's usage this month (what a
 * quota's `used` is loaded from) equals its charges in the ledger. Exits 1 on any mismatch.
 */
import { loadConfig } from '../config';
import { startEmbeddedPostgres } from '../db/embedded';
import { openOrm } from '../db/orm';
import { createLogger } from '../logger';
import { verifyBrandUsage, verifyLedger, verifyPurchases } from './ledger';

async function main(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
  const orm = await openOrm({ url: config.databaseUrl ?? embedded!.url, singleConnection: !!embedded, log });
  try {
    const { users, grants, mismatches, grantMismatches, entryMismatches } = await verifyLedger(orm);
    const bad = mismatches.length + grantMismatches.length + entryMismatches.length;
    const purchases = await verifyPurchases(orm);
    process.stdout.write(
      `${JSON.stringify({ users, grants, mismatches: mismatches.length, grantMismatches: grantMismatches.length, entryMismatches: entryMismatches.length, examples: [...mismatches, ...grantMismatches, ...entryMismatches].slice(0, 10), completedPurchases: purchases.completed, purchaseProblems: purchases.problems.slice(0, 10) })}\n`,
    );
    process.stdout.write(
      bad === 0
        ? `ledger OK: ${users} users, every balance equals its ledger sum and its grants' remaining; ${grants} grants, each equal to its amount minus its burns\n`
        : `ledger MISMATCH for ${mismatches.length} user(s), ${grantMismatches.length} grant(s), ${entryMismatches.length} ledger entr(ies)\n`,
    );
    process.stdout.write(
      purchases.problems.length === 0
        ? `purchases OK: ${purchases.completed} completed, each with exactly one grant\n`
        : `purchases MISMATCH: ${purchases.problems.length} purchase(s) without exactly one grant (completed) or with one (not completed)\n`,
    );
    const brands = await verifyBrandUsage(orm);
    process.stdout.write(`${JSON.stringify({ brands: brands.brands, brandMismatches: brands.mismatches.length, brandExamples: brands.mismatches.slice(0, 10) })}\n`);
    process.stdout.write(
      brands.mismatches.length === 0
        ? `brand usage OK: ${brands.brands} brands charged this month, each brand's quota usage equals its ledger charges\n`
        : `brand usage MISMATCH for ${brands.mismatches.length} brand(s)\n`,
    );
    return bad === 0 && purchases.problems.length === 0 && brands.mismatches.length === 0 ? 0 : 1;
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
