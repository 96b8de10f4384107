import { AppError, forbidden, unauthenticated } from '../errors';
import type { GraphQLContext, Viewer } from './context';

export function requireViewer(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

/**
 * The role in a token is what it was at sign-in; admin powers (grants, everyone's alerts) are checked
 * against the account as it is now, so a demoted admin loses them at once, not when the token expires.
 * While the database cannot be read, the signed token's role stands, so an admin's grant can still
 * wait in the journal for the database to come back (a deliberate availability trade-off, logged).
 */
export async function requireAdmin(ctx: GraphQLContext): Promise<Viewer> {
  const viewer = requireViewer(ctx);
  if (viewer.role !== 'ADMIN') throw forbidden();
  let role: string;
  try {
    role = (await ctx.services.accounts.user(viewer.userId)).role;
  } catch (err) {
    if (err instanceof AppError) throw err;
    ctx.services.log.warn({ err, userId: viewer.userId }, 'admin role not re-checked: database unavailable; the token role stands');
    return viewer;
  }
  if (role !== 'ADMIN') throw forbidden();
  return viewer;
}

/** What `whileAdmin` yields once the viewer is no longer an admin; the field's resolve turns it into FORBIDDEN. */
export const ADMIN_REVOKED = Symbol('admin revoked');

/**
 * An admin-only subscription's events, each delivered only after the viewer's admin role is checked
 * again (requireAdmin, against the database): once it no longer holds (demoted or deleted), the source
 * is closed and ADMIN_REVOKED is yielded, then nothing more. A demoted admin never receives another
 * event, and the operation ends with one FORBIDDEN error (the socket stays up). One primary-key read
 * per delivered event and admin subscriber: these events (everyone's alerts) are rare.
 *
 * A plain iterator, not an async generator: a generator's return() waits for its pending next(), so a
 * client leaving a quiet subscription would never unsubscribe from the source.
 */
export function whileAdmin<T>(ctx: GraphQLContext, source: AsyncIterableIterator<T>): AsyncIterableIterator<T | typeof ADMIN_REVOKED> {
  let revoked = false;
  const end = () => source.return?.() ?? Promise.resolve({ value: undefined, done: true as const });
  return {
    next: async () => {
      if (revoked) return { value: undefined, done: true };
      const result = await source.next();
      if (result.done || (await stillAdmin(ctx))) return result;
      revoked = true;
      void end();
      return { value: ADMIN_REVOKED, done: false };
    },
    return: async () => {
      revoked = true;
      await end();
      return { value: undefined, done: true };
    },
    throw: async (err) => {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function stillAdmin(ctx: GraphQLContext): Promise<boolean> {
  try {
    await requireAdmin(ctx);
    return true;
  } catch (err) {
    if (err instanceof AppError) return false;
    throw err;
  }
}
