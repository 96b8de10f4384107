import { LIMITS } from './config';
import { badInput } from './errors';

/**
 * Paging for every connection of the schema: the page size check, the cursors and the connection
 * shape. A cursor is `base64url("<connection>:<field>:<field>...")`; only what this module encoded
 * for the same connection decodes, and anything else (another connection's cursor, junk, a huge
 * number, an id that is not a UUID, the empty string) is BAD_USER_INPUT before any query runs, so a
 * forged `after:` can never reach PostgreSQL as a value it refuses.
 */

/** Our cursors are under 100 characters; a longer `after` is refused before it is decoded. */
export const CURSOR_CHARS_MAX = 200;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A non-negative integer without leading zeros, at most 16 digits (every safe integer fits). */
const WHOLE = /^(0|[1-9]\d{0,15})$/;
/** The largest time a JavaScript Date holds (and PostgreSQL stores): 8.64e15 ms after the epoch. */
const DATE_MS_MAX = 8_640_000_000_000_000;

/** A connection's `first`: a whole number from 1 to LIMITS.pageSizeMax, else BAD_USER_INPUT. */
export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > LIMITS.pageSizeMax) throw badInput(`first: 1 to ${LIMITS.pageSizeMax}`, 'first');
  return first;
}

/** Encodes positions of one connection and decodes only its own cursors. */
export interface Cursor<P> {
  encode(position: P): string;
  /** The position, or BAD_USER_INPUT (field `after`) for anything this connection did not hand out. */
  decode(cursor: string): P;
}

/** A position in a list ordered by (created_at, id), newest first. */
export interface Keyset {
  createdAt: Date;
  id: string;
}

/** Keyset cursor over (created_at in whole milliseconds, uuid). */
export function keysetCursor(connection: string): Cursor<Keyset> {
  return cursorOf(
    connection,
    ({ createdAt, id }) => [String(createdAt.getTime()), id],
    ([ms, id]) => {
      const time = wholeNumber(ms);
      if (time === undefined || time > DATE_MS_MAX || id === undefined || !UUID.test(id)) return undefined;
      return { createdAt: new Date(time), id };
    },
    2,
  );
}

/** Cursor over an increasing sequence number (the ledger's commit order). */
export function sequenceCursor(connection: string): Cursor<number> {
  return cursorOf(connection, (seq) => [String(seq)], ([seq]) => wholeNumber(seq), 1);
}

/** Decodes `after` when it was given: null and undefined mean the first page; anything else must be a cursor. */
export function decodeAfter<P>(cursor: Cursor<P>, after: string | null | undefined): P | undefined {
  return after === null || after === undefined ? undefined : cursor.decode(after);
}

export interface Connection<N> {
  edges: Array<{ cursor: string; node: N }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** The Relay shape every connection field returns. */
export function connection<N>(nodes: readonly N[], hasNextPage: boolean, cursorFor: (node: N) => string): Connection<N> {
  const edges = nodes.map((node) => ({ cursor: cursorFor(node), node }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

function cursorOf<P>(connection: string, fields: (position: P) => string[], parse: (fields: string[]) => P | undefined, count: number): Cursor<P> {
  const encode = (position: P) => Buffer.from([connection, ...fields(position)].join(':')).toString('base64url');
  return {
    encode,
    decode(cursor) {
      const position = cursor.length <= CURSOR_CHARS_MAX && BASE64URL.test(cursor) ? parseText(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
      // Decoding is lenient (trailing bits, other alphabets): only the exact encoding of a position is ours.
      if (position === undefined || encode(position) !== cursor) throw badInput('after: not a cursor from this connection', 'after');
      return position;
    },
  };

  function parseText(text: string): P | undefined {
    const [name, ...rest] = text.split(':');
    return name === connection && rest.length === count ? parse(rest) : undefined;
  }
}

function wholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !WHOLE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
