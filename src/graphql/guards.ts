import { forbidden, unauthenticated } from '../errors';
import type { GraphQLContext, Viewer } from './context';

export function requireViewer(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

/**
 * The role in a token is what it was at sign-in; admin powers (grants, everyone's alerts) are checked
 * against the account as it is now, so a demoted admin loses them at once, not when the token expires.
 */
export async function requireAdmin(ctx: GraphQLContext): Promise<Viewer> {
  const viewer = requireViewer(ctx);
  if (viewer.role !== 'ADMIN') throw forbidden();
  const account = await ctx.services.accounts.user(viewer.userId);
  if (account.role !== 'ADMIN') throw forbidden();
  return viewer;
}
