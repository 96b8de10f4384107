import { BalanceService } from '../src/balance/service';
import { ConfigError, loadConfig } from '../src/config';
import { DEFAULT_PLANS, withPlanOverrides, type Plans } from '../src/plans';
import { errorCode, gql } from './support/graphql-client';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Plans and monthly allowances with a clock the test moves (years ahead of the real one, so the
 * app's own service never touches these users' expiries): a plan change waits for the next month;
 * the first activity of a month grants that month's allowance once, also from a second service
 * (a restart, another process); the allowance expires at the month's end.
 */
// One plan table with the limits' per-minute fields (issue 15): `pro` starts from the built-in free plan.
const PLANS: Plans = withPlanOverrides({ pro: { monthlyAllowance: 100_000 } });
let clock = Date.UTC(2031, 0, 15, 12);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ ADMIN_EMAILS: 'plans-root@example.com' });
});
afterAll(() => t.close());

const service = () => {
  const s = new BalanceService(t.app.services.orm, t.app.services.config.balance, t.app.services.log, () => clock, PLANS);
  s.start();
  return s;
};
const sql = <T>(query: string, params: unknown[] = []) => t.app.services.orm.em.fork().execute<T[]>(query, params);

describe('plans and monthly allowances', () => {
  it('switches plan at the next month, grants its allowance once per month, expires it at the month end', async () => {
    const { userId } = await t.signUp();
    let a = service();
    try {
      expect(await a.setPlan(userId, 'pro')).toEqual({ plan: 'free', pendingPlan: 'pro', pendingPlanFrom: '2031-02' });
      expect(await a.snapshot(userId)).toMatchObject({ tokens: 10_000, plan: 'free' });

      clock = Date.UTC(2031, 1, 1, 0, 0, 5);
      const [first, second] = await Promise.all([a.snapshot(userId), a.snapshot(userId)]);
      expect(first).toMatchObject({ tokens: 110_000, plan: 'pro', expiringSoon: { amount: 100_000, expiresAt: new Date(Date.UTC(2031, 2, 1)) } });
      expect(second.tokens).toBe(110_000);
      expect((await a.grants(userId)).map((g) => [g.source, g.remaining, g.expiresAt?.toISOString() ?? null])).toEqual([
        ['ALLOWANCE', 100_000, '2031-03-01T00:00:00.000Z'],
        ['SIGNUP', 10_000, null],
      ]);
      const hold = await a.reserve(userId, 5_000, {});
      await a.settle(hold, { tokens: 4_000, promptTokens: 4_000, completionTokens: 0, costNanoUsd: 0 });
    } finally {
      await a.stop();
    }

    // Another process (or a restart) in the same month finds the allowance granted: not again.
    a = service();
    try {
      expect((await a.snapshot(userId)).tokens).toBe(106_000);
      const allowances = await sql<{ idempotency_key: string }>(`select idempotency_key from token_grants where user_id = ? and source = 'ALLOWANCE'`, [userId]);
      expect(allowances).toEqual([{ idempotency_key: `allowance:${userId}:2031-02` }]);

      // The month ends: what is left of the allowance expires; the next activity grants March's.
      clock = Date.UTC(2031, 2, 1, 0, 0, 1);
      a['sweep']();
      await a.adjust(userId, 0, 'barrier');
      const ledger = await sql<{ kind: string; amount: string }>(`select kind, amount from token_ledger where user_id = ? order by seq desc limit 2`, [userId]);
      expect(ledger.map((r) => [r.kind, Number(r.amount)])).toEqual([
        ['ADJUST', 0],
        ['EXPIRE', -96_000],
      ]);
      expect((await a.snapshot(userId)).tokens).toBe(110_000);
      expect(await a.setPlan(userId, 'free')).toEqual({ plan: 'pro', pendingPlan: 'free', pendingPlanFrom: '2031-04' });
      expect(await a.setPlan(userId, 'pro')).toEqual({ plan: 'pro', pendingPlan: null, pendingPlanFrom: null });
    } finally {
      await a.stop();
    }
  });

  it('lets only admins change plans, to plans that exist', async () => {
    const admin = await t.signUp('plans-root@example.com');
    const user = await t.signUp();
    const SET = 'mutation($u: ID!, $p: String!) { setUserPlan(input: { userId: $u, plan: $p }) { user { id plan } plan pendingPlan pendingPlanFrom } }';
    expect(errorCode(await gql(t.url, SET, { u: user.userId, p: 'free' }, user.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(t.url, SET, { u: user.userId, p: 'pro' }, admin.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, SET, { u: '00000000-0000-4000-8000-000000000000', p: 'free' }, admin.token))).toBe('NOT_FOUND');
    const same = await gql(t.url, SET, { u: user.userId, p: 'free' }, admin.token);
    expect(same.data!.setUserPlan).toEqual({ user: { id: user.userId, plan: 'free' }, plan: 'free', pendingPlan: null, pendingPlanFrom: null });
  });

  it('reads PLANS_JSON: the default keeps today (free, no allowance); bad tables stop the start', () => {
    expect(loadConfig({}).plans).toEqual(DEFAULT_PLANS);
    expect(loadConfig({ PLANS_JSON: '{"free":{"monthlyAllowance":0},"pro":{"monthlyAllowance":100000}}' }).plans).toEqual(PLANS);
    // The built-in free plan is always there (PLANS_JSON overrides it per field), so a table without "free" is fine.
    expect(loadConfig({ PLANS_JSON: '{"pro":{"monthlyAllowance":100000}}' }).plans).toEqual(PLANS);
    for (const bad of ['{"free":{"monthlyAllowance":-1}}', '{"free":{"monthlyAllowance":1.5}}', '{"free":{"allowance":1}}', '{"Free":{"monthlyAllowance":0}}', 'not json']) {
      expect(() => loadConfig({ PLANS_JSON: bad })).toThrow(ConfigError);
    }
  });
});
