import { AnthropicProvider } from './anthropic';
import { OfflineProvider } from './offline';
import { OpenAiProvider } from './openai';
import type { Logger } from 'pino';
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

/** A vendor without credentials is absent; the offline provider is always there. */
export function createProviders(cfg: ProvidersConfig): Record<ProviderName, Provider | undefined> {
  const limits = { timeoutMs: cfg.timeoutMs, maxRetries: cfg.maxRetries, log: cfg.log };
  return {
    openai: cfg.openai ? new OpenAiProvider({ ...cfg.openai, ...limits }) : undefined,
    anthropic: cfg.anthropic ? new AnthropicProvider({ ...cfg.anthropic, ...limits }) : undefined,
    offline: new OfflineProvider(),
  };
}
