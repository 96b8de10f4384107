import { gql, subscribe, wsClient, type GraphQLResponse } from './support/graphql-client';
import { assertBuilt, killAllServers, runVerifyCli, serverProcessEnv, startServerProcess, type ServerProcess } from './support/server-process';
import { createTestDatabase } from './support/test-app';
import { within } from './support/wait';

/**
 * kill -9 of the compiled server under grant + expiry + charge load: grants with and without an
 * expiry a second or two ahead (so expiries happen during the load and after the restart), and
 * generations charged against them (offline provider). Every acknowledged grant and charge must be
 * in the ledger after the restart, grants due while the server was down expire after it, and
 * ledger:verify (which recomputes every grant from the burns) passes.
 */
const ADMIN_EMAIL = 'credits-kill@example.com';
const PASSWORD = 'correct horse battery';
const USERS = 4;
const ACKS_BEFORE_KILL = 150;

type Outcome = { kind: 'grant' | 'charge'; userIndex: number; id?: string; code?: string; outcome: 'pending' | 'acked' | 'refused' | 'lost' };

async function signUp(url: string, email: string): Promise<{ userId: string; token: string }> {
  const res = await gql(url, 'mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p }) { token user { id } } }', { e: email, p: PASSWORD });
  return { userId: res.data!.signUp.user.id, token: res.data!.signUp.token };
}

describe('kill -9 under grant + expiry + charge load', () => {
  afterAll(() => killAllServers());

  it('keeps every acknowledged grant and charge, expires what came due, and the grants recompute', async () => {
    assertBuilt();
    const db = await createTestDatabase();
    const env = serverProcessEnv(db, ADMIN_EMAIL);
    try {
      let server: ServerProcess = await startServerProcess(env);
      const admin = await signUp(server.url, ADMIN_EMAIL);
      const users = await Promise.all(Array.from({ length: USERS }, (_, i) => signUp(server.url, `credits-kill${i}@example.com`)));
      const brands = await Promise.all(
        users.map(async (u) => (await gql(server.url, 'mutation { createBrand(input: { name: "Kill" }) { brand { id } } }', {}, u.token)).data!.createBrand.brand.id as string),
      );

      const outcomes: Outcome[] = [];
      let acked = 0;
      let killed = false;
      let reachedAcks!: () => void;
      const enoughAcks = new Promise<void>((resolve) => (reachedAcks = resolve));
      const one = async (i: number) => {
        const userIndex = i % USERS;
        const user = users[userIndex]!;
        const isCharge = i % 3 === 2;
        const record: Outcome = { kind: isCharge ? 'charge' : 'grant', userIndex, outcome: 'pending' };
        outcomes.push(record);
        try {
          if (isCharge) {
            const res = await gql(server.url, 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { generationId } }', { b: brands[userIndex] }, user.token);
            record.id = res.data?.chatWithAndora?.generationId;
          } else {
            // Far enough ahead to be in the future when a loaded server parses it, near enough to come due around the kill.
            const expiresAt = i % 2 === 0 ? new Date(Date.now() + 4_000 + (i % 5) * 400).toISOString() : null;
            const res = await gql(
              server.url,
              'mutation($u: ID!, $a: Int!, $r: String!, $e: DateTime) { grantTokens(input: { userId: $u, amount: $a, reason: $r, expiresAt: $e, source: PROMOTION }) { ledgerEntry { id } } }',
              { u: user.userId, a: 50 + (i % 17), r: `kill-${i}`, e: expiresAt },
              admin.token,
            );
            record.id = res.data?.grantTokens?.ledgerEntry?.id;
            record.code = res.errors?.[0]?.extensions?.code ?? res.errors?.[0]?.message;
          }
          record.outcome = record.id ? 'acked' : 'refused';
          if (record.id && ++acked === ACKS_BEFORE_KILL) reachedAcks();
        } catch {
          record.outcome = 'lost';
        }
      };
      let next = 0;
      const worker = async () => {
        while (!killed && next < 20_000) {
          await one(next++);
          if (outcomes.at(-1)?.outcome === 'lost') return;
        }
      };
      const load = Promise.all(Array.from({ length: 32 }, worker));
      await within(enoughAcks, 90_000, `${ACKS_BEFORE_KILL} acknowledged grants and charges`);
      killed = true;
      const exit = await within(server.kill('SIGKILL'), 10_000, 'the killed server to exit');
      expect(exit.signal).toBe('SIGKILL');
      await within(load, 30_000, 'the in-flight requests to fail');
      // A charge may be refused (INSUFFICIENT_TOKENS cannot happen here: 10,000 tokens, small chats); a grant never.
      expect(outcomes.filter((o) => o.outcome === 'refused' && o.kind === 'grant')).toEqual([]);

      server = await startServerProcess(env);
      expect(server.logs.some((l) => String(l.msg).startsWith('ledger check passed'))).toBe(true);
      for (const [index, user] of users.entries()) {
        const ids = new Set<string>();
        let after: string | null = null;
        for (let page = 0; page < 100; page++) {
          const res: GraphQLResponse = await gql(server.url, 'query($a: String) { tokenLedger(first: 100, after: $a) { edges { node { id kind } } pageInfo { hasNextPage endCursor } } }', { a: after }, user.token);
          for (const e of res.data!.tokenLedger.edges) ids.add(e.node.id);
          if (!res.data!.tokenLedger.pageInfo.hasNextPage) break;
          after = res.data!.tokenLedger.pageInfo.endCursor;
        }
        for (const o of outcomes.filter((x) => x.userIndex === index && x.outcome === 'acked')) {
          if (o.kind === 'grant') expect(ids.has(o.id!)).toBe(true);
          else expect((await gql(server.url, 'query($g: ID!) { generation(id: $g) { ledgerEntryId } }', { g: o.id }, user.token)).data!.generation.ledgerEntryId).toMatch(/./);
        }
      }
      // Every grant given during the load expires within about 6 s of it; the balance subscription says when none is left.
      for (const user of users) {
        const client = wsClient(server.url, user.token);
        try {
          const changes = subscribe(client, 'subscription { balanceChanged { expiringSoon { amount } } }');
          let seen = (await changes.next()).balanceChanged;
          while (seen.expiringSoon !== null) seen = (await changes.next()).balanceChanged;
          changes.stop();
        } finally {
          await client.dispose();
        }
        const grants = await gql(server.url, '{ tokenGrants { expiresAt } }', {}, user.token);
        expect(grants.data!.tokenGrants.filter((g: { expiresAt: string | null }) => g.expiresAt !== null)).toEqual([]);
      }
      await within(server.kill('SIGKILL'), 10_000, 'the server to stop');
      const verified = await runVerifyCli(env);
      expect(verified).toMatchObject({ code: 0, stdout: expect.stringContaining('ledger OK') });
      console.info(
        `credits kill -9 (${db.env.DATABASE_URL ? 'PostgreSQL' : 'embedded'}): ${outcomes.length} requests, ` +
          `${outcomes.filter((o) => o.outcome === 'acked').length} acknowledged and all stored; ${outcomes.filter((o) => o.outcome === 'lost').length} unanswered`,
      );
    } finally {
      await killAllServers();
      await db.drop();
    }
  }, 240_000);
});
