import fc from 'fast-check';
import { DeterministicFailure, classifyFailure, commitBisecting, failureSignature, retryDelayMs } from '../src/balance/commit-policy';

/** The flusher's failure policy on its own; test/poison-entry.test.ts drives it through the real service. */

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('classifying a failed commit', () => {
  it('retries what the database may get over, bisects what is in the data', () => {
    for (const code of ['08006', '08001', '40001', '40P01', '57P01', '57P03', '53300', '58030']) expect(classifyFailure(pgError(code))).toBe('transient');
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) expect(classifyFailure(pgError(code))).toBe('transient');
    for (const code of ['22P05', '22021', '22001', '22003', '23505', '23503', '23514']) expect(classifyFailure(pgError(code))).toBe('data');
    // MikroORM's wrappers carry the SQLSTATE as sqlState.
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'x', sqlState: '22P02' }))).toBe('data');
    // Everything else is decided by failing twice the same way (the flusher's part).
    for (const err of [pgError('42P01'), pgError('XX000'), new RangeError('int4 element out of range'), new Error('Connection terminated unexpectedly'), 'thrown text', undefined]) {
      expect(classifyFailure(err)).toBe('unknown');
    }
  });

  it('calls two failures identical when code and message agree', () => {
    expect(failureSignature(pgError('22P05', 'a'))).toBe(failureSignature(pgError('22P05', 'a')));
    expect(failureSignature(pgError('22P05', 'a'))).not.toBe(failureSignature(pgError('22P05', 'b')));
    expect(failureSignature(new RangeError('x'))).not.toBe(failureSignature(new TypeError('x')));
  });

  it('backs off doubling, within its bounds', () => {
    expect([1, 2, 3, 4, 10, 1_000].map((a) => retryDelayMs(a, 50, 5_000))).toEqual([50, 100, 200, 400, 5_000, 5_000]);
  });
});

describe('bisecting a batch', () => {
  /** Commits parts in memory: a part fails when it holds a bad item. */
  async function run(items: number[], bad: Set<number>) {
    const committed: number[] = [];
    const alone: number[] = [];
    let parts = 0;
    await commitBisecting(
      items,
      async (part) => {
        parts++;
        if (part.some((i) => bad.has(i))) return new DeterministicFailure(new Error('bad'));
        committed.push(...part);
        return null;
      },
      async (item) => void alone.push(item),
    );
    return { committed, alone, parts };
  }

  it('commits every good item in order, hands each bad one over alone, within 2n - 1 parts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 64 }), fc.array(fc.nat(63), { maxLength: 6 }), async (n, badPicks) => {
        const items = Array.from({ length: n }, (_, i) => i);
        const bad = new Set(badPicks.filter((i) => i < n));
        const { committed, alone, parts } = await run(items, bad);
        expect(committed).toEqual(items.filter((i) => !bad.has(i)));
        expect(alone).toEqual(items.filter((i) => bad.has(i)));
        expect(parts).toBeLessThanOrEqual(Math.max(0, 2 * n - 1));
      }),
    );
  });

  it('needs about 2·log2(n) parts for one bad item among n', async () => {
    const { parts } = await run(Array.from({ length: 1_024 }, (_, i) => i), new Set([517]));
    expect(parts).toBe(1 + 2 * 10);
  });
});
