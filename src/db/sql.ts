import type { EntityManager, Knex } from '@mikro-orm/postgresql';

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
