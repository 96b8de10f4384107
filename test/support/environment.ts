import { TestEnvironment } from 'jest-environment-node';
import type * as Tiktoken from 'js-tiktoken/lite' with { 'resolution-mode': 'import' };
import { SHARED_ENCODER_GLOBAL } from './worker-shared';

/**
 * jest's node environment, plus what is costly to build and the same for every test file a worker
 * runs. Each test file gets a module registry of its own, so src/ai/tokenizer.ts built the o200k
 * encoder again in every file: about half a second of CPU and a lot of garbage, a quarter of a small
 * file's CPU. This module is loaded once per worker (jest keeps it in the worker's own module
 * cache), builds the encoder on first use, and hands it to every file's global; ./setup.ts gives it
 * to that file's copy of the tokenizer (useTokenizer).
 */

let encoder: Tiktoken.Tiktoken | undefined;

function sharedEncoder(): Tiktoken.Tiktoken {
  if (encoder) return encoder;
  // The same modules and construction as loadTokenizer (src/ai/tokenizer.ts), outside jest's registry.
  const lite = require('js-tiktoken/lite') as typeof Tiktoken;
  const o200k = require('js-tiktoken/ranks/o200k_base') as Tiktoken.TiktokenBPE;
  encoder = new lite.Tiktoken(o200k);
  return encoder;
}

export default class AndoraEnvironment extends TestEnvironment {
  // In the constructor: jest runs setupFiles before the environment's setup().
  constructor(...args: ConstructorParameters<typeof TestEnvironment>) {
    super(...args);
    this.global[SHARED_ENCODER_GLOBAL] = sharedEncoder();
  }
}
