import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Watches this process for the first entry into any AsyncLocalStorage (`run` or `enterWith`). On
 * Node 20 that entry turns on async hooks for the whole process, for good, and every promise created
 * afterwards pays an init hook: about 5 µs of Node CPU per durable settle in bench:balance. The
 * service avoids it (src/db/transaction.ts); the benchmarks report it so that a figure measured with
 * the hooks on is never mistaken for one without, and a test asserts the server never turns them on.
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

/** The report line for a watcher's answer. */
export function asyncContextLine(firstEntry: string | null): string {
  return firstEntry === null
    ? 'async hooks: off (nothing in this process entered an AsyncLocalStorage)'
    : `async hooks: ON, so the Node CPU figures include their cost; first AsyncLocalStorage entry: ${firstEntry}`;
}
