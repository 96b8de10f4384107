import type { Usage } from './provider';

/**
 * Prices in integer nano-USD (1e-9 USD) per token, so costs are exact integer products and never
 * accumulate float error. $1 per million tokens = 1e-6 USD per token = 1_000 nano-USD per token.
 */
export interface ModelPrice {
  inputNanoUsdPerToken: number;
  outputNanoUsdPerToken: number;
}

const NANO_USD_PER_USD = 1_000_000_000;

/** Keyed by the canonical API id the router sends. List prices, standard tier, no caching. */
const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o': { inputNanoUsdPerToken: 2_500, outputNanoUsdPerToken: 10_000 },
  'gpt-4o-mini': { inputNanoUsdPerToken: 150, outputNanoUsdPerToken: 600 },
  'gpt-5': { inputNanoUsdPerToken: 1_250, outputNanoUsdPerToken: 10_000 },
  'claude-sonnet-4-0': { inputNanoUsdPerToken: 3_000, outputNanoUsdPerToken: 15_000 },
  'claude-sonnet-4-5': { inputNanoUsdPerToken: 3_000, outputNanoUsdPerToken: 15_000 },
  'claude-haiku-4-5': { inputNanoUsdPerToken: 1_000, outputNanoUsdPerToken: 5_000 },
  offline: { inputNanoUsdPerToken: 0, outputNanoUsdPerToken: 0 },
};

/** Other names vendors use for the same model (responses report dated snapshots). */
const ALIASES: Readonly<Record<string, string>> = {
  'claude-sonnet-4': 'claude-sonnet-4-0',
  'claude-sonnet-4-20250514': 'claude-sonnet-4-0',
  'claude-sonnet-4-5-20250929': 'claude-sonnet-4-5',
  'claude-haiku-4-5-20251001': 'claude-haiku-4-5',
};

/** OpenAI answers with dated snapshots such as gpt-4o-2024-08-06; the date does not change our price. */
const OPENAI_SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

export interface Pricing {
  /** The price row for a model id, its aliases or dated snapshots; throws for an unknown model. */
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
  return ALIASES[model] ?? model.replace(OPENAI_SNAPSHOT_SUFFIX, '');
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
  const inputCost = usage.promptTokens * price.inputNanoUsdPerToken;
  const cost = inputCost + usage.completionTokens * price.outputNanoUsdPerToken;
  // A product past 2^53 would have been rounded: refuse rather than bill a wrong amount.
  assertSafeCount('cost', cost);
  return cost;
}

function assertPrice(model: string, price: ModelPrice): void {
  assertSafeCount(`${model} input price`, price.inputNanoUsdPerToken);
  assertSafeCount(`${model} output price`, price.outputNanoUsdPerToken);
}

function assertSafeCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative safe integer, got ${n}`);
}
