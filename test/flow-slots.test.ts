import { errorCode, gql, type GraphQLResponse } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The flow slot table with small bounds: 2 per user, 6 in all, the last 2 kept for users under their
 * fair share (so past 4 running, a user holding 4 / holders or more is refused). Every provider
 * request waits on a gate, so the flows stay running until the test cancels them.
 */

const START = `mutation($b: ID!) { startExpandBriefFlow(input: { brandId: $b, brief: "spring" }) { flowRun { id } } }`;
const CANCEL = `mutation($id: ID!) { cancelFlow(input: { flowRunId: $id }) { flowRun { status } } }`;

let fake: FakeProvider;
let t: TestApp;
let release!: () => void;

beforeAll(async () => {
  fake = await startFakeProvider();
  t = await startTestApp({
    ...openaiEnv(fake),
    FLOWS_PER_USER_MAX: '2',
    FLOWS_RUNNING_MAX: '6',
    FLOWS_FAIR_SHARE_RESERVE: '2',
  });
  fake.setBehavior({ gate: new Promise<void>((resolve) => (release = resolve)) });
});
afterAll(async () => {
  release();
  await t.close();
  await fake.close();
});

async function userWithBrand() {
  const user = await t.signUp();
  const res = await gql(t.url, 'mutation { createBrand(input: { name: "Busy" }) { brand { id } } }', {}, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

type User = Awaited<ReturnType<typeof userWithBrand>>;
const running: Array<{ user: User; id: string }> = [];

async function start(user: User): Promise<GraphQLResponse> {
  const res = await gql(t.url, START, { b: user.brandId }, user.token);
  if (res.data) running.push({ user, id: res.data.startExpandBriefFlow.flowRun.id });
  return res;
}

function expectRefused(res: GraphQLResponse, code: string, limit: string) {
  expect({ code: errorCode(res), limit: res.errors?.[0]?.extensions?.limit }).toEqual({ code, limit });
}

describe('flow slots', () => {
  it('refuses the users holding the most slots first when the table is nearly full, and names the bound that refused', async () => {
    const [a, b, c, d, e] = [await userWithBrand(), await userWithBrand(), await userWithBrand(), await userWithBrand(), await userWithBrand()];
    expect((await start(a)).errors).toBeUndefined();
    expect((await start(a)).errors).toBeUndefined();
    expectRefused(await start(a), 'RATE_LIMITED', 'flowsPerUser');
    expect((await start(b)).errors).toBeUndefined();
    expect((await start(b)).errors).toBeUndefined(); // 4 running: the high-water mark
    // Past it, a user holding their share (4 / 3 holders = 1) is refused, while a newcomer gets a slot.
    expect((await start(c)).errors).toBeUndefined();
    expectRefused(await start(c), 'RATE_LIMITED', 'flowsFairShare');
    expect((await start(d)).errors).toBeUndefined(); // 6 running: the table is full
    expectRefused(await start(e), 'SERVICE_UNAVAILABLE', 'flowsRunning');
    await fake.waitForRequests(6);

    // A slot given back goes to the newcomer, not to the user who already holds one.
    const first = running.find((r) => r.user === a)!;
    expect((await gql(t.url, CANCEL, { id: first.id }, a.token)).data!.cancelFlow.flowRun.status).toBe('CANCELLED');
    expectRefused(await start(d), 'RATE_LIMITED', 'flowsFairShare');
    expect((await start(e)).errors).toBeUndefined();

    for (const { user, id } of running.filter((r) => r !== first)) await gql(t.url, CANCEL, { id }, user.token);
    const free = await userWithBrand();
    release();
    expect((await start(free)).errors).toBeUndefined();
  });
});
