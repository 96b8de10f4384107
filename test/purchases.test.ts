import { verifyLedger, verifyPurchases } from '../src/balance/ledger';
import { LIMITS } from '../src/config';
import { refundedShare } from '../src/purchases/service';

import { deliver, FAKE_WEBHOOK_SECRET, startFakeStripe, webhookUrlOf, type FakeStripe } from './support/fake-stripe';
import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { startPgProxy, type PgProxy } from './support/pg-proxy';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Token packages bought through Stripe Checkout, against the real `stripe` SDK and a fake Stripe on
 * a real socket (test/support/fake-stripe.ts), with webhooks signed as Stripe signs them. Runs on the
 * embedded database, and on a PostgreSQL server with TEST_DATABASE_URL.
 */

const ADMIN_EMAIL = 'purchases-admin@example.com';
const UPSERT = `mutation($input: UpsertTokenPackageInput!) { upsertTokenPackage(input: $input) { package { id name tokens priceCents currency active } } }`;
const PACKAGES = 'query TokenPackages { tokenPackages { id name tokens priceCents currency } }';
const PURCHASE = `mutation PurchaseTokenPackage($packageId: ID!, $successUrl: String!, $cancelUrl: String!, $idempotencyKey: String) {
  purchaseTokenPackage(input: { packageId: $packageId, successUrl: $successUrl, cancelUrl: $cancelUrl, idempotencyKey: $idempotencyKey }) {
    checkoutUrl
    purchase { id status }
  }
}`;
const PURCHASES = `query TokenPurchases($first: Int, $after: String) {
  tokenPurchases(first: $first, after: $after) {
    edges { node { id status tokens amountCents currency createdAt completedAt refundedCents revokedTokens deficitTokens } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const BALANCE = 'query { tokenBalance { tokens reserved available } }';
const URLS = { successUrl: 'https://app.example.com/buy/ok?session={CHECKOUT_SESSION_ID}', cancelUrl: 'https://app.example.com/buy/cancel' };
const SIGNUP_TOKENS = 10_000;

let stripe: FakeStripe;
let t: TestApp;
let admin: { token: string; userId: string };
let hook: string;

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await startTestApp({ ADMIN_EMAILS: ADMIN_EMAIL, ...stripe.env });
  admin = await t.signUp(ADMIN_EMAIL);
  hook = webhookUrlOf(t.url);
  // 1,000 tokens for 10.00 USD: a refund of n cents takes back n tokens.
  for (const input of [
    { id: 'thousand', name: 'A thousand tokens', tokens: 1_000, priceCents: 1_000, currency: 'USD' },
    { id: 'big', name: 'Big pack', tokens: 50_000, priceCents: 4_900, currency: 'usd' },
  ]) {
    const res = await gql(t.url, UPSERT, { input }, admin.token);
    expect(res.errors).toBeUndefined();
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

async function buy(token: string, packageId = 'thousand', idempotencyKey?: string): Promise<{ purchaseId: string; sessionId: string; checkoutUrl: string }> {
  const res = await gql(t.url, PURCHASE, { packageId, ...URLS, idempotencyKey }, token);
  expect(res.errors).toBeUndefined();
  const { checkoutUrl, purchase } = res.data!.purchaseTokenPackage;
  const session = [...stripe.sessions.values()].find((s) => s.client_reference_id === purchase.id)!;
  return { purchaseId: purchase.id, sessionId: session.id, checkoutUrl };
}

async function balanceOf(token: string): Promise<{ tokens: number; reserved: number; available: number }> {
  return (await gql(t.url, BALANCE, {}, token)).data!.tokenBalance;
}

async function purchaseOf(token: string, purchaseId: string): Promise<Record<string, any>> {
  const res = await gql(t.url, PURCHASES, { first: 100 }, token);
  return res.data!.tokenPurchases.edges.map((e: { node: Record<string, any> }) => e.node).find((p: { id: string }) => p.id === purchaseId);
}

async function ledgerRows(userId: string): Promise<Array<{ kind: string; amount: number; key: string | null; metadata: Record<string, unknown> }>> {
  const rows = await t.app.services.orm.em
    .fork()
    .execute<Array<{ kind: string; amount: string; idempotency_key: string | null; metadata: Record<string, unknown> }>>(
      `select kind, amount, idempotency_key, metadata from token_ledger where user_id = ? order by seq`,
      [userId],
    );
  return rows.map((r) => ({ kind: r.kind, amount: Number(r.amount), key: r.idempotency_key, metadata: r.metadata }));
}

async function booksBalance(): Promise<void> {
  const ledger = await verifyLedger(t.app.services.orm);
  expect(ledger.mismatches).toEqual([]);
  // Σ grants == tokens, and every grant's remaining is its amount minus its burns (issue 14).
  expect(ledger.grantMismatches).toEqual([]);
  expect(ledger.entryMismatches).toEqual([]);
  expect((await verifyPurchases(t.app.services.orm)).problems).toEqual([]);
}

describe('the catalog', () => {
  it('lists active packages to anyone, cheapest first; only admins change it; bad input changes nothing', async () => {
    const res = await gql(t.url, PACKAGES);
    expect(res.data!.tokenPackages).toEqual([
      { id: 'thousand', name: 'A thousand tokens', tokens: 1_000, priceCents: 1_000, currency: 'usd' },
      { id: 'big', name: 'Big pack', tokens: 50_000, priceCents: 4_900, currency: 'usd' },
    ]);
    const user = await t.signUp();
    const input = { id: 'sneaky', name: 'x', tokens: 1, priceCents: 50, currency: 'usd' };
    expect(errorCode(await gql(t.url, UPSERT, { input }, user.token))).toBe('FORBIDDEN');
    for (const bad of [
      { ...input, id: 'Upper Case' },
      { ...input, id: 'ü' },
      { ...input, id: 'x'.repeat(65) },
      { ...input, name: '   ' },
      { ...input, tokens: 0 },
      { ...input, tokens: LIMITS.packageTokensMax + 1 },
      { ...input, priceCents: 49 },
      { ...input, currency: 'dollars' },
    ]) {
      expect(errorCode(await gql(t.url, UPSERT, { input: bad }, admin.token))).toBe('BAD_USER_INPUT');
    }
    expect((await gql(t.url, PACKAGES)).data!.tokenPackages.map((p: { id: string }) => p.id)).toEqual(['thousand', 'big']);
  });
});

describe('buying a package', () => {
  it('end to end: checkout at Stripe, the paid webhook grants the tokens once, live on the balance subscription', async () => {
    const user = await t.signUp();
    const client = wsClient(t.url, user.token);
    const live = subscribe<{ balanceChanged: { tokens: number; available: number } }>(client, 'subscription { balanceChanged { tokens available } }');
    try {
      expect((await live.next()).balanceChanged.tokens).toBe(SIGNUP_TOKENS);
      const requestsBefore = stripe.requests.length;
      const { purchaseId, sessionId, checkoutUrl } = await buy(user.token, 'thousand', 'buy-1');
      expect(checkoutUrl).toBe(`https://checkout.stripe.test/c/pay/${sessionId}`);

      // What Stripe was asked for: a payment session for the package, naming our purchase.
      const request = stripe.requests.at(-1)!;
      expect(stripe.requests.length).toBe(requestsBefore + 1);
      expect(request.idempotencyKey).toBe(`checkout:${purchaseId}`);
      expect(request.params).toMatchObject({
        mode: 'payment',
        client_reference_id: purchaseId,
        metadata: { purchaseId, userId: user.userId },
        payment_intent_data: { metadata: { purchaseId } },
        line_items: [{ quantity: '1', price_data: { currency: 'usd', unit_amount: '1000', product_data: { name: 'A thousand tokens' } } }],
        success_url: URLS.successUrl,
        cancel_url: URLS.cancelUrl,
      });
      expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PENDING', tokens: 1_000, amountCents: 1_000, currency: 'usd', completedAt: null });

      // The same idempotency key: the same purchase and session, Stripe not asked again.
      const again = await buy(user.token, 'thousand', 'buy-1');
      expect(again).toEqual({ purchaseId, sessionId, checkoutUrl });
      expect(stripe.requests.length).toBe(requestsBefore + 1);
      // ... with another package: refused, nothing created.
      const reused = await gql(t.url, PURCHASE, { packageId: 'big', ...URLS, idempotencyKey: 'buy-1' }, user.token);
      expect(reused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });

      // A price change after the checkout started does not change what this purchase grants.
      await gql(t.url, UPSERT, { input: { id: 'thousand', name: 'A thousand tokens', tokens: 900, priceCents: 1_000, currency: 'usd' } }, admin.token);
      try {
        const paid = await deliver(hook, stripe.events.completed(sessionId));
        expect(paid).toEqual({ status: 200, body: { received: true, outcome: 'granted' } });
      } finally {
        await gql(t.url, UPSERT, { input: { id: 'thousand', name: 'A thousand tokens', tokens: 1_000, priceCents: 1_000, currency: 'usd' } }, admin.token);
      }
      // Answered after the commit: the purchase is COMPLETED and the balance is up, seen live.
      expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'COMPLETED', tokens: 1_000 });
      expect((await purchaseOf(user.token, purchaseId)).completedAt).not.toBeNull();
      let seen = (await live.next()).balanceChanged;
      while (seen.tokens !== SIGNUP_TOKENS + 1_000) seen = (await live.next()).balanceChanged;
      expect(seen).toEqual({ tokens: SIGNUP_TOKENS + 1_000, available: SIGNUP_TOKENS + 1_000 });
      const grants = (await ledgerRows(user.userId)).filter((r) => r.key === `purchase:${purchaseId}`);
      expect(grants).toMatchObject([{ kind: 'GRANT', amount: 1_000 }]);
      await booksBalance();
    } finally {
      live.stop();
      await client.dispose();
    }
  });

  it('keeps one user from seeing or completing another user purchase', async () => {
    const [a, b] = [await t.signUp(), await t.signUp()];
    const { purchaseId } = await buy(a.token);
    expect(await purchaseOf(b.token, purchaseId)).toBeUndefined();
    // The same idempotency key is per user.
    const mine = await buy(a.token, 'thousand', 'shared-key');
    const theirs = await buy(b.token, 'thousand', 'shared-key');
    expect(theirs.purchaseId).not.toBe(mine.purchaseId);
    expect(errorCode(await gql(t.url, PURCHASE, { packageId: 'thousand', ...URLS }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(t.url, PURCHASES, {}))).toBe('UNAUTHENTICATED');
  });

  it('refuses bad input and unknown or inactive packages, changing nothing', async () => {
    const user = await t.signUp();
    await gql(t.url, UPSERT, { input: { id: 'retired', name: 'Retired', tokens: 10, priceCents: 100, currency: 'usd', active: false } }, admin.token);
    const before = stripe.requests.length;
    for (const [vars, code] of [
      [{ packageId: 'nope', ...URLS }, 'NOT_FOUND'],
      [{ packageId: 'retired', ...URLS }, 'NOT_FOUND'],
      [{ packageId: 'thousand', ...URLS, successUrl: 'javascript:alert(1)' }, 'BAD_USER_INPUT'],
      [{ packageId: 'thousand', ...URLS, cancelUrl: '' }, 'BAD_USER_INPUT'],
      [{ packageId: 'thousand', ...URLS, successUrl: `https://x.example/${'a'.repeat(LIMITS.checkoutUrlCharsMax)}` }, 'BAD_USER_INPUT'],
      [{ packageId: 'thousand', ...URLS, idempotencyKey: 'k'.repeat(LIMITS.idempotencyKeyCharsMax + 1) }, 'BAD_USER_INPUT'],
      [{ packageId: 'thousand', ...URLS, idempotencyKey: 'nul\u0000' }, 'BAD_USER_INPUT'],
    ] as const) {
      expect(errorCode(await gql(t.url, PURCHASE, vars, user.token))).toBe(code);
    }
    expect(stripe.requests.length).toBe(before);
    expect((await gql(t.url, PURCHASES, {}, user.token)).data!.tokenPurchases.edges).toEqual([]);
    expect((await gql(t.url, PACKAGES)).data!.tokenPackages.map((p: { id: string }) => p.id)).not.toContain('retired');
  });

  it('answers UPSTREAM_FAILED when Stripe fails, and the retry with the same key gets a session', async () => {
    const user = await t.signUp();
    stripe.failNext(1, 400);
    const failed = await gql(t.url, PURCHASE, { packageId: 'thousand', ...URLS, idempotencyKey: 'retry-me' }, user.token);
    expect(errorCode(failed)).toBe('UPSTREAM_FAILED');
    const retried = await buy(user.token, 'thousand', 'retry-me');
    expect(retried.checkoutUrl).toContain(retried.sessionId);
    const purchases = (await gql(t.url, PURCHASES, {}, user.token)).data!.tokenPurchases.edges;
    expect(purchases).toHaveLength(1);
  });

  it('refuses more purchases waiting for payment than the limit (RATE_LIMITED), until one is paid', async () => {
    const user = await t.signUp();
    const bought = [];
    for (let i = 0; i < LIMITS.pendingPurchasesPerUserMax; i++) bought.push(await buy(user.token));
    const refused = await gql(t.url, PURCHASE, { packageId: 'thousand', ...URLS }, user.token);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'pendingPurchasesPerUser' });
    expect(refused.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
    expect(refused.status).toBe(429);
    // Once one is paid, a new purchase is taken again.
    expect((await deliver(hook, stripe.events.completed(bought[0]!.sessionId))).status).toBe(200);
    expect((await buy(user.token)).checkoutUrl).toContain('checkout.stripe.test');
  });

  it('pages purchases newest first with cursors of their own', async () => {
    const user = await t.signUp();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await buy(user.token)).purchaseId);
    const first = (await gql(t.url, PURCHASES, { first: 2 }, user.token)).data!.tokenPurchases;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await gql(t.url, PURCHASES, { first: 2, after: first.pageInfo.endCursor }, user.token)).data!.tokenPurchases;
    expect([...first.edges, ...rest.edges].map((e: { node: { id: string } }) => e.node.id)).toEqual([...ids].reverse());
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect(errorCode(await gql(t.url, PURCHASES, { first: 101 }, user.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, PURCHASES, { after: 'bm9wZQ' }, user.token))).toBe('BAD_USER_INPUT');
  });
});

describe('webhooks', () => {
  it('grants once when the same event arrives 5 times at once, and once more paid events of the same purchase change nothing', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    const event = stripe.events.completed(sessionId);
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(hook, event)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((a) => (a.body as { outcome: string }).outcome).sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'granted']);
    // Another event saying the same (async payment succeeded) and a later redelivery: nothing more.
    expect((await deliver(hook, stripe.events.asyncSucceeded(sessionId))).body).toMatchObject({ outcome: 'already-granted' });
    expect((await deliver(hook, event)).body).toMatchObject({ outcome: 'duplicate' });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS + 1_000);
    expect((await ledgerRows(user.userId)).filter((r) => r.key === `purchase:${purchaseId}`)).toHaveLength(1);
    const [events] = await t.app.services.orm.em.fork().execute<Array<{ n: string }>>('select count(*) as n from stripe_events where purchase_id = ?', [purchaseId]);
    expect(Number(events!.n)).toBe(2);
    await booksBalance();
  });

  it('grants each of 100 purchases exactly once under 500 concurrent deliveries (each event 5 times)', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => t.signUp()));
    const bought = [];
    for (let i = 0; i < 100; i++) bought.push({ user: users[i % users.length]!, ...(await buy(users[i % users.length]!.token)) });
    const events = bought.map((b) => stripe.events.completed(b.sessionId));
    const deliveries = events.flatMap((e) => Array.from({ length: 5 }, () => e));
    // As Stripe does: a delivery answered 503 (not committed within webhookAnswerMsMax on a busy
    // machine) or not answered at all (a connection reset under this many sockets) is delivered again.
    let retries = 0;
    let resets = 0;
    const untilAnswered = async (e: (typeof events)[number]) => {
      for (let attempt = 1; ; attempt++) {
        const answer = await deliver(hook, e).catch((err: Error) => {
          if (attempt === 5) throw err;
          resets++;
          return null;
        });
        if (answer && (answer.status !== 503 || attempt === 5)) return answer;
        if (answer) retries++;
      }
    };
    const answers = await Promise.all(deliveries.map(untilAnswered));
    console.info(`500 concurrent deliveries of 100 paid events: ${retries} answered 503 and ${resets} not answered (connection reset), each delivered again`);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // A delivery answered 503 may have granted: its redelivery then says duplicate. Either way, one grant each.
    expect(answers.filter((a) => (a.body as { outcome: string }).outcome === 'granted').length).toBeLessThanOrEqual(100);
    for (const b of bought) expect((await ledgerRows(b.user.userId)).filter((r) => r.key === `purchase:${b.purchaseId}`)).toHaveLength(1);
    for (const user of users) expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS + 5 * 1_000);
    await booksBalance();
  }, 240_000);

  it('ends right when the refund arrives before the completion', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    const completed = stripe.events.completed(sessionId);
    const refund = stripe.events.refunded(sessionId, 1_000);
    expect((await deliver(hook, refund)).body).toMatchObject({ outcome: 'refund-recorded' });
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PENDING', refundedCents: 1_000, revokedTokens: 0 });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS);
    expect((await deliver(hook, completed)).body).toMatchObject({ outcome: 'granted' });
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'REFUNDED', refundedCents: 1_000, revokedTokens: 1_000, deficitTokens: 0 });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS);
    expect((await ledgerRows(user.userId)).slice(1).map((r) => [r.kind, r.amount])).toEqual([
      ['GRANT', 1_000],
      ['REVOKE', -1_000],
    ]);
    // Redelivered, both: nothing more.
    for (const e of [refund, completed]) expect((await deliver(hook, e)).body).toMatchObject({ outcome: 'duplicate' });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS);
    await booksBalance();
  });

  it('takes back the largest refunded share whatever order partial refunds arrive in', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    expect((await deliver(hook, stripe.events.completed(sessionId))).status).toBe(200);
    const first = stripe.events.refunded(sessionId, 300);
    const second = stripe.events.refunded(sessionId, 600);
    expect((await deliver(hook, second)).body).toMatchObject({ outcome: 'refunded' });
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedCents: 600, revokedTokens: 600 });
    expect((await deliver(hook, first)).body).toMatchObject({ outcome: 'refunded' });
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedCents: 600, revokedTokens: 600 });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS + 400);
    expect((await deliver(hook, stripe.events.refunded(sessionId, 1_000))).status).toBe(200);
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'REFUNDED', revokedTokens: 1_000, deficitTokens: 0 });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS);
    await booksBalance();
  });

  it('grants a PURCHASE grant burned last, and a refund takes back only from what remains of it', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    expect((await deliver(hook, stripe.events.completed(sessionId))).status).toBe(200);
    const balance = t.app.services.balance;
    await balance.grantTokens(user.userId, { amount: 500, reason: 'goodwill', source: 'ADMIN' });
    // 400 spent: from the sign-up grant (priority 50, older than the ADMIN grant), never from the purchase (100).
    const spend = await balance.reserve(user.userId, 400, { taskType: 'CHAT' });
    await balance.settle(spend, { tokens: 400, promptTokens: 300, completionTokens: 100, costNanoUsd: 0, model: 'offline' });
    const before = await balance.grants(user.userId);
    expect(before.find((g) => g.source === 'PURCHASE')).toMatchObject({ amount: 1_000, remaining: 1_000, expiresAt: null });
    expect((await deliver(hook, stripe.events.refunded(sessionId, 600))).body).toMatchObject({ outcome: 'refunded' });
    // 600 of the 1,000 refunded: taken from the purchase's grant only; the other grants keep theirs.
    const after = await balance.grants(user.userId);
    expect(after.find((g) => g.source === 'PURCHASE')).toMatchObject({ remaining: 400 });
    expect(after.find((g) => g.source === 'ADMIN')).toMatchObject({ remaining: 500 });
    expect(after.find((g) => g.source === 'SIGNUP')?.remaining ?? 0).toBe(Math.max(0, SIGNUP_TOKENS - 400));
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PARTIALLY_REFUNDED', revokedTokens: 600, deficitTokens: 0 });
    await booksBalance();
  });

  it('records what a refund cannot take back (already spent, or held) as a deficit and alerts the admins', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    expect((await deliver(hook, stripe.events.completed(sessionId))).status).toBe(200);
    const balance = t.app.services.balance;
    // Spend all but 300 tokens, and hold 200 of those for a generation still running.
    const spend = await balance.reserve(user.userId, SIGNUP_TOKENS + 700, { taskType: 'CHAT' });
    await balance.settle(spend, { tokens: SIGNUP_TOKENS + 700, promptTokens: SIGNUP_TOKENS, completionTokens: 700, costNanoUsd: 0, model: 'offline' });
    const running = await balance.reserve(user.userId, 200, { taskType: 'CHAT' });
    const adminClient = wsClient(t.url, admin.token);
    const alerts = subscribe<{ tokenAlertRaised: { type: string; severity: string; userId: string; details: Record<string, unknown> } }>(
      adminClient,
      'subscription { tokenAlertRaised(allUsers: true) { type severity userId details } }',
    );
    try {
      await t.app.services.alerts.settled();
      expect((await deliver(hook, stripe.events.refunded(sessionId, 1_000))).body).toMatchObject({ outcome: 'refunded' });
      // 100 were available: taken. The 200 held stay held; 700 were spent.
      expect(await balanceOf(user.token)).toEqual({ tokens: 200, reserved: 200, available: 0 });
      expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'REFUNDED', revokedTokens: 1_000, deficitTokens: 900 });
      const revoke = (await ledgerRows(user.userId)).at(-1)!;
      expect(revoke).toMatchObject({ kind: 'REVOKE', amount: -100, key: `purchase:${purchaseId}:revoke:1000`, metadata: { requested: 1_000, deficit: 900, purchaseId } });
      let alert = (await alerts.next()).tokenAlertRaised;
      while (alert.type !== 'REFUND_DEFICIT') alert = (await alerts.next()).tokenAlertRaised;
      expect(alert).toMatchObject({ severity: 'CRITICAL', userId: user.userId, details: { purchaseId, deficit: 900, requested: 1_000 } });
      // The running generation still settles from its hold.
      await balance.settle(running, { tokens: 150, promptTokens: 100, completionTokens: 50, costNanoUsd: 0, model: 'offline' });
      expect(await balanceOf(user.token)).toEqual({ tokens: 50, reserved: 0, available: 50 });
      await booksBalance();
    } finally {
      alerts.stop();
      await adminClient.dispose();
    }
  });

  it('expires an unpaid checkout, and leaves a paid one alone', async () => {
    const user = await t.signUp();
    const open = await buy(user.token);
    expect((await deliver(hook, stripe.events.completed(open.sessionId, { paymentStatus: 'unpaid' }))).body).toMatchObject({ outcome: 'awaiting-payment' });
    expect((await deliver(hook, stripe.events.expired(open.sessionId))).body).toMatchObject({ outcome: 'expired' });
    expect(await purchaseOf(user.token, open.purchaseId)).toMatchObject({ status: 'EXPIRED', completedAt: null });
    const paid = await buy(user.token);
    await deliver(hook, stripe.events.completed(paid.sessionId));
    expect((await deliver(hook, stripe.events.expired(paid.sessionId))).body).toMatchObject({ outcome: 'ignored' });
    expect(await purchaseOf(user.token, paid.purchaseId)).toMatchObject({ status: 'COMPLETED' });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS + 1_000);
  });

  it('refuses a bad signature with 400 and changes nothing', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    const event = stripe.events.completed(sessionId);
    const payload = JSON.stringify(event);
    const forged = [
      await deliver(hook, event, { secret: 'whsec_not_the_secret' }),
      await deliver(hook, event, { signature: '' }),
      await deliver(hook, event, { signature: 't=1,v1=00' }),
      // Signed, then altered: the signature is over the exact bytes.
      await deliver(hook, event, {
        payload: payload.replace('"paid"', '"paid" '),
        signature: (await import('stripe')).default.webhooks.generateTestHeaderString({ payload, secret: FAKE_WEBHOOK_SECRET }),
      }),
    ];
    expect(forged.map((a) => a.status)).toEqual([400, 400, 400, 400]);
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PENDING' });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS);
    // The genuine delivery after them still works (they did not record the event id).
    expect((await deliver(hook, event)).body).toMatchObject({ outcome: 'granted' });
  });

  it('refuses a replayed signature older than the tolerance with 400 and changes nothing', async () => {
    const user = await t.signUp();
    const { purchaseId, sessionId } = await buy(user.token);
    const event = stripe.events.completed(sessionId);
    const stale = Math.floor(Date.now() / 1_000) - LIMITS.webhookToleranceSeconds - 5;
    expect((await deliver(hook, event, { timestamp: stale })).status).toBe(400);
    expect(await purchaseOf(user.token, purchaseId)).toMatchObject({ status: 'PENDING' });
    expect((await balanceOf(user.token)).tokens).toBe(SIGNUP_TOKENS);
    // Within the tolerance it is accepted.
    const recent = Math.floor(Date.now() / 1_000) - LIMITS.webhookToleranceSeconds + 60;
    expect((await deliver(hook, event, { timestamp: recent })).status).toBe(200);
  });

  it('ignores events of no purchase of ours, and reads a large body raw without disturbing /graphql', async () => {
    const foreign = { ...stripe.events.completed((await buy((await t.signUp()).token)).sessionId) };
    (foreign.data.object as { client_reference_id: string | null; metadata: Record<string, string> }).client_reference_id = 'not-ours';
    (foreign.data.object as { metadata: Record<string, string> }).metadata = {};
    expect(await deliver(hook, foreign)).toEqual({ status: 200, body: { received: true, outcome: 'ignored' } });
    const other = { ...foreign, type: 'customer.created' } as typeof foreign;
    expect((await deliver(hook, other)).body).toMatchObject({ outcome: 'ignored' });
    const huge = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(LIMITS.webhookBodyBytesMax + 1) });
    expect(huge.status).toBe(413);
    // /graphql still parses its JSON (and refuses its own oversized bodies in its own shape).
    expect((await gql(t.url, PACKAGES)).data!.tokenPackages.length).toBeGreaterThan(0);
    const big = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `#${'x'.repeat(LIMITS.requestBodyBytesMax)}\n{ tokenPackages { id } }` }) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('refundedShare', () => {
  it('rounds down, never exceeds the tokens, and is exact for large amounts', () => {
    expect(refundedShare(1_000, 333, 1_000)).toBe(333);
    expect(refundedShare(10, 1, 3)).toBe(3);
    expect(refundedShare(1_000, 5_000, 1_000)).toBe(1_000);
    expect(refundedShare(LIMITS.packageTokensMax, LIMITS.packagePriceCentsMax - 1, LIMITS.packagePriceCentsMax)).toBe(LIMITS.packageTokensMax - 2);
  });
});

describe('without STRIPE_SECRET_KEY', () => {
  it('lists the catalog, refuses purchases with PURCHASES_DISABLED and has no webhook', async () => {
    const off = await startTestApp({ ADMIN_EMAILS: 'off-admin@example.com' });
    try {
      const boss = await off.signUp('off-admin@example.com');
      await gql(off.url, UPSERT, { input: { id: 'starter', name: 'Starter', tokens: 100, priceCents: 500, currency: 'usd' } }, boss.token);
      expect((await gql(off.url, PACKAGES)).data!.tokenPackages).toEqual([{ id: 'starter', name: 'Starter', tokens: 100, priceCents: 500, currency: 'usd' }]);
      const user = await off.signUp();
      const refused = await gql(off.url, PURCHASE, { packageId: 'starter', ...URLS }, user.token);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PURCHASES_DISABLED' });
      expect((await gql(off.url, PURCHASES, {}, user.token)).data!.tokenPurchases.edges).toEqual([]);
      const event = stripe.events.completed((await buy((await t.signUp()).token)).sessionId);
      expect((await deliver(webhookUrlOf(off.url), event)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('a database outage', () => {
  let proxy: PgProxy | undefined;
  let app: TestApp | undefined;
  afterAll(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.close();
  });

  it('answers a webhook 5xx while the database is unreachable; the retry grants once', async () => {
    app = await startTestApp({ ADMIN_EMAILS: ADMIN_EMAIL, ...stripe.env }, undefined, {
      connectThrough: async (url) => {
        proxy = await startPgProxy(url);
        return proxy.url;
      },
    });
    const boss = await app.signUp(ADMIN_EMAIL);
    await gql(app.url, UPSERT, { input: { id: 'thousand', name: 'A thousand tokens', tokens: 1_000, priceCents: 1_000, currency: 'usd' } }, boss.token);
    const user = await app.signUp();
    const bought = await gql(app.url, PURCHASE, { packageId: 'thousand', ...URLS }, user.token);
    const purchaseId = bought.data!.purchaseTokenPackage.purchase.id as string;
    const sessionId = [...stripe.sessions.values()].find((s) => s.client_reference_id === purchaseId)!.id;
    const event = stripe.events.completed(sessionId);

    proxy!.cut();
    const during = await deliver(webhookUrlOf(app.url), event);
    expect(during.status).toBeGreaterThanOrEqual(500);
    proxy!.restore();

    const retried = await deliver(webhookUrlOf(app.url), event);
    expect(retried).toEqual({ status: 200, body: { received: true, outcome: 'granted' } });
    expect((await deliver(webhookUrlOf(app.url), event)).body).toMatchObject({ outcome: 'duplicate' });
    expect((await gql(app.url, BALANCE, {}, user.token)).data!.tokenBalance.tokens).toBe(SIGNUP_TOKENS + 1_000);
    expect((await verifyPurchases(app.app.services.orm)).problems).toEqual([]);
    expect((await verifyLedger(app.app.services.orm)).mismatches).toEqual([]);
  }, 120_000);
});
