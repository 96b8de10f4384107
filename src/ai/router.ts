import type { Model as AnthropicModel } from '@anthropic-ai/sdk/resources/messages';
import type { ChatModel as OpenAiModel } from 'openai/resources/shared';
import type { ProviderName } from './provider';

export type ModelTier = 'cheap' | 'strong';
export const MODEL_TIERS: readonly ModelTier[] = ['cheap', 'strong'];

/** The vendors a route names a model for; the offline provider needs none. */
export type VendorName = Exclude<ProviderName, 'offline'>;
export const VENDORS: readonly VendorName[] = ['openai', 'anthropic'];

/** Tier → vendor → the canonical API id sent to that vendor (MODEL_ROUTES_JSON, README). */
export type ModelRoutes = Readonly<Record<ModelTier, Readonly<Record<VendorName, string>>>>;

export interface ModelRoute {
  provider: ProviderName;
  /** The canonical API id sent to the vendor; the start-up check (lifecycle.ts) proves it has a price. */
  model: string;
}

/** A model id the installed SDK lists by name: its `string & {}` escape hatch removed. */
type Listed<T> = T extends string ? (string extends T ? never : T) : never;

/**
 * Current models of each vendor, typed so that the compiler refuses an id the installed SDK does not
 * list. claude-sonnet-4-5, the strong Anthropic route until now, reached its end of life on
 * 2026-11-30; Claude Sonnet 5.5 is the current Sonnet and Haiku 5.5 the current Haiku. The GPT-5.6
 * family is newer than GPT-5.4, but its list prices could not be established (the stored sources
 * disagree after its July 2026 price cut), so the OpenAI routes use GPT-5.4 (pricing.ts).
 */
export const DEFAULT_MODEL_ROUTES = {
  cheap: { openai: 'gpt-5.4-mini', anthropic: 'claude-haiku-5-5' },
  strong: { openai: 'gpt-5.4', anthropic: 'claude-sonnet-5-5' },
} as const satisfies Record<ModelTier, { openai: Listed<OpenAiModel>; anthropic: Listed<AnthropicModel> }>;

const OFFLINE_ROUTE: ModelRoute = { provider: 'offline', model: 'offline' };

export interface ModelRouter {
  route(tier: ModelTier): ModelRoute;
}

/** OpenAI is preferred when both are configured; offline keeps the service usable with neither. */
export function createModelRouter(configured: { openai: boolean; anthropic: boolean }, routes: ModelRoutes = DEFAULT_MODEL_ROUTES): ModelRouter {
  return {
    route(tier) {
      if (configured.openai) return { provider: 'openai', model: routes[tier].openai };
      if (configured.anthropic) return { provider: 'anthropic', model: routes[tier].anthropic };
      return OFFLINE_ROUTE;
    },
  };
}
