import type { Logger } from 'pino';
import type { VendorName } from './router';

/**
 * Both vendor SDKs log through `console` unless given a logger; ours is pino, so their warnings go
 * through this adapter, tagged with the vendor. Their `debug` level would log request and response
 * bodies (users' prompts), so they never log below `warn`; their `info` lines (one per request) would
 * only repeat our own `charge` log.
 */
type LogFn = (message: string, ...rest: unknown[]) => void;

export interface SdkLogger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
}

export type SdkLogLevel = 'off' | 'error' | 'warn';

export function sdkLogger(log: Logger, vendor: VendorName): SdkLogger {
  const child = log.child({ vendor });
  const forward =
    (level: 'error' | 'warn' | 'info' | 'debug'): LogFn =>
    (message, ...rest) =>
      rest.length > 0 ? child[level]({ details: rest }, message) : child[level](message);
  return { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: forward('debug') };
}

/** The SDK's level for our pino level: as quiet as ours, and never chattier than `warn`. */
export function sdkLogLevel(level: string): SdkLogLevel {
  if (level === 'silent') return 'off';
  if (level === 'fatal' || level === 'error') return 'error';
  return 'warn';
}
