/**
 * Waiting in tests without sleeping: on a promise or on an event, bounded, failing loudly with what
 * was awaited when the bound passes. A bound here is a backstop against a hang, never the thing a
 * test measures.
 */

/** Settles as `promise` does, or rejects naming `what` once `ms` have passed. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** A promise settled from outside: by an event handler, a listener, a log sink. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Values that arrive over time (probe results, log lines), kept in order, and waits for the moment
 * they satisfy a condition: each arrival re-checks the waiting conditions, so nothing polls.
 */
export class Arrivals<T> {
  private readonly values: T[] = [];
  private readonly waiters = new Set<{ ready: (values: readonly T[]) => boolean; done: () => void }>();

  constructor(private readonly max: number) {}

  /** Everything that arrived, oldest first (at most `max`). */
  get all(): readonly T[] {
    return this.values;
  }

  push(value: T): void {
    if (this.values.length >= this.max) return;
    this.values.push(value);
    for (const waiter of this.waiters) {
      if (waiter.ready(this.values)) waiter.done();
    }
  }

  /** Resolves once `ready` holds for what has arrived; rejects naming `what` after `ms`. */
  async waitFor(ready: (values: readonly T[]) => boolean, ms: number, what: string): Promise<void> {
    if (ready(this.values)) return;
    const arrived = deferred();
    const waiter = { ready, done: arrived.resolve };
    this.waiters.add(waiter);
    try {
      await within(arrived.promise, ms, what);
    } finally {
      this.waiters.delete(waiter);
    }
  }
}

/** How long a test waits for the server to count a subscriber in or out before it fails. */
export const SUBSCRIBERS_WAIT_MS = 30_000;

/**
 * Resolves once the server's subscriber count satisfies `ready` (checked now and at every change);
 * rejects naming `what` after `ms`.
 */
export function subscribersReach(
  pubsub: { subscriberCount(): number; onSubscriberCount(listener: (count: number) => void): () => void },
  ready: (count: number) => boolean,
  what: string,
  ms = SUBSCRIBERS_WAIT_MS,
): Promise<void> {
  const reached = deferred<void>();
  const stop = pubsub.onSubscriberCount((count) => {
    if (ready(count)) reached.resolve();
  });
  if (ready(pubsub.subscriberCount())) reached.resolve();
  return within(reached.promise, ms, what).finally(stop);
}

/** A count that a test can wait on: `reached(n)` resolves once it is at least `n` (acknowledged requests of a load). */
export class Count {
  private n = 0;
  private readonly waiters = new Set<{ n: number; resolve: () => void }>();

  get value(): number {
    return this.n;
  }

  increment(): void {
    this.n++;
    for (const waiter of this.waiters) {
      if (this.n < waiter.n) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  reached(n: number): Promise<void> {
    if (this.n >= n) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.add({ n, resolve }));
  }
}
