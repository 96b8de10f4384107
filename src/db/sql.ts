import type { EntityManager, Knex, MikroORM } from '@mikro-orm/postgresql';

/**
 * Runs SQL with real bind parameters, inside the EntityManager's transaction when it has one.
 *
 * `em.execute(sql, params)` inlines parameters into the SQL text (escaping each character): for the
 * flusher's batches, a few hundred KB of JSON, that costs more CPU in Node and in PostgreSQL's parser
 * than the rest of the commit (measured in BENCHMARKS.md). Knex's raw binding sends them as $n.
 */
export async function executeBound<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const query = em.getKnex().raw(sql, params as Knex.RawBinding[]);
  const transaction = em.getTransactionContext<Knex.Transaction>();
  if (transaction) query.transacting(transaction);
  return ((await query) as { rows: T[] }).rows;
}

/** Distinct statement texts given a name; past it, a new text runs unnamed (parsed every time). */
const PREPARED_STATEMENTS_MAX = 64;

interface PgConnection {
  query(config: string | { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs statements with `?` placeholders (every `?` is one) on a pooled connection as named prepared
 * statements, so PostgreSQL parses and plans each distinct text once per connection instead of on
 * every call (measured for the flusher's one-row batch: 0.8 ms instead of 1.3 ms on a raw
 * connection, 1.5 ms through knex; BENCHMARKS.md).
 *
 * A connection's first use clears the session's prepared statements: the embedded database is one
 * session that outlives the pool's connections, so a new connection would otherwise meet the names
 * its predecessor prepared (on a server, a new connection has none and this costs one round trip).
 */
export class PreparedStatements {
  private readonly texts = new Map<string, { name: string | undefined; text: string }>();
  private readonly cleared = new WeakSet<PgConnection>();

  constructor(private readonly orm: MikroORM) {}

  async execute<T>(sql: string, params: unknown[]): Promise<T[]> {
    const statement = this.statement(sql);
    const client = this.orm.em.getKnex().client as unknown as {
      acquireConnection(): Promise<PgConnection>;
      releaseConnection(connection: PgConnection): Promise<void>;
    };
    const connection = await client.acquireConnection();
    try {
      if (!this.cleared.has(connection)) {
        await connection.query('deallocate all');
        this.cleared.add(connection);
      }
      const result = await connection.query({ name: statement.name, text: statement.text, values: params });
      return result.rows as T[];
    } finally {
      await client.releaseConnection(connection);
    }
  }

  private statement(sql: string): { name: string | undefined; text: string } {
    let statement = this.texts.get(sql);
    if (!statement) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const named = this.texts.size < PREPARED_STATEMENTS_MAX;
      statement = { name: named ? `andora_${this.texts.size + 1}` : undefined, text };
      if (named) this.texts.set(sql, statement);
    }
    return statement;
  }
}
