import { errorCode, gql, type GraphQLResponse } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * An idempotency key stands for one request: the same key with the same request replays the stored
 * result (while the first call runs, and after a restart), with a different request it is refused
 * with IDEMPOTENCY_KEY_REUSED and nothing runs or is charged.
 */

const CHAT = `mutation($input: ChatWithAndoraInput!) { chatWithAndora(input: $input) { reply generationId usage { totalTokens } } }`;
const CHARACTERS = `mutation($input: GenerateCharactersInput!) { generateCharacters(input: $input) { generationId characters { name } } }`;
const CHARGES = `{ tokenLedger(first: 100) { edges { node { kind idempotencyKey details } } } }`;

let fake: FakeProvider;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeProvider();
  t = await startTestApp(openaiEnv(fake));
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.setBehavior({});
  fake.requests.length = 0;
});

async function userWithBrands(app: TestApp = t) {
  const user = await app.signUp();
  const brand = async (name: string) =>
    (await gql(app.url, 'mutation($n: String!) { createBrand(input: { name: $n }) { brand { id } } }', { n: name }, user.token)).data!.createBrand.brand.id as string;
  return { ...user, brandA: await brand('A'), brandA2: await brand('A2') };
}

async function charges(token: string, app: TestApp = t): Promise<any[]> {
  const res = await gql(app.url, CHARGES, {}, token);
  return res.data!.tokenLedger.edges.map((e: any) => e.node).filter((n: any) => n.kind === 'CHARGE');
}

function expectReused(res: GraphQLResponse) {
  expect(errorCode(res)).toBe('BAD_USER_INPUT');
  expect(res.errors![0]!.extensions).toMatchObject({ reason: 'IDEMPOTENCY_KEY_REUSED', field: 'idempotencyKey' });
}

describe('idempotency keys', () => {
  it('refuses a key reused for another brand, message or task, and replays it for the same request however it is spelled', async () => {
    const { token, brandA, brandA2 } = await userWithBrands();
    const first = await gql(t.url, CHAT, { input: { brandId: brandA, message: 'ideas for spring', idempotencyKey: 'k1' } }, token);
    expect(first.errors).toBeUndefined();

    expectReused(await gql(t.url, CHAT, { input: { brandId: brandA2, message: 'ideas for spring', idempotencyKey: 'k1' } }, token));
    expectReused(await gql(t.url, CHAT, { input: { brandId: brandA, message: 'ideas for summer', idempotencyKey: 'k1' } }, token));
    expectReused(await gql(t.url, CHARACTERS, { input: { brandId: brandA, idempotencyKey: 'k1' } }, token));
    // Other key order and whitespace the input is trimmed of: the same request.
    const again = await gql(t.url, CHAT, { input: { idempotencyKey: 'k1', message: '  ideas for spring\n', brandId: brandA } }, token);
    expect(again.data).toEqual(first.data);
    expect(fake.requests).toHaveLength(1);
    const charged = await charges(token);
    expect(charged).toHaveLength(1);
    expect(charged[0].details.requestFingerprint).toMatch(/^[0-9a-f]{64}$/);

    // A default left out or spelled out: the same request; another value: not.
    const three = await gql(t.url, CHARACTERS, { input: { brandId: brandA, idempotencyKey: 'k2' } }, token);
    expect(three.errors).toBeUndefined();
    expect((await gql(t.url, CHARACTERS, { input: { brandId: brandA, count: 3, idempotencyKey: 'k2' } }, token)).data).toEqual(three.data);
    expectReused(await gql(t.url, CHARACTERS, { input: { brandId: brandA, count: 4, idempotencyKey: 'k2' } }, token));
    expect(fake.requests).toHaveLength(2);
    expect(await charges(token)).toHaveLength(2);
  });

  it('refuses a different request while the first is still running, and gives the same request its result', async () => {
    const { token, brandA, brandA2 } = await userWithBrands();
    let release!: () => void;
    fake.setBehavior({ gate: new Promise<void>((resolve) => (release = resolve)) });
    const first = gql(t.url, CHAT, { input: { brandId: brandA, message: 'hello', idempotencyKey: 'k-running' } }, token);
    await fake.waitForRequests(1);

    let same: Promise<GraphQLResponse>;
    try {
      expectReused(await gql(t.url, CHAT, { input: { brandId: brandA2, message: 'hello', idempotencyKey: 'k-running' } }, token));
      same = gql(t.url, CHAT, { input: { brandId: brandA, message: 'hello ', idempotencyKey: 'k-running' } }, token);
    } finally {
      release();
    }
    const [a, b] = await Promise.all([first, same]);
    expect(a.errors).toBeUndefined();
    expect(b.data).toEqual(a.data);
    expect(fake.requests).toHaveLength(1);
    expect(await charges(token)).toHaveLength(1);
  });

  it('keeps what a key was used for across a restart', async () => {
    const own = await startTestApp(openaiEnv(fake));
    try {
      const { token, brandA, brandA2 } = await userWithBrands(own);
      const first = await gql(own.url, CHAT, { input: { brandId: brandA, message: 'remember me', idempotencyKey: 'k-restart' } }, token);
      expect(first.errors).toBeUndefined();
      await own.close({ drop: false });
      Object.assign(own, await startTestApp(own.env, own.db));

      expectReused(await gql(own.url, CHAT, { input: { brandId: brandA2, message: 'remember me', idempotencyKey: 'k-restart' } }, token));
      expect((await gql(own.url, CHAT, { input: { brandId: brandA, message: 'remember me', idempotencyKey: 'k-restart' } }, token)).data).toEqual(first.data);
      expect(fake.requests).toHaveLength(1);
      expect(await charges(token, own)).toHaveLength(1);
    } finally {
      await own.close();
    }
  });
});
