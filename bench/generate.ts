/**
 * Generation benchmark: the same GraphQL mutation (chatWithAndora) over real HTTP, with metering on
 * (reserve → call → settle, the response waits for its charge to commit) against a meter that skips
 * metering (calls the provider directly), both against an instant fake provider, in one run.
 *
 *   npm run bench:generate                                       embedded PGlite in a temp dir
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npm run bench:generate                                     a fresh database on that server
 *
 * The machine is shared and noisy, so the variants are compared within each repetition: on a
 * PostgreSQL server both servers run at once and sequential requests alternate between them (with a
 * plain commit sampled in every round); on the embedded database (one server at a time) they run in
 * turn, in alternating order. Reported: medians over repetitions of each repetition's difference
 * and ratio.
 *
 * Knobs: BENCH_RUN_SECONDS=3 (per phase) BENCH_REPS=5 BENCH_CONCURRENCY=16 BENCH_USERS=32.
 * BENCH_ASYNC_CONTEXT=1: one em.transactional on the first server's ORM before anything is measured, to
 * measure the cost of what the service avoids (on Node 20 it turns on async hooks for the whole process,
 * both servers included; see support/async-context.ts).
 * The report goes to stdout; its last line is the results as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, type App, type MeterParts } from '../src/app';
import { loadConfig } from '../src/config';
import { inTransaction } from '../src/db/transaction';
import { Meter, type MeteredCall, type MeteredResult } from '../src/metering/meter';
import { countMessageTokens } from '../src/ai/tokenizer';
import { asyncContextKnob, asyncContextLine, asyncContextState, enterAsyncContextOnce, watchAsyncContext, type AsyncContextState } from './support/async-context';
import { intEnv } from './support/env';
import { createScratchDatabase } from './support/database';
import { runClosedLoop } from './support/load';
import { startInstantProvider, type InstantProvider } from './support/instant-provider';
import { fmtInt, fmtMs, median, medianSummary, summarize, table, type LatencySummary } from './support/stats';


const SETTINGS = {
  runMs: intEnv('BENCH_RUN_SECONDS', 3) * 1_000,
  reps: intEnv('BENCH_REPS', 5),
  concurrency: intEnv('BENCH_CONCURRENCY', 16),
  users: intEnv('BENCH_USERS', 32),
  warmupMs: 1_000,
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
  override async complete<P>(call: MeteredCall<P>): Promise<MeteredResult<P>> {
    const [balance, providers, router] = this.parts;
    const route = router.route(call.tier);
    countMessageTokens(route.model, call.messages); // the metered path counts the prompt too
    const result = await providers[route.provider]!.complete({ model: route.model, messages: call.messages, maxOutputTokens: call.outputTokensMax });
    const usage = { ...result.usage, totalTokens: result.usage.promptTokens + result.usage.completionTokens, model: route.model, costNanoUsd: 0 };
    const attached = call.attach?.(result.text, { model: route.model, partial: false }); // parses the output, as the metered path does
    return { text: result.text, produced: attached?.produced, usage, balance: await balance.snapshot(call.userId), ledgerEntryId: '' };
  }
}

type Variant = 'metered' | 'unmetered';

/** One repetition: the two variants measured side by side in the same few seconds. */
interface RepResult {
  /** One at a time, requests alternating metered / unmetered (paired) or in turn (embedded). */
  sequential: Record<Variant, LatencySummary>;
  /** The same, every sample (a p99 needs more of them than one repetition has). */
  sequentialSamples: Record<Variant, number[]>;
  /** Plain commits sampled during the same seconds as the sequential requests. */
  commit: LatencySummary;
  concurrentOpsPerSec: Record<Variant, number>;
  /** This process's CPU time per request in the concurrent phase, ms. */
  concurrentCpuMsPerOp: Record<Variant, number>;
  concurrent: Record<Variant, LatencySummary>;
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
    // Every seeded account comes from this one process.
    SIGNUP_PER_ADDRESS_MAX: '1000000',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: provider.baseURL,
    PROVIDER_RETRIES_MAX: '0',
  });
  const app = await bootstrap(config, variant === 'unmetered' ? { meterFactory: (parts) => new UnmeteredMeter(...parts) } : {});
  if (asyncContextKnob() && !asyncContextEntered) {
    // Client, servers and fake provider share this process, so one entry reaches all of them.
    await enterAsyncContextOnce(app.services.orm);
    asyncContextEntered = true;
  }
  return app;
}

let asyncContextEntered = false;

async function seed(app: App, count: number): Promise<User[]> {
  const users = [];
  for (let i = 0; i < count; i++) {
    const { token, user } = await app.services.accounts.signUp({ email: `bench-${randomBytes(6).toString('hex')}@example.com`, password: 'benchmark-password' }, '127.0.0.1');
    const brand = await app.services.accounts.createBrand(user.id, { name: `Brand ${i}` });
    users.push({ token, brandId: brand.id });
  }
  return users;
}

async function chat(url: string, user: User): Promise<number> {
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

type User = { token: string; brandId: string };
type Apps = Record<Variant, App>;

/** A plain commit (BEGIN; UPDATE one row; COMMIT) through MikroORM, on the benchmark's database. */
async function plainCommit(app: App, userId: string): Promise<number> {
  const started = performance.now();
  await inTransaction(app.services.orm, (tx) => tx.execute('update users set updated_at = updated_at where id = ?', [userId]));
  return performance.now() - started;
}

/**
 * One at a time for `ms`: when both servers run (a PostgreSQL server), each round sends one
 * metered request, one unmetered request and one plain commit, so all three see the same moments
 * of a noisy machine; the order within a round alternates.
 */
async function sequentialPaired(apps: Apps, users: User[], userId: string, ms: number): Promise<Pick<RepResult, 'sequential' | 'sequentialSamples' | 'commit' | 'errors' | 'firstError'>> {
  const samples: Record<Variant | 'commit', number[]> = { metered: [], unmetered: [], commit: [] };
  const deadline = performance.now() + ms;
  for (let round = 0; performance.now() < deadline; round++) {
    const user = users[round % users.length]!;
    const order: Variant[] = round % 2 === 0 ? ['metered', 'unmetered'] : ['unmetered', 'metered'];
    for (const variant of order) samples[variant].push(await chat(apps[variant].url, user));
    samples.commit.push(await plainCommit(apps.metered, userId));
  }
  return {
    sequential: { metered: summarize(samples.metered), unmetered: summarize(samples.unmetered) },
    sequentialSamples: { metered: samples.metered, unmetered: samples.unmetered },
    commit: summarize(samples.commit),
    errors: 0,
    firstError: undefined,
  };
}

/**
 * `concurrency` clients for `ms` against one server; closed loop. Also returns this process's CPU
 * time over the load (client, both servers and the fake provider all run here; the other server
 * is idle meanwhile).
 */
async function concurrentLoad(app: App, users: User[], ms: number) {
  const before = process.cpuUsage();
  const result = await runClosedLoop(SETTINGS.concurrency, ms, (w) => chat(app.url, users[w % users.length]!));
  const cpu = process.cpuUsage(before);
  return { ...result, cpuMs: (cpu.user + cpu.system) / 1_000 };
}

/** Slices each phase's concurrent load is cut into, alternating between the two servers. */
const CONCURRENT_SLICES = 3;

/**
 * The concurrent phase, cut into slices that alternate between the servers (A B B A A B …), so slow
 * and fast moments of the machine fall on both; each variant's slices are added up.
 */
async function concurrentSlices(apps: Apps, users: User[]): Promise<Record<Variant, Awaited<ReturnType<typeof concurrentLoad>>>> {
  const sliceMs = SETTINGS.runMs / CONCURRENT_SLICES;
  const parts: Record<Variant, Array<Awaited<ReturnType<typeof concurrentLoad>>>> = { metered: [], unmetered: [] };
  for (let slice = 0; slice < CONCURRENT_SLICES; slice++) {
    const order: Variant[] = slice % 2 === 0 ? ['metered', 'unmetered'] : ['unmetered', 'metered'];
    for (const variant of order) parts[variant].push(await concurrentLoad(apps[variant], users, sliceMs));
  }
  const add = (rs: Array<Awaited<ReturnType<typeof concurrentLoad>>>) => {
    const ops = rs.reduce((n, r) => n + r.ops, 0);
    const elapsedMs = rs.reduce((n, r) => n + r.elapsedMs, 0);
    return {
      ops,
      elapsedMs,
      cpuMs: rs.reduce((n, r) => n + r.cpuMs, 0),
      opsPerSec: (ops / elapsedMs) * 1_000,
      samplesMs: rs.flatMap((r) => r.samplesMs),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      firstError: rs.find((r) => r.firstError)?.firstError,
    };
  };
  return { metered: add(parts.metered), unmetered: add(parts.unmetered) };
}

/**
 * With a PostgreSQL server both servers run at once on the same database (the unmetered one never
 * writes a balance), and every repetition measures them in the same seconds: sequential requests
 * interleaved, then the concurrent load in alternating slices.
 */
async function runPaired(env: Record<string, string>, provider: InstantProvider): Promise<RepResult[]> {
  const apps: Apps = { metered: await startApp(env, provider, 'metered'), unmetered: await startApp(env, provider, 'unmetered') };
  try {
    const users = await seed(apps.metered, SETTINGS.users);
    const [{ id: userId }] = (await apps.metered.services.orm.em.fork().execute<Array<{ id: string }>>('select id from users limit 1')) as [{ id: string }];
    for (const variant of ['metered', 'unmetered'] as const) await concurrentLoad(apps[variant], users, SETTINGS.warmupMs);
    const reps: RepResult[] = [];
    for (let rep = 1; rep <= SETTINGS.reps; rep++) {
      const seq = await sequentialPaired(apps, users, userId, SETTINGS.runMs);
      reps.push(repResult(seq, await concurrentSlices(apps, users)));
      progress(rep, reps.at(-1)!);
    }
    return reps;
  } finally {
    await apps.metered.close();
    await apps.unmetered.close();
  }
}

/**
 * The embedded database admits one server at a time (one PGlite, locked), so each repetition runs
 * the variants in turn, each on a freshly started server, the order alternating between repetitions.
 */
async function runInTurn(env: Record<string, string>, provider: InstantProvider): Promise<RepResult[]> {
  let users: User[] | undefined;
  const reps: RepResult[] = [];
  for (let rep = 1; rep <= SETTINGS.reps; rep++) {
    const order: Variant[] = rep % 2 === 1 ? ['metered', 'unmetered'] : ['unmetered', 'metered'];
    const sequential = {} as Record<Variant, number[]>;
    const loads = {} as Record<Variant, Awaited<ReturnType<typeof concurrentLoad>>>;
    const commits: number[] = [];
    for (const variant of order) {
      const app = await startApp(env, provider, variant);
      try {
        users ??= await seed(app, SETTINGS.users);
        const [{ id: userId }] = (await app.services.orm.em.fork().execute<Array<{ id: string }>>('select id from users limit 1')) as [{ id: string }];
        await concurrentLoad(app, users, SETTINGS.warmupMs);
        const samples: number[] = [];
        const deadline = performance.now() + SETTINGS.runMs;
        for (let i = 0; performance.now() < deadline; i++) {
          samples.push(await chat(app.url, users[i % users.length]!));
          // Commits are sampled beside both variants, so the reference sees both halves of the rep.
          commits.push(await plainCommit(app, userId));
        }
        sequential[variant] = samples;
        loads[variant] = await concurrentLoad(app, users, SETTINGS.runMs);
      } finally {
        await app.close();
      }
    }
    const seq = {
      sequential: { metered: summarize(sequential.metered), unmetered: summarize(sequential.unmetered) },
      sequentialSamples: sequential,
      commit: summarize(commits),
      errors: 0,
      firstError: undefined,
    };
    reps.push(repResult(seq, loads));
    progress(rep, reps.at(-1)!);
  }
  return reps;
}

function repResult(seq: Pick<RepResult, 'sequential' | 'sequentialSamples' | 'commit' | 'errors' | 'firstError'>, loads: Record<Variant, Awaited<ReturnType<typeof concurrentLoad>>>): RepResult {
  return {
    ...seq,
    concurrentOpsPerSec: { metered: loads.metered.opsPerSec, unmetered: loads.unmetered.opsPerSec },
    concurrentCpuMsPerOp: { metered: loads.metered.cpuMs / Math.max(1, loads.metered.ops), unmetered: loads.unmetered.cpuMs / Math.max(1, loads.unmetered.ops) },
    concurrent: { metered: summarize(loads.metered.samplesMs), unmetered: summarize(loads.unmetered.samplesMs) },
    errors: loads.metered.errors + loads.unmetered.errors,
    firstError: loads.metered.firstError ?? loads.unmetered.firstError,
  };
}

function progress(rep: number, r: RepResult): void {
  process.stderr.write(
    `rep ${rep}: ${fmtInt(r.concurrentOpsPerSec.metered)} / ${fmtInt(r.concurrentOpsPerSec.unmetered)} req/s ` +
      `(ratio ${(r.concurrentOpsPerSec.metered / r.concurrentOpsPerSec.unmetered).toFixed(2)}), ` +
      `added p50 ${fmtMs(r.sequential.metered.p50 - r.sequential.unmetered.p50)} ms, commit p50 ${fmtMs(r.commit.p50)} ms\n`,
  );
}

async function main(): Promise<void> {
  const asyncContext = watchAsyncContext();
  const provider = await startInstantProvider();
  const db = await databaseEnv();
  const paired = process.env.DATABASE_URL !== undefined;
  const loadBefore = loadavg();
  process.stderr.write(`bench:generate on ${db.describe}, ${paired ? 'both servers at once' : 'one server at a time'}, ${cpus().length} cores, Node ${process.version}, load ${loadBefore[0]!.toFixed(2)}\n`);
  let reps: RepResult[];
  try {
    reps = paired ? await runPaired(db.env, provider) : await runInTurn(db.env, provider);
  } finally {
    await db.drop();
    await provider.close();
  }
  report(reps, db.describe, paired, loadBefore, await asyncContextState(asyncContext));
}

function report(reps: RepResult[], describe: string, paired: boolean, loadBefore: number[], asyncContext: AsyncContextState): void {
  const loadAfter = loadavg();
  const med = (f: (r: RepResult) => number) => median(reps.map(f));
  const pooled = (v: Variant) => summarize(reps.flatMap((r) => r.sequentialSamples[v]));
  const ratio = med((r) => r.concurrentOpsPerSec.metered / r.concurrentOpsPerSec.unmetered);
  const added = {
    sequentialP50: med((r) => r.sequential.metered.p50 - r.sequential.unmetered.p50),
    // One repetition has a few hundred requests per variant, so its p99 is one or two stalls of the
    // machine; the p99 comes from every repetition's samples together.
    sequentialP99: pooled('metered').p99 - pooled('unmetered').p99,
    concurrentP50: med((r) => r.concurrent.metered.p50 - r.concurrent.unmetered.p50),
    concurrentP99: med((r) => r.concurrent.metered.p99 - r.concurrent.unmetered.p99),
  };
  const commit = medianSummary(reps.map((r) => r.commit));
  const addedPerCommit = med((r) => (r.sequential.metered.p50 - r.sequential.unmetered.p50) / r.commit.p50);
  const seq = (v: Variant) => medianSummary(reps.map((r) => r.sequential[v]));
  const conc = (v: Variant) => medianSummary(reps.map((r) => r.concurrent[v]));
  const ops = (v: Variant) => med((r) => r.concurrentOpsPerSec[v]);
  const cpu = (v: Variant) => med((r) => r.concurrentCpuMsPerOp[v]);
  const errors = reps.reduce((n, r) => n + r.errors, 0);
  const perRep = (f: (r: RepResult) => number, digits = 2) => reps.map((r) => f(r).toFixed(digits)).join(', ');
  process.stdout.write(
    `\nbench:generate — ${describe}; ${paired ? 'both servers at once, requests interleaved' : 'one server at a time, in alternating order'}; ` +
      `${SETTINGS.reps} reps × ${SETTINGS.runMs / 1_000} s per phase; medians over reps of each rep's metered − unmetered; concurrency ${SETTINGS.concurrency}\n` +
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ` +
      `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after\n\n`,
  );
  process.stdout.write(
    table([
      ['', 'metered', 'unmetered', 'metered vs unmetered'],
      ['throughput (req/s), concurrent', fmtInt(ops('metered')), fmtInt(ops('unmetered')), `ratio ${ratio.toFixed(2)} (goal ≥ 0.9)`],
      ['CPU per request, concurrent (µs, this process)', fmtInt(cpu('metered') * 1_000), fmtInt(cpu('unmetered') * 1_000), signed((cpu('metered') - cpu('unmetered')) * 1_000, fmtInt)],
      ['latency p50, one at a time', fmtMs(seq('metered').p50), fmtMs(seq('unmetered').p50), signed(added.sequentialP50, fmtMs)],
      ['latency p99, one at a time (all reps)', fmtMs(pooled('metered').p99), fmtMs(pooled('unmetered').p99), `${signed(added.sequentialP99, fmtMs)} (goal < 5 ms)`],
      ['latency p50, concurrent', fmtMs(conc('metered').p50), fmtMs(conc('unmetered').p50), signed(added.concurrentP50, fmtMs)],
      ['latency p99, concurrent', fmtMs(conc('metered').p99), fmtMs(conc('unmetered').p99), signed(added.concurrentP99, fmtMs)],
      ['one PostgreSQL commit (p50 / p99)', `${fmtMs(commit.p50)} / ${fmtMs(commit.p99)}`, '', `added p50 / commit p50 = ${addedPerCommit.toFixed(2)}`],
    ]),
  );
  process.stdout.write(`\nper rep: ratio [${perRep((r) => r.concurrentOpsPerSec.metered / r.concurrentOpsPerSec.unmetered)}], `);
  process.stdout.write(`added p50 ms [${perRep((r) => r.sequential.metered.p50 - r.sequential.unmetered.p50)}], commit p50 ms [${perRep((r) => r.commit.p50)}]\n`);
  process.stdout.write(`errors: ${errors}${errors > 0 ? ` (first: ${reps.find((r) => r.firstError)?.firstError})` : ''}\n`);
  process.stdout.write(`${asyncContextLine(asyncContext)}\n`);
  process.stdout.write(`${JSON.stringify({ describe, paired, settings: SETTINGS, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadAfter, asyncContext, ratio, added, addedPerCommit, commit, reps: reps.map(({ sequentialSamples: _, ...r }) => r) })}\n`);
}

/** A difference with its sign: +1.23, −0.45 (the metered side can come out faster on a noisy machine). */
function signed(x: number, fmt: (n: number) => string): string {
  return x < 0 ? `−${fmt(-x)}` : `+${fmt(x)}`;
}

main().catch((err) => {
  process.stderr.write(`bench:generate failed: ${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
