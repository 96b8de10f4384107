import { z } from 'zod';
import { intInRange, intWithDefault, month, optionalShort, optionalText, requiredShort, requiredText } from '../../input';
import { defineTask, monthName, prompt, quoted, replyAsJson } from './define';
import { singleValue } from './lenient';
import { listReply, recordReply, text, textList } from './output';

/** The brand's storytelling: recurring characters and the plots they play out month by month. */

export const CHARACTERS_COUNT_MIN = 1;
export const CHARACTERS_COUNT_MAX = 8;
export const CHARACTERS_COUNT_DEFAULT = 3;
/** Most candidate characters one scene may be cast from. */
export const CAST_CANDIDATES_MAX = 20;
export const WEEK_OF_MONTH_MAX = 5;

/** Eight characters with a 60-word backstory each come to about 1,100 tokens of JSON. */
export const CHARACTERS_OUTPUT_TOKENS_MAX = 1_500;
/** Twenty cast members with a one-sentence reason each come to about 700 tokens of JSON. */
export const CAST_OUTPUT_TOKENS_MAX = 800;
export const MONTHLY_PLOT_OUTPUT_TOKENS_MAX = 1_200;
export const WEEKLY_SUBPLOT_OUTPUT_TOKENS_MAX = 1_000;
export const FIELD_TEXT_OUTPUT_TOKENS_MAX = 400;

const STORYTELLER = 'a brand storyteller who turns a brand into an ongoing story told through its content.';

/** The brand's recurring characters; the CharacterGenerator agent replies in the same shape. */
export const charactersReply = listReply(
  'characters',
  {
    name: text('...'),
    role: text('their part in the brand story'),
    traits: textList('3 to 5 traits'),
    backstory: text('under 60 words'),
  },
  'backstory',
  CHARACTERS_COUNT_MAX,
);

const castReply = listReply(
  'cast',
  { name: text('...'), role: text('their part in this scene'), reason: text('one sentence') },
  'reason',
  CAST_CANDIDATES_MAX,
);

/** A month's plot asks for 4 to 6 beats, a week's for 3 to 5; the SubplotWriter agent uses the week's. */
function plotReply(beats: string) {
  const shape = { title: text('...'), synopsis: text('under 120 words'), beats: textList(`${beats} one-sentence story beats, in order`) };
  return recordReply('plot', shape, 'synopsis');
}

const monthlyPlotReply = plotReply('4 to 6');
export const weeklyPlotReply = plotReply('3 to 5');

export type Character = ReturnType<typeof charactersReply.parse>[number];
export type CastMember = ReturnType<typeof castReply.parse>[number];
export type Plot = ReturnType<typeof monthlyPlotReply.parse>;

export const characters = defineTask({
  task: 'CHARACTERS',
  mutation: 'generateCharacters',
  resultField: 'characters',
  tier: 'strong',
  outputTokensMax: CHARACTERS_OUTPUT_TOKENS_MAX,
  input: z.strictObject({
    count: intWithDefault('count', CHARACTERS_COUNT_MIN, CHARACTERS_COUNT_MAX, CHARACTERS_COUNT_DEFAULT),
  }),
  messages: (brand, { count }) =>
    prompt(
      STORYTELLER,
      brand,
      `Create ${count} distinct recurring character${count === 1 ? '' : 's'} for the brand's stories.` +
        replyAsJson(charactersReply.example()),
    ),
  format: ({ count }) => charactersReply.format(count),
  parse: charactersReply.parse,
});

export const resolveCast = defineTask({
  task: 'RESOLVE_CAST',
  mutation: 'resolveCast',
  resultField: 'cast',
  tier: 'cheap',
  outputTokensMax: CAST_OUTPUT_TOKENS_MAX,
  input: z.strictObject({
    scene: requiredText('scene'),
    characterNames: z
      .array(requiredShort('characterNames'))
      .min(1, 'characterNames: at least 1')
      .max(CAST_CANDIDATES_MAX, `characterNames: at most ${CAST_CANDIDATES_MAX}`),
  }),
  messages: (brand, { scene, characterNames }) =>
    prompt(
      STORYTELLER,
      brand,
      'Choose which of these characters appear in the scene, using their names exactly as listed.' +
        quoted('Characters', characterNames.join('\n')) +
        quoted('Scene', scene) +
        replyAsJson(castReply.example()),
    ),
  // Offline, every candidate is cast, under their own name.
  format: ({ characterNames }) => castReply.format(characterNames.length, (i) => ({ name: characterNames[i]! })),
  parse: castReply.parse,
});

export const monthlyPlot = defineTask({
  task: 'MONTHLY_PLOT',
  mutation: 'generateMonthlyPlot',
  resultField: 'plot',
  tier: 'strong',
  outputTokensMax: MONTHLY_PLOT_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ month: month('month'), theme: optionalShort('theme') }),
  messages: (brand, input) =>
    prompt(
      STORYTELLER,
      brand,
      `Outline the brand's story for ${monthName(input.month)}${input.theme ? `, on the theme: ${input.theme}` : ''}.` +
        replyAsJson(monthlyPlotReply.example()),
    ),
  format: () => monthlyPlotReply.format(),
  parse: monthlyPlotReply.parse,
});

export const weeklySubplot = defineTask({
  task: 'WEEKLY_SUBPLOT',
  mutation: 'generateWeeklySubplot',
  resultField: 'subplot',
  tier: 'strong',
  outputTokensMax: WEEKLY_SUBPLOT_OUTPUT_TOKENS_MAX,
  input: z.strictObject({
    month: month('month'),
    week: intInRange('week', 1, WEEK_OF_MONTH_MAX),
    plotSynopsis: optionalText('plotSynopsis'),
  }),
  messages: (brand, input) =>
    prompt(
      STORYTELLER,
      brand,
      `Outline the subplot for week ${input.week} of ${monthName(input.month)}, as one episode of the month's story.` +
        quoted("The month's plot", input.plotSynopsis) +
        replyAsJson(weeklyPlotReply.example()),
    ),
  format: () => weeklyPlotReply.format(),
  parse: weeklyPlotReply.parse,
});

export const narrativePrefill = defineTask({
  task: 'NARRATIVE_PREFILL',
  mutation: 'generateNarrativePrefill',
  resultField: 'prefill',
  tier: 'cheap',
  outputTokensMax: FIELD_TEXT_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ field: requiredShort('field'), context: optionalText('context') }),
  messages: (brand, { field, context }) =>
    prompt(
      STORYTELLER,
      brand,
      `Draft the "${field}" field of the brand's narrative, under 120 words. Reply with the text only.` + quoted('Context', context),
    ),
  parse: singleValue,
});

export const refineCharacterField = defineTask({
  task: 'REFINE_CHARACTER_FIELD',
  mutation: 'refineCharacterField',
  resultField: 'value',
  tier: 'cheap',
  outputTokensMax: FIELD_TEXT_OUTPUT_TOKENS_MAX,
  input: z.strictObject({
    characterName: requiredShort('characterName'),
    field: requiredShort('field'),
    currentValue: requiredText('currentValue'),
    instruction: optionalShort('instruction'),
  }),
  messages: (brand, input) =>
    prompt(
      STORYTELLER,
      brand,
      `Improve the "${input.field}" of the character ${input.characterName}` +
        `${input.instruction ? `, following this instruction: ${input.instruction}` : ''}. ` +
        'Keep it under 150 words. Reply with the new value only.' +
        quoted('Current value', input.currentValue),
    ),
  parse: singleValue,
});
