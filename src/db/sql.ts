import type { EntityManager, Knex, MikroORM } from '@mikro-orm/postgresql';

/**
 * SQL below the ORM, in one place: bound parameters, named prepared statements and raw pooled
 * connections. Only this file knows how MikroORM reaches the driver (today through knex: its raw
 * binding, its transaction object and its connection pool, whose acquire/release are not public
 * API), so moving to MikroORM 7 (knex replaced by Kysely) changes this file alone. Everything else,
 * tests and benchmarks included, goes through the functions it exports.
 */

/** A raw node-postgres connection from the ORM's pool. */
export interface PooledConnection {
  query(config: string | { name?: string | undefined; text: string; values: unknown[] }, values?: unknown[]): Promise<{ rows: unknown[] }>;
  /** Closes it: the pool opens a new one for the next caller. */
  end(): Promise<void>;
}

/** The ORM's connection pool, as knex exposes it to its dialects. */
function poolOf(orm: MikroORM): { acquireConnection(): Promise<PooledConnection>; releaseConnection(connection: PooledConnection): Promise<void> } {
  return orm.em.getKnex().client as unknown as ReturnType<typeof poolOf>;
}

/** Runs `work` on one connection of the ORM's pool, outside any transaction, and gives it back. */
export async function withPooledConnection<T>(orm: MikroORM, work: (connection: PooledConnection) => Promise<T>): Promise<T> {
  const pool = poolOf(orm);
  const connection = await pool.acquireConnection();
  try {
    return await work(connection);
  } finally {
    await pool.releaseConnection(connection);
  }
}

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

/** Statements one connection keeps prepared; past it, a new text runs unnamed (parsed every time). */
const PREPARED_PER_CONNECTION_MAX = 64;
/** SQL texts whose positional form is kept; others are rewritten on every call. */
const POSITIONAL_TEXTS_MAX = 64;

/** Per pooled connection, the names of the statements prepared on it (by SQL text). */
const preparedOn = new WeakMap<PooledConnection, Map<string, string>>();
/** `?` placeholders rewritten as $1, $2, …, by SQL text. */
const positional = new Map<string, string>();

/**
 * Runs a statement with `?` placeholders (every `?` is one) on a pooled connection as a named
 * prepared statement, so PostgreSQL parses and plans each distinct text once per connection
 * instead of on every call (measured for the flusher's one-row batch: 0.8 ms instead of 1.3 ms on a
 * raw connection and 1.5 ms through knex; BENCHMARKS.md).
 *
 * Names are kept per connection object, as the pg client keeps them. The first use of a connection
 * clears the session's prepared statements: the embedded database is one session that outlives the
 * pool's connections, so a new connection would otherwise meet names its predecessor prepared (on
 * a server a new connection has none, and this costs one round trip per connection).
 */
export async function executePrepared<T>(orm: MikroORM, sql: string, params: unknown[]): Promise<T[]> {
  let text = positional.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    if (positional.size < POSITIONAL_TEXTS_MAX) positional.set(sql, text);
  }
  const prepared = text;
  return withPooledConnection(orm, async (connection) => {
    let names = preparedOn.get(connection);
    if (!names) {
      await connection.query('deallocate all');
      names = new Map();
      preparedOn.set(connection, names);
    }
    let name = names.get(prepared);
    if (name === undefined && names.size < PREPARED_PER_CONNECTION_MAX) {
      name = `andora_${names.size + 1}`;
      names.set(prepared, name);
    }
    const result = await connection.query({ name, text: prepared, values: params });
    return result.rows as T[];
  });
}
