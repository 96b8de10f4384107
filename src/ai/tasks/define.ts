import { z } from 'zod';
import type { ChatMessage, ReplyFormat } from '../provider';
import type { ModelTier } from '../router';

/**
 * The shared shape of a generation task: its input schema, its prompt and how its reply becomes the
 * GraphQL result. The catalog itself is ../tasks.ts; the tasks are grouped by subject beside this file.
 */
export type TaskType =
  | 'VISION'
  | 'MISSION'
  | 'PERSONA'
  | 'BUYER_PROFILE'
  | 'CONTENT_STRATEGY'
  | 'CHARACTERS'
  | 'RESOLVE_CAST'
  | 'MONTHLY_PLOT'
  | 'WEEKLY_SUBPLOT'
  | 'CONTENT_BRIEF'
  | 'NARRATIVE_PREFILL'
  | 'CALENDAR'
  | 'REFINE_CONTENT'
  | 'EXPAND_BRIEF'
  | 'MONTHLY_THEME'
  | 'CALENDAR_ENTRY'
  | 'REFINE_CHARACTER_FIELD'
  | 'CHAT';

/** The few brand facts a prompt carries; the rest of the brand row never reaches a vendor. */
export interface BrandContext {
  name: string;
  description: string | null;
  industry: string | null;
  audience: string | null;
}

/** A brand row's prompt fields; nothing else about the account reaches a provider. */
export function brandContext(brand: { name: string; description?: string | null; industry?: string | null; audience?: string | null }): BrandContext {
  return { name: brand.name, description: brand.description ?? null, industry: brand.industry ?? null, audience: brand.audience ?? null };
}

export interface TaskDefinition<I = unknown, O = unknown> {
  task: TaskType;
  /** The GraphQL mutation, e.g. 'generateVision'; its input type is `${Capitalized}Input`. */
  mutation: string;
  /** The payload field that holds parse()'s result, e.g. 'vision'. */
  resultField: string;
  /** cheap for short tasks, strong for long structured ones (see router.ts). */
  tier: ModelTier;
  /** The output cap sent to the vendor, so also the most a generation can charge for its reply. */
  outputTokensMax: number;
  /** The task's own fields (not brandId or idempotencyKey): bounded, trimmed, unknown keys refused. */
  input: z.ZodType<I>;
  messages(brand: BrandContext, input: I): ChatMessage[];
  /**
   * For a reply that is more than prose, built from the same input as the prompt: the JSON schema
   * the vendor enforces and the offline provider's sample (see ./output.ts). Absent for prose.
   */
  format?(input: I): ReplyFormat;
  /** Never throws: a paid generation always returns a result, built from the raw text if need be. */
  parse(text: string): O;
}

/** Lets each task infer its input and output types from its schema and parser, and keeps its type literal. */
export function defineTask<T extends TaskType, I, O>(definition: TaskDefinition<I, O> & { task: T }): TaskDefinition<I, O> & { task: T } {
  return definition;
}

/**
 * Brand description and audience may each be 8,000 characters, but a prompt only needs their gist,
 * so they are clipped to this many characters; that keeps every prompt small and bounded.
 */
export const BRAND_FIELD_PROMPT_CHARS_MAX = 400;

// Input fields (requiredText, month, intWithDefault, …) are shared with the flows and accounts: ../../input.ts.

// ---- prompts ----

/** "2025-03" -> "March 2025"; the input schema has already checked the format. */
export function monthName(yearMonth: string): string {
  const [year, monthNumber] = yearMonth.split('-').map(Number);
  const first = new Date(Date.UTC(year!, monthNumber! - 1, 1));
  return first.toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

export function daysInMonth(yearMonth: string): number {
  const [year, monthNumber] = yearMonth.split('-').map(Number);
  return new Date(Date.UTC(year!, monthNumber!, 0)).getUTCDate();
}

/** Cuts at a code point boundary so a clipped emoji does not become a lone surrogate. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

function brandLines(brand: BrandContext): string[] {
  const lines = [`Brand: ${brand.name}`];
  if (brand.industry) lines.push(`Industry: ${brand.industry}`);
  if (brand.audience) lines.push(`Audience: ${clip(brand.audience, BRAND_FIELD_PROMPT_CHARS_MAX)}`);
  if (brand.description) lines.push(`About: ${clip(brand.description, BRAND_FIELD_PROMPT_CHARS_MAX)}`);
  return lines;
}

/**
 * The system message names the role and the brand; the user message carries the request. User text
 * goes in the user message only, between triple quotes, so it reads as material rather than as orders.
 */
export function prompt(role: string, brand: BrandContext, request: string): ChatMessage[] {
  const system = [`You are Andora, ${role}`, 'Stay true to the brand facts below and invent no others.', '', ...brandLines(brand)];
  return [
    { role: 'system', content: system.join('\n') },
    { role: 'user', content: request },
  ];
}

/** A labelled block of user text, or nothing when the optional value is absent. */
export function quoted(label: string, value: string | null | undefined): string {
  return value ? `\n\n${label}:\n"""\n${value}\n"""` : '';
}

/**
 * Ends a prompt that asks for JSON; what follows it is the example. Vendors with structured outputs
 * are also held to the task's schema; the example still tells the model what goes in each field, and
 * is all a model without structured outputs gets.
 */
export const JSON_SHAPE_MARKER = 'Reply with JSON only, no prose and no code fence, in exactly this shape:\n';

/** Asks for JSON only; the example (from the reply's schema, ./output.ts) shows the exact keys parse() looks for. */
export function replyAsJson(example: string): string {
  return `\n\n${JSON_SHAPE_MARKER}${example}`;
}
