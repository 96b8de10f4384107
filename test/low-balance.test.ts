import pino from 'pino';
import type { JournalEntry } from '../src/balance/actor';
import { AlertService } from '../src/monitoring/alerts';
import { gql, subscribe, wsClient, type Subscription } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { subscribersReach } from './support/wait';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * LOW_BALANCE is a state: raised once while the balance is below the threshold, resolved by a change
 * that lifts it to the threshold or above, raised again when it falls again; kept across restarts.
 */

const ALERTS = `{ tokenAlerts { id type userId createdAt resolvedAt details } }`;
const CHAT = `mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "go" }) { balance { tokens } } }`;
const GRANT = `mutation($u: ID!, $a: Int!) { grantTokens(input: { userId: $u, amount: $a, reason: "top up" }) { balance { tokens } } }`;

let fake: FakeProvider;
let t: TestApp;
let admin: { token: string; userId: string };
const usages: number[] = [];

/** A new account starts with 500 tokens, below the 1,000 threshold. */
function appEnv(): Record<string, string> {
  return {
    ADMIN_EMAILS: 'lows@example.com',
    ...openaiEnv(fake),
    SIGNUP_GRANT_TOKENS: '500',
    LOW_BALANCE_THRESHOLD: '1000',
  };
}

beforeAll(async () => {
  fake = await startFakeProvider({ usageFor: () => ({ promptTokens: (usages.shift() ?? 11) - 1, completionTokens: 1 }) });
  t = await startTestApp(appEnv());
  admin = await t.signUp('lows@example.com');
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function userWithBrand(app: TestApp = t) {
  const user = await app.signUp();
  const res = await gql(app.url, 'mutation { createBrand(input: { name: "Thrifty" }) { brand { id } } }', {}, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

/** One chat charged `tokens`; returns the balance after it, once its alerts have been evaluated. */
async function spend(app: TestApp, user: { token: string; brandId: string }, tokens: number): Promise<number> {
  usages.push(tokens);
  const res = await gql(app.url, CHAT, { b: user.brandId }, user.token);
  expect(res.errors).toBeUndefined();
  await app.app.services.alerts.settled();
  return res.data!.chatWithAndora.balance.tokens;
}

async function grant(app: TestApp, userId: string, amount: number): Promise<number> {
  const res = await gql(app.url, GRANT, { u: userId, a: amount }, admin.token);
  expect(res.errors).toBeUndefined();
  await app.app.services.alerts.settled();
  return res.data!.grantTokens.balance.tokens;
}

async function lowAlerts(app: TestApp, token: string): Promise<any[]> {
  const res = await gql(app.url, ALERTS, {}, token);
  return res.data!.tokenAlerts.filter((a: any) => a.type === 'LOW_BALANCE');
}

/** Waits until the subscription holds `count` alerts: published frames arrive a few turns later. */
const received = (sub: Subscription<any>, count: number) => sub.whenBuffered(count);

describe('LOW_BALANCE as a state', () => {
  it('is raised for an account that starts below the threshold, once while it stays below, resolved by a grant and raised again', async () => {
    const user = await userWithBrand();
    const client = wsClient(t.url, user.token);
    const subscribers = t.app.services.pubsub.subscriberCount();
    const raised = subscribe<any>(client, 'subscription { tokenAlertRaised { type resolvedAt } }');
    await subscribersReach(t.app.services.pubsub, (n) => n > subscribers, 'the alert subscription');
    expect(await lowAlerts(t, user.token)).toEqual([]);

    expect(await spend(t, user, 10)).toBe(490);
    const [first] = await lowAlerts(t, user.token);
    expect(first).toMatchObject({ userId: user.userId, resolvedAt: null, details: { threshold: 1_000, balance: 490 } });

    // Staying below raises nothing more, a grant that leaves it below neither.
    await spend(t, user, 10);
    await grant(t, user.userId, 100);
    await spend(t, user, 10);
    expect((await lowAlerts(t, user.token)).map((a) => a.id)).toEqual([first.id]);

    // A grant that lifts it to the threshold resolves it.
    expect(await grant(t, user.userId, 430)).toBe(1_000);
    const [resolved] = await lowAlerts(t, user.token);
    expect(resolved).toMatchObject({ id: first.id, resolvedAt: expect.any(String) });
    await spend(t, user, 1); // 999: below again
    const again = await lowAlerts(t, user.token);
    expect(again).toHaveLength(2);
    expect(again[0]).toMatchObject({ resolvedAt: null, details: { balance: 999 } });
    expect(again[1]).toMatchObject({ id: first.id, resolvedAt: expect.any(String) });

    await received(raised, 2);
    expect(raised.buffered().map((e) => e.tokenAlertRaised)).toEqual([
      { type: 'LOW_BALANCE', resolvedAt: null },
      { type: 'LOW_BALANCE', resolvedAt: null },
    ]);
    raised.stop();
    await client.dispose();
  });

  it('keeps an unresolved low-balance alert past the retention window, deleting the other old alerts', async () => {
    const user = await userWithBrand();
    await spend(t, user, 10);
    const { orm, alerts } = t.app.services;
    await alerts.raise(user.userId, 'HIGH_USAGE', 'WARNING', 'old news', {});
    await orm.em.fork().execute(`update token_alerts set created_at = now() - interval '30 days' where user_id = ?`, [user.userId]);
    await alerts.deleteExpired();
    const left = (await gql(t.url, ALERTS, {}, user.token)).data!.tokenAlerts;
    expect(left.map((a: any) => [a.type, a.resolvedAt])).toEqual([['LOW_BALANCE', null]]);
    // Resolved, it ages out like any other.
    await grant(t, user.userId, 1_000);
    await orm.em.fork().execute(`update token_alerts set created_at = now() - interval '30 days' where user_id = ?`, [user.userId]);
    await alerts.deleteExpired();
    expect((await gql(t.url, ALERTS, {}, user.token)).data!.tokenAlerts).toEqual([]);
  });

  it('keeps the state across a restart', async () => {
    const own = await startTestApp(appEnv());
    try {
      const user = await userWithBrand(own);
      await spend(own, user, 10);
      expect(await lowAlerts(own, user.token)).toHaveLength(1);
      await own.close({ drop: false });
      Object.assign(own, await startTestApp(own.env, own.db));
      await spend(own, user, 10);
      const alerts = await lowAlerts(own, user.token);
      expect(alerts).toHaveLength(1);
      expect(alerts[0].resolvedAt).toBeNull();
    } finally {
      await own.close();
    }
  });

  it('raises it once per user when two processes evaluate the same change', async () => {
    const user = await userWithBrand();
    const { orm, pubsub, config } = t.app.services;
    const entry = { id: 'e1', actor: { userId: user.userId }, kind: 'CHARGE', amount: -10, balanceAfter: 490, taskType: 'CHAT', metadata: {} } as unknown as JournalEntry;
    const processes = [new AlertService(orm, pubsub, config.monitoring, pino({ level: 'silent' })), new AlertService(orm, pubsub, config.monitoring, pino({ level: 'silent' }))];
    for (const alerts of processes) alerts.onCommitted(entry);
    await Promise.all(processes.map((alerts) => alerts.settled()));
    expect(await lowAlerts(t, user.token)).toHaveLength(1);
  });
});
