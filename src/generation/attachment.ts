import type { JournalEntry } from '../balance/actor';
import type { GenerationStatus } from '../db/entities';

/**
 * What a paid generation stores, carried on its CHARGE's journal entry and written in the same
 * commit as the charge (generationWriter in ./store.ts). This file is the generation layer's one
 * entry point for others that store generations with their charges (flow steps): they build the
 * attachment here and never touch the writer or the table.
 */
export interface GenerationAttachment {
  id: string;
  brandId: string;
  taskType: string;
  status: GenerationStatus;
  model: string;
  output: unknown;
  /** The fingerprint of the request its idempotency key was sent with (see src/idempotency.ts). */
  requestFingerprint?: string | null;
}

export const GENERATION_ATTACHMENT = 'generation';

export interface GeneratedReply {
  id: string;
  brandId: string;
  taskType: string;
  model: string;
  /** What the task's (or agent's) parser made of the reply. */
  output: unknown;
  /** Stopped midway (a stream left, a flow step cancelled): stored as PARTIAL. */
  partial: boolean;
  requestFingerprint?: string | undefined;
}

/** The attachments entry that stores one generation with its charge. */
export function generationAttachment(reply: GeneratedReply): { [GENERATION_ATTACHMENT]: GenerationAttachment } {
  const { id, brandId, taskType, model, output, partial, requestFingerprint } = reply;
  const status = partial ? 'PARTIAL' : 'COMPLETED';
  return { [GENERATION_ATTACHMENT]: { id, brandId, taskType, status, model, output, requestFingerprint: requestFingerprint ?? null } };
}

export function generationOf(entry: JournalEntry): GenerationAttachment | undefined {
  return entry.attachments[GENERATION_ATTACHMENT] as GenerationAttachment | undefined;
}
