/**
 * Preloaded with `node --require` into a process whose async hooks are under test (the server in
 * test/async-hooks.test.ts): watches for the first AsyncLocalStorage entry from the start and, when
 * the process exits, writes what it saw as JSON ({ firstEntry: string | null }) to the file named by
 * ASYNC_CONTEXT_PROBE_FILE.
 */
import { writeFileSync } from 'node:fs';
import { watchAsyncContext } from './async-context';

const file = process.env.ASYNC_CONTEXT_PROBE_FILE;
if (!file) throw new Error('async-context-probe: set ASYNC_CONTEXT_PROBE_FILE');
const firstEntry = watchAsyncContext();
process.on('exit', () => writeFileSync(file, JSON.stringify({ firstEntry: firstEntry() })));
