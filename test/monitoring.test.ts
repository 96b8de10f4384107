import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import pino from 'pino';
import { DEFAULT_MODEL_ROUTES } from '../src/ai/router';
import { HOOKED_DEFAULT_METRICS, PROM_CLIENT_DEFAULT_METRICS, PULLED_DEFAULT_METRICS, collectProcessMetrics } from '../src/monitoring/process-metrics';
import { errorCode, gql, subscribe, wsClient, type Subscription } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { subscribersReach } from './support/wait';
import { startTestApp, type TestApp } from './support/test-app';

const ALERT_FIELDS = 'id type severity message details createdAt userId';
const CHAT = `mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "go" }) { usage { totalTokens } balance { tokens } } }`;
const GRANT = `mutation($u: ID!, $a: Int!) { grantTokens(input: { userId: $u, amount: $a, reason: "test" }) { balance { tokens } } }`;

let fake: FakeProvider;
let t: TestApp;
let admin: { token: string; userId: string };
/** Usages the fake reports, in order, one per request. */
const usages: Array<{ promptTokens: number; completionTokens: number }> = [];

beforeAll(async () => {
  fake = await startFakeProvider({ usageFor: () => usages.shift() ?? { promptTokens: 10, completionTokens: 1 } });
  t = await startTestApp({
    ADMIN_EMAILS: 'ops@example.com',
    ...openaiEnv(fake),
    LOW_BALANCE_THRESHOLD: '1000',
    HIGH_USAGE_THRESHOLD: '5000',
    SPIKE_FACTOR: '5',
    SPIKE_MIN_TOKENS: '2000',
    SPIKE_MIN_HISTORY_TOKENS: '5000',
    SPIKE_CHECK_INTERVAL_MS: '0',
  });
  admin = await t.signUp('ops@example.com');
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function userWithBrand() {
  const user = await t.signUp();
  const res = await gql(t.url, 'mutation { createBrand(input: { name: "Watched" }) { brand { id } } }', {}, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

/** Runs one chat whose reported usage is `tokens` (prompt tokens - 1 + 1 completion). */
async function spend(user: { token: string; brandId: string }, tokens: number) {
  usages.push({ promptTokens: tokens - 1, completionTokens: 1 });
  const res = await gql(t.url, CHAT, { b: user.brandId }, user.token);
  expect(res.errors).toBeUndefined();
  await t.app.services.alerts.settled();
  return res.data!.chatWithAndora;
}

const alertTypes = (sub: Subscription<any>) => sub.buffered().map((a) => a.tokenAlertRaised.type);
/**
 * Waits (bounded) until `sub` holds at least `count` alerts: alerts.settled() says the server has
 * published them, but their websocket frames reach this client a few event-loop turns later.
 */
const received = (sub: Subscription<any>, count: number) => sub.whenBuffered(count);

describe('alerts', () => {
  let adminClient: ReturnType<typeof wsClient>;
  let everyone: Subscription<any>;
  beforeAll(async () => {
    const before = t.app.services.pubsub.subscriberCount();
    adminClient = wsClient(t.url, admin.token);
    everyone = subscribe(adminClient, `subscription AllTokenAlerts { tokenAlertRaised(allUsers: true) { ${ALERT_FIELDS} } }`);
    await subscribersReach(t.app.services.pubsub, (n) => n === before + 1, "the admin's alert subscription");
  });
  afterAll(async () => {
    everyone.stop();
    await adminClient.dispose();
  });

  it('raises HIGH_USAGE, LOW_BALANCE once per crossing (re-armed above), and NEGATIVE_BALANCE, to the owner and admins only', async () => {
    const owner = await userWithBrand();
    const bystander = await userWithBrand();
    const ownerClient = wsClient(t.url, owner.token);
    const bystanderClient = wsClient(t.url, bystander.token);
    const before = t.app.services.pubsub.subscriberCount();
    const mine = subscribe<any>(ownerClient, `subscription TokenAlertRaised { tokenAlertRaised { ${ALERT_FIELDS} } }`);
    const theirs = subscribe<any>(bystanderClient, `subscription { tokenAlertRaised { ${ALERT_FIELDS} } }`);
    await subscribersReach(t.app.services.pubsub, (n) => n === before + 2, "the owner's and the bystander's alert subscriptions");
    everyone.buffered().length = 0;

    expect((await spend(owner, 8_500)).balance.tokens).toBe(1_500); // HIGH_USAGE only: 1,500 is not below 1,000
    await received(mine, 1);
    expect(alertTypes(mine)).toEqual(['HIGH_USAGE']);
    await spend(owner, 600); // 1,500 → 900: crosses
    await spend(owner, 100); // 900 → 800: already below, nothing
    await received(mine, 2);
    expect(alertTypes(mine)).toEqual(['HIGH_USAGE', 'LOW_BALANCE']);
    await gql(t.url, GRANT, { u: owner.userId, a: 1_000 }, admin.token); // 1,800: re-armed
    await t.app.services.alerts.settled();
    await spend(owner, 900); // 1,800 → 900: crosses again
    await received(mine, 3);
    expect(alertTypes(mine)).toEqual(['HIGH_USAGE', 'LOW_BALANCE', 'LOW_BALANCE']);
    const last = await spend(owner, 2_000); // only 900 left: 900 charged, 1,100 recorded as overage
    expect(last.balance.tokens).toBe(0);
    await received(mine, 4);
    expect(alertTypes(mine)).toEqual(['HIGH_USAGE', 'LOW_BALANCE', 'LOW_BALANCE', 'NEGATIVE_BALANCE']);

    const negative = mine.buffered()[3].tokenAlertRaised;
    expect(negative).toMatchObject({ severity: 'CRITICAL', userId: owner.userId, details: { overage: 1_100 } });
    expect(mine.buffered()[0].tokenAlertRaised).toMatchObject({ severity: 'WARNING', details: { tokens: 8_500 } });
    await received(everyone, 4);
    expect(everyone.buffered().map((a) => [a.tokenAlertRaised.type, a.tokenAlertRaised.userId])).toEqual(
      alertTypes(mine).map((type) => [type, owner.userId]),
    );
    expect(theirs.buffered()).toEqual([]);

    const listed = await gql(t.url, `query TokenAlerts { tokenAlerts { ${ALERT_FIELDS} } }`, {}, owner.token);
    expect(listed.data!.tokenAlerts.map((a: any) => a.type)).toEqual(['NEGATIVE_BALANCE', 'LOW_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE']);
    expect((await gql(t.url, `{ tokenAlerts { id } }`, {}, bystander.token)).data!.tokenAlerts).toEqual([]);
    for (const s of [mine, theirs]) s.stop();
    await ownerClient.dispose();
    await bystanderClient.dispose();
  });

  it('raises SUSPICIOUS_PATTERN for a spike over an established history, not for new users or steady use', async () => {
    const established = await userWithBrand();
    const newcomer = await userWithBrand();
    // 16,700 tokens spread over the past week (about 100 an hour), written as real ledger history.
    const em = t.app.services.orm.em.fork();
    const [grantEntry, chargeEntry, grantId] = [randomUUID(), randomUUID(), randomUUID()];
    await em.execute(
      `insert into token_ledger (id, user_id, kind, amount, balance_after, brand_id, task_type, created_at) values
         (?, ?, 'GRANT', 20000, 30000, null, null, now() - interval '3 days'),
         (?, ?, 'CHARGE', -16700, 13300, ?, 'CHAT', now() - interval '2 days')`,
      [grantEntry, established.userId, chargeEntry, established.userId, established.brandId],
    );
    // With its grant and what the charge burned from it, as the service writes them (issue 14).
    await em.execute(`insert into token_grants (id, user_id, source, amount, remaining, priority, ledger_entry_id) values (?, ?, 'ADMIN', 20000, 3300, 50, ?)`, [
      grantId,
      established.userId,
      grantEntry,
    ]);
    await em.execute(`insert into ledger_grant_burns (ledger_entry_id, grant_id, amount) values (?, ?, 16700)`, [chargeEntry, grantId]);
    await em.execute('update users set tokens = 13300, balance_version = balance_version + 1 where id = ?', [established.userId]);
    everyone.buffered().length = 0;

    await spend(established, 400); // steady: 400 in the last hour is under the 2,000 minimum
    expect(everyone.buffered()).toEqual([]);
    await spend(established, 1_700); // 2,100 in the last hour > 5 × ~100: spike
    await spend(established, 1_000); // flagged already this hour: not again
    await spend(newcomer, 2_500); // a spike, but no history: not flagged
    await spend(newcomer, 1_000);
    await received(everyone, 1);
    const raised = everyone.buffered().map((a) => a.tokenAlertRaised);
    expect(raised.map((a) => [a.type, a.userId])).toEqual([['SUSPICIOUS_PATTERN', established.userId]]);
    expect(raised[0]).toMatchObject({ severity: 'INFO', details: { lastHourTokens: 2_100, factor: 5 } });
  });

  it('refuses everyone-alerts and system stats to non-admins with FORBIDDEN', async () => {
    const user = await t.signUp();
    expect(errorCode(await gql(t.url, '{ systemTokenStats { activeAlerts } }', {}, user.token))).toBe('FORBIDDEN');
    const client = wsClient(t.url, user.token);
    const sub = subscribe<any>(client, `subscription { tokenAlertRaised(allUsers: true) { id } }`);
    await sub.done;
    expect((sub.errors[0] as any).extensions.code).toBe('FORBIDDEN');
    await client.dispose();
  });
});

describe('usage analytics', () => {
  it('equal the ledger, per user and per brand, over windows of days', async () => {
    const user = await t.signUp();
    const brands: string[] = [];
    for (const name of ['One', 'Two']) {
      const res = await gql(t.url, 'mutation($n: String!) { createBrand(input: { name: $n }) { brand { id } } }', { n: name }, user.token);
      brands.push(res.data!.createBrand.brand.id);
    }
    await spend({ token: user.token, brandId: brands[0]! }, 120);
    await spend({ token: user.token, brandId: brands[0]! }, 80);
    await spend({ token: user.token, brandId: brands[1]! }, 55);
    const expand = await gql(t.url, 'mutation($b: ID!) { expandBrief(input: { brandId: $b, brief: "b" }) { usage { totalTokens } } }', { b: brands[1] }, user.token);
    const expandTokens = expand.data!.expandBrief.usage.totalTokens;

    const ledger = await gql(t.url, '{ tokenLedger(first: 100) { edges { node { kind amount } } } }', {}, user.token);
    const charged = ledger.data!.tokenLedger.edges.filter((e: any) => e.node.kind === 'CHARGE').reduce((s: number, e: any) => s - e.node.amount, 0);
    const usage = await gql(t.url, 'query TokenUsage($days: Int) { tokenUsage(days: $days) { totalTokens avgPerDay byTaskType { taskType tokens } byDate { date tokens } } }', { days: 7 }, user.token);
    const view = usage.data!.tokenUsage;
    expect(view.totalTokens).toBe(charged);
    expect(view.totalTokens).toBe(255 + expandTokens);
    expect(view.avgPerDay).toBeCloseTo(charged / 7);
    expect(view.byDate).toHaveLength(7);
    expect(view.byDate.at(-1)).toEqual({ date: new Date().toISOString().slice(0, 10), tokens: charged });
    expect(view.byDate.slice(0, 6).every((d: any) => d.tokens === 0)).toBe(true);
    expect(view.byTaskType).toEqual(expect.arrayContaining([{ taskType: 'CHAT', tokens: 255 }, { taskType: 'EXPAND_BRIEF', tokens: expandTokens }]));

    const me = await gql(t.url, 'query Me { me { id email role plan balance { tokens reserved available plan } brands { id name tokenUsage(days: 7) { totalTokens } } } }', {}, user.token);
    expect(me.data!.me.brands.map((b: any) => b.tokenUsage.totalTokens)).toEqual([200, 55 + expandTokens]);
    for (const days of [0, 367]) {
      expect(errorCode(await gql(t.url, 'query($d: Int) { tokenUsage(days: $d) { totalTokens } }', { d: days }, user.token))).toBe('BAD_USER_INPUT');
    }
  });

  it('loads every brand\'s usage with the same number of SQL queries, however many brands', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const counted = await startTestApp({}, undefined, { log: pino({ level: 'debug' }, sink) });
    try {
      const queriesFor = async (brandCount: number) => {
        const user = await counted.signUp();
        for (let i = 0; i < brandCount; i++) await gql(counted.url, `mutation { createBrand(input: { name: "B${i}" }) { brand { id } } }`, {}, user.token);
        await gql(counted.url, '{ tokenBalance { tokens } }', {}, user.token); // load the balance first
        lines.length = 0;
        const res = await gql(counted.url, '{ me { brands { name tokenUsage(days: 7) { totalTokens } } } }', {}, user.token);
        expect(res.data!.me.brands).toHaveLength(brandCount);
        return lines.filter((l) => l.includes('"orm"') && /select/i.test(l)).length;
      };
      const one = await queriesFor(1);
      const twelve = await queriesFor(12);
      expect(one).toBeGreaterThan(0);
      expect(twelve).toBe(one);
    } finally {
      await counted.close();
    }
  });
});

describe('system stats and metrics', () => {
  it('aggregates the whole system for admins', async () => {
    const stats = await gql(t.url, 'query SystemTokenStats { systemTokenStats { totalUsersWithTokens avgBalancePerUser totalTokensUsedToday lowBalanceUsers activeAlerts } }', {}, admin.token);
    const [row] = await t.app.services.orm.em.fork().execute<any[]>(
      `select (select count(*) from users where tokens > 0) as w, (select avg(tokens) from users) as a,
              (select count(*) from users where tokens < 1000) as l, (select count(*) from token_alerts) as n,
              (select coalesce(-sum(amount), 0) from token_ledger where kind = 'CHARGE' and created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc') as used`,
    );
    expect(stats.data!.systemTokenStats).toEqual({
      totalUsersWithTokens: Number(row.w),
      avgBalancePerUser: Number(row.a),
      totalTokensUsedToday: Number(row.used),
      lowBalanceUsers: Number(row.l),
      activeAlerts: Number(row.n),
    });
    expect(stats.data!.systemTokenStats.activeAlerts).toBeGreaterThanOrEqual(5);
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(t.url.replace('/graphql', '/metrics'));
    const text = await res.text();
    expect(res.status).toBe(200);
    const charged = `andora_tokens_charged_total{task="CHAT",model="${DEFAULT_MODEL_ROUTES.cheap.openai}"} `;
    expect(text.split('\n').some((line) => line.startsWith(charged) && /^\d+$/.test(line.slice(charged.length)))).toBe(true);
    expect(text).toMatch(/andora_alerts_raised_total\{type="LOW_BALANCE"\} 2/);
    expect(text).toMatch(/andora_refusals_total\{code="FORBIDDEN"\} [1-9]/);
    expect(text).toMatch(/andora_flush_batch_entries_count [1-9]/);
    for (const name of ['andora_reservations_in_flight', 'andora_live_actors', 'andora_journal_depth', 'andora_websocket_subscriptions', 'andora_provider_request_seconds_bucket']) {
      expect(text).toContain(name);
    }
  });
});

describe('process metrics', () => {
  it('are every one of prom-client\u2019s default metrics, under its names', async () => {
    expect([...PULLED_DEFAULT_METRICS, ...HOOKED_DEFAULT_METRICS].sort()).toEqual([...PROM_CLIENT_DEFAULT_METRICS].sort());
    const names = PROM_CLIENT_DEFAULT_METRICS.flatMap((metric) => (require(`prom-client/lib/metrics/${metric}`) as { metricNames: string[] }).metricNames);
    const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
    const served = new Set(text.split('\n').filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]));
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(served).toContain(`andora_${name}`);
  });

  it('leave nothing behind once stopped: no monitor or observer keeps their registry, or where they started, alive', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const context = new AsyncLocalStorage<object>();
    const collected = async (stop: boolean) => {
      // Nothing here holds the registry, the metrics or the context's store once this returns: only what they started can.
      const [registry, store] = ((): [WeakRef<Registry>, WeakRef<object>] => {
        const where = { started: 'here' };
        const registry = new Registry();
        const metrics = context.run(where, () => collectProcessMetrics(registry, 'probe_'));
        if (stop) metrics.stop();
        return [new WeakRef(registry), new WeakRef(where)];
      })();
      for (let i = 0; i < 3; i++) {
        await new Promise((done) => setImmediate(done));
        gc();
      }
      return { registry: registry.deref() === undefined, store: store.deref() === undefined };
    };
    // Without stop() the GC observer still holds the registry, and through it the event-loop monitor
    // and the store it was started in: what collectDefaultMetrics did to every closed app
    // (under jest, the store held the test file's whole module registry).
    expect(await collected(false)).toEqual({ registry: false, store: false });
    expect(await collected(true)).toEqual({ registry: true, store: true });
  });
});
