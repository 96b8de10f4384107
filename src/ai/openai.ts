import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { CallGuard, callDeadlineMs, type SdkProviderOptions } from './call-guard';
import { openAiTraits } from './models';
import {
  assertCompletionRequest,
  parseUsage,
  type CompletionRequest,
  type CompletionResult,
  type Provider,
  type StreamEvent,
  type Usage,
} from './provider';
import { endedEarly, missingUsage, toProviderError } from './sdk-errors';
import { sdkLogger, sdkLogLevel } from './sdk-logger';

const SDK_ERRORS = { APIError, APIUserAbortError, APIConnectionTimeoutError, APIConnectionError };

type OutputLimit =
  | { max_tokens: number }
  | { max_completion_tokens: number; reasoning_effort?: OpenAI.ReasoningEffort };

/** The cap the hold covers, in the field the model family takes, with its lowest reasoning effort (models.ts). */
function outputLimit(model: string, maxOutputTokens: number): OutputLimit {
  const { reasoning } = openAiTraits(model);
  if (!reasoning) return { max_tokens: maxOutputTokens };
  return { max_completion_tokens: maxOutputTokens, ...(reasoning.effort ? { reasoning_effort: reasoning.effort } : {}) };
}

/** Structured outputs: the reply (message content, streamed as content deltas) is JSON that fits the schema. */
function responseFormat(req: CompletionRequest): { response_format?: OpenAI.ResponseFormatJSONSchema } {
  const json = req.format?.json;
  if (!json || !openAiTraits(req.model).structuredOutput) return {};
  return { response_format: { type: 'json_schema', json_schema: { name: json.name, strict: true, schema: json.schema } } };
}

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): Usage | undefined {
  return usage ? parseUsage(usage.prompt_tokens, usage.completion_tokens) : undefined;
}

export class OpenAiProvider implements Provider {
  readonly name = 'openai' as const;
  private readonly client: OpenAI;
  private readonly deadlineMs: number;

  constructor(private readonly options: SdkProviderOptions) {
    const { apiKey, baseURL, timeoutMs, maxRetries, log } = options;
    this.client = new OpenAI({
      apiKey,
      baseURL,
      timeout: timeoutMs,
      maxRetries,
      logger: sdkLogger(log, 'openai'),
      logLevel: sdkLogLevel(log.level),
    });
    this.deadlineMs = callDeadlineMs(timeoutMs, maxRetries);
  }

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    assertCompletionRequest(req);
    const guard = new CallGuard(req.signal);
    guard.arm(this.deadlineMs);
    try {
      const params = { ...this.params(req), stream: false as const };
      const response = await guard.race(this.client.chat.completions.create(params, { signal: guard.signal }));
      const usage = usageOf(response.usage);
      if (!usage) throw missingUsage('openai');
      return { text: response.choices[0]?.message.content ?? '', usage, model: response.model || req.model };
    } catch (err) {
      throw toProviderError('openai', err, guard, SDK_ERRORS);
    } finally {
      guard.release();
    }
  }

  async *stream(req: CompletionRequest): AsyncGenerator<StreamEvent> {
    assertCompletionRequest(req);
    const guard = new CallGuard(req.signal);
    guard.arm(this.deadlineMs);
    let text = '';
    let usage: Usage | undefined;
    let model = req.model;
    try {
      const params = { ...this.params(req), stream: true as const, stream_options: { include_usage: true } };
      const chunks = await guard.race(this.client.chat.completions.create(params, { signal: guard.signal }));
      guard.arm(this.options.timeoutMs);
      for await (const chunk of chunks) {
        model = chunk.model || model;
        usage = usageOf(chunk.usage) ?? usage;
        const delta = chunk.choices[0]?.delta.content;
        if (!delta) continue;
        text += delta;
        // The consumer's own pace is not upstream silence: pause the idle deadline while it works.
        guard.disarm();
        yield { type: 'delta', text: delta };
        guard.arm(this.options.timeoutMs);
      }
      // The SDK ends the iteration silently when the request is aborted, so check why it ended.
      if (guard.cause || !usage) throw endedEarly('openai', guard);
      yield { type: 'done', text, usage, model };
    } catch (err) {
      throw toProviderError('openai', err, guard, SDK_ERRORS);
    } finally {
      guard.release();
    }
  }

  private params(req: CompletionRequest) {
    const messages = req.messages.map(({ role, content }) => ({ role, content }));
    return { model: req.model, messages, ...outputLimit(req.model, req.maxOutputTokens), ...responseFormat(req) };
  }
}
