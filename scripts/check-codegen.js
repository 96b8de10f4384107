// Fails when src/graphql/generated is not what codegen produces from schema.graphql now.
const { execFileSync } = require('node:child_process');
const { readFileSync, mkdtempSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');

const target = 'src/graphql/generated/resolvers-types.ts';
const before = readFileSync(target, 'utf8');
execFileSync('npx', ['graphql-codegen', '--config', 'codegen.ts', '--silent'], { stdio: 'inherit' });
const after = readFileSync(target, 'utf8');
if (before !== after) {
  const dir = mkdtempSync(join(tmpdir(), 'codegen-'));
  writeFileSync(join(dir, 'committed.ts'), before);
  console.error(`${target} was stale: it has been regenerated; commit it (old copy in ${dir}).`);
  process.exit(1);
}
console.log('codegen: generated resolver types are up to date');
