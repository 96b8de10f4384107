import { getNamedType, isNonNullType, isObjectType, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { buildSchema } from '../src/graphql/schema';
import { errorCode, gql, subscribe, wsClient, type GraphQLResponse } from './support/graphql-client';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Every connection field reachable from Query, found by walking the schema (not a hand list), gets
 * garbage `after:` cursors through the real server: each must be BAD_USER_INPUT, never a 500.
 */

interface Step {
  field: string;
  args: Record<string, string>;
}

interface ConnectionField {
  /** e.g. Brand.generations */
  name: string;
  /** The fields from Query down to the connection's owner. */
  path: Step[];
  field: string;
  args: Record<string, string>;
}

/** Ids of objects the fixture created, by the type a required id argument leads to. */
type Fixtures = Record<string, string>;

/** The value of a required argument: `id` names the field's own type, `fooId` names Foo. */
function requiredArgs(owner: GraphQLObjectType, field: GraphQLField<unknown, unknown>, fixtures: Fixtures): Record<string, string> {
  const args: Record<string, string> = {};
  for (const arg of field.args) {
    if (!isNonNullType(arg.type) || arg.defaultValue !== undefined) continue;
    const typeName = arg.name === 'id' ? getNamedType(field.type).name : arg.name.replace(/Id$/, '').replace(/^./, (c) => c.toUpperCase());
    const value = fixtures[typeName];
    if (!value) throw new Error(`no fixture for ${owner.name}.${field.name}(${arg.name}): add one for ${typeName}`);
    args[arg.name] = value;
  }
  return args;
}

/** Breadth first from Query, so each connection field is reached by its shortest path. */
function connectionFields(fixtures: Fixtures): ConnectionField[] {
  const schema = buildSchema();
  const found = new Map<string, ConnectionField>();
  const seen = new Set<string>(['Query']);
  const queue: Array<{ type: GraphQLObjectType; path: Step[] }> = [{ type: schema.getQueryType()!, path: [] }];
  while (queue.length > 0) {
    const { type, path } = queue.shift()!;
    for (const field of Object.values(type.getFields())) {
      const target = getNamedType(field.type);
      if (!isObjectType(target)) continue;
      const args = requiredArgs(type, field, fixtures);
      const name = `${type.name}.${field.name}`;
      if (target.name.endsWith('Connection')) {
        if (!found.has(name)) found.set(name, { name, path, field: field.name, args });
      } else if (!seen.has(target.name)) {
        seen.add(target.name);
        queue.push({ type: target, path: [...path, { field: field.name, args }] });
      }
    }
  }
  return [...found.values()];
}

function argList(args: Record<string, string>, extra = ''): string {
  const parts = Object.entries(args).map(([name, value]) => `${name}: ${JSON.stringify(value)}`);
  if (extra) parts.push(extra);
  return parts.length > 0 ? `(${parts.join(', ')})` : '';
}

function documentFor(c: ConnectionField): string {
  const inner = `${c.field}${argList(c.args, 'first: 1, after: $after')} { edges { cursor } pageInfo { hasNextPage endCursor } }`;
  const body = c.path.reduceRight((selection, step) => `${step.field}${argList(step.args)} { ${selection} }`, inner);
  return `query($after: String) { ${body} }`;
}

/** The connection object in a response, wherever the path put it (lists take their first item). */
function connectionIn(res: GraphQLResponse, c: ConnectionField): any {
  let value: any = res.data;
  for (const key of [...c.path.map((s) => s.field), c.field]) value = Array.isArray(value) ? value[0]?.[key] : value?.[key];
  return value;
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Garbage whatever the cursor format is. */
const GARBAGE = [
  '',
  ' ',
  'garbage',
  '!!!not base64!!!',
  '%00',
  b64('hello world'),
  b64('\u0000'),
  b64('seq:1e400'),
  b64('seq:-1'),
  b64('seq:99999999999999999999999'),
  b64('2020-01-01T00:00:00.000Z|not-a-uuid'),
  b64(`flow:1:${'-'.repeat(36)}`),
  b64(`flow:99999999999999:${'f'.repeat(36)}`),
  'x'.repeat(10_000),
  b64('y'.repeat(10_000)),
];

/** Garbage made from a real cursor of the connection: its numbers huge or negative, its ids junk, more fields, other padding. */
function mutations(cursor: string): string[] {
  const text = Buffer.from(cursor, 'base64url').toString();
  const altered = [
    b64(text.replace(/\d+/g, '9'.repeat(30))),
    b64(text.replace(/\d+/g, (digits) => `-${digits}`)),
    b64(text.replace(/\d+/g, (digits) => `${digits}.5`)),
    b64(text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'not-a-uuid')),
    b64(text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '-'.repeat(36))),
    b64(`${text}:1`),
    b64(` ${text}`),
    `${cursor}==`,
    `${cursor}A`,
    cursor.slice(0, -2),
  ];
  return altered.filter((after) => after !== cursor);
}

let t: TestApp;
let stripe: FakeStripe;
let token: string;
let fixtures: Fixtures;

/** One of everything a connection lists: a ledger entry (the sign-up grant), a generation, a finished flow run, a token purchase. */
async function createFixtures(): Promise<Fixtures> {
  const user = await t.signUp();
  token = user.token;
  const brand = await gql(t.url, 'mutation { createBrand(input: { name: "Paged" }) { brand { id } } }', {}, token);
  const brandId = brand.data!.createBrand.brand.id as string;
  const vision = await gql(t.url, 'mutation($b: ID!) { generateVision(input: { brandId: $b }) { generationId } }', { b: brandId }, token);
  const flow = await gql(t.url, 'mutation($b: ID!) { startExpandBriefFlow(input: { brandId: $b, brief: "spring" }) { flowRun { id } } }', { b: brandId }, token);
  const flowRunId = flow.data!.startExpandBriefFlow.flowRun.id as string;
  const client = wsClient(t.url, token);
  const progress = subscribe(client, 'subscription($id: ID!) { flowProgress(flowRunId: $id) { type } }', { id: flowRunId });
  await progress.done;
  await client.dispose();
  await t.app.services.purchases.upsertPackage({ id: 'paged', name: 'Paged', tokens: 10, priceCents: 100, currency: 'usd' });
  const purchase = await gql(
    t.url,
    'mutation { purchaseTokenPackage(input: { packageId: "paged", successUrl: "https://x.example/ok", cancelUrl: "https://x.example/no" }) { purchase { id } } }',
    {},
    token,
  );
  expect(purchase.errors).toBeUndefined();
  return { User: user.userId, Brand: brandId, Generation: vision.data!.generateVision.generationId, FlowRun: flowRunId };
}

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await startTestApp(stripe.env);
  fixtures = await createFixtures();
});
afterAll(async () => {
  await t.close();
  await stripe.close();
});

describe('cursors on every connection', () => {
  it('finds the connections by walking the schema', () => {
    expect(connectionFields(fixtures).map((c) => c.name).sort()).toEqual(expect.arrayContaining(['Brand.generations', 'Query.flowRuns', 'Query.tokenLedger', 'Query.tokenPurchases']));
  });

  it('refuses garbage, other connections\' cursors and altered cursors with BAD_USER_INPUT', async () => {
    const fields = connectionFields(fixtures);
    const real = new Map<string, string>();
    for (const c of fields) {
      const res = await gql(t.url, documentFor(c), { after: null }, token);
      expect({ field: c.name, errors: res.errors }).toEqual({ field: c.name, errors: undefined });
      const page = connectionIn(res, c);
      expect({ field: c.name, edges: page.edges.length }).toEqual({ field: c.name, edges: 1 });
      real.set(c.name, page.pageInfo.endCursor);
      // The real cursor pages on.
      const next = await gql(t.url, documentFor(c), { after: page.pageInfo.endCursor }, token);
      expect({ field: c.name, errors: next.errors }).toEqual({ field: c.name, errors: undefined });
    }
    const outcomes: string[] = [];
    for (const c of fields) {
      const others = [...real].filter(([name]) => name !== c.name).map(([, cursor]) => cursor);
      for (const after of [...GARBAGE, ...others, ...mutations(real.get(c.name)!)]) {
        const res = await gql(t.url, documentFor(c), { after }, token);
        const code = errorCode(res);
        if (code !== 'BAD_USER_INPUT') outcomes.push(`${c.name} after ${JSON.stringify(after.slice(0, 80))}: ${code ?? 'accepted'} ${res.errors?.[0]?.message ?? ''}`);
      }
    }
    expect(outcomes).toEqual([]);
  });
});
