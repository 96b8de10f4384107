/**
 * Integration tests start real servers and databases. Two files run at once, one per core of the
 * machines this runs on (CI's included); `--runInBand` runs one at a time.
 */
module.exports = {
  // The node environment, plus the o200k encoder built once per worker instead of once per file.
  testEnvironment: '<rootDir>/test/support/environment.ts',
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  maxWorkers: 2,
  // A worker whose heap holds more than this after a file is replaced by a fresh one. On Node 20 (not on
  // 24) the vm context jest makes for each test file stays alive after it, held by Node's own cleanup
  // queue (heap snapshots): a worker's heap grew by ~25 MB per file, and the cost of every garbage
  // collection and embedded-database start with it (PGlite
  // starts in 0.26 s of CPU on a 20 MB heap, 0.76 s on a 300 MB one: `npm run bench:embedded`).
  workerIdleMemoryLimit: '350MB',
  testTimeout: 60_000,
  // Migrates one template database per run; every test app starts from a copy (test/support/database-template.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
