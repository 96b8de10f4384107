/**
 * Cluster benchmark (issue 17): real server processes in clustered mode (test/support/cluster.ts)
 * on one PostgreSQL server and one Redis, driven over their public GraphQL API by this process.
 *
 *   npm run bench:cluster
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run bench:cluster
 *
 * DATABASE_URL names a PostgreSQL server (default: the local one): each cluster gets a fresh
 * database on it, dropped at the end. REDIS_URL (default: the local Redis) is shared: each cluster
 * uses a prefix of its own. The instances answer generations from an instant fake provider.
 *
 * What it measures, each against a baseline of the same run:
 *   1. throughput: durable settles/s (a chat generation is answered after its charge commits) with
 *      BENCH_INSTANCES instances and random routing vs one instance in clustered mode. Both clusters
 *      run at once, each on its own database, and the load alternates between them in slices, so
 *      slow and fast moments of this shared machine fall on both; the ratio is per repetition.
 *   2. forwarding: one user's generations sent one at a time, alternately to the instance owning the
 *      balance and to one that does not (reserve and settle are forwarded); the added p50 per
 *      request, and per forwarded operation (half of it).
 *   3. delivery: a balanceChanged subscriber on an instance that neither owns the balance nor takes
 *      the request, charges one at a time through another; when the committed balance arrives there,
 *      counted from the moment the charge's answer arrived, beside a subscriber on the owner.
 *   4. takeover: kill -9 of the owner of a balance; the time until a survivor serves a generation
 *      for that user (bounded below by LEASE_TTL_MS), BENCH_TAKEOVERS times.
 * Medians over repetitions; latency percentiles over every sample of a section.
 *
 * Knobs: BENCH_RUN_SECONDS=3 (per slice) BENCH_REPS=3 BENCH_CONCURRENCY=32 BENCH_USERS=32
 * BENCH_INSTANCES=3 BENCH_FORWARD_ROUNDS=200 (per rep) BENCH_DELIVERIES=200 BENCH_TAKEOVERS=3
 * BENCH_LEASE_TTL_MS=5000. The report goes to stdout; its last line is the results as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client as WsClient } from 'graphql-ws';
import { startCluster, type Cluster, type Instance } from '../test/support/cluster';
import { killAllServers } from '../test/support/server-process';
import { createScratchDatabase } from './support/database';
import { intEnv } from './support/env';
import { startInstantProvider, type InstantProvider } from './support/instant-provider';
import { runClosedLoop } from './support/load';
import { fmtInt, fmtMs, median, summarize, table, type LatencySummary } from './support/stats';

const SETTINGS = {
  runMs: intEnv('BENCH_RUN_SECONDS', 3) * 1_000,
  reps: intEnv('BENCH_REPS', 3),
  concurrency: intEnv('BENCH_CONCURRENCY', 32),
  users: intEnv('BENCH_USERS', 32),
  instances: intEnv('BENCH_INSTANCES', 3),
  forwardRounds: intEnv('BENCH_FORWARD_ROUNDS', 200),
  deliveries: intEnv('BENCH_DELIVERIES', 200),
  takeovers: intEnv('BENCH_TAKEOVERS', 3),
  leaseTtlMs: intEnv('BENCH_LEASE_TTL_MS', 5_000),
  /** Untimed load on each cluster before the first repetition. */
  warmupMs: 1_000,
};

const GOALS = {
  /** Added p50 of one forwarded reserve or settle on loopback. */
  forwardedOpP50MsMax: 1,
  /** Cross-instance balanceChanged delivery p99. */
  deliveryP99MsMax: 50,
};

const DATABASE_SERVER_DEFAULT = 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_DEFAULT = 'redis://127.0.0.1:6379';
const ADMIN_EMAIL = 'bench-admin@example.com';
const PASSWORD = 'benchmark-password';
/** Every account's balance: no run can drain one. */
const SIGNUP_TOKENS = 1_000_000_000;
/** Back-to-back generations a takeover may take before it is reported as failed (a backstop). */
const TAKEOVER_PROBES_MAX = 20_000;
/** How long a delivery may take before it counts as lost (a backstop: the report names lost ones). */
const DELIVERY_WAIT_MS = 5_000;
/** Values a subscriber may push before the awaited one (a reservation's in-memory state goes first). */
const DELIVERY_SKIPS_MAX = 10;

const CHAT = 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "What should we post this week?" }) { balance { tokens reserved } } }';
const SIGN_UP = 'mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p }) { token user { id } } }';
const CREATE_BRAND = 'mutation { createBrand(input: { name: "Bench Co" }) { brand { id } } }';
const BALANCE = '{ tokenBalance { tokens } }';

interface User {
  userId: string;
  token: string;
  brandId: string;
}

interface Running {
  cluster: Cluster;
  drop(): Promise<void>;
}

/** A cluster of `instances` on a fresh database of its own. */
async function startBenchCluster(server: string, redisUrl: string, provider: InstantProvider, instances: number): Promise<Running> {
  const scratch = await createScratchDatabase(server, 'andora_bench_cluster');
  const dataDir = mkdtempSync(join(tmpdir(), 'andora-bench-cluster-'));
  const drop = async () => {
    await scratch.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const cluster = await startCluster({
      db: { env: { DATABASE_URL: scratch.url.toString(), DATA_DIR: dataDir }, drop },
      instances,
      redisUrl,
      leaseTtlMs: SETTINGS.leaseTtlMs,
      adminEmail: ADMIN_EMAIL,
      env: {
        NODE_ENV: 'test',
        SIGNUP_GRANT_TOKENS: String(SIGNUP_TOKENS),
        OPENAI_API_KEY: 'sk-bench',
        OPENAI_BASE_URL: provider.baseURL,
        PROVIDER_RETRIES_MAX: '0',
        // The plan's per-minute limits would cap a benchmark user at 1,000 requests a minute.
        PLANS_JSON: JSON.stringify({ free: { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000, brandRequestsPerMinute: 1_000_000_000 } }),
      },
    });
    return { cluster, drop };
  } catch (err) {
    await drop();
    throw err;
  }
}

async function post(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<Record<string, any>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors ?? body).slice(0, 300));
  return body.data;
}

async function seed(cluster: Cluster, count: number, prefix: string): Promise<User[]> {
  const users: User[] = [];
  for (let i = 0; i < count; i++) {
    const url = cluster.pick().url;
    const { signUp } = await post(url, SIGN_UP, { e: `${prefix}-${i}-${process.pid}@example.com`, p: PASSWORD });
    const { createBrand } = await post(url, CREATE_BRAND, {}, signUp.token);
    users.push({ userId: signUp.user.id, token: signUp.token, brandId: createBrand.brand.id });
  }
  return users;
}

/** One generation; resolves with its latency (ms) and the committed balance it answered. */
async function chat(url: string, user: User): Promise<{ ms: number; tokens: number; at: number }> {
  const started = performance.now();
  const data = await post(url, CHAT, { b: user.brandId }, user.token);
  const at = performance.now();
  return { ms: at - started, tokens: data.chatWithAndora.balance.tokens, at };
}

// ---- 1. throughput ----

interface ThroughputRep {
  opsPerSec: { one: number; many: number };
  latency: { one: LatencySummary; many: LatencySummary };
  errors: number;
  firstError: string | undefined;
}

async function load(cluster: Cluster, users: User[], ms: number) {
  return runClosedLoop(SETTINGS.concurrency, ms, async (w) => (await chat(cluster.pick().url, users[w % users.length]!)).ms);
}

async function throughput(one: Cluster, many: Cluster, oneUsers: User[], manyUsers: User[]): Promise<ThroughputRep[]> {
  await load(one, oneUsers, SETTINGS.warmupMs);
  await load(many, manyUsers, SETTINGS.warmupMs);
  const reps: ThroughputRep[] = [];
  for (let rep = 1; rep <= SETTINGS.reps; rep++) {
    const order = rep % 2 === 1 ? (['one', 'many'] as const) : (['many', 'one'] as const);
    const results = {} as Record<'one' | 'many', Awaited<ReturnType<typeof load>>>;
    for (const side of order) results[side] = side === 'one' ? await load(one, oneUsers, SETTINGS.runMs) : await load(many, manyUsers, SETTINGS.runMs);
    const r: ThroughputRep = {
      opsPerSec: { one: results.one.opsPerSec, many: results.many.opsPerSec },
      latency: { one: summarize(results.one.samplesMs), many: summarize(results.many.samplesMs) },
      errors: results.one.errors + results.many.errors,
      firstError: results.one.firstError ?? results.many.firstError,
    };
    reps.push(r);
    progress(`throughput rep ${rep}: ${fmtInt(r.opsPerSec.many)} / ${fmtInt(r.opsPerSec.one)} settles/s (ratio ${(r.opsPerSec.many / r.opsPerSec.one).toFixed(2)}), errors ${r.errors}`);
  }
  return reps;
}

// ---- 2. forwarding ----

interface ForwardRep {
  owner: LatencySummary;
  forwarded: LatencySummary;
}

/** The instance owning `user`'s balance after a request made it load, and one that does not. */
async function ownerAndOther(cluster: Cluster, user: User): Promise<{ owner: Instance; other: Instance }> {
  await post(cluster.pick().url, BALANCE, {}, user.token);
  const lease = await cluster.owner(user.userId);
  if (!lease) throw new Error(`no lease recorded for user ${user.userId} after a request (balance_leases)`);
  const owner = cluster.instance(lease.instanceId);
  return { owner, other: cluster.live.find((i) => i !== owner)! };
}

async function forwarding(cluster: Cluster, user: User): Promise<{ reps: ForwardRep[]; owner: string; other: string }> {
  const { owner, other } = await ownerAndOther(cluster, user);
  const reps: ForwardRep[] = [];
  for (let rep = 1; rep <= SETTINGS.reps; rep++) {
    const samples = { owner: [] as number[], forwarded: [] as number[] };
    for (let round = 0; round < SETTINGS.forwardRounds; round++) {
      const order = round % 2 === 0 ? (['owner', 'forwarded'] as const) : (['forwarded', 'owner'] as const);
      for (const side of order) samples[side].push((await chat((side === 'owner' ? owner : other).url, user)).ms);
    }
    const r = { owner: summarize(samples.owner), forwarded: summarize(samples.forwarded) };
    reps.push(r);
    progress(`forwarding rep ${rep}: p50 ${fmtMs(r.owner.p50)} ms at the owner, ${fmtMs(r.forwarded.p50)} ms elsewhere`);
  }
  return { reps, owner: owner.id, other: other.id };
}

// ---- 3. delivery ----

interface Watcher {
  client: WsClient;
  /** Committed balances (reserved 0) with their arrival times. */
  arrivals: Array<{ tokens: number; at: number }>;
  waitFor(tokens: number): Promise<number | undefined>;
  stop(): void;
}

/** A balanceChanged subscriber on `instance` recording when each value arrives. */
async function watch(cluster: Cluster, instance: Instance, user: User): Promise<Watcher> {
  const { client } = cluster.ws(user.token, instance);
  const arrivals: Watcher['arrivals'] = [];
  const waiters = new Set<{ tokens: number; resolve: (at: number | undefined) => void }>();
  let first!: () => void;
  const firstValue = new Promise<void>((resolve) => (first = resolve));
  const stop = client.subscribe<{ balanceChanged: { tokens: number; reserved: number } }>(
    { query: 'subscription { balanceChanged { tokens reserved } }' },
    {
      next: ({ data }) => {
        first();
        if (!data || data.balanceChanged.reserved !== 0 || arrivals.length >= SETTINGS.deliveries * DELIVERY_SKIPS_MAX) return;
        const arrival = { tokens: data.balanceChanged.tokens, at: performance.now() };
        arrivals.push(arrival);
        for (const w of waiters) if (w.tokens === arrival.tokens) w.resolve(arrival.at);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await firstValue;
  return {
    client,
    arrivals,
    waitFor: (tokens) => {
      const seen = arrivals.find((a) => a.tokens === tokens);
      if (seen) return Promise.resolve(seen.at);
      return new Promise((resolve) => {
        const waiter = { tokens, resolve: (at: number | undefined) => (waiters.delete(waiter), clearTimeout(timer), resolve(at)) };
        const timer = setTimeout(() => waiter.resolve(undefined), DELIVERY_WAIT_MS);
        waiters.add(waiter);
      });
    },
    stop: () => {
      stop();
      void client.dispose();
    },
  };
}

interface DeliveryResult {
  owner: string;
  via: string;
  watcher: string;
  /** Arrival on the third instance after the charge's answer arrived (ms; negative: before it). */
  remote: LatencySummary;
  /** The same on the owner itself. */
  local: LatencySummary;
  lost: number;
}

async function delivery(cluster: Cluster, user: User): Promise<DeliveryResult> {
  const { owner } = await ownerAndOther(cluster, user);
  const [via, far] = cluster.live.filter((i) => i !== owner);
  if (!via || !far) throw new Error('delivery needs three instances');
  const remote = await watch(cluster, far, user);
  const local = await watch(cluster, owner, user);
  const samples = { remote: [] as number[], local: [] as number[] };
  let lost = 0;
  try {
    for (let i = 0; i < SETTINGS.deliveries; i++) {
      const { tokens, at } = await chat(via.url, user);
      const [remoteAt, localAt] = await Promise.all([remote.waitFor(tokens), local.waitFor(tokens)]);
      if (remoteAt === undefined || localAt === undefined) lost++;
      if (remoteAt !== undefined) samples.remote.push(remoteAt - at);
      if (localAt !== undefined) samples.local.push(localAt - at);
    }
  } finally {
    remote.stop();
    local.stop();
  }
  return { owner: owner.id, via: via.id, watcher: far.id, remote: summarize(samples.remote), local: summarize(samples.local), lost };
}

// ---- 4. takeover ----

interface Takeover {
  killed: string;
  /** From the kill to the first generation a survivor answered for the user. */
  servedAfterMs: number | undefined;
  refusedMeanwhile: number;
}

async function takeovers(cluster: Cluster, user: User): Promise<Takeover[]> {
  const results: Takeover[] = [];
  for (let k = 0; k < SETTINGS.takeovers; k++) {
    await chat(cluster.pick().url, user);
    const { owner } = await ownerAndOther(cluster, user);
    await cluster.kill9(owner.id);
    const killedAt = performance.now();
    let servedAfterMs: number | undefined;
    let refused = 0;
    for (let probe = 0; probe < TAKEOVER_PROBES_MAX && servedAfterMs === undefined; probe++) {
      try {
        await chat(cluster.pick().url, user);
        servedAfterMs = performance.now() - killedAt;
      } catch {
        refused++;
      }
    }
    results.push({ killed: owner.id, servedAfterMs, refusedMeanwhile: refused });
    progress(`takeover ${k + 1}: ${owner.id} killed, served again after ${servedAfterMs === undefined ? 'never' : `${fmtInt(servedAfterMs)} ms`} (${refused} refused meanwhile)`);
    await cluster.start();
  }
  return results;
}

// ---- the run ----

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Runs a section; a failure is reported in its place rather than ending the run. */
async function section<T>(name: string, run: () => Promise<T>): Promise<T | { failed: string }> {
  try {
    return await run();
  } catch (err) {
    const failed = err instanceof Error ? err.message : String(err);
    progress(`${name} failed: ${failed}`);
    return { failed };
  }
}

const failed = (x: unknown): x is { failed: string } => typeof x === 'object' && x !== null && 'failed' in x;

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL ?? DATABASE_SERVER_DEFAULT;
  const redisUrl = process.env.REDIS_URL ?? REDIS_DEFAULT;
  const loadBefore = loadavg();
  progress(`bench:cluster: ${SETTINGS.instances} instances vs 1 on ${new URL(server).host}, Redis ${new URL(redisUrl).host}, ${cpus().length} cores, Node ${process.version}, load ${loadBefore[0]!.toFixed(2)}`);
  const provider = await startInstantProvider();
  const running: Running[] = [];
  const interrupted = () => void cleanUp().finally(() => process.exit(130));
  const cleanUp = async () => {
    await killAllServers();
    for (const r of running) await r.drop().catch(() => undefined);
    await provider.close();
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const one = await startBenchCluster(server, redisUrl, provider, 1);
    running.push(one);
    const many = await startBenchCluster(server, redisUrl, provider, SETTINGS.instances);
    running.push(many);
    progress(`started: 1 instance (${one.cluster.live.map((i) => i.url).join(' ')}), ${SETTINGS.instances} instances (${many.cluster.live.map((i) => i.url).join(' ')})`);
    const oneUsers = await seed(one.cluster, SETTINGS.users, 'one');
    const manyUsers = await seed(many.cluster, SETTINGS.users + 3, 'many');
    const [forwardUser, deliveryUser, takeoverUser] = manyUsers.splice(SETTINGS.users, 3) as [User, User, User];

    const results = {
      throughput: await section('throughput', () => throughput(one.cluster, many.cluster, oneUsers, manyUsers)),
      forwarding: await section('forwarding', () => forwarding(many.cluster, forwardUser)),
      delivery: await section('delivery', () => delivery(many.cluster, deliveryUser)),
      takeover: await section('takeover', () => takeovers(many.cluster, takeoverUser)),
    };
    report(results, loadBefore);
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await cleanUp();
  }
}

type Results = {
  throughput: ThroughputRep[] | { failed: string };
  forwarding: Awaited<ReturnType<typeof forwarding>> | { failed: string };
  delivery: DeliveryResult | { failed: string };
  takeover: Takeover[] | { failed: string };
};

function report(results: Results, loadBefore: number[]): void {
  const loadAfter = loadavg();
  const rows: string[][] = [['', `${SETTINGS.instances} instances`, '1 instance', 'result']];
  const notes: string[] = [];
  const { throughput: tp, forwarding: fw, delivery: dl, takeover: to } = results;
  if (failed(tp)) {
    rows.push(['durable settles/s, random routing', '', '', 'FAILED (below)']);
    notes.push(`throughput failed: ${tp.failed}`);
  } else {
    const ratio = median(tp.map((r) => r.opsPerSec.many / r.opsPerSec.one));
    rows.push([
      `durable settles/s, ${SETTINGS.concurrency} in flight, random routing`,
      fmtInt(median(tp.map((r) => r.opsPerSec.many))),
      fmtInt(median(tp.map((r) => r.opsPerSec.one))),
      `ratio ${ratio.toFixed(2)} [${tp.map((r) => (r.opsPerSec.many / r.opsPerSec.one).toFixed(2)).join(', ')}]`,
    ]);
    const errors = tp.reduce((n, r) => n + r.errors, 0);
    rows.push(['latency p50 / p99 under that load (ms)', `${fmtMs(median(tp.map((r) => r.latency.many.p50)))} / ${fmtMs(median(tp.map((r) => r.latency.many.p99)))}`, `${fmtMs(median(tp.map((r) => r.latency.one.p50)))} / ${fmtMs(median(tp.map((r) => r.latency.one.p99)))}`, `errors ${errors}`]);
    if (errors > 0) notes.push(`throughput: ${errors} requests failed (a failed request ends its worker); first: ${tp.find((r) => r.firstError)!.firstError}`);
  }
  if (failed(fw)) {
    rows.push(['forwarded reserve + settle', '', '', 'FAILED (below)']);
    notes.push(`forwarding failed: ${fw.failed}`);
  } else {
    const added = median(fw.reps.map((r) => r.forwarded.p50 - r.owner.p50));
    rows.push([
      `generation p50, one at a time: at the owner (${fw.owner}) / elsewhere (${fw.other})`,
      `${fmtMs(median(fw.reps.map((r) => r.owner.p50)))} / ${fmtMs(median(fw.reps.map((r) => r.forwarded.p50)))}`,
      '',
      `added ${fmtMs(added)} ms per request, ${fmtMs(added / 2)} ms per forwarded op (goal < ${GOALS.forwardedOpP50MsMax} ms)`,
    ]);
  }
  if (failed(dl)) {
    rows.push(['cross-instance balanceChanged', '', '', 'FAILED (below)']);
    notes.push(`delivery failed: ${dl.failed}`);
  } else {
    rows.push([
      `balanceChanged after the charge's answer, p50 / p99 (ms): on ${dl.watcher} / on the owner ${dl.owner}`,
      `${fmtMs(dl.remote.p50)} / ${fmtMs(dl.remote.p99)}`,
      `${fmtMs(dl.local.p50)} / ${fmtMs(dl.local.p99)}`,
      `cross-instance p99 ${fmtMs(dl.remote.p99)} ms (goal < ${GOALS.deliveryP99MsMax} ms); ${dl.lost} of ${SETTINGS.deliveries} not delivered within ${DELIVERY_WAIT_MS} ms`,
    ]);
  }
  if (failed(to)) {
    rows.push(['takeover after kill -9', '', '', 'FAILED (below)']);
    notes.push(`takeover failed: ${to.failed}`);
  } else {
    const served = to.flatMap((t) => (t.servedAfterMs === undefined ? [] : [t.servedAfterMs]));
    rows.push([
      `takeover after kill -9 of the owner (ms), LEASE_TTL_MS ${SETTINGS.leaseTtlMs}`,
      served.length ? fmtInt(median(served)) : 'never',
      '',
      `[${to.map((t) => (t.servedAfterMs === undefined ? 'never' : fmtInt(t.servedAfterMs))).join(', ')}]; bound LEASE_TTL_MS + 1 s = ${fmtInt(SETTINGS.leaseTtlMs + 1_000)}`,
    ]);
  }
  process.stdout.write(
    `\nbench:cluster — ${SETTINGS.reps} reps × ${SETTINGS.runMs / 1_000} s per slice; medians over reps; every process (client, instances, ` +
      `PostgreSQL, Redis) on this machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ` +
      `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after\n\n`,
  );
  process.stdout.write(`${table(rows)}\n`);
  for (const note of notes) process.stdout.write(`${note}\n`);
  process.stdout.write(`${JSON.stringify({ settings: SETTINGS, goals: GOALS, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadAfter, results })}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:cluster failed: ${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
