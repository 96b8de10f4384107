/**
 * Balance benchmark: the per-request-transaction baseline against the BalanceService (in-memory
 * actors + group commit), side by side in one process against one PostgreSQL.
 *
 *   npm run bench:balance                                         embedded PGlite in a temp dir
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npm run bench:balance                                       a fresh database on that server
 *
 * The process re-runs itself with --expose-gc (needed to measure memory per idle actor) unless
 * started with it. Progress goes to stderr; the report to stdout, whose last line is the results as
 * JSON (also written to .tmp/bench-balance-<db>-<time>.json). Knobs (environment):
 *   BENCH_RUN_SECONDS=3  BENCH_REPS=3  BENCH_USERS=10000  BENCH_IDLE_ACTORS=50000
 *   BENCH_SERVICE_CONCURRENCY=2000  BENCH_BASELINE_CONCURRENCY=64  BENCH_RESERVE_CALLS=200000
 *   BENCH_ONLY=service-spread  (warm-up + that one load, e.g. under `node --cpu-prof`; also service-hot,
 *     service-spread-3grants (users holding 3 grants, one expiring),
 *     service-sequential, baseline-spread, baseline-hot, baseline-sequential, service-spread-limits,
 *     service-hot-limits)
 *   BENCH_ASYNC_CONTEXT=1  one em.transactional before anything is measured, to measure the cost of what
 *     the service avoids (on Node 20 it turns on async hooks for the whole process; see support/async-context.ts)
 *
 * Limits (issue 15): every service settle is for a brand. "Limits off" runs without a plan table and
 * on a brand without a quota; "limits on" with a monthly quota on the brand and the per-minute
 * buckets of a plan (requests, tokens, brand requests), set so high that nothing is refused: the
 * same work, plus the checks and counting. Both run in the same repetition, back to back.
 * The balance limits (FLUSH_BATCH_MAX, HOLDS_PER_USER_MAX, ...) come from the same variables as the
 * service's (src/config.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { HoldMeta, SettleUsage } from '../src/balance/actor';
import { verifyLedger } from '../src/balance/ledger';
import { BalanceService } from '../src/balance/service';
import { loadConfig, type BalanceConfig } from '../src/config';
import { withPooledConnection } from '../src/db/sql';
import type { Plans } from '../src/plans';
import { createLogger, type Logger } from '../src/logger';
import { asyncContextKnob, asyncContextLine, asyncContextState, enterAsyncContextOnce, watchAsyncContext, type AsyncContextState } from './support/async-context';
import { chargeInOwnTransaction } from './support/baseline';
import { openBenchDatabase, seedUsers, type BenchDatabase } from './support/database';
import { intEnv } from './support/env';
import { runClosedLoop, type LoadResult } from './support/load';
import { fmtInt, fmtMs, fmtRatio, fmtUs, median, medianSummary, summarize, table, type LatencySummary } from './support/stats';


const SETTINGS = {
  /** Length of one timed load run. */
  runMs: intEnv('BENCH_RUN_SECONDS', 3) * 1_000,
  /** Repetitions of every timed measurement; the report quotes medians. */
  reps: intEnv('BENCH_REPS', 3),
  /** Users the spread load picks from at random. */
  users: intEnv('BENCH_USERS', 10_000),
  /** Actors loaded to measure memory per idle cached actor. */
  idleActors: intEnv('BENCH_IDLE_ACTORS', 50_000),
  /** Settles in flight against the service at saturating load (capped by HOLDS_PER_USER_MAX on one user). */
  serviceConcurrency: intEnv('BENCH_SERVICE_CONCURRENCY', 2_000),
  /** Requests in flight against the baseline (they queue for the ORM pool). */
  baselineConcurrency: intEnv('BENCH_BASELINE_CONCURRENCY', 64),
  /** Timed reserve() calls. */
  reserveCalls: intEnv('BENCH_RESERVE_CALLS', 200_000),
  /** Untimed load before the first repetition, so JIT and caches are warm. */
  warmupMs: 1_000,
  /** Each reference commit measurement (one per repetition). */
  plainCommitMs: 1_000,
  /** Each sequential (low load) run. */
  lowLoadMs: 2_000,
  /** Starting balance of every seeded user: enough that no run can drain one. */
  seedTokens: 1_000_000_000,
  /** Balances asked for at once while preloading (the service refuses past 10,000 loading). */
  preloadChunk: 5_000,
} as const;

const GOALS = {
  ratioMin: 30,
  /** Durable settles/s with limits on, at least this share of limits off (same repetition). */
  limitsOnOverOffMin: 0.9,
  durableSettlesPerSecMin: 50_000,
  /** "≈ one commit": the low-load settle wait p50 within this factor of one plain commit p50. */
  lowLoadWaitOverCommitMax: 2,
  reserveP99MsMax: 0.1,
  idleActorBytesMax: 2_048,
  /** Issue 14: settles/s with 3 grants per user at least this share of the 1-grant figure, same run. */
  grants3RatioMin: 0.9,
} as const;

const HOLD_TOKENS = 100;
const META: HoldMeta = { taskType: 'bench', model: 'bench-model' };
/** Limits on: every bucket counts, none refuses (the most a plan may set). */
const BENCH_PLANS: Plans = {
  free: { monthlyAllowance: 0, requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000, brandRequestsPerMinute: 1_000_000_000 },
};
/** A quota no run reaches (3 × 3 s at 100,000 settles/s of 60 tokens is 54 million). */
const BENCH_QUOTA_TOKENS = 2_000_000_000;
const USAGE: SettleUsage = { tokens: 60, promptTokens: 40, completionTokens: 20, costNanoUsd: 1_234, model: 'bench-model' };

interface FlushStats {
  batches: number;
  entries: number;
  commitMs: number;
  batchMax: number;
}

interface RunRecord {
  ops: number;
  errors: number;
  firstError?: string | undefined;
  elapsedMs: number;
  opsPerSec: number;
  waitMs: LatencySummary;
  /** CPU time per resolved op: this process (PGlite included when embedded) and the server's backends. */
  cpuUsPerOp?: { node: number; server: number | undefined } | undefined;
  flush?: { batches: number; meanBatch: number; batchMax: number; meanCommitMs: number } | undefined;
}

const progress = (msg: string): void => void process.stderr.write(`[bench:balance] ${msg}\n`);

class Bench {
  /** Every settle acknowledged as durable, by either design: must equal the CHARGE rows at the end. */
  acknowledged = 0;
  /** Each user's hold meta with limits off (a brand without a quota) and on (a brand with one). */
  private readonly metas = { off: new Map<string, HoldMeta>(), on: new Map<string, HoldMeta>() };

  constructor(
    readonly db: BenchDatabase,
    readonly config: BalanceConfig,
    readonly log: Logger,
  ) {}

  /** Two brands for each of these users: one without a quota (limits off), one with (limits on). */
  async seedBrands(users: readonly string[]): Promise<void> {
    const rows = await this.orm.em.fork().execute<Array<{ id: string; owner_id: string; name: string }>>(
      `insert into brands (owner_id, name)
       select u.value::uuid, n.name from json_array_elements_text(?::json) u cross join (values ('off'), ('on')) n(name)
       returning id, owner_id, name`,
      [JSON.stringify(users)],
    );
    await this.orm.em.fork().execute(`insert into brand_quotas (brand_id, user_id, monthly_tokens) select id, owner_id, ? from brands where name = 'on'`, [BENCH_QUOTA_TOKENS]);
    for (const r of rows) this.metas[r.name as 'off' | 'on'].set(r.owner_id, { ...META, brandId: r.id });
  }

  private metaOf(userId: string, limits: boolean): HoldMeta {
    return (limits ? this.metas.on : this.metas.off).get(userId) ?? META;
  }

  get orm(): MikroORM {
    return this.db.orm;
  }

  /** A fresh service per measurement, preloaded, so no run inherits another's actors or journal. */
  async withService<T>(preload: readonly string[], fn: (svc: BalanceService, flush: FlushStats) => Promise<T>, limits = false): Promise<T> {
    const svc = new BalanceService(this.orm, { ...this.config, plans: limits ? BENCH_PLANS : undefined }, this.log);
    const flush: FlushStats = { batches: 0, entries: 0, commitMs: 0, batchMax: 0 };
    svc.addListener({
      flushed: (entries, ms) => {
        flush.batches++;
        flush.entries += entries;
        flush.commitMs += ms;
        flush.batchMax = Math.max(flush.batchMax, entries);
      },
    });
    svc.start();
    try {
      await preloadActors(svc, preload);
      return await fn(svc, flush);
    } finally {
      await svc.stop();
    }
  }

  /** Reserve then settle, awaiting the settle: the wait recorded is settle() until durable. */
  async serviceLoad(users: readonly string[], concurrency: number, durationMs: number, limits = false): Promise<RunRecord> {
    return this.withService(users, async (svc, flush) => {
      const pick = picker(users);
      const record = await this.withCpu(() =>
        runClosedLoop(concurrency, durationMs, async () => {
          const userId = pick();
          const hold = await svc.reserve(userId, HOLD_TOKENS, this.metaOf(userId, limits));
          const started = performance.now();
          await svc.settle(hold, USAGE, {});
          return performance.now() - started;
        }),
      );
      const journalDepth = svc.stats().journalDepth;
      if (journalDepth !== 0) throw new Error(`journal not empty after a run: ${journalDepth}`);
      record.flush = {
        batches: flush.batches,
        meanBatch: flush.entries / Math.max(1, flush.batches),
        batchMax: flush.batchMax,
        meanCommitMs: flush.commitMs / Math.max(1, flush.batches),
      };
      return record;
    }, limits);
  }

  async baselineLoad(users: readonly string[], concurrency: number, durationMs: number): Promise<RunRecord> {
    const pick = picker(users);
    return this.withCpu(() =>
      runClosedLoop(concurrency, durationMs, async () => {
        const started = performance.now();
        await chargeInOwnTransaction(this.orm, pick(), USAGE);
        return performance.now() - started;
      }),
    );
  }

  /** Runs a load and records it with the CPU time both sides spent on it. */
  private async withCpu(load: () => Promise<LoadResult>): Promise<RunRecord> {
    const serverBefore = await this.db.serverCpuMs();
    const nodeBefore = process.cpuUsage();
    const result = await load();
    const node = process.cpuUsage(nodeBefore);
    const serverAfter = await this.db.serverCpuMs();
    this.acknowledged += result.ops;
    const perOp = (ms: number) => (ms * 1_000) / Math.max(1, result.ops);
    return {
      ops: result.ops,
      errors: result.errors,
      firstError: result.firstError,
      elapsedMs: result.elapsedMs,
      opsPerSec: result.opsPerSec,
      waitMs: summarize(result.samplesMs),
      cpuUsPerOp: {
        node: perOp((node.user + node.system) / 1_000),
        server: serverBefore === undefined || serverAfter === undefined ? undefined : perOp(serverAfter - serverBefore),
      },
    };
  }

  /** BEGIN / UPDATE / COMMIT on one raw connection from the ORM's pool, back to back. */
  async plainCommit(userId: string, durationMs: number): Promise<RunRecord> {
    const samples: number[] = [];
    const started = performance.now();
    await withPooledConnection(this.orm, async (conn) => {
      while (performance.now() < started + durationMs) {
        const t0 = performance.now();
        await conn.query('begin');
        await conn.query('update users set updated_at = now() where id = $1', [userId]);
        await conn.query('commit');
        samples.push(performance.now() - t0);
      }
    });
    const elapsedMs = performance.now() - started;
    return { ops: samples.length, errors: 0, elapsedMs, opsPerSec: (samples.length / elapsedMs) * 1_000, waitMs: summarize(samples) };
  }

  /**
   * reserve() on loaded actors, each call timed with hrtime around the awaited call (what a caller
   * waits, microtask hops included), then the same loop timed as a batch, then the bare actor.
   */
  async reserveLatency(users: readonly string[], calls: number, limits = false): Promise<{ perCall: LatencySummary; batchMeanMs: number; actorOnlyMeanMs: number }> {
    return this.withService(users, async (svc) => {
      const n = users.length;
      const metas = users.map((id) => this.metaOf(id, limits));
      for (let i = 0; i < Math.min(calls, 50_000); i++) svc.release(await svc.reserve(users[i % n]!, HOLD_TOKENS, metas[i % n]!));
      const samples = new Float64Array(calls);
      for (let i = 0; i < calls; i++) {
        const t0 = process.hrtime.bigint();
        const hold = await svc.reserve(users[i % n]!, HOLD_TOKENS, metas[i % n]!);
        samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
        svc.release(hold);
      }
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) svc.release(await svc.reserve(users[i % n]!, HOLD_TOKENS, metas[i % n]!));
      const batchMeanMs = Number(process.hrtime.bigint() - t0) / 1e6 / calls;
      const actors = users.map((id) => svc.peek(id)!);
      t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) {
        const actor = actors[i % n]!;
        const outcome = actor.reserve(HOLD_TOKENS, metas[i % n]!, Date.now());
        if (outcome.ok) actor.release(outcome.hold.id);
      }
      const actorOnlyMeanMs = Number(process.hrtime.bigint() - t0) / 1e6 / calls;
      return { perCall: summarize(samples), batchMeanMs, actorOnlyMeanMs };
    }, limits);
  }

  /**
   * Heap per actor: growth after loading `users` into a fresh service, and the drop when that
   * service is released; both after full GCs. A service dropped right after its last query stayed
   * reachable until later macrotasks had run (pending driver and pool callbacks), which skewed
   * back-to-back readings: hence the waits before each GC, and the second figure as a cross-check.
   */
  async idleActorBytes(users: readonly string[]): Promise<{ loaded: number; released: number }> {
    let svc: BalanceService | null = new BalanceService(this.orm, this.config, this.log);
    await quiesceAndGc();
    const before = process.memoryUsage().heapUsed;
    await preloadActors(svc, users);
    await quiesceAndGc();
    const after = process.memoryUsage().heapUsed;
    const live = svc.stats().liveActors;
    if (live !== users.length) throw new Error(`expected ${users.length} live actors, found ${live}`);
    svc = null;
    await quiesceAndGc();
    const released = process.memoryUsage().heapUsed;
    return { loaded: (after - before) / live, released: (after - released) / live };
  }
}

async function preloadActors(svc: BalanceService, users: readonly string[]): Promise<void> {
  for (let i = 0; i < users.length; i += SETTINGS.preloadChunk) {
    await Promise.all(users.slice(i, i + SETTINGS.preloadChunk).map((id) => svc.snapshot(id)));
  }
}

function picker(users: readonly string[]): () => string {
  if (users.length === 1) return () => users[0]!;
  return () => users[Math.floor(Math.random() * users.length)]!;
}

/** Lets pending I/O callbacks and timers finish, then runs full GCs. */
async function quiesceAndGc(): Promise<void> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run node with --expose-gc');
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
  }
}

interface Results {
  plainCommit: RunRecord[];
  baselineSpread: RunRecord[];
  serviceSpread: RunRecord[];
  /** The same load on users holding 3 grants each (one expiring): the credits feature's cost. */
  serviceSpread3: RunRecord[];
  baselineHot: RunRecord[];
  serviceHot: RunRecord[];
  serviceLowLoad: RunRecord[];
  baselineLowLoad: RunRecord[];
  serviceSpreadLimits: RunRecord[];
  serviceHotLimits: RunRecord[];
  reserve: Array<{ perCall: LatencySummary; batchMeanMs: number; actorOnlyMeanMs: number }>;
  reserveLimits: Array<{ perCall: LatencySummary; batchMeanMs: number; actorOnlyMeanMs: number }>;
  reserve3: Array<{ perCall: LatencySummary; batchMeanMs: number; actorOnlyMeanMs: number }>;
  idleActorBytes: Array<{ loaded: number; released: number }>;
}

async function measure(bench: Bench, ids: readonly string[], ids3: readonly string[]): Promise<Results> {
  const spread = ids.slice(0, SETTINGS.users);
  const spread3 = ids3.slice(0, SETTINGS.users);
  const hot = [ids[0]!];
  const idle = ids.slice(0, SETTINGS.idleActors);
  const hotConcurrency = Math.min(SETTINGS.serviceConcurrency, bench.config.holdsPerUserMax);
  const r: Results = {
    plainCommit: [],
    baselineSpread: [],
    serviceSpread: [],
    serviceSpread3: [],
    baselineHot: [],
    serviceHot: [],
    serviceLowLoad: [],
    baselineLowLoad: [],
    serviceSpreadLimits: [],
    serviceHotLimits: [],
    reserve: [],
    reserveLimits: [],
    reserve3: [],
    idleActorBytes: [],
  };

  type LoadKey = 'baselineSpread' | 'serviceSpread' | 'serviceSpread3' | 'baselineHot' | 'serviceHot' | 'serviceLowLoad' | 'baselineLowLoad' | 'serviceSpreadLimits' | 'serviceHotLimits';
  /** Every timed load, in the order one repetition runs them: [results field, BENCH_ONLY name, run]. */
  const loads: Array<[LoadKey, string, () => Promise<RunRecord>]> = [
    // Low load first, right after the reference commit, so both see the same quiet database.
    ['serviceLowLoad', 'service-sequential', () => bench.serviceLoad(spread, 1, SETTINGS.lowLoadMs)],
    ['baselineLowLoad', 'baseline-sequential', () => bench.baselineLoad(spread, 1, SETTINGS.lowLoadMs)],
    ['baselineSpread', 'baseline-spread', () => bench.baselineLoad(spread, SETTINGS.baselineConcurrency, SETTINGS.runMs)],
    ['serviceSpread', 'service-spread', () => bench.serviceLoad(spread, SETTINGS.serviceConcurrency, SETTINGS.runMs)],
    ['serviceSpreadLimits', 'service-spread-limits', () => bench.serviceLoad(spread, SETTINGS.serviceConcurrency, SETTINGS.runMs, true)],
    ['serviceSpread3', 'service-spread-3grants', () => bench.serviceLoad(spread3, SETTINGS.serviceConcurrency, SETTINGS.runMs)],
    ['baselineHot', 'baseline-hot', () => bench.baselineLoad(hot, SETTINGS.baselineConcurrency, SETTINGS.runMs)],
    ['serviceHot', 'service-hot', () => bench.serviceLoad(hot, hotConcurrency, SETTINGS.runMs)],
    ['serviceHotLimits', 'service-hot-limits', () => bench.serviceLoad(hot, hotConcurrency, SETTINGS.runMs, true)],
  ];
  const only = process.env.BENCH_ONLY;
  const chosen = only ? loads.filter(([, name]) => name === only) : loads;
  if (chosen.length === 0) throw new Error(`BENCH_ONLY: one of ${loads.map(([, name]) => name).join(', ')}; got ${only}`);

  progress('warm-up');
  if (chosen.some(([, name]) => name.startsWith('service'))) {
    await bench.serviceLoad(spread, SETTINGS.serviceConcurrency, SETTINGS.warmupMs);
    await bench.serviceLoad(spread, SETTINGS.serviceConcurrency, SETTINGS.warmupMs, true);
  }
  if (chosen.some(([, name]) => name.startsWith('baseline'))) {
    await bench.baselineLoad(spread, SETTINGS.baselineConcurrency, SETTINGS.warmupMs);
  }

  for (let rep = 1; rep <= (only ? 1 : SETTINGS.reps); rep++) {
    const say = (what: string, rec: RunRecord) =>
      progress(
        `rep ${rep}/${SETTINGS.reps} ${what}: ${fmtInt(rec.opsPerSec)}/s, wait p50 ${fmtMs(rec.waitMs.p50)} ms, ` +
          `CPU/op node ${fmtMs(rec.cpuUsPerOp?.node ?? NaN)} µs, server ${fmtMs(rec.cpuUsPerOp?.server ?? NaN)} µs` +
          (rec.errors ? `, ${rec.errors} errors (${rec.firstError})` : ''),
      );
    if (!only) {
      r.plainCommit.push(await bench.plainCommit(ids[ids.length - 1]!, SETTINGS.plainCommitMs));
      say('plain commit', r.plainCommit.at(-1)!);
    }
    for (const [key, name, run] of chosen) {
      r[key].push(await run());
      say(name, r[key].at(-1)!);
    }
    if (only) break;
    r.reserve.push(await bench.reserveLatency(spread, SETTINGS.reserveCalls));
    progress(`rep ${rep}/${SETTINGS.reps} reserve: p99 ${fmtUs(r.reserve.at(-1)!.perCall.p99)} µs`);
    r.reserveLimits.push(await bench.reserveLatency(spread, SETTINGS.reserveCalls, true));
    progress(`rep ${rep}/${SETTINGS.reps} reserve with a quota and three rate buckets: p99 ${fmtUs(r.reserveLimits.at(-1)!.perCall.p99)} µs`);
    r.reserve3.push(await bench.reserveLatency(spread3, SETTINGS.reserveCalls));
    progress(`rep ${rep}/${SETTINGS.reps} reserve, 3 grants per user: p99 ${fmtUs(r.reserve3.at(-1)!.perCall.p99)} µs`);
    r.idleActorBytes.push(await bench.idleActorBytes(idle));
    const idleBytes = r.idleActorBytes.at(-1)!;
    progress(`rep ${rep}/${SETTINGS.reps} idle actor: ${fmtInt(idleBytes.loaded)} B loaded, ${fmtInt(idleBytes.released)} B released`);
  }
  return r;
}

/** Median throughput and the median of each latency field over the repetitions. */
function med(runs: readonly RunRecord[]) {
  return {
    opsPerSec: median(runs.map((x) => x.opsPerSec)),
    waitMs: medianSummary(runs.map((x) => x.waitMs)),
    errors: runs.reduce((n, x) => n + x.errors, 0),
    meanBatch: median(runs.map((x) => x.flush?.meanBatch ?? Number.NaN)),
    meanCommitMs: median(runs.map((x) => x.flush?.meanCommitMs ?? Number.NaN)),
    cpuUsPerOp: {
      node: median(runs.map((x) => x.cpuUsPerOp?.node ?? Number.NaN)),
      server: median(runs.map((x) => x.cpuUsPerOp?.server ?? Number.NaN)),
    },
  };
}

function report(db: BenchDatabase, config: BalanceConfig, r: Results, books: Record<string, unknown>, startedAt: Date, loadBefore: number[], asyncContext: AsyncContextState) {
  const loadAfter = loadavg();
  const commit = med(r.plainCommit);
  const a = { spread: med(r.baselineSpread), hot: med(r.baselineHot), low: med(r.baselineLowLoad) };
  const b = { spread: med(r.serviceSpread), hot: med(r.serviceHot), low: med(r.serviceLowLoad) };
  /** Ratio of the medians; the per-repetition ratios (same repetition, adjacent in time) go to the JSON. */
  const ratio = { spread: b.spread.opsPerSec / a.spread.opsPerSec, hot: b.hot.opsPerSec / a.hot.opsPerSec };
  const pairedRatios = {
    spread: r.serviceSpread.map((x, i) => x.opsPerSec / (r.baselineSpread[i]?.opsPerSec ?? Number.NaN)),
    hot: r.serviceHot.map((x, i) => x.opsPerSec / (r.baselineHot[i]?.opsPerSec ?? Number.NaN)),
  };
  const reserveOf = (runs: Results['reserve']) => ({
    p50Ms: median(runs.map((x) => x.perCall.p50)),
    p99Ms: median(runs.map((x) => x.perCall.p99)),
    maxMs: median(runs.map((x) => x.perCall.max)),
    batchMeanMs: median(runs.map((x) => x.batchMeanMs)),
    actorOnlyMeanMs: median(runs.map((x) => x.actorOnlyMeanMs)),
  });
  const reserve = reserveOf(r.reserve);
  const reserveLimits = reserveOf(r.reserveLimits);
  const limitsOn = { spread: med(r.serviceSpreadLimits), hot: med(r.serviceHotLimits) };
  /** Limits on over off, per repetition (adjacent runs), and the median of those. */
  const limitsPaired = {
    spread: r.serviceSpreadLimits.map((x, i) => x.opsPerSec / (r.serviceSpread[i]?.opsPerSec ?? Number.NaN)),
    hot: r.serviceHotLimits.map((x, i) => x.opsPerSec / (r.serviceHot[i]?.opsPerSec ?? Number.NaN)),
  };
  const limitsRatio = { spread: median(limitsPaired.spread), hot: median(limitsPaired.hot) };
  const credits = {
    opsPerSec: median(r.serviceSpread3.map((x) => x.opsPerSec)),
    /** Ratio of the medians; per repetition in pairedRatios3. */
    ratio: median(r.serviceSpread3.map((x) => x.opsPerSec)) / b.spread.opsPerSec,
    pairedRatios3: r.serviceSpread3.map((x, i) => x.opsPerSec / (r.serviceSpread[i]?.opsPerSec ?? Number.NaN)),
    reserveP99Ms: median(r.reserve3.map((x) => x.perCall.p99)),
    reserveP50Ms: median(r.reserve3.map((x) => x.perCall.p50)),
  };
  const idleBytes = median(r.idleActorBytes.map((x) => x.loaded));
  const idleBytesReleased = median(r.idleActorBytes.map((x) => x.released));
  const lowOverCommit = b.low.waitMs.p50 / commit.waitMs.p50;
  const goals = {
    ratioSpread: ratio.spread >= GOALS.ratioMin,
    ratioHot: ratio.hot >= GOALS.ratioMin,
    throughputSpread: b.spread.opsPerSec >= GOALS.durableSettlesPerSecMin,
    throughputHot: b.hot.opsPerSec >= GOALS.durableSettlesPerSecMin,
    lowLoadWait: lowOverCommit <= GOALS.lowLoadWaitOverCommitMax,
    reserveP99: reserve.p99Ms < GOALS.reserveP99MsMax,
    reserveLimitsP99: reserveLimits.p99Ms < GOALS.reserveP99MsMax,
    limitsSpread: limitsRatio.spread >= GOALS.limitsOnOverOffMin,
    limitsHot: limitsRatio.hot >= GOALS.limitsOnOverOffMin,
    idleActor: idleBytes <= GOALS.idleActorBytesMax,
    credits3GrantsRatio: credits.ratio >= GOALS.grants3RatioMin,
    credits3GrantsReserveP99: credits.reserveP99Ms < GOALS.reserveP99MsMax,
  };
  const ok = (met: boolean) => (met ? 'met' : 'NOT MET');
  const serverCpu = (us: number) => (Number.isFinite(us) ? fmtMs(us) : db.kind === 'pglite' ? 'in process' : 'unknown');
  const hotConcurrency = Math.min(SETTINGS.serviceConcurrency, config.holdsPerUserMax);

  const lines = [
    '',
    `Balance benchmark — ${startedAt.toISOString()}`,
    `database: ${db.description}; ORM pool max ${db.poolMax}`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ` +
      `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after`,
    `runs: ${SETTINGS.reps} repetitions × ${SETTINGS.runMs / 1_000} s per load, medians quoted; ` +
      `service ${fmtInt(SETTINGS.serviceConcurrency)} in flight (hot user ${fmtInt(hotConcurrency)}), ` +
      `baseline ${SETTINGS.baselineConcurrency} in flight; FLUSH_BATCH_MAX ${config.flushBatchMax}, FLUSH_INTERVAL_MS ${config.flushIntervalMs}`,
    '',
    `reference: one plain commit (BEGIN/UPDATE/COMMIT, one connection): p50 ${fmtMs(commit.waitMs.p50)} ms, ` +
      `p99 ${fmtMs(commit.waitMs.p99)} ms, ${fmtInt(commit.opsPerSec)} commits/s`,
    '',
    table([
      ['durable settles/s', '(a) baseline', '(b) service', 'b/a', `goal: b/a ≥ ${GOALS.ratioMin}×, b ≥ ${fmtInt(GOALS.durableSettlesPerSecMin)}/s`],
      [`${fmtInt(SETTINGS.users)} users`, fmtInt(a.spread.opsPerSec), fmtInt(b.spread.opsPerSec), fmtRatio(ratio.spread), `${ok(goals.ratioSpread)}, ${ok(goals.throughputSpread)}`],
      ['one hot user', fmtInt(a.hot.opsPerSec), fmtInt(b.hot.opsPerSec), fmtRatio(ratio.hot), `${ok(goals.ratioHot)}, ${ok(goals.throughputHot)}`],
    ]),
    '',
    table([
      ['CPU per durable settle (µs)', 'this process', 'db backends', 'note'],
      [`(a) baseline, ${fmtInt(SETTINGS.users)} users`, fmtMs(a.spread.cpuUsPerOp.node), serverCpu(a.spread.cpuUsPerOp.server), ''],
      [
        `(b) service, ${fmtInt(SETTINGS.users)} users`,
        fmtMs(b.spread.cpuUsPerOp.node),
        serverCpu(b.spread.cpuUsPerOp.server),
        `${fmtInt(GOALS.durableSettlesPerSecMin)}/s needs ≤ ${fmtMs(1e6 / GOALS.durableSettlesPerSecMin)} µs per side, overlapped`,
      ],
      ['(b) service, hot user', fmtMs(b.hot.cpuUsPerOp.node), serverCpu(b.hot.cpuUsPerOp.server), ''],
    ]),
    '',
    table([
      ['wait until durable (ms)', 'p50', 'p99', 'note'],
      ['(b) settle, low load (sequential)', fmtMs(b.low.waitMs.p50), fmtMs(b.low.waitMs.p99), `${fmtRatio(lowOverCommit)} one plain commit; goal ≤ ${GOALS.lowLoadWaitOverCommitMax}×: ${ok(goals.lowLoadWait)}`],
      [`(b) settle, saturating, ${fmtInt(SETTINGS.users)} users`, fmtMs(b.spread.waitMs.p50), fmtMs(b.spread.waitMs.p99), `batches of ${fmtInt(b.spread.meanBatch)} entries, ${fmtMs(b.spread.meanCommitMs)} ms per commit`],
      ['(b) settle, saturating, hot user', fmtMs(b.hot.waitMs.p50), fmtMs(b.hot.waitMs.p99), `batches of ${fmtInt(b.hot.meanBatch)} entries, ${fmtMs(b.hot.meanCommitMs)} ms per commit`],
      ['(a) request, low load (sequential)', fmtMs(a.low.waitMs.p50), fmtMs(a.low.waitMs.p99), 'one MikroORM transaction'],
      [`(a) request, saturating, ${fmtInt(SETTINGS.users)} users`, fmtMs(a.spread.waitMs.p50), fmtMs(a.spread.waitMs.p99), ''],
      ['(a) request, saturating, hot user', fmtMs(a.hot.waitMs.p50), fmtMs(a.hot.waitMs.p99), ''],
    ]),
    '',
    table([
      ['in process', 'value', 'goal'],
      ['reserve() p50, loaded actor', `${fmtUs(reserve.p50Ms)} µs`, ''],
      ['reserve() p99, loaded actor', `${fmtUs(reserve.p99Ms)} µs`, `< ${fmtUs(GOALS.reserveP99MsMax)} µs: ${ok(goals.reserveP99)}`],
      ['reserve()+release() mean, batch-timed', `${fmtUs(reserve.batchMeanMs)} µs`, ''],
      ['BalanceActor.reserve()+release() mean', `${fmtUs(reserve.actorOnlyMeanMs)} µs`, ''],
      ['reserve() p50, with a quota and three rate buckets', `${fmtUs(reserveLimits.p50Ms)} µs`, ''],
      ['reserve() p99, with a quota and three rate buckets', `${fmtUs(reserveLimits.p99Ms)} µs`, `< ${fmtUs(GOALS.reserveP99MsMax)} µs: ${ok(goals.reserveLimitsP99)}`],
      ['BalanceActor.reserve()+release() mean, with limits', `${fmtUs(reserveLimits.actorOnlyMeanMs)} µs`, ''],
      [`heap per idle cached actor (N=${fmtInt(SETTINGS.idleActors)})`, `${fmtInt(idleBytes)} B`, `≤ ${fmtInt(GOALS.idleActorBytesMax)} B: ${ok(goals.idleActor)}`],
      ['  the same, freed when the service is dropped', `${fmtInt(idleBytesReleased)} B`, ''],
    ]),
    '',
    table([
      ['limits (issue 15): durable settles/s', 'limits off', 'limits on', 'on/off (median of paired)', `goal ≥ ${fmtRatio(GOALS.limitsOnOverOffMin)}`],
      [`${fmtInt(SETTINGS.users)} users`, fmtInt(b.spread.opsPerSec), fmtInt(limitsOn.spread.opsPerSec), fmtRatio(limitsRatio.spread), ok(goals.limitsSpread)],
      ['one hot user', fmtInt(b.hot.opsPerSec), fmtInt(limitsOn.hot.opsPerSec), fmtRatio(limitsRatio.hot), ok(goals.limitsHot)],
    ]),
    '',
    table([
      [`3 grants per user (one expiring), ${fmtInt(SETTINGS.users)} users`, 'value', 'goal'],
      ['(b) durable settles/s', fmtInt(credits.opsPerSec), ''],
      ['  over (b) with 1 grant, same run', fmtRatio(credits.ratio), `≥ ${GOALS.grants3RatioMin}×: ${ok(goals.credits3GrantsRatio)}`],
      ['reserve() p50', `${fmtUs(credits.reserveP50Ms)} µs`, ''],
      ['reserve() p99', `${fmtUs(credits.reserveP99Ms)} µs`, `< ${fmtUs(GOALS.reserveP99MsMax)} µs: ${ok(goals.credits3GrantsReserveP99)}`],
    ]),
    '',
    `books: ${books.verdict}`,
    asyncContextLine(asyncContext),
  ];
  const errors = [...Object.values(a), ...Object.values(b), ...Object.values(limitsOn)].reduce((n, x) => n + x.errors, 0);
  if (errors > 0) lines.push(`ERRORS during the runs: ${errors} (see the JSON for the first of each run)`);
  process.stdout.write(`${lines.join('\n')}\n\n`);

  return {
    benchmark: 'balance',
    startedAt: startedAt.toISOString(),
    database: { kind: db.kind, description: db.description, poolMax: db.poolMax },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    settings: { ...SETTINGS, hotConcurrency },
    balanceConfig: config,
    goals: GOALS,
    medians: {
      plainCommit: commit,
      baseline: a,
      service: b,
      ratio,
      pairedRatios,
      lowLoadWaitOverCommit: lowOverCommit,
      reserve,
      reserveLimits,
      limitsOn,
      limitsRatio,
      limitsPaired,
      credits,
      idleActorBytes: idleBytes,
      idleActorBytesReleased: idleBytesReleased,
    },
    goalsMet: goals,
    books,
    asyncContext,
    runs: r,
  };
}

async function main(): Promise<void> {
  const asyncContext = watchAsyncContext();
  const startedAt = new Date();
  const loadBefore = loadavg();
  const env = loadConfig(process.env);
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'silent');
  progress(`opening ${env.databaseUrl ? 'a fresh database on DATABASE_URL' : 'embedded PGlite in a temp dir'}`);
  const db = await openBenchDatabase(env.databaseUrl, log);
  if (asyncContextKnob()) await enterAsyncContextOnce(db.orm);
  // Interrupted: still drop the database (or delete the temp dir) rather than leave it behind.
  const interrupted = () => void db.close().finally(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const bench = new Bench(db, env.balance, log);
    const seedStarted = performance.now();
    const ids = await seedUsers(db.orm, Math.max(SETTINGS.users, SETTINGS.idleActors), SETTINGS.seedTokens);
    await bench.seedBrands(ids.slice(0, SETTINGS.users));
    const ids3 = await seedUsers(db.orm, SETTINGS.users, SETTINGS.seedTokens, { grantsPerUser: 3, prefix: 'bench3-' });
    progress(`seeded ${fmtInt(ids.length)} users with their GRANT rows in ${fmtInt(performance.now() - seedStarted)} ms`);
    const results = await measure(bench, ids, ids3);

    const verified = await verifyLedger(db.orm);
    const { users } = verified;
    const mismatches = [...verified.mismatches, ...verified.grantMismatches, ...verified.entryMismatches];
    const [charges] = await db.orm.em.fork().execute<Array<{ n: string }>>(`select count(*) as n from token_ledger where kind = 'CHARGE'`);
    const chargeRows = Number(charges?.n ?? -1);
    const balanced = mismatches.length === 0 && chargeRows === bench.acknowledged;
    const books = {
      users,
      mismatches: mismatches.length,
      acknowledgedSettles: bench.acknowledged,
      chargeRows,
      balanced,
      verdict: balanced
        ? `the books balance — ${fmtInt(users)} users, every balance equals its ledger sum, ` +
          `${fmtInt(chargeRows)} CHARGE rows = ${fmtInt(bench.acknowledged)} acknowledged settles`
        : `THE BOOKS DO NOT BALANCE — ${mismatches.length} mismatched users, ` +
          `${fmtInt(chargeRows)} CHARGE rows vs ${fmtInt(bench.acknowledged)} acknowledged settles`,
    };
    if (process.env.BENCH_ONLY) {
      progress(books.verdict);
      progress(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (before: ${loadBefore.map((x) => x.toFixed(1)).join(' ')})`);
      progress(asyncContextLine(await asyncContextState(asyncContext)));
      return;
    }
    const json = report(db, env.balance, results, books, startedAt, loadBefore, await asyncContextState(asyncContext));
    const dir = resolve('.tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `bench-balance-${db.kind}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    progress(`wrote ${file}`);
    process.stdout.write(`${JSON.stringify({ ...json, runs: undefined })}\n`);
    if (!balanced) process.exitCode = 1;
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await db.close();
  }
}

/** Memory per idle actor needs a forced GC: re-run under --expose-gc unless we already have it. */
if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exitCode = child.status ?? 1;
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
