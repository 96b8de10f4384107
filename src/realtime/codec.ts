/**
 * How a published value travels between instances: JSON, with Dates kept as Dates. The resolvers
 * receive what an in-process publish would have given them (a balance's `expiringSoon.expiresAt`,
 * an alert's `createdAt` and a flow run's timestamps are Dates), so a value decoded on another
 * instance must be equal to the one published, not its JSON shadow.
 *
 * A Date becomes `{ "$d": <epoch ms> }` (an invalid Date `{ "$d": null }`). An object of its own
 * that has exactly one key, `$d` or `$o` (a model's output can be anything), is wrapped as
 * `{ "$o": {...} }`, so decoding never mistakes data for a Date. Everything else is plain JSON, with
 * JSON's rules: `undefined` fields are left out, non-finite numbers become null.
 */
const DATE_KEY = '$d';
const OBJECT_KEY = '$o';

export function encode(value: unknown): string {
  return JSON.stringify(tag(value));
}

export function decode(text: string): unknown {
  return untag(JSON.parse(text) as unknown);
}

function tag(value: unknown): unknown {
  if (value instanceof Date) {
    const ms = value.getTime();
    return { [DATE_KEY]: Number.isNaN(ms) ? null : ms };
  }
  if (Array.isArray(value)) return value.map((item) => (item === undefined || typeof item === 'function' ? null : tag(item)));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined && typeof item !== 'function') set(out, key, tag(item));
  }
  return isMarker(out) ? { [OBJECT_KEY]: out } : out;
}

function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (isMarker(record)) {
    if (DATE_KEY in record) return new Date(record[DATE_KEY] === null ? Number.NaN : (record[DATE_KEY] as number));
    return untagEntries(record[OBJECT_KEY] as Record<string, unknown>);
  }
  return untagEntries(record);
}

function untagEntries(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) set(out, key, untag(item));
  return out;
}

/** An own property even when the key is `__proto__` (JSON.parse makes it one; plain assignment would set the prototype). */
function set(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** An object whose only key is one of the two markers. */
function isMarker(record: Record<string, unknown>): boolean {
  let keys = 0;
  for (const key in record) {
    if (++keys > 1 || (key !== DATE_KEY && key !== OBJECT_KEY)) return false;
  }
  return keys === 1;
}
