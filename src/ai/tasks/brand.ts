import { z } from 'zod';
import { defineTask, optionalShort, prompt, replyAsJson } from './define';
import { asText, asTextList, fieldsIn, singleValue, structured } from './lenient';

/** The brand's foundations: statements, the people it serves and how it reaches them. */

/** A statement of one or two sentences is about 70 tokens; the rest is headroom. */
export const STATEMENT_OUTPUT_TOKENS_MAX = 300;
export const PERSONA_OUTPUT_TOKENS_MAX = 800;
export const BUYER_PROFILE_OUTPUT_TOKENS_MAX = 800;
export const CONTENT_STRATEGY_OUTPUT_TOKENS_MAX = 1_200;

const STRATEGIST = 'a brand strategist for small businesses.';

export interface Persona {
  name: string;
  occupation: string;
  summary: string;
  goals: string[];
  painPoints: string[];
}

export interface BuyerProfile {
  segment: string;
  summary: string;
  needs: string[];
  objections: string[];
  buyingTriggers: string[];
}

export interface ContentStrategy {
  summary: string;
  pillars: string[];
  channels: string[];
  cadence: string;
}

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
        replyAsJson(
          '{"name": "a first name", "occupation": "...", "summary": "2 to 3 sentences", "goals": ["3 to 5 goals"], "painPoints": ["3 to 5 pain points"]}',
        ),
    ),
  parse: (reply): Persona =>
    structured(
      reply,
      (r) => {
        const f = fieldsIn(r, 'persona');
        return f && {
          name: asText(f('name')),
          occupation: asText(f('occupation')),
          summary: asText(f('summary')),
          goals: asTextList(f('goals')),
          painPoints: asTextList(f('painPoints')),
        };
      },
      (raw) => ({ name: '', occupation: '', summary: raw, goals: [], painPoints: [] }),
    ),
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
        replyAsJson(
          '{"segment": "the segment name", "summary": "2 to 3 sentences", "needs": ["3 to 5"], "objections": ["3 to 5"], "buyingTriggers": ["3 to 5"]}',
        ),
    ),
  parse: (reply): BuyerProfile =>
    structured(
      reply,
      (r) => {
        const f = fieldsIn(r, 'buyerProfile');
        return f && {
          segment: asText(f('segment')),
          summary: asText(f('summary')),
          needs: asTextList(f('needs')),
          objections: asTextList(f('objections')),
          buyingTriggers: asTextList(f('buyingTriggers')),
        };
      },
      (raw) => ({ segment: '', summary: raw, needs: [], objections: [], buyingTriggers: [] }),
    ),
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
        replyAsJson(
          '{"summary": "3 to 4 sentences", "pillars": ["3 to 5 content pillars"], "channels": ["2 to 4 channels"], "cadence": "how often to publish, per channel"}',
        ),
    ),
  parse: (reply): ContentStrategy =>
    structured(
      reply,
      (r) => {
        const f = fieldsIn(r, 'contentStrategy');
        return f && {
          summary: asText(f('summary')),
          pillars: asTextList(f('pillars')),
          channels: asTextList(f('channels')),
          cadence: asText(f('cadence')),
        };
      },
      (raw) => ({ summary: raw, pillars: [], channels: [], cadence: '' }),
    ),
});
