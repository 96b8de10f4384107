/**
 * Text PostgreSQL can store. JavaScript strings are UTF-16 and may hold what a PostgreSQL text or
 * jsonb value cannot: NUL (U+0000: "\u0000 cannot be converted to text") and unpaired surrogates
 * ("Unicode low surrogate must follow a high surrogate"; in a text parameter the driver's UTF-8
 * encoder turns them into U+FFFD behind our back). One such character fails a whole group commit.
 *
 * Input from clients is refused when it holds either (graphql/storable-input.ts); output from a model
 * is repaired instead (metering/meter.ts): a vendor may return anything, and the work was done.
 */

/**
 * NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
 * Without the `u` flag a character class matches single UTF-16 code units, which is what we need.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');
const REPLACEMENT_CHARACTER = '\ufffd';

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** `text` with NUL removed and every unpaired surrogate replaced by U+FFFD; `text` itself when it is fine. */
export function storableText(text: string): string {
  if (isStorableText(text)) return text;
  return text.replace(UNSTORABLE_ALL, (found) => (found === '\u0000' ? '' : REPLACEMENT_CHARACTER));
}

/**
 * A JSON-like value with every string and object key made storable. Copies only what changes: a
 * value that is fine comes back as the same object. Anything but strings, arrays and plain objects
 * (numbers, Dates, ...) is kept as it is. Recursive: for values this service built (parsed model
 * output of a task's shape, ledger metadata), not for client input (see `unstorablePath`).
 */
export function storableValue<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => storableValue(item));
    return (items.some((item, i) => item !== value[i]) ? items : value) as T;
  }
  if (!isPlainObject(value)) return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, item]) => {
    const entry: [string, unknown] = [storableText(key), storableValue(item)];
    changed ||= entry[0] !== key || entry[1] !== item;
    return entry;
  });
  return (changed ? Object.fromEntries(entries) : value) as T;
}

/**
 * The path (`root.a.0.b`) of the first string or object key in `value` that cannot be stored, or
 * undefined when every one can. A client controls how deep the value nests, so the walk is
 * iterative and a path is only spelled out for what it finds (building one per level would cost
 * the square of the depth).
 */
export function unstorablePath(value: unknown, root: string): string | undefined {
  const stack: Visit[] = [{ value, key: root, parent: null }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value: current } = visit;
    if (typeof current === 'string') {
      if (!isStorableText(current)) return pathOf(visit);
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => stack.push({ value: item, key: String(i), parent: visit }));
    } else if (isPlainObject(current)) {
      for (const [key, item] of Object.entries(current)) {
        // The key itself is not repeated in the path: echoing it would send the bad text back.
        if (!isStorableText(key)) return `${pathOf(visit)} (a key)`;
        stack.push({ value: item, key, parent: visit });
      }
    }
  }
  return undefined;
}

interface Visit {
  value: unknown;
  key: string;
  parent: Visit | null;
}

function pathOf(visit: Visit): string {
  const keys: string[] = [];
  for (let at: Visit | null = visit; at; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Makes a stream of text deltas storable piece by piece, with the same result as repairing the
 * whole text at once: a surrogate pair split across two deltas is held back until its second half
 * arrives, instead of being replaced as two unpaired halves.
 */
export class StorableDeltas {
  private pendingHigh = '';

  /** The storable text of `delta`; a trailing high surrogate waits for the next delta. */
  push(delta: string): string {
    let text = this.pendingHigh + delta;
    this.pendingHigh = '';
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd8_00 && last <= 0xdb_ff) {
      this.pendingHigh = text.slice(-1);
      text = text.slice(0, -1);
    }
    return storableText(text);
  }

  /** What is still held back when the stream ends: a high surrogate with no partner, as U+FFFD. */
  end(): string {
    const rest = this.pendingHigh ? REPLACEMENT_CHARACTER : '';
    this.pendingHigh = '';
    return rest;
  }
}
