/**
 * One-dimensional PostgreSQL arrays in the binary wire format (what `array_recv` reads), for
 * statements that take a column of a batch as one parameter: `unnest(?::uuid[], ?::int8[], ...)`.
 *
 * The pg driver sends a Buffer parameter in binary format, so PostgreSQL copies each element in
 * with the type's receive function instead of parsing text: for the ledger flush, the JSON it
 * replaced (json_to_recordset, then every field through its text input function) was half of the
 * batch statement's CPU in PostgreSQL (BENCHMARKS.md). The element type written into the array
 * must be the one the statement casts the parameter to, or PostgreSQL refuses it.
 *
 * Each encoder takes the batch and a field reader, so a column is written straight from the rows
 * without an intermediate array.
 */

/** Element type oids (pg_type.oid), checked by array_recv against the parameter's type. */
const ELEMENT_OID = { int4: 23, int8: 20, text: 25, uuid: 2_950, jsonb: 3_802, timestamptz: 1_184 } as const;

/** ndim, has-nulls flag, element oid, then (length, lower bound) for the one dimension. */
const HEADER_BYTES = 20;
/** Every element is preceded by its length (-1 for NULL). */
const LENGTH_BYTES = 4;
const UUID_BYTES = 16;
const TWO_TO_32 = 0x1_0000_0000;
/** timestamptz is microseconds since 2000-01-01T00:00:00Z. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
/** First byte of a binary jsonb value: its format version. */
const JSONB_VERSION = 1;

type Read<R, T> = (row: R) => T;

function writeHeader(buf: Buffer, length: number, hasNulls: boolean, oid: number): number {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNulls ? 1 : 0, 4);
  buf.writeUInt32BE(oid, 8);
  buf.writeInt32BE(length, 12);
  buf.writeInt32BE(1, 16);
  return HEADER_BYTES;
}

/** A safe integer as a big-endian 64-bit two's complement value. */
function writeInt64(buf: Buffer, value: number, at: number): number {
  const high = Math.floor(value / TWO_TO_32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * TWO_TO_32, at + 4);
  return at + 8;
}

function fixedWidth<R>(rows: readonly R[], oid: number, width: number, write: (buf: Buffer, row: R, at: number) => void): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + rows.length * (LENGTH_BYTES + width));
  let at = writeHeader(buf, rows.length, false, oid);
  for (const row of rows) {
    buf.writeInt32BE(width, at);
    write(buf, row, at + LENGTH_BYTES);
    at += LENGTH_BYTES + width;
  }
  return buf;
}

/** int8[] of safe integers. */
export function int8Array<R>(rows: readonly R[], read: Read<R, number>): Buffer {
  return fixedWidth(rows, ELEMENT_OID.int8, 8, (buf, row, at) => {
    const value = read(row);
    if (!Number.isSafeInteger(value)) throw new RangeError(`int8 element ${value} is not a safe integer`);
    writeInt64(buf, value, at);
  });
}

/** int4[] of 32-bit integers. */
export function int4Array<R>(rows: readonly R[], read: Read<R, number>): Buffer {
  return fixedWidth(rows, ELEMENT_OID.int4, 4, (buf, row, at) => {
    const value = read(row);
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw new RangeError(`int4 element ${value} out of range`);
    buf.writeInt32BE(value, at);
  });
}

/** Like fixedWidth, for a column whose values may be null (NULL elements, no bytes). */
function nullableFixedWidth<R, V>(rows: readonly R[], read: Read<R, V | null>, oid: number, width: number, write: (buf: Buffer, value: V, at: number) => void): Buffer {
  let nulls = 0;
  for (const row of rows) if (read(row) === null) nulls++;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + rows.length * LENGTH_BYTES + (rows.length - nulls) * width);
  let at = writeHeader(buf, rows.length, nulls > 0, oid);
  for (const row of rows) {
    const value = read(row);
    if (value === null) {
      buf.writeInt32BE(-1, at);
      at += LENGTH_BYTES;
      continue;
    }
    buf.writeInt32BE(width, at);
    write(buf, value, at + LENGTH_BYTES);
    at += LENGTH_BYTES + width;
  }
  return buf;
}

/** A Date as timestamptz: microseconds since 2000-01-01, at the Date's millisecond precision. */
function writeTimestamptz(buf: Buffer, value: Date, at: number): void {
  const ms = value.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('timestamptz element is an invalid Date');
  writeInt64(buf, (ms - POSTGRES_EPOCH_MS) * 1_000, at);
}

/** timestamptz[] from Dates (millisecond precision, as a Date has). */
export function timestamptzArray<R>(rows: readonly R[], read: Read<R, Date>): Buffer {
  return fixedWidth(rows, ELEMENT_OID.timestamptz, 8, (buf, row, at) => writeTimestamptz(buf, read(row), at));
}

/** timestamptz[] from Dates or null (NULL elements), at millisecond precision. */
export function nullableTimestamptzArray<R>(rows: readonly R[], read: Read<R, Date | null>): Buffer {
  return nullableFixedWidth(rows, read, ELEMENT_OID.timestamptz, 8, writeTimestamptz);
}

/** uuid[] from the canonical text form; null elements are NULL. */
export function uuidArray<R>(rows: readonly R[], read: Read<R, string | null>): Buffer {
  return nullableFixedWidth(rows, read, ELEMENT_OID.uuid, UUID_BYTES, writeUuid);
}

/** text[]; null elements are NULL. */
export function textArray<R>(rows: readonly R[], read: Read<R, string | null>): Buffer {
  return variableWidth(rows, read, ELEMENT_OID.text, 0);
}

/** jsonb[] from JSON texts (PostgreSQL parses and checks each one). */
export function jsonbArray<R>(rows: readonly R[], read: Read<R, string>): Buffer {
  return variableWidth(rows, read, ELEMENT_OID.jsonb, 1);
}

/** Strings as UTF-8, each after `prefixBytes` bytes (jsonb's version byte). */
function variableWidth<R>(rows: readonly R[], read: Read<R, string | null>, oid: number, prefixBytes: 0 | 1): Buffer {
  const values = rows.map(read);
  let size = HEADER_BYTES + values.length * LENGTH_BYTES;
  let nulls = 0;
  for (const value of values) {
    if (value === null) nulls++;
    else size += prefixBytes + Buffer.byteLength(value);
  }
  const buf = Buffer.allocUnsafe(size);
  let at = writeHeader(buf, values.length, nulls > 0, oid);
  for (const value of values) {
    if (value === null) {
      buf.writeInt32BE(-1, at);
      at += LENGTH_BYTES;
      continue;
    }
    const start = at + LENGTH_BYTES;
    if (prefixBytes === 1) buf[start] = JSONB_VERSION;
    const written = buf.write(value, start + prefixBytes, 'utf8');
    buf.writeInt32BE(prefixBytes + written, at);
    at = start + prefixBytes + written;
  }
  return buf;
}

/** Value of each hex digit's char code, -1 for any other character. */
const HEX_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    table['0123456789abcdef'.charCodeAt(i)] = i;
    table['0123456789ABCDEF'.charCodeAt(i)] = i;
  }
  return table;
})();
/** Where each of the 16 bytes' two hex digits start in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const UUID_BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const UUID_TEXT_LENGTH = 36;
const DASH = 0x2d;

function writeUuid(buf: Buffer, text: string, at: number): void {
  const dashes = text.charCodeAt(8) === DASH && text.charCodeAt(13) === DASH && text.charCodeAt(18) === DASH && text.charCodeAt(23) === DASH;
  if (text.length !== UUID_TEXT_LENGTH || !dashes) throw new RangeError(`not a uuid: ${text}`);
  for (let i = 0; i < UUID_BYTES; i++) {
    const pos = UUID_BYTE_AT[i]!;
    const high = HEX_VALUE[text.charCodeAt(pos)] ?? -1;
    const low = HEX_VALUE[text.charCodeAt(pos + 1)] ?? -1;
    if (high < 0 || low < 0) throw new RangeError(`not a uuid: ${text}`);
    buf[at + i] = (high << 4) | low;
  }
}
