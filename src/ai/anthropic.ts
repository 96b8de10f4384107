import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type { Stream } from '@anthropic-ai/sdk/core/streaming';
import { CallGuard, callDeadlineMs, type SdkProviderOptions } from './call-guard';
import { anthropicTraits } from './models';
import {
  assertCompletionRequest,
  parseUsage,
  type ChatMessage,
  type CompletionRequest,
  type CompletionResult,
  type Provider,
  type StreamEvent,
  type Usage,
} from './provider';
import { endedEarly, missingUsage, toProviderError } from './sdk-errors';
import { sdkLogger, sdkLogLevel } from './sdk-logger';

const SDK_ERRORS = { APIError, APIUserAbortError, APIConnectionTimeoutError, APIConnectionError };

/**
 * Requests go to POST /v1/messages through the client's post(), which is all messages.create() does
 * for us, less one thing: create() warns on the console at every request to a model in the SDK's
 * deprecation table, outside our logger. The start-up check (lifecycle.ts) reports such a model through pino
 * instead, and refuses it past its end of life.
 */
const MESSAGES_PATH = '/v1/messages';

/** Several system messages become one `system` parameter, in order, as separate paragraphs. */
const SYSTEM_SEPARATOR = '\n\n';

/** Anthropic takes system text as a parameter of its own, not as a message. */
function toAnthropicMessages(messages: ChatMessage[]) {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const turns = messages.flatMap(({ role, content }) => (role === 'system' ? [] : [{ role, content }]));
  return { messages: turns, ...(system.length > 0 ? { system: system.join(SYSTEM_SEPARATOR) } : {}) };
}

/**
 * JSON outputs (`output_config.format`, general availability in this SDK): the reply is one text
 * block, streamed as text deltas, holding JSON that fits the schema. A forced tool call would do the
 * same through `tool_use` blocks, but Claude Sonnet 5.5 answers a forced `tool_choice` with 400.
 * The schema goes without its `$schema` dialect line, as the SDK's own helper sends it.
 */
function outputConfig(req: CompletionRequest): { output_config?: Anthropic.OutputConfig } {
  const json = req.format?.json;
  if (!json || !anthropicTraits(req.model).structuredOutput) return {};
  const { $schema: _dialect, ...schema } = json.schema;
  return { output_config: { format: { type: 'json_schema', schema } } };
}

/** What a stream has reported so far: input tokens arrive first, output tokens at the end. */
interface StreamProgress {
  text: string;
  model: string;
  inputTokens?: number | null;
  outputTokens?: number;
  /** message_delta carries the final output count; message_stop ends the message. */
  sawMessageDelta: boolean;
  sawMessageStop: boolean;
}

function progressUsage(p: StreamProgress): Usage | undefined {
  return parseUsage(p.inputTokens, p.outputTokens);
}

/** Applies one event to the progress and returns the text delta it carried, if any. */
function applyEvent(p: StreamProgress, event: Anthropic.RawMessageStreamEvent): string | undefined {
  switch (event.type) {
    case 'message_start':
      p.model = event.message.model || p.model;
      p.inputTokens = event.message.usage.input_tokens;
      p.outputTokens = event.message.usage.output_tokens;
      return undefined;
    case 'message_delta':
      // These counts are cumulative; input_tokens is repeated here only by newer API versions.
      p.inputTokens = event.usage.input_tokens ?? p.inputTokens;
      p.outputTokens = event.usage.output_tokens;
      p.sawMessageDelta = true;
      return undefined;
    case 'message_stop':
      p.sawMessageStop = true;
      return undefined;
    case 'content_block_delta':
      return event.delta.type === 'text_delta' ? event.delta.text : undefined;
    default:
      return undefined;
  }
}

export class AnthropicProvider implements Provider {
  readonly name = 'anthropic' as const;
  private readonly client: Anthropic;
  private readonly deadlineMs: number;

  constructor(private readonly options: SdkProviderOptions) {
    const { apiKey, baseURL, timeoutMs, maxRetries, log } = options;
    this.client = new Anthropic({
      apiKey,
      baseURL,
      timeout: timeoutMs,
      maxRetries,
      logger: sdkLogger(log, 'anthropic'),
      logLevel: sdkLogLevel(log.level),
    });
    this.deadlineMs = callDeadlineMs(timeoutMs, maxRetries);
  }

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    assertCompletionRequest(req);
    const guard = new CallGuard(req.signal);
    guard.arm(this.deadlineMs);
    try {
      const body: Anthropic.MessageCreateParamsNonStreaming = this.params(req);
      const message = await guard.race(this.client.post<Anthropic.Message>(MESSAGES_PATH, { body, signal: guard.signal }));
      const usage = parseUsage(message.usage?.input_tokens, message.usage?.output_tokens);
      if (!usage) throw missingUsage('anthropic');
      const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      return { text, usage, model: message.model || req.model };
    } catch (err) {
      throw toProviderError('anthropic', err, guard, SDK_ERRORS);
    } finally {
      guard.release();
    }
  }

  async *stream(req: CompletionRequest): AsyncGenerator<StreamEvent> {
    assertCompletionRequest(req);
    const guard = new CallGuard(req.signal);
    guard.arm(this.deadlineMs);
    const progress: StreamProgress = { text: '', model: req.model, sawMessageDelta: false, sawMessageStop: false };
    try {
      const body: Anthropic.MessageCreateParamsStreaming = { ...this.params(req), stream: true };
      const post = this.client.post<Stream<Anthropic.RawMessageStreamEvent>>(MESSAGES_PATH, { body, stream: true, signal: guard.signal });
      const events = await guard.race(post);
      guard.arm(this.options.timeoutMs);
      for await (const event of events) {
        const delta = applyEvent(progress, event);
        if (!delta) continue;
        progress.text += delta;
        // The consumer's own pace is not upstream silence: pause the idle deadline while it works.
        guard.disarm();
        yield { type: 'delta', text: delta };
        guard.arm(this.options.timeoutMs);
      }
      const usage = progressUsage(progress);
      // The SDK ends the iteration silently when the request is aborted, so check why it ended.
      const ended = progress.sawMessageDelta && progress.sawMessageStop;
      if (guard.cause || !ended || !usage) throw endedEarly('anthropic', guard, usage);
      yield { type: 'done', text: progress.text, usage, model: progress.model };
    } catch (err) {
      throw toProviderError('anthropic', err, guard, SDK_ERRORS, progressUsage(progress));
    } finally {
      guard.release();
    }
  }

  private params(req: CompletionRequest) {
    const { thinking } = anthropicTraits(req.model);
    return {
      model: req.model,
      max_tokens: req.maxOutputTokens,
      ...toAnthropicMessages(req.messages),
      ...(thinking ? { thinking } : {}),
      ...outputConfig(req),
    };
  }
}
