import { SchemaComparator, type SqlSchemaGenerator } from '@mikro-orm/postgresql';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * src/db/entities.ts maps the tables the migrations build; both are written by hand, so they can
 * drift apart. MikroORM's schema comparator (what `schema:update` runs) compares the entity metadata
 * with the database the migrations built (a copy of the run's migrated template, which
 * test-database.test.ts shows equals a database migrated from nothing).
 *
 * What the service reads and writes through the entities must agree exactly: every table, and each
 * column's name, type, nullability and default. Foreign keys, checks and indexes are the migrations'
 * alone (the ORM never creates schema; some are deliberately absent, such as the ledger's foreign
 * key, migration 6), so they are not compared.
 */
describe('entities and migrations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('agree on every table and column the entities map', async () => {
    const orm = t.app.services.orm;
    const generator = orm.getSchemaGenerator() as SqlSchemaGenerator;
    // The same comparison as getUpdateSchemaSQL (schema:update), kept as data rather than SQL.
    const { fromSchema, toSchema } = await (
      generator as unknown as { prepareSchemaForComparison(o: object): Promise<{ fromSchema: never; toSchema: never }> }
    ).prepareSchemaForComparison({ safe: false, dropTables: true });
    const diff = new SchemaComparator(orm.em.getPlatform()).compare(fromSchema, toSchema);

    const disagreements = [
      ...Object.keys(diff.newTables).map((table) => `table ${table}: mapped, but no migration creates it`),
      ...Object.keys(diff.removedTables)
        .filter((table) => table !== 'public.mikro_orm_migrations')
        .map((table) => `table ${table}: migrated, but no entity maps it`),
      ...Object.values(diff.changedTables).flatMap((table) => [
        ...Object.keys(table.addedColumns).map((column) => `column ${table.name}.${column}: mapped, but not in the database`),
        ...Object.keys(table.removedColumns).map((column) => `column ${table.name}.${column}: in the database, but not mapped`),
        ...Object.entries(table.changedColumns).map(
          ([column, change]) =>
            `column ${table.name}.${column}: ${[...change.changedProperties].join(', ')} differ ` +
            `(migrations: ${shown(change.fromColumn)}; entity: ${shown(change.column)})`,
        ),
      ]),
    ];
    expect(disagreements).toEqual([]);
  });
});

function shown(column: { type: string; nullable?: boolean; default?: string | null }): string {
  return `${column.type}${column.nullable ? ' null' : ' not null'}${column.default ? ` default ${column.default}` : ''}`;
}
