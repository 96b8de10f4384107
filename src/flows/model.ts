import type { FlowRunStatus, FlowStepStatus } from '../db/entities';
import type { AgentName, AgentTaskType } from './agents';
import type { FlowKind } from './flows';

/** A flow run as the service holds it and the resolvers show it: the run row with its steps in order. */
export interface FlowRunModel {
  id: string;
  userId: string;
  brandId: string;
  kind: FlowKind;
  status: FlowRunStatus;
  input: Record<string, unknown>;
  error: string | null;
  failedStep: number | null;
  createdAt: Date;
  finishedAt: Date | null;
  steps: FlowStepModel[];
}

export interface FlowStepModel {
  /** From 1. */
  index: number;
  agent: AgentName;
  taskType: AgentTaskType;
  status: FlowStepStatus;
  generationId: string | null;
  ledgerEntryId: string | null;
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  costNanoUsd: number;
  output: unknown;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Tokens and cost summed over steps; integers, so the sum is exact. */
export interface FlowUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costNanoUsd: number;
}

export type FlowEventType = 'STATE' | 'STEP_STARTED' | 'STEP_FINISHED' | 'STEP_FAILED' | 'FLOW_FINISHED' | 'FLOW_FAILED' | 'FLOW_CANCELLED';

export interface FlowEvent {
  type: FlowEventType;
  /** The run right after this event; a copy, so later changes do not reach an undelivered event. */
  flowRun: FlowRunModel;
  /** The step the event is about: STEP_* events, and FLOW_FAILED / FLOW_CANCELLED for the step that ended the run. */
  step: FlowStepModel | null;
  /** STEP_FINISHED: that step's usage; FLOW_*: the run's total. */
  usage: FlowUsage | null;
}

const FINAL_EVENTS: ReadonlySet<FlowEventType> = new Set(['FLOW_FINISHED', 'FLOW_FAILED', 'FLOW_CANCELLED']);

export function isFinalEvent(event: FlowEvent): boolean {
  return FINAL_EVENTS.has(event.type) || (event.type === 'STATE' && event.flowRun.status !== 'RUNNING');
}

/** What the run has been charged: the usage of its charged steps (finished, and a cancelled one for what it produced). */
export function runUsage(run: FlowRunModel): FlowUsage {
  const usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, costNanoUsd: 0 };
  for (const step of run.steps) {
    if (step.ledgerEntryId === null) continue;
    usage.promptTokens += step.promptTokens;
    usage.completionTokens += step.completionTokens;
    usage.costNanoUsd += step.costNanoUsd;
  }
  usage.totalTokens = usage.promptTokens + usage.completionTokens;
  return usage;
}

export function stepUsage(step: FlowStepModel): FlowUsage {
  return {
    promptTokens: step.promptTokens,
    completionTokens: step.completionTokens,
    totalTokens: step.promptTokens + step.completionTokens,
    costNanoUsd: step.costNanoUsd,
  };
}

/** A copy that later changes to the run do not reach. Outputs and input are never changed once set. */
export function copyRun(run: FlowRunModel): FlowRunModel {
  return { ...run, steps: run.steps.map((step) => ({ ...step })) };
}
