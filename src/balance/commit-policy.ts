/**
 * How the flusher treats a failed commit (flusher.ts does the I/O; this is the policy, on its own so
 * it can be read and tested alone).
 *
 * - Transient (the database is away or busy: connection lost, serialization failure, deadlock,
 *   admin shutdown, out of resources): retry the same batch, with backoff, for as long as it takes.
 *   Nothing is dropped; /readyz reports not ready meanwhile.
 * - Deterministic (the batch's data: PostgreSQL classes 22 and 23, or anything that fails twice
 *   identically while the database answers): retrying the whole batch would fail forever and stall
 *   every user behind it, so the batch is bisected (`commitBisecting`) down to the entries that fail
 *   on their own.
 */

export type FailureKind = 'transient' | 'data' | 'unknown';

/**
 * SQLSTATE classes worth waiting out: 08 connection exception, 40 transaction rollback
 * (serialization failure, deadlock), 53 insufficient resources, 57 operator intervention (admin
 * shutdown, cancel, cannot connect now), 58 system error (I/O).
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58']);
/** 22 data exception (bad text, out of range, too long), 23 integrity constraint violation. */
const DATA_CLASSES = new Set(['22', '23']);
/** Socket errors from Node (no SQLSTATE): the database could not be reached. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const SQLSTATE = /^[0-9A-Z]{5}$/;

interface ErrorFields {
  code?: unknown;
  sqlState?: unknown;
  name?: unknown;
  message?: unknown;
}

/** The SQLSTATE of a PostgreSQL error (pg puts it in `code`, MikroORM's wrappers in `sqlState`). */
export function sqlStateOf(err: unknown): string | undefined {
  const { code, sqlState } = (err ?? {}) as ErrorFields;
  for (const candidate of [sqlState, code]) {
    if (typeof candidate === 'string' && SQLSTATE.test(candidate) && !NETWORK_CODES.has(candidate)) return candidate;
  }
  return undefined;
}

export function classifyFailure(err: unknown): FailureKind {
  const state = sqlStateOf(err);
  if (state) {
    const errorClass = state.slice(0, 2);
    if (DATA_CLASSES.has(errorClass)) return 'data';
    return TRANSIENT_CLASSES.has(errorClass) ? 'transient' : 'unknown';
  }
  const { code } = (err ?? {}) as ErrorFields;
  return typeof code === 'string' && NETWORK_CODES.has(code) ? 'transient' : 'unknown';
}

/** What makes two failures "identical": their SQLSTATE or name, and their message. */
export function failureSignature(err: unknown): string {
  const { name, message } = (err ?? {}) as ErrorFields;
  return `${sqlStateOf(err) ?? String(name ?? typeof err)}: ${String(message ?? err)}`;
}

/** Wait before retry `attempt` (1 = after the first failure): doubling from `minMs`, at most `maxMs`. */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 16));
}

/** Why a part of a batch cannot be committed, however often it is tried. */
export class DeterministicFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Commits `items` as one part; if that fails deterministically, commits each half the same way,
 * left half first, so the items still commit in their order. An item that fails alone goes to
 * `alone`. Bounded: the depth is ceil(log2(n)) and there are at most 2n - 1 parts, fewer the fewer
 * items fail (one bad item among n costs about 2·log2(n) parts).
 */
export async function commitBisecting<T>(
  items: readonly T[],
  commit: (part: readonly T[]) => Promise<DeterministicFailure | null>,
  alone: (item: T, failure: DeterministicFailure) => Promise<void>,
): Promise<void> {
  if (items.length === 0) return;
  const failure = await commit(items);
  if (!failure) return;
  if (items.length === 1) return alone(items[0]!, failure);
  const half = Math.ceil(items.length / 2);
  await commitBisecting(items.slice(0, half), commit, alone);
  await commitBisecting(items.slice(half), commit, alone);
}
