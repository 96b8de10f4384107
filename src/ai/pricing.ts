import type { Usage } from './provider';

/**
 * Prices in integer nano-USD (1e-9 USD) per token, so costs are exact integer products and never
 * accumulate float error. $1 per million tokens = 1e-6 USD per token = 1_000 nano-USD per token.
 */
export interface ModelPrice {
  inputNanoUsdPerToken: number;
  outputNanoUsdPerToken: number;
  /**
   * A vendor that charges more for long prompts: from more than `promptTokensAbove` prompt tokens,
   * these rates apply to the whole request (input and output), as the vendor bills it.
   */
  longPrompt?: { promptTokensAbove: number; inputNanoUsdPerToken: number; outputNanoUsdPerToken: number };
}

const NANO_USD_PER_USD = 1_000_000_000;

/**
 * Keyed by the canonical API id the router sends. List prices, standard tier, no caching, for the
 * prompts this service sends (about PROMPT_TOKENS_MAX at most, far below GPT-5.4's long-context tier
 * at 272K; Haiku 5.5's at 100,000 is modelled all the same). Each row says where its price was read
 * (2026-11-30). A row stays while something routes to it or the installed SDK still lists the model.
 */
const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  // $2.50 / $15 per million tokens (up to 272K prompt tokens): OpenAI's pricing page as quoted by
  // tokenmix.ai/blog/openai-api-cost-2026-gpt-5-5-5-4-nano-batch and morphllm.com/openai-api-pricing.
  'gpt-5.4': { inputNanoUsdPerToken: 2_500, outputNanoUsdPerToken: 15_000 },
  // $0.75 / $4.50: vercel.com/ai-gateway/models/openai/gpt-5.4-mini, and the two sources above.
  'gpt-5.4-mini': { inputNanoUsdPerToken: 750, outputNanoUsdPerToken: 4_500 },
  // $1.25 / $10: benchr.org/pricing/gpt-5-6 (comparing against GPT-5's list price).
  'gpt-5': { inputNanoUsdPerToken: 1_250, outputNanoUsdPerToken: 10_000 },
  // $2.50 / $10 and $0.15 / $0.60: aimodelcalc.pages.dev/guides/openai-api-pricing.html.
  'gpt-4o': { inputNanoUsdPerToken: 2_500, outputNanoUsdPerToken: 10_000 },
  'gpt-4o-mini': { inputNanoUsdPerToken: 150, outputNanoUsdPerToken: 600 },
  // $2 / $10: platform.claude.com/docs/zh-CN/models/sonnet-5-5/overview (Anthropic's model page).
  'claude-sonnet-5-5': { inputNanoUsdPerToken: 2_000, outputNanoUsdPerToken: 10_000 },
  // $0.10 / $0.50 for prompts up to 100,000 tokens, $0.50 / $2.50 above:
  // platform.claude.com/docs/en/models/haiku-5-5/overview (Anthropic's model page).
  'claude-haiku-5-5': {
    inputNanoUsdPerToken: 100,
    outputNanoUsdPerToken: 500,
    longPrompt: { promptTokensAbove: 100_000, inputNanoUsdPerToken: 500, outputNanoUsdPerToken: 2_500 },
  },
  // $1 / $5 and $3 / $15: deploybase.ai/articles/claude-api-pricing. Claude Sonnet 4.5 is past its end
  // of life (the start-up check refuses a route to it) but the installed SDK still lists it.
  'claude-haiku-4-5': { inputNanoUsdPerToken: 1_000, outputNanoUsdPerToken: 5_000 },
  'claude-sonnet-4-5': { inputNanoUsdPerToken: 3_000, outputNanoUsdPerToken: 15_000 },
  offline: { inputNanoUsdPerToken: 0, outputNanoUsdPerToken: 0 },
};

/**
 * Vendors answer with dated snapshots (gpt-5.4-mini-2026-03-17, claude-haiku-4-5-20251001); the date
 * does not change the price.
 */
const DATED_SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;

export interface Pricing {
  /** The price row for a model id or its dated snapshots; throws for an unknown model. */
  priceOf(model: string): ModelPrice;
  costNanoUsd(model: string, usage: Usage): number;
}

/** Overrides win over the defaults and may add models; every price must be a non-negative safe integer. */
export function createPricing(overrides: Record<string, ModelPrice> = {}): Pricing {
  Object.entries(overrides).forEach(([model, price]) => assertPrice(model, price));
  const prices: Record<string, ModelPrice> = { ...DEFAULT_PRICES, ...overrides };
  const priceOf = (model: string): ModelPrice => {
    const price = prices[model] ?? prices[canonicalModelId(model)];
    if (!price) throw new Error(`no price for model ${model}`);
    return price;
  };
  return { priceOf, costNanoUsd: (model, usage) => multiply(priceOf(model), usage) };
}

export function canonicalModelId(model: string): string {
  return model.replace(DATED_SNAPSHOT_SUFFIX, '');
}

const defaultPricing = createPricing();

export function costNanoUsd(model: string, usage: Usage): number {
  return defaultPricing.costNanoUsd(model, usage);
}

/** For display only: money is kept and summed in integer nano-USD. */
export function nanoToUsd(nanoUsd: number): number {
  return nanoUsd / NANO_USD_PER_USD;
}

function multiply(price: ModelPrice, usage: Usage): number {
  assertSafeCount('promptTokens', usage.promptTokens);
  assertSafeCount('completionTokens', usage.completionTokens);
  const long = price.longPrompt && usage.promptTokens > price.longPrompt.promptTokensAbove ? price.longPrompt : undefined;
  const rates = long ?? price;
  const inputCost = usage.promptTokens * rates.inputNanoUsdPerToken;
  const cost = inputCost + usage.completionTokens * rates.outputNanoUsdPerToken;
  // A product past 2^53 would have been rounded: refuse rather than bill a wrong amount.
  assertSafeCount('cost', cost);
  return cost;
}

function assertPrice(model: string, price: ModelPrice): void {
  assertSafeCount(`${model} input price`, price.inputNanoUsdPerToken);
  assertSafeCount(`${model} output price`, price.outputNanoUsdPerToken);
  if (!price.longPrompt) return;
  assertSafeCount(`${model} long-prompt threshold`, price.longPrompt.promptTokensAbove);
  assertSafeCount(`${model} long-prompt input price`, price.longPrompt.inputNanoUsdPerToken);
  assertSafeCount(`${model} long-prompt output price`, price.longPrompt.outputNanoUsdPerToken);
}

function assertSafeCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative safe integer, got ${n}`);
}
