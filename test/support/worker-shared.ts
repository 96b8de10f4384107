/** The global under which test/support/environment.ts hands each test file the worker's o200k encoder. */
export const SHARED_ENCODER_GLOBAL = '__andoraO200kEncoder';
