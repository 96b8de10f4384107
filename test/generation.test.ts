import { DEFAULT_MODEL_ROUTES } from '../src/ai/router';
import { TASKS, taskByMutation } from '../src/ai/tasks';
import { countMessageTokens, countTokens } from '../src/ai/tokenizer';
import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { startFakeProvider, type FakeProvider, type FakeRequestBody, openaiEnv } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';
import { deferred } from './support/wait';

/** The models the default routes send each tier to (src/ai/router.ts). */
const CHEAP = DEFAULT_MODEL_ROUTES.cheap.openai;
const STRONG = DEFAULT_MODEL_ROUTES.strong.openai;

/** A valid input (beyond brandId) for every task, as a client would send it. */
const SAMPLE_INPUTS: Record<string, Record<string, unknown>> = {
  generateVision: {},
  generateMission: {},
  generatePersona: { focus: 'busy founders' },
  generateBuyerProfile: { segment: 'small agencies' },
  generateContentStrategy: { goal: 'grow newsletter signups' },
  generateCharacters: { count: 2 },
  resolveCast: { scene: 'A product launch goes wrong', characterNames: ['Ava', 'Ben'] },
  generateMonthlyPlot: { month: '2027-01', theme: 'fresh starts' },
  generateWeeklySubplot: { month: '2027-01', week: 2, plotSynopsis: 'The team rebuilds trust' },
  generateContentBrief: { topic: 'Winter sale', channel: 'instagram' },
  generateNarrativePrefill: { field: 'tagline', context: 'playful' },
  generateCalendar: { month: '2027-01', postsPerWeek: 2 },
  refineContent: { content: 'Our shoes are good.', instruction: 'Make it vivid' },
  expandBrief: { brief: 'Launch post for the spring line' },
  generateMonthlyTheme: { month: '2027-02' },
  generateCalendarEntry: { date: '2027-01-15', channel: 'blog', topic: 'care tips' },
  refineCharacterField: { characterName: 'Ava', field: 'backstory', currentValue: 'Grew up by the sea', instruction: 'darker' },
  chatWithAndora: { message: 'What should I post this week?' },
};

/** The fake reports a distinct, known usage for every request: prompt 40+n, completion 7+n. */
function numberedUsage() {
  let n = 0;
  return (_body: FakeRequestBody, _reply: string) => {
    n++;
    return { promptTokens: 40 + n, completionTokens: 7 + n };
  };
}

const CHAT = `mutation ChatWithAndora($brandId: ID!, $message: String!, $idempotencyKey: String) {
  chatWithAndora(input: { brandId: $brandId, message: $message, idempotencyKey: $idempotencyKey }) {
    reply generationId
    usage { promptTokens completionTokens totalTokens model costUsd }
    balance { tokens reserved available }
  } }`;
const BALANCE = `{ tokenBalance { tokens reserved available } }`;
const LAST_ENTRY = `{ tokenLedger(first: 1) { edges { node { kind amount taskType model promptTokens completionTokens idempotencyKey brandId } } } }`;

/** A provider timeout no reply reaches on a loaded machine; tests of the timeout itself set a short one. */
const PROVIDER_TIMEOUT_MS_RELAXED = 30_000;

let fake: FakeProvider;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeProvider();
  t = await startTestApp({
    ...openaiEnv(fake),
    // Far above what a reply takes on a loaded machine (200 concurrent calls share this process with
    // the fake provider); the timeout case runs on an app of its own with a short one.
    PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS_RELAXED),
    SIGNUP_GRANT_TOKENS: '200000',
  });
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.setBehavior({ usageFor: numberedUsage() });
  fake.requests.length = 0;
});

async function userWithBrand() {
  const user = await t.signUp();
  const res = await gql(t.url, 'mutation { createBrand(input: { name: "Andora Shoes", industry: "footwear", audience: "runners" }) { brand { id } } }', {}, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

function mutationDocument(mutation: string, resultField: string): string {
  return `mutation($input: ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input!) {
    ${mutation}(input: $input) { ${resultField} ${resultSelection(resultField)} generationId
      usage { promptTokens completionTokens totalTokens model costUsd } balance { tokens reserved available } } }`;
}

/** Selects every leaf of a structured result so non-null fields are exercised. */
function resultSelection(field: string): string {
  const selections: Record<string, string> = {
    persona: '{ name occupation summary goals painPoints }',
    buyerProfile: '{ segment summary needs objections buyingTriggers }',
    contentStrategy: '{ summary pillars channels cadence }',
    characters: '{ name role traits backstory }',
    cast: '{ name role reason }',
    plot: '{ title synopsis beats }',
    subplot: '{ title synopsis beats }',
    brief: '{ title objective keyMessages callToAction }',
    entries: '{ date channel title summary }',
    theme: '{ title description keywords }',
    entry: '{ date channel title summary }',
  };
  return selections[field] ?? '';
}

describe('metered generation through the OpenAI SDK', () => {
  it('charges every one of the 18 tasks exactly the usage the provider reported', async () => {
    expect(TASKS).toHaveLength(18);
    const { token, brandId, userId } = await userWithBrand();
    let expected = 200_000;
    for (const task of TASKS) {
      const input = { brandId, ...SAMPLE_INPUTS[task.mutation] };
      const before = fake.requests.length;
      const res = await gql(t.url, mutationDocument(task.mutation, task.resultField), { input }, token);
      expect({ task: task.mutation, errors: res.errors }).toEqual({ task: task.mutation, errors: undefined });
      expect(fake.requests).toHaveLength(before + 1);
      const payload = res.data![task.mutation];
      const usage = payload.usage;
      const model = task.tier === 'cheap' ? CHEAP : STRONG;
      expect(usage.model).toBe(model);
      expect(usage.totalTokens).toBe(usage.promptTokens + usage.completionTokens);
      expect(usage.promptTokens).toBe(40 + fake.requests.length);
      expect(fake.requests.at(-1)!.body.model).toBe(model);
      expected -= usage.totalTokens;
      expect(payload.balance).toEqual({ tokens: expected, reserved: 0, available: expected });

      const ledger = await gql(t.url, LAST_ENTRY, {}, token);
      expect(ledger.data!.tokenLedger.edges[0].node).toMatchObject({
        kind: 'CHARGE',
        amount: -usage.totalTokens,
        taskType: task.task,
        model,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        brandId,
      });
    }
    const rows = await t.app.services.orm.em
      .fork()
      .execute<Array<{ task_type: string; tokens: string; requests: number }>>('select task_type, tokens, requests from brand_token_usage where brand_id = ?', [brandId]);
    expect(rows).toHaveLength(18);
    const total = rows.reduce((sum, r) => sum + Number(r.tokens), 0);
    expect(total).toBe(200_000 - expected);
    expect(new Set(rows.map((r) => r.task_type))).toEqual(new Set(TASKS.map((x) => x.task)));
    const stored = await t.app.services.orm.em.fork().execute<Array<{ n: string }>>('select count(*) as n from generations where user_id = ?', [userId]);
    expect(Number(stored[0]!.n)).toBe(18);

    // What the user paid for is visible: per brand, and from each charge in the ledger.
    const listed = await gql(t.url, `query($id: ID!) { brand(id: $id) { generations(first: 100) { edges { node { id taskType status output ledgerEntryId usage { totalTokens model } } } pageInfo { hasNextPage } } } }`, { id: brandId }, token);
    expect(listed.errors).toBeUndefined();
    const nodes = listed.data!.brand.generations.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(18);
    expect(nodes[0]).toMatchObject({ taskType: 'CHAT', status: 'COMPLETED' });
    expect(typeof nodes[0].output).toBe('string');
    const charges = await gql(t.url, '{ tokenLedger(first: 100) { edges { node { id kind amount generation { id usage { totalTokens } } } } } }', {}, token);
    for (const { node } of charges.data!.tokenLedger.edges) {
      if (node.kind === 'GRANT') expect(node.generation).toBeNull();
      else expect(node.generation.usage.totalTokens).toBe(-node.amount);
    }
    const page = await gql(t.url, `query($id: ID!, $after: String) { brand(id: $id) { generations(first: 10, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`, { id: brandId }, token);
    const next = await gql(t.url, `query($id: ID!, $after: String) { brand(id: $id) { generations(first: 10, after: $after) { edges { node { id } } pageInfo { hasNextPage } } } }`, { id: brandId, after: page.data!.brand.generations.pageInfo.endCursor }, token);
    expect([...page.data!.brand.generations.edges, ...next.data!.brand.generations.edges].map((e: any) => e.node.id)).toEqual(nodes.map((n: any) => n.id));
    expect(next.data!.brand.generations.pageInfo.hasNextPage).toBe(false);
    const stranger = await t.signUp();
    expect(errorCode(await gql(t.url, 'query($id: ID!) { generation(id: $id) { id } }', { id: nodes[0].id }, stranger.token))).toBe('NOT_FOUND');
    expect((await gql(t.url, 'query($id: ID!) { generation(id: $id) { id } }', { id: nodes[0].id }, token)).data!.generation.id).toBe(nodes[0].id);
  });

  it('refuses with INSUFFICIENT_TOKENS before any provider call', async () => {
    const { token, brandId, userId } = await userWithBrand();
    await t.app.services.balance.adjust(userId, -(200_000 - 50), 'test: leave 50 tokens');
    const res = await gql(t.url, CHAT, { brandId, message: 'hello' }, token);
    expect(errorCode(res)).toBe('INSUFFICIENT_TOKENS');
    expect(res.errors![0]!.extensions).toMatchObject({ available: 50 });
    expect(res.errors![0]!.extensions!.required).toBeGreaterThan(50);
    expect(fake.requests).toHaveLength(0);
    expect((await gql(t.url, BALANCE, {}, token)).data!.tokenBalance).toEqual({ tokens: 50, reserved: 0, available: 50 });
  });

  it('sends an output cap no larger than what the hold covers', async () => {
    const { token, brandId } = await userWithBrand();
    const gate = deferred<void>();
    fake.setBehavior({ usageFor: numberedUsage(), gate: gate.promise });
    const pending = gql(t.url, CHAT, { brandId, message: 'hold on' }, token);
    await fake.waitForRequests(1);
    const during = (await gql(t.url, BALANCE, {}, token)).data!.tokenBalance;
    gate.resolve();
    const sent = fake.requests[0]!;
    const chat = taskByMutation('chatWithAndora')!;
    // GPT-5.4 mini is a reasoning model: its cap goes in max_completion_tokens, reasoning set to none.
    expect(sent.outputLimit).toEqual({ field: 'max_completion_tokens', value: chat.outputTokensMax });
    expect(sent.body.reasoning_effort).toBe('none');
    const messages = (sent.body.messages as Array<{ role: 'system' | 'user'; content: string }>);
    expect(during.reserved).toBe(countMessageTokens(CHEAP, messages) + chat.outputTokensMax);
    expect(sent.outputLimit!.value).toBeLessThanOrEqual(during.reserved);
    expect((await pending).errors).toBeUndefined();
  });

  it('releases the hold on a 500 and answers UPSTREAM_FAILED', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ status: 500 });
    const res = await gql(t.url, CHAT, { brandId, message: 'hello' }, token);
    expect(errorCode(res)).toBe('UPSTREAM_FAILED');
    expect((await gql(t.url, BALANCE, {}, token)).data!.tokenBalance).toEqual({ tokens: 200_000, reserved: 0, available: 200_000 });
    expect((await gql(t.url, LAST_ENTRY, {}, token)).data!.tokenLedger.edges[0].node.kind).toBe('GRANT');
  });

  it('releases the hold on a timeout and answers UPSTREAM_FAILED', async () => {
    // The reply never comes (the gate opens only after the assertions), so the 300 ms timeout fires
    // whatever the machine's load.
    const short = await startTestApp({ ...openaiEnv(fake), PROVIDER_TIMEOUT_MS: '300' });
    const gate = deferred<void>();
    try {
      const user = await short.signUp();
      const brand = await gql(short.url, 'mutation { createBrand(input: { name: "Slow Co" }) { brand { id } } }', {}, user.token);
      fake.setBehavior({ gate: gate.promise });
      const res = await gql(short.url, CHAT, { brandId: brand.data!.createBrand.brand.id, message: 'hello' }, user.token);
      expect(errorCode(res)).toBe('UPSTREAM_FAILED');
      expect((await gql(short.url, BALANCE, {}, user.token)).data!.tokenBalance).toEqual({ tokens: 10_000, reserved: 0, available: 10_000 });
      expect((await gql(short.url, LAST_ENTRY, {}, user.token)).data!.tokenLedger.edges[0].node.kind).toBe('GRANT');
    } finally {
      gate.resolve();
      await short.close();
    }
  });

  it('runs an idempotent request once, also when the retries are concurrent', async () => {
    const { token, brandId } = await userWithBrand();
    const vars = { brandId, message: 'once please', idempotencyKey: 'key-1' };
    const results = await Promise.all(Array.from({ length: 10 }, () => gql(t.url, CHAT, vars, token)));
    const again = await gql(t.url, CHAT, vars, token);
    expect(fake.requests).toHaveLength(1);
    for (const r of [...results, again]) {
      expect(r.errors).toBeUndefined();
      expect(r.data!.chatWithAndora.generationId).toBe(results[0]!.data!.chatWithAndora.generationId);
      expect(r.data!.chatWithAndora.usage).toEqual(results[0]!.data!.chatWithAndora.usage);
    }
    const ledger = await gql(t.url, '{ tokenLedger(first: 10) { edges { node { kind idempotencyKey } } } }', {}, token);
    expect(ledger.data!.tokenLedger.edges.filter((e: any) => e.node.kind === 'CHARGE')).toHaveLength(1);
    const other = await gql(t.url, mutationDocument('expandBrief', 'expandedBrief'), { input: { brandId, brief: 'x', idempotencyKey: 'key-1' } }, token);
    expect(errorCode(other)).toBe('BAD_USER_INPUT');
  });

  it('never overspends under 200 concurrent calls against a balance for about 60', async () => {
    const { token, brandId, userId } = await userWithBrand();
    const chat = taskByMutation('chatWithAndora')!;
    const holdSize = countMessageTokens(CHEAP, chat.messages({ name: 'Andora Shoes', description: null, industry: 'footwear', audience: 'runners' }, { message: 'go' })) + chat.outputTokensMax;
    await t.app.services.balance.adjust(userId, -(200_000 - 60 * holdSize), 'test: room for ~60');
    const start = 60 * holdSize;
    const reported: number[] = [];
    fake.setBehavior({
      usageFor: (body) => {
        const usage = { promptTokens: 30, completionTokens: 1 + (reported.length % 20) };
        reported.push(usage.promptTokens + usage.completionTokens);
        expect(body.max_completion_tokens).toBe(chat.outputTokensMax);
        return usage;
      },
    });
    const results = await Promise.all(Array.from({ length: 200 }, () => gql(t.url, CHAT, { brandId, message: 'go' }, token)));
    const ok = results.filter((r) => !r.errors);
    const refused = results.filter((r) => errorCode(r) === 'INSUFFICIENT_TOKENS');
    expect(ok.length + refused.length).toBe(200);
    expect(ok.length).toBeGreaterThanOrEqual(60);
    expect(fake.requests).toHaveLength(ok.length);
    const charged = ok.reduce((sum, r) => sum + r.data!.chatWithAndora.usage.totalTokens, 0);
    expect(charged).toBe(reported.reduce((a, b) => a + b, 0));
    const after = (await gql(t.url, BALANCE, {}, token)).data!.tokenBalance;
    expect(after).toEqual({ tokens: start - charged, reserved: 0, available: start - charged });
    for (const r of ok) expect(r.data!.chatWithAndora.balance.tokens).toBeGreaterThanOrEqual(0);
  });
});

describe('streaming subscriptions', () => {
  const STREAM = `subscription ChatWithAndoraStream($brandId: ID!, $message: String!) {
    chatWithAndoraStream(input: { brandId: $brandId, message: $message }) {
      delta done usage { promptTokens completionTokens totalTokens model costUsd } balance { tokens reserved available } } }`;

  it('streams deltas in order and ends with the exact usage and the balance', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ reply: () => 'one two three four five six', usageFor: () => ({ promptTokens: 55, completionTokens: 6 }) });
    const client = wsClient(t.url, token);
    const sub = subscribe<any>(client, STREAM, { brandId, message: 'stream it' });
    const events = [];
    for (;;) {
      const e = (await sub.next()).chatWithAndoraStream;
      events.push(e);
      if (e.done) break;
    }
    await sub.done;
    await client.dispose();
    const deltas = events.filter((e) => !e.done).map((e) => e.delta);
    expect(deltas.join('')).toBe('one two three four five six');
    expect(deltas.length).toBeGreaterThan(1);
    const last = events.at(-1);
    expect(last.usage).toMatchObject({ promptTokens: 55, completionTokens: 6, totalTokens: 61, model: CHEAP });
    expect(last.balance).toEqual({ tokens: 200_000 - 61, reserved: 0, available: 200_000 - 61 });
    expect(fake.requests[0]!.body.stream_options).toEqual({ include_usage: true });
  });

  it('streams any task through generationStream, validating its input like the mutation', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ reply: () => '{"characters": [{"name": "Ava"}]}', usageFor: () => ({ promptTokens: 30, completionTokens: 4 }) });
    const client = wsClient(t.url, token);
    const doc = `subscription($b: ID!, $i: JSON) { generationStream(task: CHARACTERS, brandId: $b, input: $i) { delta done usage { totalTokens model } generationId } }`;
    const sub = subscribe<any>(client, doc, { b: brandId, i: { count: 2 } });
    let last;
    do last = (await sub.next()).generationStream;
    while (!last.done);
    expect(last.usage).toEqual({ totalTokens: 34, model: STRONG });
    const stored = await gql(t.url, 'query($id: ID!) { generation(id: $id) { taskType output } }', { id: last.generationId }, token);
    expect(stored.data!.generation).toEqual({ taskType: 'CHARACTERS', output: [{ name: 'Ava', role: '', traits: [], backstory: '' }] });
    const bad = subscribe<any>(client, doc, { b: brandId, i: { count: 99 } });
    await bad.done;
    expect((bad.errors[0] as any).extensions.code).toBe('BAD_USER_INPUT');
    await client.dispose();
  });

  it('aborts upstream when the client leaves after 3 deltas and charges only what was produced', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ reply: () => 'alpha beta gamma delta epsilon zeta eta theta', hangAfterChunks: 3 });
    const client = wsClient(t.url, token);
    const sub = subscribe<any>(client, STREAM, { brandId, message: 'stop early' });
    let received = '';
    for (let i = 0; i < 3; i++) received += (await sub.next()).chatWithAndoraStream.delta;
    const messages = fake.requests[0]!.body.messages as Array<{ role: 'system' | 'user'; content: string }>;
    await client.dispose();
    await fake.waitForAborts(1);
    const expectedCharge = countMessageTokens(CHEAP, messages) + countTokens(CHEAP, received);
    let balance;
    for (let i = 0; i < 100; i++) {
      balance = (await gql(t.url, BALANCE, {}, token)).data!.tokenBalance;
      if (balance.reserved === 0 && balance.tokens < 200_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(balance).toEqual({ tokens: 200_000 - expectedCharge, reserved: 0, available: 200_000 - expectedCharge });
    const entry = (await gql(t.url, LAST_ENTRY, {}, token)).data!.tokenLedger.edges[0].node;
    expect(entry).toMatchObject({ kind: 'CHARGE', amount: -expectedCharge, taskType: 'CHAT' });
  });
});

describe('metered generation through the Anthropic SDK', () => {
  let a: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: fake.url, PROVIDER_RETRIES_MAX: '0', PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS_RELAXED) });
  });
  afterAll(() => a.close());

  it('charges the reported usage and streams with the final usage', async () => {
    const user = await a.signUp();
    const brand = await gql(a.url, 'mutation { createBrand(input: { name: "Claude Co" }) { brand { id } } }', {}, user.token);
    const brandId = brand.data!.createBrand.brand.id;
    fake.setBehavior({ usageFor: () => ({ promptTokens: 21, completionTokens: 9 }) });
    const res = await gql(a.url, CHAT, { brandId, message: 'hi claude' }, user.token);
    expect(res.errors).toBeUndefined();
    expect(res.data!.chatWithAndora.usage).toMatchObject({ promptTokens: 21, completionTokens: 9, totalTokens: 30, model: DEFAULT_MODEL_ROUTES.cheap.anthropic });
    expect(res.data!.chatWithAndora.balance.tokens).toBe(10_000 - 30);
    expect(fake.requests.at(-1)!.path).toBe('/v1/messages');

    const client = wsClient(a.url, user.token);
    const sub = subscribe<any>(client, `subscription($b: ID!) { expandBriefStream(input: { brandId: $b, brief: "spring" }) { delta done usage { totalTokens } } }`, { b: brandId });
    let last;
    do last = (await sub.next()).expandBriefStream;
    while (!last.done);
    await client.dispose();
    expect(last.usage).toEqual({ totalTokens: 30 });
    expect((await gql(a.url, BALANCE, {}, user.token)).data!.tokenBalance.tokens).toBe(10_000 - 60);
  });
});
