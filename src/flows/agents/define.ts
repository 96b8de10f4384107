import type { ChatMessage, ReplyFormat } from '../../ai/provider';
import type { ModelTier } from '../../ai/router';
import { prompt, quoted, type BrandContext } from '../../ai/tasks/define';

/**
 * The shared shape of a flow agent: one step of a multi-agent flow. Like a task of the catalog
 * (src/ai/tasks), an agent is a prompt, a reply format and parser, a model tier and an output cap; unlike a
 * task it also names the context it reads, which the context engine (../context.ts) fetches and clips.
 */
export type AgentName =
  | 'SceneWriter'
  | 'CharacterGenerator'
  | 'SeasonPlot'
  | 'SubplotWriter'
  | 'CalendarGenerator'
  | 'WeeklyDistribution'
  | 'ExpandBrief';

/** The ledger entry's and the stored generation's taskType for each agent's steps. */
export type AgentTaskType =
  | 'SCENE_WRITER'
  | 'CHARACTER_GENERATOR'
  | 'SEASON_PLOT'
  | 'SUBPLOT_WRITER'
  | 'CALENDAR_GENERATOR'
  | 'WEEKLY_DISTRIBUTION'
  | 'BRIEF_EXPANDER';

/** Results the brand already paid for that an agent may read: the latest stored generation of each. */
export type StoredPiece = 'vision' | 'mission' | 'persona' | 'characters' | 'storyline';

/** One labelled block of context, already rendered and clipped to its budget. */
export interface ContextNote {
  label: string;
  text: string;
}

/** What an agent's prompt is built from: the brand facts plus the notes the context engine chose. */
export interface AgentContext {
  brand: BrandContext;
  notes: readonly ContextNote[];
}

export interface AgentDefinition<P = unknown, O = unknown> {
  name: AgentName;
  taskType: AgentTaskType;
  /** cheap for short tasks, strong for long structured ones (see src/ai/router.ts). */
  tier: ModelTier;
  /** Sent as max_tokens, so also the most one step of this agent can charge for its reply. */
  outputTokensMax: number;
  /** The stored results this agent reads, in the order they appear in its prompt. */
  needs: readonly StoredPiece[];
  /**
   * What the agent reads from the outputs of the earlier steps its step includes (in the order the
   * step lists them); the context engine renders and clips the selection into one note.
   */
  reads?: { label: string; select(earlier: readonly unknown[], params: P): unknown };
  messages(context: AgentContext, params: P): ChatMessage[];
  /** The JSON schema the vendor enforces and the offline sample, as for tasks (src/ai/tasks/output.ts); absent for prose. */
  format?(params: P): ReplyFormat;
  /** Never throws: a paid step always stores a result, built from the raw text if need be. */
  parse(text: string): O;
}

/** Lets each agent infer its params and output types and keeps its name literal. */
export function defineAgent<N extends AgentName, P, O>(definition: AgentDefinition<P, O> & { name: N }): AgentDefinition<P, O> & { name: N } {
  return definition;
}

/**
 * The request, then the context notes as quoted material, then the reply format. Notes go in the
 * user message between triple quotes, like user text, so stored outputs read as material, not orders.
 */
export function agentPrompt(role: string, context: AgentContext, request: string, replyFormat: string): ChatMessage[] {
  const notes = context.notes.map((note) => quoted(note.label, note.text)).join('');
  return prompt(role, context.brand, request + notes + replyFormat);
}
