import type * as Tiktoken from 'js-tiktoken/lite' with { 'resolution-mode': 'import' };
import { useTokenizer } from '../../src/ai/tokenizer';
import { SHARED_ENCODER_GLOBAL } from './worker-shared';

/**
 * jest setupFiles: runs in every test file's module registry before its tests. The tokenizer uses
 * the o200k encoder the worker's environment built once (./environment.ts) instead of its own.
 */
const shared = (globalThis as Record<string, unknown>)[SHARED_ENCODER_GLOBAL] as Tiktoken.Tiktoken | undefined;
if (!shared) throw new Error(`${SHARED_ENCODER_GLOBAL} is not set: jest.config.js must name test/support/environment.ts as testEnvironment`);
useTokenizer(shared);
