import type { Server } from 'node:http';
import { GraphQLError, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { LIMITS } from '../config';
import type { Services } from '../services';
import { clientAddress } from './client-address';
import type { GraphQLContext } from './context';
import { logRefusals } from './errors';
import { checkOperation, type DocumentRules } from './limits';
import { unstorableInputError } from './storable-input';
import { createLoaders } from './loaders';
import { ACCOUNT_GONE, SOCKET_CLOSE, SocketsPerUser, closeAtExpiry, currentRole, recheck, type SocketState } from './socket-session';

export interface WebSocketOptions {
  server: Server;
  schema: GraphQLSchema;
  services: Services;
  rules: DocumentRules;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

export interface GraphQLWebSocketServer {
  /** Closes every socket and stops accepting new ones. */
  dispose(): Promise<void>;
  close(): void;
}

/**
 * graphql-ws on the HTTP server's /graphql path: the same schema, document rules and error shaping
 * as HTTP. A socket lives no longer than its token, and every operation re-checks the token's expiry
 * and the account (deleted: closed; demoted: runs as a USER).
 */
export function startWebSocketServer({ server, schema, services, rules, formatError }: WebSocketOptions): GraphQLWebSocketServer {
  const { log } = services;
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: LIMITS.websocketPayloadBytesMax });
  const perUser = new SocketsPerUser(services.config.websocketsPerUserMax);
  const freeSlot = (state: SocketState, id: string): void => {
    if (state.subscriptions?.delete(id)) services.metrics.subscriptionsOpen.dec();
  };
  const cleanup = useServer<Record<string, unknown> | undefined, SocketState>(
    {
      schema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        let token;
        try {
          token = await services.auth.fromHeader(typeof header === 'string' ? header : undefined);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        if (!token) return false;
        const role = await currentRole(services, token);
        const { socket } = ctx.extra;
        if (role === ACCOUNT_GONE || socket.readyState !== WebSocket.OPEN) return false;
        if (!perUser.open(token.userId, socket)) {
          socket.close(SOCKET_CLOSE.tooManySockets, `Too many connections: at most ${perUser.max} per user`);
          return false;
        }
        ctx.extra.viewer = { userId: token.userId, role };
        ctx.extra.clientAddress = clientAddress(ctx.extra.request, services.config.trustProxy);
        ctx.extra.expiresAtMs = token.expiresAtMs;
        ctx.extra.subscriptions = new Set();
        closeAtExpiry(socket, token.expiresAtMs);
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        // The slot is taken before the first await, so a socket's operations get slots in the order
        // they arrived (the re-check below awaits the database, and its answers may come back in any
        // order); every refusal gives it back, an admitted operation gives it back in onComplete.
        const open = ctx.extra.subscriptions!;
        if (open.size >= LIMITS.subscriptionsPerSocketMax) {
          return [
            new GraphQLError(`at most ${LIMITS.subscriptionsPerSocketMax} subscriptions per connection`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        open.add(id);
        services.metrics.subscriptionsOpen.inc();
        let document: DocumentNode | undefined;
        try {
          const refused = await recheck(services, ctx.extra, ctx.extra.socket);
          if (refused) return refused;
          const checked = checkOperation(schema, rules, payload);
          if ('errors' in checked) return checked.errors;
          const unstorable = unstorableInputError(checked.document, payload.variables);
          if (unstorable) return [unstorable];
          document = checked.document;
        } finally {
          if (!document) freeSlot(ctx.extra, id);
        }
        const contextValue: GraphQLContext = {
          viewer: ctx.extra.viewer ?? null,
          clientAddress: ctx.extra.clientAddress!,
          services,
          loaders: createLoaders(services.orm),
        };
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        logRefusals(log, result.errors, ctx.extra.viewer?.userId);
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
      onComplete: (ctx, id) => freeSlot(ctx.extra, id),
    },
    wsServer,
  );
  return { dispose: async () => cleanup.dispose(), close: () => wsServer.close() };
}
