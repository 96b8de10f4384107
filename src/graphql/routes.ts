import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import { isReady } from '../db/orm';
import type { Services } from '../services';

/** The plain HTTP routes beside GraphQL: liveness, readiness and Prometheus metrics. */
export function mountRoutes(app: Express, services: Services): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const db = await isReady(services.orm);
    const ledger = services.balance.stats();
    const ready = db && ledger.healthy;
    res.status(ready ? 200 : 503).json({ ready, database: db, ledger });
  });
  const allowed = metricsAccess(services.config.metricsToken);
  app.get('/metrics', async (req, res) => {
    if (!allowed(req.headers.authorization)) {
      res.status(401).set('www-authenticate', 'Bearer realm="metrics"').type('text/plain').send('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    res.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics());
  });
}

/**
 * Who may read /metrics: anyone when METRICS_TOKEN is unset; otherwise a request whose Authorization
 * is `Bearer <METRICS_TOKEN>`. Compared in constant time over fixed-length digests, so neither the
 * token's characters nor its length leak through response times.
 */
function metricsAccess(token: string | undefined): (header: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (header) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(header?.trim() ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Other instances' forwarded balance operations (clustered mode), answered before express sees the
 * request (the hottest internal path: one round trip per forwarded reserve or settle): the cluster's
 * secret, a bounded body. Returns whether it took the request; undefined when the service runs alone.
 */
export function internalRequestHandler(services: Services): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined {
  const { internal } = services;
  if (!internal) return undefined;
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== internal.path) return false;
    if (!internal.authorized(req.headers.authorization)) {
      res.writeHead(401).end();
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > internal.bodyBytesMax) {
        res.writeHead(413).end();
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > internal.bodyBytesMax) return;
      internal.handleForward(Buffer.concat(chunks)).then(
        (body) => res.writeHead(200, { 'content-type': 'application/x-v8-serialized', 'content-length': body.length }).end(body),
        (err: unknown) => {
          services.log.error({ err }, 'forwarded balance operation failed');
          res.writeHead(500).end();
        },
      );
    });
    return true;
  };
}
