import { check } from './support/check';

/** The outcome of one assertion: passed, or the message it failed with. */
function outcome(assert: () => void): string {
  try {
    assert();
    return 'pass';
  } catch (err) {
    return (err as Error).message;
  }
}

class Entry {
  constructor(
    readonly kind: string,
    readonly amount: number,
  ) {}
}

type Matcher = 'toBe' | 'toEqual' | 'toMatchObject' | 'toBeGreaterThan' | 'toBeGreaterThanOrEqual' | 'toBeLessThanOrEqual' | 'toBeNull' | 'toBeUndefined';

/** [matcher, actual, expected]: passes and failures, with the cases where the fast comparison and jest differ. */
const CASES: Array<[Matcher, unknown, unknown]> = [
  ['toBe', 1, 1],
  ['toBe', 1, 2],
  ['toBe', 0, -0],
  ['toBe', Number.NaN, Number.NaN],
  ['toBe', { a: 1 }, { a: 1 }],
  ['toEqual', { a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }],
  ['toEqual', { a: 1 }, { a: 2 }],
  ['toEqual', { a: 1, b: undefined }, { a: 1 }],
  ['toEqual', new Entry('GRANT', 5), { kind: 'GRANT', amount: 5 }],
  ['toEqual', new Entry('GRANT', 5), { kind: 'GRANT', amount: 6 }],
  ['toEqual', new Map([['x', { amount: 1 }]]), new Map([['x', { amount: 1 }]])],
  ['toEqual', new Map([['x', { amount: 1 }]]), new Map([['x', { amount: 2 }]])],
  ['toEqual', { a: 1, b: 2 }, expect.objectContaining({ a: 1 })],
  ['toEqual', { a: 1, b: 2 }, expect.objectContaining({ a: 2 })],
  ['toMatchObject', { kind: 'CHARGE', amount: -5, extra: 1 }, { kind: 'CHARGE', amount: -5 }],
  ['toMatchObject', { kind: 'CHARGE', amount: -5 }, { kind: 'CHARGE', amount: -6 }],
  ['toMatchObject', { kind: 'CHARGE', metadata: { held: 5, extra: 1 } }, { metadata: { held: 5 } }],
  ['toMatchObject', { kind: 'CHARGE', metadata: { held: 5 } }, { metadata: { held: 6 } }],
  ['toMatchObject', new Entry('GRANT', 5), { kind: 'GRANT' }],
  ['toMatchObject', null, { kind: 'GRANT' }],
  ['toBeGreaterThan', 2, 1],
  ['toBeGreaterThan', 1, 1],
  ['toBeGreaterThanOrEqual', 1, 1],
  ['toBeGreaterThanOrEqual', 0, 1],
  ['toBeGreaterThanOrEqual', 5n, 1],
  ['toBeLessThanOrEqual', 1, 1],
  ['toBeLessThanOrEqual', 2, 1],
  ['toBeNull', null, undefined],
  ['toBeNull', undefined, undefined],
  ['toBeUndefined', undefined, undefined],
  ['toBeUndefined', null, undefined],
];

describe('check, the fast expect of the property tests', () => {
  it.each(CASES)('%s(%p, %p) passes and fails exactly as expect does, with its message', (matcher, actual, expected) => {
    const run = (target: object) => () => (target as Record<Matcher, (e?: unknown) => void>)[matcher](expected);
    expect(outcome(run(check(actual)))).toBe(outcome(run(expect(actual))));
  });

  it('has failing cases for every matcher, so the table cannot pass by always passing', () => {
    const failing = new Set(CASES.filter(([m, a, e]) => outcome(() => (expect(a) as unknown as Record<Matcher, (e?: unknown) => void>)[m](e)) !== 'pass').map(([m]) => m));
    expect([...failing].sort()).toEqual(['toBe', 'toBeGreaterThan', 'toBeGreaterThanOrEqual', 'toBeLessThanOrEqual', 'toBeNull', 'toBeUndefined', 'toEqual', 'toMatchObject']);
  });
});
