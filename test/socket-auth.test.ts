import { SignJWT } from 'jose';
import { gql, subscribe, wsClient, wsOnce } from './support/graphql-client';
import { TEST_JWT_SECRET, startTestApp, type TestApp } from './support/test-app';

/**
 * A websocket lives no longer than its credentials: closed with 4401 when its token expires,
 * with 4403 when its account is deleted, and a demoted admin's admin-only subscription ends.
 */
const CREATE_BRAND = 'mutation($n: String!) { createBrand(input: { name: $n }) { brand { id name } } }';
const SET_ROLE = `mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) { user { role } } }`;
const PASSWORD = 'correct horse battery';
/** Longest wait for an event the server must send (a close, an alert); fails loudly past it. */
const EVENT_WAIT_MS = 20_000;

let t: TestApp;
let root: { token: string; userId: string };
beforeAll(async () => {
  // Every chat is "high usage", so each one raises an alert for everyone's-alerts subscribers.
  t = await startTestApp({ ADMIN_EMAILS: 'root@example.test', HIGH_USAGE_THRESHOLD: '1' });
  root = await t.signUp('root@example.test');
});
afterAll(() => t.close());

function within<T>(promise: Promise<T>, what: string, ms = EVENT_WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A client whose closes are awaited in order: `closed()` resolves with the next close code. */
function watchedClient(token: string) {
  const codes: number[] = [];
  const waiters: Array<(code: number) => void> = [];
  const client = wsClient(t.url, token, {
    onClose: (code) => {
      const waiter = waiters.shift();
      if (waiter) waiter(code);
      else codes.push(code);
    },
  });
  const closed = () => within(codes.length > 0 ? Promise.resolve(codes.shift()!) : new Promise<number>((r) => waiters.push(r)), 'socket close');
  return { client, closed };
}

async function brandNames(userEmail: string): Promise<string[]> {
  const signIn = await gql(t.url, 'mutation($e: String!, $p: String!) { signIn(input: { email: $e, password: $p }) { token } }', { e: userEmail, p: PASSWORD });
  const me = await gql(t.url, '{ me { brands { name } } }', {}, signIn.data!.signIn.token);
  return me.data!.me.brands.map((b: { name: string }) => b.name);
}

describe('websocket credentials', () => {
  it('closes a socket with 4401 when its token expires; nothing runs on it afterwards', async () => {
    const user = await t.signUp(undefined, PASSWORD);
    const expiresAt = Math.floor(Date.now() / 1_000) + 3;
    const shortToken = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.userId)
      .setIssuer('andora-tokens')
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const { client, closed } = watchedClient(shortToken);
    const live = subscribe(client, 'subscription { balanceChanged { tokens } }');
    await within(live.next(), 'first balance');
    expect((await wsOnce(client, CREATE_BRAND, { n: 'Before expiry' })).errors).toBeUndefined();

    expect(await closed()).toBe(4401);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt * 1_000);
    // The client reconnects with the same token: refused at connect (4403), the mutation never runs.
    await expect(wsOnce(client, CREATE_BRAND, { n: 'After expiry' })).rejects.toThrow(/closed before an answer: 4403/);
    expect(await brandNames(user.email)).toEqual(['Before expiry']);
    await client.dispose();
  });

  it("closes a deleted account's socket with 4403 at its next operation", async () => {
    const user = await t.signUp();
    const { client, closed } = watchedClient(user.token);
    const live = subscribe(client, 'subscription { balanceChanged { tokens } }');
    await within(live.next(), 'first balance');
    await t.app.services.orm.em.fork().getConnection().execute('delete from users where id = ?', [user.userId]);

    await expect(wsOnce(client, CREATE_BRAND, { n: 'Orphan' })).rejects.toThrow(/closed before an answer/);
    expect(await closed()).toBe(4403);
    const orphans = await t.app.services.orm.em.fork().getConnection().execute('select count(*)::int as n from brands where owner_id = ?', [user.userId]);
    expect(orphans).toEqual([{ n: 0 }]);
    await client.dispose();
  });

  it("ends a demoted admin's subscription to everyone's alerts at the next alert, with FORBIDDEN; the socket stays up", async () => {
    const deputy = await t.signUp(undefined, PASSWORD);
    expect((await gql(t.url, SET_ROLE, { u: deputy.userId, r: 'ADMIN' }, root.token)).errors).toBeUndefined();
    const signIn = await gql(t.url, 'mutation($e: String!, $p: String!) { signIn(input: { email: $e, password: $p }) { token } }', { e: deputy.email, p: PASSWORD });
    const deputyToken = signIn.data!.signIn.token as string;
    const { client } = watchedClient(deputyToken);
    const everyone = subscribe<{ tokenAlertRaised: { userId: string; type: string } }>(client, 'subscription { tokenAlertRaised(allUsers: true) { userId type } }');

    const user = await t.signUp();
    const brand = await gql(t.url, CREATE_BRAND, { n: 'Watched' }, user.token);
    const chat = () => gql(t.url, 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { reply } }', { b: brand.data!.createBrand.brand.id }, user.token);
    expect((await chat()).errors).toBeUndefined();
    expect((await within(everyone.next(), 'alert while admin')).tokenAlertRaised).toEqual({ userId: user.userId, type: 'HIGH_USAGE' });

    expect((await gql(t.url, SET_ROLE, { u: deputy.userId, r: 'USER' }, root.token)).errors).toBeUndefined();
    expect((await chat()).errors).toBeUndefined();
    await within(everyone.done, 'subscription end');
    expect(everyone.buffered()).toEqual([]);
    expect((everyone.errors[0] as { extensions: { code: string } }).extensions.code).toBe('FORBIDDEN');

    const again = await wsOnce(client, 'subscription { tokenAlertRaised(allUsers: true) { id } }');
    expect(again.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await wsOnce(client, '{ me { id role } }')).data).toEqual({ me: { id: deputy.userId, role: 'USER' } });
    await client.dispose();
  });
});
