import { EXPAND_BRIEF_OUTPUT_TOKENS_MAX } from '../../ai/tasks/content';
import { quoted } from '../../ai/tasks/define';
import { plainText } from '../../ai/tasks/lenient';
import { agentPrompt, defineAgent } from './define';

/** ExpandBrief: a short brief grown into a full creative brief that knows the brand's vision and audience. */

const WRITER = 'a brand copywriter and content strategist.';

export interface ExpandedBrief {
  /** Markdown with short sections. */
  brief: string;
}

export const expandBrief = defineAgent({
  name: 'ExpandBrief',
  taskType: 'BRIEF_EXPANDER',
  tier: 'strong',
  outputTokensMax: EXPAND_BRIEF_OUTPUT_TOKENS_MAX,
  needs: ['vision', 'persona'],
  messages: (context, params: { brief: string }) =>
    agentPrompt(
      WRITER,
      context,
      'Expand this brief into a full creative brief with short sections: background, objective, audience, ' +
        'key messages, tone, deliverables and call to action.' +
        quoted('Brief', params.brief),
      '\n\nUse markdown headings and stay under 800 words.',
    ),
  parse: (reply): ExpandedBrief => ({ brief: plainText(reply) }),
});
