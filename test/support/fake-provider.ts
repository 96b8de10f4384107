import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JSON_SHAPE_MARKER } from '../../src/ai/tasks/define';
import { within } from './wait';

/**
 * A vendor stand-in on a real socket, speaking the OpenAI and Anthropic wire formats the official
 * SDKs parse (see STACK.md). Point the OpenAI SDK at `${url}/v1` and the Anthropic SDK at `${url}`.
 *
 * Structured outputs: a request whose prompt asks for JSON (JSON_SHAPE_MARKER) must carry its schema
 * (OpenAI `response_format` json_schema, Anthropic `output_config.format`) in the strict form, or it
 * is answered 400, as are the parameters the vendors refuse (below). Its default reply is JSON built
 * from that schema: OpenAI's message content and Anthropic's one text block (streamed as text
 * deltas) are the JSON text.
 */

export type FakeVendor = 'openai' | 'anthropic';

export interface FakeRequestBody {
  model?: string;
  messages?: Array<{ role?: string; content?: unknown }>;
  system?: unknown;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

export interface RecordedRequest {
  vendor: FakeVendor;
  path: string;
  body: FakeRequestBody;
  headers: http.IncomingHttpHeaders;
  /** Which output cap the client sent; OpenAI reasoning models take max_completion_tokens. */
  outputLimit: { field: 'max_tokens' | 'max_completion_tokens'; value: number } | undefined;
  /** The prompt asks for JSON (a structured task or agent). */
  asksForJson: boolean;
  /** The JSON schema the reply was held to, as sent in either vendor's format. */
  replySchema: JsonSchemaNode | undefined;
  /** The client closed the connection before the response ended. */
  aborted: boolean;
}

export interface FakeUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface FakeBehavior {
  /** @default 'Echo: ' followed by the words of the last user message */
  reply?: (body: FakeRequestBody) => string;
  /** @default prompt = words in all messages and system text + 1 per message; completion = words in the reply */
  usageFor?: (body: FakeRequestBody, reply: string) => FakeUsage;
  /** Answer with this status and the vendor's JSON error body. */
  status?: number;
  /** How many requests get `status` before the fake answers normally again. @default Infinity */
  failCount?: number;
  /** Requests answered normally before `status` applies, e.g. 2 to fail the third request. @default 0 */
  failAfter?: number;
  /** Sent as `retry-after-ms` with failures, so SDK retries need not wait their 0.5-8 s backoff. */
  retryAfterMs?: number;
  /** Wait before sending response headers, e.g. to exceed a client timeout. @default 0 */
  delayMs?: number;
  /** Answer only once this settles (after delayMs), so a test decides when a request in flight ends. */
  gate?: Promise<unknown>;
  /** Wait between stream events. @default 0 */
  streamChunkDelayMs?: number;
  /** How a streamed reply is cut into text deltas. @default one word, with its leading space, per delta */
  chunks?: (reply: string) => string[];
  /** Stop after this many text deltas and keep the socket open, so a client abort can be observed. */
  hangAfterChunks?: number;
  /** Destroy the socket after this many text deltas, as a crashing vendor or proxy would. */
  destroyAfterChunks?: number;
  /** Answer without usage, as a broken vendor might. @default false */
  omitUsage?: boolean;
  /** The model reported back. @default the requested model */
  model?: string;
  /**
   * Refuse (400) a request whose prompt asks for JSON without carrying its schema. Off only for a
   * model flagged as lacking structured outputs. @default true
   */
  requireSchema?: boolean;
}

/** The parts of a JSON schema the fake reads and checks. */
export interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: unknown;
  items?: JsonSchemaNode;
  [key: string]: unknown;
}

export interface FakeProvider {
  /** http://127.0.0.1:PORT */
  url: string;
  requests: RecordedRequest[];
  readonly abortedCount: number;
  /** Replaces the whole behavior and restarts the `failCount` and `failAfter` counts. */
  setBehavior(behavior: FakeBehavior): void;
  /** Resolves once at least `count` requests have been aborted by the client. */
  waitForAborts(count: number): Promise<void>;
  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  /** Resolves once at least `count` streams have sent their `hangAfterChunks` deltas and stopped. */
  waitForHangs(count: number): Promise<void>;
  /** Stops listening and destroys open sockets, hanging streams included. */
  close(): Promise<void>;
}

/** How long a test waits for requests, aborts or hangs at the fake before it fails naming them. */
const FAKE_WAIT_MS = 30_000;

const OPENAI_PATHS = new Set(['/v1/chat/completions', '/chat/completions']);
const ANTHROPIC_PATHS = new Set(['/v1/messages']);
const REQUEST_ID = 'req_fake';

/**
 * The environment of a test app whose OpenAI calls go to this fake (through the real SDK), with the
 * SDK's retries off so that a scripted failure is seen once; `extra` on top.
 */
export function openaiEnv(fake: { url: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1`, PROVIDER_RETRIES_MAX: '0', ...extra };
}

export async function startFakeProvider(initial: FakeBehavior = {}): Promise<FakeProvider> {
  let behavior = initial;
  let failuresSent = 0;
  let answeredNormally = 0;
  let abortedCount = 0;
  let hungCount = 0;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  const notify = () => {
    for (const waiter of waiters.filter((w) => w.ready())) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const waitFor = (ready: () => boolean, what: string) =>
    within(
      new Promise<void>((resolve) => {
        waiters.push({ ready, resolve });
        notify();
      }),
      FAKE_WAIT_MS,
      `the fake provider: ${what}`,
    );
  const sleep = (ms: number | undefined) =>
    new Promise<void>((resolve) => {
      if (!ms) return resolve();
      const timer = setTimeout(() => (timers.delete(timer), resolve()), ms);
      timers.add(timer);
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    const pathname = new URL(path, 'http://fake').pathname;
    const vendor: FakeVendor | undefined =
      OPENAI_PATHS.has(pathname) ? 'openai' : ANTHROPIC_PATHS.has(pathname) ? 'anthropic' : undefined;
    const raw = await readBody(req);
    if (!vendor || req.method !== 'POST') return sendJson(res, 404, { error: { message: `no route ${path}` } });
    const body = parseBody(raw);
    if (!body) return sendError(res, vendor, 400, 'body is not JSON');
    const record: RecordedRequest = {
      vendor, path, body, headers: req.headers, outputLimit: outputLimitOf(body), aborted: false,
      asksForJson: asksForJson(body), replySchema: replySchemaOf(vendor, body),
    };
    requests.push(record);
    res.on('close', () => {
      if (res.writableFinished) return;
      record.aborted = true;
      abortedCount += 1;
      notify();
    });
    notify();
    if (!isAuthorized(req)) return sendError(res, vendor, 401, 'missing credentials');

    const current = behavior;
    await sleep(current.delayMs);
    await current.gate;
    if (res.destroyed) return;
    const { status } = current;
    if (status !== undefined && answeredNormally >= (current.failAfter ?? 0) && failuresSent < (current.failCount ?? Infinity)) {
      failuresSent += 1;
      return sendError(res, vendor, status, 'fake failure', current.retryAfterMs);
    }
    const refusal = refusalOf(vendor, record, current);
    if (refusal) return sendError(res, vendor, 400, refusal);
    answeredNormally += 1;
    const answer = answerFor(current, body, record.replySchema);
    if (!body.stream) return sendJson(res, 200, vendor === 'openai' ? openAiJson(answer) : anthropicJson(answer));
    const events = vendor === 'openai' ? openAiEvents(answer, body) : anthropicEvents(answer);
    const hung = await writeStream(res, events, current, sleep);
    if (hung) {
      hungCount += 1;
      notify();
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get abortedCount() {
      return abortedCount;
    },
    setBehavior(next) {
      behavior = next;
      failuresSent = 0;
      answeredNormally = 0;
    },
    waitForAborts: (count) => waitFor(() => abortedCount >= count, `${count} aborted requests`),
    waitForRequests: (count) => waitFor(() => requests.length >= count, `${count} requests`),
    waitForHangs: (count) => waitFor(() => hungCount >= count, `${count} hanging streams`),
    close: () =>
      new Promise<void>((resolve, reject) => {
        timers.forEach(clearTimeout);
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

// ---- requests ----

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string): FakeRequestBody | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? (parsed as FakeRequestBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The Anthropic SDK may send `Authorization: Bearer` instead of `x-api-key`: accept either. */
function isAuthorized(req: http.IncomingMessage): boolean {
  return Boolean(req.headers['x-api-key']) || /^Bearer \S+/.test(req.headers.authorization ?? '');
}

function outputLimitOf(body: FakeRequestBody): RecordedRequest['outputLimit'] {
  const { max_completion_tokens: completionCap, max_tokens: cap } = body;
  if (typeof completionCap === 'number') return { field: 'max_completion_tokens', value: completionCap };
  if (typeof cap === 'number') return { field: 'max_tokens', value: cap };
  return undefined;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join(' ');
}

function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

// ---- what the vendors refuse ----

function asksForJson(body: FakeRequestBody): boolean {
  const texts = [textOf(body.system), ...(body.messages ?? []).map((m) => textOf(m.content))];
  return texts.some((text) => text.includes(JSON_SHAPE_MARKER));
}

function isSchemaNode(value: unknown): value is JsonSchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** OpenAI: response_format.json_schema.schema; Anthropic: output_config.format.schema. */
function replySchemaOf(vendor: FakeVendor, body: FakeRequestBody): JsonSchemaNode | undefined {
  const format = vendor === 'openai' ? (body.response_format as { json_schema?: { schema?: unknown } } | undefined)?.json_schema : (body.output_config as { format?: { schema?: unknown } } | undefined)?.format;
  return isSchemaNode(format?.schema) ? format.schema : undefined;
}

const OPENAI_REASONING_MODEL = /^(gpt-5|o\d)/;
const OPENAI_SCHEMA_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The 400s this fake gives, each one the vendor documents; undefined when the request is fine. */
function refusalOf(vendor: FakeVendor, record: RecordedRequest, behavior: FakeBehavior): string | undefined {
  const { body } = record;
  if (record.asksForJson && !record.replySchema && (behavior.requireSchema ?? true)) {
    return 'the prompt asks for JSON but the request carries no schema (response_format / output_config.format)';
  }
  if (record.replySchema) {
    const problem = strictSchemaProblem(record.replySchema, 'schema');
    if (problem) return `invalid schema for structured outputs: ${problem}`;
  }
  return vendor === 'openai' ? openAiRefusal(body) : anthropicRefusal(body);
}

function openAiRefusal(body: FakeRequestBody): string | undefined {
  const model = body.model ?? '';
  if (OPENAI_REASONING_MODEL.test(model) && body.max_tokens !== undefined) {
    return "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.";
  }
  const format = body.response_format as { type?: string; json_schema?: { name?: unknown; strict?: unknown } } | undefined;
  if (format && (format.type !== 'json_schema' || format.json_schema?.strict !== true)) return 'response_format must be a strict json_schema';
  if (format && !OPENAI_SCHEMA_NAME.test(String(format.json_schema?.name))) return 'response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$';
  return undefined;
}

/** Claude Sonnet 5.5 refuses thinking {type: disabled} and a forced tool choice (its migration guide). */
function anthropicRefusal(body: FakeRequestBody): string | undefined {
  if (!/^claude-sonnet-5-5/.test(body.model ?? '')) return undefined;
  if ((body.thinking as { type?: string } | undefined)?.type === 'disabled') return '"thinking.type.disabled" is not supported for this model. Use "between_tools".';
  if ((body.tool_choice as { type?: string } | undefined)?.type === 'tool') return 'forced tool use is not supported for this model';
  return undefined;
}

/** Strict mode: every object lists all its properties as required and allows no others. */
export function strictSchemaProblem(node: JsonSchemaNode, at: string): string | undefined {
  if (node.type === 'object') {
    const keys = Object.keys(node.properties ?? {});
    if (node.additionalProperties !== false) return `${at}: additionalProperties must be false`;
    const required = new Set(node.required ?? []);
    const missing = keys.find((key) => !required.has(key));
    if (missing) return `${at}: property ${missing} must be required`;
    for (const key of keys) {
      const problem = strictSchemaProblem(node.properties![key]!, `${at}.${key}`);
      if (problem) return problem;
    }
  }
  if (node.type === 'array') return node.items ? strictSchemaProblem(node.items, `${at}[]`) : `${at}: array without items`;
  return undefined;
}

// ---- answers ----

interface Answer {
  text: string;
  /** The text as stream deltas. */
  pieces: string[];
  usage: FakeUsage | undefined;
  model: string;
}

export function defaultReply(body: FakeRequestBody): string {
  const lastUser = (body.messages ?? []).filter((m) => m.role === 'user').at(-1);
  return ['Echo:', ...wordsOf(textOf(lastUser?.content))].join(' ');
}

export function defaultUsage(body: FakeRequestBody, reply: string): FakeUsage {
  const messages = body.messages ?? [];
  const texts = [textOf(body.system), ...messages.map((m) => textOf(m.content))];
  const promptTokens = texts.reduce((n, text) => n + wordsOf(text).length, 0) + messages.length;
  return { promptTokens, completionTokens: wordsOf(reply).length };
}

/** A value for the schema, each text naming its key ("Fake name"), each list with one item. */
export function fakeValueOf(node: JsonSchemaNode, key = 'value'): unknown {
  if (node.type === 'object') {
    return Object.fromEntries(Object.entries(node.properties ?? {}).map(([name, child]) => [name, fakeValueOf(child, name)]));
  }
  if (node.type === 'array') return node.items ? [fakeValueOf(node.items, key)] : [];
  return node.type === 'string' ? `Fake ${key}` : null;
}

function answerFor(behavior: FakeBehavior, body: FakeRequestBody, schema: JsonSchemaNode | undefined): Answer {
  const text = behavior.reply ? behavior.reply(body) : schema ? JSON.stringify(fakeValueOf(schema)) : defaultReply(body);
  const usage = behavior.omitUsage ? undefined : (behavior.usageFor ?? defaultUsage)(body, text);
  return { text, pieces: (behavior.chunks ?? piecesOf)(text), usage, model: behavior.model ?? body.model ?? 'fake-model' };
}

/** Each piece is one word with its leading space, so the pieces concatenate to the text. */
function piecesOf(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

function openAiJson({ text, usage, model }: Answer): object {
  return {
    id: 'chatcmpl-fake', object: 'chat.completion', created: nowSeconds(), model,
    choices: [
      { index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null },
    ],
    ...(usage ? { usage: openAiUsage(usage) } : {}),
  };
}

function anthropicJson({ text, usage, model }: Answer): object {
  return {
    id: 'msg_fake', type: 'message', role: 'assistant', model,
    content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null,
    ...(usage ? { usage: { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens } } : {}),
  };
}

function openAiUsage(usage: FakeUsage): object {
  const { promptTokens, completionTokens } = usage;
  const totalTokens = promptTokens + completionTokens;
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: totalTokens };
}

interface SseEvent {
  /** Anthropic needs the `event:` line (the SDK skips events without one); OpenAI sends none. */
  event?: string;
  data: string;
  isDelta: boolean;
}

/** Chunks carry an id (without it the SDK helpers report zero usage); the usage chunk only on request. */
function openAiEvents({ pieces, usage, model }: Answer, body: FakeRequestBody): SseEvent[] {
  const includeUsage = body.stream_options?.include_usage === true;
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: nowSeconds(), model };
  const chunk = (choices: object[], extra: object = includeUsage ? { usage: null } : {}) =>
    JSON.stringify({ ...base, choices, ...extra });
  const choice = (delta: object, finish: string | null = null) => ({ index: 0, delta, finish_reason: finish });
  return [
    { data: chunk([choice({ role: 'assistant', content: '' })]), isDelta: false },
    ...pieces.map((piece) => ({ data: chunk([choice({ content: piece })]), isDelta: true })),
    { data: chunk([choice({}, 'stop')]), isDelta: false },
    ...(includeUsage && usage ? [{ data: chunk([], { usage: openAiUsage(usage) }), isDelta: false }] : []),
    { data: '[DONE]', isDelta: false },
  ];
}

function anthropicEvents({ pieces, usage, model }: Answer): SseEvent[] {
  const event = (type: string, payload: object, isDelta = false): SseEvent =>
    ({ event: type, data: JSON.stringify({ type, ...payload }), isDelta });
  const startUsage = usage ? { usage: { input_tokens: usage.promptTokens, output_tokens: 1 } } : {};
  const endUsage = usage ? { usage: { output_tokens: usage.completionTokens } } : {};
  const message = {
    id: 'msg_fake', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
  };
  const textDelta = (piece: string) =>
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }, true);
  return [
    event('message_start', { message: { ...message, ...startUsage } }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', {}),
    ...pieces.map(textDelta),
    event('content_block_stop', { index: 0 }),
    event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, ...endUsage }),
    event('message_stop', {}),
  ];
}

// ---- responses ----

/** Writes the events; true when it stopped to hang (hangAfterChunks). */
async function writeStream(
  res: http.ServerResponse,
  events: SseEvent[],
  behavior: FakeBehavior,
  sleep: (ms: number | undefined) => Promise<void>,
): Promise<boolean> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...requestIdHeaders() });
  let deltasSent = 0;
  for (const { event, data, isDelta } of events) {
    if (res.destroyed) return false;
    // Hanging keeps the socket open without ending the response: only the client can end it now.
    if (isDelta && behavior.hangAfterChunks !== undefined && deltasSent >= behavior.hangAfterChunks) return true;
    if (isDelta && behavior.destroyAfterChunks !== undefined && deltasSent >= behavior.destroyAfterChunks) {
      res.socket?.destroy();
      return false;
    }
    res.write(`${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
    if (isDelta) deltasSent += 1;
    await sleep(behavior.streamChunkDelayMs);
  }
  res.end();
  return false;
}

/** OpenAI names it x-request-id, Anthropic request-id; the SDKs put it on their errors. */
function requestIdHeaders(): http.OutgoingHttpHeaders {
  return { 'x-request-id': REQUEST_ID, 'request-id': REQUEST_ID };
}

function sendJson(res: http.ServerResponse, status: number, payload: object, headers: http.OutgoingHttpHeaders = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...requestIdHeaders(), ...headers });
  res.end(JSON.stringify(payload));
}

function sendError(
  res: http.ServerResponse,
  vendor: FakeVendor,
  status: number,
  message: string,
  retryAfterMs?: number,
): void {
  const headers = retryAfterMs === undefined ? {} : { 'retry-after-ms': String(retryAfterMs) };
  const type = errorType(status);
  const payload = vendor === 'openai'
    ? { error: { message, type, param: null, code: null } }
    : { type: 'error', error: { type, message } };
  sendJson(res, status, payload, headers);
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1_000);
}
