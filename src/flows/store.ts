import type { MikroORM } from '@mikro-orm/postgresql';
import type { JournalEntry } from '../balance/actor';
import type { AttachmentWriter, BoundStatement } from '../balance/flusher';
import { FlowRun, FlowStep, type IFlowRun, type IFlowStep } from '../db/entities';
import { inTransaction } from '../db/transaction';
import { decodeAfter, keysetCursor } from '../paging';
import type { AgentName, AgentTaskType } from './agents';
import type { FlowKind } from './flows';
import type { FlowRunModel, FlowStepModel } from './model';

/** Carried on a step's CHARGE journal entry: the step row is ended in the same commit as its charge. */
export interface FlowStepAttachment {
  flowRunId: string;
  index: number;
  /**
   * CANCELLED: the cancel stopped the step midway, and it is charged for what it had produced.
   * FAILED: the provider failed after reporting usage, which is charged (the runner then records why).
   */
  status: 'FINISHED' | 'CANCELLED' | 'FAILED';
  /** Null when a cancelled step had produced no text, and for a failed step. */
  generationId: string | null;
  output: unknown;
  finishedAt: Date;
}

export const FLOW_STEP_ATTACHMENT = 'flowStep';

export const INTERRUPTED_MESSAGE = 'interrupted by a restart';

/**
 * Ends each paid step: its status, usage, model, generation and ledger entry come from the entry
 * that charged it, so a step shown with usage is always one the ledger has charged, also after a crash.
 */
export const flowStepWriter: AttachmentWriter = {
  name: 'flow_steps',
  statement(entries: readonly JournalEntry[]): BoundStatement | null {
    const rows = [];
    for (const entry of entries) {
      const step = entry.attachments[FLOW_STEP_ATTACHMENT] as FlowStepAttachment | undefined;
      if (!step) continue;
      rows.push({
        flow_run_id: step.flowRunId,
        index: step.index,
        status: step.status,
        generation_id: step.generationId,
        ledger_entry_id: entry.id,
        model: entry.model,
        prompt_tokens: entry.promptTokens,
        completion_tokens: entry.completionTokens,
        cost_nano_usd: entry.costNanoUsd,
        output: step.output,
        finished_at: step.finishedAt.toISOString(),
      });
    }
    if (rows.length === 0) return null;
    return {
      sql: `update flow_steps s
          set status = r.status, generation_id = r.generation_id, ledger_entry_id = r.ledger_entry_id, model = r.model,
              prompt_tokens = r.prompt_tokens, completion_tokens = r.completion_tokens, cost_nano_usd = r.cost_nano_usd,
              output = r.output, finished_at = r.finished_at
         from json_to_recordset(?::json) as r(flow_run_id uuid, index int, status text, generation_id uuid, ledger_entry_id uuid, model text,
              prompt_tokens int, completion_tokens int, cost_nano_usd bigint, output jsonb, finished_at timestamptz)
        where s.flow_run_id = r.flow_run_id and s.index = r.index`,
      params: [JSON.stringify(rows)],
    };
  },
};

/** The run and all its steps (PENDING), in one transaction. */
export async function insertRun(orm: MikroORM, run: FlowRunModel, instanceId: string | null = null): Promise<void> {
  await inTransaction(orm, async (em) => {
    const { id, userId, brandId, kind, status, input, createdAt } = run;
    await em.insert(FlowRun, { id, userId, brandId, kind, status, input, createdAt, instanceId });
    await em.insertMany(
      FlowStep,
      run.steps.map((step) => ({ flowRunId: id, index: step.index, agent: step.agent, taskType: step.taskType, status: step.status })),
    );
  });
}

export async function markStepStarted(orm: MikroORM, flowRunId: string, index: number, startedAt: Date): Promise<void> {
  await orm.em.fork().nativeUpdate(FlowStep, { flowRunId, index }, { status: 'RUNNING', startedAt });
}

/**
 * Records how a run ended: its status and error, the step that ended it (failed or cancelled), and
 * the steps that never started as SKIPPED, in one transaction.
 */
export async function endRun(orm: MikroORM, run: FlowRunModel, endingStep: FlowStepModel | undefined): Promise<void> {
  await inTransaction(orm, async (em) => {
    await em.nativeUpdate(FlowRun, { id: run.id }, { status: run.status, error: run.error, failedStep: run.failedStep, finishedAt: run.finishedAt });
    if (endingStep) {
      await em.nativeUpdate(
        FlowStep,
        { flowRunId: run.id, index: endingStep.index },
        { status: endingStep.status, error: endingStep.error, finishedAt: endingStep.finishedAt },
      );
    }
    await em.nativeUpdate(FlowStep, { flowRunId: run.id, status: 'PENDING' }, { status: 'SKIPPED' });
  });
}

/**
 * Runs a previous process left RUNNING can never finish: they become FAILED, the step that was
 * running (its hold died with that process, so it was never charged) FAILED, the rest SKIPPED.
 * Steps whose charge committed are already FINISHED (see flowStepWriter).
 */
/** Which RUNNING runs failInterruptedRuns fails: every one (alone), those of no live instance, or those of these instances. */
export type InterruptedScope = { all: true } | { orphans: true } | { instanceIds: readonly string[] };

/**
 * Marks RUNNING runs FAILED, their running step FAILED and the steps after it SKIPPED: at start-up, the
 * runs a crash left (alone: all of them; clustered: those of no live instance), and, on the leader, the
 * runs of instances declared dead. Returns the runs failed.
 */
export async function failInterruptedRuns(orm: MikroORM, scope: InterruptedScope = { all: true }): Promise<string[]> {
  return inTransaction(orm, async (em) => {
    let where = '';
    let params: unknown[] = [];
    if ('orphans' in scope) {
      where = ` and (instance_id is null or not exists (select 1 from cluster_instances i
                 where i.id = flow_runs.instance_id and i.state <> 'GONE' and i.expires_at > clock_timestamp()))`;
    } else if ('instanceIds' in scope) {
      where = ' and instance_id in (select value from json_array_elements_text(?::json))';
      params = [JSON.stringify(scope.instanceIds)];
    }
    const running = `select id from flow_runs where status = 'RUNNING'${where}`;
    await em.execute(
      `update flow_steps set status = 'FAILED', error = ?, finished_at = now() where status = 'RUNNING' and flow_run_id in (${running})`,
      [INTERRUPTED_MESSAGE, ...params],
    );
    await em.execute(`update flow_steps set status = 'SKIPPED' where status = 'PENDING' and flow_run_id in (${running})`, params);
    const failed = await em.execute<Array<{ id: string }>>(
      `update flow_runs
          set status = 'FAILED', error = ?, finished_at = now(),
              failed_step = (select min(s.index) from flow_steps s where s.flow_run_id = flow_runs.id and s.status = 'FAILED')
        where status = 'RUNNING'${where}
        returning id`,
      [INTERRUPTED_MESSAGE, ...params],
    );
    return failed.map((r) => r.id);
  });
}

export async function findRun(orm: MikroORM, id: string): Promise<FlowRunModel | null> {
  const em = orm.em.fork();
  const run = await em.findOne(FlowRun, { id });
  if (!run) return null;
  const steps = await em.find(FlowStep, { flowRunId: id }, { orderBy: { index: 'asc' } });
  return toModel(run, steps);
}

/** The flow runs connection's cursor: (created_at, id), newest first. */
export const runCursor = keysetCursor('flowRuns');

/** A brand's runs, newest first, keyset-paginated on (created_at, id); two queries whatever the page size. */
export async function runsPage(orm: MikroORM, userId: string, brandId: string, first: number, after: string | null | undefined) {
  const em = orm.em.fork();
  const cursor = decodeAfter(runCursor, after);
  const older = cursor && { $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $lt: cursor.id } }] };
  const rows = await em.find(FlowRun, { userId, brandId, ...older }, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: first + 1 });
  const runs = rows.slice(0, first);
  const steps = runs.length === 0 ? [] : await em.find(FlowStep, { flowRunId: { $in: runs.map((r) => r.id) } }, { orderBy: { index: 'asc' } });
  return {
    runs: runs.map((run) => toModel(run, steps.filter((s) => s.flowRunId === run.id))),
    hasNextPage: rows.length > first,
  };
}

function toModel(run: IFlowRun, steps: IFlowStep[]): FlowRunModel {
  return {
    id: run.id,
    userId: run.userId,
    brandId: run.brandId,
    kind: run.kind as FlowKind,
    status: run.status,
    input: run.input,
    error: run.error ?? null,
    failedStep: run.failedStep ?? null,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt ?? null,
    steps: steps.map((step) => ({
      index: step.index,
      agent: step.agent as AgentName,
      taskType: step.taskType as AgentTaskType,
      status: step.status,
      generationId: step.generationId ?? null,
      ledgerEntryId: step.ledgerEntryId ?? null,
      model: step.model ?? null,
      promptTokens: step.promptTokens,
      completionTokens: step.completionTokens,
      costNanoUsd: step.costNanoUsd,
      output: step.output ?? null,
      error: step.error ?? null,
      startedAt: step.startedAt ?? null,
      finishedAt: step.finishedAt ?? null,
    })),
  };
}
