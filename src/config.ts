import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { normalizeEmail } from './accounts/email';
import type { ThrottleConfig } from './accounts/throttle';
import { DEFAULT_MODEL_ROUTES, type ModelRoutes } from './ai/router';
import { BUILT_IN_PLANS, plansSchema, withPlanOverrides, type Plans } from './plans';

/**
 * Every limit of the service, named with its unit last. Values here are defaults; `loadConfig`
 * lets the environment override the ones a deployment needs to tune.
 */
export const LIMITS = {
  /** Largest HTTP request body accepted; larger bodies get 413 before parsing. */
  requestBodyBytesMax: 1_000_000,
  /** Largest websocket message accepted. */
  websocketPayloadBytesMax: 1_000_000,
  /** Deepest selection set a document may have. */
  queryDepthMax: 12,
  /** Most aliases in one document. */
  queryAliasesMax: 30,
  /** Most lexical tokens in one document (parser refuses past it). */
  queryTokensMax: 2_000,
  /** Most directives in one document. */
  queryDirectivesMax: 20,
  /** Cost ceiling of one document (graphql-armor's estimate: nested selections multiply; a page of 100 generations costs about 7,300). */
  queryCostMax: 20_000,
  /** Open websockets one user may have at once; one more is closed with 4429. WEBSOCKETS_PER_USER_MAX. */
  websocketsPerUserMax: 10,
  /** Most concurrent subscriptions on one websocket. */
  subscriptionsPerSocketMax: 20,
  /** Longest string accepted by free-text inputs (messages, briefs). */
  textInputCharsMax: 8_000,
  /** Longest short string input (names, reasons). */
  shortInputCharsMax: 200,
  emailCharsMax: 254,
  /** Longest email input looked at before normalizing (whitespace around an address is trimmed first). */
  emailInputCharsMax: 1_000,
  passwordCharsMin: 8,
  passwordCharsMax: 128,
  idempotencyKeyCharsMax: 128,
  /** Largest page of a connection. */
  pageSizeMax: 100,
  pageSizeDefault: 20,
  /** Brands one user may own. */
  brandsPerUserMax: 100,
  /** Largest single admin grant. */
  grantTokensMax: 100_000_000,
  /** Users one grantTokensBulk may grant to (one group commit at the default FLUSH_BATCH_MAX). */
  grantBulkUsersMax: 1_000,
  /** Grants with tokens left one balance may have (each is kept in memory and burned in order); past it a grant is refused. */
  grantsLivePerUserMax: 1_000,
  /** Furthest a grant's expiry may be set, from now. */
  grantExpiresInMsMax: 10 * 366 * 86_400_000,
  /** Most grants tokenGrants returns (live ones in burn order, then with includeExpired the spent and expired ones, newest first). */
  grantsListedMax: 100,
  /** Flows one user may have running at once (RATE_LIMITED past it); each runs its steps one at a time. */
  flowsPerUserMax: 4,
  /** Flows running in this process at once (SERVICE_UNAVAILABLE past it), so at most this many flow steps call providers. */
  flowsRunningMax: 200,
  /**
   * The last flow slots, kept for users under their fair share: once flowsRunningMax minus this many
   * are taken, a user already holding their share of them is refused (see FlowService.takeSlot).
   */
  flowsFairShareReserve: 20,
  /** Sign-ups from one client address per window (RATE_LIMITED past it). SIGNUP_PER_ADDRESS_MAX / _WINDOW_MS. */
  signUpsPerAddressMax: 10,
  signUpsPerAddressWindowMs: 3_600_000,
  /** Sign-in attempts, right or wrong, from one client address per window. SIGNIN_PER_ADDRESS_MAX / _WINDOW_MS. */
  signInsPerAddressMax: 30,
  signInsPerAddressWindowMs: 60_000,
  /** Failed sign-ins for one email from one address per window (a success clears them). SIGNIN_FAILURES_PER_ADDRESS_EMAIL_MAX. */
  signInFailuresPerAddressEmailMax: 5,
  /** Failed sign-ins for one email from all addresses per window; past it only addresses without failures may try. SIGNIN_FAILURES_PER_EMAIL_MAX. */
  signInFailuresPerEmailMax: 50,
  /** The window of both failure counts. SIGNIN_FAILURES_WINDOW_MS. */
  signInFailuresWindowMs: 900_000,
  /**
   * Keys each of the four sign-in/sign-up limiters remembers (addresses, address-email pairs, emails);
   * the least recently used are forgotten past it. A full limiter held about 30 MB at 100,000 keys of
   * about 40 characters (measured), so about 15 MB each here.
   */
  throttleKeysMax: 50_000,
  /** The window of the per-minute limits of a plan (src/plans.ts): sliding-window counters in the balance actor. */
  rateLimitWindowMs: 60_000,
  /** How long a request may take to drain at shutdown before the server closes it. */
  shutdownDrainMs: 10_000,
  /** Tokens one package may sell. */
  packageTokensMax: 100_000_000,
  /** A package's price in the currency's smallest unit: Stripe's own bounds for a Checkout amount (50 cents in USD; 8 digits). */
  packagePriceCentsMin: 50,
  packagePriceCentsMax: 99_999_999,
  /**
   * Purchases one user may have waiting for payment (PENDING) among those started within
   * pendingPurchasesWindowMs; past it RATE_LIMITED (each opens a Checkout Session at Stripe).
   */
  pendingPurchasesPerUserMax: 20,
  /** Stripe Checkout Sessions expire after 24 hours: older pending purchases no longer count. */
  pendingPurchasesWindowMs: 86_400_000,
  /** Longest success/cancel URL accepted for Checkout. */
  checkoutUrlCharsMax: 2_048,
  /** Largest webhook body read from Stripe (413 past it); Stripe's events are a few kilobytes. */
  webhookBodyBytesMax: 1_000_000,
  /** How old a webhook signature's timestamp may be (replays of older ones get 400). Stripe's default. */
  webhookToleranceSeconds: 300,
  /** Webhook deliveries being handled at once; past it 503 (Stripe retries later). */
  webhooksInFlightMax: 1_000,
  /**
   * Longest a webhook waits for its effect to commit before answering 503 (Stripe then retries; the
   * work goes on and the retry finds it done). Below Stripe's own delivery timeout.
   */
  webhookAnswerMsMax: 15_000,
  /** Per-attempt timeout and retries of calls to Stripe's API. */
  stripeTimeoutMs: 20_000,
  stripeRetriesMax: 2,
} as const;

/** What one password hash costs (argon2id, one thread): memory in KiB and passes over it. */
export interface PasswordHashCost {
  memoryKib: number;
  iterations: number;
}

/**
 * OWASP's argon2id recommendation (19 MiB, 2 passes), also @node-rs/argon2's defaults: about 30 ms
 * of a core per sign-up or sign-in. PASSWORD_HASH_MEMORY_KIB / PASSWORD_HASH_ITERATIONS may raise
 * it; lowering it is refused except under NODE_ENV=test, where hundreds of sign-ups made it a
 * visible share of the suite's CPU. A hash carries its cost, so verifying never depends on this.
 */
export const PASSWORD_HASH_COST: PasswordHashCost = { memoryKib: 19_456, iterations: 2 };

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: intFromEnv(0, 65_535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{0,64}$/, 'REDIS_PREFIX: up to 64 of A-Z a-z 0-9 . _ -').default(''),
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'INSTANCE_ID: 1 to 64 of A-Z a-z 0-9 . _ : -').optional(),
  INTERNAL_URL: z.string().url().optional(),
  LEASE_TTL_MS: intFromEnv(1_000, 600_000).default(5_000),
  DATA_DIR: z.string().default('./data'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: intFromEnv(60, 30 * 24 * 3600).default(7 * 24 * 3600),
  ADMIN_EMAILS: z.string().default(''),
  TRUST_PROXY: intFromEnv(0, 10).default(0),
  METRICS_TOKEN: z
    .string()
    .regex(/^\S{16,}$/, 'METRICS_TOKEN must be at least 16 characters, without spaces')
    .optional(),
  WEBSOCKETS_PER_USER_MAX: intFromEnv(1, 10_000).default(LIMITS.websocketsPerUserMax),
  SIGNUP_PER_ADDRESS_MAX: intFromEnv(1, 1_000_000).default(LIMITS.signUpsPerAddressMax),
  SIGNUP_PER_ADDRESS_WINDOW_MS: intFromEnv(1_000, 86_400_000).default(LIMITS.signUpsPerAddressWindowMs),
  SIGNIN_PER_ADDRESS_MAX: intFromEnv(1, 1_000_000).default(LIMITS.signInsPerAddressMax),
  SIGNIN_PER_ADDRESS_WINDOW_MS: intFromEnv(1_000, 86_400_000).default(LIMITS.signInsPerAddressWindowMs),
  SIGNIN_FAILURES_PER_ADDRESS_EMAIL_MAX: intFromEnv(1, 1_000_000).default(LIMITS.signInFailuresPerAddressEmailMax),
  SIGNIN_FAILURES_PER_EMAIL_MAX: intFromEnv(1, 1_000_000).default(LIMITS.signInFailuresPerEmailMax),
  SIGNIN_FAILURES_WINDOW_MS: intFromEnv(1_000, 86_400_000).default(LIMITS.signInFailuresWindowMs),
  // argon2's own bounds below; anything under PASSWORD_HASH_COST only with NODE_ENV=test (loadConfig).
  PASSWORD_HASH_MEMORY_KIB: intFromEnv(8, 4 * 1024 * 1024).default(PASSWORD_HASH_COST.memoryKib),
  PASSWORD_HASH_ITERATIONS: intFromEnv(1, 100).default(PASSWORD_HASH_COST.iterations),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SIGNUP_GRANT_TOKENS: intFromEnv(0, 1_000_000_000).default(10_000),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_\S+$/, 'STRIPE_SECRET_KEY must be a Stripe secret key (sk_… or rk_…)').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\S+$/, 'STRIPE_WEBHOOK_SECRET must be a webhook signing secret (whsec_…)').optional(),
  STRIPE_API_BASE: z
    .string()
    .url()
    .refine((u) => /^https?:$/.test(new URL(u).protocol), 'STRIPE_API_BASE must be an http(s) URL')
    .default('https://api.stripe.com'),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  PROVIDER_TIMEOUT_MS: intFromEnv(100, 600_000).default(60_000),
  PROVIDER_RETRIES_MAX: intFromEnv(0, 5).default(2),
  RESERVATION_TTL_MS: intFromEnv(1_000, 3_600_000).default(600_000),
  FLUSH_BATCH_MAX: intFromEnv(1, 100_000).default(1_000),
  FLUSH_INTERVAL_MS: intFromEnv(0, 10_000).default(0),
  JOURNAL_DEPTH_MAX: intFromEnv(1, 10_000_000).default(200_000),
  LIVE_ACTORS_MAX: intFromEnv(1, 10_000_000).default(100_000),
  ACTOR_IDLE_MS: intFromEnv(1_000, 86_400_000).default(300_000),
  HOLDS_PER_USER_MAX: intFromEnv(1, 100_000).default(1_000),
  FLOWS_PER_USER_MAX: intFromEnv(1, 1_000).default(LIMITS.flowsPerUserMax),
  FLOWS_RUNNING_MAX: intFromEnv(1, 100_000).default(LIMITS.flowsRunningMax),
  FLOWS_FAIR_SHARE_RESERVE: intFromEnv(0, 100_000).default(LIMITS.flowsFairShareReserve),
  ALERT_RETENTION_HOURS: intFromEnv(1, 24 * 366).default(24),
  LOW_BALANCE_THRESHOLD: intFromEnv(0, 1_000_000_000).default(1_000),
  HIGH_USAGE_THRESHOLD: intFromEnv(1, 1_000_000_000).default(5_000),
  SPIKE_FACTOR: z.coerce.number().min(1).max(1_000).default(5),
  SPIKE_MIN_TOKENS: intFromEnv(1, 1_000_000_000).default(2_000),
  SPIKE_MIN_HISTORY_TOKENS: intFromEnv(0, 1_000_000_000).default(5_000),
  SPIKE_CHECK_INTERVAL_MS: intFromEnv(0, 3_600_000).default(60_000),
  /** JSON object: model id → { inputNanoUsdPerToken, outputNanoUsdPerToken }, over the built-in table. */
  PRICING_JSON: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return {};
      try {
        return pricingSchema.parse(JSON.parse(text));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a pricing table: ${(err as Error).message.slice(0, 200)}` });
        return z.NEVER;
      }
    }),
  /**
   * JSON object: plan name → { monthlyAllowance, requestsPerMinute, tokensPerMinute, brandRequestsPerMinute },
   * each optional, over the built-in plans (src/plans.ts).
   */
  PLANS_JSON: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return BUILT_IN_PLANS;
      try {
        return withPlanOverrides(plansSchema.parse(JSON.parse(text)));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a plan table: ${(err as Error).message.slice(0, 300)}` });
        return z.NEVER;
      }
    }),
  /**
   * JSON object: tier → vendor → model id, over the built-in routes (src/ai/router.ts), e.g.
   * {"strong": {"anthropic": "claude-opus-5-5"}}. Whether each routed model has a price and is not past
   * its end of life is checked at start-up (src/ai/lifecycle.ts).
   */
  MODEL_ROUTES_JSON: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return DEFAULT_MODEL_ROUTES;
      try {
        return withDefaultRoutes(routesSchema.parse(JSON.parse(text)));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a route table: ${(err as Error).message.slice(0, 300)}` });
        return z.NEVER;
      }
    }),
});

/** A vendor's model id as sent in its API: letters, digits and . _ : - (dated snapshots included). */
const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MODEL_ID_CHARS_MAX = 100;
const modelId = z.string().max(MODEL_ID_CHARS_MAX).regex(MODEL_ID_PATTERN, 'a model id such as "gpt-5.4"');
const vendorRoutesSchema = z.strictObject({ openai: modelId.optional(), anthropic: modelId.optional() });
const routesSchema = z.strictObject({ cheap: vendorRoutesSchema.optional(), strong: vendorRoutesSchema.optional() });

function withDefaultRoutes(overrides: z.infer<typeof routesSchema>): ModelRoutes {
  return {
    cheap: { ...DEFAULT_MODEL_ROUTES.cheap, ...overrides.cheap },
    strong: { ...DEFAULT_MODEL_ROUTES.strong, ...overrides.strong },
  };
}

const rates = {
  inputNanoUsdPerToken: z.number().int().nonnegative(),
  outputNanoUsdPerToken: z.number().int().nonnegative(),
};
const priceSchema = z.object({
  ...rates,
  longPrompt: z.object({ promptTokensAbove: z.number().int().nonnegative(), ...rates }).optional(),
});
const pricingSchema = z.record(z.string().min(1), priceSchema);

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  /** Unset: an embedded PostgreSQL (PGlite) whose files live in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  adminEmails: ReadonlySet<string>;
  /** Proxies we run in front of the service: X-Forwarded-For is believed this many hops (graphql/client-address.ts). @default 0 */
  trustProxy: number;
  throttle: ThrottleConfig;
  /** argon2id cost of new password hashes. @default PASSWORD_HASH_COST */
  passwordHashCost: PasswordHashCost;
  /** When set, GET /metrics wants `Authorization: Bearer <it>`. */
  metricsToken: string | undefined;
  /** @default 10 */
  websocketsPerUserMax: number;
  logLevel: Env['LOG_LEVEL'];
  signupGrantTokens: number;
  openai: { apiKey: string; baseURL: string | undefined } | undefined;
  anthropic: { apiKey: string; baseURL: string | undefined } | undefined;
  providerTimeoutMs: number;
  providerRetriesMax: number;
  /** Selling tokens through Stripe Checkout; undefined (no STRIPE_SECRET_KEY): purchasing is off. */
  stripe: StripeConfig | undefined;
  /** Price overrides in integer nano-USD per token, by model id. */
  pricing: Env['PRICING_JSON'];
  /** Tier → vendor → model id: the built-in routes with MODEL_ROUTES_JSON over them. */
  modelRoutes: ModelRoutes;
  balance: BalanceConfig;
  /** The plan table: the built-in plans with PLANS_JSON over them (src/plans.ts). @default BUILT_IN_PLANS */
  plans: Plans;
  monitoring: MonitoringConfig;
  flows: FlowLimits;
  /** Clustered mode (REDIS_URL set): several instances on one PostgreSQL; undefined: this process runs alone. */
  cluster: ClusterConfig | undefined;
}

/** REDIS_URL, INSTANCE_ID, INTERNAL_URL, LEASE_TTL_MS (ARCHITECTURE.md, "Several instances"). */
export interface ClusterConfig {
  redisUrl: string;
  /** Goes into every Redis channel name (`andora:<prefix>:…`), so deployments or test runs can share a Redis. @default '' */
  redisPrefix: string;
  /** This instance's name in cluster_instances and its leases. @default <hostname>-<port>-<random> */
  instanceId: string;
  /** Where the other instances reach this one (forwarded balance operations). @default http://HOST:<the port it listens on> */
  internalUrl: string | undefined;
  /** The host of the default internal URL: HOST, or this machine's name when HOST is a wildcard. */
  internalHost: string;
  /** A lease not renewed for this long is over: another instance may take its balances. @default 5000 */
  leaseTtlMs: number;
}

/** Stripe (src/purchases/): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE. */
export interface StripeConfig {
  secretKey: string;
  /** Verifies POST /webhooks/stripe (the Stripe-Signature header). */
  webhookSecret: string;
  /** Where the SDK sends its requests. @default https://api.stripe.com */
  apiBase: URL;
}

/** How many flows run at once (src/flows/service.ts). */
export interface FlowLimits {
  /** Per user (RATE_LIMITED past it, extensions.limit "flowsPerUser"). @default 4 */
  perUserMax: number;
  /** In this process (SERVICE_UNAVAILABLE past it, extensions.limit "flowsRunning"). @default 200 */
  runningMax: number;
  /** The last slots, for users under their fair share (RATE_LIMITED, "flowsFairShare"); below runningMax. @default 20 */
  fairShareReserve: number;
}

export interface MonitoringConfig {
  /** Alerts older than this are no longer active and are deleted. @default 24 */
  alertRetentionHours: number;
  /** LOW_BALANCE while a balance is below it: raised once (one active per user), resolved when a change lifts it back. @default 1_000 */
  lowBalanceThreshold: number;
  /** HIGH_USAGE for one operation using more tokens than this. @default 5_000 */
  highUsageThreshold: number;
  /** SUSPICIOUS_PATTERN when the last hour's usage exceeds this many times the trailing 7-day hourly average. @default 5 */
  spikeFactor: number;
  /** ... and the last hour used at least this many tokens. @default 2_000 */
  spikeMinTokens: number;
  /** ... and the 7 days before it used at least this many (new users are not flagged). @default 5_000 */
  spikeMinHistoryTokens: number;
  /** A user's usage pattern is checked at most this often. @default 60_000 */
  spikeCheckIntervalMs: number;
}

export interface BalanceConfig {
  /** A hold not settled or released within this time is released automatically. @default 600_000 */
  reservationTtlMs: number;
  /**
   * Most journal entries written by one commit. Past it, the next batch waits ready and is sent the
   * moment this one commits, while this one's requests go on (BENCHMARKS.md). @default 1_000
   */
  flushBatchMax: number;
  /** Extra wait before a flush, to trade latency for larger batches. @default 0 */
  flushIntervalMs: number;
  /** Unflushed entries past which new reservations are refused (SERVICE_UNAVAILABLE). @default 200_000 */
  journalDepthMax: number;
  /** Balances kept in memory; the least recently used idle ones are evicted past it. @default 100_000 */
  liveActorsMax: number;
  /** An actor with no holds and nothing unflushed is evicted after this long unused. @default 300_000 */
  actorIdleMs: number;
  /** Open holds one user may have at once. @default 1_000 */
  holdsPerUserMax: number;
  /**
   * The plan table (PLANS_JSON over the built-in plans): each actor's per-minute limits come from its
   * user's plan. Absent: no per-minute limits (only benchmarks run so, to compare). @default BUILT_IN_PLANS
   */
  plans?: Plans | undefined;
}

export class ConfigError extends Error {}

/** Parses the environment once; a bad value throws a ConfigError that names the variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('invalid environment:\n  JWT_SECRET: required when NODE_ENV=production');
  }
  if (e.FLOWS_FAIR_SHARE_RESERVE >= e.FLOWS_RUNNING_MAX) {
    throw new ConfigError('invalid environment:\n  FLOWS_FAIR_SHARE_RESERVE: must be below FLOWS_RUNNING_MAX');
  }
  if (e.STRIPE_SECRET_KEY && !e.STRIPE_WEBHOOK_SECRET) {
    throw new ConfigError('invalid environment:\n  STRIPE_WEBHOOK_SECRET: required with STRIPE_SECRET_KEY (purchases complete only through verified webhooks)');
  }
  const passwordHashCost = { memoryKib: e.PASSWORD_HASH_MEMORY_KIB, iterations: e.PASSWORD_HASH_ITERATIONS };
  if (e.NODE_ENV !== 'test' && (passwordHashCost.memoryKib < PASSWORD_HASH_COST.memoryKib || passwordHashCost.iterations < PASSWORD_HASH_COST.iterations)) {
    throw new ConfigError(
      `invalid environment:\n  PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_ITERATIONS: below ${PASSWORD_HASH_COST.memoryKib} KiB and ${PASSWORD_HASH_COST.iterations} passes only when NODE_ENV=test`,
    );
  }
  const adminEmails = parseAdminEmails(e.ADMIN_EMAILS, e.NODE_ENV);
  if (e.REDIS_URL && !e.DATABASE_URL) {
    throw new ConfigError(
      'invalid environment:\n  REDIS_URL: clustered mode needs DATABASE_URL, a PostgreSQL server every instance reaches; the embedded database serves one process only',
    );
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    jwtSecret: e.JWT_SECRET,
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    adminEmails,
    trustProxy: e.TRUST_PROXY,
    metricsToken: e.METRICS_TOKEN,
    websocketsPerUserMax: e.WEBSOCKETS_PER_USER_MAX,
    passwordHashCost,
    throttle: {
      signUpsPerAddressMax: e.SIGNUP_PER_ADDRESS_MAX,
      signUpsPerAddressWindowMs: e.SIGNUP_PER_ADDRESS_WINDOW_MS,
      signInsPerAddressMax: e.SIGNIN_PER_ADDRESS_MAX,
      signInsPerAddressWindowMs: e.SIGNIN_PER_ADDRESS_WINDOW_MS,
      signInFailuresPerAddressEmailMax: e.SIGNIN_FAILURES_PER_ADDRESS_EMAIL_MAX,
      signInFailuresPerEmailMax: e.SIGNIN_FAILURES_PER_EMAIL_MAX,
      signInFailuresWindowMs: e.SIGNIN_FAILURES_WINDOW_MS,
      keysMax: LIMITS.throttleKeysMax,
    },
    logLevel: e.LOG_LEVEL,
    signupGrantTokens: e.SIGNUP_GRANT_TOKENS,
    openai: e.OPENAI_API_KEY ? { apiKey: e.OPENAI_API_KEY, baseURL: e.OPENAI_BASE_URL } : undefined,
    anthropic: e.ANTHROPIC_API_KEY ? { apiKey: e.ANTHROPIC_API_KEY, baseURL: e.ANTHROPIC_BASE_URL } : undefined,
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    providerRetriesMax: e.PROVIDER_RETRIES_MAX,
    stripe:
      e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET
        ? { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiBase: new URL(e.STRIPE_API_BASE) }
        : undefined,
    pricing: e.PRICING_JSON,
    modelRoutes: e.MODEL_ROUTES_JSON,
    plans: e.PLANS_JSON,
    monitoring: {
      alertRetentionHours: e.ALERT_RETENTION_HOURS,
      lowBalanceThreshold: e.LOW_BALANCE_THRESHOLD,
      highUsageThreshold: e.HIGH_USAGE_THRESHOLD,
      spikeFactor: e.SPIKE_FACTOR,
      spikeMinTokens: e.SPIKE_MIN_TOKENS,
      spikeMinHistoryTokens: e.SPIKE_MIN_HISTORY_TOKENS,
      spikeCheckIntervalMs: e.SPIKE_CHECK_INTERVAL_MS,
    },
    flows: {
      perUserMax: e.FLOWS_PER_USER_MAX,
      runningMax: e.FLOWS_RUNNING_MAX,
      fairShareReserve: e.FLOWS_FAIR_SHARE_RESERVE,
    },
    cluster: e.REDIS_URL ? clusterConfig(e, e.REDIS_URL) : undefined,
    balance: {
      reservationTtlMs: e.RESERVATION_TTL_MS,
      flushBatchMax: e.FLUSH_BATCH_MAX,
      flushIntervalMs: e.FLUSH_INTERVAL_MS,
      journalDepthMax: e.JOURNAL_DEPTH_MAX,
      liveActorsMax: e.LIVE_ACTORS_MAX,
      actorIdleMs: e.ACTOR_IDLE_MS,
      holdsPerUserMax: e.HOLDS_PER_USER_MAX,
      plans: e.PLANS_JSON,
    },
  };
}

function clusterConfig(e: Env, redisUrl: string): ClusterConfig {
  const wildcard = e.HOST === '0.0.0.0' || e.HOST === '::';
  const host = wildcard ? hostname() : e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return {
    redisUrl,
    redisPrefix: e.REDIS_PREFIX,
    instanceId: e.INSTANCE_ID ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40)}-${e.PORT}-${randomBytes(3).toString('hex')}`,
    internalUrl: e.INTERNAL_URL?.replace(/\/+$/, ''),
    internalHost: host,
    leaseTtlMs: e.LEASE_TTL_MS,
  };
}

/**
 * ADMIN_EMAILS makes whoever signs up first with a listed address an admin: a development
 * convenience only. In production it is refused, not ignored: a deployment that sets it expects it to
 * do something, and the only safe thing it could do there is nothing, so the operator must remove it
 * and use `npm run admin -- promote <email>` instead.
 */
function parseAdminEmails(raw: string, env: Env['NODE_ENV']): ReadonlySet<string> {
  const emails = raw.split(',').map(normalizeEmail).filter(Boolean);
  if (emails.length > 0 && env === 'production') {
    throw new ConfigError(
      'invalid environment:\n  ADMIN_EMAILS: refused when NODE_ENV=production (whoever signs up first with a listed address would become ADMIN); ' +
        'unset it and promote admins with `npm run admin -- promote <email>`',
    );
  }
  const bad = emails.find((email) => !z.email().safeParse(email).success);
  if (bad !== undefined) throw new ConfigError(`invalid environment:\n  ADMIN_EMAILS: not an email address: ${JSON.stringify(bad)}`);
  return new Set(emails);
}
