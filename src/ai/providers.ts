import type { Logger } from 'pino';
import { OfflineProvider } from './offline';
import type { Provider, ProviderName } from './provider';

export interface ProvidersConfig {
  openai?: { apiKey: string; baseURL?: string };
  anthropic?: { apiKey: string; baseURL?: string };
  /** Per attempt: wait for response headers, and the longest silence between stream events. */
  timeoutMs: number;
  /** Retries done inside the SDKs (429, 5xx, timeouts, connection failures). */
  maxRetries: number;
  /** Receives the SDKs' own warnings, which would otherwise go to the console. */
  log: Logger;
}

/**
 * A vendor without credentials is absent; the offline provider is always there. A vendor's SDK is
 * loaded only when its provider is made: without API keys the service never loads either (the
 * Anthropic SDK is 272 modules, OpenAI's 150 more than its zod helper, which tasks/output.ts uses;
 * with Stripe's, 643 modules and about 130 ms of CPU at every start).
 */
export function createProviders(cfg: ProvidersConfig): Record<ProviderName, Provider | undefined> {
  const limits = { timeoutMs: cfg.timeoutMs, maxRetries: cfg.maxRetries, log: cfg.log };
  const openAi = () => (require('./openai') as typeof import('./openai')).OpenAiProvider;
  const anthropic = () => (require('./anthropic') as typeof import('./anthropic')).AnthropicProvider;
  return {
    openai: cfg.openai ? new (openAi())({ ...cfg.openai, ...limits }) : undefined,
    anthropic: cfg.anthropic ? new (anthropic())({ ...cfg.anthropic, ...limits }) : undefined,
    offline: new OfflineProvider(),
  };
}
