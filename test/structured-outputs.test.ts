import type { ReplyFormat } from '../src/ai/provider';
import { DEFAULT_MODEL_ROUTES } from '../src/ai/router';
import { taskByMutation } from '../src/ai/tasks';
import { JSON_SHAPE_MARKER } from '../src/ai/tasks/define';
import { AGENTS, type AgentDefinition, type AgentName } from '../src/flows/agents';
import { countMessageTokens, countSchemaTokens, countTokens } from '../src/ai/tokenizer';
import { errorCode, gql, subscribe, wsClient } from './support/graphql-client';
import { fakeValueOf, startFakeProvider, strictSchemaProblem, type FakeProvider, type JsonSchemaNode } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Structured outputs end to end: GraphQL → meter → SDK → the fake vendor and back, for both vendors,
 * streamed and not; and the hold, which must cover the schema the vendor bills as prompt.
 */

const GRANT = 100_000;
/** What the service puts in a prompt for a brand created with a name alone. */
const BRAND = { name: 'Acme', description: null, industry: null, audience: null };
const persona = taskByMutation('generatePersona')!;
const PERSONA_PARAMS = persona.input.parse({});
const PERSONA_FORMAT = persona.format!(PERSONA_PARAMS);
const FAKE_PERSONA = fakeValueOf(PERSONA_FORMAT.json!.schema as JsonSchemaNode);
const PERSONA_FIELDS = '{ name occupation summary goals painPoints }';


interface VendorApp {
  vendor: 'openai' | 'anthropic';
  model: string;
  env(fake: FakeProvider): Record<string, string>;
}

const VENDOR_APPS: VendorApp[] = [
  { vendor: 'openai', model: DEFAULT_MODEL_ROUTES.strong.openai, env: (fake) => ({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1` }) },
  { vendor: 'anthropic', model: DEFAULT_MODEL_ROUTES.strong.anthropic, env: (fake) => ({ ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: fake.url }) },
];

describe.each(VENDOR_APPS)('$vendor: a structured task through the service', ({ vendor, model, env }) => {
  let fake: FakeProvider;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeProvider();
    t = await startTestApp({ ...env(fake), PROVIDER_RETRIES_MAX: '0', SIGNUP_GRANT_TOKENS: String(GRANT) });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  async function userWithBrand() {
    const user = await t.signUp();
    const res = await gql(t.url, 'mutation { createBrand(input: { name: "Acme" }) { brand { id } } }', {}, user.token);
    return { ...user, brandId: res.data!.createBrand.brand.id as string };
  }

  /** The persona prompt as the vendor bills it: its messages and its schema. */
  function personaPrompt(): number {
    return countMessageTokens(model, persona.messages(BRAND, PERSONA_PARAMS)) + countSchemaTokens(model, PERSONA_FORMAT.json!);
  }

  it('sends the schema, returns the JSON reply parsed, and charges what the vendor reported', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ usageFor: () => ({ promptTokens: personaPrompt(), completionTokens: 70 }) });
    const res = await gql(
      t.url,
      `mutation($b: ID!) { generatePersona(input: { brandId: $b }) { persona ${PERSONA_FIELDS} usage { totalTokens } balance { tokens reserved } } }`,
      { b: brandId },
      token,
    );
    expect(res.errors).toBeUndefined();
    const payload = res.data!.generatePersona;
    expect(payload.persona).toEqual(FAKE_PERSONA);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.replySchema).toBeDefined();
    expect(payload.usage.totalTokens).toBe(personaPrompt() + 70);
    expect(payload.balance).toEqual({ tokens: GRANT - personaPrompt() - 70, reserved: 0 });
  });

  it('holds the prompt with its schema, and the cap, while the vendor works', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ hangAfterChunks: 1 });
    const client = wsClient(t.url, token);
    const sub = subscribe<any>(client, 'subscription($b: ID!) { generationStream(task: PERSONA, brandId: $b, input: {}) { delta done } }', { b: brandId });
    // The first delta is here, so the call is in flight under its hold; the fake holds the rest back.
    expect((await sub.next()).generationStream.done).toBe(false);
    const during = (await gql(t.url, '{ tokenBalance { reserved } }', {}, token)).data!.tokenBalance;
    const withoutSchema = countMessageTokens(model, persona.messages(BRAND, PERSONA_PARAMS));
    expect(during.reserved).toBe(personaPrompt() + persona.outputTokensMax);
    expect(during.reserved).toBeGreaterThan(withoutSchema + persona.outputTokensMax);
    await client.dispose();
    await fake.waitForAborts(1);
  });

  it('streams the JSON as text deltas through generationStream and stores the parsed result', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ usageFor: () => ({ promptTokens: 500, completionTokens: 40 }) });
    const client = wsClient(t.url, token);
    const doc = 'subscription($b: ID!) { generationStream(task: PERSONA, brandId: $b, input: {}) { delta done usage { totalTokens } generationId } }';
    const sub = subscribe<any>(client, doc, { b: brandId });
    const events = [];
    for (;;) {
      const event = (await sub.next()).generationStream;
      events.push(event);
      if (event.done) break;
    }
    await client.dispose();
    const streamed = events.map((e) => e.delta).join('');
    expect(events.filter((e) => !e.done).length).toBeGreaterThan(1);
    expect(JSON.parse(streamed)).toEqual(FAKE_PERSONA);
    expect(fake.requests[0]!.body.stream).toBe(true);
    expect(fake.requests[0]!.replySchema).toBeDefined();
    const stored = await gql(t.url, 'query($id: ID!) { generation(id: $id) { output } }', { id: events.at(-1).generationId }, token);
    expect(stored.data!.generation.output).toEqual(FAKE_PERSONA);
  });

  it('answers UPSTREAM_FAILED and charges nothing when the vendor refuses the schema', async () => {
    const { token, brandId } = await userWithBrand();
    fake.setBehavior({ status: 400 });
    const res = await gql(t.url, `mutation($b: ID!) { generatePersona(input: { brandId: $b }) { persona ${PERSONA_FIELDS} } }`, { b: brandId }, token);
    expect(errorCode(res)).toBe('UPSTREAM_FAILED');
    expect((await gql(t.url, '{ tokenBalance { tokens reserved } }', {}, token)).data!.tokenBalance).toEqual({ tokens: GRANT, reserved: 0 });
    expect(vendor === 'openai' ? fake.requests[0]!.body.response_format : fake.requests[0]!.body.output_config).toBeDefined();
  });
});

/** A valid params value for each agent, so its prompt and format can be built without a flow. */
const AGENT_PARAMS: Record<AgentName, unknown> = {
  SceneWriter: { mode: 'write', topic: 'launch day', channel: null },
  CharacterGenerator: { mode: 'create', count: 2, focus: null },
  SeasonPlot: { mode: 'narrative', focus: null },
  SubplotWriter: { month: '2027-01', week: 2, plotSynopsis: null },
  CalendarGenerator: { month: '2027-01', postsPerWeek: 3 },
  WeeklyDistribution: { month: '2027-01', week: 2 },
  ExpandBrief: { brief: 'spring line' },
};

describe('flow agents', () => {
  const built = (agent: AgentDefinition) => {
    const params = AGENT_PARAMS[agent.name];
    const prompt = agent.messages({ brand: BRAND, notes: [] }, params).map((m) => m.content).join('\n');
    return { params, prompt, format: agent.format?.(params) as ReplyFormat | undefined };
  };

  it.each(AGENTS.map((a) => [a.name, a] as const))('%s: sends a strict schema exactly when its prompt asks for JSON, and reads its sample', (_name, agent) => {
    const { prompt, format } = built(agent);
    expect(Boolean(format?.json)).toBe(prompt.includes(JSON_SHAPE_MARKER));
    if (format?.json) expect(strictSchemaProblem(format.json.schema as JsonSchemaNode, 'schema')).toBeUndefined();
    if (!format) return;
    expect(countTokens('offline', format.sample)).toBeLessThanOrEqual(agent.outputTokensMax);
    const parsed = JSON.stringify(agent.parse(format.sample));
    expect(parsed).not.toMatch(/""/);
  });

  it('the offline samples show what the agents return: characters as asked, a refined one under its name, the week\'s dates', () => {
    const characters = AGENTS.find((a) => a.name === 'CharacterGenerator')!;
    expect((characters.parse(characters.format!({ mode: 'create', count: 3, focus: null }).sample) as { characters: unknown[] }).characters).toHaveLength(3);
    const refined = characters.parse(characters.format!({ mode: 'refine', characterName: 'Ava', instruction: 'x', currentProfile: null }).sample);
    expect(refined).toMatchObject({ characters: [{ name: 'Ava' }] });
    const distribution = AGENTS.find((a) => a.name === 'WeeklyDistribution')!;
    const slots = (distribution.parse(distribution.format!({ month: '2027-02', week: 4 }).sample) as { slots: Array<{ date: string }> }).slots;
    expect(slots.map((s) => s.date)).toEqual(['2027-02-22', '2027-02-28']);
  });
});
