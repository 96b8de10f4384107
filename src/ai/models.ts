/**
 * What a model's family changes in the request, by model id. Only the vendor adapters read this;
 * routes (router.ts) and prices (pricing.ts) are kept elsewhere.
 */

/** The lowest reasoning effort each OpenAI reasoning family accepts. */
export type ReasoningEffort = 'none' | 'minimal' | 'low';

export interface OpenAiTraits {
  /**
   * Reasoning models (gpt-5*, o1/o3/o4*) reject `max_tokens` and take `max_completion_tokens`, which
   * also caps their hidden reasoning; those tokens are billed as completion tokens though no text
   * shows them. The hold covers the whole cap, so metering stays exact either way; the lowest effort
   * leaves the cap to the reply the task sized it for.
   */
  reasoning: { effort: ReasoningEffort | undefined } | undefined;
  /** Accepts `response_format: { type: 'json_schema', strict: true }`. */
  structuredOutput: boolean;
}

export interface AnthropicTraits {
  /**
   * Claude 5.5 models think unless told otherwise, and thinking is billed as output inside
   * max_tokens. This turns it off (Haiku 5.5) or to its least (Sonnet 5.5 refuses `disabled` and
   * takes `between_tools`, which thinks only between tool calls: none here). Undefined: send nothing
   * (older models do not think unless asked; others think inside the cap, still metered exactly).
   */
  thinking: { type: 'disabled' } | { type: 'between_tools' } | undefined;
  /** Accepts `output_config.format` (JSON outputs). */
  structuredOutput: boolean;
}

const OPENAI_REASONING = /^(gpt-5|o\d)/;
/**
 * gpt-5.1 and later accept `none` (the GPT-5.6 tiers too); gpt-5, -mini and -nano go no lower than
 * `minimal`; the o-series no lower than `low`. Other variants (-pro, -codex, -chat-latest) get the
 * vendor's default: their reasoning still counts inside the cap.
 */
const OPENAI_EFFORTS: ReadonlyArray<[RegExp, ReasoningEffort]> = [
  [/^gpt-5\.\d+(-(mini|nano|sol|terra|luna))?(-\d{4}-\d{2}-\d{2})?$/, 'none'],
  [/^gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$/, 'minimal'],
  [/^o\d(-mini)?(-\d{4}-\d{2}-\d{2})?$/, 'low'],
];
/** Models from before structured outputs (gpt-4o-2024-08-06 introduced them). */
const OPENAI_WITHOUT_SCHEMA = /^(gpt-3\.5|gpt-4(-|$)|gpt-4o-2024-05-13$|chatgpt-|o1-(mini|preview))/;

const ANTHROPIC_THINKING: ReadonlyArray<[RegExp, AnthropicTraits['thinking']]> = [
  [/^claude-sonnet-5-5(-|$)/, { type: 'between_tools' }],
  [/^claude-haiku-5-5(-|$)/, { type: 'disabled' }],
];
/** JSON outputs came with the Claude 4.5 models; Claude 3 and the first Claude 4 models lack them. */
const ANTHROPIC_WITHOUT_SCHEMA = /^claude-(3|(opus|sonnet)-4-(0|1|2025))/;

export function openAiTraits(model: string): OpenAiTraits {
  const effort = OPENAI_EFFORTS.find(([pattern]) => pattern.test(model))?.[1];
  return {
    reasoning: OPENAI_REASONING.test(model) ? { effort } : undefined,
    structuredOutput: !OPENAI_WITHOUT_SCHEMA.test(model),
  };
}

export function anthropicTraits(model: string): AnthropicTraits {
  return {
    thinking: ANTHROPIC_THINKING.find(([pattern]) => pattern.test(model))?.[1],
    structuredOutput: !ANTHROPIC_WITHOUT_SCHEMA.test(model),
  };
}
