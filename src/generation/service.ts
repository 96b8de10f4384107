import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { AccountService } from '../accounts/service';
import { parseInput } from '../input';
import type { BalanceSnapshot } from '../balance/actor';
import type { BalanceService } from '../balance/service';
import { KeyInFlightError } from '../balance/errors';
import { brandContext, type TaskDefinition } from '../ai/tasks';
import { LIMITS } from '../config';
import type { IBrand, IGeneration } from '../db/entities';
import { IdempotentRuns, idempotencyKeyReused, requestFingerprint } from '../idempotency';
import type { Meter, MeteredCall, MeteredUsage } from '../metering/meter';
import { generationAttachment } from './attachment';
import { findGenerationByKey } from './store';

export interface GenerationOutcome {
  generationId: string;
  output: unknown;
  usage: MeteredUsage;
  balance: BalanceSnapshot;
}

export interface GenerationStreamEvent {
  delta: string;
  done: boolean;
  usage: MeteredUsage | null;
  balance: BalanceSnapshot | null;
  generationId: string | null;
}

/** Waits for a key running on another instance (KeyInFlightError), from the first pause doubling up to the last. */
export const KEY_IN_FLIGHT_WAITS_MAX = 40;
export const KEY_IN_FLIGHT_PAUSE_MIN_MS = 25;
export const KEY_IN_FLIGHT_PAUSE_MAX_MS = 2_000;

/** An idempotency key and the fingerprint of the request it was sent with. */
interface Keyed {
  key: string;
  fingerprint: string;
}

const idempotencyKeySchema = z
  .string()
  .min(1, 'idempotencyKey: must not be empty')
  .max(LIMITS.idempotencyKeyCharsMax, `idempotencyKey: at most ${LIMITS.idempotencyKeyCharsMax} characters`)
  .nullish();

/**
 * Runs a task for a user on one of their brands: checks ownership and input, builds the prompt
 * from the brand's context, and goes through the meter. What was generated is stored in the same
 * commit as its charge; an idempotency key replays the stored result without a second call.
 */
export class GenerationService {
  /** Keyed generations running in this process. */
  private readonly keyed = new IdempotentRuns();

  constructor(
    private readonly orm: MikroORM,
    private readonly accounts: AccountService,
    private readonly balance: BalanceService,
    private readonly meter: Meter,
  ) {}

  async run(userId: string, task: TaskDefinition, input: Record<string, unknown>): Promise<GenerationOutcome> {
    const { brandId, idempotencyKey, ...fields } = input;
    const key = parseInput(idempotencyKeySchema, idempotencyKey) ?? undefined;
    const brand = await this.accounts.ownedBrand(userId, String(brandId));
    const params = parseInput(task.input, fields);
    if (!key) return this.generate(userId, task, brand, params, undefined);
    // What the key is for: the task, the brand and the parsed fields, never the key itself.
    const keyed = { key, fingerprint: requestFingerprint({ task: task.task, brandId: brand.id, input: params }) };
    const work = () => this.generateKeyed(userId, task, brand, params, keyed);
    return this.keyed.once(userId, key, keyed.fingerprint, () => this.replay(userId, task, keyed), work);
  }

  /**
   * Clustered mode: the same key may be running on another instance (the balance's owner refuses the
   * second hold with KeyInFlightError): wait for the first to be stored and replay it, or run once the
   * key is free again (the first failed and charged nothing under it); at most KEY_IN_FLIGHT_WAITS_MAX waits.
   */
  private async generateKeyed(userId: string, task: TaskDefinition, brand: IBrand, params: unknown, keyed: Keyed): Promise<GenerationOutcome> {
    for (let wait = 0; ; wait++) {
      try {
        return await this.generate(userId, task, brand, params, keyed);
      } catch (err) {
        if (!(err instanceof KeyInFlightError) || wait >= KEY_IN_FLIGHT_WAITS_MAX) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(KEY_IN_FLIGHT_PAUSE_MAX_MS, KEY_IN_FLIGHT_PAUSE_MIN_MS * 2 ** wait)));
      const stored = await this.replay(userId, task, keyed);
      if (stored) return stored;
    }
  }

  /** A streamed run of any task; the last event carries the exact usage and the balance after it. */
  async stream(userId: string, task: TaskDefinition, brandId: string, fields: Record<string, unknown>): Promise<AsyncIterableIterator<GenerationStreamEvent>> {
    const brand = await this.accounts.ownedBrand(userId, brandId);
    const params = parseInput(task.input, fields);
    const generationId = randomUUID();
    const events = this.meter.stream(this.call(userId, task, brand, params, undefined, generationId));
    const iterator: AsyncIterableIterator<GenerationStreamEvent> = {
      next: async () => {
        const r = await events.next();
        if (r.done) return { done: true, value: undefined };
        const e = r.value;
        return e.type === 'delta'
          ? { done: false, value: { delta: e.text, done: false, usage: null, balance: null, generationId: null } }
          : { done: false, value: { delta: '', done: true, usage: e.usage, balance: e.balance, generationId } };
      },
      return: async () => {
        await events.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private async generate(userId: string, task: TaskDefinition, brand: IBrand, params: unknown, keyed: Keyed | undefined): Promise<GenerationOutcome> {
    const generationId = randomUUID();
    const result = await this.meter.complete(this.call(userId, task, brand, params, keyed, generationId));
    return { generationId, output: result.produced, usage: result.usage, balance: result.balance };
  }

  private call(
    userId: string,
    task: TaskDefinition,
    brand: IBrand,
    params: unknown,
    keyed: Keyed | undefined,
    generationId: string,
  ): MeteredCall {
    return {
      userId,
      brandId: brand.id,
      taskType: task.task,
      tier: task.tier,
      messages: task.messages(brandContext(brand), params),
      outputTokensMax: task.outputTokensMax,
      format: task.format?.(params),
      idempotencyKey: keyed?.key,
      requestFingerprint: keyed?.fingerprint,
      attach: (text, { model, partial }) => {
        const output = task.parse(text);
        const attachments = generationAttachment({ id: generationId, brandId: brand.id, taskType: task.task, model, output, partial, requestFingerprint: keyed?.fingerprint });
        return { attachments, produced: output };
      },
    };
  }

  /** The result already paid for under this key (for this very request), with today's balance. */
  private async replay(userId: string, task: TaskDefinition, { key, fingerprint }: Keyed): Promise<GenerationOutcome | undefined> {
    const stored = await findGenerationByKey(this.orm, userId, key);
    if (!stored) return undefined;
    // Generations stored before fingerprints were kept (migration 30) can only be told apart by task.
    const same = stored.requestFingerprint ? stored.requestFingerprint === fingerprint : stored.taskType === task.task;
    if (!same) throw idempotencyKeyReused();
    return { generationId: stored.id, output: stored.output, usage: storedUsage(stored), balance: await this.balance.snapshot(userId) };
  }
}

function storedUsage(g: IGeneration): MeteredUsage {
  return {
    promptTokens: g.promptTokens,
    completionTokens: g.completionTokens,
    totalTokens: g.promptTokens + g.completionTokens,
    model: g.model,
    costNanoUsd: g.costNanoUsd,
  };
}
