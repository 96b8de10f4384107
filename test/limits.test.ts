import http from 'node:http';
import { verifyBrandUsage } from '../src/balance/ledger';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { errorCode, gql, wsClient, wsOnce, type GraphQLResponse } from './support/graphql-client';
import { killAllServers, runVerifyCli, serverProcessEnv, startServerProcess, type ServerProcess } from './support/server-process';
import { createTestDatabase, startTestApp, type TestApp } from './support/test-app';
import { Arrivals, deferred, within } from './support/wait';

/**
 * Issue 15 through the real server (HTTP and the websocket, the OpenAI SDK at a fake vendor): brand
 * quotas and per-minute rate limits are exact under concurrency, because they are checked and taken
 * in the balance actor's one synchronous reservation step. The per-minute windows are driven by the
 * app's clock (bootstrap's `now`), never by waiting.
 */

const CHAT = `mutation($brandId: ID!, $message: String!) {
  chatWithAndora(input: { brandId: $brandId, message: $message }) { reply usage { totalTokens } balance { tokens reserved available } } }`;
const SET_QUOTA = `mutation SetBrandQuota($brandId: ID!, $monthlyTokens: Int) {
  setBrandQuota(input: { brandId: $brandId, monthlyTokens: $monthlyTokens }) {
    brand { id quota { monthlyTokens used reserved remaining resetsAt } } } }`;
const QUOTA = `query($id: ID!) { brand(id: $id) { quota { monthlyTokens used reserved remaining resetsAt } } }`;
const MY_LIMITS = `query MyLimits { me { rateLimits { name limit remaining resetsAt } brands { id name quota { monthlyTokens used remaining resetsAt } } } }`;
const ALERTS = `{ tokenAlerts { type severity details } }`;
const SIGNUP_TOKENS = 1_000_000;
/** Every wait below is for work that takes milliseconds; this only stops a hang. */
const BACKSTOP_MS = 60_000;

/** The start of next month, UTC: when a quota's usage starts again. */
function nextMonthIso(nowMs: number): string {
  const d = new Date(nowMs);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString();
}

async function userWithBrand(t: TestApp) {
  const user = await t.signUp();
  const res = await gql(t.url, 'mutation { createBrand(input: { name: "Acme", industry: "shoes" }) { brand { id } } }', {}, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

/** The hold one chat takes: a quota of 1 token refuses it and says what it required. */
async function holdOfOneChat(t: TestApp, token: string, brandId: string, requestsBefore: number, fake: FakeProvider): Promise<number> {
  expect((await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: 1 }, token)).errors).toBeUndefined();
  const refused = await gql(t.url, CHAT, { brandId, message: 'go' }, token);
  expect(errorCode(refused)).toBe('QUOTA_EXCEEDED');
  expect(fake.requests).toHaveLength(requestsBefore);
  return refused.errors![0]!.extensions!.required as number;
}

/**
 * POSTs over `agent`: many requests at once over a bounded number of sockets (opening 500 sockets at
 * once overflowed the listen backlog on the loaded test machine: ECONNRESET).
 */
function postOver(agent: http.Agent, url: string, query: string, variables: Record<string, unknown>, token: string): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
        resolve({ status: res.statusCode!, headers, ...(JSON.parse(Buffer.concat(chunks).toString()) as object) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ query, variables }));
  });
}

async function brandCharges(t: TestApp, brandId: string): Promise<number> {
  const [row] = await t.app.services.orm.em
    .fork()
    .execute<Array<{ charged: string }>>(`select coalesce(sum(-amount), 0) as charged from token_ledger where brand_id = ? and kind = 'CHARGE'`, [brandId]);
  return Number(row!.charged);
}

describe('brand quotas', () => {
  let fake: FakeProvider;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeProvider();
    t = await startTestApp({
      ...openaiEnv(fake),
      SIGNUP_GRANT_TOKENS: String(SIGNUP_TOKENS),
      ADMIN_EMAILS: 'quota-admin@example.com',
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setBehavior({});
    fake.requests.length = 0;
  });

  it('admits exactly the calls a quota of three and a half holds covers out of 200 at once, and charges within it', async () => {
    const { token, brandId } = await userWithBrand(t);
    const hold = await holdOfOneChat(t, token, brandId, 0, fake);
    const quota = 3 * hold + Math.floor(hold / 2);
    const set = await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: quota }, token);
    expect(set.data!.setBrandQuota.brand.quota).toEqual({ monthlyTokens: quota, used: 0, reserved: 0, remaining: quota, resetsAt: nextMonthIso(Date.now()) });

    // The vendor answers nothing until every request has been decided, so no settle frees room early.
    const gate = deferred();
    const usage = { promptTokens: 30, completionTokens: 7 };
    fake.setBehavior({ gate: gate.promise, usageFor: () => usage });
    const answered = new Arrivals<GraphQLResponse>(200);
    const calls = Array.from({ length: 200 }, () =>
      gql(t.url, CHAT, { brandId, message: 'go' }, token).then((res) => {
        answered.push(res);
        return res;
      }),
    );
    await answered.waitFor((all) => all.length === 197, BACKSTOP_MS, '197 refusals');
    expect(fake.requests).toHaveLength(3);
    const during = await gql(t.url, QUOTA, { id: brandId }, token);
    expect(during.data!.brand.quota).toMatchObject({ used: 0, reserved: 3 * hold, remaining: quota - 3 * hold });
    gate.resolve();
    const results = await within(Promise.all(calls), BACKSTOP_MS, 'the three admitted calls');

    const ok = results.filter((r) => !r.errors);
    const refused = results.filter((r) => errorCode(r) === 'QUOTA_EXCEEDED');
    expect(ok).toHaveLength(3);
    expect(refused).toHaveLength(197);
    for (const r of refused) {
      expect(r.errors![0]!.extensions).toEqual({ code: 'QUOTA_EXCEEDED', brandId, remaining: quota - 3 * hold, required: hold, resetsAt: nextMonthIso(Date.now()) });
    }
    const charged = 3 * (usage.promptTokens + usage.completionTokens);
    expect(await brandCharges(t, brandId)).toBe(charged);
    const after = await gql(t.url, QUOTA, { id: brandId }, token);
    expect(after.data!.brand.quota).toEqual({ monthlyTokens: quota, used: charged, reserved: 0, remaining: quota - charged, resetsAt: nextMonthIso(Date.now()) });
    expect((await gql(t.url, '{ tokenBalance { tokens reserved } }', {}, token)).data!.tokenBalance).toEqual({ tokens: SIGNUP_TOKENS - charged, reserved: 0 });
    expect((await verifyBrandUsage(t.app.services.orm)).mismatches).toEqual([]);
  }, 180_000);

  it('caps usage above the hold at the quota, then refuses; warns at 80% and alerts the refusal once per month', async () => {
    const { token, brandId } = await userWithBrand(t);
    const hold = await holdOfOneChat(t, token, brandId, 0, fake);
    const quota = hold + 10;
    await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: quota }, token);
    // The vendor reports far more than the hold: the balance could pay, the quota caps it.
    fake.setBehavior({ usageFor: () => ({ promptTokens: hold, completionTokens: 1_000 }) });
    const first = await gql(t.url, CHAT, { brandId, message: 'go' }, token);
    expect(first.errors).toBeUndefined();
    expect(first.data!.chatWithAndora.balance.tokens).toBe(SIGNUP_TOKENS - quota);
    const [entry] = await t.app.services.orm.em.fork().execute<Array<{ amount: string; metadata: Record<string, unknown> }>>(
      `select amount, metadata from token_ledger where brand_id = ? and kind = 'CHARGE'`,
      [brandId],
    );
    expect({ amount: Number(entry!.amount), metadata: entry!.metadata }).toEqual({ amount: -quota, metadata: { held: hold, quotaOverage: hold + 1_000 - quota } });

    for (let i = 0; i < 2; i++) {
      const refused = await gql(t.url, CHAT, { brandId, message: 'go' }, token);
      expect(refused.errors![0]!.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', remaining: 0, required: hold });
    }
    expect(fake.requests).toHaveLength(1);
    await t.app.services.alerts.settled();
    const alerts = (await gql(t.url, ALERTS, {}, token)).data!.tokenAlerts as Array<{ type: string; severity: string; details: Record<string, unknown> }>;
    const quotaAlerts = alerts.filter((a) => a.type.startsWith('QUOTA_'));
    expect(quotaAlerts.map((a) => [a.type, a.severity]).sort()).toEqual([
      ['QUOTA_EXCEEDED', 'CRITICAL'],
      ['QUOTA_WARNING', 'WARNING'],
    ]);
    // The refusal alert came with the first refusal of the month (the probe, under a quota of 1).
    expect(quotaAlerts.find((a) => a.type === 'QUOTA_WARNING')!.details).toMatchObject({ brandId, monthlyTokens: quota, used: quota });
    expect(quotaAlerts.find((a) => a.type === 'QUOTA_EXCEEDED')!.details).toMatchObject({ brandId, monthlyTokens: 1, used: 0, required: hold });

    // Raising the quota lets the brand go on; removing it shows null.
    await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: quota + hold }, token);
    fake.setBehavior({});
    expect((await gql(t.url, CHAT, { brandId, message: 'go' }, token)).errors).toBeUndefined();
    const removed = await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: null }, token);
    expect(removed.data!.setBrandQuota.brand.quota).toBeNull();
    expect((await verifyBrandUsage(t.app.services.orm)).mismatches).toEqual([]);
  });

  it('lets the owner or an admin set a quota, nobody else, and refuses bad amounts without a change', async () => {
    const owner = await userWithBrand(t);
    const stranger = await t.signUp();
    const admin = await t.signUp('quota-admin@example.com');
    const other = await gql(t.url, SET_QUOTA, { brandId: owner.brandId, monthlyTokens: 5 }, stranger.token);
    expect(errorCode(other)).toBe('NOT_FOUND');
    for (const bad of [-1, 1.5, 2_147_483_648]) {
      const res = await gql(t.url, SET_QUOTA, { brandId: owner.brandId, monthlyTokens: bad }, owner.token);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
    }
    expect(errorCode(await gql(t.url, SET_QUOTA, { brandId: 'not-a-uuid', monthlyTokens: 5 }, owner.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, SET_QUOTA, { brandId: owner.brandId, monthlyTokens: 5 }))).toBe('UNAUTHENTICATED');
    expect((await gql(t.url, QUOTA, { id: owner.brandId }, owner.token)).data!.brand.quota).toBeNull();

    const byAdmin = await gql(t.url, SET_QUOTA, { brandId: owner.brandId, monthlyTokens: 5_000 }, admin.token);
    expect(byAdmin.data!.setBrandQuota.brand.quota).toMatchObject({ monthlyTokens: 5_000, used: 0 });
    const mine = await gql(t.url, MY_LIMITS, {}, owner.token);
    expect(mine.data!.me.brands).toEqual([{ id: owner.brandId, name: 'Acme', quota: { monthlyTokens: 5_000, used: 0, remaining: 5_000, resetsAt: nextMonthIso(Date.now()) } }]);
    const theirs = await gql(t.url, `query($id: ID!) { brand(id: $id) { id } }`, { id: owner.brandId }, admin.token);
    expect(errorCode(theirs)).toBe('NOT_FOUND');
  });

  it('refuses a flow its brand quota cannot cover before any step runs', async () => {
    const { token, brandId } = await userWithBrand(t);
    await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: 2_000 }, token);
    const res = await gql(t.url, `mutation($b: ID!) { startCalendarBatchFlow(input: { brandId: $b, month: "2027-01" }) { flowRun { id } } }`, { b: brandId }, token);
    expect(errorCode(res)).toBe('QUOTA_EXCEEDED');
    expect(res.errors![0]!.extensions).toMatchObject({ brandId, remaining: 2_000 });
    expect(res.errors![0]!.extensions!.required).toBeGreaterThan(2_000);
    expect(fake.requests).toHaveLength(0);
  });

  it('keeps a brand\u2019s monthly usage across a restart: it is loaded from committed charges', async () => {
    const { token, brandId } = await userWithBrand(t);
    await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: 100_000 }, token);
    for (let i = 0; i < 3; i++) expect((await gql(t.url, CHAT, { brandId, message: 'go' }, token)).errors).toBeUndefined();
    const before = (await gql(t.url, QUOTA, { id: brandId }, token)).data!.brand.quota;
    expect(before.used).toBe(await brandCharges(t, brandId));
    expect(before.used).toBeGreaterThan(0);

    await t.app.close();
    t = await startTestApp({ ...t.env }, t.db);
    const after = await gql(t.url, QUOTA, { id: brandId }, token);
    expect(after.data!.brand.quota).toEqual(before);
  });
});

describe('per-minute rate limits', () => {
  let fake: FakeProvider;
  let t: TestApp;
  /** The app's clock: fixed, moved by the tests. */
  let clock = Date.now();
  /** An app of its own (its own database) with this plan table, on the shared clock. */
  const appWithPlans = (plans: Record<string, Record<string, number>>) =>
    startTestApp(
      {
        ...openaiEnv(fake),
        SIGNUP_GRANT_TOKENS: String(SIGNUP_TOKENS),
        PLANS_JSON: JSON.stringify(plans),
      },
      undefined,
      { now: () => clock },
    );
  beforeAll(async () => {
    fake = await startFakeProvider();
    t = await appWithPlans({ free: { requestsPerMinute: 60, brandRequestsPerMinute: 60 } });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('admits exactly 60 of 500 simultaneous requests in the window, with Retry-After; one succeeds after retryAfterMs', async () => {
    const { token, brandId } = await userWithBrand(t);
    fake.requests.length = 0;
    // 500 requests in flight at once over 100 sockets: up to 100 interleave in the server at a time,
    // all on the same (fixed) clock instant, so all fall in one window.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    const results = await Promise.all(Array.from({ length: 500 }, () => postOver(agent, t.url, CHAT, { brandId, message: 'go' }, token))).finally(() => agent.destroy());
    const ok = results.filter((r) => !r.errors);
    const limited = results.filter((r) => errorCode(r) === 'RATE_LIMITED');
    expect(ok).toHaveLength(60);
    expect(limited).toHaveLength(440);
    expect(fake.requests).toHaveLength(60);
    const waits = new Set(limited.map((r) => r.errors![0]!.extensions!.retryAfterMs as number));
    // The clock stood still: every refusal names the same wait.
    expect(waits.size).toBe(1);
    const retryAfterMs = [...waits][0]!;
    expect(retryAfterMs).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', limit: 'REQUESTS_PER_MINUTE', retryAfterMs });
      expect(r.status).toBe(429);
      expect(r.headers!.get('retry-after')).toBe(String(Math.ceil(retryAfterMs / 1_000)));
    }

    const limits = await gql(t.url, MY_LIMITS, {}, token);
    expect(limits.data!.me.rateLimits).toContainEqual({ name: 'REQUESTS_PER_MINUTE', limit: 60, remaining: 0, resetsAt: expect.any(String) });

    // The websocket refuses the same way.
    const client = wsClient(t.url, token);
    try {
      const overWs = await wsOnce(client, CHAT, { brandId, message: 'go' });
      expect(overWs.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', limit: 'REQUESTS_PER_MINUTE', retryAfterMs });
    } finally {
      await client.dispose();
    }

    clock += retryAfterMs - 1;
    expect(errorCode(await gql(t.url, CHAT, { brandId, message: 'go' }, token))).toBe('RATE_LIMITED');
    clock += 1;
    expect((await gql(t.url, CHAT, { brandId, message: 'go' }, token)).errors).toBeUndefined();
    expect(fake.requests).toHaveLength(61);
    // 500 generations over HTTP on a shared 2-core machine: about 25 s measured under load.
  }, 180_000);

  it('limits requests per brand and counts a user\u2019s other brands apart', async () => {
    const tight = await appWithPlans({ free: { requestsPerMinute: 100, brandRequestsPerMinute: 3 } });
    try {
      const { token, brandId } = await userWithBrand(tight);
      const second = await gql(tight.url, 'mutation { createBrand(input: { name: "Second" }) { brand { id } } }', {}, token);
      const otherBrand = second.data!.createBrand.brand.id as string;
      const results = await Promise.all(Array.from({ length: 10 }, () => gql(tight.url, CHAT, { brandId, message: 'go' }, token)));
      expect(results.filter((r) => !r.errors)).toHaveLength(3);
      expect(results.filter((r) => r.errors?.[0]?.extensions?.limit === 'BRAND_REQUESTS_PER_MINUTE')).toHaveLength(7);
      expect((await gql(tight.url, CHAT, { brandId: otherBrand, message: 'go' }, token)).errors).toBeUndefined();
    } finally {
      await tight.close();
    }
    // An app of its own: about 10 s to start under load on the local PostgreSQL.
  }, 180_000);

  it('counts tokens per minute by the hold, corrected to the charge at settle', async () => {
    const { token, brandId } = await userWithBrand(t);
    clock += 10 * 60_000;
    // A hold of the chat is about 1,000 tokens here; measure it through a quota refusal first.
    await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: 1 }, token);
    const probe = await gql(t.url, CHAT, { brandId, message: 'go' }, token);
    const hold = probe.errors![0]!.extensions!.required as number;
    await gql(t.url, SET_QUOTA, { brandId, monthlyTokens: null }, token);
    const tpm = await appWithPlans({ free: { tokensPerMinute: 2 * hold + Math.floor(hold / 2) } });
    try {
      const user = await userWithBrand(tpm);
      const gate = deferred();
      fake.setBehavior({ gate: gate.promise, usageFor: () => ({ promptTokens: 10, completionTokens: 5 }) });
      const requestsBefore = fake.requests.length;
      const admitted = [gql(tpm.url, CHAT, { brandId: user.brandId, message: 'go' }, user.token), gql(tpm.url, CHAT, { brandId: user.brandId, message: 'go' }, user.token)];
      await within(fake.waitForRequests(requestsBefore + 2), BACKSTOP_MS, 'two admitted calls at the vendor');
      const third = await gql(tpm.url, CHAT, { brandId: user.brandId, message: 'go' }, user.token);
      expect(third.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'TOKENS_PER_MINUTE' });
      gate.resolve();
      for (const r of await Promise.all(admitted)) expect(r.errors).toBeUndefined();
      fake.setBehavior({});
      // Settled at 15 tokens each, the holds' rest is back in the window: a third call fits now.
      expect((await gql(tpm.url, CHAT, { brandId: user.brandId, message: 'go' }, user.token)).errors).toBeUndefined();
      const limits = (await gql(tpm.url, MY_LIMITS, {}, user.token)).data!.me.rateLimits as Array<{ name: string; limit: number; remaining: number }>;
      expect(limits.find((l) => l.name === 'TOKENS_PER_MINUTE')).toMatchObject({ limit: 2 * hold + Math.floor(hold / 2) });
      expect(limits.find((l) => l.name === 'CONCURRENT_GENERATIONS')).toMatchObject({ limit: 1_000, remaining: 1_000 });
    } finally {
      await tpm.close();
    }
  }, 180_000);
});

describe('kill -9 keeps a brand\u2019s monthly usage', () => {
  afterAll(() => killAllServers());

  it('loads the brand\u2019s used from committed charges after SIGKILL under load, and ledger:verify agrees', async () => {
    const db = await createTestDatabase();
    const env = serverProcessEnv(db, 'kill9-quota-admin@example.com');
    try {
      let server: ServerProcess = await startServerProcess(env);
      const signUp = await gql(server.url, 'mutation { signUp(input: { email: "kill9-quota@example.com", password: "correct horse battery" }) { token } }');
      const token = signUp.data!.signUp.token as string;
      const brand = await gql(server.url, 'mutation { createBrand(input: { name: "Acme" }) { brand { id } } }', {}, token);
      const brandId = brand.data!.createBrand.brand.id as string;
      expect((await gql(server.url, SET_QUOTA, { brandId, monthlyTokens: 1_000_000 }, token)).errors).toBeUndefined();

      // Four workers chat (offline provider) until the server is killed; 20 acknowledged charges first.
      let killed = false;
      const acked: number[] = [];
      const enough = deferred();
      const worker = async () => {
        while (!killed) {
          const res = await gql(server.url, CHAT, { brandId, message: 'go' }, token).catch(() => null);
          if (!res || res.errors) continue;
          acked.push(res.data!.chatWithAndora.usage.totalTokens as number);
          if (acked.length === 20) enough.resolve();
        }
      };
      const workers = Promise.all(Array.from({ length: 4 }, worker));
      await within(enough.promise, BACKSTOP_MS, '20 acknowledged chats');
      killed = true;
      expect((await within(server.kill('SIGKILL'), 10_000, 'the killed server to exit')).signal).toBe('SIGKILL');
      await within(workers, BACKSTOP_MS, 'the workers to stop');

      server = await startServerProcess(env);
      const quota = (await gql(server.url, QUOTA, { id: brandId }, token)).data!.brand.quota;
      const ledger = await gql(server.url, '{ tokenLedger(first: 100) { edges { node { kind amount brandId } } } }', {}, token);
      const charges = (ledger.data!.tokenLedger.edges as Array<{ node: { kind: string; amount: number; brandId: string | null } }>)
        .filter((e) => e.node.kind === 'CHARGE' && e.node.brandId === brandId)
        .reduce((sum, e) => sum - e.node.amount, 0);
      // Every acknowledged charge is there (and perhaps some committed but not acknowledged before the kill).
      expect(charges).toBeGreaterThanOrEqual(acked.reduce((a, b) => a + b, 0));
      expect(quota).toMatchObject({ monthlyTokens: 1_000_000, used: charges, reserved: 0, remaining: 1_000_000 - charges });
      await server.kill('SIGTERM');

      const verify = await runVerifyCli(env);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toContain('brand usage OK');
    } finally {
      await killAllServers();
      await db.drop();
    }
    // Two server starts (the embedded database's open is the slow part) and a ledger check.
  }, 240_000);
});
