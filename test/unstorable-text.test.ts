import fc from 'fast-check';
import { StorableDeltas, isStorableText, storableText, storableValue, unstorablePath } from '../src/db/storable';
import { gql, subscribe, wsClient, type GraphQLResponse } from './support/graphql-client';
import { startFakeProvider, type FakeProvider } from './support/fake-provider';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Text PostgreSQL cannot store (NUL, unpaired UTF-16 surrogates). From a client it is refused at
 * the boundary, on both transports, before anything is charged or called; from a model it is
 * repaired before it is stored. Before the fix, one such string stalled the ledger for everyone.
 */

const ADMIN_EMAIL = 'unstorable-admin@example.com';
const CHAT = `mutation($brandId: ID!, $message: String!, $idempotencyKey: String) {
  chatWithAndora(input: { brandId: $brandId, message: $message, idempotencyKey: $idempotencyKey }) {
    reply generationId usage { promptTokens completionTokens totalTokens } balance { tokens reserved } } }`;
const CHAT_STREAM = `subscription($brandId: ID!, $message: String!) {
  chatWithAndoraStream(input: { brandId: $brandId, message: $message }) { delta done generationId usage { totalTokens } balance { tokens } } }`;
const GENERATION_STREAM = `subscription($b: ID!, $i: JSON) { generationStream(task: CHARACTERS, brandId: $b, input: $i) { delta done } }`;
const BALANCE = '{ tokenBalance { tokens reserved } }';
const STORED = 'query($id: ID!) { generation(id: $id) { output usage { totalTokens } } }';
const BRANDS = '{ me { brands { id } } }';

describe('storable text', () => {
  it('tells NUL and unpaired surrogates from everything else', () => {
    for (const fine of ['', 'plain', 'emoji 🎉 and 𝒜', '\ud83d\ude00', 'tab\tnewline\n', '\\u0000 as text']) expect(isStorableText(fine)).toBe(true);
    for (const bad of ['\u0000', 'a\u0000b', '\ud800', '\udc00', 'x\ud83d', '\ude00x', '\ud83d\ud83d\ude00'.slice(0, 2)]) expect(isStorableText(bad)).toBe(false);
    expect(storableText('a\u0000b\ud800c\udc00 🎉')).toBe('ab\ufffdc\ufffd 🎉');
  });

  it('repairs nested values copy-on-write and finds the path of the first bad string or key', () => {
    const fine = { a: ['x', { b: 1 }], when: new Date(0) };
    expect(storableValue(fine)).toBe(fine);
    expect(storableValue({ a: ['ok', 'n\u0000'], 'k\ud800': 1, when: fine.when })).toEqual({ a: ['ok', 'n'], 'k\ufffd': 1, when: fine.when });
    expect(unstorablePath({ a: [{ b: 'ok' }, { c: 'bad\u0000' }] }, '$input')).toBe('$input.a.1.c');
    expect(unstorablePath({ a: { 'bad\ud800': 1 } }, '$input')).toBe('$input.a (a key)');
    expect(unstorablePath({ a: ['🎉'] }, '$input')).toBeUndefined();
  });

  it('checks input nested deeper than the stack would allow a recursive walk', () => {
    let deep: unknown = 'bad\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorablePath(deep, '$deep')).toMatch(/^\$deep(\.0){100000}$/);
  });

  it('repairs a stream delta by delta exactly as the whole text, keeping pairs split across deltas', () => {
    const unit = fc.constantFrom('a', ' ', '\u0000', '\ud83d', '\ude00', '\ud800', '\udc00');
    const cut = fc.tuple(fc.array(unit, { maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 8 }));
    fc.assert(
      fc.property(cut, ([units, cuts]) => {
        const text = units.join('');
        const at = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((start, i) => text.slice(start, [...at, text.length][i]));
        const deltas = new StorableDeltas();
        const streamed = pieces.map((p) => deltas.push(p)).join('') + deltas.end();
        return streamed === storableText(text) && isStorableText(streamed);
      }),
    );
  });
});

describe('text PostgreSQL cannot store', () => {
  let fake: FakeProvider;
  let openai: TestApp;
  let anthropic: TestApp;
  beforeAll(async () => {
    fake = await startFakeProvider();
    const env = { PROVIDER_RETRIES_MAX: '0', PROVIDER_TIMEOUT_MS: '2000', ADMIN_EMAILS: ADMIN_EMAIL };
    openai = await startTestApp({ ...env, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1` });
    anthropic = await startTestApp({ ...env, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: fake.url });
  }, 120_000);
  afterAll(async () => {
    await openai?.close();
    await anthropic?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.setBehavior({ usageFor: () => ({ promptTokens: 20, completionTokens: 5 }) });
    fake.requests.length = 0;
  });

  async function userWithBrand(t: TestApp) {
    const user = await t.signUp();
    const res = await gql(t.url, 'mutation { createBrand(input: { name: "Acme" }) { brand { id } } }', {}, user.token);
    return { ...user, brandId: res.data!.createBrand.brand.id as string };
  }

  const tokensOf = async (t: TestApp, token: string) => (await gql(t.url, BALANCE, {}, token)).data!.tokenBalance;

  function expectRefused(res: GraphQLResponse, field: string): void {
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
  }

  /** The first error a subscription got, whether sent as an execution result or as the operation's error. */
  const firstError = (errors: unknown[]) => [errors].flat(2)[0] as { extensions?: Record<string, unknown> } | undefined;

  describe('from a client', () => {
    it('refuses chatWithAndora with an unpaired surrogate as idempotency key or NUL in the message: nothing charged, no call', async () => {
      const { token, brandId } = await userWithBrand(openai);
      expectRefused(await gql(openai.url, CHAT, { brandId, message: 'hi', idempotencyKey: '\ud800' }, token), '$idempotencyKey');
      expectRefused(await gql(openai.url, CHAT, { brandId, message: 'hi \u0000 there' }, token), '$message');
      const literal = `mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi \\u0000" }) { reply } }`;
      expectRefused(await gql(openai.url, literal, { b: brandId }, token), 'input.message');
      // GraphQL's own lexer refuses an unpaired surrogate escape in a literal, before we see it.
      const surrogateLiteral = await gql(openai.url, literal.replace('\\u0000', '\\ud800'), { b: brandId }, token);
      expect(surrogateLiteral.errors?.[0]?.message).toMatch(/^Syntax Error: Invalid Unicode escape sequence/);
      expect(await tokensOf(openai, token)).toEqual({ tokens: 10_000, reserved: 0 });
      expect(fake.requests).toHaveLength(0);
    });

    it('refuses such text in names, reasons and even in unused variables', async () => {
      const user = await openai.signUp();
      const createBrand = 'mutation($input: CreateBrandInput!) { createBrand(input: $input) { brand { id } } }';
      expectRefused(await gql(openai.url, createBrand, { input: { name: 'Bad \udc00 name' } }, user.token), '$input.name');
      expectRefused(await gql(openai.url, createBrand, { input: { name: 'Fine' }, unused: ['\u0000'] }, user.token), '$unused.0');
      expect((await gql(openai.url, BRANDS, {}, user.token)).data!.me.brands).toEqual([]);

      const admin = await openai.signUp(ADMIN_EMAIL);
      const grant = 'mutation($input: GrantTokensInput!) { grantTokens(input: $input) { balance { tokens } } }';
      expectRefused(await gql(openai.url, grant, { input: { userId: user.userId, amount: 5, reason: 'gift \u0000' } }, admin.token), '$input.reason');
      expect(await tokensOf(openai, user.token)).toEqual({ tokens: 10_000, reserved: 0 });
      expect(fake.requests).toHaveLength(0);
    });

    it('refuses the same over the websocket: a stream, a JSON input with a bad key, a mutation', async () => {
      const { token, brandId } = await userWithBrand(openai);
      const client = wsClient(openai.url, token);
      try {
        const stream = subscribe(client, CHAT_STREAM, { brandId, message: 'hello \u0000' });
        await stream.done;
        expect(firstError(stream.errors)?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$message' });
        const json = subscribe(client, GENERATION_STREAM, { b: brandId, i: { count: 2, nested: { ['k\ud800']: 1 } } });
        await json.done;
        expect(firstError(json.errors)?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$i.nested (a key)' });
        const mutation = subscribe(client, CHAT, { brandId, message: 'hi', idempotencyKey: '\ud800' });
        await mutation.done;
        expect(firstError(mutation.errors)?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$idempotencyKey' });
        // The socket stays up for valid operations.
        const fine = subscribe<any>(client, CHAT_STREAM, { brandId, message: 'still here' });
        let last;
        do last = (await fine.next()).chatWithAndoraStream;
        while (!last.done);
        expect(last.usage).toEqual({ totalTokens: 25 });
      } finally {
        await client.dispose();
      }
      expect(fake.requests).toHaveLength(1);
      expect(await tokensOf(openai, token)).toEqual({ tokens: 10_000 - 25, reserved: 0 });
    });

    it('accepts valid astral characters (emoji, surrogate pairs) in variables and literals', async () => {
      const { token, brandId } = await userWithBrand(openai);
      const message = 'Launch 🎉 with 𝒜ndora 👩‍🚀';
      const res = await gql(openai.url, CHAT, { brandId, message, idempotencyKey: 'key-🎉' }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data!.chatWithAndora.reply).toBe(`Echo: ${message}`);
      const literal = await gql(openai.url, `mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "\\ud83c\\udf89 party" }) { reply } }`, { b: brandId }, token);
      expect(literal.data!.chatWithAndora.reply).toBe('Echo: 🎉 party');
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('from a model', () => {
    /** NUL, an unpaired surrogate, and an emoji whose surrogate pair is split across two stream deltas. */
    const REPLY = 'Hi\u0000 there \ud800 friend 🎉!';
    const CHUNKS = ['Hi\u0000', ' there \ud800', ' friend \ud83c', '\udf89!'];
    const STORED_REPLY = 'Hi there \ufffd friend 🎉!';

    it.each([['OpenAI'], ['Anthropic']])('%s: stores the reply repaired and charges exactly, streamed or not', async (vendor) => {
      const t = vendor === 'OpenAI' ? openai : anthropic;
      const { token, brandId } = await userWithBrand(t);
      fake.setBehavior({ reply: () => REPLY, chunks: () => CHUNKS, usageFor: () => ({ promptTokens: 20, completionTokens: 5 }) });

      const res = await gql(t.url, CHAT, { brandId, message: 'hi' }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data!.chatWithAndora).toMatchObject({ reply: STORED_REPLY, usage: { totalTokens: 25 }, balance: { tokens: 10_000 - 25 } });
      const stored = await gql(t.url, STORED, { id: res.data!.chatWithAndora.generationId }, token);
      expect(stored.data!.generation).toEqual({ output: STORED_REPLY, usage: { totalTokens: 25 } });

      const client = wsClient(t.url, token);
      const sub = subscribe<any>(client, CHAT_STREAM, { brandId, message: 'stream' });
      const events = [];
      for (;;) {
        const e = (await sub.next()).chatWithAndoraStream;
        events.push(e);
        if (e.done) break;
      }
      await client.dispose();
      const deltas = events.filter((e) => !e.done).map((e) => e.delta as string);
      expect(deltas.join('')).toBe(STORED_REPLY);
      for (const delta of deltas) expect(isStorableText(delta)).toBe(true);
      const done = events.at(-1);
      expect(done).toMatchObject({ usage: { totalTokens: 25 }, balance: { tokens: 10_000 - 50 } });
      const streamed = await gql(t.url, STORED, { id: done.generationId }, token);
      expect(streamed.data!.generation).toEqual({ output: STORED_REPLY, usage: { totalTokens: 25 } });

      // The next user's charges are not held up or changed.
      fake.setBehavior({ usageFor: () => ({ promptTokens: 20, completionTokens: 5 }) });
      const next = await userWithBrand(t);
      const after = await gql(t.url, CHAT, { brandId: next.brandId, message: 'next' }, next.token);
      expect(after.data!.chatWithAndora).toMatchObject({ reply: 'Echo: next', balance: { tokens: 10_000 - 25 } });
      expect(t.app.services.balance.stats()).toMatchObject({ healthy: true, journalDepth: 0 });
    });

    it('repairs what a structured task decodes from JSON escapes in the reply', async () => {
      const { token, brandId } = await userWithBrand(openai);
      // The text itself is storable; the escapes become NUL and an unpaired surrogate only when parsed.
      fake.setBehavior({ reply: () => '{"characters": [{"name": "A\\u0000va", "role": "lead \\ud800"}]}', usageFor: () => ({ promptTokens: 30, completionTokens: 4 }) });
      const client = wsClient(openai.url, token);
      const sub = subscribe<any>(client, `subscription($b: ID!) { generationStream(task: CHARACTERS, brandId: $b, input: { count: 1 }) { done generationId } }`, { b: brandId });
      let last;
      do last = (await sub.next()).generationStream;
      while (!last.done);
      await client.dispose();
      const stored = await gql(openai.url, STORED, { id: last.generationId }, token);
      expect(stored.data!.generation).toEqual({ output: [{ name: 'Ava', role: 'lead \ufffd', traits: [], backstory: '' }], usage: { totalTokens: 34 } });
    });
  });
});
