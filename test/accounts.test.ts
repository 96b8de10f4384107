import { SignJWT } from 'jose';
import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { TEST_JWT_SECRET, startTestApp, type TestApp } from './support/test-app';
import { subscribersReach } from './support/wait';

const SIGN_UP = `mutation SignUp($email: String!, $password: String!) {
  signUp(input: { email: $email, password: $password }) { token user { id email role plan } } }`;
const SIGN_IN = `mutation SignIn($email: String!, $password: String!) {
  signIn(input: { email: $email, password: $password }) { token user { id email role } } }`;
const ME = `query Me { me { id email role plan balance { tokens reserved available plan } brands { id name } } }`;
const BALANCE = `query TokenBalance { tokenBalance { tokens reserved available plan } }`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ ADMIN_EMAILS: 'Boss@Example.com' });
});
afterAll(() => t.close());

describe('accounts over HTTP', () => {
  it('signs up, signs in, creates a brand and reads me and the balance', async () => {
    const up = await gql(t.url, SIGN_UP, { email: '  Alice@Example.COM ', password: 'wonderland1' });
    expect(up.errors).toBeUndefined();
    expect(up.data!.signUp.user).toMatchObject({ email: 'alice@example.com', role: 'USER', plan: 'free' });

    const signIn = await gql(t.url, SIGN_IN, { email: 'alice@example.com', password: 'wonderland1' });
    const token = signIn.data!.signIn.token as string;
    expect(signIn.data!.signIn.user.id).toBe(up.data!.signUp.user.id);

    const brand = await gql(t.url, `mutation { createBrand(input: { name: "Acme", industry: "Rockets" }) { brand { id name } } }`, {}, token);
    expect(brand.data!.createBrand.brand.name).toBe('Acme');

    const me = await gql(t.url, ME, {}, token);
    expect(me.data!.me).toMatchObject({
      email: 'alice@example.com',
      balance: { tokens: 10_000, reserved: 0, available: 10_000, plan: 'free' },
      brands: [{ id: brand.data!.createBrand.brand.id, name: 'Acme' }],
    });
    const balance = await gql(t.url, BALANCE, {}, token);
    expect(balance.data!.tokenBalance).toEqual({ tokens: 10_000, reserved: 0, available: 10_000, plan: 'free' });
  });

  it('gives ADMIN to emails listed in ADMIN_EMAILS, whatever their case', async () => {
    const up = await gql(t.url, SIGN_UP, { email: 'boss@example.com', password: 'in-charge-1' });
    expect(up.data!.signUp.user.role).toBe('ADMIN');
  });

  it('refuses a duplicate email, a malformed email and a short password with BAD_USER_INPUT', async () => {
    await t.signUp('dup@example.com');
    for (const [email, password] of [
      ['DUP@example.com', 'long enough 1'],
      ['not-an-email', 'long enough 1'],
      ['short@example.com', 'short'],
      ['long@example.com', 'x'.repeat(129)],
    ]) {
      const res = await gql(t.url, SIGN_UP, { email, password });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
    }
    const count = await gql(t.url, SIGN_IN, { email: 'short@example.com', password: 'short' });
    expect(errorCode(count)).toBe('UNAUTHENTICATED');
  });

  it('answers a wrong password and an unknown email alike: UNAUTHENTICATED', async () => {
    const { email } = await t.signUp();
    const wrong = await gql(t.url, SIGN_IN, { email, password: 'not the password' });
    const unknown = await gql(t.url, SIGN_IN, { email: 'nobody@example.com', password: 'whatever123' });
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
  });

  it('refuses missing, forged and expired tokens with UNAUTHENTICATED', async () => {
    const { userId } = await t.signUp();
    const forged = await new SignJWT({ role: 'ADMIN' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer('andora-tokens')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    const expired = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer('andora-tokens')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect(errorCode(await gql(t.url, ME))).toBe('UNAUTHENTICATED');
    for (const token of [forged, expired, 'garbage']) {
      const res = await gql(t.url, ME, {}, token);
      expect(res.status).toBe(401);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
    }
    const expiredRes = await gql(t.url, ME, {}, expired);
    expect(expiredRes.errors![0]!.message).toMatch(/expired/);
  });

  it('refuses a websocket without a valid token (4403) and accepts one with it', async () => {
    for (const token of [undefined, 'forged']) {
      let closedWith = 0;
      const client = wsClient(t.url, token, { onClose: (code) => (closedWith = code) });
      const sub = subscribe(client, 'subscription { balanceChanged { tokens } }');
      await sub.done;
      expect(closedWith).toBe(4403);
      await client.dispose();
    }
    const { token } = await t.signUp();
    const client = wsClient(t.url, token);
    const sub = subscribe<{ balanceChanged: { tokens: number } }>(client, 'subscription { balanceChanged { tokens } }');
    expect((await sub.next()).balanceChanged.tokens).toBe(10_000);
    sub.stop();
    await client.dispose();
  });

  it('allows at most 20 subscriptions on one websocket, and the connection stays up', async () => {
    const { token } = await t.signUp();
    const client = wsClient(t.url, token);
    const subs = Array.from({ length: 21 }, () => subscribe<{ balanceChanged: { tokens: number } }>(client, 'subscription { balanceChanged { tokens } }'));
    const first20 = await Promise.all(subs.slice(0, 20).map((s) => s.next()));
    expect(first20.every((v) => v.balanceChanged.tokens === 10_000)).toBe(true);
    await subs[20]!.done;
    expect((subs[20]!.errors[0] as any)[0].extensions.code).toBe('RATE_LIMITED');
    // The server frees the slot once it has processed the client's complete: wait for that (bounded).
    const open = t.app.services.pubsub.subscriberCount();
    subs[0]!.stop();
    await subscribersReach(t.app.services.pubsub, (n) => n === open - 1, 'the server to free the stopped subscription');
    const again = subscribe<{ balanceChanged: { tokens: number } }>(client, 'subscription { balanceChanged { tokens } }');
    expect((await again.next()).balanceChanged.tokens).toBe(10_000);
    for (const s of [...subs, again]) s.stop();
    await client.dispose();
  });

  it('keeps brands private: another user gets NOT_FOUND', async () => {
    const a = await t.signUp();
    const b = await t.signUp();
    const created = await gql(t.url, 'mutation { createBrand(input: { name: "Mine" }) { brand { id } } }', {}, a.token);
    const id = created.data!.createBrand.brand.id;
    expect(errorCode(await gql(t.url, 'query($id: ID!) { brand(id: $id) { name } }', { id }, b.token))).toBe('NOT_FOUND');
    expect((await gql(t.url, 'query($id: ID!) { brand(id: $id) { name } }', { id }, a.token)).data!.brand.name).toBe('Mine');
    const empty = await gql(t.url, 'mutation { createBrand(input: { name: "   " }) { brand { id } } }', {}, a.token);
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
  });
});

describe('hostile documents', () => {
  const stillServes = async () => {
    const { token } = await t.signUp();
    const res = await gql(t.url, BALANCE, {}, token);
    expect(res.data!.tokenBalance.tokens).toBe(10_000);
  };

  it('refuses a document 50 levels deep', async () => {
    let selection = 'id';
    for (let i = 0; i < 50; i++) selection = `me { ${selection} }`;
    const res = await gql(t.url, `query { ${selection} }`);
    expect(res.status).toBe(400);
    expect(res.errors!.map((e) => e.message).join('\n')).toMatch(/depth limit of 12 exceeded, found 51/);
    await stillServes();
  });

  it('refuses 500 aliases', async () => {
    const aliases = Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(' ');
    const res = await gql(t.url, `query { ${aliases} }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.message).toMatch(/too many aliases: at most 30/);
    await stillServes();
  });

  it('refuses a 5 MB string with a clear error', async () => {
    const res = await gql(t.url, SIGN_UP, { email: 'big@example.com', password: 'x'.repeat(5_000_000) });
    expect(res.status).toBe(413);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toMatch(/too large/);
    await stillServes();
  });

  it('refuses a long string argument below the body limit', async () => {
    const { token } = await t.signUp();
    const res = await gql(t.url, 'mutation($n: String!) { createBrand(input: { name: $n }) { brand { id } } }', { n: 'n'.repeat(10_000) }, token);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });
});

describe('restart', () => {
  it('keeps accounts, brands and tokens across a restart on the same database', async () => {
    const first = await startTestApp();
    const { token, email } = await first.signUp();
    await gql(first.url, 'mutation { createBrand(input: { name: "Durable" }) { brand { id } } }', {}, token);
    await first.close({ drop: false });

    const second = await startTestApp({}, first.db);
    try {
      const signIn = await gql(second.url, SIGN_IN, { email, password: 'correct horse battery' });
      const me = await gql(second.url, ME, {}, signIn.data!.signIn.token);
      expect(me.data!.me.brands.map((b: { name: string }) => b.name)).toEqual(['Durable']);
      expect(me.data!.me.balance.tokens).toBe(10_000);
    } finally {
      await second.close();
    }
  });
});
