import type { MikroORM } from '@mikro-orm/postgresql';
import { Auth } from './accounts/auth';
import { AccountService } from './accounts/service';
import { verifyLedger } from './balance/ledger';
import { BalanceService } from './balance/service';
import type { ClusterConfig, Config } from './config';
import { ClusteredBalanceService, FORWARD_BODY_BYTES_MAX, FORWARD_BUDGET_MARGIN_MS, INTERNAL_BALANCE_PATH } from './cluster/balance';
import { LEASE_RENEWALS_PER_TTL, Leases, sharedSecret } from './cluster/leases';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded';
import { openOrm } from './db/orm';
import { startHttpServer } from './graphql/server';
import { createLogger, type Logger } from './logger';
import { PubSub, topics } from './realtime/pubsub';
import { RedisBus } from './realtime/redis';
import type { Services } from './services';
import { assertModelRoutes } from './ai/lifecycle';
import { createPricing, type Pricing } from './ai/pricing';
import { createProviders } from './ai/providers';
import { createModelRouter } from './ai/router';
import { GenerationService } from './generation/service';
import { generationWriter } from './generation/store';
import { FlowService } from './flows/service';
import { flowStepWriter } from './flows/store';
import { Meter } from './metering/meter';
import { loadTokenizer } from './ai/tokenizer';
import { brandUsageWriter } from './monitoring/usage-writer';
import { AlertService } from './monitoring/alerts';
import { Metrics } from './monitoring/metrics';
import { PurchaseService } from './purchases/service';
import { purchaseWriter, stripeEventWriter } from './purchases/store';
import { createStripeGateway } from './purchases/gateway';

export interface App {
  /** http://host:port/graphql — also the websocket endpoint (ws://). */
  url: string;
  port: number;
  services: Services;
  /** Stops taking requests, lets running ones finish, commits the journal, closes the database. */
  close(): Promise<void>;
}

export class LedgerMismatchError extends Error {}

/** The one place the service is wired. main.ts and the tests both call it. */
export interface BootstrapOptions {
  log?: Logger;
  /**
   * Builds the meter from its parts. Only bench/generate.ts passes one, to measure what metering
   * costs against a meter that skips it; the service itself always uses the real Meter.
   */
  meterFactory?: (parts: MeterParts) => Meter;
  /**
   * The balance actors' clock (per-minute limits, hold expiry, quota months). Tests pass one to move
   * time past a rate window without waiting for it. @default Date.now
   */
  now?: () => number;
  /**
   * Tests only: the database URL the service connects to is passed through this first, so a test can
   * put a proxy it can cut in front of the embedded database as well as of a server
   * (test/support/pg-proxy.ts). The service itself never sets it.
   */
  connectThrough?: (databaseUrl: string) => Promise<string>;
}

export type MeterParts = ConstructorParameters<typeof Meter>;

export async function bootstrap(config: Config, opts: BootstrapOptions = {}): Promise<App> {
  const log = opts.log ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    // A route to a model without a price or past its end of life stops the start before anything opens.
    const pricing = createPricing(config.pricing);
    assertModelRoutes(config.modelRoutes, pricing, log);
    const orm = await openDatabase(config, log, cleanups, opts.connectThrough);
    await checkBooks(orm, log);
    const cluster = config.cluster && (await joinCluster(config.cluster, config, orm, log, opts.now));
    // Several instances must sign and verify each other's tokens: without JWT_SECRET they share one in the database.
    const jwtSecret = config.jwtSecret ?? (cluster ? await sharedSecret(orm, 'jwt') : undefined);
    const auth = Auth.create({ secret: jwtSecret, dataDir: config.dataDir, ttlSeconds: config.jwtTtlSeconds, log });
    const pubsub = createPubSub(config, log);
    // Closed after the HTTP server (cleanups run in reverse): no subscription is left to feed.
    cleanups.push(() => pubsub.close());
    const balance = cluster?.balance ?? new BalanceService(orm, config.balance, log, opts.now, config.plans);
    const metrics = new Metrics(balance, pubsub);
    cleanups.push(async () => metrics.stop());
    cluster?.balance.onForwarded((op, seconds, outcome) => metrics.forwardSeconds.observe({ op, outcome }, seconds));
    cluster?.leases.onLost(() => metrics.leasesLost.inc());
    const alerts = new AlertService(orm, pubsub, config.monitoring, log);
    // The platform's sweeps (alert retention, expiring grants) run on one instance: the leader.
    alerts.start(cluster ? () => cluster.leases.isLeader : undefined);
    cleanups.push(() => alerts.stop());
    balance.addAttachmentWriter(generationWriter);
    balance.addAttachmentWriter(flowStepWriter);
    balance.addAttachmentWriter(brandUsageWriter);
    balance.addAttachmentWriter(purchaseWriter);
    balance.addAttachmentWriter(stripeEventWriter);
    balance.addListener({
      changed: (userId, snapshot) => pubsub.publish(topics.balance(userId), snapshot),
      committed: (entry) => alerts.onCommitted(entry),
      flushed: (entries, ms) => {
        metrics.flushBatch.observe(entries);
        metrics.flushSeconds.observe(ms / 1_000);
      },
      holdExpired: () => metrics.holdsExpired.inc(),
      quota: (event) => alerts.onQuota(event),
    });
    alerts.addObserver({ raised: (alert) => metrics.alertsRaised.inc({ type: alert.type }) });
    balance.start();
    const balanceStop = () => balance.stop();
    cleanups.push(balanceStop);
    const accounts = new AccountService(orm, auth, config);
    const meter = createMeter(config, balance, pricing, log, opts.meterFactory);
    meter.addObserver({
      called: (provider, model, ms, outcome) => {
        metrics.providerSeconds.observe({ provider, model, outcome }, ms / 1_000);
        if (outcome === 'error') metrics.providerErrors.inc({ provider });
      },
      charged: (call, usage, result) => {
        metrics.tokensCharged.inc({ task: call.taskType, model: usage.model }, result.charged);
        log.info({ userId: call.userId, task: call.taskType, model: usage.model, tokens: usage.totalTokens, charged: result.charged, overage: result.overage, ledgerEntryId: result.entryId }, 'charge');
      },
    });
    const generation = new GenerationService(orm, accounts, balance, meter);
    const flows = new FlowService(orm, accounts, balance, meter, pubsub, log, config.flows, cluster ? cluster.config.instanceId : null);
    await flows.start();
    // Pushed after the balance service, so it stops first: cancelled steps are charged before it stops.
    cleanups.push(() => flows.stop());
    if (!config.stripe) log.info('no STRIPE_SECRET_KEY: purchasing token packages is off (the catalog still lists)');
    const purchases = new PurchaseService(orm, balance, config.stripe && createStripeGateway(config.stripe), log);
    const internal = cluster && {
      path: INTERNAL_BALANCE_PATH,
      bodyBytesMax: FORWARD_BODY_BYTES_MAX,
      authorized: (header: string | undefined) => cluster.balance.authorized(header),
      handleForward: (body: Buffer) => cluster.balance.handleForward(body),
    };
    const services: Services = { config, log, orm, auth, accounts, balance, pubsub, meter, generation, flows, alerts, metrics, purchases, internal };
    const http = await startHttpServer(services);
    cleanups.push(() => http.close());
    if (cluster) {
      // Leases are taken only once this instance can be reached at its address; they are handed over
      // (released, not left to expire) after the balance service committed everything (cleanups run backwards).
      await cluster.leases.start(cluster.config.internalUrl ?? `http://${cluster.config.internalHost}:${http.port}`);
      cleanups.splice(cleanups.indexOf(balanceStop), 0, () => cluster.leases.leave());
      const duty = setInterval(() => {
        if (!cluster.leases.isLeader) return;
        void cluster.leases.buryDead((ids) => flows.failRunsOf(ids)).catch((err) => log.warn({ err }, 'declaring dead instances failed'));
      }, Math.floor(cluster.config.leaseTtlMs / LEASE_RENEWALS_PER_TTL));
      duty.unref();
      cleanups.push(async () => {
        clearInterval(duty);
        await cluster.leases.drain();
      });
      log.info({ instanceId: cluster.config.instanceId, internalUrl: cluster.leases.settings.address }, 'cluster member started');
    }
    return { url: http.url, port: http.port, services, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Clustered (REDIS_URL), live updates travel through Redis to every instance; alone, no Redis connection at all. */
function createPubSub(config: Config, log: Logger): PubSub {
  const cluster = config.cluster;
  if (!cluster) return new PubSub();
  return new PubSub((deliver) => new RedisBus({ url: cluster.redisUrl, prefix: cluster.redisPrefix, instanceId: cluster.instanceId, log }, deliver));
}

function createMeter(config: Config, balance: BalanceService, pricing: Pricing, log: Logger, factory?: (parts: MeterParts) => Meter): Meter {
  const providers = createProviders({
    openai: config.openai,
    anthropic: config.anthropic,
    timeoutMs: config.providerTimeoutMs,
    maxRetries: config.providerRetriesMax,
    log,
  });
  const router = createModelRouter({ openai: !!providers.openai, anthropic: !!providers.anthropic }, config.modelRoutes);
  if (!providers.openai && !providers.anthropic) {
    log.warn('no OPENAI_API_KEY or ANTHROPIC_API_KEY: generations use the offline provider (deterministic, model "offline")');
  }
  loadTokenizer();
  const parts: MeterParts = [balance, providers, router, pricing, log];
  return factory ? factory(parts) : new Meter(...parts);
}

/**
 * PGlite survives kill -9 but never fsyncs: a power loss or a host crash can lose acknowledged charges.
 * It is for trying the service, development and single-node trials; production sets DATABASE_URL.
 */
export const EMBEDDED_IN_PRODUCTION =
  'NODE_ENV=production without DATABASE_URL: using the embedded database (PGlite), which does not fsync; ' +
  'a power loss or host crash can lose acknowledged charges. Set DATABASE_URL to a PostgreSQL server for production.';

async function openDatabase(
  config: Config,
  log: Logger,
  cleanups: Array<() => Promise<void>>,
  connectThrough: BootstrapOptions['connectThrough'],
): Promise<MikroORM> {
  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    if (config.env === 'production') log.warn({ dataDir: config.dataDir }, EMBEDDED_IN_PRODUCTION);
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    cleanups.push(() => embedded!.close());
  }
  const url = config.databaseUrl ?? embedded!.url;
  const orm = await openOrm({ url: connectThrough ? await connectThrough(url) : url, singleConnection: !!embedded, log });
  cleanups.push(() => orm.close());
  return orm;
}

/**
 * Clustered mode: this instance's leases (joined once the server listens) and the balance service that
 * forwards to each balance's owner, with the cluster's internal secret.
 */
async function joinCluster(settings: ClusterConfig, config: Config, orm: MikroORM, log: Logger, now: (() => number) | undefined) {
  const leases = new Leases(orm, { instanceId: settings.instanceId, address: '', ttlMs: settings.leaseTtlMs }, log.child({ instanceId: settings.instanceId }));
  const secret = await sharedSecret(orm, 'internal');
  // An owner unreachable (killed) is asked again until its lease has expired and one more renewal period passed.
  const forwardBudgetMs = settings.leaseTtlMs + FORWARD_BUDGET_MARGIN_MS;
  const balance = new ClusteredBalanceService(orm, config.balance, log, now, config.plans, leases, secret, forwardBudgetMs);
  return { config: settings, leases, balance };
}

/** users.tokens must equal the sum of each user's ledger; starting on broken books would hide it. */
async function checkBooks(orm: MikroORM, log: Logger): Promise<void> {
  const { users, grants, mismatches, grantMismatches, entryMismatches } = await verifyLedger(orm);
  if (mismatches.length + grantMismatches.length + entryMismatches.length > 0) {
    log.fatal(
      { mismatches: mismatches.slice(0, 20), count: mismatches.length, grantMismatches: grantMismatches.slice(0, 20), entryMismatches: entryMismatches.slice(0, 20) },
      'ledger does not match balances',
    );
    throw new LedgerMismatchError(
      `ledger check failed for ${mismatches.length} user(s), ${grantMismatches.length} grant(s), ${entryMismatches.length} entr(ies); run npm run ledger:verify`,
    );
  }
  log.info({ users, grants }, 'ledger check passed: every balance equals the sum of its ledger and of its grants, every grant its burns');
}
