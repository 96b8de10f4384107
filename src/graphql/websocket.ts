import type { Server } from 'node:http';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../config';
import type { Services } from '../services';
import type { GraphQLContext, Viewer } from './context';
import { logRefusals } from './errors';
import { checkOperation, type DocumentRules } from './limits';
import { createLoaders } from './loaders';

/** Per-websocket state, kept on graphql-ws's `extra`. */
type SocketState = {
  viewer?: Viewer;
  subscriptions?: Set<string>;
};

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

/** graphql-ws on the HTTP server's /graphql path: the same schema, limits and error shaping as HTTP. */
export function startWebSocketServer({ server, schema, services, rules, formatError }: WebSocketOptions): GraphQLWebSocketServer {
  const { log } = services;
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: LIMITS.websocketPayloadBytesMax });
  const cleanup = useServer<Record<string, unknown> | undefined, SocketState>(
    {
      schema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        try {
          const claims = await services.auth.fromHeader(typeof header === 'string' ? header : undefined);
          if (!claims) return false;
          ctx.extra.viewer = claims;
          ctx.extra.subscriptions = new Set();
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const open = ctx.extra.subscriptions!;
        if (open.size >= LIMITS.subscriptionsPerSocketMax) {
          return [
            new GraphQLError(`at most ${LIMITS.subscriptionsPerSocketMax} subscriptions per connection`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        const checked = checkOperation(schema, rules, payload);
        if ('errors' in checked) return checked.errors;
        const { document } = checked;
        open.add(id);
        services.metrics.subscriptionsOpen.inc();
        const contextValue: GraphQLContext = {
          viewer: ctx.extra.viewer ?? null,
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
      onComplete: (ctx, id) => {
        if (ctx.extra.subscriptions?.delete(id)) services.metrics.subscriptionsOpen.dec();
      },
    },
    wsServer,
  );
  return { dispose: async () => cleanup.dispose(), close: () => wsServer.close() };
}
