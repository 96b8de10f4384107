import type { MikroORM } from '@mikro-orm/postgresql';
import { clip, type BrandContext } from '../ai/tasks/define';
import { isRecord } from '../ai/tasks/lenient';
import { clipToTokens } from '../ai/tokenizer';
import type { AgentContext, AgentDefinition, ContextNote, StoredPiece } from './agents';

/**
 * The brand context engine: gives each agent the least context that serves it. Prompts carry the
 * brand facts (clipped by the task catalog), the latest stored results the agent names in `needs`,
 * and what it reads from earlier steps of its flow, each clipped to a budget, so a prompt stays small
 * however much the brand has generated.
 */

/** A stored result's gist: a vision, a persona or a cast of up to eight characters in brief. */
export const STORED_PIECE_CHARS_MAX = 800;
/**
 * What a step reads from earlier steps, in o200k tokens: a week of the calendar at the default three
 * posts a week renders to about 160, at fourteen (the most) to about 480, which this clips. Budgeted
 * in tokens so a flow's estimate is exact about it (see stepContextBound): the README's calendar of
 * 1 + 5 steps is estimated within a new account's 10,000 tokens.
 */
export const EARLIER_RESULTS_TOKENS_MAX = 300;
/** Cut before counting tokens, so the tokenizer never sees a long text; the token budget binds first. */
const EARLIER_RESULTS_CHARS_MAX = 8 * EARLIER_RESULTS_TOKENS_MAX;
/**
 * Tokens a note of EARLIER_RESULTS_TOKENS_MAX may add to a prompt beyond its own: where it meets the
 * text around it, a tokenizer may split differently than in the note alone.
 */
const NOTE_SEAM_TOKENS_MAX = 2;
/** Nesting rendered; our outputs go three deep (a list of records holding lists). */
const GIST_DEPTH_MAX = 4;

/** Where each piece comes from: the latest generation of any of these task types, flows' agents included. */
const SOURCES: { readonly [P in StoredPiece]: { label: string; taskTypes: readonly string[] } } = {
  vision: { label: "The brand's vision", taskTypes: ['VISION'] },
  mission: { label: "The brand's mission", taskTypes: ['MISSION'] },
  persona: { label: 'The customer persona', taskTypes: ['PERSONA'] },
  characters: { label: "The brand's characters", taskTypes: ['CHARACTERS', 'CHARACTER_GENERATOR'] },
  storyline: { label: "The brand's current storyline", taskTypes: ['MONTHLY_PLOT', 'SEASON_PLOT'] },
};

/** The stored pieces a flow's agents need, rendered and clipped; a piece the brand has none of is absent. */
export type StoredContext = ReadonlyMap<StoredPiece, ContextNote>;

interface StoredRow {
  task_type: string;
  output: unknown;
  created_at: Date | string;
}

/** One query for the whole flow: the latest completed generation of every task type its agents read. */
export async function loadStoredContext(orm: MikroORM, userId: string, brandId: string, agents: readonly AgentDefinition[]): Promise<StoredContext> {
  const pieces = [...new Set(agents.flatMap((agent) => agent.needs))];
  const taskTypes = pieces.flatMap((piece) => SOURCES[piece].taskTypes);
  if (taskTypes.length === 0) return new Map();
  const rows = await orm.em.fork().execute<StoredRow[]>(
    `select distinct on (task_type) task_type, output, created_at
       from generations
      where brand_id = ? and user_id = ? and status = 'COMPLETED'
        and task_type in (select value from json_array_elements_text(?::json))
      order by task_type, created_at desc`,
    [brandId, userId, JSON.stringify(taskTypes)],
  );
  const context = new Map<StoredPiece, ContextNote>();
  for (const piece of pieces) {
    const latest = latestOf(rows.filter((row) => SOURCES[piece].taskTypes.includes(row.task_type)));
    const text = latest && clip(gist(latest.output), STORED_PIECE_CHARS_MAX);
    if (text) context.set(piece, { label: SOURCES[piece].label, text });
  }
  return context;
}

function latestOf(rows: StoredRow[]): StoredRow | undefined {
  const time = (row: StoredRow) => new Date(row.created_at).getTime();
  return rows.reduce<StoredRow | undefined>((latest, row) => (!latest || time(row) > time(latest) ? row : latest), undefined);
}

/**
 * The context of one step: the stored pieces its agent needs, then what it reads from the earlier
 * steps it includes, clipped to EARLIER_RESULTS_TOKENS_MAX.
 */
export function stepContext<P>(brand: BrandContext, agent: AgentDefinition<P>, params: P, stored: StoredContext, earlier: readonly unknown[]): AgentContext {
  const notes = storedNotes(agent, stored);
  if (agent.reads) {
    const text = clipToTokens(clip(gist(agent.reads.select(earlier, params)), EARLIER_RESULTS_CHARS_MAX), EARLIER_RESULTS_TOKENS_MAX);
    if (text) notes.push({ label: agent.reads.label, text });
  }
  return { brand, notes };
}

/**
 * The largest context the step can have, known before the flow runs: its stored pieces as they are
 * and, for an agent that reads earlier steps, a note of the most tokens that note can hold (plus the
 * seam). A prompt built from it counts at least as many tokens as the step's real prompt, whatever
 * the earlier steps produce, so estimating from it bounds what the step can reserve.
 */
export function stepContextBound<P>(brand: BrandContext, agent: AgentDefinition<P>, stored: StoredContext): AgentContext {
  const notes = storedNotes(agent, stored);
  if (agent.reads) notes.push({ label: agent.reads.label, text: FULL_NOTE });
  return { brand, notes };
}

/** " x" is one o200k token: the placeholder is exactly as many tokens as the largest note and its seam. */
const FULL_NOTE = `x${' x'.repeat(EARLIER_RESULTS_TOKENS_MAX + NOTE_SEAM_TOKENS_MAX - 1)}`;

function storedNotes(agent: AgentDefinition<never>, stored: StoredContext): ContextNote[] {
  return agent.needs.map((piece) => stored.get(piece)).filter((note) => note !== undefined);
}

/**
 * A stored output as compact text: a list one item a line, a record as "key: value" lines, and a
 * record that only wraps a list ({"characters": [...]}) as that list.
 */
export function gist(value: unknown): string {
  if (Array.isArray(value)) return lines(value, 1);
  if (!isRecord(value)) return inline(value, 1);
  const fields = filled(value, 1);
  const only = fields.length === 1 ? value[fields[0]![0]] : undefined;
  if (Array.isArray(only)) return lines(only, 1);
  return fields.map(([key, text]) => `${key}: ${text}`).join('\n');
}

function lines(items: unknown[], depth: number): string {
  return items
    .map((item) => inline(item, depth + 1))
    .filter(Boolean)
    .map((line) => `- ${line}`)
    .join('\n');
}

function inline(value: unknown, depth: number): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (depth > GIST_DEPTH_MAX) return '';
  if (Array.isArray(value)) return value.map((item) => inline(item, depth + 1)).filter(Boolean).join(', ');
  if (isRecord(value)) return filled(value, depth).map(([key, text]) => `${key}: ${text}`).join('; ');
  return '';
}

/** The record's fields that render to some text, rendered. */
function filled(record: Record<string, unknown>, depth: number): Array<[string, string]> {
  return Object.entries(record)
    .map(([key, value]): [string, string] => [key, inline(value, depth + 1)])
    .filter(([, text]) => text.length > 0);
}
