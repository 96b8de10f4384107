/**
 * `npm run bench:embedded`: what an embedded database (PGlite) costs to start, and two things the
 * test suite does about it (issue 13: a faster suite).
 *
 * 1. WebAssembly tiers. A process that opens PGlite as the service does (a test server, the admin and ledger CLIs) and
 *    runs `n` small queries, with Node's defaults against `--liftoff-only` (V8 runs the 9 MB of
 *    WebAssembly with its baseline compiler only, instead of recompiling all of it with the optimizing
 *    one in the background). CPU of the whole process, user + system, every thread.
 * 2. Heap size. PGlite.create on a copied data directory, in one process whose JavaScript heap holds
 *    0, 150 or 350 MB of live objects (a jest worker's heap after some test files): the start's CPU.
 *
 * 3. Buffer pool (src/db/embedded.ts, EMBEDDED_SHARED_BUFFERS) against PostgreSQL's default of 128 MB:
 *    a process that opens and closes PGlite 20 times with --liftoff-only, as a jest worker does (CPU
 *    per open, peak RSS), and a service-like process that fills a table larger than the small pool,
 *    then reads it at random through an index and writes single rows (CPU and wall of both phases).
 *
 * Runs alternate between the variants; medians and ratios against the first variant of the same run.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_SHARED_BUFFERS, PGLITE_DIR, pgliteStartParams } from '../src/db/embedded';
import { intEnv } from './support/env';
import { median } from './support/stats';

const REPS = intEnv('BENCH_REPS', 5);
const QUERY_COUNTS = [200, 2_000, 10_000];
const HEAP_MB = [0, 150, 350];
/** Bytes of live objects one filler entry holds (1,000 small objects). */
const FILLER_ENTRY_BYTES = 70_000;
/** PostgreSQL's default, which PGlite's initdb writes, against ours. */
const POOL_VARIANTS = ['128MB', EMBEDDED_SHARED_BUFFERS];
const POOL_OPENS = 20;
/** Rows of about 250 bytes: a table of about 45 MB with its index, larger than our pool. */
const POOL_ROWS = 150_000;
const POOL_USERS = 10_000;
const POOL_READS = 5_000;
const POOL_WRITES = 2_000;

interface Measure {
  cpuMs: number;
  wallMs: number;
}

/** PGlite ships a CommonJS build that loads its WASM with dynamic import() (as src/db/embedded.ts). */
const loadPglite = () => import('@electric-sql/pglite');

/** A closed PGlite data directory to copy, as the test suite's template is. */
async function makeTemplate(root: string): Promise<string> {
  const { PGlite } = await loadPglite();
  const dir = join(root, 'template');
  mkdirSync(dir);
  const db = await PGlite.create(join(dir, PGLITE_DIR));
  await db.close();
  return dir;
}

function copyOf(template: string, root: string): string {
  const dir = mkdtempSync(join(root, 'copy-'));
  cpSync(join(template, PGLITE_DIR), join(dir, PGLITE_DIR), { recursive: true });
  return dir;
}

/** This process's CPU (user + system, every thread) since `start`, or since it began. */
const cpuMsSince = (start?: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1_000;
};

/** Child: open a copy, run `n` queries, close; print CPU and wall of the whole process's life. */
async function child(dir: string, n: number): Promise<void> {
  const { PGlite } = await loadPglite();
  const db = await PGlite.create(join(dir, PGLITE_DIR), { startParams: pgliteStartParams(PGlite.defaultStartParams) });
  for (let i = 0; i < n; i++) await db.query('select count(*) from pg_class where relname like $1', [`%${i}%`]);
  await db.close();
  const result: Measure = { cpuMs: cpuMsSince(), wallMs: performance.now() };
  process.stdout.write(JSON.stringify(result));
}

function runChild(flags: string[], dir: string, n: number): Measure {
  const out = execFileSync(process.execPath, [...flags, __filename, 'child', dir, String(n)], { encoding: 'utf8' });
  return JSON.parse(out) as Measure;
}

interface PoolOpens {
  cpuMsPerOpen: number;
  rssMbMax: number;
}

/** Child: POOL_OPENS opens and closes of fresh copies, one after the other, in this one process. */
async function poolOpensChild(template: string, root: string, sharedBuffers: string): Promise<void> {
  const { PGlite } = await loadPglite();
  let rssMax = 0;
  let cpuMs = 0;
  for (let i = 0; i < POOL_OPENS; i++) {
    const dir = copyOf(template, root);
    const cpu = process.cpuUsage();
    const db = await PGlite.create(join(dir, PGLITE_DIR), { startParams: pgliteStartParams(PGlite.defaultStartParams, sharedBuffers) });
    await db.query('select 1');
    await db.close();
    cpuMs += cpuMsSince(cpu);
    rmSync(dir, { recursive: true, force: true });
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  const result: PoolOpens = { cpuMsPerOpen: cpuMs / POOL_OPENS, rssMbMax: rssMax / 1e6 };
  process.stdout.write(JSON.stringify(result));
}

interface PoolWorkload {
  reads: Measure;
  writes: Measure;
}

/** Child: a table larger than the small pool, then random reads through its index, then single-row writes. */
async function poolWorkloadChild(dir: string, sharedBuffers: string): Promise<void> {
  const { PGlite } = await loadPglite();
  const db = await PGlite.create(join(dir, PGLITE_DIR), { startParams: pgliteStartParams(PGlite.defaultStartParams, sharedBuffers) });
  await db.exec(`create table rows (id bigserial primary key, user_id int not null, amount bigint not null, details text not null);
    insert into rows (user_id, amount, details) select g % ${POOL_USERS}, g, repeat('x', 200) from generate_series(1, ${POOL_ROWS}) g;
    create index on rows (user_id); checkpoint;`);
  const phase = async (n: number, run: (i: number) => Promise<unknown>): Promise<Measure> => {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    for (let i = 0; i < n; i++) await run(i);
    return { cpuMs: cpuMsSince(cpu), wallMs: performance.now() - wall };
  };
  // A multiplicative walk over the users: every read lands on other pages than the last.
  const reads = await phase(POOL_READS, (i) => db.query('select sum(amount) from rows where user_id = $1', [(i * 7_919) % POOL_USERS]));
  const writes = await phase(POOL_WRITES, (i) =>
    db.transaction(async (tx) => {
      await tx.query(`insert into rows (user_id, amount, details) values ($1, 1, 'w')`, [(i * 7_919) % POOL_USERS]);
      await tx.query('update rows set amount = amount + 1 where id = $1', [1 + ((i * 7_919) % POOL_ROWS)]);
    }),
  );
  await db.close();
  const result: PoolWorkload = { reads, writes };
  process.stdout.write(JSON.stringify(result));
}

function runPoolChild<T>(flags: string[], args: string[]): T {
  return JSON.parse(execFileSync(process.execPath, [...flags, __filename, ...args], { encoding: 'utf8' })) as T;
}

async function tiers(template: string, root: string): Promise<void> {
  const variants = [
    { name: 'defaults', flags: [] as string[] },
    { name: '--liftoff-only', flags: ['--liftoff-only'] },
  ];
  console.log(`\n1. A process that opens PGlite and runs n queries (median of ${REPS}, alternated)`);
  console.log(`| n | ${variants[0]!.name} CPU / wall | ${variants[1]!.name} CPU / wall | CPU ratio | wall ratio |`);
  console.log('|---|---|---|---|---|');
  for (const n of QUERY_COUNTS) {
    const samples = variants.map(() => [] as Measure[]);
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? [0, 1] : [1, 0];
      for (const v of order) {
        const dir = copyOf(template, root);
        samples[v]!.push(runChild(variants[v]!.flags, dir, n));
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const cpu = samples.map((s) => median(s.map((m) => m.cpuMs)));
    const wall = samples.map((s) => median(s.map((m) => m.wallMs)));
    const fmt = (v: number) => `${cpu[v]!.toFixed(0)} / ${wall[v]!.toFixed(0)} ms`;
    console.log(`| ${n} | ${fmt(0)} | ${fmt(1)} | ${(cpu[1]! / cpu[0]!).toFixed(2)} | ${(wall[1]! / wall[0]!).toFixed(2)} |`);
  }
}

async function heap(template: string, root: string): Promise<void> {
  const { PGlite } = await loadPglite();
  const filler: unknown[] = [];
  const fill = (mb: number) => {
    const entries = Math.round((mb * 1e6) / FILLER_ENTRY_BYTES);
    filler.length = 0;
    for (let i = 0; i < entries; i++) filler.push(Array.from({ length: 1_000 }, (_, j) => ({ j })));
  };
  const start = async (): Promise<Measure> => {
    const dir = copyOf(template, root);
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const db = await PGlite.create(join(dir, PGLITE_DIR), { startParams: pgliteStartParams(PGlite.defaultStartParams) });
    await db.query('select 1');
    const result = { cpuMs: cpuMsSince(cpu), wallMs: performance.now() - wall };
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    return result;
  };
  await start(); // compiles the WebAssembly once, as a jest worker has long done
  const samples = HEAP_MB.map(() => [] as Measure[]);
  const heapUsed = HEAP_MB.map(() => [] as number[]);
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? HEAP_MB.map((_, i) => i) : HEAP_MB.map((_, i) => HEAP_MB.length - 1 - i);
    for (const h of order) {
      fill(HEAP_MB[h]!);
      heapUsed[h]!.push(process.memoryUsage().heapUsed / 1e6);
      samples[h]!.push(await start());
    }
  }
  console.log(`\n2. PGlite.create on a copied directory with live objects on the heap (one process, median of ${REPS}, alternated)`);
  console.log('| heap used | start CPU | start wall | CPU ratio to the smallest heap |');
  console.log('|---|---|---|---|');
  const base = median(samples[0]!.map((m) => m.cpuMs));
  HEAP_MB.forEach((_, h) => {
    const cpu = median(samples[h]!.map((m) => m.cpuMs));
    const wall = median(samples[h]!.map((m) => m.wallMs));
    console.log(`| ${median(heapUsed[h]!).toFixed(0)} MB | ${cpu.toFixed(0)} ms | ${wall.toFixed(0)} ms | ${(cpu / base).toFixed(2)} |`);
  });
}

async function pool(template: string, root: string): Promise<void> {
  const opens = POOL_VARIANTS.map(() => [] as PoolOpens[]);
  const work = POOL_VARIANTS.map(() => [] as PoolWorkload[]);
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? [0, 1] : [1, 0];
    for (const v of order) {
      // The opens as a test worker makes them (--liftoff-only), the workload as the service runs.
      opens[v]!.push(runPoolChild<PoolOpens>(['--liftoff-only'], ['pool-opens', template, root, POOL_VARIANTS[v]!]));
      const dir = copyOf(template, root);
      work[v]!.push(runPoolChild<PoolWorkload>([], ['pool-workload', dir, POOL_VARIANTS[v]!]));
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const med = (v: number, pick: (w: PoolWorkload) => Measure) => ({
    cpu: median(work[v]!.map((w) => pick(w).cpuMs)),
    wall: median(work[v]!.map((w) => pick(w).wallMs)),
  });
  console.log(`\n3. shared_buffers (median of ${REPS}, alternated; ratios to ${POOL_VARIANTS[0]})`);
  console.log(`| shared_buffers | CPU per open (${POOL_OPENS} in one process) | peak RSS | ${POOL_READS} random reads CPU / wall | ${POOL_WRITES} write transactions CPU / wall |`);
  console.log('|---|---|---|---|---|');
  const base = { open: median(opens[0]!.map((o) => o.cpuMsPerOpen)), reads: med(0, (w) => w.reads), writes: med(0, (w) => w.writes) };
  POOL_VARIANTS.forEach((name, v) => {
    const open = median(opens[v]!.map((o) => o.cpuMsPerOpen));
    const rss = median(opens[v]!.map((o) => o.rssMbMax));
    const reads = med(v, (w) => w.reads);
    const writes = med(v, (w) => w.writes);
    const ratio = (a: number, b: number) => (v === 0 ? '' : ` (${(a / b).toFixed(2)})`);
    console.log(
      `| ${name} | ${open.toFixed(0)} ms${ratio(open, base.open)} | ${rss.toFixed(0)} MB | ` +
        `${reads.cpu.toFixed(0)} / ${reads.wall.toFixed(0)} ms${ratio(reads.cpu, base.reads.cpu)} | ` +
        `${writes.cpu.toFixed(0)} / ${writes.wall.toFixed(0)} ms${ratio(writes.cpu, base.writes.cpu)} |`,
    );
  });
}

async function main(): Promise<void> {
  const [mode, dir, n, extra] = process.argv.slice(2);
  if (mode === 'child') return child(dir!, Number(n));
  if (mode === 'pool-opens') return poolOpensChild(dir!, n!, extra!);
  if (mode === 'pool-workload') return poolWorkloadChild(dir!, n!);
  const root = mkdtempSync(join(tmpdir(), 'andora-bench-embedded-'));
  try {
    console.log(`bench:embedded — Node ${process.version}, ${REPS} reps`);
    const template = await makeTemplate(root);
    await tiers(template, root);
    await heap(template, root);
    await pool(template, root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
