import fc from 'fast-check';
import { SlidingWindowLimiter, advance, decide, type WindowLimit } from '../src/limits/sliding-window';

/**
 * Properties of the sliding-window limiter, with time as data (no clock, no waiting): the module
 * takes `nowMs` on every call, so any history can be replayed exactly.
 */
const limits = fc.record({ limit: fc.integer({ min: 1, max: 50 }), windowMs: fc.integer({ min: 1, max: 10_000 }) });
/** Event times as increasing offsets; each event has a cost. */
const history = fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 3_000 }), cost: fc.integer({ min: 1, max: 5 }) }), { maxLength: 200 });

function replay(limiter: SlidingWindowLimiter, events: Array<{ gapMs: number; cost: number }>, startMs: number) {
  let nowMs = startMs;
  const allowed: Array<{ atMs: number; cost: number }> = [];
  for (const { gapMs, cost } of events) {
    nowMs += gapMs;
    if (limiter.take('k', nowMs, cost).allowed) allowed.push({ atMs: nowMs, cost });
  }
  return { nowMs, allowed };
}

describe('sliding-window limiter', () => {
  it('never allows more than the limit within one fixed window, and less than twice the limit within any window-long interval', () => {
    fc.assert(
      fc.property(limits, history, fc.integer({ min: 0, max: 1e9 }), ({ limit, windowMs }, events, startMs) => {
        const { allowed } = replay(new SlidingWindowLimiter({ limit, windowMs, keysMax: 10 }), events, startMs);
        const perWindow = new Map<number, number>();
        for (const { atMs, cost } of allowed) {
          const w = Math.floor(atMs / windowMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + cost);
        }
        for (const sum of perWindow.values()) expect(sum).toBeLessThanOrEqual(limit);
        for (const { atMs } of allowed) {
          const inInterval = allowed.filter((e) => e.atMs >= atMs && e.atMs < atMs + windowMs).reduce((n, e) => n + e.cost, 0);
          expect(inInterval).toBeLessThan(2 * limit);
        }
      }),
    );
  });

  it('retryAfterMs is exact: refused one millisecond before it, allowed at it', () => {
    fc.assert(
      fc.property(limits, history, fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 5 }), ({ limit, windowMs }, events, startMs, laterMs, cost) => {
        const limiter = new SlidingWindowLimiter({ limit, windowMs, keysMax: 10 });
        const nowMs = replay(limiter, events, startMs).nowMs + laterMs;
        const decision = limiter.peek('k', nowMs, cost);
        if (decision.allowed) return expect(decision.retryAfterMs).toBe(0);
        if (cost > limit) return expect(decision.retryAfterMs).toBe(Infinity);
        expect(decision.retryAfterMs).toBeGreaterThan(0);
        expect(decision.retryAfterMs).toBeLessThanOrEqual(2 * windowMs);
        expect(limiter.peek('k', nowMs + decision.retryAfterMs, cost).allowed).toBe(true);
        if (decision.retryAfterMs > 1) expect(limiter.peek('k', nowMs + decision.retryAfterMs - 1, cost).allowed).toBe(false);
      }),
    );
  });

  it('forgets a key that stays quiet for two windows, and refusals count nothing', () => {
    fc.assert(
      fc.property(limits, history, fc.integer({ min: 0, max: 1e9 }), ({ limit, windowMs }, events, startMs) => {
        const limiter = new SlidingWindowLimiter({ limit, windowMs, keysMax: 10 });
        const { nowMs } = replay(limiter, events, startMs);
        const before = limiter.count('k', nowMs);
        const refused = limiter.take('k', nowMs, limit + 1);
        expect(refused.allowed).toBe(false);
        expect(limiter.count('k', nowMs)).toBe(before);
        expect(limiter.count('k', nowMs + 2 * windowMs)).toBe(0);
        expect(limiter.take('k', nowMs + 2 * windowMs, limit).allowed).toBe(true);
      }),
    );
  });

  it('keeps at most keysMax keys, evicting the least recently used', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 300 }), (keysMax, keys) => {
        const limiter = new SlidingWindowLimiter({ limit: 3, windowMs: 1_000, keysMax });
        const recent: number[] = [];
        for (const key of keys) {
          limiter.add(String(key), 0);
          const seen = recent.indexOf(key);
          if (seen >= 0) recent.splice(seen, 1);
          recent.push(key);
          expect(limiter.size).toBeLessThanOrEqual(keysMax);
        }
        // The most recently used keys are the ones kept.
        for (const key of recent.slice(-keysMax)) expect(limiter.count(String(key), 0)).toBeGreaterThan(0);
      }),
    );
  });

  it('add() counts events that already happened, up to the limit', () => {
    const limiter = new SlidingWindowLimiter({ limit: 5, windowMs: 60_000, keysMax: 10 });
    for (let i = 0; i < 100; i++) limiter.add('k', 1_000);
    expect(limiter.count('k', 1_000)).toBe(5);
    expect(limiter.peek('k', 1_000)).toEqual({ allowed: false, retryAfterMs: 60_000 + 60_000 - 1_000 - Math.floor((4 * 60_000) / 5) });
    expect(limiter.peek('k', 120_000 - 48_000).allowed).toBe(true);
  });

  it('rolls windows exactly: the previous window weighs what still overlaps the last windowMs', () => {
    const w: WindowLimit = { limit: 10, windowMs: 1_000 };
    const count = { windowStartMs: 0, current: 10, previous: 0 };
    expect(advance(count, 1_500, 1_000)).toEqual({ windowStartMs: 1_000, current: 0, previous: 10 });
    expect(advance(count, 2_000, 1_000)).toEqual({ windowStartMs: 2_000, current: 0, previous: 0 });
    // At 1,500 half of the previous window's 10 still counts: 5 + 5 fits, 5 + 6 does not (until 1,600).
    expect(decide(advance(count, 1_500, 1_000), 1_500, w, 5)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(decide(advance(count, 1_500, 1_000), 1_500, w, 6)).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(() => new SlidingWindowLimiter({ limit: 0, windowMs: 1, keysMax: 1 })).toThrow(RangeError);
  });
});
