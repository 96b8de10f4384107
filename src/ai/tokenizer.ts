import type * as Tiktoken from 'js-tiktoken/lite' with { 'resolution-mode': 'import' };
import type { ChatMessage, JsonReplySchema } from './provider';

/**
 * Token counts as the vendor will bill them, used to reserve before a call. The exact count is settled
 * from the vendor's reported usage afterwards, so these only need to be close (OpenAI) or safely
 * above (Anthropic).
 */

/**
 * OpenAI wraps every chat message as `<|start|>{role}<|message|>{content}<|end|>`: 3 tokens besides
 * the role and content, and primes the reply with `<|start|>assistant<|message|>`: 3 more. These
 * are the constants of OpenAI's cookbook `num_tokens_from_messages` for gpt-4o and later.
 */
const OPENAI_TOKENS_PER_MESSAGE = 3;
const OPENAI_REPLY_PRIMING_TOKENS = 3;

/**
 * Anthropic's tokenizer is not public, and Claude's tokens run longer than o200k's for most text.
 * We estimate with o200k and over-reserve by this margin (120 %), plus a per-message and a per-prompt
 * allowance for its turn markup; the reported usage settles the exact amount.
 */
const ANTHROPIC_ESTIMATE_MARGIN_PERCENT = 120;
/**
 * Claude Opus 4.7 and later, and the Claude 5 models, use a newer tokenizer that counts the same text
 * as about 30 % more tokens than Claude Haiku 4.5 does (Anthropic's Haiku 5.5 overview): 120 % × 1.3,
 * rounded up.
 */
const ANTHROPIC_NEWER_TOKENIZER_MARGIN_PERCENT = 160;
const ANTHROPIC_NEWER_TOKENIZER = /^claude-(opus-4-[7-9]|[a-z]+-5)/;
const ANTHROPIC_TOKENS_PER_MESSAGE = 5;
const ANTHROPIC_PROMPT_OVERHEAD_TOKENS = 10;


const O200K_MODEL_PREFIXES = ['gpt-4o', 'gpt-4.1', 'gpt-5', 'o1', 'o3', 'o4', 'offline'];
const ANTHROPIC_MODEL_PREFIX = 'claude-';

type Family = 'openai' | 'anthropic';

function familyOf(model: string): Family {
  if (model.startsWith(ANTHROPIC_MODEL_PREFIX)) return 'anthropic';
  if (O200K_MODEL_PREFIXES.some((prefix) => model.startsWith(prefix))) return 'openai';
  throw new Error(`no tokenizer known for model ${model}`);
}

let encoder: Tiktoken.Tiktoken | undefined;

/**
 * Building the o200k encoder takes about a second, so it is built once, on first use or at start-up
 * through this function. Its types are ESM-only under node16, hence the require (see STACK.md).
 */
export function loadTokenizer(): Tiktoken.Tiktoken {
  if (encoder) return encoder;
  const lite = require('js-tiktoken/lite') as typeof Tiktoken;
  const o200k = require('js-tiktoken/ranks/o200k_base') as Tiktoken.TiktokenBPE;
  encoder = new lite.Tiktoken(o200k);
  return encoder;
}

/**
 * Hands the tokenizer an o200k encoder built elsewhere, in place of building its own. For the test
 * suite only: every jest test file has a module registry of its own, so each built the encoder again
 * (a quarter of a small test file's CPU); the suite's environment builds one per worker
 * (test/support/environment.ts). It must be js-tiktoken's o200k encoder; the service never calls this.
 */
export function useTokenizer(prebuilt: Tiktoken.Tiktoken): void {
  encoder = prebuilt;
}

/** User text that spells a special token such as `<|endoftext|>` is counted as plain text, as vendors do. */
function o200kCount(text: string): number {
  return loadTokenizer().encode(text, [], []).length;
}

/** Integer ceiling of n × percent / 100, without floating point. */
function withMargin(tokens: number, percent: number): number {
  const scaled = tokens * percent;
  const whole = Math.trunc(scaled / 100);
  return whole * 100 < scaled ? whole + 1 : whole;
}

function assertTokenCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`token count is not a safe integer: ${n}`);
  return n;
}

/**
 * The longest start of `text` that is at most `tokensMax` o200k tokens (the count every estimate
 * starts from; Anthropic's margin scales it up the same way for any text), cut between characters.
 */
export function clipToTokens(text: string, tokensMax: number): string {
  const tokens = loadTokenizer().encode(text, [], []);
  if (tokens.length <= tokensMax) return text;
  // The first tokensMax tokens, less the character the last one may have split (decoded as U+FFFD).
  let cut = loadTokenizer().decode(tokens.slice(0, tokensMax)).replace(/\uFFFD+$/u, '');
  // Encoded on its own, the cut may merge differently at its end: shorten it until it fits.
  while (o200kCount(cut) > tokensMax) cut = [...cut].slice(0, -1).join('');
  return cut;
}

function anthropicMargin(model: string): number {
  return ANTHROPIC_NEWER_TOKENIZER.test(model) ? ANTHROPIC_NEWER_TOKENIZER_MARGIN_PERCENT : ANTHROPIC_ESTIMATE_MARGIN_PERCENT;
}

export function countTokens(model: string, text: string): number {
  const tokens = o200kCount(text);
  const family = familyOf(model);
  return assertTokenCount(family === 'anthropic' ? withMargin(tokens, anthropicMargin(model)) : tokens);
}

/**
 * A reply schema (structured outputs) is prompt input the vendor bills though no message shows it.
 * Neither vendor publishes how it renders a schema into the prompt; we count the schema's JSON text
 * with its name, with the model family's margin. A vendor that bills more is charged at settle from
 * the available balance (a settle charges min(actual, hold + available)), an overage only at zero.
 */
export function countSchemaTokens(model: string, json: JsonReplySchema): number {
  return countTokens(model, json.name + JSON.stringify(json.schema));
}

/** The prompt as the vendor will count it, turn markup included. */
export function countMessageTokens(model: string, messages: ChatMessage[]): number {
  if (familyOf(model) === 'anthropic') return assertTokenCount(anthropicPromptEstimate(model, messages));
  const perMessage = messages.map((m) => OPENAI_TOKENS_PER_MESSAGE + o200kCount(m.role) + o200kCount(m.content));
  return assertTokenCount(sum(perMessage) + OPENAI_REPLY_PRIMING_TOKENS);
}

function anthropicPromptEstimate(model: string, messages: ChatMessage[]): number {
  const raw = sum(messages.map((m) => ANTHROPIC_TOKENS_PER_MESSAGE + o200kCount(m.content)));
  return withMargin(raw, anthropicMargin(model)) + ANTHROPIC_PROMPT_OVERHEAD_TOKENS;
}

function sum(values: number[]): number {
  return values.reduce((total, n) => total + n, 0);
}
