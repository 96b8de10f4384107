import { errorCode, gql, wsClient, wsOnce, type GraphQLResponse } from './support/graphql-client';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Sign-up and sign-in throttling through the real server, over HTTP and the websocket. The app
 * trusts one proxy hop (TRUST_PROXY=1), so each request chooses its client address with
 * X-Forwarded-For, the way our proxy would write it.
 */
const SIGN_UP = `mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p }) { token user { id } } }`;
const SIGN_IN = `mutation($e: String!, $p: String!) { signIn(input: { email: $e, password: $p }) { token user { id } } }`;
const PASSWORD = 'correct horse battery';
const WRONG = 'not the password';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    TRUST_PROXY: '1',
    SIGNUP_PER_ADDRESS_MAX: '3',
    SIGNIN_PER_ADDRESS_MAX: '12',
    SIGNIN_FAILURES_PER_ADDRESS_EMAIL_MAX: '3',
    SIGNIN_FAILURES_PER_EMAIL_MAX: '5',
  });
});
afterAll(() => t.close());

const from = (address: string) => ({ 'x-forwarded-for': address });
const signUp = (address: string, email: string) => gql(t.url, SIGN_UP, { e: email, p: PASSWORD }, undefined, from(address));
const signIn = (address: string, email: string, password: string) => gql(t.url, SIGN_IN, { e: email, p: password }, undefined, from(address));
let n = 0;
const freshEmail = () => `throttled${++n}@example.test`;

function expectRateLimited(res: Omit<GraphQLResponse, 'status'> & { status?: number }, limit: string): void {
  expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit, retryAfterMs: expect.any(Number) });
  const retryAfterMs = res.errors![0]!.extensions!.retryAfterMs as number;
  expect(retryAfterMs).toBeGreaterThan(0);
  if (res.status === undefined) return; // websocket: no HTTP status or headers
  expect(res.status).toBe(429);
  expect(res.headers!.get('retry-after')).toBe(String(Math.ceil(retryAfterMs / 1_000)));
}

describe('sign-up throttle', () => {
  it('refuses sign-ups past the per-address limit, creates nothing, and counts an IPv6 /64 as one address', async () => {
    for (let i = 0; i < 3; i++) expect((await signUp('203.0.113.1', freshEmail())).errors).toBeUndefined();
    const refusedEmail = freshEmail();
    expectRateLimited(await signUp('203.0.113.1', refusedEmail), 'SIGN_UP_PER_ADDRESS');
    // A client cannot choose its address by writing X-Forwarded-For itself: only our proxy's entry counts.
    expectRateLimited(await signUp('198.51.100.7, 203.0.113.1', freshEmail()), 'SIGN_UP_PER_ADDRESS');
    const users = await t.app.services.orm.em.fork().getConnection().execute('select count(*)::int as n from users where email = ?', [refusedEmail]);
    expect(users).toEqual([{ n: 0 }]);
    expect((await signUp('203.0.113.2', freshEmail())).errors).toBeUndefined();

    for (let i = 1; i <= 3; i++) expect((await signUp(`2001:db8:1:2::${i}`, freshEmail())).errors).toBeUndefined();
    expectRateLimited(await signUp('2001:db8:1:2:ffff:ffff:ffff:ffff', freshEmail()), 'SIGN_UP_PER_ADDRESS');
    expect((await signUp('2001:db8:1:3::1', freshEmail())).errors).toBeUndefined();
  });
});

describe('sign-in throttle', () => {
  it("stops guessing one account from one address, while the owner's correct password from their address still works", async () => {
    const owner = freshEmail();
    await signUp('203.0.113.10', owner);
    for (let i = 0; i < 3; i++) expect(errorCode(await signIn('198.51.100.1', owner, WRONG))).toBe('UNAUTHENTICATED');
    // Refused before the password is even checked: the right one does not get through from here either.
    expectRateLimited(await signIn('198.51.100.1', owner, PASSWORD), 'SIGN_IN_FAILURES_PER_ADDRESS_EMAIL');
    expect((await signIn('203.0.113.10', owner, PASSWORD)).data!.signIn.token).toEqual(expect.any(String));
  });

  it("forgives an address's failures for an email once it signs in", async () => {
    const owner = freshEmail();
    await signUp('203.0.113.11', owner);
    // Four failures in all, more than the three one address may have for one email, but never three in a row;
    // fewer than the five that put the email under attack (an owner's own failures count there too).
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) expect(errorCode(await signIn('203.0.113.11', owner, WRONG))).toBe('UNAUTHENTICATED');
      expect((await signIn('203.0.113.11', owner, PASSWORD)).errors).toBeUndefined();
    }
  });

  it('under attack from many addresses, each attacking address gets one guess and the owner from a clean address gets in', async () => {
    const owner = freshEmail();
    await signUp('203.0.113.12', owner);
    for (let i = 1; i <= 5; i++) expect(errorCode(await signIn(`198.51.100.${100 + i}`, owner, WRONG))).toBe('UNAUTHENTICATED');
    expectRateLimited(await signIn('198.51.100.101', owner, WRONG), 'SIGN_IN_FAILURES_PER_EMAIL');
    expect(errorCode(await signIn('198.51.100.106', owner, WRONG))).toBe('UNAUTHENTICATED');
    expectRateLimited(await signIn('198.51.100.106', owner, PASSWORD), 'SIGN_IN_FAILURES_PER_EMAIL');
    expect((await signIn('203.0.113.12', owner, PASSWORD)).errors).toBeUndefined();
  });

  it('limits attempts per address whatever the email, and refuses unknown emails like known ones', async () => {
    for (let i = 0; i < 12; i++) expect(errorCode(await signIn('192.0.2.50', `nobody${i}@example.test`, WRONG))).toBe('UNAUTHENTICATED');
    expectRateLimited(await signIn('192.0.2.50', 'nobody-else@example.test', WRONG), 'SIGN_IN_PER_ADDRESS');
  });

  it("applies over the websocket too, with the socket's address, sharing the budget with HTTP", async () => {
    const owner = freshEmail();
    await signUp('203.0.113.13', owner);
    const user = freshEmail();
    const token = (await signUp('203.0.113.14', user)).data!.signUp.token as string;
    const client = wsClient(t.url, token, { headers: from('198.51.100.77') });
    try {
      for (let i = 0; i < 2; i++) expect(errorCode(await wsOnce(client, SIGN_IN, { e: owner, p: WRONG }))).toBe('UNAUTHENTICATED');
      expect(errorCode(await signIn('198.51.100.77', owner, WRONG))).toBe('UNAUTHENTICATED');
      expectRateLimited(await wsOnce(client, SIGN_IN, { e: owner, p: PASSWORD }), 'SIGN_IN_FAILURES_PER_ADDRESS_EMAIL');
      expectRateLimited(await signIn('198.51.100.77', owner, PASSWORD), 'SIGN_IN_FAILURES_PER_ADDRESS_EMAIL');
      for (let i = 0; i < 3; i++) await wsOnce(client, SIGN_UP, { e: freshEmail(), p: PASSWORD });
      expectRateLimited(await wsOnce(client, SIGN_UP, { e: freshEmail(), p: PASSWORD }), 'SIGN_UP_PER_ADDRESS');
    } finally {
      await client.dispose();
    }
  });
});

describe('without TRUST_PROXY', () => {
  it('ignores X-Forwarded-For: a client cannot choose its address', async () => {
    const direct = await startTestApp({ SIGNUP_PER_ADDRESS_MAX: '2' });
    try {
      const up = (address: string) => gql(direct.url, SIGN_UP, { e: freshEmail(), p: PASSWORD }, undefined, from(address));
      expect((await up('203.0.113.20')).errors).toBeUndefined();
      expect((await up('203.0.113.21')).errors).toBeUndefined();
      expectRateLimited(await up('203.0.113.22'), 'SIGN_UP_PER_ADDRESS');
    } finally {
      await direct.close();
    }
  });
});
