import { createHash, timingSafeEqual } from 'node:crypto';
import { raw, type Express } from 'express';
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
  const { internal } = services;
  if (internal) {
    // Other instances' forwarded balance operations (clustered mode): the cluster's secret, a bounded body.
    app.post(internal.path, raw({ type: () => true, limit: internal.bodyBytesMax }), async (req, res) => {
      if (!internal.authorized(req.headers.authorization)) {
        res.status(401).end();
        return;
      }
      try {
        res.type('application/x-v8-serialized').send(await internal.handleForward(req.body as Buffer));
      } catch (err) {
        services.log.error({ err }, 'forwarded balance operation failed');
        res.status(500).end();
      }
    });
  }
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
