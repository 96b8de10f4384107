import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

/**
 * Runs `work` in one database transaction on a fresh fork of `orm`'s EntityManager: begin, `work`,
 * commit; on any error, roll back and rethrow. `work` must use the `em` it is given, and write with
 * `insert`, `insertMany`, `nativeUpdate`, `nativeDelete` or `execute`: nothing here flushes, and
 * entities left for the unit of work to flush are refused (the transaction rolls back).
 *
 * Why not `em.transactional`, and why no flush: both enter an AsyncLocalStorage (MikroORM's
 * TransactionContext, and the unit of work's `insideFlush`). On Node 20 the first entry into any
 * AsyncLocalStorage turns on async hooks for the whole process, for good, and from then on every
 * promise the process creates pays an init hook. One signup was enough to put that on every settle
 * (bench:balance, Node CPU per durable settle 15.7 → 10.9 µs without it). `em.findAndCount` enters
 * one too. The lint config forbids `transactional`, `findAndCount`, `flush` and `persistAndFlush`.
 */
export async function inTransaction<T>(orm: MikroORM, work: (em: EntityManager) => Promise<T>): Promise<T> {
  const em = orm.em.fork();
  const connection = em.getConnection('write');
  await em.begin();
  const trx = em.getTransactionContext();
  try {
    const result = await work(em);
    const uow = em.getUnitOfWork();
    if (uow.getPersistStack().size > 0 || uow.getRemoveStack().size > 0) {
      throw new Error('inTransaction: work left entities for the unit of work to flush; write with insert, nativeUpdate or execute');
    }
    await connection.commit(trx);
    return result;
  } catch (err) {
    // A failed commit may have ended the transaction already; the first error is the one to report.
    await connection.rollback(trx).catch(() => undefined);
    throw err;
  } finally {
    em.resetTransactionContext();
  }
}
