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
