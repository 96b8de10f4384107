import type { Logger } from 'pino';
import type { BalanceSnapshot, Hold } from '../balance/actor';
import type { BalanceService, SettleResult } from '../balance/service';
import type { Pricing } from '../ai/pricing';
import { ProviderError, type ChatMessage, type Provider, type ProviderName, type ReplyFormat, type Usage } from '../ai/provider';
import type { ModelRouter, ModelTier } from '../ai/router';
import { StorableDeltas, storableText, storableValue } from '../db/storable';
import { AppError } from '../errors';
import { countMessageTokens, countSchemaTokens, countTokens } from '../ai/tokenizer';

/**
 * One metered model call: who pays, for what, and how much output it may produce. `P` is what the
 * caller makes of the reply (the parsed output), built by `attach` and returned in the result.
 */
export interface MeteredCall<P = unknown> {
  userId: string;
  brandId: string;
  taskType: string;
  tier: ModelTier;
  messages: ChatMessage[];
  /** The task's output cap; sent as max_tokens and covered by the hold. */
  outputTokensMax: number;
  /** The reply's JSON schema (sent to the vendor, so counted into the hold) and offline sample; absent for prose. */
  format?: ReplyFormat | undefined;
  idempotencyKey?: string | undefined;
  /** With idempotencyKey: what the key was sent with (src/idempotency.ts), kept in the ledger entry's metadata. */
  requestFingerprint?: string | undefined;
  /**
   * Builds what is stored with the charge (the generation row) from the text produced, and what
   * the caller gets back as the result's `produced`. Called once per charge, never for a failed call.
   */
  attach?: (text: string, meta: { model: string; partial: boolean }) => Attached<P>;
  /**
   * What is stored with the charge of a call that failed after the vendor reported usage for it
   * (a flow step's row, so it shows what it was charged). No generation is stored for a failure.
   */
  attachFailure?: (meta: { model: string }) => Record<string, unknown>;
}

export interface Attached<P> {
  /** Written in the same commit as the charge, by the flusher's attachment writers. */
  attachments: Record<string, unknown>;
  produced: P;
}

export interface MeteredUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  model: string;
  costNanoUsd: number;
}

export interface MeteredResult<P = unknown> {
  text: string;
  /** What the call's `attach` built from the reply; undefined without one. */
  produced: P | undefined;
  usage: MeteredUsage;
  balance: BalanceSnapshot;
  ledgerEntryId: string;
}

export type MeteredStreamEvent<P = unknown> =
  | { type: 'delta'; text: string }
  | ({ type: 'done' } & MeteredResult<P>);

export interface StoppableResult<P = unknown> extends MeteredResult<P> {
  /** The caller's signal stopped the call: charged for the prompt and the text produced until then. */
  stopped: boolean;
}

/** Observes the metering path (metrics, logs). */
export interface MeterObserver {
  called?(provider: ProviderName, model: string, ms: number, outcome: 'ok' | 'error'): void;
  charged?(call: MeteredCall, usage: MeteredUsage, result: SettleResult): void;
}

/**
 * The only way to call a model. Every call, streamed or not:
 *   count the prompt's tokens → reserve prompt + output cap (refused before any provider call when
 *   the balance cannot cover it) → call with max_tokens = the cap the hold covers → settle exactly
 *   the usage the provider reports → the rest of the hold goes back. A failure releases the hold,
 *   unless the provider reported usage for it, which is then charged. A call its consumer stops
 *   midway (a stream left, a flow step cancelled) is charged for its prompt and the text produced.
 */
export class Meter {
  private readonly observers: MeterObserver[] = [];

  constructor(
    private readonly balance: BalanceService,
    private readonly providers: Record<ProviderName, Provider | undefined>,
    private readonly router: ModelRouter,
    private readonly pricing: Pricing,
    private readonly log: Logger,
  ) {}

  addObserver(observer: MeterObserver): void {
    this.observers.push(observer);
  }

  /** What a call would reserve, for refusing a flow up front. */
  estimate(tier: ModelTier, messages: ChatMessage[], outputTokensMax: number, format?: ReplyFormat): number {
    const { model } = this.router.route(tier);
    return countedPrompt(model, messages, format) + outputTokensMax;
  }

  /** One call that runs to its end; a caller that may stop it uses completeStoppable. */
  async complete<P>(call: MeteredCall<P>): Promise<MeteredResult<P>> {
    const { provider, model, hold } = await this.prepare(call);
    const started = performance.now();
    let result;
    try {
      result = await provider.complete({ model, messages: call.messages, maxOutputTokens: call.outputTokensMax, format: call.format });
    } catch (err) {
      this.observe(provider.name, model, started, 'error');
      throw await this.failed(call, hold, model, err, '');
    }
    this.observe(provider.name, model, started, 'ok');
    return this.settle(call, hold, model, result.text, result.usage, false);
  }

  /**
   * Streams deltas, then one 'done' with the exact usage once its charge is durable. Stopping the
   * iteration early (unsubscribe, disconnect) aborts the upstream request at once and charges the
   * prompt plus the tokens produced so far, counted with the tokenizer.
   */
  stream<P>(call: MeteredCall<P>): AsyncIterableIterator<MeteredStreamEvent<P>> {
    const abort = new AbortController();
    const inner = this.streamInner(call, abort.signal);
    return {
      next: () => inner.next(),
      // An async generator only sees return() at its next yield; aborting first makes a stalled
      // upstream read fail now, so the generator reaches its cleanup without waiting on the vendor.
      return: async (value?: unknown) => {
        abort.abort(new StreamStopped());
        return inner.return(value as never);
      },
      throw: (err?: unknown) => {
        abort.abort(new StreamStopped());
        return inner.throw(err);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * A call its caller may stop (a flow step that is cancelled). It runs on the streaming path, so a
   * stop knows what was produced: when `signal` aborts mid-call, the upstream request is aborted and
   * the prompt plus the text produced so far are charged, exactly as for a stream the client left,
   * and the result says `stopped`. Aborted before the provider was called, nothing is charged and it
   * rejects with StreamStopped.
   */
  async completeStoppable<P>(call: MeteredCall<P>, signal: AbortSignal): Promise<StoppableResult<P>> {
    const stop: StopCharge<P> = {};
    for await (const event of this.streamInner(call, signal, stop)) {
      if (event.type !== 'done') continue;
      const { type: _done, ...result } = event;
      return { ...result, stopped: false };
    }
    if (!stop.charged) throw new StreamStopped();
    return { ...(await stop.charged), stopped: true };
  }

  private async *streamInner<P>(call: MeteredCall<P>, signal: AbortSignal, stop?: StopCharge<P>): AsyncGenerator<MeteredStreamEvent<P>, void, undefined> {
    const { provider, model, hold, promptEstimate } = await this.prepare(call);
    if (signal.aborted) {
      // Stopped while the hold was being taken: the provider was never called.
      this.balance.release(hold);
      return;
    }
    const started = performance.now();
    let text = '';
    const deltas = new StorableDeltas();
    let finished = false;
    let reportedBeforeStop: Usage | undefined;
    try {
      const request = { model, messages: call.messages, maxOutputTokens: call.outputTokensMax, format: call.format, signal };
      for await (const event of provider.stream(request)) {
        if (event.type === 'delta') {
          text += event.text;
          const storable = deltas.push(event.text);
          if (storable) yield { type: 'delta', text: storable };
          continue;
        }
        finished = true;
        this.observe(provider.name, model, started, 'ok');
        const rest = deltas.end();
        if (rest) yield { type: 'delta', text: rest };
        yield { type: 'done', ...(await this.settle(call, hold, model, event.text || text, event.usage, false)) };
        return;
      }
      throw new ProviderError('stream ended without a final usage report', { provider: provider.name, kind: 'protocol' });
    } catch (err) {
      if (finished) throw err;
      if (signal.aborted) {
        // Stopped by the consumer: charged in finally, with the vendor's prompt count if it sent one.
        reportedBeforeStop = err instanceof ProviderError ? err.usage : undefined;
        return;
      }
      this.observe(provider.name, model, started, 'error');
      finished = true;
      throw await this.failed(call, hold, model, err, text);
    } finally {
      if (!finished) {
        // The consumer went away mid-stream: the vendor did the work up to here, so it is charged.
        const usage = {
          promptTokens: reportedBeforeStop?.promptTokens || promptEstimate,
          completionTokens: countTokens(model, text),
        };
        const charged = this.settle(call, hold, model, text, usage, true);
        if (stop) stop.charged = charged;
        await charged.catch((err) => this.log.error({ err, userId: call.userId, holdId: hold.id }, 'could not charge a stopped stream'));
      }
    }
  }

  private async prepare(call: MeteredCall<unknown>): Promise<{ provider: Provider; model: string; hold: Hold; promptEstimate: number }> {
    const route = this.router.route(call.tier);
    const provider = this.providers[route.provider];
    if (!provider) throw new Error(`router chose ${route.provider}, which is not configured`);
    const promptEstimate = countedPrompt(route.model, call.messages, call.format);
    const hold = await this.balance.reserve(call.userId, promptEstimate + call.outputTokensMax, {
      brandId: call.brandId,
      taskType: call.taskType,
      model: route.model,
      idempotencyKey: call.idempotencyKey,
      requestFingerprint: call.requestFingerprint,
    });
    return { provider, model: route.model, hold, promptEstimate };
  }

  /**
   * Every charge goes through here, so this is where a vendor's text is made storable (NUL removed,
   * unpaired surrogates replaced): before the task parses it, and once more on what is attached,
   * since parsing may decode escapes such as `\u0000` in a JSON reply. Tokens are charged as the
   * vendor reported them, whatever the text held.
   */
  private async settle<P>(call: MeteredCall<P>, hold: Hold, model: string, reply: string, usage: Usage, partial: boolean): Promise<MeteredResult<P>> {
    const costNanoUsd = this.pricing.costNanoUsd(model, usage);
    const tokens = usage.promptTokens + usage.completionTokens;
    const text = storableText(reply);
    const attached = call.attach?.(text, { model, partial });
    const attachments = storableValue(attached?.attachments ?? {});
    const result = await this.balance.settle(hold, { tokens, ...usage, costNanoUsd, model }, attachments);
    const metered: MeteredUsage = { ...usage, totalTokens: tokens, model, costNanoUsd };
    for (const o of this.observers) o.charged?.(call, metered, result);
    return { text, produced: attached?.produced, usage: metered, balance: result.snapshot, ledgerEntryId: result.entryId };
  }

  /** Releases the hold, or charges what the vendor reported before failing; returns the client's error. */
  private async failed(call: MeteredCall<unknown>, hold: Hold, model: string, err: unknown, text: string): Promise<Error> {
    if (!(err instanceof ProviderError)) {
      this.balance.release(hold);
      return err instanceof Error ? err : new Error(String(err));
    }
    let charged: MeteredResult | undefined;
    if (err.usage && err.usage.promptTokens + err.usage.completionTokens > 0) {
      // A failed attempt must not claim the idempotency key: the client's retry should run again.
      const unkeyed = { ...hold, meta: { ...hold.meta, idempotencyKey: undefined } };
      const usage = { promptTokens: err.usage.promptTokens, completionTokens: Math.max(err.usage.completionTokens, countTokens(model, text)) };
      const { attachFailure } = call;
      const attach = attachFailure && (() => ({ attachments: attachFailure({ model }), produced: undefined }));
      charged = await this.settle({ ...call, attach, idempotencyKey: undefined }, unkeyed, model, text, usage, true);
    } else {
      this.balance.release(hold);
    }
    this.log.warn({ userId: call.userId, task: call.taskType, provider: err.provider, kind: err.kind, status: err.status }, 'provider call failed');
    const message = `the AI provider failed (${err.kind}${err.status ? ` ${err.status}` : ''}); nothing was charged beyond reported usage`;
    return new UpstreamFailedError(message, { provider: err.provider, retryable: err.retryable }, charged);
  }

  private observe(provider: ProviderName, model: string, started: number, outcome: 'ok' | 'error'): void {
    for (const o of this.observers) o.called?.(provider, model, performance.now() - started, outcome);
  }
}

/** The prompt as the vendor bills it, as far as we can count: the messages, and the reply schema when one is sent. */
function countedPrompt(model: string, messages: ChatMessage[], format: ReplyFormat | undefined): number {
  const schemaTokens = format?.json ? countSchemaTokens(model, format.json) : 0;
  return countMessageTokens(model, messages) + schemaTokens;
}

/** Where streamInner leaves the charge of a call stopped midway, for completeStoppable to return. */
interface StopCharge<P> {
  charged?: Promise<MeteredResult<P>>;
}

/**
 * UPSTREAM_FAILED: the provider failed. `charged` is the charge the usage it reported before failing
 * left (committed), or undefined when nothing was charged and the hold went back.
 */
export class UpstreamFailedError extends AppError {
  constructor(
    message: string,
    extensions: Record<string, unknown>,
    readonly charged: MeteredResult | undefined,
  ) {
    super('UPSTREAM_FAILED', message, extensions);
  }
}

/** The abort reason when our consumer stops a stream. */
export class StreamStopped extends Error {
  constructor() {
    super('stream stopped by the client');
  }
}
