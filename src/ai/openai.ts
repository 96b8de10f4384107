import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { CallGuard, callDeadlineMs, type SdkProviderOptions } from './call-guard';
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

const SDK_ERRORS = { APIError, APIUserAbortError, APIConnectionTimeoutError, APIConnectionError };

/**
 * Reasoning models (gpt-5*, o1/o3/o4*) reject `max_tokens` and need `max_completion_tokens`, which also
 * caps their hidden reasoning tokens; those are billed as completion tokens though no text shows them.
 */
const REASONING_MODEL_PATTERN = /^(gpt-5|o\d)/;

type OutputLimit = { max_tokens: number } | { max_completion_tokens: number };

function outputLimit(model: string, maxOutputTokens: number): OutputLimit {
  return REASONING_MODEL_PATTERN.test(model)
    ? { max_completion_tokens: maxOutputTokens }
    : { max_tokens: maxOutputTokens };
}

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): Usage | undefined {
  return usage ? parseUsage(usage.prompt_tokens, usage.completion_tokens) : undefined;
}

export class OpenAiProvider implements Provider {
  readonly name = 'openai' as const;
  private readonly client: OpenAI;
  private readonly deadlineMs: number;

  constructor(private readonly options: SdkProviderOptions) {
    const { apiKey, baseURL, timeoutMs, maxRetries } = options;
    this.client = new OpenAI({ apiKey, baseURL, timeout: timeoutMs, maxRetries });
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
    return { model: req.model, messages, ...outputLimit(req.model, req.maxOutputTokens) };
  }
}
