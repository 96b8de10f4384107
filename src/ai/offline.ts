import { countMessageTokens, countTokens } from '../metering/tokenizer';
import { JSON_SHAPE_MARKER } from './tasks/define';
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

/**
 * A task that asks for JSON shows the shape it wants after JSON_SHAPE_MARKER; offline, the answer
 * is that shape with every text filled in ("Offline name", ...), so structured results come back
 * structured. Undefined when the prompt asks for no JSON or the shape does not fit the output cap.
 */
function shapedReply(req: CompletionRequest): string | undefined {
  const prompt = req.messages.map((m) => m.content).join('\n');
  const at = prompt.lastIndexOf(JSON_SHAPE_MARKER);
  if (at < 0) return undefined;
  let shape: unknown;
  try {
    shape = JSON.parse(prompt.slice(at + JSON_SHAPE_MARKER.length).trim());
  } catch {
    return undefined;
  }
  const text = JSON.stringify(fill(shape, 'answer'));
  return countTokens(OFFLINE_MODEL, text) <= req.maxOutputTokens ? text : undefined;
}

function fill(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.slice(0, 1).map((item) => fill(item, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, k)]));
  }
  return typeof value === 'string' && !/^\d{4}-\d{2}/.test(value) ? `Offline ${key}` : value;
}

/** The longest word prefix of the reply that fits the output cap, as a vendor would truncate. */
function replyFor(req: CompletionRequest): string {
  const shaped = shapedReply(req);
  if (shaped !== undefined) return shaped;
  const words = [...REPLY_PREFIX.split(' '), ...lastUserWords(req.messages)];
  for (let count = words.length; count > 0; count--) {
    const text = words.slice(0, count).join(' ');
    if (countTokens(OFFLINE_MODEL, text) <= req.maxOutputTokens) return text;
  }
  return '';
}

function aborted(): ProviderError {
  return new ProviderError('offline: aborted by caller', 'offline', undefined, false, undefined, 'aborted');
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
    // Each delta is one word with its leading space, so the deltas concatenate to the text.
    for (const piece of text.match(/\s*\S+/g) ?? []) {
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
