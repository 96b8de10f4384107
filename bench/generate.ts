/**
 * Generation benchmark: the same GraphQL mutation (chatWithAndora) over real HTTP, with metering on
 * (reserve → call → settle, the response waits for its charge to commit) against a meter that skips
 * metering (calls the provider directly), both against an instant fake provider, in one run.
 *
 *   npm run bench:generate                                       embedded PGlite in a temp dir
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npm run bench:generate                                     a fresh database on that server
 *
 * Knobs: BENCH_RUN_SECONDS=3 BENCH_REPS=3 BENCH_CONCURRENCY=16 BENCH_USERS=32.
 * The report goes to stdout; its last line is the results as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, type App, type MeterParts } from '../src/app';
import { loadConfig } from '../src/config';
import { Meter, type MeteredCall, type MeteredResult } from '../src/metering/meter';
import { countMessageTokens } from '../src/metering/tokenizer';
import { intEnv } from './support/env';
import { createScratchDatabase } from './support/database';
import { runClosedLoop } from './support/load';
import { startInstantProvider, type InstantProvider } from './support/instant-provider';
import { fmtInt, fmtMs, fmtRatio, median, medianSummary, summarize, table, type LatencySummary } from './support/stats';


const SETTINGS = {
  runMs: intEnv('BENCH_RUN_SECONDS', 3) * 1_000,
  reps: intEnv('BENCH_REPS', 3),
  concurrency: intEnv('BENCH_CONCURRENCY', 16),
  users: intEnv('BENCH_USERS', 32),
  warmupMs: 1_000,
  commitSamples: 300,
};

/**
 * The baseline: the same provider call with no hold, no settle and no commit. It exists only here,
 * injected through bootstrap's meterFactory; the service never builds it.
 */
class UnmeteredMeter extends Meter {
  private readonly parts: MeterParts;
  constructor(...parts: MeterParts) {
    super(...parts);
    this.parts = parts;
  }
  override async complete(call: MeteredCall): Promise<MeteredResult> {
    const [balance, providers, router] = this.parts;
    const route = router.route(call.tier);
    countMessageTokens(route.model, call.messages); // the metered path counts the prompt too
    const result = await providers[route.provider]!.complete({ model: route.model, messages: call.messages, maxOutputTokens: call.outputTokensMax });
    const usage = { ...result.usage, totalTokens: result.usage.promptTokens + result.usage.completionTokens, model: route.model, costNanoUsd: 0 };
    call.attach?.(result.text, { model: route.model, partial: false }); // parses the output, as the metered path does
    return { text: result.text, usage, balance: await balance.snapshot(call.userId), ledgerEntryId: '' };
  }
}

type Variant = 'metered' | 'unmetered';

interface RunResult {
  variant: Variant;
  sequential: LatencySummary;
  concurrentOpsPerSec: number;
  concurrent: LatencySummary;
  errors: number;
  firstError: string | undefined;
}

const CHAT = 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "What should we post this week?" }) { reply usage { totalTokens } balance { available } } }';

async function databaseEnv(): Promise<{ env: Record<string, string>; describe: string; drop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'andora-bench-gen-'));
  const server = process.env.DATABASE_URL;
  if (!server) return { env: { DATA_DIR: dataDir }, describe: 'embedded PGlite (temp dir)', drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  const scratch = await createScratchDatabase(server);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: scratch.url.toString() },
    describe: `PostgreSQL at ${scratch.url.host} (fresh database)`,
    drop: async () => {
      await scratch.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startApp(env: Record<string, string>, provider: InstantProvider, variant: Variant): Promise<App> {
  const config = loadConfig({
    ...env,
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
    SIGNUP_GRANT_TOKENS: '1000000000',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: provider.baseURL,
    PROVIDER_RETRIES_MAX: '0',
  });
  return bootstrap(config, variant === 'unmetered' ? { meterFactory: (parts) => new UnmeteredMeter(...parts) } : {});
}

async function seed(app: App, count: number): Promise<Array<{ token: string; brandId: string }>> {
  const users = [];
  for (let i = 0; i < count; i++) {
    const { token, user } = await app.services.accounts.signUp({ email: `bench-${randomBytes(6).toString('hex')}@example.com`, password: 'benchmark-password' });
    const brand = await app.services.accounts.createBrand(user.id, { name: `Brand ${i}` });
    users.push({ token, brandId: brand.id });
  }
  return users;
}

async function chat(url: string, user: { token: string; brandId: string }): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
    body: JSON.stringify({ query: CHAT, variables: { b: user.brandId } }),
  });
  const body = (await res.json()) as { errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 300));
  return performance.now() - started;
}

async function measure(app: App, users: Array<{ token: string; brandId: string }>, variant: Variant): Promise<RunResult> {
  const pick = (w: number) => users[w % users.length]!;
  await runClosedLoop(SETTINGS.concurrency, SETTINGS.warmupMs, (w) => chat(app.url, pick(w)));
  const sequential = await runClosedLoop(1, SETTINGS.runMs, () => chat(app.url, pick(Math.floor(Math.random() * users.length))));
  const concurrent = await runClosedLoop(SETTINGS.concurrency, SETTINGS.runMs, (w) => chat(app.url, pick(w)));
  return {
    variant,
    sequential: summarize(sequential.samplesMs),
    concurrentOpsPerSec: concurrent.opsPerSec,
    concurrent: summarize(concurrent.samplesMs),
    errors: sequential.errors + concurrent.errors,
    firstError: sequential.firstError ?? concurrent.firstError,
  };
}

/** One PostgreSQL commit (BEGIN; UPDATE one row; COMMIT) on the same database, through MikroORM. */
async function commitLatency(app: App): Promise<LatencySummary> {
  const em = app.services.orm.em.fork();
  const [row] = await em.execute<Array<{ id: string }>>('select id from users limit 1');
  const samples: number[] = [];
  for (let i = 0; i < SETTINGS.commitSamples; i++) {
    const started = performance.now();
    await app.services.orm.em.fork().transactional((tx) => tx.execute('update users set updated_at = updated_at where id = ?', [row!.id]));
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

async function main(): Promise<void> {
  const provider = await startInstantProvider();
  const db = await databaseEnv();
  const runs: RunResult[] = [];
  const commits: LatencySummary[] = [];
  process.stderr.write(`bench:generate on ${db.describe}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}\n`);
  try {
    let users: Array<{ token: string; brandId: string }> | undefined;
    for (let rep = 1; rep <= SETTINGS.reps; rep++) {
      for (const variant of ['metered', 'unmetered'] as const) {
        const app = await startApp(db.env, provider, variant);
        try {
          users ??= await seed(app, SETTINGS.users);
          runs.push(await measure(app, users, variant));
          if (variant === 'metered') commits.push(await commitLatency(app));
          process.stderr.write(`rep ${rep} ${variant}: ${fmtInt(runs.at(-1)!.concurrentOpsPerSec)} req/s\n`);
        } finally {
          await app.close();
        }
      }
    }
  } finally {
    await db.drop();
    await provider.close();
  }
  report(runs, commits, db.describe);
}

function report(runs: RunResult[], commits: LatencySummary[], describe: string): void {
  const of = (v: Variant) => runs.filter((r) => r.variant === v);
  const metered = of('metered');
  const unmetered = of('unmetered');
  const throughput = (rs: RunResult[]) => median(rs.map((r) => r.concurrentOpsPerSec));
  const seq = (rs: RunResult[]) => medianSummary(rs.map((r) => r.sequential));
  const conc = (rs: RunResult[]) => medianSummary(rs.map((r) => r.concurrent));
  const ratio = throughput(metered) / throughput(unmetered);
  const commit = medianSummary(commits);
  const added = {
    sequentialP50: seq(metered).p50 - seq(unmetered).p50,
    sequentialP99: seq(metered).p99 - seq(unmetered).p99,
    concurrentP50: conc(metered).p50 - conc(unmetered).p50,
    concurrentP99: conc(metered).p99 - conc(unmetered).p99,
  };
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  process.stdout.write(`\nbench:generate — ${describe}; ${SETTINGS.reps} reps × ${SETTINGS.runMs / 1_000} s, medians; concurrency ${SETTINGS.concurrency}\n\n`);
  process.stdout.write(
    table([
      ['', 'metered', 'unmetered', 'metered − unmetered'],
      ['throughput (req/s), concurrent', fmtInt(throughput(metered)), fmtInt(throughput(unmetered)), `ratio ${fmtRatio(ratio)} (goal ≥ 0.9)`],
      ['latency p50, one at a time', fmtMs(seq(metered).p50), fmtMs(seq(unmetered).p50), fmtMs(added.sequentialP50)],
      ['latency p99, one at a time', fmtMs(seq(metered).p99), fmtMs(seq(unmetered).p99), `${fmtMs(added.sequentialP99)} (goal < 5 ms)`],
      ['latency p50, concurrent', fmtMs(conc(metered).p50), fmtMs(conc(unmetered).p50), fmtMs(added.concurrentP50)],
      ['latency p99, concurrent', fmtMs(conc(metered).p99), fmtMs(conc(unmetered).p99), fmtMs(added.concurrentP99)],
      ['one PostgreSQL commit (p50 / p99)', `${fmtMs(commit.p50)} / ${fmtMs(commit.p99)}`, '', `added p50 / commit p50 = ${fmtRatio(added.sequentialP50 / commit.p50)}`],
    ]),
  );
  process.stdout.write(`\nerrors: ${errors}${errors > 0 ? ` (first: ${runs.find((r) => r.firstError)?.firstError})` : ''}\n`);
  process.stdout.write(`${JSON.stringify({ describe, settings: SETTINGS, ratio, added, commit, metered: metered.map(strip), unmetered: unmetered.map(strip) })}\n`);
}

const strip = (r: RunResult) => ({ opsPerSec: r.concurrentOpsPerSec, sequential: r.sequential, concurrent: r.concurrent });

main().catch((err) => {
  process.stderr.write(`bench:generate failed: ${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
