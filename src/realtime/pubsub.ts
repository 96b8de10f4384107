/**
 * In-process fan-out of live events to subscriptions, by topic. Every subscriber has a bounded
 * queue: a slow websocket can never make the publisher (the balance actor's event path) wait or
 * grow memory without bound. With several instances this interface gets a Redis implementation.
 */
export interface SubscribeOptions {
  /** Keep only the newest undelivered value (state, like a balance): never stale at rest. */
  latestOnly?: boolean;
  /** Undelivered values kept per subscriber; older ones are dropped past it. @default 100 */
  queueMax?: number;
  /** Delivered first, before any published value. */
  initial?: unknown;
}

const QUEUE_MAX_DEFAULT = 100;

interface Subscriber {
  push(value: unknown): void;
}

export class PubSub {
  private readonly topics = new Map<string, Set<Subscriber>>();
  private readonly countListeners = new Set<(count: number) => void>();

  publish(topic: string, value: unknown): void {
    const subscribers = this.topics.get(topic);
    if (subscribers) for (const s of subscribers) s.push(value);
  }

  subscriberCount(): number {
    let n = 0;
    for (const set of this.topics.values()) n += set.size;
    return n;
  }

  /** Calls `listener` with the new subscriber count whenever one joins or leaves; returns the unsubscribe. */
  onSubscriberCount(listener: (count: number) => void): () => void {
    this.countListeners.add(listener);
    return () => this.countListeners.delete(listener);
  }

  private countChanged(): void {
    if (this.countListeners.size === 0) return;
    const count = this.subscriberCount();
    for (const listener of this.countListeners) listener(count);
  }

  subscribe<T>(topic: string, opts: SubscribeOptions = {}): AsyncIterableIterator<T> {
    const queueMax = opts.latestOnly ? 1 : (opts.queueMax ?? QUEUE_MAX_DEFAULT);
    const queue: T[] = opts.initial === undefined ? [] : [opts.initial as T];
    let waiting: ((r: IteratorResult<T>) => void) | null = null;
    let done = false;
    const subscriber: Subscriber = {
      push: (value) => {
        if (waiting) {
          const resolve = waiting;
          waiting = null;
          resolve({ value: value as T, done: false });
          return;
        }
        if (queue.length >= queueMax) queue.shift();
        queue.push(value as T);
      },
    };
    const set = this.topics.get(topic) ?? new Set();
    set.add(subscriber);
    this.topics.set(topic, set);
    this.countChanged();
    const finish = (): IteratorResult<T> => {
      done = true;
      const left = set.delete(subscriber);
      if (set.size === 0 && this.topics.get(topic) === set) this.topics.delete(topic);
      if (left) this.countChanged();
      waiting?.({ value: undefined, done: true });
      waiting = null;
      return { value: undefined, done: true };
    };
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          waiting = resolve;
        });
      },
      return: () => Promise.resolve(finish()),
      throw: (err) => {
        finish();
        return Promise.reject(err);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

export const topics = {
  balance: (userId: string) => `balance:${userId}`,
};
