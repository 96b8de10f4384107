import { defineEntity, type InferEntity } from '@mikro-orm/core';

/**
 * The entities MikroORM maps. Column types and constraints are owned by the migrations in
 * ../../migrations; every table and each column's name, type, nullability and default must agree
 * with them (test/entities-schema.test.ts compares them as `schema:update` would; foreign keys,
 * checks and indexes are the migrations' alone).
 *
 * Token amounts are `bigint` in PostgreSQL and safe-integer numbers here: they are asserted
 * safe when read (see balance/invariants.ts).
 */
const p = defineEntity.properties;

const timestamps = {
  createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .defaultRaw('now()')
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};

export const ROLES = ['USER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    email: p.string().unique(),
    passwordHash: p.string().hidden(),
    /** Settled balance. Written by the balance flusher only, fenced by balanceVersion. */
    tokens: p.bigint('number').default(10_000),
    /** Fence for balance writes: every flush must name the version it read. */
    balanceVersion: p.bigint('number').default(0),
    /** The epoch of the lease the balance was last loaded under (clustered mode; 0 alone): every flush names it. */
    balanceEpoch: p.bigint('number').default(0),
    plan: p.string().default('free'),
    /** setUserPlan's plan, taking effect at the first activity in pendingPlanFrom (yyyy-mm) or later. */
    pendingPlan: p.string().nullable(),
    pendingPlanFrom: p.string().length(7).nullable(),
    role: p.enum([...ROLES]).default('USER'),
    ...timestamps,
  },
});
export type IUser = InferEntity<typeof User>;

export const Brand = defineEntity({
  name: 'Brand',
  tableName: 'brands',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    owner: p.manyToOne(User).index(),
    name: p.string(),
    description: p.text().nullable(),
    industry: p.string().nullable(),
    audience: p.text().nullable(),
    ...timestamps,
  },
});
export type IBrand = InferEntity<typeof Brand>;

/** REVOKE: tokens a payment refund takes back (src/purchases/), never more than is available. */
export const LEDGER_KINDS = ['GRANT', 'CHARGE', 'REFUND', 'ADJUST', 'EXPIRE', 'REVOKE'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * The append-only token ledger. `amount` is signed (a GRANT adds, a CHARGE subtracts), so for every
 * user `users.tokens == sum(amount)` at every commit. Rows are written in batches by the flusher.
 */
export const LedgerEntry = defineEntity({
  name: 'LedgerEntry',
  tableName: 'token_ledger',
  properties: {
    id: p.uuid().primary(),
    /** Commit order; the ledger connection's cursor. */
    seq: p.bigint('number').autoincrement().unique(),
    user: p.manyToOne(User),
    kind: p.enum([...LEDGER_KINDS]),
    amount: p.bigint('number'),
    balanceAfter: p.bigint('number'),
    brandId: p.uuid().nullable(),
    taskType: p.string().nullable(),
    model: p.string().nullable(),
    promptTokens: p.integer().default(0),
    completionTokens: p.integer().default(0),
    costNanoUsd: p.bigint('number').default(0),
    idempotencyKey: p.string().nullable(),
    holdId: p.uuid().nullable(),
    metadata: p.json<Record<string, unknown>>().default('{}'),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type ILedgerEntry = InferEntity<typeof LedgerEntry>;

export const GRANT_SOURCE_VALUES = ['SIGNUP', 'ALLOWANCE', 'PROMOTION', 'PURCHASE', 'ADMIN', 'REFUND'] as const;

/**
 * The priority a grant gets when none is given (lower burns first): allowances first (they reset
 * monthly), then promotions, the sign-up and admin grants, refunds, and purchased tokens last (paid
 * for, never expiring). Here, beside the sources, so sign-up (accounts) and the balance agree.
 */
export const DEFAULT_GRANT_PRIORITY: Readonly<Record<(typeof GRANT_SOURCE_VALUES)[number], number>> = {
  ALLOWANCE: 10,
  PROMOTION: 20,
  SIGNUP: 50,
  ADMIN: 50,
  REFUND: 60,
  PURCHASE: 100,
};

/**
 * A credit grant (migration 50): a balance is the sum of its grants' remaining. Written by the
 * balance flusher (and sign-up), in the ledger's statement; see src/balance/grants.ts.
 */
export const TokenGrant = defineEntity({
  name: 'TokenGrant',
  tableName: 'token_grants',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid(),
    source: p.enum([...GRANT_SOURCE_VALUES]),
    amount: p.bigint('number'),
    remaining: p.bigint('number'),
    priority: p.integer(),
    expiresAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    reason: p.text().default(''),
    idempotencyKey: p.string().nullable(),
    ledgerEntryId: p.uuid().nullable(),
    expiredAt: p.datetime().nullable(),
    /** When the "expires in 3 days" alert was raised for it (once per grant). */
    expiryAlertedAt: p.datetime().nullable(),
  },
});
export type ITokenGrant = InferEntity<typeof TokenGrant>;

/**
 * What a ledger entry took from a grant (amount > 0) or gave back to it (amount < 0, a refund), so
 * every grant's remaining is its amount minus its burns (migration 50). Written by the flusher.
 */
export const LedgerGrantBurn = defineEntity({
  name: 'LedgerGrantBurn',
  tableName: 'ledger_grant_burns',
  properties: {
    ledgerEntryId: p.uuid().primary(),
    grantId: p.uuid().primary(),
    amount: p.bigint('number'),
  },
});
export type ILedgerGrantBurn = InferEntity<typeof LedgerGrantBurn>;

export const GENERATION_STATUSES = ['COMPLETED', 'PARTIAL'] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];

/** What a generation produced, linked to the ledger entry that charged for it. */
export const Generation = defineEntity({
  name: 'Generation',
  tableName: 'generations',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid().index(),
    brandId: p.uuid(),
    ledgerEntryId: p.uuid(),
    taskType: p.string().length(64),
    status: p.enum([...GENERATION_STATUSES]),
    model: p.string(),
    promptTokens: p.integer(),
    completionTokens: p.integer(),
    costNanoUsd: p.bigint('number'),
    idempotencyKey: p.string().nullable(),
    /** Set with idempotencyKey: the fingerprint of the request the key was sent with (src/idempotency.ts). */
    requestFingerprint: p.string().length(64).nullable(),
    output: p.json<unknown>(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type IGeneration = InferEntity<typeof Generation>;

/** Tokens charged per brand, day and task: written in the ledger's commit, read by analytics. */
export const BrandTokenUsage = defineEntity({
  name: 'BrandTokenUsage',
  tableName: 'brand_token_usage',
  properties: {
    brandId: p.uuid().primary(),
    usageDate: p.string().primary().columnType('date'),
    taskType: p.string().length(64).primary(),
    tokens: p.bigint('number').default(0),
    requests: p.integer().default(0),
    costNanoUsd: p.bigint('number').default(0),
    metadata: p.json<Record<string, unknown>>().default('{}'),
  },
});
export type IBrandTokenUsage = InferEntity<typeof BrandTokenUsage>;

export const ALERT_TYPES = ['NEGATIVE_BALANCE', 'LOW_BALANCE', 'HIGH_USAGE', 'SUSPICIOUS_PATTERN', 'GRANT_EXPIRING', 'REFUND_DEFICIT', 'QUOTA_WARNING', 'QUOTA_EXCEEDED'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];
export const ALERT_SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const TokenAlert = defineEntity({
  name: 'TokenAlert',
  tableName: 'token_alerts',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid(),
    type: p.enum([...ALERT_TYPES]),
    severity: p.enum([...ALERT_SEVERITIES]),
    message: p.text(),
    details: p.json<Record<string, unknown>>().default('{}'),
    createdAt: p.datetime().defaultRaw('now()'),
    /** When the condition ended (LOW_BALANCE only); null while it lasts and for one-off alerts. */
    resolvedAt: p.datetime().nullable(),
  },
});
export type ITokenAlert = InferEntity<typeof TokenAlert>;

export const FLOW_RUN_STATUSES = ['RUNNING', 'FINISHED', 'FAILED', 'CANCELLED'] as const;
export type FlowRunStatus = (typeof FLOW_RUN_STATUSES)[number];
export const FLOW_STEP_STATUSES = ['PENDING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', 'SKIPPED'] as const;
export type FlowStepStatus = (typeof FLOW_STEP_STATUSES)[number];

/** One run of a multi-agent flow for a brand; its steps are flow_steps. */
export const FlowRun = defineEntity({
  name: 'FlowRun',
  tableName: 'flow_runs',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid(),
    brandId: p.uuid(),
    kind: p.string().length(64),
    status: p.enum([...FLOW_RUN_STATUSES]),
    input: p.json<Record<string, unknown>>(),
    error: p.text().nullable(),
    /** The step (from 1) whose failure failed the run. */
    failedStep: p.integer().nullable(),
    /** The instance running it (clustered mode), so a survivor fails the runs of a dead instance. */
    instanceId: p.text().nullable(),
    /** Set by the service, in milliseconds, so the (created_at, id) cursor round-trips exactly. */
    createdAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
  },
});
export type IFlowRun = InferEntity<typeof FlowRun>;

/**
 * One agent call of a flow run. A finished step is written in the same commit as its charge (the
 * flow step attachment), so its ledger entry, generation and usage never disagree with the ledger.
 */
export const FlowStep = defineEntity({
  name: 'FlowStep',
  tableName: 'flow_steps',
  properties: {
    flowRunId: p.uuid().primary(),
    /** Position in the run, from 1. */
    index: p.integer().primary(),
    agent: p.string().length(64),
    taskType: p.string().length(64),
    status: p.enum([...FLOW_STEP_STATUSES]),
    generationId: p.uuid().nullable(),
    ledgerEntryId: p.uuid().nullable(),
    model: p.string().nullable(),
    promptTokens: p.integer().default(0),
    completionTokens: p.integer().default(0),
    costNanoUsd: p.bigint('number').default(0),
    output: p.json<unknown>().nullable(),
    error: p.text().nullable(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});
export type IFlowStep = InferEntity<typeof FlowStep>;

export const ROLE_CHANGE_CHANNELS = ['CLI', 'API', 'SIGNUP'] as const;
export type RoleChangeChannel = (typeof ROLE_CHANGE_CHANNELS)[number];

/** Who changed a user's role, when, and through which channel (migration 21). Written by accounts/roles.ts. */
export const UserRoleChange = defineEntity({
  name: 'UserRoleChange',
  tableName: 'user_role_changes',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid(),
    /** Null for a role given at sign-up. */
    oldRole: p.enum([...ROLES]).nullable(),
    newRole: p.enum([...ROLES]),
    channel: p.enum([...ROLE_CHANGE_CHANNELS]),
    /** The admin's user id, for the API channel. */
    changedBy: p.uuid().nullable(),
    /** The operating-system account that ran the CLI, for the CLI channel. */
    cliUser: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type IUserRoleChange = InferEntity<typeof UserRoleChange>;

/**
 * A brand's monthly token quota (migration 70). Written by setBrandQuota and adopted by the owner's
 * balance actor by version (src/balance/service.ts); monthlyTokens null means no quota. The months
 * record which alerts were raised (src/monitoring/alerts.ts).
 */
export const BrandQuota = defineEntity({
  name: 'BrandQuota',
  tableName: 'brand_quotas',
  properties: {
    brandId: p.uuid().primary(),
    userId: p.uuid(),
    monthlyTokens: p.bigint('number').nullable(),
    version: p.bigint('number').default(1),
    warnedMonth: p.string().columnType('date').nullable(),
    exceededMonth: p.string().columnType('date').nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type IBrandQuota = InferEntity<typeof BrandQuota>;

/** A token package of the catalog (migration 60). Never deleted once sold, only deactivated. */
export const TokenPackage = defineEntity({
  name: 'TokenPackage',
  tableName: 'token_packages',
  properties: {
    /** Chosen by the admin: lower-case letters, digits, - and _, e.g. "starter". */
    id: p.string().primary().columnType('text'),
    name: p.text(),
    tokens: p.bigint('number'),
    /** In the currency's smallest unit (cents for USD), as Stripe takes it. */
    priceCents: p.integer(),
    /** ISO 4217, lower case, as Stripe writes it. */
    currency: p.text(),
    active: p.boolean().default(true),
    ...timestamps,
  },
});
export type ITokenPackage = InferEntity<typeof TokenPackage>;

export const PURCHASE_STATUSES = ['PENDING', 'COMPLETED', 'EXPIRED', 'REFUNDED', 'PARTIALLY_REFUNDED'] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];

/**
 * One Checkout Session for a package. Its COMPLETED status is written in the commit of its grant
 * (src/purchases/store.ts); tokens, amount and currency are the package's at purchase time.
 */
export const TokenPurchase = defineEntity({
  name: 'TokenPurchase',
  tableName: 'token_purchases',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid(),
    packageId: p.text(),
    tokens: p.bigint('number'),
    amountCents: p.integer(),
    currency: p.text(),
    status: p.enum([...PURCHASE_STATUSES]),
    idempotencyKey: p.string().nullable(),
    requestFingerprint: p.text().nullable(),
    checkoutSessionId: p.text().nullable().unique(),
    checkoutUrl: p.text().nullable(),
    paymentIntentId: p.text().nullable(),
    /** The ledger entry that granted the tokens. */
    grantEntryId: p.uuid().nullable(),
    /** The most Stripe has reported refunded (charge.amount_refunded is cumulative). */
    refundedCents: p.integer().default(0),
    /** Tokens the refunds asked back (their share of `tokens`), taken or not. */
    revokedTokens: p.bigint('number').default(0),
    /** Of revokedTokens, what had already been spent and could not be taken back. */
    deficitTokens: p.bigint('number').default(0),
    /** Set by the service, in milliseconds, so the (created_at, id) cursor round-trips exactly. */
    createdAt: p.datetime(),
    completedAt: p.datetime().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type ITokenPurchase = InferEntity<typeof TokenPurchase>;

/** A Stripe webhook event we acted on, by its id: a redelivery finds it and does nothing. */
export const StripeEvent = defineEntity({
  name: 'StripeEvent',
  tableName: 'stripe_events',
  properties: {
    id: p.text().primary(),
    type: p.text(),
    purchaseId: p.uuid().nullable(),
    ledgerEntryId: p.uuid().nullable(),
    receivedAt: p.datetime().defaultRaw('now()'),
  },
});
export type IStripeEvent = InferEntity<typeof StripeEvent>;

export const CLUSTER_INSTANCE_STATES = ['LIVE', 'DRAINING', 'GONE'] as const;

/** An instance in clustered mode; its leases last while it is LIVE or DRAINING and not expired. */
export const ClusterInstance = defineEntity({
  name: 'ClusterInstance',
  tableName: 'cluster_instances',
  properties: {
    id: p.text().primary(),
    address: p.text(),
    state: p.enum([...CLUSTER_INSTANCE_STATES]).default('LIVE'),
    startedAt: p.datetime().defaultRaw('now()'),
    expiresAt: p.datetime(),
  },
});

/** Which instance owns a user's balance, under which epoch (src/cluster/leases.ts). */
export const BalanceLease = defineEntity({
  name: 'BalanceLease',
  tableName: 'balance_leases',
  properties: {
    userId: p.uuid().primary(),
    instanceId: p.text(),
    epoch: p.bigint('number'),
    acquiredAt: p.datetime().defaultRaw('now()'),
  },
});

/** Secrets every instance shares, created by the first to start. */
export const ClusterSecret = defineEntity({
  name: 'ClusterSecret',
  tableName: 'cluster_secrets',
  properties: {
    name: p.text().primary(),
    secret: p.text(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});

export const ENTITIES = [User, Brand, LedgerEntry, TokenGrant, LedgerGrantBurn, Generation, BrandTokenUsage, TokenAlert, FlowRun, FlowStep, UserRoleChange, BrandQuota, TokenPackage, TokenPurchase, StripeEvent, ClusterInstance, BalanceLease, ClusterSecret];
