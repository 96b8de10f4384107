import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { BalanceActor, type Hold, type JournalEntry } from '../src/balance/actor';
import { gql, subscribe, wsClient, wsOnce } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { startPgProxy, type PgProxy } from './support/pg-proxy';
import { startTestApp, type TestApp } from './support/test-app';
import { deferred } from './support/wait';

/**
 * A pushed `tokens` value is committed (issue 17): a charge shows in balanceChanged only once its
 * commit landed, so a widget never shows a balance a crash or a failed commit would take back. The
 * hold shows at once, and a charge waiting for its commit still counts as held.
 */

const BALANCE_CHANGED = 'subscription { balanceChanged { tokens reserved available } }';
const CHAT = `mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "go" }) { balance { tokens } } }`;
const SIGNUP_TOKENS = 5_000;
const CHARGE = 100;

type Balance = { tokens: number; reserved: number; available: number };

const opArb = fc.oneof(
  fc.record({ t: fc.constant('reserve' as const), amount: fc.nat(300) }),
  fc.record({ t: fc.constant('settle' as const), pick: fc.nat(), tokens: fc.nat(400) }),
  fc.record({ t: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ t: fc.constant('grant' as const), amount: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ t: fc.constant('commit' as const), entries: fc.nat(3) }),
);

describe('BalanceActor.committedSnapshot', () => {
  it('shows tokens only as committed, holds at once, tokens == reserved + available, never more available than either view (fast-check)', () => {
    fc.assert(
      fc.property(fc.nat(1_000), fc.array(opArb, { maxLength: 60 }), (start, ops) => {
        const actor = new BalanceActor(randomUUID(), start, 0, 'free', { reservationTtlMs: 60_000, holdsPerUserMax: 1_000 });
        const holds: Hold[] = [];
        const pending: JournalEntry[] = [];
        let committed = start;
        for (const op of ops) {
          if (op.t === 'reserve') {
            const outcome = actor.reserve(op.amount, {}, Date.now());
            if (outcome.ok) holds.push(outcome.hold);
          } else if (op.t === 'settle' && holds.length > 0) {
            const [hold] = holds.splice(op.pick % holds.length, 1);
            const usage = { tokens: op.tokens, promptTokens: op.tokens, completionTokens: 0, costNanoUsd: 0 };
            pending.push(actor.settle(hold!.id, usage, hold!.meta, {}).entry);
          } else if (op.t === 'release' && holds.length > 0) {
            actor.release(holds.splice(op.pick % holds.length, 1)[0]!.id);
          } else if (op.t === 'grant') {
            pending.push(actor.grant(op.amount, { reason: 'test' }, undefined));
          } else if (op.t === 'commit') {
            for (const entry of pending.splice(0, op.entries)) {
              actor.entryCommitted(entry);
              committed = entry.balanceAfter;
            }
          }
          const shown = actor.committedSnapshot();
          expect(shown.tokens).toBe(committed);
          expect(shown.reserved + shown.available).toBe(shown.tokens);
          expect(shown.available).toBeGreaterThanOrEqual(0);
          expect(shown.available).toBeLessThanOrEqual(actor.available);
          if (pending.length === 0) expect(shown).toEqual(actor.snapshot());
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('balanceChanged over a real socket', () => {
  let fake: FakeProvider;
  let proxy: PgProxy | undefined;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startFakeProvider();
    t = await startTestApp(
      { ...openaiEnv(fake), SIGNUP_GRANT_TOKENS: String(SIGNUP_TOKENS) },
      undefined,
      {
        connectThrough: async (url) => {
          proxy = await startPgProxy(url);
          return proxy.url;
        },
      },
    );
  });
  afterAll(async () => {
    proxy?.restore();
    await t?.close();
    await proxy?.close();
    await fake.close();
  });

  it('pushes no tokens value before its commit: a settle waiting on an unreachable database shows as held, then as charged once committed', async () => {
    const user = await t.signUp();
    const created = await gql(t.url, 'mutation { createBrand(input: { name: "Patient" }) { brand { id } } }', {}, user.token);
    const brandId = created.data!.createBrand.brand.id as string;
    const client = wsClient(t.url, user.token);
    const changes = subscribe<{ balanceChanged: Balance }>(client, BALANCE_CHANGED);
    try {
      expect((await changes.next()).balanceChanged).toEqual({ tokens: SIGNUP_TOKENS, reserved: 0, available: SIGNUP_TOKENS });

      // The provider answers only when told, so the database can be cut while the call runs.
      const answer = deferred<void>();
      fake.setBehavior({ gate: answer.promise, usageFor: () => ({ promptTokens: CHARGE - 1, completionTokens: 1 }) });
      const { balance } = t.app.services;
      const settledInMemory = deferred<void>();
      balance.addListener({ changed: (userId) => userId === user.userId && balance.peek(userId)?.tokens === SIGNUP_TOKENS - CHARGE && settledInMemory.resolve() });
      const chat = gql(t.url, CHAT, { b: brandId }, user.token);
      await fake.waitForRequests(1);
      proxy!.cut();
      answer.resolve();
      // The charge is in memory and its change has been published; its commit cannot land.
      await settledInMemory.promise;
      // Everything the server pushed before it answers this, on the same socket, has arrived.
      const now = await wsOnce<{ tokenBalance: Balance }>(client, '{ tokenBalance { tokens } }');
      expect(now.data?.tokenBalance.tokens).toBe(SIGNUP_TOKENS - CHARGE);
      const beforeCommit = changes.buffered().map((v) => v.balanceChanged);
      expect(beforeCommit.length).toBeGreaterThan(0);
      for (const seen of beforeCommit) {
        expect(seen.tokens).toBe(SIGNUP_TOKENS);
        expect(seen.reserved + seen.available).toBe(seen.tokens);
      }
      // The last push is the settled state: the charge held until its commit, available already down.
      expect(beforeCommit[beforeCommit.length - 1]).toEqual({ tokens: SIGNUP_TOKENS, reserved: CHARGE, available: SIGNUP_TOKENS - CHARGE });

      proxy!.restore();
      const charged = await chat;
      expect(charged.errors).toBeUndefined();
      expect(charged.data!.chatWithAndora.balance.tokens).toBe(SIGNUP_TOKENS - CHARGE);
      let seen = (await changes.next()).balanceChanged;
      while (seen.tokens === SIGNUP_TOKENS) seen = (await changes.next()).balanceChanged;
      expect(seen).toEqual({ tokens: SIGNUP_TOKENS - CHARGE, reserved: 0, available: SIGNUP_TOKENS - CHARGE });
    } finally {
      changes.stop();
      await client.dispose();
    }
  });
});
