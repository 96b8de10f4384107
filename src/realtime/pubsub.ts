/**
 * Fan-out of live events to subscriptions, by topic. Every subscriber has a bounded queue: a slow
 * websocket can never make the publisher (the balance actor's event path) wait or grow memory
 * without bound.
 *
 * Alone (no REDIS_URL) a publish reaches this process's subscribers only. With a `Bus` (clustered
 * mode: redis.ts) a publish is delivered here at once and handed to the bus, which carries it to the
 * other instances; what the bus brings from them is delivered here the same way. The bus hears a
 * topic only while this process has a subscriber to it (`listen` on the first, `unlisten` after the
 * last), and it never makes `publish` wait: it drops and counts instead.
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

/** Carries published values to the other instances and back (redis.ts). */
export interface Bus {
  /** Sends a value this process published to the other instances. Never waits, never throws. */
  publish(topic: string, value: unknown): void;
  /** Starts hearing a topic; resolves once values published elsewhere reach `deliver` (bounded wait). */
  listen(topic: string): Promise<void>;
  /** Stops hearing a topic (its last local subscriber left). */
  unlisten(topic: string): void;
  close(): Promise<void>;
  readonly counts: BusCounts;
}

/** A bus's counters since start (andora_pubsub_*). */
export interface BusCounts {
  /** Values sent to the other instances (acknowledged by the bus). */
  sent: number;
  /** Values from other instances delivered here. */
  received: number;
  /** Values not sent (or received but unreadable), by reason. */
  dropped: Readonly<Record<string, number>>;
}

/** Builds the bus with the function it calls for every value another instance published. */
export type BusFactory = (deliver: (topic: string, value: unknown) => void) => Bus;

/** Counters since start, read by the metrics (andora_pubsub_*). */
export interface PubSubCounts {
  /** publish() calls. */
  published: number;
  /** Values handed to local subscribers (one per subscriber), from here or another instance. */
  delivered: number;
  /** Values a full subscriber queue dropped (its oldest); a latestOnly subscriber replaces instead. */
  queueDropped: number;
}

interface Subscriber {
  push(value: unknown): void;
}

interface Topic {
  subscribers: Set<Subscriber>;
  /** Resolves once the bus hears the topic (at once without a bus). */
  listening: Promise<void>;
}

const LISTENING = Promise.resolve();

export class PubSub {
  private readonly topics = new Map<string, Topic>();
  private readonly countListeners = new Set<(count: number) => void>();
  private readonly bus: Bus | undefined;
  readonly counts: PubSubCounts = { published: 0, delivered: 0, queueDropped: 0 };

  constructor(bus?: BusFactory) {
    this.bus = bus?.((topic, value) => this.deliver(topic, value));
  }

  /** Delivers to this process's subscribers and, clustered, to every other instance's. Never waits. */
  publish(topic: string, value: unknown): void {
    this.counts.published++;
    this.deliver(topic, value);
    this.bus?.publish(topic, value);
  }

  /**
   * Resolves once values published on any instance reach this process's subscribers of `topic`
   * (call it after `subscribe`). A state read after it misses no later change: subscriptions that
   * send the state first read it only then. Without a bus, at once; with one, at most the bus's
   * listen wait (a dead Redis delays a subscription, it never hangs it).
   */
  listening(topic: string): Promise<void> {
    return this.topics.get(topic)?.listening ?? LISTENING;
  }

  /** The bus's counters; undefined without one. */
  get busCounts(): BusCounts | undefined {
    return this.bus?.counts;
  }

  /** Stops hearing other instances (open subscriptions end with their sockets). */
  async close(): Promise<void> {
    await this.bus?.close();
  }

  subscriberCount(): number {
    let n = 0;
    for (const topic of this.topics.values()) n += topic.subscribers.size;
    return n;
  }

  /** Calls `listener` with the new subscriber count whenever one joins or leaves; returns the unsubscribe. */
  onSubscriberCount(listener: (count: number) => void): () => void {
    this.countListeners.add(listener);
    return () => this.countListeners.delete(listener);
  }

  private deliver(topic: string, value: unknown): void {
    const entry = this.topics.get(topic);
    if (!entry) return;
    for (const s of entry.subscribers) s.push(value);
    this.counts.delivered += entry.subscribers.size;
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
        if (queue.length >= queueMax) {
          queue.shift();
          if (!opts.latestOnly) this.counts.queueDropped++;
        }
        queue.push(value as T);
      },
    };
    const entry = this.join(topic, subscriber);
    const finish = (): IteratorResult<T> => {
      done = true;
      const left = entry.subscribers.delete(subscriber);
      if (entry.subscribers.size === 0 && this.topics.get(topic) === entry) {
        this.topics.delete(topic);
        this.bus?.unlisten(topic);
      }
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

  private join(topic: string, subscriber: Subscriber): Topic {
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = { subscribers: new Set(), listening: this.bus ? this.bus.listen(topic) : LISTENING };
      this.topics.set(topic, entry);
    }
    entry.subscribers.add(subscriber);
    this.countChanged();
    return entry;
  }
}

/**
 * Sends `first` before the values of `events` (which keeps queueing meanwhile): for a subscription
 * that reads its state only once the topic is heard everywhere (`PubSub.listening`).
 */
export function withFirst<T>(first: T, events: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  let sent = false;
  const iterator: AsyncIterableIterator<T> = {
    next: () => {
      if (sent) return events.next();
      sent = true;
      return Promise.resolve({ value: first, done: false });
    },
    return: () => events.return?.() ?? Promise.resolve({ value: undefined, done: true }),
    throw: (err) => events.throw?.(err) ?? Promise.reject(err),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

export const topics = {
  balance: (userId: string) => `balance:${userId}`,
};
