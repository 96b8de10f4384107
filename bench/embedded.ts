/**
 * `npm run bench:embedded`: what an embedded database (PGlite) costs to start, and two things the
 * test suite does about it (issue 13: a faster suite).
 *
 * 1. WebAssembly tiers. A process that opens PGlite (a test server, the admin and ledger CLIs) and
 *    runs `n` small queries, with Node's defaults against `--liftoff-only` (V8 runs the 9 MB of
 *    WebAssembly with its baseline compiler only, instead of recompiling all of it with the optimizing
 *    one in the background). CPU of the whole process, user + system, every thread.
 * 2. Heap size. PGlite.create on a copied data directory, in one process whose JavaScript heap holds
 *    0, 150 or 350 MB of live objects (a jest worker's heap after some test files): the start's CPU.
 *
 * Runs alternate between the variants; medians and ratios against the first variant of the same run.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGLITE_DIR } from '../src/db/embedded';
import { intEnv } from './support/env';
import { median } from './support/stats';

const REPS = intEnv('BENCH_REPS', 5);
const QUERY_COUNTS = [200, 2_000, 10_000];
const HEAP_MB = [0, 150, 350];
/** Bytes of live objects one filler entry holds (1,000 small objects). */
const FILLER_ENTRY_BYTES = 70_000;

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
  const db = await PGlite.create(join(dir, PGLITE_DIR));
  for (let i = 0; i < n; i++) await db.query('select count(*) from pg_class where relname like $1', [`%${i}%`]);
  await db.close();
  const result: Measure = { cpuMs: cpuMsSince(), wallMs: performance.now() };
  process.stdout.write(JSON.stringify(result));
}

function runChild(flags: string[], dir: string, n: number): Measure {
  const out = execFileSync(process.execPath, [...flags, __filename, 'child', dir, String(n)], { encoding: 'utf8' });
  return JSON.parse(out) as Measure;
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
    const db = await PGlite.create(join(dir, PGLITE_DIR));
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

async function main(): Promise<void> {
  const [mode, dir, n] = process.argv.slice(2);
  if (mode === 'child') return child(dir!, Number(n));
  const root = mkdtempSync(join(tmpdir(), 'andora-bench-embedded-'));
  try {
    console.log(`bench:embedded — Node ${process.version}, ${REPS} reps`);
    const template = await makeTemplate(root);
    await tiers(template, root);
    await heap(template, root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
