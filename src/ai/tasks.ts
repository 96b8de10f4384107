import { buyerProfile, contentStrategy, mission, persona, vision } from './tasks/brand';
import { calendar, calendarEntry, monthlyTheme } from './tasks/calendar';
import { chat, contentBrief, expandBrief, refineContent } from './tasks/content';
import type { TaskDefinition, TaskType } from './tasks/define';
import { characters, monthlyPlot, narrativePrefill, refineCharacterField, resolveCast, weeklySubplot } from './tasks/story';

/**
 * The catalog of generation tasks: for each, its GraphQL mutation and result field, model tier,
 * output cap, input schema, prompt, reply format (the JSON schema vendors enforce) and reply
 * parser. schema.graphql declares the same tasks; the tasks test keeps the two in step.
 */
export type { BrandContext, TaskDefinition, TaskType } from './tasks/define';
export { brandContext } from './tasks/define';
export type { BuyerProfile, ContentStrategy, Persona } from './tasks/brand';
export type { CalendarEntry, MonthlyTheme } from './tasks/calendar';
export type { ContentBrief } from './tasks/content';
export type { CastMember, Character, Plot } from './tasks/story';

/**
 * The most prompt tokens (o200k, chat framing included) any task can build from inputs within their
 * limits. Every string input is bounded in characters and o200k spends at most one token per UTF-8
 * byte, so even the densest script (three bytes and three tokens a character) stays under this: the
 * largest prompt, resolveCast with a full scene, 20 full names and a full brand, comes to about
 * 39,600 tokens of such text. Ordinary prose at the same limits stays under 3,000, and typical
 * prompts are a few hundred. Anthropic's estimate runs about a fifth higher (tokenizer.ts).
 */
export const PROMPT_TOKENS_MAX = 42_000;

/** Keyed by task type, so the compiler refuses a catalog that misses a task or files one under another's name. */
const BY_TYPE: { [T in TaskType]: TaskDefinition & { task: T } } = {
  VISION: vision,
  MISSION: mission,
  PERSONA: persona,
  BUYER_PROFILE: buyerProfile,
  CONTENT_STRATEGY: contentStrategy,
  CHARACTERS: characters,
  RESOLVE_CAST: resolveCast,
  MONTHLY_PLOT: monthlyPlot,
  WEEKLY_SUBPLOT: weeklySubplot,
  CONTENT_BRIEF: contentBrief,
  NARRATIVE_PREFILL: narrativePrefill,
  CALENDAR: calendar,
  REFINE_CONTENT: refineContent,
  EXPAND_BRIEF: expandBrief,
  MONTHLY_THEME: monthlyTheme,
  CALENDAR_ENTRY: calendarEntry,
  REFINE_CHARACTER_FIELD: refineCharacterField,
  CHAT: chat,
};

/**
 * Every task. Their inputs differ, so the catalog holds them as TaskDefinition<unknown>: pass
 * messages() only what the same task's input schema returned.
 */
export const TASKS: readonly TaskDefinition[] = Object.values(BY_TYPE);

const BY_MUTATION: ReadonlyMap<string, TaskDefinition> = new Map(TASKS.map((task) => [task.mutation, task]));

export function taskByMutation(name: string): TaskDefinition | undefined {
  return BY_MUTATION.get(name);
}

export function taskByType(type: TaskType): TaskDefinition {
  return BY_TYPE[type];
}
