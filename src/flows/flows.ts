import { z } from 'zod';
import { POSTS_PER_WEEK_DEFAULT, POSTS_PER_WEEK_MAX, POSTS_PER_WEEK_MIN } from '../ai/tasks/calendar';
import { intInRange, intWithDefault, month, optionalShort, optionalText, requiredShort, requiredText } from '../input';
import { CHARACTERS_COUNT_DEFAULT, CHARACTERS_COUNT_MAX, CHARACTERS_COUNT_MIN, WEEK_OF_MONTH_MAX } from '../ai/tasks/story';
import type { AgentDefinition } from './agents';
import { expandBrief } from './agents/brief';
import { calendarGenerator, weeksInMonth, weeklyDistribution } from './agents/calendar';
import { characterGenerator } from './agents/characters';
import { sceneWriter } from './agents/scene';
import { seasonPlot, subplotWriter } from './agents/story';

/**
 * The catalog of flows: for each, its GraphQL mutation, input schema and the steps it runs. Every
 * step is one agent call through the meter; schema.graphql declares the same flows.
 */
export type FlowKind =
  | 'CONTENT'
  | 'CONTENT_REFINEMENT'
  | 'CHARACTER'
  | 'CHARACTER_REFINEMENT'
  | 'BRAND_NARRATIVE'
  | 'SEASON_THEME'
  | 'MONTHLY_PLOT'
  | 'WEEKLY_SUBPLOT'
  | 'CALENDAR_BATCH'
  | 'EXPAND_BRIEF';

export interface StepPlan {
  agent: AgentDefinition;
  params: unknown;
  /** Earlier steps (numbered from 1) whose outputs this step reads, in the order its agent's `reads` takes them. */
  includes: readonly number[];
}

export interface FlowDefinition<I = unknown> {
  kind: FlowKind;
  /** The GraphQL mutation that starts it, e.g. 'startContentFlow'; its input type is `${Capitalized}Input`. */
  mutation: string;
  /** The flow's own fields (not brandId): bounded, trimmed, unknown keys refused. */
  input: z.ZodType<I>;
  plan(input: I): StepPlan[];
}

function defineFlow<K extends FlowKind, I>(definition: FlowDefinition<I> & { kind: K }): FlowDefinition<I> & { kind: K } {
  return definition;
}

/** Keeps a step's params typed by its agent; the plan holds them as unknown. */
function step<P>(agent: AgentDefinition<P>, params: P, includes: readonly number[] = []): StepPlan {
  return { agent: agent as AgentDefinition, params, includes };
}

const BY_KIND: { [K in FlowKind]: FlowDefinition & { kind: K } } = {
  CONTENT: defineFlow({
    kind: 'CONTENT',
    mutation: 'startContentFlow',
    input: z.strictObject({ topic: requiredShort('topic'), channel: optionalShort('channel') }),
    plan: ({ topic, channel }) => [step(sceneWriter, { mode: 'write', topic, channel: channel ?? null })],
  }),
  CONTENT_REFINEMENT: defineFlow({
    kind: 'CONTENT_REFINEMENT',
    mutation: 'startContentRefinementFlow',
    input: z.strictObject({ content: requiredText('content'), instruction: requiredShort('instruction') }),
    plan: ({ content, instruction }) => [step(sceneWriter, { mode: 'refine', content, instruction })],
  }),
  CHARACTER: defineFlow({
    kind: 'CHARACTER',
    mutation: 'startCharacterFlow',
    input: z.strictObject({
      count: intWithDefault('count', CHARACTERS_COUNT_MIN, CHARACTERS_COUNT_MAX, CHARACTERS_COUNT_DEFAULT),
      focus: optionalShort('focus'),
    }),
    plan: ({ count, focus }) => [step(characterGenerator, { mode: 'create', count, focus: focus ?? null })],
  }),
  CHARACTER_REFINEMENT: defineFlow({
    kind: 'CHARACTER_REFINEMENT',
    mutation: 'startCharacterRefinementFlow',
    input: z.strictObject({
      characterName: requiredShort('characterName'),
      instruction: requiredShort('instruction'),
      currentProfile: optionalText('currentProfile'),
    }),
    plan: ({ characterName, instruction, currentProfile }) => [
      step(characterGenerator, { mode: 'refine', characterName, instruction, currentProfile: currentProfile ?? null }),
    ],
  }),
  BRAND_NARRATIVE: defineFlow({
    kind: 'BRAND_NARRATIVE',
    mutation: 'startBrandNarrativeFlow',
    input: z.strictObject({ focus: optionalShort('focus') }),
    plan: ({ focus }) => [step(seasonPlot, { mode: 'narrative', focus: focus ?? null })],
  }),
  SEASON_THEME: defineFlow({
    kind: 'SEASON_THEME',
    mutation: 'startSeasonThemeFlow',
    input: z.strictObject({ season: requiredShort('season') }),
    plan: ({ season }) => [step(seasonPlot, { mode: 'season', season })],
  }),
  MONTHLY_PLOT: defineFlow({
    kind: 'MONTHLY_PLOT',
    mutation: 'startMonthlyPlotFlow',
    input: z.strictObject({ month: month('month'), theme: optionalShort('theme') }),
    plan: ({ month: m, theme }) => [step(seasonPlot, { mode: 'month', month: m, theme: theme ?? null })],
  }),
  WEEKLY_SUBPLOT: defineFlow({
    kind: 'WEEKLY_SUBPLOT',
    mutation: 'startWeeklySubplotFlow',
    input: z.strictObject({
      month: month('month'),
      week: intInRange('week', 1, WEEK_OF_MONTH_MAX),
      plotSynopsis: optionalText('plotSynopsis'),
    }),
    plan: ({ month: m, week, plotSynopsis }) => [step(subplotWriter, { month: m, week, plotSynopsis: plotSynopsis ?? null })],
  }),
  CALENDAR_BATCH: defineFlow({
    kind: 'CALENDAR_BATCH',
    mutation: 'startCalendarBatchFlow',
    input: z.strictObject({
      month: month('month'),
      postsPerWeek: intWithDefault('postsPerWeek', POSTS_PER_WEEK_MIN, POSTS_PER_WEEK_MAX, POSTS_PER_WEEK_DEFAULT),
    }),
    // The month's calendar first, then one distribution per week that reads the calendar's entries.
    plan: ({ month: m, postsPerWeek }) => [
      step(calendarGenerator, { month: m, postsPerWeek }),
      ...Array.from({ length: weeksInMonth(m) }, (_, i) => step(weeklyDistribution, { month: m, week: i + 1 }, [1])),
    ],
  }),
  EXPAND_BRIEF: defineFlow({
    kind: 'EXPAND_BRIEF',
    mutation: 'startExpandBriefFlow',
    input: z.strictObject({ brief: requiredText('brief') }),
    plan: ({ brief }) => [step(expandBrief, { brief })],
  }),
};

/** Every flow, held as FlowDefinition<unknown>: pass plan() only what the same flow's input schema returned. */
export const FLOWS: readonly FlowDefinition[] = Object.values(BY_KIND);

/** The most steps any flow runs: the calendar batch of a month with five weeks. */
export const FLOW_STEPS_MAX = 1 + WEEK_OF_MONTH_MAX;
