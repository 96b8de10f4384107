import { z } from 'zod';
import { optionalShort, requiredShort, requiredText } from '../../input';
import { defineTask, prompt, quoted, replyAsJson } from './define';
import { plainText } from './lenient';
import { recordReply, text, textList } from './output';

/** Writing with the brand: briefs, rewrites and the assistant chat. */

export const CONTENT_BRIEF_OUTPUT_TOKENS_MAX = 1_000;
/**
 * About 1,100 words. Content may be 8,000 characters (about 1,800 tokens of English), so the prompt
 * asks to stay under 1,000 words rather than letting a long rewrite be cut off mid-sentence.
 */
export const REFINE_CONTENT_OUTPUT_TOKENS_MAX = 1_500;
export const EXPAND_BRIEF_OUTPUT_TOKENS_MAX = 1_200;
/** About 300 words: a chat reply, not an essay; the system prompt asks for under 250. */
export const CHAT_OUTPUT_TOKENS_MAX = 400;

const WRITER = 'a brand copywriter and content strategist.';

const briefReply = recordReply(
  'brief',
  {
    title: text('...'),
    objective: text('1 to 2 sentences'),
    keyMessages: textList('3 to 5 messages'),
    callToAction: text('one sentence'),
  },
  'objective',
);

export type ContentBrief = ReturnType<typeof briefReply.parse>;

export const contentBrief = defineTask({
  task: 'CONTENT_BRIEF',
  mutation: 'generateContentBrief',
  resultField: 'brief',
  tier: 'strong',
  outputTokensMax: CONTENT_BRIEF_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ topic: requiredShort('topic'), channel: optionalShort('channel') }),
  messages: (brand, { topic, channel }) =>
    prompt(
      WRITER,
      brand,
      `Write a content brief about: ${topic}${channel ? `, for ${channel}` : ''}.` +
        replyAsJson(briefReply.example()),
    ),
  format: () => briefReply.format(),
  parse: briefReply.parse,
});

export const refineContent = defineTask({
  task: 'REFINE_CONTENT',
  mutation: 'refineContent',
  resultField: 'content',
  tier: 'strong',
  outputTokensMax: REFINE_CONTENT_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ content: requiredText('content'), instruction: requiredShort('instruction') }),
  messages: (brand, { content, instruction }) =>
    prompt(
      WRITER,
      brand,
      `Rewrite the content below in the brand's voice, following this instruction: ${instruction}. ` +
        'Stay under 1,000 words. Reply with the rewritten content only.' +
        quoted('Content', content),
    ),
  parse: plainText,
});

export const expandBrief = defineTask({
  task: 'EXPAND_BRIEF',
  mutation: 'expandBrief',
  resultField: 'expandedBrief',
  tier: 'strong',
  outputTokensMax: EXPAND_BRIEF_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ brief: requiredText('brief') }),
  messages: (brand, { brief }) =>
    prompt(
      WRITER,
      brand,
      'Expand this brief into a full creative brief with short sections: background, objective, audience, ' +
        'key messages, tone, deliverables and call to action. Use markdown headings and stay under 800 words.' +
        quoted('Brief', brief),
    ),
  parse: plainText,
});

export const chat = defineTask({
  task: 'CHAT',
  mutation: 'chatWithAndora',
  resultField: 'reply',
  tier: 'cheap',
  outputTokensMax: CHAT_OUTPUT_TOKENS_MAX,
  input: z.strictObject({ message: requiredText('message') }),
  messages: (brand, { message }) =>
    prompt("the brand's assistant for strategy, storytelling and content. Answer helpfully and concretely, in under 250 words.", brand, message),
  parse: plainText,
});
