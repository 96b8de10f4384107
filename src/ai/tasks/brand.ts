import { z } from 'zod';
import { optionalShort } from '../../input';
import { defineTask, prompt, replyAsJson } from './define';
import { singleValue } from './lenient';
import { recordReply, text, textList } from './output';

/** The brand's foundations: statements, the people it serves and how it reaches them. */

/** A statement of one or two sentences is about 70 tokens; the rest is headroom. */
export const STATEMENT_OUTPUT_TOKENS_MAX = 300;
export const PERSONA_OUTPUT_TOKENS_MAX = 800;
export const BUYER_PROFILE_OUTPUT_TOKENS_MAX = 800;
export const CONTENT_STRATEGY_OUTPUT_TOKENS_MAX = 1_200;

const STRATEGIST = 'a brand strategist for small businesses.';

const personaReply = recordReply(
  'persona',
  {
    name: text('a first name'),
    occupation: text('...'),
    summary: text('2 to 3 sentences'),
    goals: textList('3 to 5 goals'),
    painPoints: textList('3 to 5 pain points'),
  },
  'summary',
);

const buyerProfileReply = recordReply(
  'buyerProfile',
  {
    segment: text('the segment name'),
    summary: text('2 to 3 sentences'),
    needs: textList('3 to 5'),
    objections: textList('3 to 5'),
    buyingTriggers: textList('3 to 5'),
  },
  'summary',
);

const contentStrategyReply = recordReply(
  'contentStrategy',
  {
    summary: text('3 to 4 sentences'),
    pillars: textList('3 to 5 content pillars'),
    channels: textList('2 to 4 channels'),
    cadence: text('how often to publish, per channel'),
  },
  'summary',
);

export type Persona = ReturnType<typeof personaReply.parse>;
export type BuyerProfile = ReturnType<typeof buyerProfileReply.parse>;
export type ContentStrategy = ReturnType<typeof contentStrategyReply.parse>;

const noFields = z.strictObject({});

export const vision = defineTask({
  task: 'VISION',
  mutation: 'generateVision',
  resultField: 'vision',
  tier: 'cheap',
  outputTokensMax: STATEMENT_OUTPUT_TOKENS_MAX,
  input: noFields,
  messages: (brand) =>
    prompt(
      STRATEGIST,
      brand,
      "Write the brand's vision statement: the future it works toward, in one or two sentences under 50 words. Reply with the statement only.",
    ),
  parse: singleValue,
});

export const mission = defineTask({
  task: 'MISSION',
  mutation: 'generateMission',
  resultField: 'mission',
  tier: 'cheap',
  outputTokensMax: STATEMENT_OUTPUT_TOKENS_MAX,
  input: noFields,
  messages: (brand) =>
    prompt(
      STRATEGIST,
      brand,
      "Write the brand's mission statement: what it does, for whom and why, in one or two sentences under 50 words. Reply with the statement only.",
    ),
  parse: singleValue,
});

export const persona = defineTask({
  task: 'PERSONA',
  mutation: 'generatePersona',
  resultField: 'persona',
  tier: 'strong',
  outputTokensMax: PERSONA_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ focus: optionalShort('focus') }),
  messages: (brand, { focus }) =>
    prompt(
      STRATEGIST,
      brand,
      `Create one customer persona for the brand${focus ? `, focused on: ${focus}` : ''}.` +
        replyAsJson(personaReply.example()),
    ),
  format: () => personaReply.format(),
  parse: personaReply.parse,
});

export const buyerProfile = defineTask({
  task: 'BUYER_PROFILE',
  mutation: 'generateBuyerProfile',
  resultField: 'buyerProfile',
  tier: 'strong',
  outputTokensMax: BUYER_PROFILE_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ segment: optionalShort('segment') }),
  messages: (brand, { segment }) =>
    prompt(
      STRATEGIST,
      brand,
      `Write a buyer profile for the brand's ${segment ? `"${segment}" segment` : 'most valuable customer segment'}.` +
        replyAsJson(buyerProfileReply.example()),
    ),
  format: () => buyerProfileReply.format(),
  parse: buyerProfileReply.parse,
});

export const contentStrategy = defineTask({
  task: 'CONTENT_STRATEGY',
  mutation: 'generateContentStrategy',
  resultField: 'contentStrategy',
  tier: 'strong',
  outputTokensMax: CONTENT_STRATEGY_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ goal: optionalShort('goal') }),
  messages: (brand, { goal }) =>
    prompt(
      STRATEGIST,
      brand,
      `Outline a content strategy for the brand${goal ? ` whose goal is: ${goal}` : ''}.` +
        replyAsJson(contentStrategyReply.example()),
    ),
  format: () => contentStrategyReply.format(),
  parse: contentStrategyReply.parse,
});
