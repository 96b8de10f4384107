/**
 * Rate limits as sliding-window counters: "at most `limit` per `windowMs`" for each key, in O(1)
 * memory per key and a bounded number of keys. Synchronous, free of I/O and of GraphQL, with the
 * clock passed in (`nowMs`), so the same code serves sign-in throttling here and per-user limits
 * inside the balance actor (issue 15), and property tests can drive time.
 *
 * Time is cut into fixed windows [k·W, (k+1)·W). A key keeps the count of its current window and of
 * the one before, and its count at time t is the previous window's count, weighted by how much of
 * that window still overlaps the last W milliseconds, plus the current window's:
 *
 *     count(t) = previous · (W − elapsed) / W + current,   elapsed = t − windowStart
 *
 * An event of cost c is allowed while count(t) + c ≤ limit. This is exact for the fixed windows
 * (never more than `limit` in one) and an approximation of a true sliding window between them: any
 * W-long interval holds fewer than 2 · limit allowed events (the worst case is a burst at the end of
 * one window followed by one at the start of the next). All arithmetic is on integers (both sides
 * times W), so decisions do not depend on floating-point rounding.
 */
export interface WindowCount {
  /** Start of the current window: a multiple of windowMs. */
  windowStartMs: number;
  current: number;
  previous: number;
}

export interface WindowLimit {
  /** Most events (sum of costs) per window. A positive safe integer. */
  limit: number;
  /** Window length in milliseconds. A positive safe integer. */
  windowMs: number;
}

export interface Decision {
  allowed: boolean;
  /** 0 when allowed; otherwise how long until the same request would be allowed, if nothing else is counted meanwhile. */
  retryAfterMs: number;
}

/** The counter as of `nowMs`: rolled into the window that contains it (a pure function). */
export function advance(count: WindowCount | undefined, nowMs: number, windowMs: number): WindowCount {
  const windowStartMs = nowMs - (nowMs % windowMs);
  if (!count || windowStartMs >= count.windowStartMs + 2 * windowMs) return { windowStartMs, current: 0, previous: 0 };
  if (windowStartMs === count.windowStartMs + windowMs) return { windowStartMs, current: 0, previous: count.current };
  // The same window (or a clock that stepped back: keep counting in the window we have).
  return count;
}

/** count(t) · W, an integer: the weighted count scaled by the window length. */
function scaledCount(count: WindowCount, nowMs: number, windowMs: number): number {
  const elapsedMs = Math.max(0, nowMs - count.windowStartMs);
  return count.previous * (windowMs - elapsedMs) + count.current * windowMs;
}

/** The weighted count at `nowMs` (for reports; decisions use the exact integer form). */
export function weightedCount(count: WindowCount | undefined, nowMs: number, windowMs: number): number {
  const now = advance(count, nowMs, windowMs);
  return scaledCount(now, nowMs, windowMs) / windowMs;
}

/**
 * Whether `cost` more fits at `nowMs`, and if not, the earliest time it will (a pure function of an
 * advanced counter). A cost above the limit never fits: retryAfterMs is Infinity.
 */
export function decide(count: WindowCount, nowMs: number, { limit, windowMs }: WindowLimit, cost: number): Decision {
  if (scaledCount(count, nowMs, windowMs) + cost * windowMs <= limit * windowMs) return { allowed: true, retryAfterMs: 0 };
  if (cost > limit) return { allowed: false, retryAfterMs: Infinity };
  const { windowStartMs, current, previous } = count;
  let allowedAtMs: number;
  if (current + cost <= limit) {
    // Later in this window, once enough of the previous window's weight has slid out:
    // previous · (W − elapsed) ≤ (limit − current − cost) · W.
    allowedAtMs = windowStartMs + windowMs - Math.floor(((limit - current - cost) * windowMs) / previous);
  } else {
    // In the next window, where this window's count is the one sliding out:
    // current · (W − elapsed') ≤ (limit − cost) · W.
    allowedAtMs = windowStartMs + 2 * windowMs - Math.floor(((limit - cost) * windowMs) / current);
  }
  return { allowed: false, retryAfterMs: Math.max(1, allowedAtMs - nowMs) };
}

/**
 * Gives back `tokens` counted at `countedInWindowStartMs` (a hold released, or settled below its
 * amount), from the window they were counted in while it still counts: the current one, or the
 * previous one with its sliding weight. Counted longer ago, they have slid out already. `count` must
 * be advanced to now. Never below zero.
 */
export function giveBack(count: WindowCount, countedInWindowStartMs: number, tokens: number, windowMs: number): void {
  if (count.windowStartMs === countedInWindowStartMs) count.current = Math.max(0, count.current - tokens);
  else if (count.windowStartMs === countedInWindowStartMs + windowMs) count.previous = Math.max(0, count.previous - tokens);
}

/** What fits at `nowMs` before the limit (rounded down), for showing a user where they stand. */
export function remainingAt(count: WindowCount, nowMs: number, { limit, windowMs }: WindowLimit): number {
  return Math.max(0, Math.floor((limit * windowMs - scaledCount(count, nowMs, windowMs)) / windowMs));
}

/**
 * When everything counted so far has slid out of the window (the counter is back to zero if nothing
 * more is counted); null when nothing is counted. `count` must be advanced to now.
 */
export function clearsAtMs(count: WindowCount, windowMs: number): number | null {
  if (count.current > 0) return count.windowStartMs + 2 * windowMs;
  if (count.previous > 0) return count.windowStartMs + windowMs;
  return null;
}

export interface LimiterOptions extends WindowLimit {
  /**
   * Most keys remembered. Past it the least recently used key is forgotten (its count starts again
   * from zero), so memory stays bounded whatever the number of distinct keys.
   */
  keysMax: number;
}

/**
 * Sliding-window counters for many keys, bounded: a Map kept in least-recently-used order (a key is
 * moved to the end whenever something is counted for it), evicting from the front past `keysMax`.
 */
export class SlidingWindowLimiter {
  private readonly counts = new Map<string, WindowCount>();

  constructor(readonly options: LimiterOptions) {
    for (const name of ['limit', 'windowMs', 'keysMax'] as const) {
      const value = options[name];
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive safe integer, got ${value}`);
    }
    // Decisions compare counts times windowMs: keep those products exact.
    if (!Number.isSafeInteger(2 * options.limit * options.windowMs)) throw new RangeError('limit × windowMs is too large to count exactly');
  }

  /** Counts `cost` for `key` if it fits under the limit; counts nothing when it does not. */
  take(key: string, nowMs: number, cost = 1): Decision {
    const count = this.touch(key, nowMs);
    const decision = decide(count, nowMs, this.options, cost);
    if (decision.allowed) count.current += cost;
    return decision;
  }

  /** Whether `cost` would fit now; counts nothing. */
  peek(key: string, nowMs: number, cost = 1): Decision {
    const count = this.counts.get(key);
    return decide(advance(count, nowMs, this.options.windowMs), nowMs, this.options, cost);
  }

  /**
   * Counts `cost` whatever the limit: for events that have already happened (a failed sign-in). The
   * count stops at the limit: more would not change a decision, only lengthen the wait past what
   * `limit` events in a window give.
   */
  add(key: string, nowMs: number, cost = 1): void {
    const count = this.touch(key, nowMs);
    count.current = Math.min(this.options.limit, count.current + cost);
  }

  /** The weighted count of `key` at `nowMs` (0 for an unknown key). */
  count(key: string, nowMs: number): number {
    return weightedCount(this.counts.get(key), nowMs, this.options.windowMs);
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.counts.delete(key);
  }

  get size(): number {
    return this.counts.size;
  }

  /** The key's counter, advanced to `nowMs` and moved to the most recently used end; evicts past keysMax. */
  private touch(key: string, nowMs: number): WindowCount {
    const count = advance(this.counts.get(key), nowMs, this.options.windowMs);
    this.counts.delete(key);
    this.counts.set(key, count);
    if (this.counts.size > this.options.keysMax) this.evictOldest();
    return count;
  }

  /**
   * One iterator kept across evictions: everything before its position has been deleted (evicted, or
   * moved to the end by touch), so its next key is the least recently used one. A fresh
   * `keys().next()` each time would walk over every deleted slot at the front of the Map until V8
   * compacts it (measured: about 30 µs per eviction at 100,000 keys, against 3 µs with the cursor).
   */
  private evictor: Iterator<string> | undefined;
  private evictOldest(): void {
    let next = this.evictor?.next();
    if (!next || next.done) {
      this.evictor = this.counts.keys();
      next = this.evictor.next();
    }
    if (!next.done) this.counts.delete(next.value);
  }
}
