import { randomUUID } from 'node:crypto';
import { LockMode, type MikroORM } from '@mikro-orm/postgresql';
import type { SettleUsage } from '../../src/balance/actor';
import { LedgerEntry, User } from '../../src/db/entities';
import { inTransaction } from '../../src/db/transaction';

/**
 * The design the balance service replaces: every request is its own MikroORM transaction that locks
 * the user's row, takes the tokens and inserts the usage row, and answers after that commit:
 * `BEGIN` / `SELECT … FOR UPDATE` / `UPDATE users` / `INSERT token_ledger` / `COMMIT`, the same
 * statements a unit-of-work flush would send, written explicitly (see src/db/transaction.ts for
 * why nothing in this process flushes).
 *
 * It bumps `balance_version` like every writer of `users.tokens` must, so it would fence off (not
 * be overwritten by) a balance service holding a stale copy; the books stay exact either way. Since
 * grants (issue 14) it also burns the first grant that covers the charge and records the burn, as
 * the service does, so the books (ledger:verify) stay exact and the comparison does the same work.
 */
export async function chargeInOwnTransaction(orm: MikroORM, userId: string, usage: SettleUsage): Promise<void> {
  await inTransaction(orm, async (em) => {
    const user = await em.findOneOrFail(User, userId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const charged = Math.min(usage.tokens, user.tokens);
    const tokens = user.tokens - charged;
    await em.nativeUpdate(User, { id: userId }, { tokens, balanceVersion: user.balanceVersion + 1 });
    const entryId = randomUUID();
    if (charged > 0) {
      const [grant] = await em.execute<Array<{ id: string }>>(
        `update token_grants set remaining = remaining - ?
          where id = (select id from token_grants where user_id = ? and remaining >= ? and expired_at is null
                       order by priority, expires_at nulls last, created_at, id limit 1)
          returning id`,
        [charged, userId, charged],
      );
      if (!grant) throw new Error(`baseline: no single grant of ${userId} covers ${charged} tokens`);
      await em.execute('insert into ledger_grant_burns (ledger_entry_id, grant_id, amount) values (?, ?, ?)', [entryId, grant.id, charged]);
    }
    await em.insert(LedgerEntry, {
      id: entryId,
      user: userId,
      kind: 'CHARGE',
      amount: -charged,
      balanceAfter: tokens,
      model: usage.model ?? null,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costNanoUsd: usage.costNanoUsd,
      metadata: { held: 0 },
      createdAt: new Date(),
    });
  });
}
