import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { BrandContext } from '../ai/tasks/define';
import { BalanceFencedError, BalanceUnavailableError, InsufficientTokensError, TooManyHoldsError } from '../balance/errors';
import { AppError } from '../errors';
import { generationAttachment } from '../generation/attachment';
import { UpstreamFailedError, type Meter, type MeteredCall } from '../metering/meter';
import { stepContext, type StoredContext } from './context';
import type { StepPlan } from './flows';
import { copyRun, runUsage, stepUsage, type FlowEvent, type FlowEventType, type FlowRunModel, type FlowStepModel, type FlowUsage } from './model';
import { endRun, FLOW_STEP_ATTACHMENT, markStepStarted, type FlowStepAttachment } from './store';

type Produced = Partial<Pick<FlowStepModel, 'output' | 'generationId' | 'finishedAt'>>;

export interface RunnerDeps {
  orm: MikroORM;
  meter: Meter;
  log: Logger;
  publish(event: FlowEvent): void;
}

/** Why a run was cancelled: the abort reason, shown as the run's error. */
export const CANCELLED_BY_USER = 'cancelled by the user';
export const CANCELLED_BY_SHUTDOWN = 'cancelled: the service shut down';

/**
 * Runs one flow's steps in order, each through the meter on its own (reserve → call → settle), so
 * the run costs exactly the sum of its steps. The run's state changes only here, and each change is
 * written to the database before it is published, so what a subscriber sees is always stored.
 */
export class FlowRunner {
  private readonly abort = new AbortController();

  constructor(
    private readonly run: FlowRunModel,
    private readonly plan: readonly StepPlan[],
    private readonly brand: BrandContext,
    private readonly stored: StoredContext,
    private readonly deps: RunnerDeps,
  ) {}

  get id(): string {
    return this.run.id;
  }

  get userId(): string {
    return this.run.userId;
  }

  snapshot(): FlowRunModel {
    return copyRun(this.run);
  }

  /**
   * Aborts the running step's provider request, which is charged like a stopped stream (its prompt
   * and what it had produced); later steps never start.
   */
  cancel(reason: string): void {
    this.abort.abort(reason);
  }

  /** Never rejects: every outcome ends the run with a final event. */
  async execute(): Promise<void> {
    try {
      for (const step of this.run.steps) {
        if (this.abort.signal.aborted) return await this.cancelled(undefined);
        const outcome = await this.runStep(step);
        if (outcome === 'cancelled') return await this.cancelled(step);
        if (outcome === 'failed') return;
      }
      await this.finished();
    } catch (err) {
      await this.broke(err);
    }
  }

  private async runStep(step: FlowStepModel): Promise<'finished' | 'failed' | 'cancelled'> {
    const startedAt = new Date();
    await markStepStarted(this.deps.orm, this.run.id, step.index, startedAt);
    Object.assign(step, { status: 'RUNNING', startedAt });
    this.emit('STEP_STARTED', step, null);
    if (this.abort.signal.aborted) return 'cancelled';
    try {
      const result = await this.deps.meter.completeStoppable(this.call(step), this.abort.signal);
      const { promptTokens, completionTokens, costNanoUsd, model } = result.usage;
      const status = result.stopped ? 'CANCELLED' : 'FINISHED';
      Object.assign(step, result.produced, { status, ledgerEntryId: result.ledgerEntryId, model, promptTokens, completionTokens, costNanoUsd });
      if (result.stopped) return 'cancelled';
      this.emit('STEP_FINISHED', step, stepUsage(step));
      return 'finished';
    } catch (err) {
      if (this.abort.signal.aborted) return 'cancelled';
      // The vendor billed the failed call (e.g. the prompt, reported up front): the step shows that charge.
      if (err instanceof UpstreamFailedError && err.charged) {
        const { promptTokens, completionTokens, costNanoUsd, model } = err.charged.usage;
        Object.assign(step, { ledgerEntryId: err.charged.ledgerEntryId, model, promptTokens, completionTokens, costNanoUsd });
      }
      await this.failed(step, err);
      return 'failed';
    }
  }

  /**
   * The step's metered call; its generation and its step row (FINISHED, or CANCELLED when the cancel
   * stopped it midway) are stored with its charge. What the reply produced comes back as the result's
   * `produced`, shown once the charge has committed. A step stopped before any text stores no generation;
   * a step whose provider failed after reporting usage stores its row (FAILED) with that charge.
   */
  private call(step: FlowStepModel): MeteredCall<Produced> {
    const { agent, params, includes } = this.plan[step.index - 1]!;
    const earlier = includes.map((index) => this.run.steps[index - 1]!.output);
    const context = stepContext(this.brand, agent, params, this.stored, earlier);
    return {
      userId: this.run.userId,
      brandId: this.run.brandId,
      taskType: agent.taskType,
      tier: agent.tier,
      messages: agent.messages(context, params),
      outputTokensMax: agent.outputTokensMax,
      format: agent.format?.(params),
      attach: (text, { model, partial }) => {
        const finishedAt = new Date();
        const status = partial ? 'CANCELLED' : 'FINISHED';
        const row: FlowStepAttachment = { flowRunId: this.run.id, index: step.index, status, generationId: null, output: null, finishedAt };
        if (partial && text === '') return { attachments: { [FLOW_STEP_ATTACHMENT]: row }, produced: { finishedAt } };
        const output = agent.parse(text);
        const generationId = randomUUID();
        const generation = generationAttachment({ id: generationId, brandId: this.run.brandId, taskType: agent.taskType, model, output, partial });
        const attachments = { ...generation, [FLOW_STEP_ATTACHMENT]: { ...row, generationId, output } };
        return { attachments, produced: { finishedAt, output, generationId } };
      },
      attachFailure: () => {
        const row: FlowStepAttachment = { flowRunId: this.run.id, index: step.index, status: 'FAILED', generationId: null, output: null, finishedAt: new Date() };
        return { [FLOW_STEP_ATTACHMENT]: row };
      },
    };
  }

  private async failed(step: FlowStepModel, err: unknown): Promise<void> {
    if (!isRefusal(err)) this.deps.log.error({ err, flowRunId: this.run.id, step: step.index }, 'flow step failed unexpectedly');
    const reason = isRefusal(err) ? err.message : INTERNAL_REASON;
    const agent = this.plan[step.index - 1]!.agent.name;
    Object.assign(step, { status: 'FAILED', error: reason, finishedAt: new Date() });
    const error = `step ${step.index} of ${this.run.steps.length} (${agent}) failed: ${reason}`;
    await this.end('FAILED', error, step.index, step);
    this.emit('STEP_FAILED', step, null);
    this.emit('FLOW_FAILED', step, runUsage(this.run));
  }

  private async cancelled(step: FlowStepModel | undefined): Promise<void> {
    if (step) Object.assign(step, { status: 'CANCELLED', finishedAt: step.finishedAt ?? new Date() });
    const reason: unknown = this.abort.signal.reason;
    await this.end('CANCELLED', typeof reason === 'string' ? reason : CANCELLED_BY_USER, null, step);
    this.emit('FLOW_CANCELLED', step ?? null, runUsage(this.run));
  }

  private async finished(): Promise<void> {
    await this.end('FINISHED', null, null, undefined);
    this.emit('FLOW_FINISHED', null, runUsage(this.run));
  }

  /**
   * The database failed under the run's own bookkeeping. Whatever was charged stays charged and
   * stored; the run is ended in memory so subscribers finish, and in the database if it answers
   * (else the next start-up marks it interrupted).
   */
  private async broke(err: unknown): Promise<void> {
    this.deps.log.error({ err, flowRunId: this.run.id }, 'flow run failed in its bookkeeping');
    const step = this.run.steps.find((s) => s.status === 'RUNNING');
    if (step) Object.assign(step, { status: 'FAILED', error: INTERNAL_REASON, finishedAt: new Date() });
    const ended = this.ending('FAILED', INTERNAL_REASON, step?.index ?? null);
    await endRun(this.deps.orm, ended, step).catch((again: unknown) =>
      this.deps.log.error({ err: again, flowRunId: this.run.id }, 'could not record the failed flow run'),
    );
    this.show(ended);
    this.emit('FLOW_FAILED', step ?? null, runUsage(this.run));
  }

  /** Writes the run's end, then shows it; the pending steps become SKIPPED in both. */
  private async end(status: FlowRunModel['status'], error: string | null, failedStep: number | null, endingStep: FlowStepModel | undefined): Promise<void> {
    const ended = this.ending(status, error, failedStep);
    await endRun(this.deps.orm, ended, endingStep);
    this.show(ended);
  }

  private ending(status: FlowRunModel['status'], error: string | null, failedStep: number | null): FlowRunModel {
    return { ...this.run, status, error, failedStep, finishedAt: new Date() };
  }

  private show({ status, error, failedStep, finishedAt }: FlowRunModel): void {
    Object.assign(this.run, { status, error, failedStep, finishedAt });
    for (const step of this.run.steps) if (step.status === 'PENDING') step.status = 'SKIPPED';
  }

  private emit(type: FlowEventType, step: FlowStepModel | null, usage: FlowUsage | null): void {
    this.deps.publish({ type, flowRun: this.snapshot(), step: step && { ...step }, usage });
  }
}

const INTERNAL_REASON = 'an internal error';
const REFUSALS = [AppError, InsufficientTokensError, BalanceUnavailableError, BalanceFencedError, TooManyHoldsError];

/** Refusals and provider failures explain themselves; anything else is a bug, logged and not shown. */
function isRefusal(err: unknown): err is Error {
  return REFUSALS.some((type) => err instanceof type);
}
