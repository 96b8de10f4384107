import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import pino from 'pino';
import { EMBEDDED_IN_PRODUCTION } from '../src/app';
import { EMBEDDED_SHARED_BUFFERS, PGLITE_DIR, startEmbeddedPostgres } from '../src/db/embedded';
import { createTestDatabase, startTestApp } from './support/test-app';

/** Log lines a test app writes, parsed. */
function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** Two app starts, each a PGlite boot (seconds of WebAssembly start-up on a loaded two-core machine). */
const TWO_STARTS_TIMEOUT_MS = 120_000;

const warned = (lines: Array<Record<string, unknown>>) => lines.some((l) => l.msg === EMBEDDED_IN_PRODUCTION && l.level === 40);

describe('the embedded database default', () => {
  // Without TEST_DATABASE_URL the test apps run on the embedded database; with it, on that server.
  const embedded = !process.env.TEST_DATABASE_URL;

  it(`warns at start in production ${embedded ? 'that the embedded database does not fsync' : 'only without DATABASE_URL'}, and never in development`, async () => {
    for (const [env, expected] of [['production', embedded], ['development', false]] as const) {
      const { log, lines } = capture();
      const t = await startTestApp({ NODE_ENV: env }, undefined, { log });
      await t.close();
      expect(lines.some((l) => l.msg === 'GraphQL over HTTP and websocket listening')).toBe(true);
      expect(warned(lines)).toBe(expected);
    }
  }, TWO_STARTS_TIMEOUT_MS);

  (embedded ? it : it.skip)('opens PGlite with our buffer pool, not the 128 MB its initdb wrote (skipped on PostgreSQL)', async () => {
    const db = await createTestDatabase();
    const dataDir = db.env.DATA_DIR!;
    try {
      expect(readFileSync(join(dataDir, PGLITE_DIR, 'postgresql.conf'), 'utf8')).toMatch(/^shared_buffers = 128MB/m);
      const embeddedDb = await startEmbeddedPostgres(dataDir, pino({ level: 'silent' }));
      const client = new Client({ connectionString: embeddedDb.url });
      try {
        await client.connect();
        const { rows } = await client.query<{ shared_buffers: string }>('show shared_buffers');
        expect(rows).toEqual([{ shared_buffers: EMBEDDED_SHARED_BUFFERS }]);
      } finally {
        await client.end();
        await embeddedDb.close();
      }
    } finally {
      await db.drop();
    }
  });
});
