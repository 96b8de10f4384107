import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { startTestApp, type TestApp } from './support/test-app';

/** The smaller holes: /metrics behind a token, a cap on one user's sockets, a deleted account's token. */
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const SOCKETS_MAX = 3;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ METRICS_TOKEN, WEBSOCKETS_PER_USER_MAX: String(SOCKETS_MAX) });
});
afterAll(() => t.close());

describe('GET /metrics with METRICS_TOKEN', () => {
  const metrics = (authorization?: string) =>
    fetch(t.url.replace('/graphql', '/metrics'), { headers: authorization ? { authorization } : {} });

  it('answers 401 without the token or with a wrong one, and the metrics with it', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN, `Basic ${METRICS_TOKEN}`]) {
      const res = await metrics(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toMatch(/andora_/);
    }
    const res = await metrics(`Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/andora_/);
  });
});

describe('websockets per user', () => {
  it(`closes a user's socket past ${SOCKETS_MAX} with 4429, and takes a new one once another closes`, async () => {
    const { token } = await t.signUp();
    const open = async () => {
      const closes: number[] = [];
      const client = wsClient(t.url, token, { onClose: (code) => closes.push(code) });
      const sub = subscribe<{ balanceChanged: { tokens: number } }>(client, 'subscription { balanceChanged { tokens } }');
      const first = await Promise.race([sub.next().then(() => 'open' as const), sub.done.then(() => 'closed' as const)]);
      return { client, sub, first, closes };
    };
    const sockets = [];
    for (let i = 0; i < SOCKETS_MAX; i++) sockets.push(await open());
    expect(sockets.map((s) => s.first)).toEqual(Array(SOCKETS_MAX).fill('open'));
    const extra = await open();
    expect(extra.first).toBe('closed');
    expect(extra.closes).toEqual([4429]);
    await extra.client.dispose();
    // Another user is not affected.
    const other = wsClient(t.url, (await t.signUp()).token);
    const otherSub = subscribe<{ balanceChanged: { tokens: number } }>(other, 'subscription { balanceChanged { tokens } }');
    expect((await otherSub.next()).balanceChanged.tokens).toBe(10_000);
    await other.dispose();

    await sockets.pop()!.client.dispose();
    // The server counts the socket out when it sees the close: retry (bounded) until it has.
    let again = await open();
    for (let attempt = 0; again.first === 'closed' && attempt < 50; attempt++) {
      await again.client.dispose();
      await new Promise((r) => setTimeout(r, 20));
      again = await open();
    }
    expect(again.first).toBe('open');
    for (const s of [...sockets, again]) await s.client.dispose();
  });
});

describe("a deleted account's token", () => {
  it('gets UNAUTHENTICATED on createBrand, not an internal error', async () => {
    const { token, userId } = await t.signUp();
    await t.app.services.orm.em.fork().getConnection().execute('delete from users where id = ?', [userId]);
    const res = await gql(t.url, 'mutation { createBrand(input: { name: "Ghost" }) { brand { id } } }', {}, token);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.errors![0]!.message).toMatch(/no longer exists/);
  });
});
