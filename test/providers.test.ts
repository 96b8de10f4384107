import { AnthropicProvider } from '../src/ai/anthropic';
import { OfflineProvider } from '../src/ai/offline';
import { taskByMutation } from '../src/ai/tasks';
import { OpenAiProvider } from '../src/ai/openai';
import { costNanoUsd, createPricing, nanoToUsd } from '../src/ai/pricing';
import {
  ProviderError,
  type ChatMessage,
  type CompletionRequest,
  type Provider,
  type StreamEvent,
} from '../src/ai/provider';
import { createProviders } from '../src/ai/providers';
import { createModelRouter, DEFAULT_MODEL_ROUTES } from '../src/ai/router';
import { sdkLogger, sdkLogLevel } from '../src/ai/sdk-logger';
import { createLogger } from '../src/logger';
import pino from 'pino';
import { countMessageTokens, countTokens } from '../src/ai/tokenizer';
import { startFakeProvider, type FakeProvider } from './support/fake-provider';

/** The SDKs log through it; silent, as tests are. */
const SILENT = createLogger('silent');
const { cheap: CHEAP, strong: STRONG } = DEFAULT_MODEL_ROUTES;

/** Long enough that only the behaviour under test can make a call time out. */
const GENEROUS_TIMEOUT_MS = 10_000;
const SHORT_TIMEOUT_MS = 200;
const FAKE_DELAY_MS = 2_000;

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'tell me about token ledgers' },
];

function request(overrides: Partial<CompletionRequest> = {}): CompletionRequest {
  return { model: 'gpt-4o-mini', messages: MESSAGES, maxOutputTokens: 50, ...overrides };
}

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('tokenizer', () => {
  it('counts o200k tokens for OpenAI models and the offline model', () => {
    expect(countTokens('gpt-4o', 'hello world')).toBe(2);
    expect(countTokens('offline', 'hello world')).toBe(2);
    expect(countTokens('gpt-4o', '')).toBe(0);
  });

  it('adds the chat framing: 3 per message plus role, and 3 for the reply', () => {
    expect(countMessageTokens('gpt-4o', [{ role: 'user', content: 'hello world' }])).toBe(3 + 1 + 2 + 3);
  });

  it('over-estimates Claude, whose tokenizer is not public', () => {
    const text = 'The quick brown fox jumps over the lazy dog, twice.';
    expect(countTokens('claude-haiku-4-5', text)).toBeGreaterThan(countTokens('gpt-4o', text));
    expect(countMessageTokens('claude-haiku-4-5', MESSAGES)).toBeGreaterThan(countMessageTokens('gpt-4o', MESSAGES));
  });

  it('over-estimates the newer Claude tokenizer (Claude 5) by a further 30 %', () => {
    const text = 'The quick brown fox jumps over the lazy dog, twice.';
    expect(countTokens('claude-haiku-5-5', text)).toBe(Math.ceil((countTokens('gpt-4o', text) * 160) / 100));
    expect(countTokens('claude-sonnet-5-5', text)).toBeGreaterThan(countTokens('claude-haiku-4-5', text));
  });

  it('counts special-token text as plain text instead of throwing', () => {
    expect(countTokens('gpt-4o', 'a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('refuses a model it has no tokenizer for', () => {
    expect(() => countTokens('llama-3', 'hi')).toThrow(/no tokenizer/);
  });
});

describe('pricing', () => {
  it('prices in exact integer nano-USD', () => {
    expect(costNanoUsd('gpt-4o', { promptTokens: 1_000_000, completionTokens: 1_000_000 })).toBe(12_500_000_000);
    expect(nanoToUsd(12_500_000_000)).toBe(12.5);
    expect(costNanoUsd('gpt-4o-mini', { promptTokens: 1_234, completionTokens: 567 })).toBe(1_234 * 150 + 567 * 600);
    expect(costNanoUsd('claude-haiku-4-5', { promptTokens: 3, completionTokens: 7 })).toBe(3 * 1_000 + 7 * 5_000);
    expect(costNanoUsd('offline', { promptTokens: 99, completionTokens: 99 })).toBe(0);
  });

  it('maps dated snapshots to one row', () => {
    const usage = { promptTokens: 10, completionTokens: 10 };
    expect(costNanoUsd('gpt-4o-2024-08-06', usage)).toBe(costNanoUsd('gpt-4o', usage));
    expect(costNanoUsd('gpt-5.4-mini-2026-03-17', usage)).toBe(10 * 750 + 10 * 4_500);
    expect(costNanoUsd('claude-sonnet-4-5-20250929', usage)).toBe(costNanoUsd('claude-sonnet-4-5', usage));
    expect(costNanoUsd('claude-haiku-4-5-20251001', usage)).toBe(10 * 1_000 + 10 * 5_000);
  });

  it('prices the routed models at their list prices, Haiku 5.5 higher past 100,000 prompt tokens', () => {
    const million = { promptTokens: 1_000_000, completionTokens: 1_000_000 };
    expect(nanoToUsd(costNanoUsd('gpt-5.4', million))).toBe(2.5 + 15);
    expect(nanoToUsd(costNanoUsd('gpt-5.4-mini', million))).toBe(0.75 + 4.5);
    expect(nanoToUsd(costNanoUsd('claude-sonnet-5-5', million))).toBe(2 + 10);
    expect(costNanoUsd('claude-haiku-5-5', { promptTokens: 100_000, completionTokens: 10 })).toBe(100_000 * 100 + 10 * 500);
    expect(costNanoUsd('claude-haiku-5-5', { promptTokens: 100_001, completionTokens: 10 })).toBe(100_001 * 500 + 10 * 2_500);
    // Nothing routes to Claude Sonnet 4 any more and the SDK no longer lists it.
    expect(() => costNanoUsd('claude-sonnet-4-0', million)).toThrow(/no price/);
  });

  it('throws for unknown models, fractions and overflow; overrides add models', () => {
    expect(() => costNanoUsd('gpt-9', { promptTokens: 1, completionTokens: 1 })).toThrow(/no price/);
    expect(() => costNanoUsd('gpt-4o', { promptTokens: 1.5, completionTokens: 1 })).toThrow(/safe integer/);
    const huge = { promptTokens: Number.MAX_SAFE_INTEGER, completionTokens: 0 };
    expect(() => costNanoUsd('gpt-4o', huge)).toThrow(/safe integer/);
    const pricing = createPricing({ 'gpt-9': { inputNanoUsdPerToken: 7, outputNanoUsdPerToken: 11 } });
    expect(pricing.costNanoUsd('gpt-9', { promptTokens: 2, completionTokens: 3 })).toBe(47);
    expect(() => createPricing({ x: { inputNanoUsdPerToken: 0.5, outputNanoUsdPerToken: 1 } })).toThrow();
  });
});

describe('model router', () => {
  it.each([
    [true, true, 'cheap', 'openai', 'gpt-5.4-mini'],
    [true, false, 'strong', 'openai', 'gpt-5.4'],
    [false, true, 'cheap', 'anthropic', 'claude-haiku-5-5'],
    [false, true, 'strong', 'anthropic', 'claude-sonnet-5-5'],
    [false, false, 'strong', 'offline', 'offline'],
  ] as const)('openai=%s anthropic=%s: %s goes to %s %s', (openai, anthropic, tier, provider, model) => {
    expect(createModelRouter({ openai, anthropic }).route(tier)).toEqual({ provider, model });
    expect(costNanoUsd(model, { promptTokens: 1, completionTokens: 1 })).toBeGreaterThanOrEqual(0);
  });

  it('routes as the configured table says', () => {
    const routes = { ...DEFAULT_MODEL_ROUTES, strong: { openai: 'gpt-5', anthropic: 'claude-haiku-4-5' } };
    expect(createModelRouter({ openai: false, anthropic: true }, routes).route('strong')).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(createModelRouter({ openai: true, anthropic: true }, routes).route('cheap')).toEqual({ provider: 'openai', model: CHEAP.openai });
  });

  it('creates only the configured providers, offline always', () => {
    const providers = createProviders({ anthropic: { apiKey: 'k' }, timeoutMs: 1_000, maxRetries: 0, log: SILENT });
    expect(providers.openai).toBeUndefined();
    expect(providers.anthropic?.name).toBe('anthropic');
    expect(providers.offline?.name).toBe('offline');
  });
});

describe('offline provider', () => {
  const offline = new OfflineProvider();

  const brand = { name: 'Acme', description: null, industry: null, audience: null };
  const offlineCall = (mutation: string, input: Record<string, unknown>, maxOutputTokens?: number) => {
    const task = taskByMutation(mutation)!;
    const params = task.input.parse(input);
    const messages = task.messages(brand, params);
    return { task, req: { model: 'offline', messages, maxOutputTokens: maxOutputTokens ?? task.outputTokensMax, format: task.format?.(params) } };
  };

  it('answers what the task really returns: as many characters as asked, every field filled', async () => {
    const { task, req } = offlineCall('generateCharacters', { count: 3 });
    const result = await offline.complete(req);
    const characters = task.parse(result.text) as Array<Record<string, unknown>>;
    expect(characters).toHaveLength(3);
    expect(characters[2]).toEqual({ name: 'Offline name 3', role: 'Offline role 3', traits: ['Offline traits 3 #1', 'Offline traits 3 #2', 'Offline traits 3 #3'], backstory: 'Offline backstory 3' });
    expect(result.usage.completionTokens).toBe(countTokens('offline', result.text));
    expect(await offline.complete(req)).toEqual(result);
  });

  it('plans a calendar on dates of the requested month, as many posts as postsPerWeek asks', async () => {
    const { task, req } = offlineCall('generateCalendar', { month: '2027-02', postsPerWeek: 5 });
    const entries = task.parse((await offline.complete(req)).text) as Array<{ date: string; channel: string; title: string; summary: string }>;
    expect(entries).toHaveLength(Math.ceil((28 * 5) / 7));
    expect(entries.every((e) => /^2027-02-(0[1-9]|1\d|2[0-8])$/.test(e.date) && e.channel && e.title && e.summary)).toBe(true);
    expect(entries.map((e) => e.date)).toEqual([...entries.map((e) => e.date)].sort());
    expect(entries[0]!.date).toBe('2027-02-01');
    // The busiest month still fits the cap: 14 a week over 31 days.
    const busiest = offlineCall('generateCalendar', { month: '2027-01', postsPerWeek: 14 });
    expect(busiest.task.parse((await offline.complete(busiest.req)).text)).toHaveLength(62);
  });

  it('casts the candidates it was given and dates a single post as asked', async () => {
    const cast = offlineCall('resolveCast', { scene: 'launch day', characterNames: ['Ava', 'Ben'] });
    expect((cast.task.parse((await offline.complete(cast.req)).text) as Array<{ name: string }>).map((m) => m.name)).toEqual(['Ava', 'Ben']);
    const entry = offlineCall('generateCalendarEntry', { date: '2027-03-04' });
    expect(entry.task.parse((await offline.complete(entry.req)).text)).toEqual({ date: '2027-03-04', channel: 'Offline channel', title: 'Offline title', summary: 'Offline summary' });
  });

  it('cuts a sample off at the output cap as a vendor would, and the parser keeps what it can', async () => {
    const { task, req } = offlineCall('generateCharacters', { count: 8 }, 60);
    const result = await offline.complete(req);
    expect(result.usage.completionTokens).toBeLessThanOrEqual(60);
    expect(() => JSON.parse(result.text)).toThrow();
    const characters = task.parse(result.text) as Array<{ name: string }>;
    expect(characters.length).toBeGreaterThan(0);
    expect(characters[0]!.name).toBe('Offline name 1');
  });

  const req = request({ model: 'offline' });

  it('is deterministic and its usage equals the tokenizer counts', async () => {
    const first = await offline.complete(req);
    expect(await offline.complete(req)).toEqual(first);
    expect(first.text).toContain('tell me about token ledgers');
    expect(first.usage).toEqual({
      promptTokens: countMessageTokens('offline', MESSAGES),
      completionTokens: countTokens('offline', first.text),
    });
  });

  it('streams word deltas that add up to the completed text', async () => {
    const events = await collect(offline.stream(req));
    const done = events.at(-1);
    const deltas = events.filter((e) => e.type === 'delta').map((e) => e.text);
    expect(deltas.length).toBeGreaterThan(2);
    const completed = await offline.complete(req);
    expect(deltas.join('')).toBe(completed.text);
    expect(done).toEqual({ type: 'done', ...completed });
  });

  it('keeps its output within maxOutputTokens', async () => {
    const result = await offline.complete({ ...req, maxOutputTokens: 3 });
    expect(result.usage.completionTokens).toBeLessThanOrEqual(3);
    expect(result.text.length).toBeGreaterThan(0);
  });
});

type Limits = { timeoutMs?: number; maxRetries?: number };

/** Providers under test fail fast: no SDK retries unless a test asks for them. */
function sdkOptions(baseURL: string, limits: Limits = {}) {
  return { apiKey: 'test-key', baseURL, timeoutMs: GENEROUS_TIMEOUT_MS, maxRetries: 0, log: SILENT, ...limits };
}

interface VendorCase {
  vendor: 'openai' | 'anthropic';
  /** The cheap tier's default route. */
  model: string;
  /** GPT-5.4 is a reasoning model: its cap goes in max_completion_tokens. */
  capField: 'max_tokens' | 'max_completion_tokens';
  make(fake: FakeProvider, limits?: Limits): Provider;
}

const VENDORS: VendorCase[] = [
  {
    vendor: 'openai',
    model: CHEAP.openai,
    capField: 'max_completion_tokens',
    make: (fake, limits) => new OpenAiProvider(sdkOptions(`${fake.url}/v1`, limits)),
  },
  {
    vendor: 'anthropic',
    model: CHEAP.anthropic,
    capField: 'max_tokens',
    make: (fake, limits) => new AnthropicProvider(sdkOptions(fake.url, limits)),
  },
];

describe.each(VENDORS)('$vendor provider against the fake vendor', ({ vendor, model, capField, make }) => {
  let fake: FakeProvider;
  const usage = { promptTokens: 1_234, completionTokens: 56 };

  beforeEach(async () => {
    fake = await startFakeProvider({ usageFor: () => usage });
  });
  afterEach(() => fake.close());

  it('complete() returns the reported usage exactly and sends maxOutputTokens', async () => {
    const result = await make(fake).complete(request({ model, maxOutputTokens: 77 }));
    expect(result).toEqual({ text: 'Echo: tell me about token ledgers', usage, model });
    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent?.vendor).toBe(vendor);
    expect(sent?.outputLimit).toEqual({ field: capField, value: 77 });
    expect(sent?.body.model).toBe(model);
  });

  it('stream() yields the deltas in order, then done with the exact usage', async () => {
    const events = await collect(make(fake).stream(request({ model })));
    expect(events).toEqual([
      { type: 'delta', text: 'Echo:' },
      ...[' tell', ' me', ' about', ' token', ' ledgers'].map((text) => ({ type: 'delta', text })),
      { type: 'done', text: 'Echo: tell me about token ledgers', usage, model },
    ]);
    expect(fake.requests[0]?.body.stream).toBe(true);
  });

  it('maps 500 to a retryable error after exactly one request when maxRetries is 0', async () => {
    fake.setBehavior({ status: 500 });
    const err = await failure(make(fake).complete(request({ model })));
    expect(err).toMatchObject({ provider: vendor, status: 500, retryable: true, kind: 'http' });
    expect(fake.requests).toHaveLength(1);
  });

  it('lets the SDK retry a 429 itself: one call, two requests upstream', async () => {
    fake.setBehavior({ status: 429, failCount: 1, retryAfterMs: 1, usageFor: () => usage });
    const result = await make(fake, { maxRetries: 1 }).complete(request({ model }));
    expect(result.usage).toEqual(usage);
    expect(fake.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);
  });

  it('maps 400 to a non-retryable error', async () => {
    fake.setBehavior({ status: 400 });
    const err = await failure(make(fake).complete(request({ model })));
    expect(err).toMatchObject({ status: 400, retryable: false, kind: 'http' });
  });

  it('reports a timeout when the vendor answers too late', async () => {
    fake.setBehavior({ delayMs: FAKE_DELAY_MS });
    const err = await failure(make(fake, { timeoutMs: SHORT_TIMEOUT_MS }).complete(request({ model })));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    await fake.waitForAborts(1);
  });

  it('reports a timeout when a stream stalls after its headers', async () => {
    fake.setBehavior({ hangAfterChunks: 2, usageFor: () => usage });
    const events: StreamEvent[] = [];
    const provider = make(fake, { timeoutMs: SHORT_TIMEOUT_MS });
    const consume = async () => {
      for await (const event of provider.stream(request({ model }))) events.push(event);
    };
    const err = await failure(consume());
    expect(err.kind).toBe('timeout');
    expect(events).toHaveLength(2);
    // Anthropic reports input tokens up front, so a failed stream still carries them.
    if (vendor === 'anthropic') expect(err.usage?.promptTokens).toBe(usage.promptTokens);
    await fake.waitForAborts(1);
  });

  it('aborts the upstream request when the consumer stops after 2 deltas', async () => {
    fake.setBehavior({ hangAfterChunks: 3 });
    const deltas: string[] = [];
    for await (const event of make(fake).stream(request({ model }))) {
      if (event.type === 'delta') deltas.push(event.text);
      if (deltas.length === 2) break;
    }
    await fake.waitForAborts(1);
    expect(fake.abortedCount).toBe(1);
    expect(fake.requests[0]?.aborted).toBe(true);
  });

  it('aborts the upstream request and throws when the caller aborts the signal', async () => {
    fake.setBehavior({ hangAfterChunks: 3 });
    const controller = new AbortController();
    const consume = async () => {
      for await (const event of make(fake).stream(request({ model, signal: controller.signal }))) {
        if (event.type === 'delta') controller.abort();
      }
    };
    const err = await failure(consume());
    expect(err).toMatchObject({ kind: 'aborted', retryable: false });
    await fake.waitForAborts(1);
  });

  it('reports a connection lost mid-stream as a connection error', async () => {
    fake.setBehavior({ destroyAfterChunks: 2 });
    const err = await failure(collect(make(fake).stream(request({ model }))));
    expect(err).toMatchObject({ kind: 'connection', retryable: true });
  });

  it('treats an answer without usage as a protocol error', async () => {
    fake.setBehavior({ omitUsage: true });
    const complete = await failure(make(fake).complete(request({ model })));
    expect(complete.kind).toBe('protocol');
    const stream = await failure(collect(make(fake).stream(request({ model }))));
    expect(stream.kind).toBe('protocol');
  });
});

describe('vendor specifics', () => {
  let fake: FakeProvider;
  beforeEach(async () => {
    fake = await startFakeProvider();
  });
  afterEach(() => fake.close());

  it('OpenAI asks for the usage chunk and sends max_completion_tokens with the lowest effort to reasoning models', async () => {
    const provider = new OpenAiProvider(sdkOptions(`${fake.url}/v1`));
    await collect(provider.stream(request({ model: 'gpt-4o' })));
    await provider.complete(request({ model: 'gpt-5', maxOutputTokens: 64 }));
    await provider.complete(request({ model: STRONG.openai, maxOutputTokens: 65 }));
    expect(fake.requests.map((r) => r.path)).toEqual(Array(3).fill('/v1/chat/completions'));
    expect(fake.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    expect(fake.requests[0]?.outputLimit).toEqual({ field: 'max_tokens', value: 50 });
    expect(fake.requests[0]?.body.reasoning_effort).toBeUndefined();
    expect(fake.requests[1]?.outputLimit).toEqual({ field: 'max_completion_tokens', value: 64 });
    expect(fake.requests[1]?.body.reasoning_effort).toBe('minimal');
    // GPT-5.1 and later can skip reasoning altogether, leaving the whole cap to the reply.
    expect(fake.requests[2]?.outputLimit).toEqual({ field: 'max_completion_tokens', value: 65 });
    expect(fake.requests[2]?.body.reasoning_effort).toBe('none');
    expect(fake.requests[1]?.headers.authorization).toBe('Bearer test-key');
  });

  it('Anthropic turns Claude 5.5 thinking off (or to its least), which would spend the cap', async () => {
    const provider = new AnthropicProvider(sdkOptions(fake.url));
    await provider.complete(request({ model: CHEAP.anthropic }));
    await collect(provider.stream(request({ model: STRONG.anthropic })));
    await provider.complete(request({ model: 'claude-haiku-4-5' }));
    expect(fake.requests.map((r) => r.body.thinking)).toEqual([{ type: 'disabled' }, { type: 'between_tools' }, undefined]);
  });

  it('Anthropic gets system text as its own parameter, at /v1/messages', async () => {
    const provider = new AnthropicProvider(sdkOptions(fake.url));
    await provider.complete(request({ model: 'claude-haiku-4-5' }));
    const [sent] = fake.requests;
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.body.system).toBe('You are terse.');
    expect(sent?.body.messages).toEqual([{ role: 'user', content: 'tell me about token ledgers' }]);
    // This SDK version sends the API key as a bearer token, not as x-api-key.
    expect(sent?.headers.authorization).toBe('Bearer test-key');
    expect(sent?.headers['x-api-key']).toBeUndefined();
  });
});

describe('structured outputs at the wire', () => {
  let fake: FakeProvider;
  beforeEach(async () => {
    fake = await startFakeProvider({ usageFor: () => ({ promptTokens: 300, completionTokens: 40 }) });
  });
  afterEach(() => fake.close());

  const persona = taskByMutation('generatePersona')!;
  const brand = { name: 'Acme', description: null, industry: null, audience: null };
  const params = persona.input.parse({});
  const personaRequest = (model: string, overrides: Partial<CompletionRequest> = {}): CompletionRequest => ({
    model,
    messages: persona.messages(brand, params),
    maxOutputTokens: persona.outputTokensMax,
    format: persona.format!(params),
    ...overrides,
  });
  const FAKE_PERSONA = { name: 'Fake name', occupation: 'Fake occupation', summary: 'Fake summary', goals: ['Fake goals'], painPoints: ['Fake painPoints'] };

  it.each(VENDORS)('$vendor: the request carries the strict schema; the reply is JSON that the task parses, streamed or not', async ({ vendor, model, make }) => {
    const provider = make(fake);
    const completed = await provider.complete(personaRequest(model));
    const events = await collect(provider.stream(personaRequest(model)));
    const deltas = events.filter((e) => e.type === 'delta').map((e) => e.text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(completed.text);
    expect(events.at(-1)).toMatchObject({ type: 'done', text: completed.text });
    expect(persona.parse(completed.text)).toEqual(FAKE_PERSONA);

    const schema = persona.format!(params).json!.schema;
    for (const sent of fake.requests) {
      if (vendor === 'openai') {
        expect(sent.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'persona', strict: true, schema } });
      } else {
        const { $schema: _dialect, ...withoutDialect } = schema;
        expect(sent.body.output_config).toEqual({ format: { type: 'json_schema', schema: withoutDialect } });
        expect(sent.body.tools).toBeUndefined();
      }
      expect(sent.replySchema).toMatchObject({ type: 'object', required: Object.keys(FAKE_PERSONA), additionalProperties: false });
    }
  });

  it.each(VENDORS)('$vendor: the fake refuses a request that asks for JSON without its schema', async ({ model, make }) => {
    const err = await failure(make(fake).complete(personaRequest(model, { format: undefined })));
    expect(err).toMatchObject({ status: 400, kind: 'http' });
    expect(err.message).toMatch(/carries no schema/);
  });

  it('the calendar has no schema (its lines are not JSON), so nothing is sent for it', async () => {
    const calendar = taskByMutation('generateCalendar')!;
    const input = calendar.input.parse({ month: '2027-01' });
    await new OpenAiProvider(sdkOptions(`${fake.url}/v1`)).complete({
      model: CHEAP.openai,
      messages: calendar.messages(brand, input),
      maxOutputTokens: calendar.outputTokensMax,
      format: calendar.format!(input),
    });
    expect(fake.requests[0]?.body.response_format).toBeUndefined();
    expect(fake.requests[0]?.asksForJson).toBe(false);
  });

  it('a model without structured outputs gets the prompt alone, and the lenient reader takes its reply', async () => {
    fake.setBehavior({ requireSchema: false, reply: () => 'Here you go:\n```json\n{"name": "Rita", "pain_points": ["Feet"],}\n```' });
    const openai = await new OpenAiProvider(sdkOptions(`${fake.url}/v1`)).complete(personaRequest('gpt-3.5-turbo'));
    const anthropic = await new AnthropicProvider(sdkOptions(fake.url)).complete(personaRequest('claude-sonnet-4-0'));
    expect(fake.requests.map((r) => [r.body.response_format, r.body.output_config, r.asksForJson])).toEqual([
      [undefined, undefined, true],
      [undefined, undefined, true],
    ]);
    for (const { text } of [openai, anthropic]) {
      expect(persona.parse(text)).toEqual({ name: 'Rita', occupation: '', summary: '', goals: [], painPoints: ['Feet'] });
    }
  });
});

describe('vendor warnings', () => {
  let fake: FakeProvider;
  beforeEach(async () => {
    fake = await startFakeProvider();
  });
  afterEach(() => fake.close());

  it('go through our logger, never the console, also for a deprecated model', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      // claude-opus-4-5 is in the SDK's deprecation table: its messages.create() console.warns on every request.
      const provider = new AnthropicProvider({ ...sdkOptions(fake.url), log });
      await provider.complete(request({ model: 'claude-opus-4-5' }));
      await collect(provider.stream(request({ model: 'claude-opus-4-5' })));
      expect(fake.requests).toHaveLength(2);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    sdkLogger(log, 'anthropic').warn('something the SDK says', { detail: 1 });
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 40, vendor: 'anthropic', msg: 'something the SDK says', details: [{ detail: 1 }] }),
    ]);
  });

  it('the SDKs log no lower than warn, and not at all when we are silent', () => {
    expect(['trace', 'debug', 'info', 'warn'].map(sdkLogLevel)).toEqual(['warn', 'warn', 'warn', 'warn']);
    expect(['error', 'fatal', 'silent'].map(sdkLogLevel)).toEqual(['error', 'error', 'off']);
  });
});
