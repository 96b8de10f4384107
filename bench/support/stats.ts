/**
 * Small statistics and formatting helpers for the benchmarks. Latencies are kept as raw samples and
 * summarised once at the end, so percentiles are exact rather than estimated from buckets.
 */

export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array; `p` in [0, 100]. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The summary whose p50 is the median of the runs' p50s, and likewise for every field. */
export function medianSummary(runs: readonly LatencySummary[]): LatencySummary {
  return {
    samples: runs.reduce((n, r) => n + r.samples, 0),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    mean: median(runs.map((r) => r.mean)),
    max: median(runs.map((r) => r.max)),
  };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? integer.format(n) : String(n);
}

/** Milliseconds with three significant digits, e.g. 0.512, 12.3, 148. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 100) return integer.format(ms);
  return ms.toPrecision(3);
}

/** Microseconds from milliseconds. */
export function fmtUs(ms: number): string {
  return fmtMs(ms * 1_000);
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×` : String(r);
}

/** A left-aligned first column and right-aligned others, padded to the widest cell. */
export function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '))
    .join('\n');
}
