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
  testTimeout: 60_000,
  // Migrates one template database per run; every test app starts from a copy (test/support/database-template.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
