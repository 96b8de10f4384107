import type { ChatMessage, JsonReplySchema } from '../src/ai/provider';
import { LIMITS } from '../src/config';
import { FLOWS } from '../src/flows/flows';
import { countMessageTokens, countSchemaTokens } from '../src/ai/tokenizer';
import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, type FakeRequestBody, openaiEnv } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * A flow is estimated before it runs and refused when the balance cannot cover the estimate. The
 * estimate must bound what the run can charge (every flow, with a vendor that always bills the whole
 * output cap and a calendar that fills every week's note), and stay small enough that a new account
 * runs every flow of the catalog, the README's calendar example included.
 */

const BRAND = { name: 'Andora Shoes', industry: 'footwear', audience: 'runners who train before work', description: 'Trail running shoes made in Porto.' };
const CHARGES = `{ tokenLedger(first: 100) { edges { node { kind amount } } } }`;

/** Ordinary English of exactly `chars` characters. */
const prose = (chars: number) => 'the brand tells a warm story about mornings and the people who gather there '.repeat(Math.ceil(chars / 70)).slice(0, chars);

/** Every flow's input (beyond brandId) with every field at its limit: the largest prompts. */
const LARGEST: Record<string, Record<string, unknown>> = {
  startContentFlow: { topic: prose(LIMITS.shortInputCharsMax), channel: prose(LIMITS.shortInputCharsMax) },
  startContentRefinementFlow: { content: prose(LIMITS.textInputCharsMax), instruction: prose(LIMITS.shortInputCharsMax) },
  startCharacterFlow: { count: 8, focus: prose(LIMITS.shortInputCharsMax) },
  startCharacterRefinementFlow: {
    characterName: prose(LIMITS.shortInputCharsMax),
    instruction: prose(LIMITS.shortInputCharsMax),
    currentProfile: prose(LIMITS.textInputCharsMax),
  },
  startBrandNarrativeFlow: { focus: prose(LIMITS.shortInputCharsMax) },
  startSeasonThemeFlow: { season: prose(LIMITS.shortInputCharsMax) },
  startMonthlyPlotFlow: { month: '2027-12', theme: prose(LIMITS.shortInputCharsMax) },
  startWeeklySubplotFlow: { month: '2027-12', week: 5, plotSynopsis: prose(LIMITS.textInputCharsMax) },
  startCalendarBatchFlow: { month: '2027-12', postsPerWeek: 14 },
  startExpandBriefFlow: { brief: prose(LIMITS.textInputCharsMax) },
};

/** What a client would typically send (the calendar as the README shows it). */
const TYPICAL: Record<string, Record<string, unknown>> = {
  startContentFlow: { topic: 'Winter running', channel: 'instagram' },
  startContentRefinementFlow: { content: 'Our shoes are good. Buy them.', instruction: 'Make it vivid' },
  startCharacterFlow: {},
  startCharacterRefinementFlow: { characterName: 'Ava', instruction: 'make her braver' },
  startBrandNarrativeFlow: {},
  startSeasonThemeFlow: { season: 'Summer 2027' },
  startMonthlyPlotFlow: { month: '2027-03' },
  startWeeklySubplotFlow: { month: '2027-03', week: 2 },
  startCalendarBatchFlow: { month: '2027-01' },
  startExpandBriefFlow: { brief: 'Launch post for the spring line' },
};

/** Two posts on every day of the month with long summaries: every week's selection is past its budget. */
function fullCalendar(body: FakeRequestBody): string {
  const month = /\((\d{4}-\d{2})\)/.exec(JSON.stringify(body.messages))?.[1] ?? '2027-01';
  const lines = [];
  for (let day = 1; day <= 31; day++) {
    for (const channel of ['instagram', 'newsletter']) lines.push(`${month}-${String(day).padStart(2, '0')} | ${channel} | A morning run with good friends | ${prose(180)}`);
  }
  return lines.join('\n');
}

/**
 * The worst vendor: bills the prompt exactly as our tokenizer counts it (the reply schema included)
 * and the whole output cap, whatever it answers; the calendar it answers fills every week.
 */
function billsEverything(body: FakeRequestBody) {
  const schema = (body.response_format as { json_schema?: JsonReplySchema } | undefined)?.json_schema;
  const promptTokens = countMessageTokens(body.model!, body.messages as ChatMessage[]) + (schema ? countSchemaTokens(body.model!, schema) : 0);
  return { promptTokens, completionTokens: body.max_completion_tokens ?? body.max_tokens ?? 0 };
}
const fullCapBehavior = {
  reply: (body: FakeRequestBody) => (JSON.stringify(body.messages).includes('content calendar') ? fullCalendar(body) : `Echo ${prose(400)}`),
  usageFor: billsEverything,
};

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider(fullCapBehavior);
});
afterAll(() => fake.close());

const fakeEnv = () => openaiEnv(fake);

async function userWithBrand(app: TestApp) {
  const user = await app.signUp();
  const res = await gql(app.url, 'mutation($i: CreateBrandInput!) { createBrand(input: $i) { brand { id } } }', { i: BRAND }, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

function startDocument(mutation: string): string {
  return `mutation($input: ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) { flowRun { id } } }`;
}

/** Starts a flow and follows it over the websocket to its last event. */
async function run(app: TestApp, token: string, mutation: string, input: Record<string, unknown>): Promise<string> {
  const res = await gql(app.url, startDocument(mutation), { input }, token);
  if (!res.data) throw new Error(`${mutation}: ${JSON.stringify(res.errors)}`);
  const client = wsClient(app.url, token);
  const progress = subscribe<any>(client, 'subscription($id: ID!) { flowProgress(flowRunId: $id) { type flowRun { status } } }', { id: res.data[mutation].flowRun.id });
  await progress.done;
  await client.dispose();
  return progress.buffered().at(-1)!.flowProgress.flowRun.status;
}

async function charged(app: TestApp, token: string): Promise<number> {
  const res = await gql(app.url, CHARGES, {}, token);
  return res.data!.tokenLedger.edges.filter((e: any) => e.node.kind === 'CHARGE').reduce((sum: number, e: any) => sum - e.node.amount, 0);
}

describe.each([
  ['the offline provider', () => ({}), false],
  ['a vendor billing the whole output cap', fakeEnv, true],
])('flow estimates with %s', (_name, env, billsCaps) => {
  let t: TestApp;
  beforeAll(async () => {
    // New accounts start empty, so a start is refused with the estimate as extensions.required.
    t = await startTestApp({ ...env(), SIGNUP_GRANT_TOKENS: '0' });
  });
  afterAll(() => t.close());

  it.each(FLOWS.map((f) => [f.mutation] as const))('%s never charges more than its estimate', async (mutation) => {
    const user = await userWithBrand(t);
    const input = { brandId: user.brandId, ...LARGEST[mutation] };
    const refused = await gql(t.url, startDocument(mutation), { input }, user.token);
    expect(errorCode(refused)).toBe('INSUFFICIENT_TOKENS');
    const estimate: number = refused.errors![0]!.extensions!.required;
    await t.app.services.balance.grant(user.userId, 100_000, 'test: room to run');

    expect(await run(t, user.token, mutation, input)).toBe('FINISHED');
    const spent = await charged(t, user.token);
    expect(spent).toBeGreaterThan(0);
    expect({ mutation, spent, withinEstimate: spent <= estimate }).toEqual({ mutation, spent, withinEstimate: true });
    // Billing every cap with every note full, the run costs its estimate but for the seam allowance
    // (2 tokens per step that reads earlier ones): the estimate is an exact bound, not a guess.
    if (billsCaps) expect(estimate - spent).toBeLessThanOrEqual(2 * 5);
  });
});

describe('a new account', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(fakeEnv());
  });
  afterAll(() => t.close());

  it('has sample inputs for every flow', () => {
    expect(Object.keys(TYPICAL).sort()).toEqual(FLOWS.map((f) => f.mutation).sort());
    expect(Object.keys(LARGEST).sort()).toEqual(FLOWS.map((f) => f.mutation).sort());
  });

  it.each(FLOWS.map((f) => [f.mutation] as const))('runs %s on its sign-up grant, even against a vendor billing every output cap', async (mutation) => {
    const user = await userWithBrand(t);
    expect(await run(t, user.token, mutation, { brandId: user.brandId, ...TYPICAL[mutation] })).toBe('FINISHED');
    expect(await charged(t, user.token)).toBeLessThanOrEqual(10_000);
  });

  it("runs the README's calendar example", async () => {
    const user = await t.signUp();
    const brand = await gql(t.url, 'mutation { createBrand(input: {name: "Acme"}) { brand { id } } }', {}, user.token);
    expect(await run(t, user.token, 'startCalendarBatchFlow', { brandId: brand.data!.createBrand.brand.id, month: '2027-01' })).toBe('FINISHED');
  });
});
