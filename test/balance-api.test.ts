import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

const GRANT = `mutation GrantTokens($userId: ID!, $amount: Int!, $reason: String!) {
  grantTokens(input: { userId: $userId, amount: $amount, reason: $reason }) {
    balance { tokens reserved available } ledgerEntry { kind amount balanceAfter details } } }`;
const LEDGER = `query TokenLedger($first: Int, $after: String) {
  tokenLedger(first: $first, after: $after) {
    edges { cursor node { id kind amount taskType model idempotencyKey createdAt } }
    pageInfo { hasNextPage endCursor } } }`;
const BALANCE_CHANGED = `subscription BalanceChanged { balanceChanged { tokens reserved available plan } }`;

let t: TestApp;
let fake: FakeProvider;
let admin: { token: string; userId: string };

beforeAll(async () => {
  fake = await startFakeProvider({ usageFor: () => ({ promptTokens: 20, completionTokens: 5 }) });
  t = await startTestApp({ ADMIN_EMAILS: 'root@example.com', ...openaiEnv(fake) });
  admin = await t.signUp('root@example.com');
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

describe('grantTokens', () => {
  it('lets an admin grant tokens, durably, with a GRANT ledger entry', async () => {
    const user = await t.signUp();
    const res = await gql(t.url, GRANT, { userId: user.userId, amount: 2_500, reason: 'promo' }, admin.token);
    expect(res.errors).toBeUndefined();
    expect(res.data!.grantTokens).toEqual({
      balance: { tokens: 12_500, reserved: 0, available: 12_500 },
      ledgerEntry: { kind: 'GRANT', amount: 2_500, balanceAfter: 12_500, details: { reason: 'promo', grantedBy: admin.userId, source: 'ADMIN', grantId: expect.any(String) } },
    });
  });

  it("shows the recipient the grant's reason but not which admin granted it", async () => {
    const user = await t.signUp();
    await gql(t.url, GRANT, { userId: user.userId, amount: 300, reason: 'sorry for the outage' }, admin.token);
    const ledger = await gql(t.url, '{ tokenLedger(first: 1) { edges { node { kind amount details } } } }', {}, user.token);
    expect(ledger.data!.tokenLedger.edges[0].node).toEqual({ kind: 'GRANT', amount: 300, details: { reason: 'sorry for the outage', source: 'ADMIN', grantId: expect.any(String) } });
    expect(JSON.stringify(ledger.data)).not.toContain(admin.userId);
    // An admin reading their own ledger still sees who granted to them.
    await gql(t.url, GRANT, { userId: admin.userId, amount: 1, reason: 'self' }, admin.token);
    const own = await gql(t.url, '{ tokenLedger(first: 1) { edges { node { details } } } }', {}, admin.token);
    expect(own.data!.tokenLedger.edges[0].node.details).toEqual({ reason: 'self', grantedBy: admin.userId, source: 'ADMIN', grantId: expect.any(String) });
  });

  it('refuses non-admins with FORBIDDEN and bad amounts with BAD_USER_INPUT, changing nothing', async () => {
    const user = await t.signUp();
    expect(errorCode(await gql(t.url, GRANT, { userId: user.userId, amount: 5, reason: 'me' }, user.token))).toBe('FORBIDDEN');
    for (const amount of [0, -5, 2_000_000_000]) {
      expect(errorCode(await gql(t.url, GRANT, { userId: user.userId, amount, reason: 'x' }, admin.token))).toBe('BAD_USER_INPUT');
    }
    expect(errorCode(await gql(t.url, GRANT, { userId: 'not-a-uuid', amount: 5, reason: 'x' }, admin.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, GRANT, { userId: '00000000-0000-4000-8000-000000000000', amount: 5, reason: 'x' }, admin.token))).toBe('NOT_FOUND');
    const balance = await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token);
    expect(balance.data!.tokenBalance.tokens).toBe(10_000);
  });

  it('checks the admin role as it is now, not as the token remembers it', async () => {
    const deputy = await t.signUp();
    const user = await t.signUp();
    const em = t.app.services.orm.em.fork();
    await em.execute(`update users set role = 'ADMIN' where id = ?`, [deputy.userId]);
    const signIn = await gql(t.url, 'mutation($e: String!) { signIn(input: { email: $e, password: "correct horse battery" }) { token user { role } } }', { e: deputy.email });
    expect(signIn.data!.signIn.user.role).toBe('ADMIN');
    const adminToken = signIn.data!.signIn.token;
    expect((await gql(t.url, GRANT, { userId: user.userId, amount: 1, reason: 'ok' }, adminToken)).errors).toBeUndefined();
    await em.execute(`update users set role = 'USER' where id = ?`, [deputy.userId]);
    expect(errorCode(await gql(t.url, GRANT, { userId: user.userId, amount: 1, reason: 'demoted' }, adminToken))).toBe('FORBIDDEN');
    expect(errorCode(await gql(t.url, '{ systemTokenStats { activeAlerts } }', {}, adminToken))).toBe('FORBIDDEN');
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(10_001);
  });

  it('refuses a grant that would push a balance past what an Int can carry', async () => {
    const user = await t.signUp();
    await gql(t.url, GRANT, { userId: user.userId, amount: 100_000_000, reason: 'big' }, admin.token);
    const bulk = await Promise.all(Array.from({ length: 25 }, () => gql(t.url, GRANT, { userId: user.userId, amount: 100_000_000, reason: 'big' }, admin.token)));
    const refused = bulk.filter((r) => errorCode(r) === 'BAD_USER_INPUT');
    expect(refused.length).toBeGreaterThan(0);
    const tokens = (await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens;
    expect(tokens).toBeLessThanOrEqual(2_147_483_647);
    expect(tokens).toBe(10_000 + 100_000_000 * (1 + bulk.length - refused.length));
  });
});

describe('tokenLedger', () => {
  it('pages newest first with cursors, and refuses a page size over the maximum', async () => {
    const user = await t.signUp();
    for (let i = 1; i <= 5; i++) await gql(t.url, GRANT, { userId: user.userId, amount: i, reason: `r${i}` }, admin.token);
    const first = await gql(t.url, LEDGER, { first: 4 }, user.token);
    const page1 = first.data!.tokenLedger;
    expect(page1.edges.map((e: any) => e.node.amount)).toEqual([5, 4, 3, 2]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await gql(t.url, LEDGER, { first: 4, after: page1.pageInfo.endCursor }, user.token);
    expect(second.data!.tokenLedger.edges.map((e: any) => [e.node.kind, e.node.amount])).toEqual([
      ['GRANT', 1],
      ['GRANT', 10_000],
    ]);
    expect(second.data!.tokenLedger.pageInfo.hasNextPage).toBe(false);
    expect(errorCode(await gql(t.url, LEDGER, { first: 101 }, user.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, LEDGER, { first: 2, after: 'garbage' }, user.token))).toBe('BAD_USER_INPUT');
  });
});

describe('balanceChanged', () => {
  it('pushes the new balance after a grant and after a charge, only to the owner', async () => {
    const owner = await t.signUp();
    const other = await t.signUp();
    const brand = await gql(t.url, 'mutation { createBrand(input: { name: "Live" }) { brand { id } } }', {}, owner.token);
    const ownerClient = wsClient(t.url, owner.token);
    const otherClient = wsClient(t.url, other.token);
    const mine = subscribe<any>(ownerClient, BALANCE_CHANGED);
    const theirs = subscribe<any>(otherClient, BALANCE_CHANGED);
    expect((await mine.next()).balanceChanged).toEqual({ tokens: 10_000, reserved: 0, available: 10_000, plan: 'free' });
    expect((await theirs.next()).balanceChanged.tokens).toBe(10_000);

    await gql(t.url, GRANT, { userId: owner.userId, amount: 1_000, reason: 'live' }, admin.token);
    // Tokens are pushed once committed: a push at the grant's in-memory change still shows the committed 10,000.
    let seen = (await mine.next()).balanceChanged;
    while (seen.tokens === 10_000) seen = (await mine.next()).balanceChanged;
    expect(seen).toEqual({ tokens: 11_000, reserved: 0, available: 11_000, plan: 'free' });

    const chat = await gql(t.url, 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { usage { totalTokens } } }', { b: brand.data!.createBrand.brand.id }, owner.token);
    expect(chat.data!.chatWithAndora.usage.totalTokens).toBe(25);
    // Coalesced under bursts: intermediate states (the hold) may or may not show, the final one must.
    while (seen.tokens !== 11_000 - 25 || seen.reserved !== 0) seen = (await mine.next()).balanceChanged;
    expect(seen).toEqual({ tokens: 10_975, reserved: 0, available: 10_975, plan: 'free' });

    // The other user's subscription saw nothing after its initial value.
    await gql(t.url, GRANT, { userId: other.userId, amount: 7, reason: 'marker' }, admin.token);
    let theirsSeen = (await theirs.next()).balanceChanged;
    expect(theirsSeen.tokens).toBe(10_000);
    while (theirsSeen.tokens === 10_000) theirsSeen = (await theirs.next()).balanceChanged;
    expect(theirsSeen.tokens).toBe(10_007);
    expect(theirs.buffered()).toEqual([]);
    mine.stop();
    theirs.stop();
    await ownerClient.dispose();
    await otherClient.dispose();
  });
});
