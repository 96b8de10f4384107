/**
 * A websocket's credentials over its life (websocket.ts wires these into graphql-ws): closed when its
 * token expires, re-checked before every operation, and counted per user.
 */
import { GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { Role } from '../db/entities';
import { AppError } from '../errors';
import type { Services } from '../services';
import type { Viewer } from './context';

/**
 * How a socket is closed when its credentials no longer hold (graphql-ws's codes):
 * 4401 when its token expires (at `exp`, by a timer, and on any operation sent after it);
 * 4403 when its account no longer exists (checked at connect and on every operation), and for a
 * connection without a valid token (graphql-ws's own refusal);
 * 4429 for a connection past WEBSOCKETS_PER_USER_MAX open sockets of one user (refused at connect).
 */
export const SOCKET_CLOSE = { tokenExpired: CloseCode.Unauthorized, accountGone: CloseCode.Forbidden, tooManySockets: 4429 } as const;

/**
 * Longest single wait of a socket's expiry timer: a token may live 30 days, past setTimeout's
 * largest delay (about 24.8 days), so a long wait is taken in steps of at most this.
 */
const EXPIRY_TIMER_MS_MAX = 24 * 3_600_000;

/** Per-websocket state, kept on graphql-ws's `extra`. */
export type SocketState = {
  viewer?: Viewer;
  /** The client's address, from the upgrade request (client-address.ts). */
  clientAddress?: string;
  /** The token's `exp` in milliseconds: the socket is closed then. */
  expiresAtMs?: number;
  subscriptions?: Set<string>;
};

/** Closes the socket with 4401 when its token expires; the timer ends with the socket. */
export function closeAtExpiry(socket: WebSocket, expiresAtMs: number): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const leftMs = expiresAtMs - Date.now();
    if (leftMs <= 0) {
      socket.close(SOCKET_CLOSE.tokenExpired, 'Unauthorized: token expired, sign in again');
      return;
    }
    timer = setTimeout(arm, Math.min(leftMs, EXPIRY_TIMER_MS_MAX));
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Before every operation: an expired token closes the socket (4401) even if its timer has not fired
 * yet, a deleted account closes it (4403), and the viewer's role follows the account (a demoted admin
 * goes on as a USER: admin-only operations get FORBIDDEN, the socket stays up for their own ones).
 * Returns the errors for this operation when the socket was closed.
 */
export async function recheck(services: Services, state: SocketState, socket: WebSocket): Promise<GraphQLError[] | undefined> {
  const viewer = state.viewer!;
  if (Date.now() >= state.expiresAtMs!) {
    socket.close(SOCKET_CLOSE.tokenExpired, 'Unauthorized: token expired, sign in again');
    return [new GraphQLError('token expired: sign in again', { extensions: { code: 'UNAUTHENTICATED' } })];
  }
  const role = await currentRole(services, viewer);
  if (role === ACCOUNT_GONE) {
    socket.close(SOCKET_CLOSE.accountGone, 'Forbidden: this account no longer exists');
    return [new GraphQLError('this account no longer exists', { extensions: { code: 'UNAUTHENTICATED' } })];
  }
  state.viewer = { userId: viewer.userId, role };
  return undefined;
}

export const ACCOUNT_GONE = Symbol('account gone');

/**
 * The role a socket acts with: the token's, lowered to the account's current one. A promoted user
 * signs in again for a token with the new role, as on HTTP (guards.ts re-checks admin powers there).
 * While the database cannot be read, the token's role stands (the same trade-off as requireAdmin).
 */
export async function currentRole(services: Services, viewer: Viewer): Promise<Role | typeof ACCOUNT_GONE> {
  let role: Role;
  try {
    role = (await services.accounts.user(viewer.userId)).role;
  } catch (err) {
    if (err instanceof AppError) return ACCOUNT_GONE;
    services.log.warn({ err, userId: viewer.userId }, 'websocket: account not re-checked, database unavailable; the token role stands');
    return viewer.role;
  }
  return viewer.role === 'ADMIN' && role === 'ADMIN' ? 'ADMIN' : 'USER';
}

/**
 * Open sockets per user, bounded: each costs a timer, subscriptions and their queues, so one account
 * (or one stolen token) cannot hold an unbounded share of the server. A socket counts from its accepted
 * connect until it closes.
 */
export class SocketsPerUser {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts `socket` for `userId` until it closes; false (nothing counted) past the limit. */
  open(userId: string, socket: WebSocket): boolean {
    const count = this.counts.get(userId) ?? 0;
    if (count >= this.max) return false;
    this.counts.set(userId, count + 1);
    socket.once('close', () => {
      const left = (this.counts.get(userId) ?? 1) - 1;
      if (left > 0) this.counts.set(userId, left);
      else this.counts.delete(userId);
    });
    return true;
  }
}
