/**
 * Refusals the service gives on purpose. Each carries the GraphQL `extensions.code` the clients
 * branch on (see ../shared/frontend-operations.graphql). Anything else that escapes a resolver is a
 * bug and is masked as INTERNAL_SERVER_ERROR.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'INSUFFICIENT_TOKENS'
  | 'QUOTA_EXCEEDED'
  | 'RATE_LIMITED'
  | 'UPSTREAM_FAILED'
  | 'SERVICE_UNAVAILABLE';

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badInput = (message: string, field?: string, extensions: Record<string, unknown> = {}) =>
  new AppError('BAD_USER_INPUT', message, field ? { field, ...extensions } : extensions);
export const unauthenticated = (message = 'sign in first: send Authorization: Bearer <token>') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'this needs the ADMIN role') => new AppError('FORBIDDEN', message);
export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
