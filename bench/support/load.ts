/**
 * Closed-loop load: `concurrency` workers each run `op` back to back until the deadline; an op
 * started before the deadline is always awaited, so every counted op finished (for a settle: is
 * durable) and the elapsed time includes that drain.
 */
export interface LoadResult {
  /** Ops that resolved. */
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  opsPerSec: number;
  /** What each op reported (a latency in ms), one sample per resolved op. */
  samplesMs: number[];
}

/** `op` returns the latency to record for it, in milliseconds. */
export async function runClosedLoop(
  concurrency: number,
  durationMs: number,
  op: (worker: number) => Promise<number>,
): Promise<LoadResult> {
  const samplesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        samplesMs.push(await op(w));
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // A failing op would otherwise spin; one error stops this worker and is reported.
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsedMs = performance.now() - started;
  return { ops: samplesMs.length, errors, firstError, elapsedMs, opsPerSec: (samplesMs.length / elapsedMs) * 1_000, samplesMs };
}
