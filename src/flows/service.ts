import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AccountService } from '../accounts/service';
import { parseInput } from '../input';
import { brandContext, type BrandContext } from '../ai/tasks/define';
import { InsufficientTokensError } from '../balance/errors';
import type { BalanceService } from '../balance/service';
import type { FlowLimits } from '../config';
import type { IBrand } from '../db/entities';
import { AppError, notFound } from '../errors';
import type { Meter } from '../metering/meter';
import { withFirst, type PubSub } from '../realtime/pubsub';
import { loadStoredContext, stepContextBound, type StoredContext } from './context';
import { FLOW_STEPS_MAX, type FlowDefinition, type StepPlan } from './flows';
import { isFinalEvent, runUsage, type FlowEvent, type FlowRunModel } from './model';
import { CANCELLED_BY_SHUTDOWN, CANCELLED_BY_USER, FlowRunner } from './runner';
import { failInterruptedRuns, findRun, insertRun, runsPage } from './store';
import { checkPageSize } from '../paging';

const flowTopic = (flowRunId: string) => `flow:${flowRunId}`;

/**
 * Runs multi-agent flows for the owners of brands. Starting one checks ownership and input, refuses
 * a flow the balance cannot cover before anything runs, stores the run and returns it RUNNING; the
 * steps then run in the background in this process (bounded per user and overall), each metered on
 * its own. Progress goes out through PubSub; runs are read from memory while running, else from the
 * database.
 */
export class FlowService {
  private readonly live = new Map<string, { runner: FlowRunner; done: Promise<void> }>();
  /** Flows starting or running, per user and in all; a slot is taken before any await. */
  private readonly slotsByUser = new Map<string, number>();
  private slots = 0;
  private stopping = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly accounts: AccountService,
    private readonly balance: BalanceService,
    private readonly meter: Meter,
    private readonly pubsub: PubSub,
    private readonly log: Logger,
    private readonly limits: FlowLimits,
    /** Clustered mode: this instance's id, recorded on its runs (a survivor fails them if it dies). */
    private readonly instanceId: string | null = null,
  ) {}

  /** Runs left RUNNING by a previous process cannot resume: they are marked FAILED. */
  async start(): Promise<void> {
    const interrupted = (await failInterruptedRuns(this.orm, this.instanceId === null ? { all: true } : { orphans: true })).length;
    if (interrupted > 0) this.log.warn({ runs: interrupted }, 'flow runs interrupted by a restart were marked FAILED');
  }

  /**
   * Clustered mode, the leader's duty: the RUNNING runs of instances declared dead are marked FAILED,
   * and whoever watches one (on any instance) is told with a FLOW_FAILED event.
   */
  async failRunsOf(instanceIds: readonly string[]): Promise<number> {
    const failed = await failInterruptedRuns(this.orm, { instanceIds });
    for (const id of failed) {
      const run = await findRun(this.orm, id);
      if (!run) continue;
      const step = run.steps.find((s) => s.status === 'FAILED') ?? null;
      this.pubsub.publish(flowTopic(id), { type: 'FLOW_FAILED', flowRun: run, step, usage: runUsage(run) } satisfies FlowEvent);
    }
    return failed.length;
  }

  /** Cancels every running flow (each step is charged for what it did) and waits until all have ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.live.size > 0) {
      const running = [...this.live.values()];
      for (const { runner } of running) runner.cancel(CANCELLED_BY_SHUTDOWN);
      await Promise.all(running.map(({ done }) => done));
    }
  }

  /** Starts a flow on one of the user's brands and returns the run, RUNNING, without waiting for its steps. */
  async begin(userId: string, flow: FlowDefinition, input: Record<string, unknown>): Promise<FlowRunModel> {
    const { brandId, ...fields } = input;
    const brand = await this.accounts.ownedBrand(userId, String(brandId));
    const params = parseInput(flow.input, fields);
    this.takeSlot(userId);
    try {
      const runner = await this.prepare(userId, brand, flow, params);
      await this.storeAndLaunch(runner);
      return runner.snapshot();
    } catch (err) {
      this.giveSlot(userId);
      throw err;
    }
  }

  /** Cancels a running flow and waits for it to end; a run that has already ended is returned as it is. */
  async cancel(userId: string, flowRunId: string): Promise<FlowRunModel> {
    const live = this.live.get(flowRunId);
    if (!live || live.runner.userId !== userId) return this.get(userId, flowRunId);
    live.runner.cancel(CANCELLED_BY_USER);
    await live.done;
    return live.runner.snapshot();
  }

  /** The run, for the owner of its brand only: NOT_FOUND for anyone else, as for a run that does not exist. */
  async get(userId: string, flowRunId: string): Promise<FlowRunModel> {
    const live = this.live.get(flowRunId);
    if (live) {
      if (live.runner.userId !== userId) throw notFound('flow run');
      return live.runner.snapshot();
    }
    if (!z.uuid().safeParse(flowRunId).success) throw notFound('flow run');
    const run = await findRun(this.orm, flowRunId);
    if (!run || run.userId !== userId) throw notFound('flow run');
    return run;
  }

  /** A brand's runs, newest first; first is 1 to LIMITS.pageSizeMax. */
  async page(userId: string, brandId: string, first: number, after: string | null | undefined) {
    checkPageSize(first);
    const brand = await this.accounts.ownedBrand(userId, brandId);
    return runsPage(this.orm, userId, brand.id, first, after);
  }

  /**
   * The run's progress: first its state now (so a late subscriber misses nothing), then each event
   * as it happens, ending after the final one. A run that has ended sends its state and ends.
   */
  async progress(userId: string, flowRunId: string): Promise<AsyncIterableIterator<FlowEvent>> {
    const live = this.live.get(flowRunId);
    if (live && live.runner.userId === userId) {
      // Subscribed and snapshotted in the same tick: no event falls between the state and the stream.
      const state = live.runner.snapshot();
      const events = this.pubsub.subscribe<FlowEvent>(flowTopic(flowRunId), {
        // Every event of the run fits: a start and an end per step, and the run's own end.
        queueMax: 2 * state.steps.length + 2,
        initial: { type: 'STATE', flowRun: state, step: null, usage: null } satisfies FlowEvent,
      });
      return untilFinal(events);
    }
    // Running on another instance (clustered), or ended: hear the run's topic from every instance
    // first, then read its state, so no event falls between the state and the stream.
    const events = this.pubsub.subscribe<FlowEvent>(flowTopic(flowRunId), { queueMax: 2 * FLOW_STEPS_MAX + 2 });
    try {
      await this.pubsub.listening(flowTopic(flowRunId));
      const run = await this.get(userId, flowRunId);
      const state: FlowEvent = { type: 'STATE', flowRun: run, step: null, usage: null };
      if (isFinalEvent(state)) {
        await events.return?.();
        return stateOnly(state);
      }
      return withFirst(state, untilFinal(events));
    } catch (err) {
      await events.return?.();
      throw err;
    }
  }

  /** Plans the steps, reads the stored context once, and refuses what the balance cannot cover. */
  private async prepare(userId: string, brand: IBrand, flow: FlowDefinition, params: unknown): Promise<FlowRunner> {
    const plan = flow.plan(params);
    const stored = await loadStoredContext(this.orm, userId, brand.id, plan.map((step) => step.agent));
    const context = brandContext(brand);
    await this.refuseUnaffordable(userId, brand.id, context, plan, stored);
    const run = newRun(userId, brand.id, flow, params, plan);
    return new FlowRunner(run, plan, context, stored, {
      orm: this.orm,
      meter: this.meter,
      log: this.log,
      publish: (event) => this.pubsub.publish(flowTopic(run.id), event),
    });
  }

  /** Live before it is stored, so whoever can see the run's id finds it in `live` until it has ended. */
  private async storeAndLaunch(runner: FlowRunner): Promise<void> {
    if (this.stopping) throw shuttingDown();
    let ended!: () => void;
    this.live.set(runner.id, { runner, done: new Promise<void>((resolve) => (ended = resolve)) });
    try {
      await insertRun(this.orm, runner.snapshot(), this.instanceId);
    } catch (err) {
      this.live.delete(runner.id);
      ended();
      throw err;
    }
    this.launch(runner, ended);
  }

  /** Runs the steps in the background; `ended` resolves the run's `done` once it has ended and left `live`. */
  private launch(runner: FlowRunner, ended: () => void): void {
    void runner.execute().finally(() => {
      this.live.delete(runner.id);
      this.giveSlot(runner.userId);
      ended();
    });
    // Stored while stop() was cancelling the others: it must not outlive them.
    if (this.stopping) runner.cancel(CANCELLED_BY_SHUTDOWN);
  }

  /**
   * The flow's total estimate: for each step, what the meter would reserve for the largest prompt it
   * can have (its own, with what it reads from earlier steps at its budget: stepContextBound) plus its
   * own output cap. Each step reserves at most that, so the run never charges more than the estimate
   * (at the usage our tokenizer counts). Not a reservation, but a flow the balance or the brand's
   * monthly quota cannot cover is refused (INSUFFICIENT_TOKENS, QUOTA_EXCEEDED) before it costs anything.
   */
  private async refuseUnaffordable(userId: string, brandId: string, brand: BrandContext, plan: readonly StepPlan[], stored: StoredContext): Promise<void> {
    let required = 0;
    for (const { agent, params } of plan) {
      const messages = agent.messages(stepContextBound(brand, agent, stored), params);
      required += this.meter.estimate(agent.tier, messages, agent.outputTokensMax, agent.format?.(params));
    }
    const { available } = await this.balance.snapshot(userId);
    if (available < required) throw new InsufficientTokensError(available, required);
    await this.balance.refuseOverQuota(userId, brandId, required);
  }

  /**
   * Takes a slot or says which bound refused it (extensions.limit). Three bounds, checked in order:
   * - flowsPerUser: a user runs at most perUserMax flows.
   * - flowsRunning: the process runs at most runningMax flows.
   * - flowsFairShare: once all but the last fairShareReserve slots are taken (the high-water mark),
   *   a user already holding their fair share, the high-water mark divided among the users holding
   *   slots (at least 1), is refused; the reserve goes to users below their share, a newcomer first
   *   of all. So a few users (or one with many accounts) filling the table leave room for others,
   *   and those holding the most are refused first.
   */
  private takeSlot(userId: string): void {
    if (this.stopping) throw shuttingDown();
    const { perUserMax, runningMax, fairShareReserve } = this.limits;
    const mine = this.slotsByUser.get(userId) ?? 0;
    if (mine >= perUserMax) {
      throw new AppError('RATE_LIMITED', `at most ${perUserMax} flows may run at once; wait for one to end or cancel it`, { limit: 'flowsPerUser' });
    }
    if (this.slots >= runningMax) {
      throw new AppError('SERVICE_UNAVAILABLE', 'too many flows are running; retry shortly', { retryable: true, limit: 'flowsRunning' });
    }
    const highWater = runningMax - fairShareReserve;
    const share = Math.max(1, Math.floor(highWater / this.slotsByUser.size));
    if (this.slots >= highWater && mine >= share) {
      throw new AppError('RATE_LIMITED', `the service is busy and you already run ${mine} flows; wait for one to end or cancel it`, {
        retryable: true,
        limit: 'flowsFairShare',
      });
    }
    this.slotsByUser.set(userId, mine + 1);
    this.slots++;
  }

  private giveSlot(userId: string): void {
    const mine = (this.slotsByUser.get(userId) ?? 1) - 1;
    if (mine > 0) this.slotsByUser.set(userId, mine);
    else this.slotsByUser.delete(userId);
    this.slots--;
  }
}

const shuttingDown = () => new AppError('SERVICE_UNAVAILABLE', 'the service is shutting down', { retryable: true });

function newRun(userId: string, brandId: string, flow: FlowDefinition, params: unknown, plan: readonly StepPlan[]): FlowRunModel {
  return {
    id: randomUUID(),
    userId,
    brandId,
    kind: flow.kind,
    status: 'RUNNING',
    input: params as Record<string, unknown>,
    error: null,
    failedStep: null,
    createdAt: new Date(),
    finishedAt: null,
    steps: plan.map(({ agent }, i) => ({
      index: i + 1,
      agent: agent.name,
      taskType: agent.taskType,
      status: 'PENDING',
      generationId: null,
      ledgerEntryId: null,
      model: null,
      promptTokens: 0,
      completionTokens: 0,
      costNanoUsd: 0,
      output: null,
      error: null,
      startedAt: null,
      finishedAt: null,
    })),
  };
}

/** A run that has ended: its state is its last event. */
async function* stateOnly(state: FlowEvent): AsyncIterableIterator<FlowEvent> {
  yield state;
}

/** Passes events through until the final one (included), then ends and unsubscribes. */
function untilFinal(events: AsyncIterableIterator<FlowEvent>): AsyncIterableIterator<FlowEvent> {
  let ended = false;
  const iterator: AsyncIterableIterator<FlowEvent> = {
    next: async () => {
      if (ended) return { done: true, value: undefined };
      const result = await events.next();
      if (result.done) return result;
      if (isFinalEvent(result.value)) {
        ended = true;
        await events.return?.();
      }
      return result;
    },
    return: async () => {
      ended = true;
      await events.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
