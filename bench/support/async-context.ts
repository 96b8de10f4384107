import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * Watches this process for the first entry into any AsyncLocalStorage (`run` or `enterWith`). On
 * Node 20 that entry turns on async hooks for the whole process, for good, and every promise created
 * afterwards pays an init hook: about 5 µs of Node CPU per durable settle in bench:balance. On Node 24
 * AsyncLocalStorage is built on AsyncContextFrame instead and an entry turns nothing on (see
 * `asyncHooksActive`). The service avoids entries anyway (src/db/transaction.ts); the benchmarks
 * report both facts so that a figure measured with the hooks on is never mistaken for one without,
 * and a test asserts the server never enters one.
 *
 * Returns a function that tells where the first entry came from (a few stack frames), or null if
 * nothing has entered one since the watch began. Watching again returns the same watcher.
 */
export function watchAsyncContext(): () => string | null {
  if (watcher) return watcher;
  let first: string | null = null;
  const proto = AsyncLocalStorage.prototype as unknown as Record<'run' | 'enterWith', (...args: unknown[]) => unknown>;
  for (const method of ['run', 'enterWith'] as const) {
    const original = proto[method];
    proto[method] = function (this: unknown, ...args: unknown[]) {
      first ??= `${method}: ${(new Error().stack ?? '').split('\n').slice(2, 2 + STACK_FRAMES_KEPT).map((l) => l.trim()).join(' < ')}`;
      return original.apply(this, args);
    };
  }
  watcher = () => first;
  return watcher;
}

const STACK_FRAMES_KEPT = 4;
let watcher: (() => string | null) | undefined;

/**
 * Whether the process tracks promises with async hooks right now, observed rather than inferred
 * from the Node version. A promise reaction runs after the callback that queued it has returned.
 * Without hooks nothing gives the reaction an async id of its own, so `executionAsyncId()` in it is
 * 0; with hooks on (on Node 20 after any AsyncLocalStorage entry, on any Node after
 * `createHook(...).enable()`) every promise gets a fresh id and the reaction runs under it.
 */
export function asyncHooksActive(): Promise<boolean> {
  return new Promise((resolve) => {
    setImmediate(() => {
      void Promise.resolve().then(() => resolve(executionAsyncId() !== 0));
    });
  });
}

/**
 * The BENCH_ASYNC_CONTEXT knob: `1` makes a benchmark enter MikroORM's transaction context once
 * before it measures anything (`enterAsyncContextOnce`), to measure what the no-`em.transactional`
 * rule saves on this Node; unset or `0` leaves the process as the service runs.
 */
export function asyncContextKnob(): boolean {
  const raw = process.env.BENCH_ASYNC_CONTEXT ?? '0';
  if (raw !== '0' && raw !== '1') throw new Error(`BENCH_ASYNC_CONTEXT must be 0 or 1, got ${raw}`);
  return raw === '1';
}

/**
 * One real `em.transactional` on a fork of `orm` (a `select 1` inside it), exactly what one signup
 * did before the rule: MikroORM's TransactionContext runs the callback in its AsyncLocalStorage. On
 * Node 20 that turns on async hooks for the rest of the process; on Node 24 it should not.
 */
export async function enterAsyncContextOnce(orm: MikroORM): Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- the benchmark knob measures exactly this call's process-wide cost
  await orm.em.fork().transactional((em) => em.execute('select 1'));
}

/** What the reports say about async context: the Node version, the knob, the first entry, the hooks. */
export interface AsyncContextState {
  node: string;
  knob: boolean;
  /** Where the first AsyncLocalStorage entry came from, or null if there was none. */
  firstEntry: string | null;
  /** Observed at the end of the run (`asyncHooksActive`). */
  hooksActive: boolean;
}

export async function asyncContextState(firstEntry: () => string | null): Promise<AsyncContextState> {
  return { node: process.version, knob: asyncContextKnob(), firstEntry: firstEntry(), hooksActive: await asyncHooksActive() };
}

/** The report line for a state. */
export function asyncContextLine(s: AsyncContextState): string {
  const hooks = s.hooksActive ? 'async hooks: ON (the Node CPU figures include their cost)' : 'async hooks: off';
  const knob = s.knob ? ', BENCH_ASYNC_CONTEXT=1' : '';
  const entry =
    s.firstEntry === null
      ? 'nothing in this process entered an AsyncLocalStorage'
      : `first AsyncLocalStorage entry: ${s.firstEntry}`;
  return `${hooks} on Node ${s.node}${knob}; ${entry}`;
}
