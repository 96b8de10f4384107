import type { Server } from 'node:http';
import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { LIMITS } from '../config';
import type { Services } from '../services';
import { clientAddress } from './client-address';
import type { GraphQLContext, Viewer } from './context';
import { logRefusals } from './errors';
import type { DocumentRules } from './limits';
import { createLoaders } from './loaders';
import type { GraphQLWebSocketServer } from './websocket';
import { unstorableInputError } from './storable-input';

export interface ApolloOptions {
  server: Server;
  schema: GraphQLSchema;
  services: Services;
  rules: DocumentRules;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Drained with the HTTP server, so open sockets close on shutdown. */
  webSocket: GraphQLWebSocketServer;
}

/** Apollo Server for GraphQL over HTTP, started (not yet mounted). */
export async function startApollo({ server, schema, services, rules, formatError, webSocket }: ApolloOptions): Promise<ApolloServer<GraphQLContext>> {
  const { log } = services;
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      { serverWillStart: async () => ({ drainServer: async () => webSocket.dispose() }) },
      {
        requestDidStart: async () => ({
          // After validation, before execution: nothing has run yet for the operation refused here.
          didResolveOperation: async ({ document, request }) => {
            const unstorable = unstorableInputError(document, request.variables);
            if (unstorable) throw unstorable;
          },
          didEncounterErrors: async ({ errors, contextValue }) => logRefusals(log, errors, contextValue?.viewer?.userId),
          willSendResponse: async ({ response }) => retryAfterHeader(response),
        }),
      },
    ],
    parseOptions: rules.parseOptions,
    validationRules: [...rules.validationRules],
    allowBatchedHttpRequests: false,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handlers race it and the drain never finishes.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // Introspection is refused by rules.validationRules in production, the same rule on both
    // transports; Apollo's own switch would add a second, HTTP-only copy of it.
    introspection: true,
    formatError,
  });
  await apollo.start();
  return apollo;
}

/**
 * A RATE_LIMITED refusal also speaks HTTP: a Retry-After header (whole seconds, rounded up), and
 * status 429 when the refusal left no data at all (the usual case: the mutation was refused).
 */
function retryAfterHeader(response: GraphQLResponse): void {
  if (response.body.kind !== 'single') return;
  const { errors, data } = response.body.singleResult;
  const retryAfterMs = errors
    ?.filter((e) => e.extensions?.code === 'RATE_LIMITED' && typeof e.extensions.retryAfterMs === 'number')
    .reduce((longest, e) => Math.max(longest, e.extensions!.retryAfterMs as number), 0);
  if (!retryAfterMs) return;
  response.http.headers.set('retry-after', String(Math.ceil(retryAfterMs / 1_000)));
  if (data === null || data === undefined) response.http.status = 429;
}

/** POST /graphql: the JSON body (bounded), the viewer from the Authorization header, then Apollo. */
export function mountGraphQL(app: Express, apollo: ApolloServer<GraphQLContext>, services: Services): void {
  app.use(
    '/graphql',
    express.json({ limit: LIMITS.requestBodyBytesMax }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let viewer: Viewer | null;
        try {
          const token = await services.auth.fromHeader(req.headers.authorization);
          viewer = token && { userId: token.userId, role: token.role };
        } catch (err) {
          throw new GraphQLError((err as Error).message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
        }
        return { viewer, clientAddress: clientAddress(req, services.config.trustProxy), services, loaders: createLoaders(services.orm) };
      },
    }),
  );
  app.use(bodyErrors);
}

/** A body that cannot be read (too large, not JSON) gets a GraphQL-shaped error, not an HTML page. */
function bodyErrors(err: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const tooLarge = err.type === 'entity.too.large';
  res.status(err.status ?? 400).json({
    errors: [
      {
        message: tooLarge ? `request body too large: at most ${LIMITS.requestBodyBytesMax} bytes` : 'malformed request body',
        extensions: { code: 'BAD_USER_INPUT' },
      },
    ],
  });
}
