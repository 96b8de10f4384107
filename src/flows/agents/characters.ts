import { quoted, replyAsJson } from '../../ai/tasks/define';
import { charactersReply, CHARACTERS_OUTPUT_TOKENS_MAX, type Character } from '../../ai/tasks/story';
import { agentPrompt, defineAgent } from './define';

/** CharacterGenerator: the brand's recurring characters, created beside the existing ones or refined. */

const STORYTELLER = 'a brand storyteller who turns a brand into an ongoing story told through its content.';

export interface Characters {
  characters: Character[];
}

export type CharacterParams =
  | { mode: 'create'; count: number; focus: string | null }
  | { mode: 'refine'; characterName: string; instruction: string; currentProfile: string | null };

function request(params: CharacterParams): string {
  if (params.mode === 'create') {
    const plural = params.count === 1 ? '' : 's';
    const focus = params.focus ? `, centred on: ${params.focus}` : '';
    return `Create ${params.count} distinct recurring character${plural} for the brand's stories${focus}. Make them unlike the brand's existing characters, if any are listed below.`;
  }
  return (
    `Improve the character ${params.characterName}, following this instruction: ${params.instruction}. ` +
    'Keep their name, and reply with this one character only.' +
    quoted('Current profile', params.currentProfile)
  );
}

export const characterGenerator = defineAgent({
  name: 'CharacterGenerator',
  taskType: 'CHARACTER_GENERATOR',
  tier: 'strong',
  /** Eight characters with a 60-word backstory each come to about 1,100 tokens of JSON. */
  outputTokensMax: CHARACTERS_OUTPUT_TOKENS_MAX,
  needs: ['vision', 'persona', 'characters'],
  messages: (context, params: CharacterParams) => agentPrompt(STORYTELLER, context, request(params), replyAsJson(charactersReply.example())),
  // Refining keeps the character's name; offline, the one character comes back under it.
  format: (params: CharacterParams) =>
    params.mode === 'create' ? charactersReply.format(params.count) : charactersReply.format(1, () => ({ name: params.characterName })),
  parse: (reply): Characters => ({ characters: charactersReply.parse(reply) }),
});
