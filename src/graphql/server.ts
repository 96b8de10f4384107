import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Services } from '../services';
import { createErrorFormatter } from './errors';
import { mountGraphQL, startApollo } from './http';
import { documentRules } from './limits';
import { internalRequestHandler, mountRoutes } from './routes';
import { buildSchema } from './schema';
import { mountStripeWebhook } from './webhooks';
import { startWebSocketServer } from './websocket';

export interface HttpServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Wires the transports onto one port: Apollo over HTTP (http.ts) and graphql-ws (websocket.ts) on
 * /graphql, sharing one schema, one DocumentRules (limits.ts) and one error formatter, plus the plain
 * routes (routes.ts).
 */
export async function startHttpServer(services: Services): Promise<HttpServer> {
  const { config, log } = services;
  const schema = buildSchema();
  const production = config.env === 'production';
  const rules = documentRules(production);
  const formatError = createErrorFormatter(log, { production, hideSuggestions: rules.hideSuggestions }, (code) => services.metrics.refusals.inc({ code }));
  const app = express();
  const internal = internalRequestHandler(services);
  const server = createServer(internal ? (req, res) => void (internal(req, res) || app(req, res)) : app);
  const webSocket = startWebSocketServer({ server, schema, services, rules, formatError });
  const apollo = await startApollo({ server, schema, services, rules, formatError, webSocket });
  mountRoutes(app, services);
  mountStripeWebhook(app, services);
  mountGraphQL(app, apollo, services);

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
      webSocket.close();
    },
  };
}
