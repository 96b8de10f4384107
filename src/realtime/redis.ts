import Redis from 'ioredis';
import type { Logger } from '../logger';
import { decode, encode } from './codec';
import type { Bus, BusCounts } from './pubsub';

/**
 * The bus between instances over Redis pub/sub (ioredis): one connection publishes, one listens.
 * A topic is the channel `andora:<REDIS_PREFIX:><topic>`, subscribed while this instance has a
 * subscriber to it, so Redis sends each instance only what someone there watches.
 *
 * The publishing side must never hold up the caller (the balance actor's event path): a publish is
 * written to the connection or dropped at once, never queued while Redis is away (no offline queue,
 * no resend), and at most `OUTGOING_IN_FLIGHT_MAX` wait for Redis's reply. Drops are counted by
 * reason (andora_pubsub_dropped_total) and logged at most once per `DROP_LOG_INTERVAL_MS`. Both
 * connections reconnect on their own; the listening one subscribes again to what is watched then.
 * Messages name the instance that sent them: it delivered them locally already and skips its echo.
 */
export interface RedisBusOptions {
  url: string;
  /** Goes into every channel name, so several deployments (or test runs) can share one Redis. @default '' */
  prefix: string;
  /** This instance's id, to recognise its own messages. */
  instanceId: string;
  log: Logger;
}

/** Publishes sent to Redis and not yet answered; past it a publish is dropped. */
export const OUTGOING_IN_FLIGHT_MAX = 1_000;
/** An encoded value above this is dropped, not sent (a flow event carries its run's outputs). */
export const MESSAGE_BYTES_MAX = 1_048_576;
/** A new subscription waits at most this long for Redis to confirm its channel, then goes on locally. */
export const LISTEN_WAIT_MS_MAX = 2_000;
/** Channels per SUBSCRIBE when a reconnected listener subscribes again. */
const RESUBSCRIBE_CHANNELS_MAX = 1_000;
/** At most one log line about drops (or connection errors) per this interval, with the count since the last. */
const DROP_LOG_INTERVAL_MS = 10_000;
/** Reconnect backoff: 100 ms more per attempt, capped. */
const RECONNECT_STEP_MS = 100;
const RECONNECT_MS_MAX = 2_000;
/** Connecting (TCP and handshake) gives up after this; the reconnect backoff then applies. */
const CONNECT_TIMEOUT_MS = 5_000;
/** After close(), a socket that does not close on its own is destroyed after this. */
const DISCONNECT_WAIT_MS_MAX = 200;
/** close(): QUIT is given this long before the connections are cut. */
const QUIT_WAIT_MS_MAX = 1_000;

export type DropReason = 'disconnected' | 'full' | 'failed' | 'too_large';

export interface RedisBusCounts extends BusCounts {
  /** Values not sent, by reason; and messages that could not be decoded. */
  dropped: Record<DropReason | 'undecodable', number>;
}

interface Envelope {
  /** The sending instance. */
  i: string;
  /** The encoded value (codec.ts). */
  v: string;
}

export class RedisBus implements Bus {
  readonly counts: RedisBusCounts = { sent: 0, received: 0, dropped: { disconnected: 0, full: 0, failed: 0, too_large: 0, undecodable: 0 } };
  private readonly publisher: Redis;
  private readonly listener: Redis;
  private readonly channelPrefix: string;
  /** Topics with a local subscriber: subscribed again after every reconnect. */
  private readonly watched = new Set<string>();
  private inFlight = 0;
  private droppedSinceLog = 0;
  private lastDropLogMs = 0;
  private lastErrorLogMs = 0;
  private closed = false;

  constructor(
    private readonly opts: RedisBusOptions,
    private readonly deliver: (topic: string, value: unknown) => void,
  ) {
    this.channelPrefix = `andora:${opts.prefix ? `${opts.prefix}:` : ''}`;
    const options = {
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Not in ioredis's types, but read by its connector: how long a closed connection's socket may
      // linger before it is destroyed (2 s by default, which kept the process alive after close()).
      disconnectTimeout: DISCONNECT_WAIT_MS_MAX,
      retryStrategy: (times: number) => (this.closed ? null : Math.min(times * RECONNECT_STEP_MS, RECONNECT_MS_MAX)),
    };
    this.publisher = new Redis(opts.url, { ...options, connectionName: `andora-pub-${opts.instanceId}` });
    this.listener = new Redis(opts.url, { ...options, connectionName: `andora-sub-${opts.instanceId}` });
    for (const connection of [this.publisher, this.listener]) connection.on('error', (err: Error) => this.connectionError(err));
    this.listener.on('ready', () => this.resubscribe());
    this.listener.on('message', (channel: string, message: string) => this.received(channel, message));
  }

  publish(topic: string, value: unknown): void {
    if (this.publisher.status !== 'ready') return this.drop('disconnected', topic);
    if (this.inFlight >= OUTGOING_IN_FLIGHT_MAX) return this.drop('full', topic);
    const envelope: Envelope = { i: this.opts.instanceId, v: encode(value) };
    const message = JSON.stringify(envelope);
    if (Buffer.byteLength(message) > MESSAGE_BYTES_MAX) return this.drop('too_large', topic);
    this.inFlight++;
    this.publisher.publish(this.channelPrefix + topic, message).then(
      () => {
        this.inFlight--;
        this.counts.sent++;
      },
      () => {
        this.inFlight--;
        this.drop('failed', topic);
      },
    );
  }

  listen(topic: string): Promise<void> {
    this.watched.add(topic);
    // Not connected: the reconnect subscribes it (resubscribe); until then only local values arrive.
    if (this.listener.status !== 'ready') return Promise.resolve();
    return bounded(this.listener.subscribe(this.channelPrefix + topic), LISTEN_WAIT_MS_MAX);
  }

  unlisten(topic: string): void {
    this.watched.delete(topic);
    if (this.listener.status === 'ready') this.listener.unsubscribe(this.channelPrefix + topic).catch((err: unknown) => this.connectionError(err));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.publisher, this.listener].map((c) => quit(c)));
  }

  /** Both connections are up. */
  get connected(): boolean {
    return this.publisher.status === 'ready' && this.listener.status === 'ready';
  }

  /** Publishes waiting for Redis's reply (tests check the bound). */
  get outgoing(): number {
    return this.inFlight;
  }

  private resubscribe(): void {
    const channels = [...this.watched].map((t) => this.channelPrefix + t);
    for (let i = 0; i < channels.length; i += RESUBSCRIBE_CHANNELS_MAX) {
      this.listener.subscribe(...channels.slice(i, i + RESUBSCRIBE_CHANNELS_MAX)).catch((err: unknown) => this.connectionError(err));
    }
  }

  private received(channel: string, message: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    let envelope: Envelope;
    let value: unknown;
    try {
      envelope = JSON.parse(message) as Envelope;
      if (envelope.i === this.opts.instanceId) return;
      value = decode(envelope.v);
    } catch (err) {
      this.counts.dropped.undecodable++;
      this.opts.log.warn({ err, channel }, 'live update from Redis could not be decoded; dropped');
      return;
    }
    this.counts.received++;
    this.deliver(channel.slice(this.channelPrefix.length), value);
  }

  private drop(reason: DropReason, topic: string): void {
    this.counts.dropped[reason]++;
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.lastDropLogMs < DROP_LOG_INTERVAL_MS) return;
    this.opts.log.warn({ reason, topic, dropped: this.droppedSinceLog, status: this.publisher.status }, 'live updates not sent to the other instances (Redis unavailable or too slow)');
    this.lastDropLogMs = now;
    this.droppedSinceLog = 0;
  }

  private connectionError(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLogMs < DROP_LOG_INTERVAL_MS) return;
    this.lastErrorLogMs = now;
    this.opts.log.warn({ err }, 'Redis connection for live updates failed; reconnecting');
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  await bounded(connection.quit(), QUIT_WAIT_MS_MAX);
  connection.disconnect();
}
