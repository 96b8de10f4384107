import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import {
  BalanceFencedError,
  BalanceUnavailableError,
  InsufficientTokensError,
  QuotaExceededError,
  RateLimitedError,
  TooManyHoldsError,
  UnknownUserError,
} from '../balance/errors';
import { AppError, type ErrorCode } from '../errors';

/** The code and extra extensions of a refusal we give on purpose; undefined for anything else. */
export function refusalOf(error: unknown) {
  return known(unwrapResolverError(error));
}

function known(err: unknown): { code: ErrorCode; message: string; extensions?: Record<string, unknown> } | undefined {
  if (err instanceof AppError) return { code: err.code, message: err.message, extensions: err.extensions };
  if (err instanceof InsufficientTokensError) {
    return { code: 'INSUFFICIENT_TOKENS', message: err.message, extensions: { available: err.available, required: err.required } };
  }
  if (err instanceof QuotaExceededError) {
    const extensions = { brandId: err.brandId, remaining: err.remaining, required: err.required, resetsAt: err.resetsAt.toISOString() };
    return { code: 'QUOTA_EXCEEDED', message: err.message, extensions };
  }
  if (err instanceof RateLimitedError) {
    // retryAfterMs is left out when waiting cannot help (JSON has no Infinity).
    const extensions = err.retryAfterMs === null ? { limit: err.limit } : { limit: err.limit, retryAfterMs: err.retryAfterMs };
    return { code: 'RATE_LIMITED', message: err.message, extensions };
  }
  if (err instanceof TooManyHoldsError) return { code: 'RATE_LIMITED', message: err.message, extensions: { limit: 'CONCURRENT_GENERATIONS' } };
  if (err instanceof BalanceUnavailableError || err instanceof BalanceFencedError) {
    return { code: 'SERVICE_UNAVAILABLE', message: err.message, extensions: { retryable: true } };
  }
  if (err instanceof UnknownUserError) return { code: 'NOT_FOUND', message: 'user not found' };
  return undefined;
}

const INTERNAL_MESSAGE = 'Internal server error';

/** graphql's suggestions: ' Did you mean "grantTokens"?', ' Did you mean the enum value "ADMIN"?', and lists of them. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/** The message without its suggestions, which would name schema fields and enum values introspection hides. */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '').trim();
}

export interface ErrorFormatOptions {
  /** Hide internal error text. */
  production: boolean;
  /** Remove "Did you mean …?" from every message (DocumentRules.hideSuggestions). */
  hideSuggestions: boolean;
}

/**
 * Shapes every error the clients see, for HTTP (Apollo's formatError) and the websocket alike:
 * our refusals get their code; GraphQL's own errors (parse, validation, variables) pass through,
 * without suggestions when those are hidden; anything else is a bug: logged in full, and its text
 * hidden in production.
 */
export function createErrorFormatter(log: Logger, opts: ErrorFormatOptions, refused: (code: ErrorCode) => void = () => {}) {
  const shown = (message: string) => (opts.hideSuggestions ? withoutSuggestions(message) : message);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const refusal = known(original);
    if (refusal) {
      refused(refusal.code);
      return { message: refusal.message, path: formatted.path, extensions: { ...refusal.extensions, code: refusal.code } };
    }
    if (original instanceof GraphQLError || !(error instanceof GraphQLError) || !error.originalError) {
      const { stacktrace: _omit, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: shown(formatted.message), extensions };
    }
    log.error({ err: original, path: formatted.path }, 'unexpected error in resolver');
    return {
      message: opts.production ? INTERNAL_MESSAGE : formatted.message,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/** One structured line per refusal, with who was refused and for what (the operation's root field). */
export function logRefusals(log: Logger, errors: readonly unknown[], userId: string | undefined): void {
  for (const error of errors) {
    const refusal = refusalOf(error);
    if (!refusal) continue;
    const path = error instanceof GraphQLError ? error.path : undefined;
    log.info({ code: refusal.code, userId, operation: path?.[0], ...refusal.extensions }, `refused: ${refusal.message}`);
  }
}
