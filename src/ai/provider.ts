/**
 * The one interface every AI vendor adapter implements. Vendor files (openai.ts, anthropic.ts,
 * offline.ts) only translate between this shape and their SDK, so metering never sees a vendor type.
 */
export type ProviderName = 'openai' | 'anthropic' | 'offline';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A JSON schema in the strict form both vendors accept: every property required, no others allowed. */
export interface JsonReplySchema {
  /** Names the schema for the vendor (OpenAI requires one): letters, digits, `_` and `-`, at most 64. */
  name: string;
  schema: Record<string, unknown>;
}

/** What the reply must look like when it is more than free text; the task builds it from its input. */
export interface ReplyFormat {
  /** Vendors hold the reply to this schema (structured outputs). Absent when the reply is not JSON (the calendar's lines). */
  json?: JsonReplySchema;
  /** A well-formed reply to this very request, every field filled, deterministic: what the offline provider answers. */
  sample: string;
}

export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
  /** Hard cap on generated tokens, sent to the vendor; a positive safe integer. */
  maxOutputTokens: number;
  /** Absent for free text. */
  format?: ReplyFormat;
  /** Aborting it aborts the upstream HTTP request. */
  signal?: AbortSignal;
}

/** Token counts exactly as the vendor reported them; always safe integers. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface CompletionResult {
  text: string;
  usage: Usage;
  /** The model the vendor says it ran (may be a dated snapshot of the requested id). */
  model: string;
}

export type StreamEvent =
  | { type: 'delta'; text: string }
  | { type: 'done'; text: string; usage: Usage; model: string };

export interface Provider {
  readonly name: ProviderName;
  complete(req: CompletionRequest): Promise<CompletionResult>;
  /**
   * Yields deltas in order then exactly one 'done' with the provider's reported usage. Breaking out of
   * the loop (iterator return) or aborting req.signal aborts the upstream HTTP request.
   */
  stream(req: CompletionRequest): AsyncIterable<StreamEvent>;
}

/**
 * - http: the vendor answered with an error status (or an error event inside a stream).
 * - connection: no HTTP answer at all (refused, reset).
 * - timeout: our deadline or the SDK's per-attempt timeout fired.
 * - aborted: the caller aborted req.signal.
 * - protocol: the answer did not have the shape we need (e.g. no usage), so nothing can be settled
 *   from it.
 */
export type ProviderErrorKind = 'http' | 'connection' | 'timeout' | 'aborted' | 'protocol';

export interface ProviderErrorOptions {
  provider: ProviderName;
  /** @default 'http' */
  kind?: ProviderErrorKind;
  /** The vendor's HTTP status, when it answered with one. */
  status?: number | undefined;
  /** True when sending the same request again may succeed (429, 5xx, timeouts, connection). @default false */
  retryable?: boolean;
  /** Usage the vendor reported before failing, if any (Anthropic reports input tokens up front). */
  usage?: Usage | undefined;
  cause?: unknown;
}

export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly usage: Usage | undefined;

  constructor(message: string, { provider, kind = 'http', status, retryable = false, usage, cause }: ProviderErrorOptions) {
    super(message, { cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.status = status;
    this.retryable = retryable;
    this.usage = usage;
  }
}

/** The statuses both vendors document as transient; the SDKs retry exactly these. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Vendor usage is untrusted input: anything but a non-negative safe integer is a protocol error. */
export function parseUsage(promptTokens: unknown, completionTokens: unknown): Usage | undefined {
  if (!isTokenCount(promptTokens) || !isTokenCount(completionTokens)) return undefined;
  return { promptTokens, completionTokens };
}

function isTokenCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** A caller passing a zero, fractional or huge cap is a programmer error, not an operating one. */
export function assertCompletionRequest(req: CompletionRequest): void {
  if (!Number.isSafeInteger(req.maxOutputTokens) || req.maxOutputTokens <= 0) {
    throw new Error(`maxOutputTokens must be a positive safe integer, got ${req.maxOutputTokens}`);
  }
}
