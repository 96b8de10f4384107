import type { Client } from 'graphql-ws';
import { gql, wsClient, wsOnce, type GraphQLResponse } from './support/graphql-client';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * One table of documents, sent over HTTP and over the websocket, in production and in development:
 * both transports must give the same answer (the same messages and codes), and that answer must be
 * the mode's: introspection and "Did you mean …?" suggestions only in development; the document
 * limits always.
 */
const SOMEONE = '00000000-0000-4000-8000-000000000000';
const nested = (depth: number) => {
  let selection = 'id';
  for (let i = 0; i < depth; i++) selection = `me { ${selection} }`;
  return `query { ${selection} }`;
};
const ledgerPage = (i: number) =>
  `a${i}: tokenLedger(first: 100) { edges { node { id kind amount generation { id taskType output usage { totalTokens model costUsd } } } } }`;

type Mode = 'production' | 'development';
interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  /** What each mode must answer: data, or errors whose joined messages match. */
  expect: Record<Mode, { data: true } | { errors: RegExp; code: string; not?: RegExp }>;
}

const SUGGESTION = /Did you mean/;
const CASES: Case[] = [
  {
    name: 'introspection (__schema)',
    query: '{ __schema { queryType { name } mutationType { fields { name } } } }',
    expect: { production: { errors: /introspection has been disabled/, code: 'GRAPHQL_VALIDATION_FAILED' }, development: { data: true } },
  },
  {
    name: 'introspection (__type)',
    query: '{ __type(name: "Mutation") { fields { name } } }',
    expect: { production: { errors: /introspection has been disabled/, code: 'GRAPHQL_VALIDATION_FAILED' }, development: { data: true } },
  },
  {
    name: 'a misspelt field',
    query: `mutation { grantToken(input: { userId: "${SOMEONE}", amount: 1, reason: "r" }) { balance { tokens } } }`,
    expect: {
      production: { errors: /Cannot query field "grantToken" on type "Mutation"\.$/, code: 'GRAPHQL_VALIDATION_FAILED', not: SUGGESTION },
      development: { errors: /Did you mean "grantTokens"/, code: 'GRAPHQL_VALIDATION_FAILED' },
    },
  },
  {
    name: 'a misspelt enum value in the document',
    query: `mutation { setUserRole(input: { userId: "${SOMEONE}", role: ADMN }) { previousRole } }`,
    expect: {
      production: { errors: /Value "ADMN" does not exist in "Role" enum\.$/, code: 'GRAPHQL_VALIDATION_FAILED', not: SUGGESTION },
      development: { errors: /Did you mean the enum value "ADMIN"\?/, code: 'GRAPHQL_VALIDATION_FAILED' },
    },
  },
  {
    name: 'a misspelt enum value in the variables',
    query: `mutation($r: Role!) { setUserRole(input: { userId: "${SOMEONE}", role: $r }) { previousRole } }`,
    variables: { r: 'ADMN' },
    expect: {
      production: { errors: /Variable "\$r" got invalid value "ADMN"; Value "ADMN" does not exist in "Role" enum\.$/, code: 'BAD_USER_INPUT', not: SUGGESTION },
      development: { errors: /Did you mean the enum value "ADMIN"\?/, code: 'BAD_USER_INPUT' },
    },
  },
  {
    name: 'a misspelt input field',
    query: `mutation { createBrand(input: { nam: "Acme" }) { brand { id } } }`,
    expect: {
      production: { errors: /Field "nam" is not defined by type "CreateBrandInput"\./, code: 'GRAPHQL_VALIDATION_FAILED', not: SUGGESTION },
      development: { errors: /Did you mean "name"\?/, code: 'GRAPHQL_VALIDATION_FAILED' },
    },
  },
  {
    name: 'a document 50 levels deep',
    query: nested(50),
    expect: {
      production: { errors: /depth limit of 12 exceeded, found 51/, code: 'GRAPHQL_VALIDATION_FAILED' },
      development: { errors: /depth limit of 12 exceeded, found 51/, code: 'GRAPHQL_VALIDATION_FAILED' },
    },
  },
  {
    name: '500 aliases',
    query: `query { ${Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
    expect: {
      production: { errors: /too many aliases: at most 30/, code: 'GRAPHQL_VALIDATION_FAILED' },
      development: { errors: /too many aliases: at most 30/, code: 'GRAPHQL_VALIDATION_FAILED' },
    },
  },
  {
    name: 'three ledger pages with their generations (cost)',
    query: `query { ${[0, 1, 2].map(ledgerPage).join(' ')} }`,
    expect: {
      production: { errors: /Query Cost limit of 20000 exceeded/, code: 'GRAPHQL_VALIDATION_FAILED' },
      development: { errors: /Query Cost limit of 20000 exceeded/, code: 'GRAPHQL_VALIDATION_FAILED' },
    },
  },
  {
    name: '2,100 lexical tokens',
    query: `query { ${'__typename '.repeat(2_100)} }`,
    expect: {
      production: { errors: /Document contains more that 2000 tokens/, code: 'GRAPHQL_PARSE_FAILED' },
      development: { errors: /Document contains more that 2000 tokens/, code: 'GRAPHQL_PARSE_FAILED' },
    },
  },
  {
    name: 'an ordinary query',
    query: '{ tokenBalance { tokens } }',
    expect: { production: { data: true }, development: { data: true } },
  },
];

/** What is compared across transports: whether there was data, and each error's message and code. */
function answer(res: Omit<GraphQLResponse, 'status'>) {
  return { data: !!res.data, errors: (res.errors ?? []).map((e) => ({ message: e.message, code: e.extensions?.code })) };
}

describe.each<Mode>(['production', 'development'])('document rules in %s', (mode) => {
  let t: TestApp;
  let token: string;
  let client: Client;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: mode });
    token = (await t.signUp()).token;
    client = wsClient(t.url, token);
  });
  afterAll(async () => {
    await client.dispose();
    await t.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: the same answer over HTTP and the websocket', async (_name, c) => {
    const http = answer(await gql(t.url, c.query, c.variables ?? {}, token));
    const ws = answer(await wsOnce(client, c.query, c.variables ?? {}));
    expect(ws).toEqual(http);
    const expected = c.expect[mode];
    if ('data' in expected) {
      expect(http).toEqual({ data: true, errors: [] });
      return;
    }
    expect(http.data).toBe(false);
    const messages = http.errors.map((e) => e.message).join('\n');
    expect(messages).toMatch(expected.errors);
    if (expected.not) expect(messages).not.toMatch(expected.not);
    expect(http.errors.map((e) => e.code)).toContain(expected.code);
  });
});
