import { countMessageTokens, countTokens } from './tokenizer';
import {
  assertCompletionRequest,
  ProviderError,
  type ChatMessage,
  type CompletionRequest,
  type CompletionResult,
  type Provider,
  type StreamEvent,
  type Usage,
} from './provider';

/**
 * A provider for development and tests with no vendor configured: no network, and the same prompt
 * always gives the same text and usage. Usage is counted with the real tokenizer so metering runs
 * exactly as it does against a vendor.
 */
const OFFLINE_MODEL = 'offline';
const REPLY_PREFIX = 'Offline answer about:';
/** How many words of the last user message the reply repeats. */
const ECHO_WORDS_MAX = 8;

function lastUserWords(messages: ChatMessage[]): string[] {
  const last = messages.filter((m) => m.role === 'user').at(-1);
  return (last?.content ?? '').split(/\s+/).filter(Boolean).slice(0, ECHO_WORDS_MAX);
}

/** Each piece is one word with its leading space, so the pieces concatenate to the text. */
function piecesOf(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** The longest run of whole pieces that fits the output cap, as a vendor cuts a reply off at its cap. */
function fitToCap(pieces: string[], maxOutputTokens: number): string {
  for (let count = pieces.length; count > 0; count--) {
    const text = pieces.slice(0, count).join('');
    if (countTokens(OFFLINE_MODEL, text) <= maxOutputTokens) return text;
  }
  return '';
}

/**
 * A task with a reply format gets its sample: what the task really returns for this input, every
 * field filled (characters as many as asked, a calendar's posts dated over its month). Other tasks get
 * an echo of the request. Either is cut off at the output cap, as a vendor would.
 */
function replyFor(req: CompletionRequest): string {
  const reply = req.format?.sample ?? [REPLY_PREFIX, ...lastUserWords(req.messages)].join(' ');
  return fitToCap(piecesOf(reply.trim()), req.maxOutputTokens);
}

function aborted(): ProviderError {
  return new ProviderError('offline: aborted by caller', { provider: 'offline', kind: 'aborted' });
}

/** Lets other work run between deltas, as network reads would, without any timer. */
function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class OfflineProvider implements Provider {
  readonly name = 'offline' as const;

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    assertCompletionRequest(req);
    await nextTick();
    if (req.signal?.aborted) throw aborted();
    const text = replyFor(req);
    return { text, usage: this.usageOf(req, text), model: OFFLINE_MODEL };
  }

  async *stream(req: CompletionRequest): AsyncGenerator<StreamEvent> {
    assertCompletionRequest(req);
    const text = replyFor(req);
    for (const piece of piecesOf(text)) {
      await nextTick();
      if (req.signal?.aborted) throw aborted();
      yield { type: 'delta', text: piece };
    }
    await nextTick();
    if (req.signal?.aborted) throw aborted();
    yield { type: 'done', text, usage: this.usageOf(req, text), model: OFFLINE_MODEL };
  }

  private usageOf(req: CompletionRequest, text: string): Usage {
    return {
      promptTokens: countMessageTokens(OFFLINE_MODEL, req.messages),
      completionTokens: countTokens(OFFLINE_MODEL, text),
    };
  }
}
