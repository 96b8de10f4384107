/**
 * Reading a model's reply without trusting it, when it is not valid JSON of its schema (./output.ts):
 * models without structured outputs wrap JSON in prose or code fences, use snake_case keys and leave
 * trailing commas, and any reply can be cut off by the output cap. The user has paid for the reply
 * either way, so these helpers recover what they can and never throw.
 */

type JsonRecord = Record<string, unknown>;

/** Candidate starts ('{' or '[') tried before giving up; replies are bounded by their output cap. */
const JSON_STARTS_MAX = 16;

const FENCE = /```[a-zA-Z]*\s*\n?([\s\S]*?)(?:```|$)/;
const TRAILING_COMMA = /,(\s*[}\]])/g;

/** The first JSON object or array in the reply, preferring one inside a code fence; else undefined. */
export function extractJson(text: string): unknown {
  const fenced = FENCE.exec(text)?.[1];
  if (fenced !== undefined) {
    const inside = firstJsonIn(fenced);
    if (inside !== undefined) return inside;
  }
  return firstJsonIn(text);
}

function firstJsonIn(text: string): unknown {
  let start = text.search(/[[{]/);
  for (let tried = 0; start >= 0 && tried < JSON_STARTS_MAX; tried++) {
    const candidate = balancedFrom(text, start);
    const value = candidate === undefined ? undefined : parseLoosely(candidate);
    if (value !== undefined) return value;
    start = nextStart(text, start + 1);
  }
  return undefined;
}

function nextStart(text: string, from: number): number {
  const offset = text.slice(from).search(/[[{]/);
  return offset < 0 ? -1 : from + offset;
}

function parseLoosely(candidate: string): unknown {
  for (const attempt of [candidate, candidate.replace(TRAILING_COMMA, '$1')]) {
    try {
      return JSON.parse(attempt) as unknown;
    } catch {
      // Try the next repair; the caller falls back to the raw text when none parses.
    }
  }
  return undefined;
}

/**
 * The balanced JSON text starting at `start`. When the reply ends first (cut off by the output cap),
 * the text up to the last complete value, with the open brackets closed, so complete array elements
 * and object fields survive truncation.
 */
function balancedFrom(text: string, start: number): string | undefined {
  const closers: string[] = [];
  let inString = false;
  let escaped = false;
  // The last point where the text so far is complete JSON once closed. Every pop happens at a
  // close, which moves this point, so the stack below its depth never changes after it is taken.
  let salvageEnd = -1;
  let salvageDepth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      continue;
    }
    if (ch === '{' || ch === '[') closers.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') closers.pop();
    else if (ch !== ',') continue;
    if (closers.length === 0) return text.slice(start, i + 1);
    salvageEnd = ch === ',' ? i : i + 1;
    salvageDepth = closers.length;
  }
  if (salvageEnd < 0) return undefined;
  return text.slice(start, salvageEnd) + closers.slice(0, salvageDepth).reverse().join('');
}

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const normalizeKey = (key: string) => key.replace(/[^a-zA-Z0-9]/g, '').toLowerCase();

/** record[name], also found as pain_points, PainPoints or "pain points" for painPoints. */
export function pick(record: JsonRecord, name: string): unknown {
  if (Object.hasOwn(record, name)) return record[name];
  const wanted = normalizeKey(name);
  const key = Object.keys(record).find((k) => normalizeKey(k) === wanted);
  return key === undefined ? undefined : record[key];
}

export function asText(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/** A list of non-empty strings; a single string is read as one item per line. */
export function asTextList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(asText) : typeof value === 'string' ? value.split('\n').map(bulletless) : [];
  return items.filter((item) => item.length > 0);
}

function bulletless(line: string): string {
  return line.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, '').trim();
}

/** True when anything in the value carries text, so an all-empty parse counts as a failure. */
export function hasContent(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.some(hasContent);
  if (isRecord(value)) return Object.values(value).some(hasContent);
  return false;
}

/**
 * One object from the reply: the JSON object itself, or the first object of a JSON array, or the
 * object under a wrapping key ({"persona": {...}}). Undefined when the reply holds none.
 */
export function objectIn(reply: string, wrapperKey: string): JsonRecord | undefined {
  const json = extractJson(reply);
  const first = Array.isArray(json) ? json.find(isRecord) : json;
  if (!isRecord(first)) return undefined;
  const wrapped = pick(first, wrapperKey);
  return isRecord(wrapped) ? wrapped : first;
}

/** Reads one field of a record by name, tolerating the key spellings that pick() tolerates. */
export type Fields = (name: string) => unknown;

export function fieldsOf(record: JsonRecord): Fields {
  return (name) => pick(record, name);
}

/** The fields of objectIn(reply, wrapperKey), or undefined when the reply holds no object. */
export function fieldsIn(reply: string, wrapperKey: string): Fields | undefined {
  const record = objectIn(reply, wrapperKey);
  return record && fieldsOf(record);
}

/** The object list from the reply: a JSON array, the array under a key, or a lone object as one item. */
export function objectListIn(reply: string, listKey: string): JsonRecord[] | undefined {
  const json = extractJson(reply);
  const list = isRecord(json) ? (pick(json, listKey) ?? Object.values(json).find(isRecordList) ?? [json]) : json;
  return Array.isArray(list) ? list.filter(isRecord) : undefined;
}

function isRecordList(value: unknown): boolean {
  return Array.isArray(value) && value.some(isRecord);
}

/**
 * The structured result of a reply, or the fallback built from its raw text when the reply holds no
 * usable JSON, so the caller always has something to show for the tokens spent.
 */
export function structured<O>(reply: string, read: (reply: string) => O | undefined, fallback: (raw: string) => O): O {
  const value = read(reply);
  return value !== undefined && hasContent(value) ? value : fallback(plainText(reply));
}

/** Reads a list of items; items with no text at all are dropped. */
export function structuredList<O>(reply: string, listKey: string, item: (f: Fields) => O, fallback: (raw: string) => O): O[] {
  return structured(
    reply,
    (r) => objectListIn(r, listKey)?.map((record) => item(fieldsOf(record))).filter(hasContent),
    (raw) => [fallback(raw)],
  );
}

/** The reply as prose: trimmed, and unwrapped when the whole of it is one code fence. */
export function plainText(reply: string): string {
  const trimmed = reply.trim();
  const fenced = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(trimmed);
  return (fenced?.[1] ?? trimmed).trim();
}

/** A single value (a statement, a field): prose, without the quotes models like to add around it. */
export function singleValue(reply: string): string {
  const value = plainText(reply);
  const inner = /^"([^"]+)"$/.exec(value) ?? /^“([^“”]+)”$/.exec(value);
  return inner ? inner[1]!.trim() : value;
}
