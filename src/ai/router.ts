import type { ProviderName } from './provider';

export type ModelTier = 'cheap' | 'strong';

export interface ModelRoute {
  provider: ProviderName;
  /** The canonical API id sent to the vendor; pricing.ts has a row for each of these. */
  model: string;
}

/**
 * OpenAI is preferred when both are configured; offline keeps the service usable with neither.
 *
 * claude-sonnet-4-5 reaches end of life on 2026-11-30 (the Anthropic SDK's deprecated-models table):
 * its successor goes here together with its list price in pricing.ts, once that price is confirmed.
 */
const ROUTES: Readonly<Record<ModelTier, { openai: string; anthropic: string }>> = {
  cheap: { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' },
  strong: { openai: 'gpt-4o', anthropic: 'claude-sonnet-4-5' },
};

const OFFLINE_ROUTE: ModelRoute = { provider: 'offline', model: 'offline' };

export interface ModelRouter {
  route(tier: ModelTier): ModelRoute;
}

export function createModelRouter(configured: { openai: boolean; anthropic: boolean }): ModelRouter {
  return {
    route(tier) {
      if (configured.openai) return { provider: 'openai', model: ROUTES[tier].openai };
      if (configured.anthropic) return { provider: 'anthropic', model: ROUTES[tier].anthropic };
      return OFFLINE_ROUTE;
    },
  };
}
