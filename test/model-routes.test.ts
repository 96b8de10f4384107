import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { checkModelRoutes, ModelRouteError, readAnthropicDeprecations } from '../src/ai/lifecycle';
import { createPricing } from '../src/ai/pricing';
import { DEFAULT_MODEL_ROUTES, type ModelRoutes } from '../src/ai/router';
import { bootstrap } from '../src/app';
import { ConfigError, loadConfig } from '../src/config';
import { gql } from './support/graphql-client';
import { startFakeProvider, type FakeProvider } from './support/fake-provider';
import { startTestApp, TEST_JWT_SECRET } from './support/test-app';

const TODAY = new Date('2026-11-30T12:00:00Z');
/** $5 / $25 per million tokens (deploybase.ai/articles/claude-api-pricing); not in the built-in table, as nothing routes to it. */
const OPUS_4_5_PRICE = { inputNanoUsdPerToken: 5_000, outputNanoUsdPerToken: 25_000 };
const DAY_MS = 86_400_000;

function routes(strongAnthropic: string): ModelRoutes {
  return { ...DEFAULT_MODEL_ROUTES, strong: { ...DEFAULT_MODEL_ROUTES.strong, anthropic: strongAnthropic } };
}

describe('MODEL_ROUTES_JSON', () => {
  it('defaults to current models, and overrides only what it names', () => {
    expect(loadConfig({}).modelRoutes).toEqual({
      cheap: { openai: 'gpt-5.4-mini', anthropic: 'claude-haiku-5-5' },
      strong: { openai: 'gpt-5.4', anthropic: 'claude-sonnet-5-5' },
    });
    expect(loadConfig({ MODEL_ROUTES_JSON: '{"strong": {"anthropic": "claude-opus-5-5"}}' }).modelRoutes).toEqual(routes('claude-opus-5-5'));
  });

  it.each([
    ['not JSON', '{strong'],
    ['an unknown tier', '{"premium": {"openai": "gpt-5.4"}}'],
    ['an unknown vendor', '{"cheap": {"mistral": "small"}}'],
    ['a model id that is not one', '{"cheap": {"openai": "gpt 5; drop"}}'],
    ['an empty model id', '{"cheap": {"openai": ""}}'],
    ['a number', '{"cheap": {"openai": 5}}'],
  ])('refuses %s, naming the variable', (_name, value) => {
    expect(() => loadConfig({ MODEL_ROUTES_JSON: value })).toThrow(ConfigError);
    expect(() => loadConfig({ MODEL_ROUTES_JSON: value })).toThrow(/MODEL_ROUTES_JSON/);
  });
});

describe('the Anthropic SDK deprecation table', () => {
  it('is read from the installed SDK, with its dates as UTC days', () => {
    const table = readAnthropicDeprecations();
    expect(table.get('claude-sonnet-4-5')).toEqual(new Date('2026-11-30T00:00:00Z'));
    expect(table.get('claude-sonnet-4-5-20250929')).toEqual(new Date('2026-11-30T00:00:00Z'));
    expect(table.get('claude-opus-4-5')).toEqual(new Date('2027-01-22T00:00:00Z'));
    expect(table.has('claude-sonnet-5-5')).toBe(false);
  });
});

describe('the start-up check of the routes', () => {
  const pricing = createPricing();
  const table = readAnthropicDeprecations();

  it('passes the default routes today, with nothing to report', () => {
    expect(checkModelRoutes(DEFAULT_MODEL_ROUTES, pricing, table, new Date())).toEqual({ problems: [], warnings: [], notes: [] });
  });

  it('refuses a model past its end of life, from its last day on', () => {
    const check = checkModelRoutes(routes('claude-sonnet-4-5'), pricing, table, TODAY);
    expect(check.problems).toEqual([expect.stringMatching(/^strong\.anthropic routes to claude-sonnet-4-5, which reached its end of life on 2026-11-30/)]);
    const dayBefore = checkModelRoutes(routes('claude-sonnet-4-5'), pricing, table, new Date('2026-11-29T12:00:00Z'));
    expect(dayBefore.problems).toEqual([]);
    expect(dayBefore.warnings).toEqual([expect.stringMatching(/claude-sonnet-4-5, which is deprecated and reaches its end of life on 2026-11-30, in 1 day/)]);
  });

  it('warns within 30 days of the end of life, and notes it further out', () => {
    const end = new Date('2027-01-22T00:00:00Z').getTime();
    const pricing = createPricing({ 'claude-opus-4-5': OPUS_4_5_PRICE });
    const within = checkModelRoutes(routes('claude-opus-4-5'), pricing, table, new Date(end - 30 * DAY_MS));
    expect(within).toMatchObject({ problems: [], warnings: [expect.stringContaining('in 30 day(s)')], notes: [] });
    const further = checkModelRoutes(routes('claude-opus-4-5'), pricing, table, new Date(end - 31 * DAY_MS));
    expect(further).toMatchObject({ problems: [], warnings: [], notes: [expect.stringContaining('in 31 day(s)')] });
  });

  it('refuses a model without a price, or without a tokenizer, unless PRICING_JSON prices it', () => {
    const unpriced = { ...DEFAULT_MODEL_ROUTES, cheap: { openai: 'gpt-5.6-luna', anthropic: 'mistral-small' } };
    expect(checkModelRoutes(unpriced, pricing, table, TODAY).problems).toEqual([
      expect.stringMatching(/^cheap\.openai routes to gpt-5\.6-luna, which has no price/),
      expect.stringMatching(/^cheap\.anthropic routes to mistral-small, which has no price/),
      expect.stringMatching(/^cheap\.anthropic routes to mistral-small, which no tokenizer is known for/),
    ]);
    const priced = createPricing({ 'gpt-5.6-luna': { inputNanoUsdPerToken: 200, outputNanoUsdPerToken: 1_200 } });
    expect(checkModelRoutes({ ...DEFAULT_MODEL_ROUTES, cheap: { ...DEFAULT_MODEL_ROUTES.cheap, openai: 'gpt-5.6-luna' } }, priced, table, TODAY).problems).toEqual([]);
  });
});

describe('bootstrap', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'andora-routes-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const env = (extra: Record<string, string>) => ({ NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: dataDir, ...extra });

  it.each([
    ['a model past its end of life', '{"strong": {"anthropic": "claude-sonnet-4-5"}}', /strong\.anthropic routes to claude-sonnet-4-5, which reached its end of life on 2026-11-30/],
    ['a model without a price', '{"cheap": {"openai": "gpt-5.6-terra"}}', /cheap\.openai routes to gpt-5\.6-terra, which has no price/],
  ])('refuses to start with %s, before opening anything', async (_name, value, message) => {
    const start = bootstrap(loadConfig(env({ MODEL_ROUTES_JSON: value })));
    await expect(start).rejects.toThrow(ModelRouteError);
    await expect(start).rejects.toThrow(message);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('logs a deprecated routed model through pino, then refuses the bad route', async () => {
    // claude-opus-4-5 reaches its end of life on 2027-01-22: more than 30 days from 2026-11-30,
    // so this start logs it as information; the warning case is the unit test above.
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const start = bootstrap(
      loadConfig(
        env({
          MODEL_ROUTES_JSON: '{"strong": {"anthropic": "claude-opus-4-5"}, "cheap": {"openai": "gpt-5.6-sol"}}',
          PRICING_JSON: JSON.stringify({ 'claude-opus-4-5': OPUS_4_5_PRICE }),
        }),
      ),
      { log },
    );
    await expect(start).rejects.toThrow(/^refusing to start \(MODEL_ROUTES_JSON\):\n  cheap\.openai routes to gpt-5\.6-sol, which has no price[^\n]*$/);
    const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged).toContainEqual(expect.objectContaining({ level: 30, msg: expect.stringContaining('claude-opus-4-5, which is deprecated') }));
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
  });
});

describe('a configured route', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider({ usageFor: () => ({ promptTokens: 20, completionTokens: 5 }) });
  });
  afterAll(() => fake.close());

  it('is what the service calls, priced through PRICING_JSON', async () => {
    const t = await startTestApp({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: `${fake.url}/v1`,
      MODEL_ROUTES_JSON: '{"cheap": {"openai": "gpt-5.6-luna"}}',
      PRICING_JSON: '{"gpt-5.6-luna": {"inputNanoUsdPerToken": 200, "outputNanoUsdPerToken": 1200}}',
    });
    try {
      const user = await t.signUp();
      const brand = await gql(t.url, 'mutation { createBrand(input: { name: "Acme" }) { brand { id } } }', {}, user.token);
      const res = await gql(
        t.url,
        'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { usage { model costUsd } } }',
        { b: brand.data!.createBrand.brand.id },
        user.token,
      );
      expect(res.data!.chatWithAndora.usage).toEqual({ model: 'gpt-5.6-luna', costUsd: (20 * 200 + 5 * 1_200) / 1e9 });
      expect(fake.requests.at(-1)!.body).toMatchObject({ model: 'gpt-5.6-luna', max_completion_tokens: 400, reasoning_effort: 'none' });
    } finally {
      await t.close();
    }
  });
});
