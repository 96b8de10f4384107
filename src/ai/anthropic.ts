import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { CallGuard, callDeadlineMs, type SdkProviderOptions } from './call-guard';
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

const SDK_ERRORS = { APIError, APIUserAbortError, APIConnectionTimeoutError, APIConnectionError };

/** Several system messages become one `system` parameter, in order, as separate paragraphs. */
const SYSTEM_SEPARATOR = '\n\n';

/** Anthropic takes system text as a parameter of its own, not as a message. */
function toAnthropicMessages(messages: ChatMessage[]) {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const turns = messages.flatMap(({ role, content }) => (role === 'system' ? [] : [{ role, content }]));
  return { messages: turns, ...(system.length > 0 ? { system: system.join(SYSTEM_SEPARATOR) } : {}) };
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
    const { apiKey, baseURL, timeoutMs, maxRetries } = options;
    this.client = new Anthropic({ apiKey, baseURL, timeout: timeoutMs, maxRetries });
    this.deadlineMs = callDeadlineMs(timeoutMs, maxRetries);
  }

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    assertCompletionRequest(req);
    const guard = new CallGuard(req.signal);
    guard.arm(this.deadlineMs);
    try {
      const params = { ...this.params(req), stream: false as const };
      const message = await guard.race(this.client.messages.create(params, { signal: guard.signal }));
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
      const params = { ...this.params(req), stream: true as const };
      const events = await guard.race(this.client.messages.create(params, { signal: guard.signal }));
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
    return { model: req.model, max_tokens: req.maxOutputTokens, ...toAnthropicMessages(req.messages) };
  }
}
