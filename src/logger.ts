import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; the level comes from LOG_LEVEL. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'andora-tokens' }, timestamp: pino.stdTimeFunctions.isoTime });
}
