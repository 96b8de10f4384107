import { quoted, replyAsJson } from '../../ai/tasks/define';
import { recordReply, text } from '../../ai/tasks/output';
import { agentPrompt, defineAgent } from './define';

/** SceneWriter: brand content told as a scene from the brand's story, written anew or rewritten. */

/**
 * About 1,300 words of JSON. Content to rewrite may be 8,000 characters (about 1,800 tokens of
 * English), so the prompt asks for under 1,000 words rather than letting a rewrite be cut off.
 */
export const SCENE_WRITER_OUTPUT_TOKENS_MAX = 1_800;

const WRITER = "a brand copywriter who tells the brand's story through scenes its audience recognises.";
const sceneReply = recordReply(
  'scene',
  { title: text('at most 10 words'), body: text('the content, under 1,000 words'), callToAction: text('one sentence') },
  'body',
);

export type Scene = ReturnType<typeof sceneReply.parse>;

export type SceneParams =
  | { mode: 'write'; topic: string; channel: string | null }
  | { mode: 'refine'; content: string; instruction: string };

function request(params: SceneParams): string {
  if (params.mode === 'write') {
    const channel = params.channel ? `, for ${params.channel}` : '';
    return `Write a piece of content about: ${params.topic}${channel}. Tell it as a short scene from the brand's story, with its characters where they fit.`;
  }
  return (
    `Rewrite the content below as a scene in the brand's voice, following this instruction: ${params.instruction}.` +
    quoted('Content', params.content)
  );
}

export const sceneWriter = defineAgent({
  name: 'SceneWriter',
  taskType: 'SCENE_WRITER',
  tier: 'strong',
  outputTokensMax: SCENE_WRITER_OUTPUT_TOKENS_MAX,
  needs: ['vision', 'persona', 'characters'],
  messages: (context, params: SceneParams) => agentPrompt(WRITER, context, request(params), replyAsJson(sceneReply.example())),
  format: () => sceneReply.format(),
  parse: sceneReply.parse,
});
