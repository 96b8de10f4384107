import { expandBrief } from './agents/brief';
import { calendarGenerator, weeklyDistribution } from './agents/calendar';
import { characterGenerator } from './agents/characters';
import type { AgentDefinition, AgentName } from './agents/define';
import { sceneWriter } from './agents/scene';
import { seasonPlot, subplotWriter } from './agents/story';

/**
 * The agents flows are made of: for each, its prompt, lenient parser, model tier, output cap, the
 * stored results it reads and its own ledger task type. The flows themselves are in flows.ts.
 */
export type { AgentContext, AgentDefinition, AgentName, AgentTaskType, ContextNote, StoredPiece } from './agents/define';

/** Keyed by name, so the compiler refuses a catalog that misses an agent or files one under another's name. */
const BY_NAME: { [N in AgentName]: AgentDefinition & { name: N } } = {
  SceneWriter: sceneWriter,
  CharacterGenerator: characterGenerator,
  SeasonPlot: seasonPlot,
  SubplotWriter: subplotWriter,
  CalendarGenerator: calendarGenerator,
  WeeklyDistribution: weeklyDistribution,
  ExpandBrief: expandBrief,
};

export const AGENTS: readonly AgentDefinition[] = Object.values(BY_NAME);
