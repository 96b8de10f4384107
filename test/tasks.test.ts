import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  GraphQLInputObjectType,
  GraphQLObjectType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { z } from 'zod';
import { PROMPT_TOKENS_MAX, TASKS, taskByMutation, taskByType, type BrandContext, type TaskDefinition, type TaskType } from '../src/ai/tasks';
import { calendarPostCount, calendarSummaryWordsMax, CALENDAR_OUTPUT_TOKENS_MAX } from '../src/ai/tasks/calendar';
import { BRAND_FIELD_PROMPT_CHARS_MAX, JSON_SHAPE_MARKER } from '../src/ai/tasks/define';
import { LIMITS } from '../src/config';
import { countMessageTokens, countTokens } from '../src/ai/tokenizer';
import { fakeValueOf, strictSchemaProblem, type JsonSchemaNode } from './support/fake-provider';

const SHORT = LIMITS.shortInputCharsMax;
const TEXT = LIMITS.textInputCharsMax;
/** Ordinary English at every limit; the catalog's comment promises prompts under this. */
const PROSE_PROMPT_TOKENS_MAX = 3_000;
/** The Yi filler must really be dense, or the worst-case test would prove nothing. */
const DENSE_TOKENS_PER_CHAR_MIN = 2.9;
/** The cap every task's output must stay within (the calendar's is the largest). */
const OUTPUT_TOKENS_CEILING = 2_000;
const FUZZ_RUNS = 200;

type Fill = (chars: number, seed?: number) => string;

/** Ordinary English of exactly `chars` characters after trimming. */
const prose: Fill = (chars, seed = 0) => {
  const words = 'the brand tells a warm story about coffee roasting mornings and the people who gather there';
  const text = `${seed} ${words} `.repeat(Math.ceil(chars / words.length) + 1).slice(0, chars);
  return `${text.slice(0, -1)}x`;
};

/** Yi syllables in a scattered order: o200k has no merges for them, so each costs three tokens. */
const dense: Fill = (chars, seed = 0) =>
  Array.from({ length: chars }, (_, i) => String.fromCharCode(0xa000 + (((i + seed * 31) * 7_919) % 1_165))).join('');

/** Every task's input with every field at its limit. */
const MAXIMAL: Record<TaskType, (fill: Fill) => Record<string, unknown>> = {
  VISION: () => ({}),
  MISSION: () => ({}),
  PERSONA: (f) => ({ focus: f(SHORT) }),
  BUYER_PROFILE: (f) => ({ segment: f(SHORT) }),
  CONTENT_STRATEGY: (f) => ({ goal: f(SHORT) }),
  CHARACTERS: () => ({ count: 8 }),
  RESOLVE_CAST: (f) => ({ scene: f(TEXT), characterNames: Array.from({ length: 20 }, (_, i) => f(SHORT, i)) }),
  MONTHLY_PLOT: (f) => ({ month: '2025-12', theme: f(SHORT) }),
  WEEKLY_SUBPLOT: (f) => ({ month: '2025-12', week: 5, plotSynopsis: f(TEXT) }),
  CONTENT_BRIEF: (f) => ({ topic: f(SHORT), channel: f(SHORT, 1) }),
  NARRATIVE_PREFILL: (f) => ({ field: f(SHORT), context: f(TEXT) }),
  CALENDAR: () => ({ month: '2025-12', postsPerWeek: 14 }),
  REFINE_CONTENT: (f) => ({ content: f(TEXT), instruction: f(SHORT) }),
  EXPAND_BRIEF: (f) => ({ brief: f(TEXT) }),
  MONTHLY_THEME: () => ({ month: '2025-12' }),
  CALENDAR_ENTRY: (f) => ({ date: '2025-12-31', channel: f(SHORT), topic: f(SHORT, 1) }),
  REFINE_CHARACTER_FIELD: (f) => ({ characterName: f(SHORT), field: f(SHORT, 1), currentValue: f(TEXT), instruction: f(SHORT, 2) }),
  CHAT: (f) => ({ message: f(TEXT) }),
};

const maximalBrand = (f: Fill): BrandContext => ({ name: f(SHORT), description: f(TEXT, 1), industry: f(SHORT, 2), audience: f(TEXT, 3) });
const BRAND: BrandContext = { name: 'Andora Shoes', description: 'Running shoes made in Porto.', industry: 'footwear', audience: 'runners' };

/** The same input with one field one step past its limit: a longer string, a bigger number, one more item. */
function oneStepPast(input: Record<string, unknown>): Array<[string, Record<string, unknown>]> {
  return Object.entries(input).flatMap(([key, value]): Array<[string, Record<string, unknown>]> => {
    if (typeof value === 'string' && !/^\d{4}-\d{2}/.test(value)) return [[key, { ...input, [key]: `${value}x` }]];
    if (typeof value === 'number') return [[key, { ...input, [key]: value + 1 }]];
    if (Array.isArray(value)) {
      return [
        [`${key} (one more)`, { ...input, [key]: [...value, value[0]] }],
        [`${key}[0]`, { ...input, [key]: [`${value[0] as string}x`, ...value.slice(1)] }],
      ];
    }
    return [];
  });
}

function promptTokens(task: TaskDefinition, brand: BrandContext, raw: Record<string, unknown>): number {
  return countMessageTokens('gpt-4o', task.messages(brand, task.input.parse(raw)));
}

function loadSchema(): GraphQLSchema {
  return buildSchema(readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8'));
}

const capitalized = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;

function shapeOf(task: TaskDefinition): Record<string, z.ZodType> {
  expect(task.input).toBeInstanceOf(z.ZodObject);
  return (task.input as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
}

/** Whether a parse() result could be returned for the given GraphQL output type without a null error. */
function conforms(value: unknown, type: GraphQLOutputType): boolean {
  if (isNonNullType(type)) return value !== null && value !== undefined && conforms(value, type.ofType);
  if (value === null || value === undefined) return true;
  if (isListType(type)) return Array.isArray(value) && value.every((item) => conforms(item, type.ofType));
  if (isObjectType(type)) {
    if (typeof value !== 'object' || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    const fields = type.getFields();
    return Object.keys(record).every((k) => k in fields) && Object.values(fields).every((f) => conforms(record[f.name], f.type));
  }
  return type.name === 'String' ? typeof value === 'string' : false;
}

describe('task catalog', () => {
  it('has the 18 tasks, each once, findable by mutation and by type', () => {
    expect(TASKS).toHaveLength(18);
    expect(new Set(TASKS.map((t) => t.task)).size).toBe(18);
    expect(new Set(TASKS.map((t) => t.mutation)).size).toBe(18);
    for (const task of TASKS) {
      expect(taskByType(task.task)).toBe(task);
      expect(taskByMutation(task.mutation)).toBe(task);
    }
    expect(taskByMutation('generateNothing')).toBeUndefined();
  });

  it('caps every output with a positive whole number, the calendar highest', () => {
    for (const task of TASKS) {
      expect(Number.isSafeInteger(task.outputTokensMax) && task.outputTokensMax > 0).toBe(true);
      expect(task.outputTokensMax).toBeLessThanOrEqual(OUTPUT_TOKENS_CEILING);
    }
    const calendar = taskByType('CALENDAR').outputTokensMax;
    expect(Math.max(...TASKS.map((t) => t.outputTokensMax))).toBe(calendar);
    expect(taskByType('CHAT').outputTokensMax).toBeLessThanOrEqual(400);
  });
});

describe('prompt size', () => {
  it('uses a filler that costs about three tokens a character', () => {
    expect(countTokens('gpt-4o', dense(1_000))).toBeGreaterThanOrEqual(1_000 * DENSE_TOKENS_PER_CHAR_MIN);
  });

  it.each(TASKS.map((t) => [t.task, t] as const))('%s: the maximal input is at every limit', (_name, task) => {
    for (const fill of [prose, dense]) {
      const input = MAXIMAL[task.task](fill);
      expect(task.input.safeParse(input).success).toBe(true);
      for (const [field, past] of oneStepPast(input)) {
        expect({ field, success: task.input.safeParse(past).success }).toEqual({ field, success: false });
      }
    }
  });

  it.each(TASKS.map((t) => [t.task, t] as const))('%s: stays under PROMPT_TOKENS_MAX at every limit', (_name, task) => {
    expect(promptTokens(task, maximalBrand(dense), MAXIMAL[task.task](dense))).toBeLessThanOrEqual(PROMPT_TOKENS_MAX);
    expect(promptTokens(task, maximalBrand(prose), MAXIMAL[task.task](prose))).toBeLessThanOrEqual(PROSE_PROMPT_TOKENS_MAX);
  });

  it('clips long brand descriptions and audiences in the prompt', () => {
    const brand = { ...BRAND, description: `${'d'.repeat(TEXT - 1)}END`, audience: `${'a'.repeat(TEXT - 1)}END` };
    const system = taskByType('VISION').messages(brand, {})[0]!.content;
    expect(system).not.toContain('END');
    expect(system.length).toBeLessThan(2 * BRAND_FIELD_PROMPT_CHARS_MAX + 300);
  });

  it('gives the model a calendar it can fit in the cap, at most posts', () => {
    const posts = calendarPostCount('2025-12', 14);
    expect(posts).toBe(62);
    const words = calendarSummaryWordsMax(posts);
    const lineTokens = 17 + Math.ceil((words * 4) / 3);
    expect(posts * lineTokens).toBeLessThanOrEqual(CALENDAR_OUTPUT_TOKENS_MAX);
    expect(calendarSummaryWordsMax(calendarPostCount('2025-02', 1))).toBe(25);
  });
});

/** The keys of a JSON value, all the way down: lists by their first item, texts as 'text'. */
function shapeOfJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shapeOfJson(value[0])] : [];
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOfJson(v)]));
  }
  return typeof value === 'string' ? 'text' : typeof value;
}

/** Every text in the value, all the way down. */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(textsOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(textsOf);
  return [];
}

describe('reply formats: one zod schema per JSON task', () => {
  const schema = loadSchema();
  const resultType = (task: TaskDefinition) =>
    (schema.getType(`${capitalized(task.mutation)}Payload`) as GraphQLObjectType).getFields()[task.resultField]!.type;
  /** Every field filled, with texts of ordinary length (a cast of 20 names of 200 characters cannot fit any cap). */
  const typical: Fill = (chars, seed) => prose(Math.min(chars, 40), seed);
  const formatOf = (task: TaskDefinition) => {
    const input = task.input.parse(MAXIMAL[task.task](typical));
    return { input, format: task.format?.(input), prompt: task.messages(BRAND, input).map((m) => m.content).join('\n') };
  };

  it.each(TASKS.map((t) => [t.task, t] as const))('%s: sends a schema exactly when its prompt asks for JSON', (_name, task) => {
    const { format, prompt } = formatOf(task);
    expect(Boolean(format?.json)).toBe(prompt.includes(JSON_SHAPE_MARKER));
  });

  const jsonTasks = TASKS.filter((t) => formatOf(t).format?.json).map((t) => [t.task, t] as const);

  it('covers the tasks that reply with JSON', () => {
    const expected = ['BUYER_PROFILE', 'CALENDAR_ENTRY', 'CHARACTERS', 'CONTENT_BRIEF', 'CONTENT_STRATEGY', 'MONTHLY_PLOT', 'MONTHLY_THEME', 'PERSONA', 'RESOLVE_CAST', 'WEEKLY_SUBPLOT'];
    expect(jsonTasks.map(([name]) => name).sort()).toEqual(expected);
  });

  it.each(jsonTasks)('%s: the schema is strict, the prompt shows its shape, and the parser reads any value of it', (_name, task) => {
    const { format, prompt } = formatOf(task);
    const json = format!.json!;
    expect(json.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    const node = json.schema as JsonSchemaNode;
    expect(strictSchemaProblem(node, 'schema')).toBeUndefined();
    const value = fakeValueOf(node);
    const example: unknown = JSON.parse(prompt.slice(prompt.lastIndexOf(JSON_SHAPE_MARKER) + JSON_SHAPE_MARKER.length));
    expect(shapeOfJson(example)).toEqual(shapeOfJson(value));
    const parsed = task.parse(JSON.stringify(value));
    expect(conforms(parsed, resultType(task))).toBe(true);
    expect(textsOf(parsed).sort()).toEqual(textsOf(value).sort());
  });

  it.each(TASKS.filter((t) => formatOf(t).format).map((t) => [t.task, t] as const))(
    '%s: its offline sample is a full reply: parsed strictly, every field filled, within the cap',
    (_name, task) => {
      const { format } = formatOf(task);
      const sample = format!.sample;
      expect(countTokens('offline', sample)).toBeLessThanOrEqual(task.outputTokensMax);
      const parsed = task.parse(sample);
      expect(conforms(parsed, resultType(task))).toBe(true);
      const texts = textsOf(parsed);
      expect(texts.length).toBeGreaterThan(0);
      expect(texts.every((t) => t.length > 0)).toBe(true);
    },
  );

  it('validates before trusting: wrong types fall back to the lenient reader, text is trimmed', () => {
    const persona = taskByType('PERSONA');
    expect(persona.parse('{"name":"  Rita ","occupation":"Nurse","summary":"Runs.","goals":["Run", "  "],"painPoints":[]}')).toEqual({
      name: 'Rita',
      occupation: 'Nurse',
      summary: 'Runs.',
      goals: ['Run'],
      painPoints: [],
    });
    expect(persona.parse('{"name": 7, "goals": "Run\\nSwim"}')).toEqual({ name: '7', occupation: '', summary: '', goals: ['Run', 'Swim'], painPoints: [] });
    expect(taskByType('CHARACTERS').parse(JSON.stringify({ characters: Array(12).fill({ name: 'A', role: 'B', traits: [], backstory: 'C' }) }))).toHaveLength(8);
  });
});

describe('input validation', () => {
  const task = (type: TaskType) => taskByType(type).input;

  it('trims strings and checks the limit on the trimmed text', () => {
    expect(task('CHAT').parse({ message: `  ${'m'.repeat(TEXT)}  ` })).toEqual({ message: 'm'.repeat(TEXT) });
    expect(task('CHAT').safeParse({ message: '   ' }).success).toBe(false);
    expect(task('PERSONA').parse({ focus: '  founders ' })).toEqual({ focus: 'founders' });
    expect(task('PERSONA').parse({ focus: null })).toEqual({ focus: null });
  });

  it('refuses unknown fields, so a typo in a streamed JSON input is not silently ignored', () => {
    expect(task('CHAT').safeParse({ message: 'hi', mesage: 'hi' }).success).toBe(false);
    expect(task('VISION').safeParse({ brandId: 'b' }).success).toBe(false);
  });

  it('applies defaults for missing and null counts', () => {
    expect(task('CHARACTERS').parse({})).toEqual({ count: 3 });
    expect(task('CHARACTERS').parse({ count: null })).toEqual({ count: 3 });
    expect(task('CALENDAR').parse({ month: '2025-01' })).toEqual({ month: '2025-01', postsPerWeek: 3 });
    expect(task('CHARACTERS').safeParse({ count: 0 }).success).toBe(false);
    expect(task('CHARACTERS').safeParse({ count: 2.5 }).success).toBe(false);
  });

  it('checks months and dates', () => {
    for (const month of ['2025-13', '2025-1', '25-01', '2025-00', '2025/01']) {
      expect(task('MONTHLY_THEME').safeParse({ month }).success).toBe(false);
    }
    expect(task('CALENDAR_ENTRY').safeParse({ date: '2024-02-29' }).success).toBe(true);
    for (const date of ['2025-02-29', '2025-04-31', '2025-1-01', '2025-01-32']) {
      expect(task('CALENDAR_ENTRY').safeParse({ date }).success).toBe(false);
    }
  });

  it('needs at least one candidate to cast', () => {
    expect(task('RESOLVE_CAST').safeParse({ scene: 'x', characterNames: [] }).success).toBe(false);
    expect(task('RESOLVE_CAST').safeParse({ scene: 'x', characterNames: ['  '] }).success).toBe(false);
  });

  it('puts the task inputs in the prompt', () => {
    const messages = taskByType('REFINE_CHARACTER_FIELD').messages(BRAND, {
      characterName: 'Ava',
      field: 'backstory',
      currentValue: 'Grew up by the sea',
      instruction: 'darker',
    });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[0]!.content).toContain('Andora Shoes');
    expect(messages[1]!.content).toEqual(expect.stringContaining('Grew up by the sea'));
    expect(messages[1]!.content).toEqual(expect.stringContaining('darker'));
    const calendar = taskByType('CALENDAR').messages(BRAND, { month: '2025-02', postsPerWeek: 7 })[1]!.content;
    expect(calendar).toContain('February 2025');
    expect(calendar).toContain('28 posts');
  });
});

describe('schema.graphql', () => {
  const schema = loadSchema();
  const mutations = schema.getMutationType()!.getFields();

  it('lists every task type in enum GenerationTask', () => {
    const type = schema.getType('GenerationTask');
    expect(isEnumType(type)).toBe(true);
    const values = isEnumType(type) ? type.getValues().map((v) => v.name) : [];
    expect(new Set(values)).toEqual(new Set(TASKS.map((t) => t.task)));
  });

  it.each(TASKS.map((t) => [t.mutation, t] as const))('%s: input fields match the task input schema', (_name, task) => {
    const field = mutations[task.mutation];
    expect(field).toBeDefined();
    const arg = field!.args.find((a) => a.name === 'input')!;
    expect(String(arg.type)).toBe(`${capitalized(task.mutation)}Input!`);
    const inputType = schema.getType(`${capitalized(task.mutation)}Input`) as GraphQLInputObjectType;
    const fields = inputType.getFields();
    const shape = shapeOf(task);
    expect(Object.keys(fields).sort()).toEqual([...Object.keys(shape), 'brandId', 'idempotencyKey'].sort());
    expect(String(fields.brandId!.type)).toBe('ID!');
    expect(String(fields.idempotencyKey!.type)).toBe('String');
    for (const [key, schemaOfKey] of Object.entries(shape)) {
      const absent = schemaOfKey.safeParse(undefined);
      expect({ key, required: isNonNullType(fields[key]!.type) }).toEqual({ key, required: !absent.success });
      if (fields[key]!.defaultValue !== undefined) expect(absent.data).toBe(fields[key]!.defaultValue);
      expect(fields[key]!.description ?? '').not.toBe('');
    }
  });

  it.each(TASKS.map((t) => [t.mutation, t] as const))('%s: returns its payload with result, usage, balance and id', (_name, task) => {
    const field = mutations[task.mutation]!;
    expect(String(field.type)).toBe(`${capitalized(task.mutation)}Payload!`);
    const payload = schema.getType(`${capitalized(task.mutation)}Payload`) as GraphQLObjectType;
    const fields = payload.getFields();
    expect(Object.keys(fields).sort()).toEqual([task.resultField, 'balance', 'generationId', 'usage'].sort());
    expect(String(fields.usage!.type)).toBe('GenerationUsage!');
    expect(String(fields.balance!.type)).toBe('TokenBalance!');
    expect(String(fields.generationId!.type)).toBe('ID!');
    expect(isNonNullType(fields[task.resultField]!.type)).toBe(true);
  });

  it('offers the streamed subscriptions', () => {
    const subscriptions = schema.getSubscriptionType()!.getFields();
    expect(String(subscriptions.chatWithAndoraStream!.type)).toBe('GenerationStreamEvent!');
    expect(String(subscriptions.expandBriefStream!.type)).toBe('GenerationStreamEvent!');
    expect(subscriptions.generationStream!.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual([
      'task: GenerationTask!',
      'brandId: ID!',
      'input: JSON',
    ]);
  });

  it("validates the existing clients' generation operations unchanged", () => {
    const names = ['ChatWithAndora', 'ExpandBrief', 'GenerateVision', 'ChatWithAndoraStream', 'ExpandBriefStream'];
    const contract = parse(readFileSync(join(__dirname, 'contract', 'frontend-operations.graphql'), 'utf8'));
    const operations = contract.definitions.filter(
      (d) => d.kind === Kind.OPERATION_DEFINITION && names.includes(d.name?.value ?? ''),
    );
    expect(operations).toHaveLength(names.length);
    const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: operations };
    expect(validate(schema, document).map((e) => e.message)).toEqual([]);
  });
});

/** A well-formed reply for every task and what parse() must make of it. */
const VALID_REPLIES: Record<TaskType, { reply: string; result: unknown }> = {
  VISION: { reply: '"A world where every runner owns shoes made to last."', result: 'A world where every runner owns shoes made to last.' },
  MISSION: { reply: 'We make durable running shoes in Porto.\n', result: 'We make durable running shoes in Porto.' },
  PERSONA: {
    reply: '{"name":"Rita","occupation":"Nurse","summary":"Runs at dawn.","goals":["Finish a marathon"],"painPoints":["Sore feet"]}',
    result: { name: 'Rita', occupation: 'Nurse', summary: 'Runs at dawn.', goals: ['Finish a marathon'], painPoints: ['Sore feet'] },
  },
  BUYER_PROFILE: {
    reply: '{"segment":"Clubs","summary":"Buy in bulk.","needs":["Price"],"objections":["Lead time"],"buyingTriggers":["Race season"]}',
    result: { segment: 'Clubs', summary: 'Buy in bulk.', needs: ['Price'], objections: ['Lead time'], buyingTriggers: ['Race season'] },
  },
  CONTENT_STRATEGY: {
    reply: '{"summary":"Show the craft.","pillars":["Craft","Runners"],"channels":["Instagram"],"cadence":"3 a week"}',
    result: { summary: 'Show the craft.', pillars: ['Craft', 'Runners'], channels: ['Instagram'], cadence: '3 a week' },
  },
  CHARACTERS: {
    reply: '{"characters":[{"name":"Ava","role":"Founder","traits":["stubborn"],"backstory":"Ran before she walked."}]}',
    result: [{ name: 'Ava', role: 'Founder', traits: ['stubborn'], backstory: 'Ran before she walked.' }],
  },
  RESOLVE_CAST: {
    reply: '{"cast":[{"name":"Ava","role":"Lead","reason":"It is her launch."}]}',
    result: [{ name: 'Ava', role: 'Lead', reason: 'It is her launch.' }],
  },
  MONTHLY_PLOT: {
    reply: '{"title":"Fresh starts","synopsis":"The team rebuilds.","beats":["Loss","Return"]}',
    result: { title: 'Fresh starts', synopsis: 'The team rebuilds.', beats: ['Loss', 'Return'] },
  },
  WEEKLY_SUBPLOT: {
    reply: '{"title":"Week two","synopsis":"Ben doubts.","beats":["Doubt"]}',
    result: { title: 'Week two', synopsis: 'Ben doubts.', beats: ['Doubt'] },
  },
  CONTENT_BRIEF: {
    reply: '{"title":"Winter sale","objective":"Sell boots.","keyMessages":["Warm","Dry"],"callToAction":"Shop now."}',
    result: { title: 'Winter sale', objective: 'Sell boots.', keyMessages: ['Warm', 'Dry'], callToAction: 'Shop now.' },
  },
  NARRATIVE_PREFILL: { reply: 'Made for the long run.', result: 'Made for the long run.' },
  CALENDAR: {
    reply: '2027-01-04 | Instagram | New year, new miles | A reel of dawn runs.\n2027-01-06 | Blog | Care tips | How to dry | wet shoes.',
    result: [
      { date: '2027-01-04', channel: 'Instagram', title: 'New year, new miles', summary: 'A reel of dawn runs.' },
      { date: '2027-01-06', channel: 'Blog', title: 'Care tips', summary: 'How to dry | wet shoes.' },
    ],
  },
  REFINE_CONTENT: { reply: 'Our shoes carry you further.', result: 'Our shoes carry you further.' },
  EXPAND_BRIEF: { reply: '## Background\nSpring line.\n', result: '## Background\nSpring line.' },
  MONTHLY_THEME: {
    reply: '{"title":"Spring forward","description":"Lighter shoes.","keywords":["spring","light"]}',
    result: { title: 'Spring forward', description: 'Lighter shoes.', keywords: ['spring', 'light'] },
  },
  CALENDAR_ENTRY: {
    reply: '{"date":"2027-01-15","channel":"Blog","title":"Care tips","summary":"Keep them dry."}',
    result: { date: '2027-01-15', channel: 'Blog', title: 'Care tips', summary: 'Keep them dry.' },
  },
  REFINE_CHARACTER_FIELD: { reply: 'She grew up by a cold, grey sea.', result: 'She grew up by a cold, grey sea.' },
  CHAT: { reply: '  Post your dawn-run reel on Tuesday.  ', result: 'Post your dawn-run reel on Tuesday.' },
};

const GARBAGE = ['', '   ', 'not json at all', '{', '[', '{"a":', '[1, 2', '}{][', '```json\n```', 'null', '42', '"text"', '[[[[[[', '{"characters": "none"}', '\u0000\uFFFF\uD800'];

describe('parsing replies', () => {
  const schema = loadSchema();
  const resultType = (task: TaskDefinition) =>
    (schema.getType(`${capitalized(task.mutation)}Payload`) as GraphQLObjectType).getFields()[task.resultField]!.type;

  it.each(TASKS.map((t) => [t.task, t] as const))('%s: reads a well-formed reply', (_name, task) => {
    const { reply, result } = VALID_REPLIES[task.task];
    expect(task.parse(reply)).toEqual(result);
    expect(conforms(task.parse(reply), resultType(task))).toBe(true);
  });

  it.each(TASKS.map((t) => [t.task, t] as const))('%s: never throws, and always returns its GraphQL shape', (_name, task) => {
    for (const reply of GARBAGE) expect({ reply, ok: conforms(task.parse(reply), resultType(task)) }).toEqual({ reply, ok: true });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (reply) => conforms(task.parse(reply), resultType(task))),
      { numRuns: FUZZ_RUNS },
    );
  });

  // No stopwatch here (speed lives in benchmarks): the reader tries at most JSON_STARTS_MAX starts, each
  // a linear scan; a quadratic reader would not finish these within the test's timeout.
  it('reads huge and deeply nested replies without throwing', () => {
    const replies = ['['.repeat(100_000), `[${'1,'.repeat(100_000)}`, `{"a":[${'{"b":"c"},'.repeat(20_000)}`, '{'.repeat(50_000)];
    for (const reply of replies) {
      for (const task of TASKS) expect(conforms(task.parse(reply), resultType(task))).toBe(true);
    }
  });

  it.each(TASKS.map((t) => [t.task, t] as const))('%s: keeps the raw text of a reply that holds no JSON', (_name, task) => {
    const reply = 'The model ignored the format and wrote prose.';
    expect(JSON.stringify(task.parse(reply))).toContain(reply);
  });

  it('finds JSON inside prose and code fences, with snake_case keys and trailing commas', () => {
    const reply = 'Sure! Here is {one} persona:\n```json\n{"name": "Rita", "occupation": "Nurse", "summary": "Runs.", "goals": ["Run",], "pain_points": ["Feet"],}\n```\nEnjoy.';
    expect(taskByType('PERSONA').parse(reply)).toEqual({ name: 'Rita', occupation: 'Nurse', summary: 'Runs.', goals: ['Run'], painPoints: ['Feet'] });
  });

  it('keeps the complete items of a reply cut off by the output cap', () => {
    const reply = '{"characters": [{"name": "Ava", "role": "Founder", "traits": ["bold"], "backstory": "Ran."}, {"name": "Ben", "role": "Coa';
    expect(taskByType('CHARACTERS').parse(reply)).toEqual([
      { name: 'Ava', role: 'Founder', traits: ['bold'], backstory: 'Ran.' },
      { name: 'Ben', role: '', traits: [], backstory: '' },
    ]);
  });

  it('reads a bare array, a lone object and a list written as text', () => {
    expect(taskByType('RESOLVE_CAST').parse('[{"name": "Ava", "role": "Lead", "reason": "Hers."}]')).toHaveLength(1);
    expect(taskByType('CHARACTERS').parse('{"name": "Ava", "role": "Founder", "traits": ["bold"], "backstory": "Ran."}')).toEqual([
      { name: 'Ava', role: 'Founder', traits: ['bold'], backstory: 'Ran.' },
    ]);
    expect(taskByType('MONTHLY_THEME').parse('{"title": "Spring", "description": "Light.", "keywords": "- spring\\n- light"}')).toEqual({
      title: 'Spring',
      description: 'Light.',
      keywords: ['spring', 'light'],
    });
  });

  it('reads a calendar written as a markdown table or as JSON', () => {
    const table = '| Date | Channel | Title | Summary |\n|---|---|---|---|\n| 2027-01-04 | Instagram | Dawn | A reel. |';
    expect(taskByType('CALENDAR').parse(table)).toEqual([{ date: '2027-01-04', channel: 'Instagram', title: 'Dawn', summary: 'A reel.' }]);
    const json = '[{"date": "2027-01-04", "channel": "Blog", "title": "Dawn", "summary": "A post."}]';
    expect(taskByType('CALENDAR').parse(json)).toEqual([{ date: '2027-01-04', channel: 'Blog', title: 'Dawn', summary: 'A post.' }]);
  });
});
