import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../config';
import { isReady } from '../db/orm';
import type { Services } from '../services';
import type { GraphQLContext, Viewer } from './context';
import { createErrorFormatter, logRefusals } from './errors';
import { createLoaders } from './loaders';
import { maxAliasesRule } from './limits';
import { buildSchema } from './schema';
import { unstorableInputError } from './storable-input';

export interface HttpServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Per-websocket state, kept on graphql-ws's `extra`. */
type SocketState = {
  viewer?: Viewer;
  subscriptions?: Set<string>;
};

/** Document limits for HTTP and the websocket alike. */
function armor() {
  const protection = new ApolloArmor({
    maxDepth: { n: LIMITS.queryDepthMax },
    maxAliases: { enabled: false },
    maxTokens: { n: LIMITS.queryTokensMax },
    maxDirectives: { n: LIMITS.queryDirectivesMax },
    costLimit: { maxCost: LIMITS.queryCostMax },
    blockFieldSuggestion: { enabled: true },
  }).protect();
  return { ...protection, validationRules: [...protection.validationRules, maxAliasesRule(LIMITS.queryAliasesMax)] };
}

/** Apollo over HTTP and graphql-ws on the same port and path, plus /healthz and /readyz. */
export async function startHttpServer(services: Services): Promise<HttpServer> {
  const { config, log } = services;
  const production = config.env === 'production';
  const schema = buildSchema();
  const protection = armor();
  const formatError = createErrorFormatter(log, production, (code) => services.metrics.refusals.inc({ code }));
  const app = express();
  const server = createServer(app);

  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: LIMITS.websocketPayloadBytesMax });
  const wsCleanup = useServer<Record<string, unknown> | undefined, SocketState>(
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
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: LIMITS.queryTokensMax });
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('could not parse the document')];
        }
        const errors = validate(schema, document, [...specifiedRules, ...protection.validationRules]);
        if (errors.length > 0) return errors;
        const unstorable = unstorableInputError(document, payload.variables);
        if (unstorable) return [unstorable];
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

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    plugins: [
      ...protection.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
      {
        requestDidStart: async () => ({
          // After validation, before execution: nothing has run yet for the operation refused here.
          didResolveOperation: async ({ document, request }) => {
            const unstorable = unstorableInputError(document, request.variables);
            if (unstorable) throw unstorable;
          },
          didEncounterErrors: async ({ errors, contextValue }) => logRefusals(log, errors, contextValue?.viewer?.userId),
        }),
      },
    ],
    validationRules: protection.validationRules,
    allowBatchedHttpRequests: false,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handlers race it and the drain never finishes.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    introspection: !production,
    formatError,
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const db = await isReady(services.orm);
    const ledger = services.balance.stats();
    const ready = db && ledger.healthy;
    res.status(ready ? 200 : 503).json({ ready, database: db, ledger });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics());
  });
  app.use(
    '/graphql',
    express.json({ limit: LIMITS.requestBodyBytesMax }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let viewer: Viewer | null;
        try {
          viewer = await services.auth.fromHeader(req.headers.authorization);
        } catch (err) {
          throw new GraphQLError((err as Error).message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
        }
        return { viewer, services, loaders: createLoaders(services.orm) };
      },
    }),
  );
  app.use(bodyErrors);

  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}/graphql`;
  log.info({ url }, 'GraphQL over HTTP and websocket listening');
  return {
    url,
    port,
    server,
    close: async () => {
      await apollo.stop();
      wsServer.close();
    },
  };
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
