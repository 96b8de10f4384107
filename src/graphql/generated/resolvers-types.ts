import { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import { UserModel, BrandModel, BalanceModel, GrantModel, LedgerEntryModel, AlertModel, GenerationModel, FlowRunModel, FlowStepModel, FlowEventModel, TokenPackageModel, TokenPurchaseModel } from '../models';
import { GraphQLContext } from '../context';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO-8601 timestamp. */
  DateTime: { input: Date; output: Date; }
  /** Arbitrary JSON. */
  JSON: { input: Record<string, unknown>; output: Record<string, unknown>; }
};

export type AlertSeverity =
  | 'CRITICAL'
  | 'INFO'
  | 'WARNING';

export type AlertType =
  /** A grant of at least 1,000 tokens expires within three days (once per grant; details: grantId, remaining, expiresAt). */
  | 'GRANT_EXPIRING'
  /** One operation used more tokens than the high-usage threshold. */
  | 'HIGH_USAGE'
  /** The balance is below the low-balance threshold: raised by the first change that leaves it below (when no low-balance alert is active), active while it stays below, resolved (resolvedAt) by a change that lifts it to the threshold or above; falling below again raises a new one. */
  | 'LOW_BALANCE'
  /** Usage the balance could not cover was recorded (the balance itself never goes below zero). */
  | 'NEGATIVE_BALANCE'
  /** A generation was refused because a brand's quota could not cover it (once per brand and month); details.brandId names it. */
  | 'QUOTA_EXCEEDED'
  /** A brand's usage this month reached 80% of its quota (once per brand and month); details.brandId names it. */
  | 'QUOTA_WARNING'
  /** A payment refund asked back purchased tokens that were already spent: the rest is recorded as the purchase's deficit. */
  | 'REFUND_DEFICIT'
  /** The last hour's usage is far above the user's usual hourly average. */
  | 'SUSPICIOUS_PATTERN';

export type AuthPayload = {
  __typename?: 'AuthPayload';
  /** A bearer token for the Authorization header and the websocket's connectionParams. */
  token: Scalars['String']['output'];
  user: User;
};

export type Brand = {
  __typename?: 'Brand';
  audience?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  /** What was generated for this brand, newest first. first: 1 to 100 (default 20). */
  generations: GenerationConnection;
  id: Scalars['ID']['output'];
  industry?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  /** The brand's monthly token quota; null when it has none. */
  quota?: Maybe<BrandQuota>;
  /** Tokens this brand's generations used over the last days (1 to 366, default 7), UTC days. */
  tokenUsage: TokenUsage;
};


export type BrandGenerationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type BrandTokenUsageArgs = {
  days?: InputMaybe<Scalars['Int']['input']>;
};

/** A brand's monthly token quota. Months are calendar months, UTC. */
export type BrandQuota = {
  __typename?: 'BrandQuota';
  monthlyTokens: Scalars['Int']['output'];
  /** monthlyTokens - used - reserved, at least 0: the largest generation the quota admits now. */
  remaining: Scalars['Int']['output'];
  /** Held by the brand's generations in progress. */
  reserved: Scalars['Int']['output'];
  /** The start of next month (UTC), when used starts again from 0. */
  resetsAt: Scalars['DateTime']['output'];
  /** Charged to the brand's generations this month. */
  used: Scalars['Int']['output'];
};

export type BulkGrant = {
  __typename?: 'BulkGrant';
  balance: TokenBalance;
  grant: TokenGrant;
  /** True when this user's grant was made by an earlier call with the same idempotencyKey. */
  replayed: Scalars['Boolean']['output'];
  userId: Scalars['ID']['output'];
};

export type BuyerProfile = {
  __typename?: 'BuyerProfile';
  buyingTriggers: Array<Scalars['String']['output']>;
  needs: Array<Scalars['String']['output']>;
  objections: Array<Scalars['String']['output']>;
  segment: Scalars['String']['output'];
  summary: Scalars['String']['output'];
};

export type CalendarEntry = {
  __typename?: 'CalendarEntry';
  channel: Scalars['String']['output'];
  /** YYYY-MM-DD, as the model wrote it. */
  date: Scalars['String']['output'];
  summary: Scalars['String']['output'];
  title: Scalars['String']['output'];
};

export type CancelFlowInput = {
  flowRunId: Scalars['ID']['input'];
};

export type CancelFlowPayload = {
  __typename?: 'CancelFlowPayload';
  /** The run once it has ended: CANCELLED, or as it was if it had already ended. */
  flowRun: FlowRun;
};

export type CastMember = {
  __typename?: 'CastMember';
  name: Scalars['String']['output'];
  reason: Scalars['String']['output'];
  /** The character's part in the scene. */
  role: Scalars['String']['output'];
};

export type Character = {
  __typename?: 'Character';
  backstory: Scalars['String']['output'];
  name: Scalars['String']['output'];
  role: Scalars['String']['output'];
  traits: Array<Scalars['String']['output']>;
};

export type ChatWithAndoraInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** 1 to 8,000 characters. */
  message: Scalars['String']['input'];
};

export type ChatWithAndoraPayload = {
  __typename?: 'ChatWithAndoraPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  /** Under about 250 words. */
  reply: Scalars['String']['output'];
  usage: GenerationUsage;
};

export type ChatWithAndoraStreamInput = {
  brandId: Scalars['ID']['input'];
  /** 1 to 8,000 characters. */
  message: Scalars['String']['input'];
};

export type ContentBrief = {
  __typename?: 'ContentBrief';
  callToAction: Scalars['String']['output'];
  keyMessages: Array<Scalars['String']['output']>;
  objective: Scalars['String']['output'];
  title: Scalars['String']['output'];
};

export type ContentStrategy = {
  __typename?: 'ContentStrategy';
  cadence: Scalars['String']['output'];
  channels: Array<Scalars['String']['output']>;
  pillars: Array<Scalars['String']['output']>;
  summary: Scalars['String']['output'];
};

export type CreateBrandInput = {
  audience?: InputMaybe<Scalars['String']['input']>;
  description?: InputMaybe<Scalars['String']['input']>;
  industry?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
};

export type CreateBrandPayload = {
  __typename?: 'CreateBrandPayload';
  brand: Brand;
};

export type DailyUsage = {
  __typename?: 'DailyUsage';
  /** YYYY-MM-DD (UTC). */
  date: Scalars['String']['output'];
  tokens: Scalars['Int']['output'];
};

export type ExpandBriefInput = {
  brandId: Scalars['ID']['input'];
  /** 1 to 8,000 characters. */
  brief: Scalars['String']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type ExpandBriefPayload = {
  __typename?: 'ExpandBriefPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  /** A full creative brief in markdown, under about 800 words. */
  expandedBrief: Scalars['String']['output'];
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type ExpandBriefStreamInput = {
  brandId: Scalars['ID']['input'];
  /** 1 to 8,000 characters. */
  brief: Scalars['String']['input'];
};

export type ExpiringTokens = {
  __typename?: 'ExpiringTokens';
  amount: Scalars['Int']['output'];
  expiresAt: Scalars['DateTime']['output'];
};

/** The agent a step runs; also the taskType of the step's ledger entry and stored generation. */
export type FlowAgent =
  | 'BRIEF_EXPANDER'
  | 'CALENDAR_GENERATOR'
  | 'CHARACTER_GENERATOR'
  | 'SCENE_WRITER'
  | 'SEASON_PLOT'
  | 'SUBPLOT_WRITER'
  | 'WEEKLY_DISTRIBUTION';

export type FlowEventType =
  /** The last event; carries what the run was charged, the cancelled step included. */
  | 'FLOW_CANCELLED'
  /** The last event; carries what the run was charged before it failed. */
  | 'FLOW_FAILED'
  /** The last event; carries the run's total usage. */
  | 'FLOW_FINISHED'
  /** Always first: the run as it stands when the subscription starts, so a late subscriber misses nothing. The last event when the run has already ended. */
  | 'STATE'
  | 'STEP_FAILED'
  /** Carries the step's usage. */
  | 'STEP_FINISHED'
  | 'STEP_STARTED';

export type FlowKind =
  /** SeasonPlot writes the brand's overarching narrative. */
  | 'BRAND_NARRATIVE'
  /** CalendarGenerator plans the month, then WeeklyDistribution schedules each of its weeks: 1 + 4 or 5 steps. */
  | 'CALENDAR_BATCH'
  /** CharacterGenerator creates characters unlike the brand's existing ones. */
  | 'CHARACTER'
  /** CharacterGenerator refines one character. */
  | 'CHARACTER_REFINEMENT'
  /** SceneWriter writes a piece of content. */
  | 'CONTENT'
  /** SceneWriter rewrites a piece of content. */
  | 'CONTENT_REFINEMENT'
  /** ExpandBrief grows a brief into a full creative brief. */
  | 'EXPAND_BRIEF'
  /** SeasonPlot outlines a month's plot. */
  | 'MONTHLY_PLOT'
  /** SeasonPlot proposes a season's theme. */
  | 'SEASON_THEME'
  /** SubplotWriter outlines one week's subplot. */
  | 'WEEKLY_SUBPLOT';

export type FlowProgressEvent = {
  __typename?: 'FlowProgressEvent';
  /** The run right after this event. */
  flowRun: FlowRun;
  /** The step the event is about: STEP_* events, and the step that ended a FAILED or CANCELLED run. */
  step?: Maybe<FlowStep>;
  type: FlowEventType;
  /** STEP_FINISHED: that step's usage. FLOW_*: the run's total. */
  usage?: Maybe<FlowUsage>;
};

export type FlowRun = {
  __typename?: 'FlowRun';
  brand: Brand;
  createdAt: Scalars['DateTime']['output'];
  /** Why the run failed (naming the step and its agent) or was cancelled. */
  error?: Maybe<Scalars['String']['output']>;
  /** The index of the step that failed the run. */
  failedStep?: Maybe<Scalars['Int']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** The flow's input as it was run (trimmed, with defaults). */
  input: Scalars['JSON']['output'];
  kind: FlowKind;
  status: FlowRunStatus;
  /** Every step of the run in order, from the start (PENDING until they run). */
  steps: Array<FlowStep>;
  /** What the run has been charged so far: the sum of its steps' usage (the finished ones and a cancelled one). */
  usage: FlowUsage;
};

export type FlowRunConnection = {
  __typename?: 'FlowRunConnection';
  edges: Array<FlowRunEdge>;
  pageInfo: PageInfo;
};

export type FlowRunEdge = {
  __typename?: 'FlowRunEdge';
  cursor: Scalars['String']['output'];
  node: FlowRun;
};

export type FlowRunStatus =
  /** Cancelled (or stopped by a shutdown): the running step was aborted and charged like a stopped stream (its prompt and what it had produced); the steps after it never ran. */
  | 'CANCELLED'
  /** A step failed: error names it; the steps before it stay charged and stored. */
  | 'FAILED'
  | 'FINISHED'
  | 'RUNNING';

export type FlowStep = {
  __typename?: 'FlowStep';
  agent: FlowAgent;
  /** Why the step failed. */
  error?: Maybe<Scalars['String']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The stored generation, once FINISHED (PARTIAL for a step cancelled after it produced text). */
  generationId?: Maybe<Scalars['ID']['output']>;
  /** Position in the run, from 1. */
  index: Scalars['Int']['output'];
  /** The ledger entry that charged this step, with usage. */
  ledgerEntryId?: Maybe<Scalars['ID']['output']>;
  /** What the agent produced, once FINISHED (CANCELLED: what it had produced before the cancel, if anything). An object whose shape depends on the agent: SCENE_WRITER {title body callToAction}, CHARACTER_GENERATOR {characters}, SEASON_PLOT {title synopsis beats keywords}, SUBPLOT_WRITER {title synopsis beats}, CALENDAR_GENERATOR {entries}, WEEKLY_DISTRIBUTION {slots}, BRIEF_EXPANDER {brief}. */
  output?: Maybe<Scalars['JSON']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: FlowStepStatus;
  /** The exact usage this step was charged: once FINISHED, once CANCELLED after its model call had started (the prompt and the output produced before the cancel), or once FAILED after the provider reported usage before failing (what it reported). */
  usage?: Maybe<GenerationUsage>;
};

export type FlowStepStatus =
  | 'CANCELLED'
  | 'FAILED'
  | 'FINISHED'
  | 'PENDING'
  | 'RUNNING'
  /** Never started, because the run failed or was cancelled first. */
  | 'SKIPPED';

/** Tokens summed over steps. */
export type FlowUsage = {
  __typename?: 'FlowUsage';
  completionTokens: Scalars['Int']['output'];
  costUsd: Scalars['Float']['output'];
  promptTokens: Scalars['Int']['output'];
  /** promptTokens + completionTokens: what the steps were charged. */
  totalTokens: Scalars['Int']['output'];
};

export type GenerateBuyerProfileInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** Optional. The customer segment to profile; the model picks the most valuable one without it. At most 200 characters. */
  segment?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateBuyerProfilePayload = {
  __typename?: 'GenerateBuyerProfilePayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  buyerProfile: BuyerProfile;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type GenerateCalendarEntryInput = {
  brandId: Scalars['ID']['input'];
  /** Optional. At most 200 characters. */
  channel?: InputMaybe<Scalars['String']['input']>;
  /** YYYY-MM-DD, a real day. */
  date: Scalars['String']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** Optional. At most 200 characters. */
  topic?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateCalendarEntryPayload = {
  __typename?: 'GenerateCalendarEntryPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  entry: CalendarEntry;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type GenerateCalendarInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** YYYY-MM. */
  month: Scalars['String']['input'];
  /** 1 to 14. */
  postsPerWeek?: InputMaybe<Scalars['Int']['input']>;
};

export type GenerateCalendarPayload = {
  __typename?: 'GenerateCalendarPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  /** The month's posts in date order; summaries get shorter as the post count grows. */
  entries: Array<CalendarEntry>;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type GenerateCharactersInput = {
  brandId: Scalars['ID']['input'];
  /** How many characters: 1 to 8. */
  count?: InputMaybe<Scalars['Int']['input']>;
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateCharactersPayload = {
  __typename?: 'GenerateCharactersPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  characters: Array<Character>;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type GenerateContentBriefInput = {
  brandId: Scalars['ID']['input'];
  /** Optional, e.g. instagram or blog. At most 200 characters. */
  channel?: InputMaybe<Scalars['String']['input']>;
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** 1 to 200 characters. */
  topic: Scalars['String']['input'];
};

export type GenerateContentBriefPayload = {
  __typename?: 'GenerateContentBriefPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  brief: ContentBrief;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type GenerateContentStrategyInput = {
  brandId: Scalars['ID']['input'];
  /** Optional. The goal the strategy serves. At most 200 characters. */
  goal?: InputMaybe<Scalars['String']['input']>;
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateContentStrategyPayload = {
  __typename?: 'GenerateContentStrategyPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  contentStrategy: ContentStrategy;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type GenerateMissionInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateMissionPayload = {
  __typename?: 'GenerateMissionPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  /** One or two sentences. */
  mission: Scalars['String']['output'];
  usage: GenerationUsage;
};

export type GenerateMonthlyPlotInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** YYYY-MM. */
  month: Scalars['String']['input'];
  /** Optional. At most 200 characters. */
  theme?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateMonthlyPlotPayload = {
  __typename?: 'GenerateMonthlyPlotPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  plot: Plot;
  usage: GenerationUsage;
};

export type GenerateMonthlyThemeInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** YYYY-MM. */
  month: Scalars['String']['input'];
};

export type GenerateMonthlyThemePayload = {
  __typename?: 'GenerateMonthlyThemePayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  theme: MonthlyTheme;
  usage: GenerationUsage;
};

export type GenerateNarrativePrefillInput = {
  brandId: Scalars['ID']['input'];
  /** Optional. What the draft should take into account. At most 8,000 characters. */
  context?: InputMaybe<Scalars['String']['input']>;
  /** The narrative field to draft, e.g. tagline. 1 to 200 characters. */
  field: Scalars['String']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateNarrativePrefillPayload = {
  __typename?: 'GenerateNarrativePrefillPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  /** A draft of under about 120 words. */
  prefill: Scalars['String']['output'];
  usage: GenerationUsage;
};

export type GeneratePersonaInput = {
  brandId: Scalars['ID']['input'];
  /** Optional. What the persona should centre on, e.g. a customer type. At most 200 characters. */
  focus?: InputMaybe<Scalars['String']['input']>;
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type GeneratePersonaPayload = {
  __typename?: 'GeneratePersonaPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  persona: Persona;
  usage: GenerationUsage;
};

export type GenerateVisionInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type GenerateVisionPayload = {
  __typename?: 'GenerateVisionPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
  /** One or two sentences. */
  vision: Scalars['String']['output'];
};

export type GenerateWeeklySubplotInput = {
  brandId: Scalars['ID']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** YYYY-MM. */
  month: Scalars['String']['input'];
  /** Optional. The month's plot, so the subplot fits it. At most 8,000 characters. */
  plotSynopsis?: InputMaybe<Scalars['String']['input']>;
  /** Week of the month: 1 to 5. */
  week: Scalars['Int']['input'];
};

export type GenerateWeeklySubplotPayload = {
  __typename?: 'GenerateWeeklySubplotPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  subplot: Plot;
  usage: GenerationUsage;
};

/** What one paid generation produced, and the usage its charge was for. */
export type Generation = {
  __typename?: 'Generation';
  brandId: Scalars['ID']['output'];
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  ledgerEntryId: Scalars['ID']['output'];
  /** The result as the task's payload shows it (text or a structure). */
  output: Scalars['JSON']['output'];
  status: GenerationStatus;
  /** The task or flow agent (as in the ledger). */
  taskType: Scalars['String']['output'];
  usage: GenerationUsage;
};

export type GenerationConnection = {
  __typename?: 'GenerationConnection';
  edges: Array<GenerationEdge>;
  pageInfo: PageInfo;
};

export type GenerationEdge = {
  __typename?: 'GenerationEdge';
  cursor: Scalars['String']['output'];
  node: Generation;
};

export type GenerationStatus =
  | 'COMPLETED'
  /** A stream the client stopped early: charged for what was produced. */
  | 'PARTIAL';

/** One event of a streamed generation. The last has done: true, the exact usage and the balance after it. */
export type GenerationStreamEvent = {
  __typename?: 'GenerationStreamEvent';
  balance?: Maybe<TokenBalance>;
  /** The next piece of the reply; empty on the last event. */
  delta: Scalars['String']['output'];
  done: Scalars['Boolean']['output'];
  generationId?: Maybe<Scalars['ID']['output']>;
  usage?: Maybe<GenerationUsage>;
};

/** The kinds of generation; a ledger entry's taskType is one of these or a flow's FlowAgent. */
export type GenerationTask =
  | 'BUYER_PROFILE'
  | 'CALENDAR'
  | 'CALENDAR_ENTRY'
  | 'CHARACTERS'
  | 'CHAT'
  | 'CONTENT_BRIEF'
  | 'CONTENT_STRATEGY'
  | 'EXPAND_BRIEF'
  | 'MISSION'
  | 'MONTHLY_PLOT'
  | 'MONTHLY_THEME'
  | 'NARRATIVE_PREFILL'
  | 'PERSONA'
  | 'REFINE_CHARACTER_FIELD'
  | 'REFINE_CONTENT'
  | 'RESOLVE_CAST'
  | 'VISION'
  | 'WEEKLY_SUBPLOT';

/** Exact usage of one generation as the provider reported it. */
export type GenerationUsage = {
  __typename?: 'GenerationUsage';
  completionTokens: Scalars['Int']['output'];
  costUsd: Scalars['Float']['output'];
  /** The model the provider ran. */
  model: Scalars['String']['output'];
  promptTokens: Scalars['Int']['output'];
  /** promptTokens + completionTokens: what the generation was charged. */
  totalTokens: Scalars['Int']['output'];
};

/** Where a grant's tokens came from. */
export type GrantSource =
  /** Given by an admin. */
  | 'ADMIN'
  /** A plan's monthly allowance; expires at the end of its month. */
  | 'ALLOWANCE'
  | 'PROMOTION'
  /** Bought tokens: they burn last and never expire. */
  | 'PURCHASE'
  /** Tokens given back by a refund whose grant had expired meanwhile. */
  | 'REFUND'
  /** The tokens a new account starts with. */
  | 'SIGNUP';

export type GrantTokensBulkInput = {
  /** Positive; each user gets this many. */
  amount: Scalars['Int']['input'];
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** Required, at most 128 characters: each user's grant happens once under it; sending the bulk again grants only to users who did not get it. */
  idempotencyKey: Scalars['String']['input'];
  priority?: InputMaybe<Scalars['Int']['input']>;
  reason: Scalars['String']['input'];
  /** PROMOTION (default) or ADMIN. */
  source?: InputMaybe<GrantSource>;
  /** 1 to 1,000 distinct users. */
  userIds: Array<Scalars['ID']['input']>;
};

export type GrantTokensBulkPayload = {
  __typename?: 'GrantTokensBulkPayload';
  /** One per user, in the order of userIds. */
  grants: Array<BulkGrant>;
};

export type GrantTokensInput = {
  /** Positive. */
  amount: Scalars['Int']['input'];
  /** When the grant's unused tokens expire (an EXPIRE ledger entry); null: never. In the future, at most 10 years ahead. */
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** At most 128 characters: the same key again returns the first grant (replayed) and grants nothing; for another user it is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** 0 to 1,000; lower burns first. Default by source: PROMOTION 20, ADMIN 50. */
  priority?: InputMaybe<Scalars['Int']['input']>;
  reason: Scalars['String']['input'];
  /** ADMIN or PROMOTION (the other sources are the service's own). */
  source?: InputMaybe<GrantSource>;
  userId: Scalars['ID']['input'];
};

export type GrantTokensPayload = {
  __typename?: 'GrantTokensPayload';
  balance: TokenBalance;
  /** The grant made (or, for a repeated idempotencyKey, the one made the first time). */
  grant: TokenGrant;
  ledgerEntry: LedgerEntry;
};

/** One movement of tokens. amount is signed: grants add, charges subtract. */
export type LedgerEntry = {
  __typename?: 'LedgerEntry';
  amount: Scalars['Int']['output'];
  balanceAfter: Scalars['Int']['output'];
  brandId?: Maybe<Scalars['ID']['output']>;
  completionTokens: Scalars['Int']['output'];
  costUsd: Scalars['Float']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** What the entry is for, e.g. a grant's reason. Which admin granted it is shown to admins only. */
  details: Scalars['JSON']['output'];
  /** What this charge paid for, when it paid for a generation. */
  generation?: Maybe<Generation>;
  id: Scalars['ID']['output'];
  idempotencyKey?: Maybe<Scalars['String']['output']>;
  kind: LedgerEntryKind;
  model?: Maybe<Scalars['String']['output']>;
  promptTokens: Scalars['Int']['output'];
  /** For a REFUND: the charge it gives tokens back for. */
  refersTo?: Maybe<LedgerEntry>;
  taskType?: Maybe<Scalars['String']['output']>;
};

export type LedgerEntryConnection = {
  __typename?: 'LedgerEntryConnection';
  edges: Array<LedgerEntryEdge>;
  pageInfo: PageInfo;
};

export type LedgerEntryEdge = {
  __typename?: 'LedgerEntryEdge';
  cursor: Scalars['String']['output'];
  node: LedgerEntry;
};

export type LedgerEntryKind =
  | 'ADJUST'
  | 'CHARGE'
  | 'EXPIRE'
  | 'GRANT'
  | 'REFUND'
  /** Purchased tokens taken back because their payment was refunded (never below zero: what was already spent is the purchase's deficit). */
  | 'REVOKE';

export type MonthlyTheme = {
  __typename?: 'MonthlyTheme';
  description: Scalars['String']['output'];
  keywords: Array<Scalars['String']['output']>;
  title: Scalars['String']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Aborts the running step, which is charged like a stopped stream (its prompt and what it had produced; nothing if its model call had not started), skips the rest, and waits until the run has ended. */
  cancelFlow: CancelFlowPayload;
  chatWithAndora: ChatWithAndoraPayload;
  createBrand: CreateBrandPayload;
  expandBrief: ExpandBriefPayload;
  generateBuyerProfile: GenerateBuyerProfilePayload;
  generateCalendar: GenerateCalendarPayload;
  generateCalendarEntry: GenerateCalendarEntryPayload;
  generateCharacters: GenerateCharactersPayload;
  generateContentBrief: GenerateContentBriefPayload;
  generateContentStrategy: GenerateContentStrategyPayload;
  generateMission: GenerateMissionPayload;
  generateMonthlyPlot: GenerateMonthlyPlotPayload;
  generateMonthlyTheme: GenerateMonthlyThemePayload;
  generateNarrativePrefill: GenerateNarrativePrefillPayload;
  generatePersona: GeneratePersonaPayload;
  generateVision: GenerateVisionPayload;
  generateWeeklySubplot: GenerateWeeklySubplotPayload;
  /** ADMIN only. */
  grantTokens: GrantTokensPayload;
  /** ADMIN only. One grant to each user (a promotion): one commit, idempotent per user; refused as a whole (nothing granted) if a user does not exist. */
  grantTokensBulk: GrantTokensBulkPayload;
  /** Starts buying a package: returns the Stripe Checkout URL and the purchase, PENDING until Stripe confirms the payment. NOT_FOUND for an unknown or inactive package; RATE_LIMITED (extensions.limit pendingPurchasesPerUser, retryAfterMs) with 20 purchases of the last 24 hours still waiting for payment; UPSTREAM_FAILED when Stripe cannot be reached (retry with the same idempotencyKey). */
  purchaseTokenPackage: PurchaseTokenPackagePayload;
  refineCharacterField: RefineCharacterFieldPayload;
  refineContent: RefineContentPayload;
  /**
   * ADMIN only. Gives back tokens a charge took, into the grants it burned (last burned first); what came
   * from a grant that has expired since becomes a REFUND grant without expiry. Partial refunds of a charge
   * never add up to more than it took (BAD_USER_INPUT with extensions.refundable).
   */
  refundCharge: RefundChargePayload;
  resolveCast: ResolveCastPayload;
  /** The brand's owner or an ADMIN. Takes effect at once: a generation the quota can no longer cover is refused (QUOTA_EXCEEDED); those running finish. */
  setBrandQuota: SetBrandQuotaPayload;
  /**
   * ADMIN only. Changes a user's plan from the next UTC month: the current month keeps its plan and its
   * allowance; the new plan's monthly allowance is granted at the first activity of that month.
   */
  setUserPlan: SetUserPlanPayload;
  /**
   * ADMIN only. Recorded with the admin's id and the time. Demoting the last admin is refused
   * (BAD_USER_INPUT with extensions.reason LAST_ADMIN). A promoted user signs in again to use admin powers.
   */
  setUserRole: SetUserRolePayload;
  signIn: AuthPayload;
  signUp: AuthPayload;
  startBrandNarrativeFlow: StartBrandNarrativeFlowPayload;
  startCalendarBatchFlow: StartCalendarBatchFlowPayload;
  startCharacterFlow: StartCharacterFlowPayload;
  startCharacterRefinementFlow: StartCharacterRefinementFlowPayload;
  startContentFlow: StartContentFlowPayload;
  startContentRefinementFlow: StartContentRefinementFlowPayload;
  startExpandBriefFlow: StartExpandBriefFlowPayload;
  startMonthlyPlotFlow: StartMonthlyPlotFlowPayload;
  startSeasonThemeFlow: StartSeasonThemeFlowPayload;
  startWeeklySubplotFlow: StartWeeklySubplotFlowPayload;
  /** ADMIN only. Creates or changes a package; a purchase keeps the tokens and price it was bought at. */
  upsertTokenPackage: UpsertTokenPackagePayload;
};


export type MutationCancelFlowArgs = {
  input: CancelFlowInput;
};


export type MutationChatWithAndoraArgs = {
  input: ChatWithAndoraInput;
};


export type MutationCreateBrandArgs = {
  input: CreateBrandInput;
};


export type MutationExpandBriefArgs = {
  input: ExpandBriefInput;
};


export type MutationGenerateBuyerProfileArgs = {
  input: GenerateBuyerProfileInput;
};


export type MutationGenerateCalendarArgs = {
  input: GenerateCalendarInput;
};


export type MutationGenerateCalendarEntryArgs = {
  input: GenerateCalendarEntryInput;
};


export type MutationGenerateCharactersArgs = {
  input: GenerateCharactersInput;
};


export type MutationGenerateContentBriefArgs = {
  input: GenerateContentBriefInput;
};


export type MutationGenerateContentStrategyArgs = {
  input: GenerateContentStrategyInput;
};


export type MutationGenerateMissionArgs = {
  input: GenerateMissionInput;
};


export type MutationGenerateMonthlyPlotArgs = {
  input: GenerateMonthlyPlotInput;
};


export type MutationGenerateMonthlyThemeArgs = {
  input: GenerateMonthlyThemeInput;
};


export type MutationGenerateNarrativePrefillArgs = {
  input: GenerateNarrativePrefillInput;
};


export type MutationGeneratePersonaArgs = {
  input: GeneratePersonaInput;
};


export type MutationGenerateVisionArgs = {
  input: GenerateVisionInput;
};


export type MutationGenerateWeeklySubplotArgs = {
  input: GenerateWeeklySubplotInput;
};


export type MutationGrantTokensArgs = {
  input: GrantTokensInput;
};


export type MutationGrantTokensBulkArgs = {
  input: GrantTokensBulkInput;
};


export type MutationPurchaseTokenPackageArgs = {
  input: PurchaseTokenPackageInput;
};


export type MutationRefineCharacterFieldArgs = {
  input: RefineCharacterFieldInput;
};


export type MutationRefineContentArgs = {
  input: RefineContentInput;
};


export type MutationRefundChargeArgs = {
  input: RefundChargeInput;
};


export type MutationResolveCastArgs = {
  input: ResolveCastInput;
};


export type MutationSetBrandQuotaArgs = {
  input: SetBrandQuotaInput;
};


export type MutationSetUserPlanArgs = {
  input: SetUserPlanInput;
};


export type MutationSetUserRoleArgs = {
  input: SetUserRoleInput;
};


export type MutationSignInArgs = {
  input: SignInInput;
};


export type MutationSignUpArgs = {
  input: SignUpInput;
};


export type MutationStartBrandNarrativeFlowArgs = {
  input: StartBrandNarrativeFlowInput;
};


export type MutationStartCalendarBatchFlowArgs = {
  input: StartCalendarBatchFlowInput;
};


export type MutationStartCharacterFlowArgs = {
  input: StartCharacterFlowInput;
};


export type MutationStartCharacterRefinementFlowArgs = {
  input: StartCharacterRefinementFlowInput;
};


export type MutationStartContentFlowArgs = {
  input: StartContentFlowInput;
};


export type MutationStartContentRefinementFlowArgs = {
  input: StartContentRefinementFlowInput;
};


export type MutationStartExpandBriefFlowArgs = {
  input: StartExpandBriefFlowInput;
};


export type MutationStartMonthlyPlotFlowArgs = {
  input: StartMonthlyPlotFlowInput;
};


export type MutationStartSeasonThemeFlowArgs = {
  input: StartSeasonThemeFlowInput;
};


export type MutationStartWeeklySubplotFlowArgs = {
  input: StartWeeklySubplotFlowInput;
};


export type MutationUpsertTokenPackageArgs = {
  input: UpsertTokenPackageInput;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  /** Pass it as after: to the same field for the next page. An after: this field did not hand out (another connection's cursor, an altered or empty one) is BAD_USER_INPUT. */
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

export type Persona = {
  __typename?: 'Persona';
  goals: Array<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  occupation: Scalars['String']['output'];
  painPoints: Array<Scalars['String']['output']>;
  summary: Scalars['String']['output'];
};

export type Plot = {
  __typename?: 'Plot';
  /** Story beats, in order. */
  beats: Array<Scalars['String']['output']>;
  synopsis: Scalars['String']['output'];
  title: Scalars['String']['output'];
};

export type PurchaseTokenPackageInput = {
  /** Where Stripe sends a buyer who cancels. */
  cancelUrl: Scalars['String']['input'];
  /** At most 128 characters: the same key with the same input returns the same purchase and checkout; with another input it is BAD_USER_INPUT (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  packageId: Scalars['ID']['input'];
  /** Where Stripe sends the buyer after paying: an http(s) URL of at most 2,048 characters ({CHECKOUT_SESSION_ID} is filled in by Stripe). */
  successUrl: Scalars['String']['input'];
};

export type PurchaseTokenPackagePayload = {
  __typename?: 'PurchaseTokenPackagePayload';
  /** Send the buyer here (Stripe Checkout). */
  checkoutUrl: Scalars['String']['output'];
  purchase: TokenPurchase;
};

export type Query = {
  __typename?: 'Query';
  brand: Brand;
  /** NOT_FOUND unless the signed-in user owns the run's brand. */
  flowRun: FlowRun;
  /** A brand's runs, newest first. first: 1 to 100 (default 20). */
  flowRuns: FlowRunConnection;
  /** One of the signed-in user's generations. */
  generation: Generation;
  /** The signed-in user. */
  me: User;
  /** ADMIN only. */
  systemTokenStats: SystemTokenStats;
  /** The signed-in user's alerts of the retention window (resolved ones with resolvedAt) and an unresolved LOW_BALANCE however old, newest first. */
  tokenAlerts: Array<TokenAlert>;
  tokenBalance: TokenBalance;
  /**
   * The signed-in user's grants with tokens left, in the order they burn; with includeExpired also the
   * spent and expired ones, newest first. At most 100.
   */
  tokenGrants: Array<TokenGrant>;
  /** Newest first. first: 1 to 100 (default 20). */
  tokenLedger: LedgerEntryConnection;
  /** The packages on sale (active), cheapest first. Open to everyone, signed in or not. */
  tokenPackages: Array<TokenPackage>;
  /** The signed-in user's purchases, newest first. first: 1 to 100 (default 20). */
  tokenPurchases: TokenPurchaseConnection;
  /** The signed-in user's usage over all their brands: days 1 to 366 (default 7). */
  tokenUsage: TokenUsage;
};


export type QueryBrandArgs = {
  id: Scalars['ID']['input'];
};


export type QueryFlowRunArgs = {
  id: Scalars['ID']['input'];
};


export type QueryFlowRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  brandId: Scalars['ID']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryGenerationArgs = {
  id: Scalars['ID']['input'];
};


export type QueryTokenGrantsArgs = {
  includeExpired?: InputMaybe<Scalars['Boolean']['input']>;
};


export type QueryTokenLedgerArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryTokenPurchasesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryTokenUsageArgs = {
  days?: InputMaybe<Scalars['Int']['input']>;
};

/** One rate limit of the signed-in user's plan. */
export type RateLimit = {
  __typename?: 'RateLimit';
  limit: Scalars['Int']['output'];
  /** REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE (tokens reserved, corrected to the charge), CONCURRENT_GENERATIONS. */
  name: Scalars['String']['output'];
  /** What fits now. */
  remaining: Scalars['Int']['output'];
  /** When what is counted now has left the window (a sliding minute); null when nothing is counted (and for CONCURRENT_GENERATIONS, freed as generations end). */
  resetsAt?: Maybe<Scalars['DateTime']['output']>;
};

export type RefineCharacterFieldInput = {
  brandId: Scalars['ID']['input'];
  /** 1 to 200 characters. */
  characterName: Scalars['String']['input'];
  /** 1 to 8,000 characters. */
  currentValue: Scalars['String']['input'];
  /** The field to improve, e.g. backstory. 1 to 200 characters. */
  field: Scalars['String']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** Optional, e.g. make it darker. At most 200 characters. */
  instruction?: InputMaybe<Scalars['String']['input']>;
};

export type RefineCharacterFieldPayload = {
  __typename?: 'RefineCharacterFieldPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
  /** The field's new value. */
  value: Scalars['String']['output'];
};

export type RefineContentInput = {
  brandId: Scalars['ID']['input'];
  /** The content to rewrite. 1 to 8,000 characters. */
  content: Scalars['String']['input'];
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** How to rewrite it, e.g. make it shorter. 1 to 200 characters. */
  instruction: Scalars['String']['input'];
};

export type RefineContentPayload = {
  __typename?: 'RefineContentPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  /** The rewritten content, under about 1,000 words. */
  content: Scalars['String']['output'];
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type RefundChargeInput = {
  /** 1 up to what the charge took minus earlier refunds of it; omitted: all of that. */
  amount?: InputMaybe<Scalars['Int']['input']>;
  /** At most 128 characters, per charge: the same key again returns the first refund and gives nothing back. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** A CHARGE entry of any user's ledger. */
  ledgerEntryId: Scalars['ID']['input'];
  reason: Scalars['String']['input'];
};

export type RefundChargePayload = {
  __typename?: 'RefundChargePayload';
  /** The user's balance after the refund. */
  balance: TokenBalance;
  /** The REFUND ledger entry (refersTo is the charge). */
  refund: LedgerEntry;
};

export type ResolveCastInput = {
  brandId: Scalars['ID']['input'];
  /** The characters to choose from: 1 to 20 names of 1 to 200 characters each. */
  characterNames: Array<Scalars['String']['input']>;
  /** At most 128 characters; a retry with the same key and input is not charged twice, the same key with another input is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** The scene to cast. 1 to 8,000 characters. */
  scene: Scalars['String']['input'];
};

export type ResolveCastPayload = {
  __typename?: 'ResolveCastPayload';
  /** The balance after this generation was charged. */
  balance: TokenBalance;
  /** The chosen characters, named as in characterNames. */
  cast: Array<CastMember>;
  generationId: Scalars['ID']['output'];
  usage: GenerationUsage;
};

export type Role =
  | 'ADMIN'
  | 'USER';

export type SetBrandQuotaInput = {
  brandId: Scalars['ID']['input'];
  /** Tokens the brand's generations may be charged per calendar month (UTC), 0 to 2,147,483,647; null removes the quota. */
  monthlyTokens?: InputMaybe<Scalars['Int']['input']>;
};

export type SetBrandQuotaPayload = {
  __typename?: 'SetBrandQuotaPayload';
  brand: Brand;
};

export type SetUserPlanInput = {
  /** A plan of PLANS_JSON. */
  plan: Scalars['String']['input'];
  userId: Scalars['ID']['input'];
};

export type SetUserPlanPayload = {
  __typename?: 'SetUserPlanPayload';
  /** The plan waiting for pendingPlanFrom; null when none (choosing the current plan cancels a pending change). */
  pendingPlan?: Maybe<Scalars['String']['output']>;
  /** yyyy-mm (UTC). */
  pendingPlanFrom?: Maybe<Scalars['String']['output']>;
  /** The plan in force now: a change takes effect at the user's first activity in the next UTC month. */
  plan: Scalars['String']['output'];
  user: User;
};

export type SetUserRoleInput = {
  role: Role;
  userId: Scalars['ID']['input'];
};

export type SetUserRolePayload = {
  __typename?: 'SetUserRolePayload';
  /** The role before this mutation; equal to user.role when the user already had the role (nothing was changed). */
  previousRole: Role;
  user: User;
};

export type SignInInput = {
  email: Scalars['String']['input'];
  password: Scalars['String']['input'];
};

export type SignUpInput = {
  email: Scalars['String']['input'];
  /** 8 to 128 characters. */
  password: Scalars['String']['input'];
};

export type StartBrandNarrativeFlowInput = {
  brandId: Scalars['ID']['input'];
  /** Optional. What the narrative should centre on. At most 200 characters. */
  focus?: InputMaybe<Scalars['String']['input']>;
};

export type StartBrandNarrativeFlowPayload = {
  __typename?: 'StartBrandNarrativeFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartCalendarBatchFlowInput = {
  brandId: Scalars['ID']['input'];
  /** YYYY-MM. Week 1 is days 1 to 7 and the last week takes the days left, so the run has 1 + 4 or 5 steps. */
  month: Scalars['String']['input'];
  /** 1 to 14. */
  postsPerWeek?: InputMaybe<Scalars['Int']['input']>;
};

export type StartCalendarBatchFlowPayload = {
  __typename?: 'StartCalendarBatchFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartCharacterFlowInput = {
  brandId: Scalars['ID']['input'];
  /** How many characters: 1 to 8. */
  count?: InputMaybe<Scalars['Int']['input']>;
  /** Optional. What the characters should centre on. At most 200 characters. */
  focus?: InputMaybe<Scalars['String']['input']>;
};

export type StartCharacterFlowPayload = {
  __typename?: 'StartCharacterFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartCharacterRefinementFlowInput = {
  brandId: Scalars['ID']['input'];
  /** 1 to 200 characters. */
  characterName: Scalars['String']['input'];
  /** Optional. The character as it stands; without it the agent reads the brand's latest stored characters. At most 8,000 characters. */
  currentProfile?: InputMaybe<Scalars['String']['input']>;
  /** How to change the character. 1 to 200 characters. */
  instruction: Scalars['String']['input'];
};

export type StartCharacterRefinementFlowPayload = {
  __typename?: 'StartCharacterRefinementFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartContentFlowInput = {
  brandId: Scalars['ID']['input'];
  /** Optional, e.g. instagram or blog. At most 200 characters. */
  channel?: InputMaybe<Scalars['String']['input']>;
  /** What the content is about. 1 to 200 characters. */
  topic: Scalars['String']['input'];
};

export type StartContentFlowPayload = {
  __typename?: 'StartContentFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartContentRefinementFlowInput = {
  brandId: Scalars['ID']['input'];
  /** The content to rewrite. 1 to 8,000 characters. */
  content: Scalars['String']['input'];
  /** How to rewrite it. 1 to 200 characters. */
  instruction: Scalars['String']['input'];
};

export type StartContentRefinementFlowPayload = {
  __typename?: 'StartContentRefinementFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartExpandBriefFlowInput = {
  brandId: Scalars['ID']['input'];
  /** 1 to 8,000 characters. */
  brief: Scalars['String']['input'];
};

export type StartExpandBriefFlowPayload = {
  __typename?: 'StartExpandBriefFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartMonthlyPlotFlowInput = {
  brandId: Scalars['ID']['input'];
  /** YYYY-MM. */
  month: Scalars['String']['input'];
  /** Optional. At most 200 characters. */
  theme?: InputMaybe<Scalars['String']['input']>;
};

export type StartMonthlyPlotFlowPayload = {
  __typename?: 'StartMonthlyPlotFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartSeasonThemeFlowInput = {
  brandId: Scalars['ID']['input'];
  /** The season, e.g. Summer 2027. 1 to 200 characters. */
  season: Scalars['String']['input'];
};

export type StartSeasonThemeFlowPayload = {
  __typename?: 'StartSeasonThemeFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type StartWeeklySubplotFlowInput = {
  brandId: Scalars['ID']['input'];
  /** YYYY-MM. */
  month: Scalars['String']['input'];
  /** Optional. The month's plot; without it the agent reads the brand's latest stored plot. At most 8,000 characters. */
  plotSynopsis?: InputMaybe<Scalars['String']['input']>;
  /** Week of the month: 1 to 5. */
  week: Scalars['Int']['input'];
};

export type StartWeeklySubplotFlowPayload = {
  __typename?: 'StartWeeklySubplotFlowPayload';
  /** The new run, RUNNING; follow it with flowProgress. */
  flowRun: FlowRun;
};

export type Subscription = {
  __typename?: 'Subscription';
  /** The signed-in user's balance, on every change (coalesced under bursts; the latest state always arrives). */
  balanceChanged: TokenBalance;
  chatWithAndoraStream: GenerationStreamEvent;
  expandBriefStream: GenerationStreamEvent;
  /** The run's state first, then each event in order; ends after FLOW_FINISHED, FLOW_FAILED or FLOW_CANCELLED. */
  flowProgress: FlowProgressEvent;
  /** Any task, streamed: input holds the task's own fields as JSON (validated like the mutation's input). Deltas are the raw reply, so structured tasks stream JSON (the calendar, lines). */
  generationStream: GenerationStreamEvent;
  /** Alerts as they are raised: the signed-in user's own, or everyone's with allUsers (ADMIN only). */
  tokenAlertRaised: TokenAlert;
};


export type SubscriptionChatWithAndoraStreamArgs = {
  input: ChatWithAndoraStreamInput;
};


export type SubscriptionExpandBriefStreamArgs = {
  input: ExpandBriefStreamInput;
};


export type SubscriptionFlowProgressArgs = {
  flowRunId: Scalars['ID']['input'];
};


export type SubscriptionGenerationStreamArgs = {
  brandId: Scalars['ID']['input'];
  input?: InputMaybe<Scalars['JSON']['input']>;
  task: GenerationTask;
};


export type SubscriptionTokenAlertRaisedArgs = {
  allUsers?: InputMaybe<Scalars['Boolean']['input']>;
};

/** The whole system at a glance (ADMIN only). */
export type SystemTokenStats = {
  __typename?: 'SystemTokenStats';
  /** Alerts raised within the retention window. */
  activeAlerts: Scalars['Int']['output'];
  avgBalancePerUser: Scalars['Float']['output'];
  /** Users below the low-balance threshold. */
  lowBalanceUsers: Scalars['Int']['output'];
  /** Tokens charged today (UTC). */
  totalTokensUsedToday: Scalars['Int']['output'];
  /** Users whose balance is above zero. */
  totalUsersWithTokens: Scalars['Int']['output'];
};

export type TaskTypeUsage = {
  __typename?: 'TaskTypeUsage';
  taskType: Scalars['String']['output'];
  tokens: Scalars['Int']['output'];
};

export type TokenAlert = {
  __typename?: 'TokenAlert';
  createdAt: Scalars['DateTime']['output'];
  details: Scalars['JSON']['output'];
  id: Scalars['ID']['output'];
  message: Scalars['String']['output'];
  /** When the condition ended (LOW_BALANCE: the balance is back at or above the threshold); null while it lasts, and always for the other types. */
  resolvedAt?: Maybe<Scalars['DateTime']['output']>;
  severity: AlertSeverity;
  type: AlertType;
  userId: Scalars['ID']['output'];
};

/** A user's tokens. available = tokens - reserved. */
export type TokenBalance = {
  __typename?: 'TokenBalance';
  /** What a new generation may use. */
  available: Scalars['Int']['output'];
  /** The next expiry that still has tokens left (what expires then, e.g. a promotion); null when nothing expires. */
  expiringSoon?: Maybe<ExpiringTokens>;
  plan: Scalars['String']['output'];
  /** Held by generations in progress. */
  reserved: Scalars['Int']['output'];
  /** Settled balance. */
  tokens: Scalars['Int']['output'];
};

/** Tokens given to a user at once, burned by charges in order and possibly expiring. */
export type TokenGrant = {
  __typename?: 'TokenGrant';
  amount: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** When it expired (its remaining tokens were then taken); null while it has not. */
  expiredAt?: Maybe<Scalars['DateTime']['output']>;
  /** When its unused tokens expire; null: never. */
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** Lower burns first. */
  priority: Scalars['Int']['output'];
  reason: Scalars['String']['output'];
  /** What is left of it. */
  remaining: Scalars['Int']['output'];
  source: GrantSource;
};

/** A package of tokens for sale. Prices are in the currency's smallest unit (cents for USD). */
export type TokenPackage = {
  __typename?: 'TokenPackage';
  /** Inactive packages are off the catalog (and cannot be bought); packages are never deleted. */
  active: Scalars['Boolean']['output'];
  /** ISO 4217, lower case (e.g. usd). */
  currency: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  priceCents: Scalars['Int']['output'];
  tokens: Scalars['Int']['output'];
};

/** One purchase of a package, with the package's tokens and price at the time of purchase. */
export type TokenPurchase = {
  __typename?: 'TokenPurchase';
  amountCents: Scalars['Int']['output'];
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  currency: Scalars['String']['output'];
  /** Of revokedTokens, those already spent that could not be taken back. */
  deficitTokens: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  packageId: Scalars['ID']['output'];
  /** Refunded so far, in the currency's smallest unit. */
  refundedCents: Scalars['Int']['output'];
  /** Tokens the refunds took back or tried to. */
  revokedTokens: Scalars['Int']['output'];
  status: TokenPurchaseStatus;
  tokens: Scalars['Int']['output'];
};

export type TokenPurchaseConnection = {
  __typename?: 'TokenPurchaseConnection';
  edges: Array<TokenPurchaseEdge>;
  pageInfo: PageInfo;
};

export type TokenPurchaseEdge = {
  __typename?: 'TokenPurchaseEdge';
  cursor: Scalars['String']['output'];
  node: TokenPurchase;
};

export type TokenPurchaseStatus =
  /** Paid: the tokens were granted. */
  | 'COMPLETED'
  /** The checkout expired or the payment failed: nothing was charged or granted. */
  | 'EXPIRED'
  /** Part of the payment was refunded: that share of the tokens was taken back. */
  | 'PARTIALLY_REFUNDED'
  /** Checkout started, payment not confirmed yet. */
  | 'PENDING'
  /** The whole payment was refunded: the tokens were taken back (what was spent already is the deficit). */
  | 'REFUNDED';

/** Where tokens went over a window of UTC days ending today. */
export type TokenUsage = {
  __typename?: 'TokenUsage';
  avgPerDay: Scalars['Float']['output'];
  /** Every day of the window, oldest first; days without usage have 0. */
  byDate: Array<DailyUsage>;
  /** Most used first. */
  byTaskType: Array<TaskTypeUsage>;
  totalTokens: Scalars['Int']['output'];
};

export type UpsertTokenPackageInput = {
  active?: InputMaybe<Scalars['Boolean']['input']>;
  /** Three letters, ISO 4217 (any case; stored lower case). */
  currency: Scalars['String']['input'];
  /** 1 to 64 lower-case letters, digits, - or _ (e.g. starter); an existing id changes that package. */
  id: Scalars['ID']['input'];
  /** 1 to 200 characters; shown on the Checkout page. */
  name: Scalars['String']['input'];
  /** 50 to 99,999,999, in the currency's smallest unit. */
  priceCents: Scalars['Int']['input'];
  /** 1 to 100,000,000. */
  tokens: Scalars['Int']['input'];
};

export type UpsertTokenPackagePayload = {
  __typename?: 'UpsertTokenPackagePayload';
  package: TokenPackage;
};

export type User = {
  __typename?: 'User';
  balance: TokenBalance;
  brands: Array<Brand>;
  createdAt: Scalars['DateTime']['output'];
  email: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  plan: Scalars['String']['output'];
  /** Where the user stands on the per-minute limits of their plan and on generations at once (the user themselves or an ADMIN). */
  rateLimits: Array<RateLimit>;
  role: Role;
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  AlertSeverity: AlertSeverity;
  AlertType: AlertType;
  AuthPayload: ResolverTypeWrapper<Omit<AuthPayload, 'user'> & { user: ResolversTypes['User'] }>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Brand: ResolverTypeWrapper<BrandModel>;
  BrandQuota: ResolverTypeWrapper<BrandQuota>;
  BulkGrant: ResolverTypeWrapper<Omit<BulkGrant, 'balance' | 'grant'> & { balance: ResolversTypes['TokenBalance'], grant: ResolversTypes['TokenGrant'] }>;
  BuyerProfile: ResolverTypeWrapper<BuyerProfile>;
  CalendarEntry: ResolverTypeWrapper<CalendarEntry>;
  CancelFlowInput: CancelFlowInput;
  CancelFlowPayload: ResolverTypeWrapper<Omit<CancelFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  CastMember: ResolverTypeWrapper<CastMember>;
  Character: ResolverTypeWrapper<Character>;
  ChatWithAndoraInput: ChatWithAndoraInput;
  ChatWithAndoraPayload: ResolverTypeWrapper<Omit<ChatWithAndoraPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  ChatWithAndoraStreamInput: ChatWithAndoraStreamInput;
  ContentBrief: ResolverTypeWrapper<ContentBrief>;
  ContentStrategy: ResolverTypeWrapper<ContentStrategy>;
  CreateBrandInput: CreateBrandInput;
  CreateBrandPayload: ResolverTypeWrapper<Omit<CreateBrandPayload, 'brand'> & { brand: ResolversTypes['Brand'] }>;
  DailyUsage: ResolverTypeWrapper<DailyUsage>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  ExpandBriefInput: ExpandBriefInput;
  ExpandBriefPayload: ResolverTypeWrapper<Omit<ExpandBriefPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  ExpandBriefStreamInput: ExpandBriefStreamInput;
  ExpiringTokens: ResolverTypeWrapper<ExpiringTokens>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  FlowAgent: FlowAgent;
  FlowEventType: FlowEventType;
  FlowKind: FlowKind;
  FlowProgressEvent: ResolverTypeWrapper<FlowEventModel>;
  FlowRun: ResolverTypeWrapper<FlowRunModel>;
  FlowRunConnection: ResolverTypeWrapper<Omit<FlowRunConnection, 'edges'> & { edges: Array<ResolversTypes['FlowRunEdge']> }>;
  FlowRunEdge: ResolverTypeWrapper<Omit<FlowRunEdge, 'node'> & { node: ResolversTypes['FlowRun'] }>;
  FlowRunStatus: FlowRunStatus;
  FlowStep: ResolverTypeWrapper<FlowStepModel>;
  FlowStepStatus: FlowStepStatus;
  FlowUsage: ResolverTypeWrapper<FlowUsage>;
  GenerateBuyerProfileInput: GenerateBuyerProfileInput;
  GenerateBuyerProfilePayload: ResolverTypeWrapper<Omit<GenerateBuyerProfilePayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateCalendarEntryInput: GenerateCalendarEntryInput;
  GenerateCalendarEntryPayload: ResolverTypeWrapper<Omit<GenerateCalendarEntryPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateCalendarInput: GenerateCalendarInput;
  GenerateCalendarPayload: ResolverTypeWrapper<Omit<GenerateCalendarPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateCharactersInput: GenerateCharactersInput;
  GenerateCharactersPayload: ResolverTypeWrapper<Omit<GenerateCharactersPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateContentBriefInput: GenerateContentBriefInput;
  GenerateContentBriefPayload: ResolverTypeWrapper<Omit<GenerateContentBriefPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateContentStrategyInput: GenerateContentStrategyInput;
  GenerateContentStrategyPayload: ResolverTypeWrapper<Omit<GenerateContentStrategyPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateMissionInput: GenerateMissionInput;
  GenerateMissionPayload: ResolverTypeWrapper<Omit<GenerateMissionPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateMonthlyPlotInput: GenerateMonthlyPlotInput;
  GenerateMonthlyPlotPayload: ResolverTypeWrapper<Omit<GenerateMonthlyPlotPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateMonthlyThemeInput: GenerateMonthlyThemeInput;
  GenerateMonthlyThemePayload: ResolverTypeWrapper<Omit<GenerateMonthlyThemePayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateNarrativePrefillInput: GenerateNarrativePrefillInput;
  GenerateNarrativePrefillPayload: ResolverTypeWrapper<Omit<GenerateNarrativePrefillPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GeneratePersonaInput: GeneratePersonaInput;
  GeneratePersonaPayload: ResolverTypeWrapper<Omit<GeneratePersonaPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateVisionInput: GenerateVisionInput;
  GenerateVisionPayload: ResolverTypeWrapper<Omit<GenerateVisionPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  GenerateWeeklySubplotInput: GenerateWeeklySubplotInput;
  GenerateWeeklySubplotPayload: ResolverTypeWrapper<Omit<GenerateWeeklySubplotPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  Generation: ResolverTypeWrapper<GenerationModel>;
  GenerationConnection: ResolverTypeWrapper<Omit<GenerationConnection, 'edges'> & { edges: Array<ResolversTypes['GenerationEdge']> }>;
  GenerationEdge: ResolverTypeWrapper<Omit<GenerationEdge, 'node'> & { node: ResolversTypes['Generation'] }>;
  GenerationStatus: GenerationStatus;
  GenerationStreamEvent: ResolverTypeWrapper<Omit<GenerationStreamEvent, 'balance'> & { balance?: Maybe<ResolversTypes['TokenBalance']> }>;
  GenerationTask: GenerationTask;
  GenerationUsage: ResolverTypeWrapper<GenerationUsage>;
  GrantSource: GrantSource;
  GrantTokensBulkInput: GrantTokensBulkInput;
  GrantTokensBulkPayload: ResolverTypeWrapper<Omit<GrantTokensBulkPayload, 'grants'> & { grants: Array<ResolversTypes['BulkGrant']> }>;
  GrantTokensInput: GrantTokensInput;
  GrantTokensPayload: ResolverTypeWrapper<Omit<GrantTokensPayload, 'balance' | 'grant' | 'ledgerEntry'> & { balance: ResolversTypes['TokenBalance'], grant: ResolversTypes['TokenGrant'], ledgerEntry: ResolversTypes['LedgerEntry'] }>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  JSON: ResolverTypeWrapper<Scalars['JSON']['output']>;
  LedgerEntry: ResolverTypeWrapper<LedgerEntryModel>;
  LedgerEntryConnection: ResolverTypeWrapper<Omit<LedgerEntryConnection, 'edges'> & { edges: Array<ResolversTypes['LedgerEntryEdge']> }>;
  LedgerEntryEdge: ResolverTypeWrapper<Omit<LedgerEntryEdge, 'node'> & { node: ResolversTypes['LedgerEntry'] }>;
  LedgerEntryKind: LedgerEntryKind;
  MonthlyTheme: ResolverTypeWrapper<MonthlyTheme>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Persona: ResolverTypeWrapper<Persona>;
  Plot: ResolverTypeWrapper<Plot>;
  PurchaseTokenPackageInput: PurchaseTokenPackageInput;
  PurchaseTokenPackagePayload: ResolverTypeWrapper<Omit<PurchaseTokenPackagePayload, 'purchase'> & { purchase: ResolversTypes['TokenPurchase'] }>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  RateLimit: ResolverTypeWrapper<RateLimit>;
  RefineCharacterFieldInput: RefineCharacterFieldInput;
  RefineCharacterFieldPayload: ResolverTypeWrapper<Omit<RefineCharacterFieldPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  RefineContentInput: RefineContentInput;
  RefineContentPayload: ResolverTypeWrapper<Omit<RefineContentPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  RefundChargeInput: RefundChargeInput;
  RefundChargePayload: ResolverTypeWrapper<Omit<RefundChargePayload, 'balance' | 'refund'> & { balance: ResolversTypes['TokenBalance'], refund: ResolversTypes['LedgerEntry'] }>;
  ResolveCastInput: ResolveCastInput;
  ResolveCastPayload: ResolverTypeWrapper<Omit<ResolveCastPayload, 'balance'> & { balance: ResolversTypes['TokenBalance'] }>;
  Role: Role;
  SetBrandQuotaInput: SetBrandQuotaInput;
  SetBrandQuotaPayload: ResolverTypeWrapper<Omit<SetBrandQuotaPayload, 'brand'> & { brand: ResolversTypes['Brand'] }>;
  SetUserPlanInput: SetUserPlanInput;
  SetUserPlanPayload: ResolverTypeWrapper<Omit<SetUserPlanPayload, 'user'> & { user: ResolversTypes['User'] }>;
  SetUserRoleInput: SetUserRoleInput;
  SetUserRolePayload: ResolverTypeWrapper<Omit<SetUserRolePayload, 'user'> & { user: ResolversTypes['User'] }>;
  SignInInput: SignInInput;
  SignUpInput: SignUpInput;
  StartBrandNarrativeFlowInput: StartBrandNarrativeFlowInput;
  StartBrandNarrativeFlowPayload: ResolverTypeWrapper<Omit<StartBrandNarrativeFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartCalendarBatchFlowInput: StartCalendarBatchFlowInput;
  StartCalendarBatchFlowPayload: ResolverTypeWrapper<Omit<StartCalendarBatchFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartCharacterFlowInput: StartCharacterFlowInput;
  StartCharacterFlowPayload: ResolverTypeWrapper<Omit<StartCharacterFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartCharacterRefinementFlowInput: StartCharacterRefinementFlowInput;
  StartCharacterRefinementFlowPayload: ResolverTypeWrapper<Omit<StartCharacterRefinementFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartContentFlowInput: StartContentFlowInput;
  StartContentFlowPayload: ResolverTypeWrapper<Omit<StartContentFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartContentRefinementFlowInput: StartContentRefinementFlowInput;
  StartContentRefinementFlowPayload: ResolverTypeWrapper<Omit<StartContentRefinementFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartExpandBriefFlowInput: StartExpandBriefFlowInput;
  StartExpandBriefFlowPayload: ResolverTypeWrapper<Omit<StartExpandBriefFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartMonthlyPlotFlowInput: StartMonthlyPlotFlowInput;
  StartMonthlyPlotFlowPayload: ResolverTypeWrapper<Omit<StartMonthlyPlotFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartSeasonThemeFlowInput: StartSeasonThemeFlowInput;
  StartSeasonThemeFlowPayload: ResolverTypeWrapper<Omit<StartSeasonThemeFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  StartWeeklySubplotFlowInput: StartWeeklySubplotFlowInput;
  StartWeeklySubplotFlowPayload: ResolverTypeWrapper<Omit<StartWeeklySubplotFlowPayload, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  SystemTokenStats: ResolverTypeWrapper<SystemTokenStats>;
  TaskTypeUsage: ResolverTypeWrapper<TaskTypeUsage>;
  TokenAlert: ResolverTypeWrapper<AlertModel>;
  TokenBalance: ResolverTypeWrapper<BalanceModel>;
  TokenGrant: ResolverTypeWrapper<GrantModel>;
  TokenPackage: ResolverTypeWrapper<TokenPackageModel>;
  TokenPurchase: ResolverTypeWrapper<TokenPurchaseModel>;
  TokenPurchaseConnection: ResolverTypeWrapper<Omit<TokenPurchaseConnection, 'edges'> & { edges: Array<ResolversTypes['TokenPurchaseEdge']> }>;
  TokenPurchaseEdge: ResolverTypeWrapper<Omit<TokenPurchaseEdge, 'node'> & { node: ResolversTypes['TokenPurchase'] }>;
  TokenPurchaseStatus: TokenPurchaseStatus;
  TokenUsage: ResolverTypeWrapper<TokenUsage>;
  UpsertTokenPackageInput: UpsertTokenPackageInput;
  UpsertTokenPackagePayload: ResolverTypeWrapper<Omit<UpsertTokenPackagePayload, 'package'> & { package: ResolversTypes['TokenPackage'] }>;
  User: ResolverTypeWrapper<UserModel>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  AuthPayload: Omit<AuthPayload, 'user'> & { user: ResolversParentTypes['User'] };
  Boolean: Scalars['Boolean']['output'];
  Brand: BrandModel;
  BrandQuota: BrandQuota;
  BulkGrant: Omit<BulkGrant, 'balance' | 'grant'> & { balance: ResolversParentTypes['TokenBalance'], grant: ResolversParentTypes['TokenGrant'] };
  BuyerProfile: BuyerProfile;
  CalendarEntry: CalendarEntry;
  CancelFlowInput: CancelFlowInput;
  CancelFlowPayload: Omit<CancelFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  CastMember: CastMember;
  Character: Character;
  ChatWithAndoraInput: ChatWithAndoraInput;
  ChatWithAndoraPayload: Omit<ChatWithAndoraPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  ChatWithAndoraStreamInput: ChatWithAndoraStreamInput;
  ContentBrief: ContentBrief;
  ContentStrategy: ContentStrategy;
  CreateBrandInput: CreateBrandInput;
  CreateBrandPayload: Omit<CreateBrandPayload, 'brand'> & { brand: ResolversParentTypes['Brand'] };
  DailyUsage: DailyUsage;
  DateTime: Scalars['DateTime']['output'];
  ExpandBriefInput: ExpandBriefInput;
  ExpandBriefPayload: Omit<ExpandBriefPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  ExpandBriefStreamInput: ExpandBriefStreamInput;
  ExpiringTokens: ExpiringTokens;
  Float: Scalars['Float']['output'];
  FlowProgressEvent: FlowEventModel;
  FlowRun: FlowRunModel;
  FlowRunConnection: Omit<FlowRunConnection, 'edges'> & { edges: Array<ResolversParentTypes['FlowRunEdge']> };
  FlowRunEdge: Omit<FlowRunEdge, 'node'> & { node: ResolversParentTypes['FlowRun'] };
  FlowStep: FlowStepModel;
  FlowUsage: FlowUsage;
  GenerateBuyerProfileInput: GenerateBuyerProfileInput;
  GenerateBuyerProfilePayload: Omit<GenerateBuyerProfilePayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateCalendarEntryInput: GenerateCalendarEntryInput;
  GenerateCalendarEntryPayload: Omit<GenerateCalendarEntryPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateCalendarInput: GenerateCalendarInput;
  GenerateCalendarPayload: Omit<GenerateCalendarPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateCharactersInput: GenerateCharactersInput;
  GenerateCharactersPayload: Omit<GenerateCharactersPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateContentBriefInput: GenerateContentBriefInput;
  GenerateContentBriefPayload: Omit<GenerateContentBriefPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateContentStrategyInput: GenerateContentStrategyInput;
  GenerateContentStrategyPayload: Omit<GenerateContentStrategyPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateMissionInput: GenerateMissionInput;
  GenerateMissionPayload: Omit<GenerateMissionPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateMonthlyPlotInput: GenerateMonthlyPlotInput;
  GenerateMonthlyPlotPayload: Omit<GenerateMonthlyPlotPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateMonthlyThemeInput: GenerateMonthlyThemeInput;
  GenerateMonthlyThemePayload: Omit<GenerateMonthlyThemePayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateNarrativePrefillInput: GenerateNarrativePrefillInput;
  GenerateNarrativePrefillPayload: Omit<GenerateNarrativePrefillPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GeneratePersonaInput: GeneratePersonaInput;
  GeneratePersonaPayload: Omit<GeneratePersonaPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateVisionInput: GenerateVisionInput;
  GenerateVisionPayload: Omit<GenerateVisionPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  GenerateWeeklySubplotInput: GenerateWeeklySubplotInput;
  GenerateWeeklySubplotPayload: Omit<GenerateWeeklySubplotPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  Generation: GenerationModel;
  GenerationConnection: Omit<GenerationConnection, 'edges'> & { edges: Array<ResolversParentTypes['GenerationEdge']> };
  GenerationEdge: Omit<GenerationEdge, 'node'> & { node: ResolversParentTypes['Generation'] };
  GenerationStreamEvent: Omit<GenerationStreamEvent, 'balance'> & { balance?: Maybe<ResolversParentTypes['TokenBalance']> };
  GenerationUsage: GenerationUsage;
  GrantTokensBulkInput: GrantTokensBulkInput;
  GrantTokensBulkPayload: Omit<GrantTokensBulkPayload, 'grants'> & { grants: Array<ResolversParentTypes['BulkGrant']> };
  GrantTokensInput: GrantTokensInput;
  GrantTokensPayload: Omit<GrantTokensPayload, 'balance' | 'grant' | 'ledgerEntry'> & { balance: ResolversParentTypes['TokenBalance'], grant: ResolversParentTypes['TokenGrant'], ledgerEntry: ResolversParentTypes['LedgerEntry'] };
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  JSON: Scalars['JSON']['output'];
  LedgerEntry: LedgerEntryModel;
  LedgerEntryConnection: Omit<LedgerEntryConnection, 'edges'> & { edges: Array<ResolversParentTypes['LedgerEntryEdge']> };
  LedgerEntryEdge: Omit<LedgerEntryEdge, 'node'> & { node: ResolversParentTypes['LedgerEntry'] };
  MonthlyTheme: MonthlyTheme;
  Mutation: Record<PropertyKey, never>;
  PageInfo: PageInfo;
  Persona: Persona;
  Plot: Plot;
  PurchaseTokenPackageInput: PurchaseTokenPackageInput;
  PurchaseTokenPackagePayload: Omit<PurchaseTokenPackagePayload, 'purchase'> & { purchase: ResolversParentTypes['TokenPurchase'] };
  Query: Record<PropertyKey, never>;
  RateLimit: RateLimit;
  RefineCharacterFieldInput: RefineCharacterFieldInput;
  RefineCharacterFieldPayload: Omit<RefineCharacterFieldPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  RefineContentInput: RefineContentInput;
  RefineContentPayload: Omit<RefineContentPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  RefundChargeInput: RefundChargeInput;
  RefundChargePayload: Omit<RefundChargePayload, 'balance' | 'refund'> & { balance: ResolversParentTypes['TokenBalance'], refund: ResolversParentTypes['LedgerEntry'] };
  ResolveCastInput: ResolveCastInput;
  ResolveCastPayload: Omit<ResolveCastPayload, 'balance'> & { balance: ResolversParentTypes['TokenBalance'] };
  SetBrandQuotaInput: SetBrandQuotaInput;
  SetBrandQuotaPayload: Omit<SetBrandQuotaPayload, 'brand'> & { brand: ResolversParentTypes['Brand'] };
  SetUserPlanInput: SetUserPlanInput;
  SetUserPlanPayload: Omit<SetUserPlanPayload, 'user'> & { user: ResolversParentTypes['User'] };
  SetUserRoleInput: SetUserRoleInput;
  SetUserRolePayload: Omit<SetUserRolePayload, 'user'> & { user: ResolversParentTypes['User'] };
  SignInInput: SignInInput;
  SignUpInput: SignUpInput;
  StartBrandNarrativeFlowInput: StartBrandNarrativeFlowInput;
  StartBrandNarrativeFlowPayload: Omit<StartBrandNarrativeFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartCalendarBatchFlowInput: StartCalendarBatchFlowInput;
  StartCalendarBatchFlowPayload: Omit<StartCalendarBatchFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartCharacterFlowInput: StartCharacterFlowInput;
  StartCharacterFlowPayload: Omit<StartCharacterFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartCharacterRefinementFlowInput: StartCharacterRefinementFlowInput;
  StartCharacterRefinementFlowPayload: Omit<StartCharacterRefinementFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartContentFlowInput: StartContentFlowInput;
  StartContentFlowPayload: Omit<StartContentFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartContentRefinementFlowInput: StartContentRefinementFlowInput;
  StartContentRefinementFlowPayload: Omit<StartContentRefinementFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartExpandBriefFlowInput: StartExpandBriefFlowInput;
  StartExpandBriefFlowPayload: Omit<StartExpandBriefFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartMonthlyPlotFlowInput: StartMonthlyPlotFlowInput;
  StartMonthlyPlotFlowPayload: Omit<StartMonthlyPlotFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartSeasonThemeFlowInput: StartSeasonThemeFlowInput;
  StartSeasonThemeFlowPayload: Omit<StartSeasonThemeFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  StartWeeklySubplotFlowInput: StartWeeklySubplotFlowInput;
  StartWeeklySubplotFlowPayload: Omit<StartWeeklySubplotFlowPayload, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  SystemTokenStats: SystemTokenStats;
  TaskTypeUsage: TaskTypeUsage;
  TokenAlert: AlertModel;
  TokenBalance: BalanceModel;
  TokenGrant: GrantModel;
  TokenPackage: TokenPackageModel;
  TokenPurchase: TokenPurchaseModel;
  TokenPurchaseConnection: Omit<TokenPurchaseConnection, 'edges'> & { edges: Array<ResolversParentTypes['TokenPurchaseEdge']> };
  TokenPurchaseEdge: Omit<TokenPurchaseEdge, 'node'> & { node: ResolversParentTypes['TokenPurchase'] };
  TokenUsage: TokenUsage;
  UpsertTokenPackageInput: UpsertTokenPackageInput;
  UpsertTokenPackagePayload: Omit<UpsertTokenPackagePayload, 'package'> & { package: ResolversParentTypes['TokenPackage'] };
  User: UserModel;
};

export type AuthPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AuthPayload'] = ResolversParentTypes['AuthPayload']> = {
  token?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type BrandResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Brand'] = ResolversParentTypes['Brand']> = {
  audience?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  description?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  generations?: Resolver<ResolversTypes['GenerationConnection'], ParentType, ContextType, RequireFields<BrandGenerationsArgs, 'first'>>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  industry?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  quota?: Resolver<Maybe<ResolversTypes['BrandQuota']>, ParentType, ContextType>;
  tokenUsage?: Resolver<ResolversTypes['TokenUsage'], ParentType, ContextType, RequireFields<BrandTokenUsageArgs, 'days'>>;
};

export type BrandQuotaResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['BrandQuota'] = ResolversParentTypes['BrandQuota']> = {
  monthlyTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  remaining?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  reserved?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  resetsAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  used?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type BulkGrantResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['BulkGrant'] = ResolversParentTypes['BulkGrant']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  grant?: Resolver<ResolversTypes['TokenGrant'], ParentType, ContextType>;
  replayed?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  userId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
};

export type BuyerProfileResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['BuyerProfile'] = ResolversParentTypes['BuyerProfile']> = {
  buyingTriggers?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  needs?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  objections?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  segment?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  summary?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CalendarEntryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['CalendarEntry'] = ResolversParentTypes['CalendarEntry']> = {
  channel?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  date?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  summary?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  title?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CancelFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['CancelFlowPayload'] = ResolversParentTypes['CancelFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type CastMemberResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['CastMember'] = ResolversParentTypes['CastMember']> = {
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  reason?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CharacterResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Character'] = ResolversParentTypes['Character']> = {
  backstory?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  traits?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
};

export type ChatWithAndoraPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatWithAndoraPayload'] = ResolversParentTypes['ChatWithAndoraPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  reply?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type ContentBriefResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ContentBrief'] = ResolversParentTypes['ContentBrief']> = {
  callToAction?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  keyMessages?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  objective?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  title?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ContentStrategyResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ContentStrategy'] = ResolversParentTypes['ContentStrategy']> = {
  cadence?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  channels?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  pillars?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  summary?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CreateBrandPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['CreateBrandPayload'] = ResolversParentTypes['CreateBrandPayload']> = {
  brand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType>;
};

export type DailyUsageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DailyUsage'] = ResolversParentTypes['DailyUsage']> = {
  date?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type ExpandBriefPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ExpandBriefPayload'] = ResolversParentTypes['ExpandBriefPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  expandedBrief?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type ExpiringTokensResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ExpiringTokens'] = ResolversParentTypes['ExpiringTokens']> = {
  amount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  expiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type FlowProgressEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowProgressEvent'] = ResolversParentTypes['FlowProgressEvent']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
  step?: Resolver<Maybe<ResolversTypes['FlowStep']>, ParentType, ContextType>;
  type?: Resolver<ResolversTypes['FlowEventType'], ParentType, ContextType>;
  usage?: Resolver<Maybe<ResolversTypes['FlowUsage']>, ParentType, ContextType>;
};

export type FlowRunResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowRun'] = ResolversParentTypes['FlowRun']> = {
  brand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  failedStep?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  input?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['FlowKind'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['FlowRunStatus'], ParentType, ContextType>;
  steps?: Resolver<Array<ResolversTypes['FlowStep']>, ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['FlowUsage'], ParentType, ContextType>;
};

export type FlowRunConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowRunConnection'] = ResolversParentTypes['FlowRunConnection']> = {
  edges?: Resolver<Array<ResolversTypes['FlowRunEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type FlowRunEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowRunEdge'] = ResolversParentTypes['FlowRunEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type FlowStepResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowStep'] = ResolversParentTypes['FlowStep']> = {
  agent?: Resolver<ResolversTypes['FlowAgent'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  generationId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  index?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  ledgerEntryId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  output?: Resolver<Maybe<ResolversTypes['JSON']>, ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['FlowStepStatus'], ParentType, ContextType>;
  usage?: Resolver<Maybe<ResolversTypes['GenerationUsage']>, ParentType, ContextType>;
};

export type FlowUsageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowUsage'] = ResolversParentTypes['FlowUsage']> = {
  completionTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  costUsd?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  promptTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  totalTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type GenerateBuyerProfilePayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateBuyerProfilePayload'] = ResolversParentTypes['GenerateBuyerProfilePayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  buyerProfile?: Resolver<ResolversTypes['BuyerProfile'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateCalendarEntryPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateCalendarEntryPayload'] = ResolversParentTypes['GenerateCalendarEntryPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  entry?: Resolver<ResolversTypes['CalendarEntry'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateCalendarPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateCalendarPayload'] = ResolversParentTypes['GenerateCalendarPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  entries?: Resolver<Array<ResolversTypes['CalendarEntry']>, ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateCharactersPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateCharactersPayload'] = ResolversParentTypes['GenerateCharactersPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  characters?: Resolver<Array<ResolversTypes['Character']>, ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateContentBriefPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateContentBriefPayload'] = ResolversParentTypes['GenerateContentBriefPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  brief?: Resolver<ResolversTypes['ContentBrief'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateContentStrategyPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateContentStrategyPayload'] = ResolversParentTypes['GenerateContentStrategyPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  contentStrategy?: Resolver<ResolversTypes['ContentStrategy'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateMissionPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateMissionPayload'] = ResolversParentTypes['GenerateMissionPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  mission?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateMonthlyPlotPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateMonthlyPlotPayload'] = ResolversParentTypes['GenerateMonthlyPlotPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  plot?: Resolver<ResolversTypes['Plot'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateMonthlyThemePayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateMonthlyThemePayload'] = ResolversParentTypes['GenerateMonthlyThemePayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  theme?: Resolver<ResolversTypes['MonthlyTheme'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateNarrativePrefillPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateNarrativePrefillPayload'] = ResolversParentTypes['GenerateNarrativePrefillPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  prefill?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GeneratePersonaPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GeneratePersonaPayload'] = ResolversParentTypes['GeneratePersonaPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  persona?: Resolver<ResolversTypes['Persona'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerateVisionPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateVisionPayload'] = ResolversParentTypes['GenerateVisionPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
  vision?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type GenerateWeeklySubplotPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerateWeeklySubplotPayload'] = ResolversParentTypes['GenerateWeeklySubplotPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  subplot?: Resolver<ResolversTypes['Plot'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Generation'] = ResolversParentTypes['Generation']> = {
  brandId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  ledgerEntryId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  output?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['GenerationStatus'], ParentType, ContextType>;
  taskType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type GenerationConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerationConnection'] = ResolversParentTypes['GenerationConnection']> = {
  edges?: Resolver<Array<ResolversTypes['GenerationEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type GenerationEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerationEdge'] = ResolversParentTypes['GenerationEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Generation'], ParentType, ContextType>;
};

export type GenerationStreamEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerationStreamEvent'] = ResolversParentTypes['GenerationStreamEvent']> = {
  balance?: Resolver<Maybe<ResolversTypes['TokenBalance']>, ParentType, ContextType>;
  delta?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  done?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  generationId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  usage?: Resolver<Maybe<ResolversTypes['GenerationUsage']>, ParentType, ContextType>;
};

export type GenerationUsageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GenerationUsage'] = ResolversParentTypes['GenerationUsage']> = {
  completionTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  costUsd?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  promptTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  totalTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type GrantTokensBulkPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GrantTokensBulkPayload'] = ResolversParentTypes['GrantTokensBulkPayload']> = {
  grants?: Resolver<Array<ResolversTypes['BulkGrant']>, ParentType, ContextType>;
};

export type GrantTokensPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['GrantTokensPayload'] = ResolversParentTypes['GrantTokensPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  grant?: Resolver<ResolversTypes['TokenGrant'], ParentType, ContextType>;
  ledgerEntry?: Resolver<ResolversTypes['LedgerEntry'], ParentType, ContextType>;
};

export interface JsonScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['JSON'], any> {
  name: 'JSON';
}

export type LedgerEntryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['LedgerEntry'] = ResolversParentTypes['LedgerEntry']> = {
  amount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  balanceAfter?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  brandId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  completionTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  costUsd?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  details?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  generation?: Resolver<Maybe<ResolversTypes['Generation']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  idempotencyKey?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['LedgerEntryKind'], ParentType, ContextType>;
  model?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  promptTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  refersTo?: Resolver<Maybe<ResolversTypes['LedgerEntry']>, ParentType, ContextType>;
  taskType?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type LedgerEntryConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['LedgerEntryConnection'] = ResolversParentTypes['LedgerEntryConnection']> = {
  edges?: Resolver<Array<ResolversTypes['LedgerEntryEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type LedgerEntryEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['LedgerEntryEdge'] = ResolversParentTypes['LedgerEntryEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['LedgerEntry'], ParentType, ContextType>;
};

export type MonthlyThemeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MonthlyTheme'] = ResolversParentTypes['MonthlyTheme']> = {
  description?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  keywords?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  title?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  cancelFlow?: Resolver<ResolversTypes['CancelFlowPayload'], ParentType, ContextType, RequireFields<MutationCancelFlowArgs, 'input'>>;
  chatWithAndora?: Resolver<ResolversTypes['ChatWithAndoraPayload'], ParentType, ContextType, RequireFields<MutationChatWithAndoraArgs, 'input'>>;
  createBrand?: Resolver<ResolversTypes['CreateBrandPayload'], ParentType, ContextType, RequireFields<MutationCreateBrandArgs, 'input'>>;
  expandBrief?: Resolver<ResolversTypes['ExpandBriefPayload'], ParentType, ContextType, RequireFields<MutationExpandBriefArgs, 'input'>>;
  generateBuyerProfile?: Resolver<ResolversTypes['GenerateBuyerProfilePayload'], ParentType, ContextType, RequireFields<MutationGenerateBuyerProfileArgs, 'input'>>;
  generateCalendar?: Resolver<ResolversTypes['GenerateCalendarPayload'], ParentType, ContextType, RequireFields<MutationGenerateCalendarArgs, 'input'>>;
  generateCalendarEntry?: Resolver<ResolversTypes['GenerateCalendarEntryPayload'], ParentType, ContextType, RequireFields<MutationGenerateCalendarEntryArgs, 'input'>>;
  generateCharacters?: Resolver<ResolversTypes['GenerateCharactersPayload'], ParentType, ContextType, RequireFields<MutationGenerateCharactersArgs, 'input'>>;
  generateContentBrief?: Resolver<ResolversTypes['GenerateContentBriefPayload'], ParentType, ContextType, RequireFields<MutationGenerateContentBriefArgs, 'input'>>;
  generateContentStrategy?: Resolver<ResolversTypes['GenerateContentStrategyPayload'], ParentType, ContextType, RequireFields<MutationGenerateContentStrategyArgs, 'input'>>;
  generateMission?: Resolver<ResolversTypes['GenerateMissionPayload'], ParentType, ContextType, RequireFields<MutationGenerateMissionArgs, 'input'>>;
  generateMonthlyPlot?: Resolver<ResolversTypes['GenerateMonthlyPlotPayload'], ParentType, ContextType, RequireFields<MutationGenerateMonthlyPlotArgs, 'input'>>;
  generateMonthlyTheme?: Resolver<ResolversTypes['GenerateMonthlyThemePayload'], ParentType, ContextType, RequireFields<MutationGenerateMonthlyThemeArgs, 'input'>>;
  generateNarrativePrefill?: Resolver<ResolversTypes['GenerateNarrativePrefillPayload'], ParentType, ContextType, RequireFields<MutationGenerateNarrativePrefillArgs, 'input'>>;
  generatePersona?: Resolver<ResolversTypes['GeneratePersonaPayload'], ParentType, ContextType, RequireFields<MutationGeneratePersonaArgs, 'input'>>;
  generateVision?: Resolver<ResolversTypes['GenerateVisionPayload'], ParentType, ContextType, RequireFields<MutationGenerateVisionArgs, 'input'>>;
  generateWeeklySubplot?: Resolver<ResolversTypes['GenerateWeeklySubplotPayload'], ParentType, ContextType, RequireFields<MutationGenerateWeeklySubplotArgs, 'input'>>;
  grantTokens?: Resolver<ResolversTypes['GrantTokensPayload'], ParentType, ContextType, RequireFields<MutationGrantTokensArgs, 'input'>>;
  grantTokensBulk?: Resolver<ResolversTypes['GrantTokensBulkPayload'], ParentType, ContextType, RequireFields<MutationGrantTokensBulkArgs, 'input'>>;
  purchaseTokenPackage?: Resolver<ResolversTypes['PurchaseTokenPackagePayload'], ParentType, ContextType, RequireFields<MutationPurchaseTokenPackageArgs, 'input'>>;
  refineCharacterField?: Resolver<ResolversTypes['RefineCharacterFieldPayload'], ParentType, ContextType, RequireFields<MutationRefineCharacterFieldArgs, 'input'>>;
  refineContent?: Resolver<ResolversTypes['RefineContentPayload'], ParentType, ContextType, RequireFields<MutationRefineContentArgs, 'input'>>;
  refundCharge?: Resolver<ResolversTypes['RefundChargePayload'], ParentType, ContextType, RequireFields<MutationRefundChargeArgs, 'input'>>;
  resolveCast?: Resolver<ResolversTypes['ResolveCastPayload'], ParentType, ContextType, RequireFields<MutationResolveCastArgs, 'input'>>;
  setBrandQuota?: Resolver<ResolversTypes['SetBrandQuotaPayload'], ParentType, ContextType, RequireFields<MutationSetBrandQuotaArgs, 'input'>>;
  setUserPlan?: Resolver<ResolversTypes['SetUserPlanPayload'], ParentType, ContextType, RequireFields<MutationSetUserPlanArgs, 'input'>>;
  setUserRole?: Resolver<ResolversTypes['SetUserRolePayload'], ParentType, ContextType, RequireFields<MutationSetUserRoleArgs, 'input'>>;
  signIn?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationSignInArgs, 'input'>>;
  signUp?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationSignUpArgs, 'input'>>;
  startBrandNarrativeFlow?: Resolver<ResolversTypes['StartBrandNarrativeFlowPayload'], ParentType, ContextType, RequireFields<MutationStartBrandNarrativeFlowArgs, 'input'>>;
  startCalendarBatchFlow?: Resolver<ResolversTypes['StartCalendarBatchFlowPayload'], ParentType, ContextType, RequireFields<MutationStartCalendarBatchFlowArgs, 'input'>>;
  startCharacterFlow?: Resolver<ResolversTypes['StartCharacterFlowPayload'], ParentType, ContextType, RequireFields<MutationStartCharacterFlowArgs, 'input'>>;
  startCharacterRefinementFlow?: Resolver<ResolversTypes['StartCharacterRefinementFlowPayload'], ParentType, ContextType, RequireFields<MutationStartCharacterRefinementFlowArgs, 'input'>>;
  startContentFlow?: Resolver<ResolversTypes['StartContentFlowPayload'], ParentType, ContextType, RequireFields<MutationStartContentFlowArgs, 'input'>>;
  startContentRefinementFlow?: Resolver<ResolversTypes['StartContentRefinementFlowPayload'], ParentType, ContextType, RequireFields<MutationStartContentRefinementFlowArgs, 'input'>>;
  startExpandBriefFlow?: Resolver<ResolversTypes['StartExpandBriefFlowPayload'], ParentType, ContextType, RequireFields<MutationStartExpandBriefFlowArgs, 'input'>>;
  startMonthlyPlotFlow?: Resolver<ResolversTypes['StartMonthlyPlotFlowPayload'], ParentType, ContextType, RequireFields<MutationStartMonthlyPlotFlowArgs, 'input'>>;
  startSeasonThemeFlow?: Resolver<ResolversTypes['StartSeasonThemeFlowPayload'], ParentType, ContextType, RequireFields<MutationStartSeasonThemeFlowArgs, 'input'>>;
  startWeeklySubplotFlow?: Resolver<ResolversTypes['StartWeeklySubplotFlowPayload'], ParentType, ContextType, RequireFields<MutationStartWeeklySubplotFlowArgs, 'input'>>;
  upsertTokenPackage?: Resolver<ResolversTypes['UpsertTokenPackagePayload'], ParentType, ContextType, RequireFields<MutationUpsertTokenPackageArgs, 'input'>>;
};

export type PageInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type PersonaResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Persona'] = ResolversParentTypes['Persona']> = {
  goals?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  occupation?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  painPoints?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  summary?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type PlotResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Plot'] = ResolversParentTypes['Plot']> = {
  beats?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  synopsis?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  title?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type PurchaseTokenPackagePayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PurchaseTokenPackagePayload'] = ResolversParentTypes['PurchaseTokenPackagePayload']> = {
  checkoutUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  purchase?: Resolver<ResolversTypes['TokenPurchase'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  brand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType, RequireFields<QueryBrandArgs, 'id'>>;
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType, RequireFields<QueryFlowRunArgs, 'id'>>;
  flowRuns?: Resolver<ResolversTypes['FlowRunConnection'], ParentType, ContextType, RequireFields<QueryFlowRunsArgs, 'brandId' | 'first'>>;
  generation?: Resolver<ResolversTypes['Generation'], ParentType, ContextType, RequireFields<QueryGenerationArgs, 'id'>>;
  me?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  systemTokenStats?: Resolver<ResolversTypes['SystemTokenStats'], ParentType, ContextType>;
  tokenAlerts?: Resolver<Array<ResolversTypes['TokenAlert']>, ParentType, ContextType>;
  tokenBalance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  tokenGrants?: Resolver<Array<ResolversTypes['TokenGrant']>, ParentType, ContextType, RequireFields<QueryTokenGrantsArgs, 'includeExpired'>>;
  tokenLedger?: Resolver<ResolversTypes['LedgerEntryConnection'], ParentType, ContextType, RequireFields<QueryTokenLedgerArgs, 'first'>>;
  tokenPackages?: Resolver<Array<ResolversTypes['TokenPackage']>, ParentType, ContextType>;
  tokenPurchases?: Resolver<ResolversTypes['TokenPurchaseConnection'], ParentType, ContextType, RequireFields<QueryTokenPurchasesArgs, 'first'>>;
  tokenUsage?: Resolver<ResolversTypes['TokenUsage'], ParentType, ContextType, RequireFields<QueryTokenUsageArgs, 'days'>>;
};

export type RateLimitResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['RateLimit'] = ResolversParentTypes['RateLimit']> = {
  limit?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  remaining?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  resetsAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
};

export type RefineCharacterFieldPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['RefineCharacterFieldPayload'] = ResolversParentTypes['RefineCharacterFieldPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type RefineContentPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['RefineContentPayload'] = ResolversParentTypes['RefineContentPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  content?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type RefundChargePayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['RefundChargePayload'] = ResolversParentTypes['RefundChargePayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  refund?: Resolver<ResolversTypes['LedgerEntry'], ParentType, ContextType>;
};

export type ResolveCastPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ResolveCastPayload'] = ResolversParentTypes['ResolveCastPayload']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  cast?: Resolver<Array<ResolversTypes['CastMember']>, ParentType, ContextType>;
  generationId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  usage?: Resolver<ResolversTypes['GenerationUsage'], ParentType, ContextType>;
};

export type SetBrandQuotaPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SetBrandQuotaPayload'] = ResolversParentTypes['SetBrandQuotaPayload']> = {
  brand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType>;
};

export type SetUserPlanPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SetUserPlanPayload'] = ResolversParentTypes['SetUserPlanPayload']> = {
  pendingPlan?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  pendingPlanFrom?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  plan?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type SetUserRolePayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SetUserRolePayload'] = ResolversParentTypes['SetUserRolePayload']> = {
  previousRole?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type StartBrandNarrativeFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartBrandNarrativeFlowPayload'] = ResolversParentTypes['StartBrandNarrativeFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartCalendarBatchFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartCalendarBatchFlowPayload'] = ResolversParentTypes['StartCalendarBatchFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartCharacterFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartCharacterFlowPayload'] = ResolversParentTypes['StartCharacterFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartCharacterRefinementFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartCharacterRefinementFlowPayload'] = ResolversParentTypes['StartCharacterRefinementFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartContentFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartContentFlowPayload'] = ResolversParentTypes['StartContentFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartContentRefinementFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartContentRefinementFlowPayload'] = ResolversParentTypes['StartContentRefinementFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartExpandBriefFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartExpandBriefFlowPayload'] = ResolversParentTypes['StartExpandBriefFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartMonthlyPlotFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartMonthlyPlotFlowPayload'] = ResolversParentTypes['StartMonthlyPlotFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartSeasonThemeFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartSeasonThemeFlowPayload'] = ResolversParentTypes['StartSeasonThemeFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type StartWeeklySubplotFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StartWeeklySubplotFlowPayload'] = ResolversParentTypes['StartWeeklySubplotFlowPayload']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type SubscriptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  balanceChanged?: SubscriptionResolver<ResolversTypes['TokenBalance'], "balanceChanged", ParentType, ContextType>;
  chatWithAndoraStream?: SubscriptionResolver<ResolversTypes['GenerationStreamEvent'], "chatWithAndoraStream", ParentType, ContextType, RequireFields<SubscriptionChatWithAndoraStreamArgs, 'input'>>;
  expandBriefStream?: SubscriptionResolver<ResolversTypes['GenerationStreamEvent'], "expandBriefStream", ParentType, ContextType, RequireFields<SubscriptionExpandBriefStreamArgs, 'input'>>;
  flowProgress?: SubscriptionResolver<ResolversTypes['FlowProgressEvent'], "flowProgress", ParentType, ContextType, RequireFields<SubscriptionFlowProgressArgs, 'flowRunId'>>;
  generationStream?: SubscriptionResolver<ResolversTypes['GenerationStreamEvent'], "generationStream", ParentType, ContextType, RequireFields<SubscriptionGenerationStreamArgs, 'brandId' | 'task'>>;
  tokenAlertRaised?: SubscriptionResolver<ResolversTypes['TokenAlert'], "tokenAlertRaised", ParentType, ContextType, RequireFields<SubscriptionTokenAlertRaisedArgs, 'allUsers'>>;
};

export type SystemTokenStatsResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SystemTokenStats'] = ResolversParentTypes['SystemTokenStats']> = {
  activeAlerts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  avgBalancePerUser?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  lowBalanceUsers?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  totalTokensUsedToday?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  totalUsersWithTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type TaskTypeUsageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TaskTypeUsage'] = ResolversParentTypes['TaskTypeUsage']> = {
  taskType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type TokenAlertResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenAlert'] = ResolversParentTypes['TokenAlert']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  details?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  resolvedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  severity?: Resolver<ResolversTypes['AlertSeverity'], ParentType, ContextType>;
  type?: Resolver<ResolversTypes['AlertType'], ParentType, ContextType>;
  userId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
};

export type TokenBalanceResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenBalance'] = ResolversParentTypes['TokenBalance']> = {
  available?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  expiringSoon?: Resolver<Maybe<ResolversTypes['ExpiringTokens']>, ParentType, ContextType>;
  plan?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  reserved?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  tokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type TokenGrantResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenGrant'] = ResolversParentTypes['TokenGrant']> = {
  amount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  expiredAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  expiresAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  priority?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  reason?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  remaining?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  source?: Resolver<ResolversTypes['GrantSource'], ParentType, ContextType>;
};

export type TokenPackageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenPackage'] = ResolversParentTypes['TokenPackage']> = {
  active?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  currency?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  priceCents?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  tokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type TokenPurchaseResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenPurchase'] = ResolversParentTypes['TokenPurchase']> = {
  amountCents?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  completedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  currency?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  deficitTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  packageId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  refundedCents?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  revokedTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['TokenPurchaseStatus'], ParentType, ContextType>;
  tokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type TokenPurchaseConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenPurchaseConnection'] = ResolversParentTypes['TokenPurchaseConnection']> = {
  edges?: Resolver<Array<ResolversTypes['TokenPurchaseEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type TokenPurchaseEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenPurchaseEdge'] = ResolversParentTypes['TokenPurchaseEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['TokenPurchase'], ParentType, ContextType>;
};

export type TokenUsageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TokenUsage'] = ResolversParentTypes['TokenUsage']> = {
  avgPerDay?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  byDate?: Resolver<Array<ResolversTypes['DailyUsage']>, ParentType, ContextType>;
  byTaskType?: Resolver<Array<ResolversTypes['TaskTypeUsage']>, ParentType, ContextType>;
  totalTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type UpsertTokenPackagePayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['UpsertTokenPackagePayload'] = ResolversParentTypes['UpsertTokenPackagePayload']> = {
  package?: Resolver<ResolversTypes['TokenPackage'], ParentType, ContextType>;
};

export type UserResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User']> = {
  balance?: Resolver<ResolversTypes['TokenBalance'], ParentType, ContextType>;
  brands?: Resolver<Array<ResolversTypes['Brand']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  email?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  plan?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  rateLimits?: Resolver<Array<ResolversTypes['RateLimit']>, ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
};

export type Resolvers<ContextType = GraphQLContext> = {
  AuthPayload?: AuthPayloadResolvers<ContextType>;
  Brand?: BrandResolvers<ContextType>;
  BrandQuota?: BrandQuotaResolvers<ContextType>;
  BulkGrant?: BulkGrantResolvers<ContextType>;
  BuyerProfile?: BuyerProfileResolvers<ContextType>;
  CalendarEntry?: CalendarEntryResolvers<ContextType>;
  CancelFlowPayload?: CancelFlowPayloadResolvers<ContextType>;
  CastMember?: CastMemberResolvers<ContextType>;
  Character?: CharacterResolvers<ContextType>;
  ChatWithAndoraPayload?: ChatWithAndoraPayloadResolvers<ContextType>;
  ContentBrief?: ContentBriefResolvers<ContextType>;
  ContentStrategy?: ContentStrategyResolvers<ContextType>;
  CreateBrandPayload?: CreateBrandPayloadResolvers<ContextType>;
  DailyUsage?: DailyUsageResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  ExpandBriefPayload?: ExpandBriefPayloadResolvers<ContextType>;
  ExpiringTokens?: ExpiringTokensResolvers<ContextType>;
  FlowProgressEvent?: FlowProgressEventResolvers<ContextType>;
  FlowRun?: FlowRunResolvers<ContextType>;
  FlowRunConnection?: FlowRunConnectionResolvers<ContextType>;
  FlowRunEdge?: FlowRunEdgeResolvers<ContextType>;
  FlowStep?: FlowStepResolvers<ContextType>;
  FlowUsage?: FlowUsageResolvers<ContextType>;
  GenerateBuyerProfilePayload?: GenerateBuyerProfilePayloadResolvers<ContextType>;
  GenerateCalendarEntryPayload?: GenerateCalendarEntryPayloadResolvers<ContextType>;
  GenerateCalendarPayload?: GenerateCalendarPayloadResolvers<ContextType>;
  GenerateCharactersPayload?: GenerateCharactersPayloadResolvers<ContextType>;
  GenerateContentBriefPayload?: GenerateContentBriefPayloadResolvers<ContextType>;
  GenerateContentStrategyPayload?: GenerateContentStrategyPayloadResolvers<ContextType>;
  GenerateMissionPayload?: GenerateMissionPayloadResolvers<ContextType>;
  GenerateMonthlyPlotPayload?: GenerateMonthlyPlotPayloadResolvers<ContextType>;
  GenerateMonthlyThemePayload?: GenerateMonthlyThemePayloadResolvers<ContextType>;
  GenerateNarrativePrefillPayload?: GenerateNarrativePrefillPayloadResolvers<ContextType>;
  GeneratePersonaPayload?: GeneratePersonaPayloadResolvers<ContextType>;
  GenerateVisionPayload?: GenerateVisionPayloadResolvers<ContextType>;
  GenerateWeeklySubplotPayload?: GenerateWeeklySubplotPayloadResolvers<ContextType>;
  Generation?: GenerationResolvers<ContextType>;
  GenerationConnection?: GenerationConnectionResolvers<ContextType>;
  GenerationEdge?: GenerationEdgeResolvers<ContextType>;
  GenerationStreamEvent?: GenerationStreamEventResolvers<ContextType>;
  GenerationUsage?: GenerationUsageResolvers<ContextType>;
  GrantTokensBulkPayload?: GrantTokensBulkPayloadResolvers<ContextType>;
  GrantTokensPayload?: GrantTokensPayloadResolvers<ContextType>;
  JSON?: GraphQLScalarType;
  LedgerEntry?: LedgerEntryResolvers<ContextType>;
  LedgerEntryConnection?: LedgerEntryConnectionResolvers<ContextType>;
  LedgerEntryEdge?: LedgerEntryEdgeResolvers<ContextType>;
  MonthlyTheme?: MonthlyThemeResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Persona?: PersonaResolvers<ContextType>;
  Plot?: PlotResolvers<ContextType>;
  PurchaseTokenPackagePayload?: PurchaseTokenPackagePayloadResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  RateLimit?: RateLimitResolvers<ContextType>;
  RefineCharacterFieldPayload?: RefineCharacterFieldPayloadResolvers<ContextType>;
  RefineContentPayload?: RefineContentPayloadResolvers<ContextType>;
  RefundChargePayload?: RefundChargePayloadResolvers<ContextType>;
  ResolveCastPayload?: ResolveCastPayloadResolvers<ContextType>;
  SetBrandQuotaPayload?: SetBrandQuotaPayloadResolvers<ContextType>;
  SetUserPlanPayload?: SetUserPlanPayloadResolvers<ContextType>;
  SetUserRolePayload?: SetUserRolePayloadResolvers<ContextType>;
  StartBrandNarrativeFlowPayload?: StartBrandNarrativeFlowPayloadResolvers<ContextType>;
  StartCalendarBatchFlowPayload?: StartCalendarBatchFlowPayloadResolvers<ContextType>;
  StartCharacterFlowPayload?: StartCharacterFlowPayloadResolvers<ContextType>;
  StartCharacterRefinementFlowPayload?: StartCharacterRefinementFlowPayloadResolvers<ContextType>;
  StartContentFlowPayload?: StartContentFlowPayloadResolvers<ContextType>;
  StartContentRefinementFlowPayload?: StartContentRefinementFlowPayloadResolvers<ContextType>;
  StartExpandBriefFlowPayload?: StartExpandBriefFlowPayloadResolvers<ContextType>;
  StartMonthlyPlotFlowPayload?: StartMonthlyPlotFlowPayloadResolvers<ContextType>;
  StartSeasonThemeFlowPayload?: StartSeasonThemeFlowPayloadResolvers<ContextType>;
  StartWeeklySubplotFlowPayload?: StartWeeklySubplotFlowPayloadResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  SystemTokenStats?: SystemTokenStatsResolvers<ContextType>;
  TaskTypeUsage?: TaskTypeUsageResolvers<ContextType>;
  TokenAlert?: TokenAlertResolvers<ContextType>;
  TokenBalance?: TokenBalanceResolvers<ContextType>;
  TokenGrant?: TokenGrantResolvers<ContextType>;
  TokenPackage?: TokenPackageResolvers<ContextType>;
  TokenPurchase?: TokenPurchaseResolvers<ContextType>;
  TokenPurchaseConnection?: TokenPurchaseConnectionResolvers<ContextType>;
  TokenPurchaseEdge?: TokenPurchaseEdgeResolvers<ContextType>;
  TokenUsage?: TokenUsageResolvers<ContextType>;
  UpsertTokenPackagePayload?: UpsertTokenPackagePayloadResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
};

