import { randomFillSync } from 'node:crypto';

/** Random bytes drawn from the OS at once, so an id costs no system call. */
const RANDOM_POOL_BYTES = 4_096;
const RANDOM_BYTES_PER_ID = 10;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(RANDOM_POOL_BYTES);
let poolOffset = RANDOM_POOL_BYTES;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids made later
 * sort later, so rows keyed by them are appended at the right edge of their primary-key btree
 * instead of landing on a random page (measured on the ledger insert: about 3 µs less PostgreSQL
 * CPU per row than random version 4 ids, see BENCHMARKS.md). Same text form as randomUUID().
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (poolOffset + RANDOM_BYTES_PER_ID > RANDOM_POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += RANDOM_BYTES_PER_ID;
  // 48-bit timestamp: high 16 bits and low 32 bits (bitwise operators work on 32 bits).
  const high = Math.floor(nowMs / 0x1_0000_0000);
  const low = nowMs >>> 0;
  return (
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    HEX[low >>> 24]! +
    HEX[(low >>> 16) & 0xff]! +
    '-' +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    '-' +
    HEX[0x70 | (pool[r]! & 0x0f)]! +
    HEX[pool[r + 1]!]! +
    '-' +
    HEX[0x80 | (pool[r + 2]! & 0x3f)]! +
    HEX[pool[r + 3]!]! +
    '-' +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! +
    HEX[pool[r + 8]!]! +
    HEX[pool[r + 9]!]!
  );
}
