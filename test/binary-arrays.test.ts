import fc from 'fast-check';
import type { MikroORM } from '@mikro-orm/postgresql';
import { int4Array, int8Array, jsonbArray, textArray, timestamptzArray, uuidArray } from '../src/db/binary';
import { executePrepared } from '../src/db/sql';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The binary array parameters the ledger flush sends, read back by PostgreSQL (embedded, or the
 * server in CI's second pass): every element must arrive as the value it was in JavaScript.
 */
describe('binary array parameters', () => {
  let t: TestApp;
  let orm: MikroORM;
  beforeAll(async () => {
    t = await startTestApp();
    orm = t.app.services.orm;
  });
  afterAll(() => t.close());

  /** The elements of one array parameter as PostgreSQL prints them, in order. */
  async function roundTrip(type: string, param: Buffer): Promise<Array<string | null>> {
    const rows = await executePrepared<{ v: string | null }>(
      orm,
      `select x::text as v from unnest(?::${type}[]) with ordinality as a(x, n) order by n`,
      [param],
    );
    return rows.map((r) => r.v);
  }

  const id = <T>(x: T) => x;

  it('int8: every safe integer, negative ones and the extremes included', async () => {
    const values = [0, 1, -1, 4_294_967_295, 4_294_967_296, -4_294_967_296, -4_294_967_297, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    expect(await roundTrip('int8', int8Array(values, id))).toEqual(values.map(String));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.maxSafeInteger(), { maxLength: 50 }), async (xs) => {
        expect(await roundTrip('int8', int8Array(xs, id))).toEqual(xs.map(String));
      }),
      { numRuns: 30 },
    );
  });

  it('int4 up to its bounds', async () => {
    const values = [0, -1, 2_147_483_647, -2_147_483_648, 60];
    expect(await roundTrip('int4', int4Array(values, id))).toEqual(values.map(String));
  });

  it('uuid, in either case, with NULLs', async () => {
    const values = ['0192f0a4-1b2c-7d3e-8f40-0123456789ab', null, 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', '00000000-0000-0000-0000-000000000000'];
    expect(await roundTrip('uuid', uuidArray(values, id))).toEqual(values.map((v) => v?.toLowerCase() ?? null));
  });

  it('text with multi-byte characters and NULLs, and jsonb', async () => {
    const texts = ['', 'plain', null, 'naïve — 東京 🚀', "quote ' and \" and \\"];
    expect(await roundTrip('text', textArray(texts, id))).toEqual(texts);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'))), { maxLength: 20 }), async (xs) => {
        expect(await roundTrip('text', textArray(xs, id))).toEqual(xs);
      }),
      { numRuns: 30 },
    );
    const docs = [{ held: 100 }, { held: 5, overage: 3 }, { reason: 'grant — 東京', nested: { a: [1, 2] } }, {}];
    const stored = await roundTrip('jsonb', jsonbArray(docs, (d) => JSON.stringify(d)));
    expect(stored.map((s) => JSON.parse(s!))).toEqual(docs);
  });

  it('timestamptz to the millisecond, before and after 2000', async () => {
    const dates = [new Date('2026-11-25T21:13:04.123Z'), new Date('1999-12-31T23:59:59.999Z'), new Date('2000-01-01T00:00:00.000Z')];
    const rows = await executePrepared<{ ms: string }>(
      orm,
      'select (extract(epoch from x) * 1000)::bigint::text as ms from unnest(?::timestamptz[]) with ordinality as a(x, n) order by n',
      [timestamptzArray(dates, id)],
    );
    expect(rows.map((r) => Number(r.ms))).toEqual(dates.map((d) => d.getTime()));
  });

  it('an empty batch is an empty array', async () => {
    expect(await roundTrip('int8', int8Array([], id))).toEqual([]);
    expect(await roundTrip('uuid', uuidArray([], id))).toEqual([]);
  });

  it('refuses values the column type cannot hold, before anything is sent', () => {
    expect(() => int8Array([2 ** 53], id)).toThrow(RangeError);
    expect(() => int8Array([1.5], id)).toThrow(RangeError);
    expect(() => int4Array([2 ** 31], id)).toThrow(RangeError);
    expect(() => uuidArray(['not-a-uuid'], id)).toThrow(RangeError);
    expect(() => uuidArray(['0192f0a4-1b2c-7d3e-8f40-0123456789ag'], id)).toThrow(RangeError);
    expect(() => uuidArray(['0192f0a41b2c-7d3e-8f40-0123456789ab-'], id)).toThrow(RangeError);
    expect(() => timestamptzArray([new Date(Number.NaN)], id)).toThrow(RangeError);
  });
});
