import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { verifyLedger } from '../src/balance/ledger';
import { errorCode, gql, subscribe, wsClient, wsOnce } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

/** The clients' own operations, as the contract file has them, by name. */
const contract = new Map(
  parse(readFileSync(join(__dirname, 'contract', 'frontend-operations.graphql'), 'utf8'))
    .definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((d) => [d.name!.value, print(d)]),
);

const GRANT_FULL = `mutation($userId: ID!, $amount: Int!, $reason: String!, $expiresAt: DateTime, $priority: Int, $source: GrantSource, $key: String) {
  grantTokens(input: { userId: $userId, amount: $amount, reason: $reason, expiresAt: $expiresAt, priority: $priority, source: $source, idempotencyKey: $key }) {
    balance { tokens available expiringSoon { amount expiresAt } }
    ledgerEntry { id kind amount details }
    grant { id source amount remaining priority expiresAt reason } } }`;
const BULK = `mutation($input: GrantTokensBulkInput!) { grantTokensBulk(input: $input) {
  grants { userId replayed grant { id source amount remaining priority expiresAt } balance { tokens } } } }`;
const CHAT = 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { usage { totalTokens } balance { tokens } } }';

let t: TestApp;
let fake: FakeProvider;
let admin: { token: string; userId: string };

beforeAll(async () => {
  fake = await startFakeProvider({ usageFor: () => ({ promptTokens: 20, completionTokens: 5 }) });
  t = await startTestApp({ ADMIN_EMAILS: 'credits-root@example.com', ...openaiEnv(fake) });
  admin = await t.signUp('credits-root@example.com');
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const op = (name: string, variables: Record<string, unknown>, token: string) => gql(t.url, contract.get(name)!, variables, token);

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe('grants', () => {
  it('starts every account with its sign-up grant, and shows grants in the order they burn', async () => {
    const user = await t.signUp();
    const res = await op('TokenGrants', {}, user.token);
    expect(res.errors).toBeUndefined();
    expect(res.data!.tokenGrants).toEqual([
      expect.objectContaining({ source: 'SIGNUP', amount: 10_000, remaining: 10_000, priority: 50, expiresAt: null, reason: 'signup' }),
    ]);
    const balance = await op('BalanceWithExpiry', {}, user.token);
    expect(balance.data!.tokenBalance).toEqual({ tokens: 10_000, reserved: 0, available: 10_000, plan: 'free', expiringSoon: null });
  });

  it('grants a promotion that expires; usage burns it first; the balance shows what expires when', async () => {
    const user = await t.signUp();
    const expiresAt = inDays(3);
    const res = await op('GrantPromotion', { userId: user.userId, amount: 2_000, reason: 'winter promo', expiresAt }, admin.token);
    expect(res.errors).toBeUndefined();
    expect(res.data!.grantTokens).toEqual({
      balance: { tokens: 12_000, reserved: 0, available: 12_000 },
      grant: { id: expect.any(String), source: 'PROMOTION', amount: 2_000, remaining: 2_000, priority: 20, expiresAt },
    });
    const balance = await op('BalanceWithExpiry', {}, user.token);
    expect(balance.data!.tokenBalance.expiringSoon).toEqual({ amount: 2_000, expiresAt });

    const brand = await gql(t.url, 'mutation { createBrand(input: { name: "Burn" }) { brand { id } } }', {}, user.token);
    const chat = await gql(t.url, CHAT, { b: brand.data!.createBrand.brand.id }, user.token);
    expect(chat.data!.chatWithAndora).toEqual({ usage: { totalTokens: 25 }, balance: { tokens: 11_975 } });
    const grants = (await op('TokenGrants', {}, user.token)).data!.tokenGrants;
    expect(grants.map((g: { source: string; remaining: number }) => [g.source, g.remaining])).toEqual([
      ['PROMOTION', 1_975],
      ['SIGNUP', 10_000],
    ]);
    expect((await op('BalanceWithExpiry', {}, user.token)).data!.tokenBalance.expiringSoon).toEqual({ amount: 1_975, expiresAt });
  });

  it('burns by priority, then earliest expiry, then oldest', async () => {
    const user = await t.signUp();
    const grant = (amount: number, source: string, priority: number | null, expiresAt: string | null) =>
      gql(t.url, GRANT_FULL, { userId: user.userId, amount, reason: `${source} ${amount}`, source, priority, expiresAt }, admin.token);
    await grant(100, 'ADMIN', 5, null);
    await grant(200, 'PROMOTION', null, inDays(9));
    await grant(300, 'PROMOTION', null, inDays(2));
    await grant(400, 'PROMOTION', null, null);
    const grants = (await op('TokenGrants', {}, user.token)).data!.tokenGrants;
    expect(grants.map((g: { amount: number }) => g.amount)).toEqual([100, 300, 200, 400, 10_000]);
  });

  it('is idempotent by key: a repeat returns the first grant, another user with the key is refused', async () => {
    const user = await t.signUp();
    const other = await t.signUp();
    const vars = { userId: user.userId, amount: 700, reason: 'once', source: 'PROMOTION', key: `once-${user.userId}` };
    const [a, b] = await Promise.all([gql(t.url, GRANT_FULL, vars, admin.token), gql(t.url, GRANT_FULL, vars, admin.token)]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(b.data!.grantTokens.grant.id).toBe(a.data!.grantTokens.grant.id);
    const again = await gql(t.url, GRANT_FULL, vars, admin.token);
    expect(again.data!.grantTokens.grant.id).toBe(a.data!.grantTokens.grant.id);
    expect(again.data!.grantTokens.ledgerEntry.id).toBe(a.data!.grantTokens.ledgerEntry.id);
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(10_700);
    const stolen = await gql(t.url, GRANT_FULL, { ...vars, userId: other.userId }, admin.token);
    expect(errorCode(stolen)).toBe('BAD_USER_INPUT');
    expect(stolen.errors![0]!.extensions!.reason).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, other.token)).data!.tokenBalance.tokens).toBe(10_000);
  });

  it('refuses bad grants with BAD_USER_INPUT (and non-admins with FORBIDDEN), changing nothing', async () => {
    const user = await t.signUp();
    const base = { userId: user.userId, amount: 10, reason: 'x' };
    const bad: Array<Record<string, unknown>> = [
      { expiresAt: new Date(Date.now() - 1_000).toISOString() },
      { expiresAt: inDays(20 * 366) },
      { priority: -1 },
      { priority: 1_001 },
      { source: 'REFUND' },
      { source: 'ALLOWANCE' },
      { source: 'PURCHASE' },
      { key: '' },
      { key: 'k'.repeat(129) },
    ];
    for (const extra of bad) expect([extra, errorCode(await gql(t.url, GRANT_FULL, { ...base, ...extra }, admin.token))]).toEqual([extra, 'BAD_USER_INPUT']);
    expect(errorCode(await gql(t.url, GRANT_FULL, base, user.token))).toBe('FORBIDDEN');
    const grants = (await op('TokenGrants', { includeExpired: true }, user.token)).data!.tokenGrants;
    expect(grants).toHaveLength(1);
  });

  it('grants to many users in one call, once per user, and refuses the whole bulk for an unknown user', async () => {
    const users = await Promise.all(Array.from({ length: 30 }, () => t.signUp()));
    const input = { userIds: users.map((u) => u.userId), amount: 500, reason: 'launch week', expiresAt: inDays(7), idempotencyKey: `launch-${users[0]!.userId}` };
    const first = await gql(t.url, BULK, { input }, admin.token);
    expect(first.errors).toBeUndefined();
    expect(first.data!.grantTokensBulk.grants).toHaveLength(30);
    expect(first.data!.grantTokensBulk.grants.every((g: { replayed: boolean; balance: { tokens: number } }) => !g.replayed && g.balance.tokens === 10_500)).toBe(true);
    const again = await gql(t.url, BULK, { input }, admin.token);
    expect(again.data!.grantTokensBulk.grants.map((g: { replayed: boolean }) => g.replayed)).toEqual(users.map(() => true));
    expect(again.data!.grantTokensBulk.grants.map((g: { grant: { id: string } }) => g.grant.id)).toEqual(
      first.data!.grantTokensBulk.grants.map((g: { grant: { id: string } }) => g.grant.id),
    );
    const unknown = await gql(t.url, BULK, { input: { ...input, idempotencyKey: 'other', userIds: [users[0]!.userId, '00000000-0000-4000-8000-000000000000'] } }, admin.token);
    expect(errorCode(unknown)).toBe('BAD_USER_INPUT');
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, users[0]!.token)).data!.tokenBalance.tokens).toBe(10_500);
    for (const bad of [{ userIds: [] }, { userIds: [users[0]!.userId, users[0]!.userId] }, { idempotencyKey: '' }, { amount: 0 }]) {
      expect(errorCode(await gql(t.url, BULK, { input: { ...input, ...bad } }, admin.token))).toBe('BAD_USER_INPUT');
    }
    expect(errorCode(await gql(t.url, BULK, { input }, users[0]!.token))).toBe('FORBIDDEN');
  });

  it('expires a grant on time: an EXPIRE entry naming it, the balance drops, over the websocket too', async () => {
    const user = await t.signUp();
    const client = wsClient(t.url, user.token);
    try {
      const changes = subscribe(client, 'subscription { balanceChanged { tokens expiringSoon { amount } } }');
      expect((await changes.next()).balanceChanged.tokens).toBe(10_000);
      // The sweep runs every second: a grant expiring in 1.5 s expires within about 2.5 s.
      const expiresAt = new Date(Date.now() + 1_500).toISOString();
      const granted = await gql(t.url, GRANT_FULL, { userId: user.userId, amount: 1_234, reason: 'flash sale', source: 'PROMOTION', expiresAt }, admin.token);
      const grantId = granted.data!.grantTokens.grant.id;
      let seen = (await changes.next()).balanceChanged;
      while (seen.tokens !== 10_000 || seen.expiringSoon !== null) seen = (await changes.next(10_000)).balanceChanged;
      const ledger = await wsOnce(client, '{ tokenLedger(first: 2) { edges { node { kind amount details } } } }');
      expect(ledger.data!.tokenLedger.edges.map((e: { node: unknown }) => e.node)).toEqual([
        { kind: 'EXPIRE', amount: -1_234, details: expect.objectContaining({ grantId, source: 'PROMOTION', expiresAt }) },
        expect.objectContaining({ kind: 'GRANT', amount: 1_234 }),
      ]);
      const grants = (await op('TokenGrants', { includeExpired: true }, user.token)).data!.tokenGrants;
      expect(grants).toEqual([
        expect.objectContaining({ source: 'SIGNUP', remaining: 10_000 }),
        expect.objectContaining({ id: grantId, remaining: 0, expiresAt }),
      ]);
      changes.stop();
    } finally {
      await client.dispose();
    }
    // The EXPIRE entry was read from the ledger above, so it is committed.
    const report = await verifyLedger(t.app.services.orm);
    expect([report.mismatches, report.grantMismatches, report.entryMismatches]).toEqual([[], [], []]);
  });
});

describe('refundCharge', () => {
  const REFUND = `mutation($id: ID!, $amount: Int, $reason: String!, $key: String) {
    refundCharge(input: { ledgerEntryId: $id, amount: $amount, reason: $reason, idempotencyKey: $key }) {
      refund { id kind amount details refersTo { id kind amount } } balance { tokens available } } }`;

  /** A user with a 2,000-token promotion and one chat charged 25 tokens (burned from the promotion). */
  async function charged(expiresAt = inDays(3)) {
    const user = await t.signUp();
    const promo = await op('GrantPromotion', { userId: user.userId, amount: 2_000, reason: 'promo', expiresAt }, admin.token);
    const brand = await gql(t.url, 'mutation { createBrand(input: { name: "Refund" }) { brand { id } } }', {}, user.token);
    await gql(t.url, CHAT, { b: brand.data!.createBrand.brand.id }, user.token);
    const ledger = await gql(t.url, '{ tokenLedger(first: 1) { edges { node { id kind amount } } } }', {}, user.token);
    const charge = ledger.data!.tokenLedger.edges[0].node;
    expect(charge).toMatchObject({ kind: 'CHARGE', amount: -25 });
    return { user, chargeId: charge.id as string, promoId: promo.data!.grantTokens.grant.id as string };
  }

  it('gives back into the grant the charge burned, in parts never above the charge, linked to it', async () => {
    const { user, chargeId, promoId } = await charged();
    const first = await op('RefundCharge', { ledgerEntryId: chargeId, amount: 10, reason: 'bad answer' }, admin.token);
    expect(first.errors).toBeUndefined();
    expect(first.data!.refundCharge).toEqual({ refund: { id: expect.any(String), kind: 'REFUND', amount: 10 }, balance: { tokens: 11_985, reserved: 0, available: 11_985 } });
    const grants = (await op('TokenGrants', {}, user.token)).data!.tokenGrants;
    expect(grants.find((g: { id: string }) => g.id === promoId).remaining).toBe(1_985);
    const rest = await gql(t.url, REFUND, { id: chargeId, reason: 'the rest' }, admin.token);
    expect(rest.data!.refundCharge.refund).toMatchObject({ kind: 'REFUND', amount: 15, refersTo: { id: chargeId, kind: 'CHARGE', amount: -25 } });
    const none = await gql(t.url, REFUND, { id: chargeId, amount: 1, reason: 'more?' }, admin.token);
    expect(errorCode(none)).toBe('BAD_USER_INPUT');
    expect(none.errors![0]!.extensions!.refundable).toBe(0);
    // The user sees the refunds with the charge they refer to (and not which admin made them).
    const ledger = await gql(t.url, '{ tokenLedger(first: 2) { edges { node { kind amount details refersTo { id } } } } }', {}, user.token);
    expect(ledger.data!.tokenLedger.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { kind: 'REFUND', amount: 15, details: expect.objectContaining({ reason: 'the rest', refersTo: chargeId }), refersTo: { id: chargeId } },
      { kind: 'REFUND', amount: 10, details: expect.objectContaining({ reason: 'bad answer', refersTo: chargeId }), refersTo: { id: chargeId } },
    ]);
    expect(JSON.stringify(ledger.data)).not.toContain(admin.userId);
    expect((await op('TokenGrants', {}, user.token)).data!.tokenGrants.find((g: { id: string }) => g.id === promoId).remaining).toBe(2_000);
  });

  it('never refunds more than the charge took, under 20 concurrent partial refunds', async () => {
    const { user, chargeId } = await charged();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gql(t.url, REFUND, { id: chargeId, amount: 5, reason: `part ${i}` }, admin.token)));
    expect(results.filter((r) => !r.errors).length).toBe(5);
    expect(results.filter((r) => r.errors).every((r) => errorCode(r) === 'BAD_USER_INPUT')).toBe(true);
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(12_000);
  });

  it('is idempotent by key, per charge', async () => {
    const { user, chargeId } = await charged();
    const a = await gql(t.url, REFUND, { id: chargeId, amount: 7, reason: 'once', key: 'refund-1' }, admin.token);
    const b = await gql(t.url, REFUND, { id: chargeId, amount: 7, reason: 'once', key: 'refund-1' }, admin.token);
    expect(b.data!.refundCharge.refund.id).toBe(a.data!.refundCharge.refund.id);
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(11_982);
    const other = await gql(t.url, REFUND, { id: chargeId, amount: 8, reason: 'once', key: 'refund-1' }, admin.token);
    expect(other.errors![0]!.extensions!.reason).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('puts what came from a grant that has expired since into a REFUND grant without expiry', async () => {
    const { user, chargeId, promoId } = await charged(new Date(Date.now() + 1_500).toISOString());
    const client = wsClient(t.url, user.token);
    try {
      const changes = subscribe(client, 'subscription { balanceChanged { tokens expiringSoon { amount } } }');
      let seen = (await changes.next()).balanceChanged;
      while (seen.expiringSoon !== null) seen = (await changes.next(10_000)).balanceChanged;
      changes.stop();
    } finally {
      await client.dispose();
    }
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(10_000);
    const refund = await gql(t.url, REFUND, { id: chargeId, reason: 'after expiry' }, admin.token);
    expect(refund.data!.refundCharge.balance.tokens).toBe(10_025);
    const grants = (await op('TokenGrants', { includeExpired: true }, user.token)).data!.tokenGrants;
    expect(grants.map((g: { source: string; remaining: number; expiresAt: string | null }) => [g.source, g.remaining, g.expiresAt])).toEqual([
      ['SIGNUP', 10_000, null],
      ['REFUND', 25, null],
      ['PROMOTION', 0, expect.any(String)],
    ]);
    expect(grants.find((g: { id: string }) => g.id === promoId).remaining).toBe(0);
  });

  it('refuses non-admins, other kinds of entries, unknown entries and bad amounts, changing nothing', async () => {
    const { user, chargeId } = await charged();
    expect(errorCode(await gql(t.url, REFUND, { id: chargeId, reason: 'me' }, user.token))).toBe('FORBIDDEN');
    const grantEntry = (await gql(t.url, '{ tokenLedger(first: 3) { edges { node { id kind } } } }', {}, user.token)).data!.tokenLedger.edges.find(
      (e: { node: { kind: string } }) => e.node.kind === 'GRANT',
    ).node.id;
    expect(errorCode(await gql(t.url, REFUND, { id: grantEntry, reason: 'x' }, admin.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, REFUND, { id: '00000000-0000-4000-8000-000000000000', reason: 'x' }, admin.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, REFUND, { id: 'nope', reason: 'x' }, admin.token))).toBe('BAD_USER_INPUT');
    for (const amount of [0, -1, 26]) expect(errorCode(await gql(t.url, REFUND, { id: chargeId, amount, reason: 'x' }, admin.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, REFUND, { id: chargeId, reason: '' }, admin.token))).toBe('BAD_USER_INPUT');
    expect((await gql(t.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(11_975);
    const report = await verifyLedger(t.app.services.orm);
    expect([report.mismatches, report.grantMismatches, report.entryMismatches]).toEqual([[], [], []]);
  });
});
