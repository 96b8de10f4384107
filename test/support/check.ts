import { isDeepStrictEqual } from 'node:util';

/**
 * `expect` for the inner loops of property tests, which assert after every step of a thousand runs.
 * jest's `expect(x)` builds an object of every matcher, plain, `.not`, `.resolves` and `.rejects`, on
 * each call: in the model tests that was half of their CPU. `check(x)` has the matchers those loops
 * use; each compares first and calls jest's own matcher only when the fast comparison does not pass,
 * so a failure is jest's failure with jest's message, and a pass is one jest would give too (values
 * that are strictly deep-equal are also equal to `toEqual`, and an object whose listed properties are
 * strictly deep-equal to the expected ones matches `toMatchObject`). Asymmetric matchers such as
 * `expect.objectContaining` never pass the fast comparison: jest decides them.
 */
export function check<T>(actual: T) {
  return {
    toBe(expected: unknown): void {
      if (!Object.is(actual, expected)) expect(actual).toBe(expected);
    },
    toEqual(expected: unknown): void {
      if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
    },
    toMatchObject(expected: Record<string, unknown>): void {
      if (!matchesOwnKeys(actual, expected)) expect(actual).toMatchObject(expected);
    },
    toBeGreaterThanOrEqual(expected: number): void {
      if (!(typeof actual === 'number' && actual >= expected)) expect(actual).toBeGreaterThanOrEqual(expected);
    },
    toBeGreaterThan(expected: number): void {
      if (!(typeof actual === 'number' && actual > expected)) expect(actual).toBeGreaterThan(expected);
    },
    toBeLessThanOrEqual(expected: number): void {
      if (!(typeof actual === 'number' && actual <= expected)) expect(actual).toBeLessThanOrEqual(expected);
    },
    toBeNull(): void {
      if (actual !== null) expect(actual).toBeNull();
    },
    toBeUndefined(): void {
      if (actual !== undefined) expect(actual).toBeUndefined();
    },
  };
}

function matchesOwnKeys(actual: unknown, expected: Record<string, unknown>): boolean {
  if (typeof actual !== 'object' || actual === null) return false;
  const record = actual as Record<string, unknown>;
  return Object.keys(expected).every((key) => Object.prototype.hasOwnProperty.call(record, key) && isDeepStrictEqual(record[key], expected[key]));
}
