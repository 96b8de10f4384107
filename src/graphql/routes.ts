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
  app.get('/metrics', async (_req, res) => {
    res.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics());
  });
}
