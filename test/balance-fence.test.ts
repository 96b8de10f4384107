import { randomUUID } from 'node:crypto';
import { BalanceFencedError } from '../src/balance/errors';
import { verifyLedger } from '../src/balance/ledger';
import { startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const tokensInDb = async (userId: string) => {
  const [row] = await t.app.services.orm.em.fork().execute<Array<{ tokens: string }>>('select tokens from users where id = ?', [userId]);
  return Number(row!.tokens);
};

describe('the balance fence', () => {
  it('refuses to overwrite a balance another writer changed, keeps the rest of the batch, then reloads', async () => {
    const balance = t.app.services.balance;
    const fenced = await t.signUp();
    const bystander = await t.signUp();
    await balance.grant(fenced.userId, 100, 'before');
    await balance.snapshot(bystander.userId);

    // Another process writes the same balance (with its ledger row, as it would): version moves on.
    const em = t.app.services.orm.em.fork();
    const otherEntry = randomUUID();
    await em.execute(
      `insert into token_ledger (id, user_id, kind, amount, balance_after) values (?, ?, 'GRANT', 5, 10105)`,
      [otherEntry, fenced.userId],
    );
    await em.execute(
      `insert into token_grants (id, user_id, source, amount, remaining, priority, ledger_entry_id) values (?, ?, 'ADMIN', 5, 5, 50, ?)`,
      [randomUUID(), fenced.userId, otherEntry],
    );
    await em.execute('update users set tokens = 10105, balance_version = balance_version + 1 where id = ?', [fenced.userId]);

    // Both grants land in one batch; only the fenced user's is refused.
    const [mine, theirs] = await Promise.allSettled([balance.grant(fenced.userId, 10, 'overwrite?'), balance.grant(bystander.userId, 7, 'fine')]);
    expect(mine.status).toBe('rejected');
    expect((mine as PromiseRejectedResult).reason).toBeInstanceOf(BalanceFencedError);
    expect(theirs).toMatchObject({ status: 'fulfilled', value: { snapshot: { tokens: 10_007 } } });
    expect(await tokensInDb(fenced.userId)).toBe(10_105);
    expect(await tokensInDb(bystander.userId)).toBe(10_007);

    // The actor was dropped: the next operation reloads the other writer's balance and goes on from it.
    const after = await balance.grant(fenced.userId, 10, 'after reload');
    expect(after.snapshot.tokens).toBe(10_115);
    expect(await tokensInDb(fenced.userId)).toBe(10_115);
    const report = await verifyLedger(t.app.services.orm);
    expect([report.mismatches, report.grantMismatches, report.entryMismatches]).toEqual([[], [], []]);
  });
});
