import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildSchema, isEnumType, type GraphQLObjectType } from 'graphql';
import type { ChatMessage, JsonReplySchema } from '../src/ai/provider';
import { DEFAULT_MODEL_ROUTES } from '../src/ai/router';
import { TASKS } from '../src/ai/tasks';
import type { BrandContext } from '../src/ai/tasks/define';
import { LIMITS } from '../src/config';
import { AGENTS, type StoredPiece } from '../src/flows/agents';
import { EARLIER_RESULTS_TOKENS_MAX, STORED_PIECE_CHARS_MAX, stepContext } from '../src/flows/context';
import { FLOWS } from '../src/flows/flows';
import { countMessageTokens, countSchemaTokens, countTokens } from '../src/ai/tokenizer';
import { errorCode, gql, subscribe, wsClient, type GraphQLResponse } from './support/graphql-client';
import { startFakeProvider, type FakeBehavior, type FakeProvider, type FakeRequestBody, type FakeUsage, openaiEnv } from './support/fake-provider';
import { deferred } from './support/wait';
import { startTestApp, type TestApp } from './support/test-app';

const GRANT = 200_000;
/** The model the cheap tier's steps go to (src/ai/router.ts). */
const CHEAP = DEFAULT_MODEL_ROUTES.cheap.openai;

/** A request's prompt as the meter counts it: its messages and, for a JSON step, its reply schema. */
function billedPrompt(body: FakeRequestBody): number {
  const schema = (body.response_format as { json_schema?: JsonReplySchema } | undefined)?.json_schema;
  return countMessageTokens(CHEAP, body.messages as ChatMessage[]) + (schema ? countSchemaTokens(CHEAP, schema) : 0);
}

const STEP_FIELDS = `index agent status output error generationId startedAt finishedAt
  usage { promptTokens completionTokens totalTokens model costUsd }`;
const RUN_FIELDS = `id kind status error failedStep input createdAt finishedAt brand { id }
  usage { promptTokens completionTokens totalTokens costUsd } steps { ${STEP_FIELDS} }`;
const PROGRESS = `subscription($id: ID!) { flowProgress(flowRunId: $id) {
  type usage { promptTokens completionTokens totalTokens costUsd } step { index agent status } flowRun { ${RUN_FIELDS} } } }`;
const FLOW_RUN = `query($id: ID!) { flowRun(id: $id) { ${RUN_FIELDS} } }`;
const FLOW_RUNS = `query($b: ID!, $first: Int, $after: String) { flowRuns(brandId: $b, first: $first, after: $after) {
  edges { cursor node { id kind status } } pageInfo { hasNextPage endCursor } } }`;
const CANCEL = `mutation($id: ID!) { cancelFlow(input: { flowRunId: $id }) { flowRun { ${RUN_FIELDS} } } }`;
const BALANCE = `{ tokenBalance { tokens reserved available } }`;
const CHARGES = `{ tokenLedger(first: 100) { edges { node { kind amount taskType promptTokens completionTokens brandId } } } }`;

/** A valid input (beyond brandId) for every flow and the agents its steps run, in order. */
const SAMPLES: Record<string, { input: Record<string, unknown>; agents: string[] }> = {
  startContentFlow: { input: { topic: 'Winter running', channel: 'instagram' }, agents: ['SCENE_WRITER'] },
  startContentRefinementFlow: { input: { content: 'Our shoes are good.', instruction: 'Make it vivid' }, agents: ['SCENE_WRITER'] },
  startCharacterFlow: { input: { count: 2, focus: 'coaches' }, agents: ['CHARACTER_GENERATOR'] },
  startCharacterRefinementFlow: { input: { characterName: 'Ava', instruction: 'make her braver' }, agents: ['CHARACTER_GENERATOR'] },
  startBrandNarrativeFlow: { input: { focus: 'community' }, agents: ['SEASON_PLOT'] },
  startSeasonThemeFlow: { input: { season: 'Summer 2027' }, agents: ['SEASON_PLOT'] },
  startMonthlyPlotFlow: { input: { month: '2027-03', theme: 'fresh starts' }, agents: ['SEASON_PLOT'] },
  startWeeklySubplotFlow: { input: { month: '2027-03', week: 2 }, agents: ['SUBPLOT_WRITER'] },
  // January 2027 has 31 days: weeks 1-4 of seven days and a fifth of three, so 1 + 5 steps.
  startCalendarBatchFlow: { input: { month: '2027-01', postsPerWeek: 2 }, agents: ['CALENDAR_GENERATOR', ...Array(5).fill('WEEKLY_DISTRIBUTION')] },
  startExpandBriefFlow: { input: { brief: 'Launch post for the spring line' }, agents: ['BRIEF_EXPANDER'] },
};

/** Ordinary English at every limit, every stored piece and earlier result at its budget: prompts stay under this. */
const PROSE_PROMPT_TOKENS_MAX = 4_000;
const FUZZ_RUNS = 200;

/** Ordinary English of exactly `chars` characters. */
const prose = (chars: number) => 'the brand tells a warm story about mornings and the people who gather there '.repeat(Math.ceil(chars / 70)).slice(0, chars);

/** Every flow's input (beyond brandId) with every field at its limit. */
const MAXIMAL: Record<string, Record<string, unknown>> = {
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

/** A well-formed reply for each agent and what parse() makes of it. */
const REPLIES: Record<string, [string, unknown]> = {
  SceneWriter: ['{"title": "Dawn", "body": "She laced up.", "call_to_action": "Join us"}', { title: 'Dawn', body: 'She laced up.', callToAction: 'Join us' }],
  CharacterGenerator: [
    '```json\n{"characters": [{"name": "Ava", "role": "coach", "traits": ["calm"], "backstory": "Ran Porto."}]}\n```',
    { characters: [{ name: 'Ava', role: 'coach', traits: ['calm'], backstory: 'Ran Porto.' }] },
  ],
  SeasonPlot: ['{"title": "Summer", "synopsis": "Heat.", "beats": ["a", "b"], "keywords": ["sun"]}', { title: 'Summer', synopsis: 'Heat.', beats: ['a', 'b'], keywords: ['sun'] }],
  SubplotWriter: ['{"title": "Week 2", "synopsis": "Rain.", "beats": ["x"]}', { title: 'Week 2', synopsis: 'Rain.', beats: ['x'] }],
  CalendarGenerator: ['2027-01-04 | instagram | Dawn | A run at dawn', { entries: [{ date: '2027-01-04', channel: 'instagram', title: 'Dawn', summary: 'A run at dawn' }] }],
  WeeklyDistribution: [
    '{"slots": [{"date": "2027-01-04", "time": "07:30", "channel": "instagram", "title": "Dawn", "hook": "Up first?"}]}',
    { slots: [{ date: '2027-01-04', time: '07:30', channel: 'instagram', title: 'Dawn', hook: 'Up first?' }] },
  ],
  ExpandBrief: ['```markdown\n# Background\nSpring.\n```', { brief: '# Background\nSpring.' }],
};

describe('agents and flows catalog', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8'));
  const enumValues = (name: string) => {
    const type = schema.getType(name);
    return isEnumType(type) ? type.getValues().map((v) => v.name).sort() : [];
  };

  it('gives every agent its own ledger task type, unlike any generation task, as schema.graphql lists them', () => {
    const types = AGENTS.map((a) => a.taskType);
    expect(new Set(types).size).toBe(AGENTS.length);
    expect(types.filter((type) => TASKS.some((task) => task.task === (type as string)))).toEqual([]);
    expect(enumValues('FlowAgent')).toEqual([...types].sort());
    expect(enumValues('FlowKind')).toEqual(FLOWS.map((f) => f.kind).sort());
  });

  it.each(FLOWS.map((f) => [f.mutation, f] as const))('%s takes one input and returns a payload with the run', (mutation, flow) => {
    const field = schema.getMutationType()!.getFields()[mutation]!;
    const name = `${mutation[0]!.toUpperCase()}${mutation.slice(1)}`;
    expect(field.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual([`input: ${name}Input!`]);
    const payload = schema.getType(`${name}Payload`) as GraphQLObjectType;
    expect(Object.keys(payload.getFields())).toEqual(['flowRun']);
    const inputFields = (schema.getType(`${name}Input`) as GraphQLObjectType).getFields();
    expect(Object.keys(inputFields).sort()).toEqual(['brandId', ...Object.keys(MAXIMAL[mutation]!)].sort());
    expect(flow.input.safeParse(MAXIMAL[mutation]).success).toBe(true);
  });

  it.each(AGENTS.map((a) => [a.name, a] as const))('%s reads a well-formed reply and never throws on any other', (name, agent) => {
    const [reply, expected] = REPLIES[name]!;
    expect(agent.parse(reply)).toEqual(expected);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (text) => {
        const output = agent.parse(text);
        return typeof output === 'object' && output !== null && !Array.isArray(output);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('keeps every prompt small with every input at its limit and every context piece at its budget', () => {
    const brand: BrandContext = { name: prose(200), description: prose(8_000), industry: prose(200), audience: prose(8_000) };
    const pieces: StoredPiece[] = ['vision', 'mission', 'persona', 'characters', 'storyline'];
    const stored = new Map(pieces.map((piece) => [piece, { label: piece, text: prose(STORED_PIECE_CHARS_MAX) }]));
    // Two long posts on every day of December: every week's selection is past its budget.
    const entries = Array.from({ length: 62 }, (_, i) => ({ date: `2027-12-${String(1 + (i % 31)).padStart(2, '0')}`, channel: 'instagram', title: prose(40), summary: prose(400) }));
    for (const flow of FLOWS) {
      for (const step of flow.plan(flow.input.parse(MAXIMAL[flow.mutation]))) {
        const earlier = step.includes.map(() => ({ entries }));
        const context = stepContext(brand, step.agent, step.params, stored, earlier);
        const readNote = context.notes.find((n) => n.label === step.agent.reads?.label);
        // Past its budget, the note is cut to it (give or take a character the last token split).
        if (step.agent.reads) expect(countTokens('gpt-4o', readNote!.text)).toBeGreaterThan(EARLIER_RESULTS_TOKENS_MAX - 3);
        if (step.agent.reads) expect(countTokens('gpt-4o', readNote!.text)).toBeLessThanOrEqual(EARLIER_RESULTS_TOKENS_MAX);
        const tokens = countMessageTokens('gpt-4o', step.agent.messages(context, step.params));
        expect({ flow: flow.kind, agent: step.agent.name, small: tokens < PROSE_PROMPT_TOKENS_MAX }).toEqual({ flow: flow.kind, agent: step.agent.name, small: true });
      }
    }
  });
});

let fake: FakeProvider;
let t: TestApp;
/** What the fake reported for each request, in order: prompt 40+n, completion 7+n, all distinct. */
let reported: FakeUsage[];

function numberedUsage() {
  return (_body: FakeRequestBody, _reply: string): FakeUsage => {
    const n = reported.length + 1;
    const usage = { promptTokens: 40 + n, completionTokens: 7 + n };
    reported.push(usage);
    return usage;
  };
}

function behave(behavior: FakeBehavior = {}) {
  fake.setBehavior({ usageFor: numberedUsage(), ...behavior });
}

/** The provider timeout outlasts every test's wait, so only a cancel ever ends a hanging request. */
function appEnv(): Record<string, string> {
  return {
    ...openaiEnv(fake),
    PROVIDER_TIMEOUT_MS: '10000',
    SIGNUP_GRANT_TOKENS: String(GRANT),
  };
}

beforeAll(async () => {
  fake = await startFakeProvider();
  t = await startTestApp(appEnv());
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  reported = [];
  behave();
  fake.requests.length = 0;
});

async function userWithBrand(app: TestApp = t) {
  const user = await app.signUp();
  const res = await gql(app.url, 'mutation { createBrand(input: { name: "Andora Shoes", industry: "footwear", audience: "runners" }) { brand { id } } }', {}, user.token);
  return { ...user, brandId: res.data!.createBrand.brand.id as string };
}

function startDocument(mutation: string): string {
  return `mutation($input: ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) { flowRun { ${RUN_FIELDS} } } }`;
}

async function start(url: string, token: string, mutation: string, input: Record<string, unknown>): Promise<GraphQLResponse> {
  return gql(url, startDocument(mutation), { input }, token);
}

async function started(token: string, mutation: string, input: Record<string, unknown>): Promise<any> {
  const res = await start(t.url, token, mutation, input);
  expect(res.errors).toBeUndefined();
  return res.data![mutation].flowRun;
}

/** The run's progress over a real websocket: take events one by one, or all that are left once it completes. */
function watch(token: string, flowRunId: string, url = t.url) {
  const client = wsClient(url, token);
  const sub = subscribe<any>(client, PROGRESS, { id: flowRunId });
  return {
    next: async () => (await sub.next()).flowProgress,
    rest: async (): Promise<{ events: any[]; errors: unknown[] }> => {
      await sub.done;
      await client.dispose();
      return { events: sub.buffered().map((e) => e.flowProgress), errors: sub.errors };
    },
  };
}

/** Every event of the run's progress until the server completes the subscription. */
function follow(token: string, flowRunId: string, url = t.url) {
  return watch(token, flowRunId, url).rest();
}

async function balanceOf(token: string) {
  return (await gql(t.url, BALANCE, {}, token)).data!.tokenBalance;
}

async function charges(token: string): Promise<any[]> {
  const res = await gql(t.url, CHARGES, {}, token);
  return res.data!.tokenLedger.edges.map((e: any) => e.node).filter((n: any) => n.kind === 'CHARGE').reverse();
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const rows = await t.app.services.orm.em.fork().execute<Array<{ n: string }>>(sql, params);
  return Number(rows[0]!.n);
}

const total = (u: FakeUsage) => u.promptTokens + u.completionTokens;

/**
 * The events after STATE must be exactly what the state had not seen yet, in order: a start and a
 * finish for each step still PENDING, a finish for the one RUNNING, then FLOW_FINISHED (none when
 * the run had already finished before the subscription started).
 */
function expectCompleteProgress(events: any[]) {
  expect(events[0].type).toBe('STATE');
  const state = events[0].flowRun;
  const expected: string[] = [];
  for (const step of state.steps) {
    if (step.status === 'PENDING') expected.push(`STEP_STARTED ${step.index}`, `STEP_FINISHED ${step.index}`);
    if (step.status === 'RUNNING') expected.push(`STEP_FINISHED ${step.index}`);
  }
  if (state.status === 'RUNNING') expected.push('FLOW_FINISHED');
  expect(events.slice(1).map((e) => (e.step && e.type.startsWith('STEP') ? `${e.type} ${e.step.index}` : e.type))).toEqual(expected);
  for (const e of events.filter((x) => x.type === 'STEP_FINISHED')) {
    const step = e.flowRun.steps[e.step.index - 1];
    expect(step.status).toBe('FINISHED');
    const { promptTokens, completionTokens, totalTokens, costUsd } = step.usage;
    expect(e.usage).toEqual({ promptTokens, completionTokens, totalTokens, costUsd });
  }
  const last = events.at(-1);
  const sum = last.flowRun.steps.reduce((s: number, step: any) => s + step.usage.totalTokens, 0);
  if (last.type === 'FLOW_FINISHED') expect(last.usage.totalTokens).toBe(sum);
  expect(last.flowRun.usage.totalTokens).toBe(sum);
  expect(last.flowRun.status).toBe('FINISHED');
}

describe('flows: every step metered', () => {
  it('has a sample for every flow of the catalog', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(FLOWS.map((f) => f.mutation).sort());
  });

  it.each(Object.entries(SAMPLES))('%s charges exactly the sum of its steps, one ledger entry per step under the agent', async (mutation, sample) => {
    const { token, brandId, userId } = await userWithBrand();
    const run = await started(token, mutation, { brandId, ...sample.input });
    expect(run.status).toBe('RUNNING');
    expect(run.brand.id).toBe(brandId);
    expect(run.steps.map((s: any) => s.agent)).toEqual(sample.agents);

    const { events, errors } = await follow(token, run.id);
    expect(errors).toEqual([]);
    expectCompleteProgress(events);
    const finished = events.at(-1).flowRun;

    // The fake saw one request per step, and each step reports exactly the usage the fake reported.
    expect(fake.requests).toHaveLength(sample.agents.length);
    expect(reported).toHaveLength(sample.agents.length);
    finished.steps.forEach((step: any, i: number) => {
      expect(step.usage).toMatchObject({ ...reported[i], totalTokens: total(reported[i]!) });
      expect(step.generationId).toEqual(expect.any(String));
      expect(step.output).toEqual(expect.any(Object));
    });
    const sum = reported.reduce((s, u) => s + total(u), 0);
    expect(finished.usage.totalTokens).toBe(sum);

    const ledger = await charges(token);
    expect(ledger.map((e) => ({ taskType: e.taskType, amount: e.amount, brandId: e.brandId }))).toEqual(
      sample.agents.map((agent, i) => ({ taskType: agent, amount: -total(reported[i]!), brandId })),
    );
    expect(await balanceOf(token)).toEqual({ tokens: GRANT - sum, reserved: 0, available: GRANT - sum });

    // Each step's generation and finished row were written with its charge.
    expect(await count('select count(*) as n from generations where user_id = ?', [userId])).toBe(sample.agents.length);
    expect(
      await count(
        `select count(*) as n from flow_steps s join token_ledger l on l.id = s.ledger_entry_id
          join generations g on g.id = s.generation_id and g.ledger_entry_id = l.id
         where s.flow_run_id = ? and s.status = 'FINISHED' and l.task_type = s.task_type and -l.amount = s.prompt_tokens + s.completion_tokens`,
        [run.id],
      ),
    ).toBe(sample.agents.length);
    const stored = (await gql(t.url, FLOW_RUN, { id: run.id }, token)).data!.flowRun;
    expect(stored).toEqual(finished);
  });

  it('streams every step of a run in order to a subscriber, ending with FLOW_FINISHED and the total', async () => {
    const { token, brandId } = await userWithBrand();
    // The provider answers only once the subscription has its first event, so no step finishes before it.
    const gate = deferred<void>();
    behave({ gate: gate.promise });
    const run = await started(token, 'startCalendarBatchFlow', { brandId, month: '2027-01' });
    const watching = watch(token, run.id);
    const first = await watching.next();
    gate.resolve();
    const events = [first, ...(await watching.rest()).events];
    expect(events[0].flowRun.steps[0].status).not.toBe('FINISHED');
    expectCompleteProgress(events);
    const last = events.at(-1);
    expect(last.type).toBe('FLOW_FINISHED');
    expect(events.filter((e) => e.type === 'STEP_FINISHED').map((e) => e.usage.totalTokens)).toEqual(reported.map(total));
    expect(last.usage).toMatchObject({
      promptTokens: reported.reduce((s, u) => s + u.promptTokens, 0),
      completionTokens: reported.reduce((s, u) => s + u.completionTokens, 0),
      totalTokens: reported.reduce((s, u) => s + total(u), 0),
    });
    // Subscribing after the end still gets the whole run, as its state, and then the subscription ends.
    const late = await follow(token, run.id);
    expect(late.events).toEqual([{ ...events[0], flowRun: last.flowRun }]);
  });

  it('plans a calendar batch of 1 + 4 steps for a month of four weeks', async () => {
    const { token, brandId } = await userWithBrand();
    const run = await started(token, 'startCalendarBatchFlow', { brandId, month: '2027-02' });
    expect(run.steps.map((s: any) => s.agent)).toEqual(['CALENDAR_GENERATOR', ...Array(4).fill('WEEKLY_DISTRIBUTION')]);
    expect(run.input).toEqual({ month: '2027-02', postsPerWeek: 3 });
    const { events } = await follow(token, run.id);
    expect(events.at(-1).type).toBe('FLOW_FINISHED');
    expect((await charges(token)).map((e) => e.taskType)).toEqual(['CALENDAR_GENERATOR', ...Array(4).fill('WEEKLY_DISTRIBUTION')]);
  });
});

describe('flows: context', () => {
  it("gives each agent the brand's latest stored results and earlier steps, clipped to their budgets", async () => {
    const { token, brandId } = await userWithBrand();
    const longPersona = `{"name": "Rita", "occupation": "coach", "summary": "${'trains at dawn '.repeat(200)}", "goals": [], "painPoints": []}`;
    fake.setBehavior({ reply: () => 'Run further, together.' });
    expect((await gql(t.url, `mutation($b: ID!) { generateVision(input: { brandId: $b }) { vision } }`, { b: brandId }, token)).errors).toBeUndefined();
    fake.setBehavior({ reply: () => longPersona });
    expect((await gql(t.url, `mutation($b: ID!) { generatePersona(input: { brandId: $b }) { persona { name } } }`, { b: brandId }, token)).errors).toBeUndefined();
    fake.requests.length = 0;

    const calendarLines = ['2027-01-04 | instagram | Week one post | s', '2027-01-12 | blog | Week two post | s', '2027-01-30 | email | Week five post | s'];
    fake.setBehavior({ reply: (body) => (JSON.stringify(body.messages).includes('content calendar') ? calendarLines.join('\n') : '{"slots": []}') });
    const run = await started(token, 'startCalendarBatchFlow', { brandId, month: '2027-01' });
    const { events } = await follow(token, run.id);
    expect(events.at(-1).type).toBe('FLOW_FINISHED');

    const userText = (i: number) => String(fake.requests[i]!.body.messages!.at(-1)!.content);
    // The calendar reads the persona (clipped) but not the vision, which it does not need.
    expect(userText(0)).toContain('The customer persona');
    expect(userText(0)).not.toContain('Run further, together.');
    const personaNote = /The customer persona:\n"""\n([\s\S]*?)\n"""/.exec(userText(0))![1]!;
    expect(personaNote.length).toBeLessThanOrEqual(STORED_PIECE_CHARS_MAX);
    expect(personaNote).toContain('name: Rita');
    // Each week's distribution reads only that week's posts from the calendar step.
    expect(userText(1)).toContain('Week one post');
    expect(userText(1)).not.toContain('Week two post');
    expect(userText(2)).toContain('Week two post');
    expect(userText(5)).toContain('Week five post');
    // Week three has no posts: no empty note.
    expect(userText(3)).not.toContain("This week's planned posts");

    // The content flow's SceneWriter reads the vision.
    fake.requests.length = 0;
    const scene = await started(token, 'startContentFlow', { brandId, topic: 'dawn runs' });
    await follow(token, scene.id);
    expect(userText(0)).toContain(`The brand's vision:\n"""\nRun further, together.\n"""`);
  });
});

describe('flows: failure, cancel and refusal', () => {
  it('a failure at step 3 of 6 keeps steps 1-2 charged and saved, releases step 3 and runs nothing after it', async () => {
    const { token, brandId, userId } = await userWithBrand();
    behave({ status: 500, failAfter: 2, failCount: 1 });
    const run = await started(token, 'startCalendarBatchFlow', { brandId, month: '2027-01' });
    const { events } = await follow(token, run.id);
    const last = events.at(-1);
    expect(last.type).toBe('FLOW_FAILED');
    expect(last.step).toMatchObject({ index: 3, agent: 'WEEKLY_DISTRIBUTION', status: 'FAILED' });
    expect(events.map((e) => e.type)).toContain('STEP_FAILED');
    const failed = last.flowRun;
    expect(failed).toMatchObject({ status: 'FAILED', failedStep: 3 });
    expect(failed.error).toMatch(/^step 3 of 6 \(WeeklyDistribution\) failed: the AI provider failed \(http 500\)/);
    expect(failed.steps.map((s: any) => s.status)).toEqual(['FINISHED', 'FINISHED', 'FAILED', 'SKIPPED', 'SKIPPED', 'SKIPPED']);

    expect(fake.requests).toHaveLength(3);
    expect(reported).toHaveLength(2);
    const sum = total(reported[0]!) + total(reported[1]!);
    expect(last.usage.totalTokens).toBe(sum);
    expect((await charges(token)).map((e) => e.amount)).toEqual([-total(reported[0]!), -total(reported[1]!)]);
    expect(await balanceOf(token)).toEqual({ tokens: GRANT - sum, reserved: 0, available: GRANT - sum });
    expect(await count('select count(*) as n from generations where user_id = ?', [userId])).toBe(2);
    expect((await gql(t.url, FLOW_RUN, { id: run.id }, token)).data!.flowRun).toEqual(failed);
  });

  it('a step that fails after the vendor billed it shows the usage it was charged (Anthropic reports the prompt up front)', async () => {
    // A vendor of its own, closed mid-stream: message_start (with the input tokens) and one delta
    // have arrived when the connection dies, so the meter charges what the vendor reported.
    const vendor = await startFakeProvider();
    const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...rest } = appEnv();
    const claude = await startTestApp({ ...rest, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: vendor.url });
    let vendorOpen = true;
    try {
      vendor.setBehavior({ usageFor: numberedUsage(), hangAfterChunks: 1 });
      const { token, brandId } = await userWithBrand(claude);
      const res = await start(claude.url, token, 'startContentFlow', { brandId, topic: 'dawn runs' });
      expect(res.errors).toBeUndefined();
      const run = res.data!.startContentFlow.flowRun;
      const progress = watch(token, run.id, claude.url);
      expect(await progress.next()).toMatchObject({ type: 'STATE', flowRun: { status: 'RUNNING' } });
      await vendor.waitForHangs(1);
      vendorOpen = false;
      await vendor.close();
      const { events } = await progress.rest();
      const last = events.at(-1);
      expect(last.type).toBe('FLOW_FAILED');
      expect(vendor.requests.map((r) => r.path)).toEqual(['/v1/messages']);
      const step = last.flowRun.steps[0];
      expect(step).toMatchObject({ status: 'FAILED', output: null, generationId: null });
      expect(step.error).toMatch(/the AI provider failed \(connection\)/);

      const ledger = (await gql(claude.url, CHARGES, {}, token)).data!.tokenLedger.edges.map((e: any) => e.node).filter((n: any) => n.kind === 'CHARGE');
      expect(ledger).toHaveLength(1);
      expect(ledger[0]).toMatchObject({ taskType: 'SCENE_WRITER', promptTokens: reported[0]!.promptTokens });
      const charged = -ledger[0].amount;
      expect(charged).toBe(ledger[0].promptTokens + ledger[0].completionTokens);
      // The step, the run, the events and the stored rows all show that charge.
      expect(step.usage).toMatchObject({ promptTokens: ledger[0].promptTokens, completionTokens: ledger[0].completionTokens, totalTokens: charged });
      expect(last.flowRun.usage.totalTokens).toBe(charged);
      expect(last.usage.totalTokens).toBe(charged);
      expect(events.find((e) => e.type === 'STEP_FAILED')).toBeDefined();
      expect((await gql(claude.url, FLOW_RUN, { id: run.id }, token)).data!.flowRun).toEqual(last.flowRun);
      const rows = await claude.app.services.orm.em.fork().execute<Array<Record<string, unknown>>>(
        'select status, prompt_tokens, completion_tokens, ledger_entry_id is not null as charged from flow_steps where flow_run_id = ?',
        [run.id],
      );
      expect(rows).toEqual([{ status: 'FAILED', prompt_tokens: ledger[0].promptTokens, completion_tokens: ledger[0].completionTokens, charged: true }]);
    } finally {
      await claude.close();
      if (vendorOpen) await vendor.close();
    }
  });

  it('cancel before any output charges the running step its prompt, aborts it upstream and starts nothing after it', async () => {
    const { token, brandId } = await userWithBrand();
    const run = await started(token, 'startCalendarBatchFlow', { brandId, month: '2027-01' });
    await fake.waitForRequests(1);
    // The first request already took its behavior; the second hangs until the cancel aborts it.
    behave({ delayMs: 60_000 });
    await fake.waitForRequests(2);
    const during = await balanceOf(token);
    expect(during.reserved).toBeGreaterThan(0);

    const res = await gql(t.url, CANCEL, { id: run.id }, token);
    expect(res.errors).toBeUndefined();
    const cancelled = res.data!.cancelFlow.flowRun;
    expect(cancelled).toMatchObject({ status: 'CANCELLED', error: 'cancelled by the user', failedStep: null });
    expect(cancelled.steps.map((s: any) => s.status)).toEqual(['FINISHED', 'CANCELLED', 'SKIPPED', 'SKIPPED', 'SKIPPED', 'SKIPPED']);
    await fake.waitForAborts(1);
    expect(fake.requests[1]!.aborted).toBe(true);

    // The vendor had the prompt (its reply schema included): it is charged, as the meter counted it when it reserved; nothing was produced.
    const promptTokens = billedPrompt(fake.requests[1]!.body);
    expect(cancelled.steps[1]).toMatchObject({ usage: { promptTokens, completionTokens: 0, totalTokens: promptTokens }, output: null, generationId: null });
    const spent = cancelled.steps[0].usage.totalTokens + promptTokens;
    expect((await charges(token)).map((e) => [e.taskType, e.amount])).toEqual([
      ['CALENDAR_GENERATOR', -cancelled.steps[0].usage.totalTokens],
      ['WEEKLY_DISTRIBUTION', -promptTokens],
    ]);
    const after = await balanceOf(token);
    expect(after.reserved).toBe(0);
    expect(after.tokens).toBe(GRANT - spent);
    expect(cancelled.usage.totalTokens).toBe(spent);

    // A late subscriber gets the final state and the subscription ends; nothing else ran.
    const { events } = await follow(token, run.id);
    expect(events.map((e) => e.type)).toEqual(['STATE']);
    expect(events[0].flowRun).toEqual(cancelled);
    expect(fake.requests).toHaveLength(2);
    // Cancelling again changes nothing.
    expect((await gql(t.url, CANCEL, { id: run.id }, token)).data!.cancelFlow.flowRun).toEqual(cancelled);
  });

  it('cancel after some output charges the step its prompt and what it produced, like a stopped stream', async () => {
    const { token, brandId, userId } = await userWithBrand();
    const run = await started(token, 'startCalendarBatchFlow', { brandId, month: '2027-01' });
    await fake.waitForRequests(1);
    // The first request already took its behavior; the second streams three words and stalls.
    fake.setBehavior({ reply: () => 'one two three four five six', hangAfterChunks: 3 });
    const progress = watch(token, run.id);
    await fake.waitForHangs(1);
    // A round trip through the server, so it has read the three words already on its socket.
    expect((await balanceOf(token)).reserved).toBeGreaterThan(0);

    const res = await gql(t.url, CANCEL, { id: run.id }, token);
    expect(res.errors).toBeUndefined();
    const cancelled = res.data!.cancelFlow.flowRun;
    expect(cancelled.steps.map((s: any) => s.status)).toEqual(['FINISHED', 'CANCELLED', 'SKIPPED', 'SKIPPED', 'SKIPPED', 'SKIPPED']);
    const step = cancelled.steps[1];
    const promptTokens = billedPrompt(fake.requests[1]!.body);
    const completionTokens = countTokens(CHEAP, 'one two three');
    expect(step.usage).toMatchObject({ promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, model: CHEAP });
    expect(step.output).toEqual(expect.any(Object));
    expect(step.generationId).toEqual(expect.any(String));
    const stepsTotal = cancelled.steps.reduce((sum: number, s: any) => sum + (s.usage?.totalTokens ?? 0), 0);
    expect(cancelled.usage.totalTokens).toBe(stepsTotal);
    expect(cancelled.usage.totalTokens).toBe(total(reported[0]!) + promptTokens + completionTokens);

    // The ledger charged exactly that, the balance holds nothing back, the subscriber saw the total.
    expect((await charges(token)).map((e) => [e.taskType, e.amount])).toEqual([
      ['CALENDAR_GENERATOR', -total(reported[0]!)],
      ['WEEKLY_DISTRIBUTION', -(promptTokens + completionTokens)],
    ]);
    expect(await balanceOf(token)).toEqual({ tokens: GRANT - stepsTotal, reserved: 0, available: GRANT - stepsTotal });
    const { events } = await progress.rest();
    expect(events.at(-1)).toMatchObject({ type: 'FLOW_CANCELLED', step: { index: 2, status: 'CANCELLED' }, usage: { totalTokens: stepsTotal } });

    // Stored as shown: the step row names its ledger entry and a PARTIAL generation of what was produced.
    const ledgerEntryId = (await gql(t.url, `query($id: ID!) { flowRun(id: $id) { steps { ledgerEntryId } } }`, { id: run.id }, token)).data!.flowRun.steps[1].ledgerEntryId;
    expect(
      await count(
        `select count(*) as n from flow_steps s join token_ledger l on l.id = s.ledger_entry_id join generations g on g.id = s.generation_id and g.ledger_entry_id = l.id
          where s.flow_run_id = ? and s.index = 2 and s.status = 'CANCELLED' and g.status = 'PARTIAL' and l.id = ? and l.user_id = ?
            and -l.amount = s.prompt_tokens + s.completion_tokens and s.prompt_tokens = ? and s.completion_tokens = ?`,
        [run.id, ledgerEntryId, userId, promptTokens, completionTokens],
      ),
    ).toBe(1);
    expect((await gql(t.url, FLOW_RUN, { id: run.id }, token)).data!.flowRun).toEqual(cancelled);
  });

  it('a subscriber sees FLOW_CANCELLED as the last event', async () => {
    const { token, brandId } = await userWithBrand();
    behave({ delayMs: 60_000 });
    const run = await started(token, 'startExpandBriefFlow', { brandId, brief: 'spring' });
    await fake.waitForRequests(1);
    const progress = watch(token, run.id);
    expect(await progress.next()).toMatchObject({ type: 'STATE', flowRun: { status: 'RUNNING', steps: [{ status: 'RUNNING' }] } });
    await gql(t.url, CANCEL, { id: run.id }, token);
    const { events } = await progress.rest();
    expect(events).toHaveLength(1);
    const promptTokens = countMessageTokens('gpt-4o', fake.requests[0]!.body.messages as any);
    expect(events[0]).toMatchObject({ type: 'FLOW_CANCELLED', step: { index: 1, status: 'CANCELLED' }, usage: { totalTokens: promptTokens } });
    expect(await balanceOf(token)).toEqual({ tokens: GRANT - promptTokens, reserved: 0, available: GRANT - promptTokens });
  });

  it('refuses a flow the balance cannot cover before any provider call, and creates no run', async () => {
    const { token, brandId, userId } = await userWithBrand();
    await t.app.services.balance.adjust(userId, -(GRANT - 3_000), 'test: leave 3,000 tokens');
    // The calendar step alone would fit in 3,000 tokens; the six steps together do not.
    const res = await start(t.url, token, 'startCalendarBatchFlow', { brandId, month: '2027-01' });
    expect(errorCode(res)).toBe('INSUFFICIENT_TOKENS');
    expect(res.errors![0]!.extensions).toMatchObject({ available: 3_000 });
    expect(res.errors![0]!.extensions!.required).toBeGreaterThan(3_000 + 5 * 900);
    expect(fake.requests).toHaveLength(0);
    expect(await count('select count(*) as n from flow_runs where user_id = ?', [userId])).toBe(0);
    expect((await gql(t.url, FLOW_RUNS, { b: brandId }, token)).data!.flowRuns.edges).toEqual([]);
    expect(await balanceOf(token)).toEqual({ tokens: 3_000, reserved: 0, available: 3_000 });

    // A one-step flow within the balance runs.
    const brief = await started(token, 'startExpandBriefFlow', { brandId, brief: 'spring' });
    // FLOW_FINISHED, or STATE alone when the run finished before the subscription started.
    expectCompleteProgress((await follow(token, brief.id)).events);
  });

  it('refuses bad input with BAD_USER_INPUT and changes nothing', async () => {
    const { token, brandId, userId } = await userWithBrand();
    for (const [mutation, input] of [
      ['startCalendarBatchFlow', { month: '2027-13' }],
      ['startCalendarBatchFlow', { month: '2027-01', postsPerWeek: 99 }],
      ['startWeeklySubplotFlow', { month: '2027-01', week: 6 }],
      ['startContentFlow', { topic: '   ' }],
      ['startExpandBriefFlow', { brief: 'x'.repeat(8_001) }],
    ] as const) {
      const res = await start(t.url, token, mutation, { brandId, ...input });
      expect({ mutation, input, code: errorCode(res) }).toEqual({ mutation, input, code: 'BAD_USER_INPUT' });
    }
    expect(fake.requests).toHaveLength(0);
    expect(await count('select count(*) as n from flow_runs where user_id = ?', [userId])).toBe(0);
    expect(errorCode(await gql(t.url, FLOW_RUNS, { b: brandId, first: 101 }, token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(t.url, FLOW_RUNS, { b: brandId, after: 'bogus' }, token))).toBe('BAD_USER_INPUT');
  });

  it('bounds the flows one user runs at once', async () => {
    const { token, brandId } = await userWithBrand();
    behave({ delayMs: 60_000 });
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await started(token, 'startExpandBriefFlow', { brandId, brief: `brief ${i}` }));
    const fifth = await start(t.url, token, 'startExpandBriefFlow', { brandId, brief: 'one too many' });
    expect(errorCode(fifth)).toBe('RATE_LIMITED');
    await fake.waitForRequests(4);
    const cancelled = await Promise.all(runs.map((run) => gql(t.url, CANCEL, { id: run.id }, token)));
    await fake.waitForAborts(4);
    // Each aborted step is charged its prompt; nothing stays held.
    const spent = cancelled.reduce((sum, res) => sum + res.data!.cancelFlow.flowRun.usage.totalTokens, 0);
    expect(spent).toBeGreaterThan(0);
    expect(await balanceOf(token)).toEqual({ tokens: GRANT - spent, reserved: 0, available: GRANT - spent });
    // Slots come back once the runs have ended.
    behave();
    const again = await started(token, 'startExpandBriefFlow', { brandId, brief: 'now it fits' });
    // FLOW_FINISHED, or STATE alone when the run finished before the subscription started.
    expectCompleteProgress((await follow(token, again.id)).events);
  });
});

describe('flows: visibility', () => {
  it("lets only the brand's owner read, follow or cancel a run, and pages the brand's runs", async () => {
    const owner = await userWithBrand();
    const other = await userWithBrand();
    const ids: string[] = [];
    for (const brief of ['a', 'b', 'c']) {
      const run = await started(owner.token, 'startExpandBriefFlow', { brandId: owner.brandId, brief });
      await follow(owner.token, run.id);
      ids.push(run.id);
    }
    const id = ids[0]!;
    expect(errorCode(await gql(t.url, FLOW_RUN, { id }, other.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, CANCEL, { id }, other.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, FLOW_RUNS, { b: owner.brandId }, other.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, FLOW_RUN, { id: 'not-a-uuid' }, owner.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, FLOW_RUN, { id: randomUUID() }, owner.token))).toBe('NOT_FOUND');
    const theirs = await follow(other.token, id);
    expect(theirs.events).toEqual([]);
    expect((theirs.errors[0] as any).extensions.code).toBe('NOT_FOUND');

    // While running, too: another user cannot see or stop it.
    behave({ delayMs: 60_000 });
    const running = await started(owner.token, 'startExpandBriefFlow', { brandId: owner.brandId, brief: 'd' });
    await fake.waitForRequests(1);
    expect(errorCode(await gql(t.url, FLOW_RUN, { id: running.id }, other.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, CANCEL, { id: running.id }, other.token))).toBe('NOT_FOUND');
    expect(((await follow(other.token, running.id)).errors[0] as any).extensions.code).toBe('NOT_FOUND');
    expect((await gql(t.url, FLOW_RUN, { id: running.id }, owner.token)).data!.flowRun.status).toBe('RUNNING');
    await gql(t.url, CANCEL, { id: running.id }, owner.token);
    ids.push(running.id);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const res: GraphQLResponse = await gql(t.url, FLOW_RUNS, { b: owner.brandId, first: 2, after }, owner.token);
      const { edges, pageInfo } = res.data!.flowRuns;
      seen.push(...edges.map((e: any) => e.node.id));
      after = pageInfo.endCursor;
      if (!pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual([...ids].reverse());
  });
});

describe('flows: on an app of their own', () => {
  /** Every log line of this app, SQL statements included (the ORM logs them at debug). */
  const lines: string[] = [];
  let own: TestApp;
  let user: Awaited<ReturnType<typeof userWithBrand>>;
  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    own = await startTestApp(appEnv(), undefined, { log: pino({ level: 'debug' }, sink) });
    user = await userWithBrand(own);
  });
  afterAll(() => own.close());

  it('reads the stored context of a whole flow with one query', async () => {
    lines.length = 0;
    const res = await start(own.url, user.token, 'startCalendarBatchFlow', { brandId: user.brandId, month: '2027-01' });
    const { events } = await follow(user.token, res.data!.startCalendarBatchFlow.flowRun.id, own.url);
    expect(events.at(-1).type).toBe('FLOW_FINISHED');
    const storedReads = lines.filter((l) => l.includes('"orm"') && /select distinct on \(task_type\)[\s\S]*from generations/i.test(l.replace(/\\n/g, ' ')));
    expect(storedReads).toHaveLength(1);
  });

  it('cancels running flows on shutdown and marks runs a crash left RUNNING as FAILED on start-up', async () => {
    const spent = GRANT - (await gql(own.url, BALANCE, {}, user.token)).data!.tokenBalance.tokens;
    behave({ delayMs: 60_000 });
    const res = await start(own.url, user.token, 'startCalendarBatchFlow', { brandId: user.brandId, month: '2027-01' });
    const running = res.data!.startCalendarBatchFlow.flowRun;
    await fake.waitForRequests(1);
    // A run as a crash would leave it: step 1 charged and finished, step 2 running, the rest pending.
    const crashed = randomUUID();
    const em = own.app.services.orm.em.fork();
    await em.execute(`insert into flow_runs (id, user_id, brand_id, kind, status, input, created_at) values (?, ?, ?, 'CALENDAR_BATCH', 'RUNNING', '{}', now())`, [crashed, user.userId, user.brandId]);
    await em.execute(
      `insert into flow_steps (flow_run_id, index, agent, task_type, status) values
        (?, 1, 'CalendarGenerator', 'CALENDAR_GENERATOR', 'FINISHED'), (?, 2, 'WeeklyDistribution', 'WEEKLY_DISTRIBUTION', 'RUNNING'),
        (?, 3, 'WeeklyDistribution', 'WEEKLY_DISTRIBUTION', 'PENDING')`,
      [crashed, crashed, crashed],
    );
    await own.close({ drop: false });
    await fake.waitForAborts(1);

    behave();
    own = await startTestApp(own.env, own.db);
    const read = async (id: string) => (await gql(own.url, FLOW_RUN, { id }, user.token)).data!.flowRun;
    const stopped = await read(running.id);
    expect(stopped).toMatchObject({ status: 'CANCELLED', error: 'cancelled: the service shut down' });
    expect(stopped.steps.map((s: any) => s.status)).toEqual(['CANCELLED', ...Array(5).fill('SKIPPED')]);
    const interrupted = await read(crashed);
    expect(interrupted).toMatchObject({ status: 'FAILED', error: 'interrupted by a restart', failedStep: 2 });
    expect(interrupted.steps.map((s: any) => s.status)).toEqual(['FINISHED', 'FAILED', 'SKIPPED']);
    // The step the shutdown stopped was charged its prompt before the balances were closed; bootstrap's ledger check passed.
    const promptTokens = countMessageTokens('gpt-4o', fake.requests.at(-1)!.body.messages as any);
    expect(stopped.steps[0].usage).toMatchObject({ promptTokens, completionTokens: 0 });
    expect(stopped.usage.totalTokens).toBe(promptTokens);
    const balance = (await gql(own.url, BALANCE, {}, user.token)).data!.tokenBalance;
    expect(balance).toEqual({ tokens: GRANT - spent - promptTokens, reserved: 0, available: GRANT - spent - promptTokens });
  });
});
