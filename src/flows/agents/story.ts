import { monthName, quoted, replyAsJson } from '../../ai/tasks/define';
import { recordReply, text, textList } from '../../ai/tasks/output';
import { weeklyPlotReply, WEEKLY_SUBPLOT_OUTPUT_TOKENS_MAX } from '../../ai/tasks/story';
import { agentPrompt, defineAgent } from './define';

/** SeasonPlot and SubplotWriter: the brand's story at the scale of a narrative, a season, a month and a week. */

export const SEASON_PLOT_OUTPUT_TOKENS_MAX = 1_200;

const STORYTELLER = 'a brand storyteller who turns a brand into an ongoing story told through its content.';
/** A story at any scale: the brand's narrative, a season's theme or a month's plot. */
const arcReply = recordReply(
  'arc',
  {
    title: text('at most 8 words'),
    synopsis: text('under 150 words'),
    beats: textList('4 to 6 one-sentence story beats, in order'),
    keywords: textList('5 to 8 keywords'),
  },
  'synopsis',
);

export type StoryArc = ReturnType<typeof arcReply.parse>;

export type SeasonPlotParams =
  | { mode: 'narrative'; focus: string | null }
  | { mode: 'season'; season: string }
  | { mode: 'month'; month: string; theme: string | null };

function arcRequest(params: SeasonPlotParams): string {
  switch (params.mode) {
    case 'narrative':
      return `Write the brand's overarching narrative: the story its content tells over time${params.focus ? `, centred on: ${params.focus}` : ''}.`;
    case 'season':
      return `Propose the theme for ${params.season}: the story arc the brand's content follows through the season, suited to its occasions.`;
    case 'month':
      return `Outline the brand's story for ${monthName(params.month)}${params.theme ? `, on the theme: ${params.theme}` : ''}, continuing its current storyline if one is listed below.`;
  }
}

export const seasonPlot = defineAgent({
  name: 'SeasonPlot',
  taskType: 'SEASON_PLOT',
  tier: 'strong',
  outputTokensMax: SEASON_PLOT_OUTPUT_TOKENS_MAX,
  needs: ['vision', 'mission', 'characters', 'storyline'],
  messages: (context, params: SeasonPlotParams) => agentPrompt(STORYTELLER, context, arcRequest(params), replyAsJson(arcReply.example())),
  format: () => arcReply.format(),
  parse: arcReply.parse,
});

export interface SubplotParams {
  month: string;
  week: number;
  plotSynopsis: string | null;
}

export const subplotWriter = defineAgent({
  name: 'SubplotWriter',
  taskType: 'SUBPLOT_WRITER',
  tier: 'strong',
  outputTokensMax: WEEKLY_SUBPLOT_OUTPUT_TOKENS_MAX,
  needs: ['characters', 'storyline'],
  messages: (context, params: SubplotParams) => {
    const request =
      `Outline the subplot for week ${params.week} of ${monthName(params.month)}, as one episode of the month's story.` +
      quoted("The month's plot", params.plotSynopsis);
    return agentPrompt(STORYTELLER, context, request, replyAsJson(weeklyPlotReply.example()));
  },
  format: () => weeklyPlotReply.format(),
  parse: weeklyPlotReply.parse,
});
