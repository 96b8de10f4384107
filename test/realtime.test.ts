import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import pino from 'pino';
import { decode, encode } from '../src/realtime/codec';
import { PubSub, withFirst, type Bus, type BusCounts } from '../src/realtime/pubsub';
import { OUTGOING_IN_FLIGHT_MAX, RedisBus } from '../src/realtime/redis';
import { deferred, within } from './support/wait';

/**
 * The pieces of live updates that need no service: the codec values cross instances with, the
 * local fan-out with a bus beside it, and the Redis bus against a Redis that refuses connections or
 * never answers (the publisher must never wait, and what it holds is bounded).
 */

const log = pino({ level: 'silent' });

/** Keys that could be mistaken for the codec's markers, or set a prototype, mixed with ordinary ones. */
const keyArb = fc.oneof(fc.constantFrom('$d', '$o', '__proto__', 'expiresAt', 'v'), fc.string({ maxLength: 6 }));
const valueArb = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.date({ noInvalidDate: true, min: new Date(-8.64e15), max: new Date(8.64e15) }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

describe('codec: what crosses instances', () => {
  it('gives back an equal value: Dates as Dates, objects that look like markers as objects (fast-check)', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        const back = decode(encode(value));
        expect(back).toStrictEqual(value);
      }),
      { numRuns: 1_000 },
    );
  });

  it('keeps a balance snapshot, an alert and a marker-shaped model output as the resolvers expect them', () => {
    const expiresAt = new Date('2026-12-01T00:00:00.000Z');
    const snapshot = { tokens: 500, reserved: 0, available: 500, plan: 'FREE', expiringSoon: { amount: 20, expiresAt } };
    const back = decode(encode(snapshot)) as typeof snapshot;
    expect(back.expiringSoon.expiresAt).toBeInstanceOf(Date);
    expect(back).toStrictEqual(snapshot);
    const output = { $d: 5 };
    expect(decode(encode({ step: { output } }))).toStrictEqual({ step: { output } });
    expect(decode(encode({ $o: { $d: 1 } }))).toStrictEqual({ $o: { $d: 1 } });
    const invalid = decode(encode(new Date(Number.NaN))) as Date;
    expect(invalid).toBeInstanceOf(Date);
    expect(Number.isNaN(invalid.getTime())).toBe(true);
    // JSON's rules for what it cannot carry: undefined fields are left out.
    expect(decode(encode({ a: 1, b: undefined }))).toStrictEqual({ a: 1 });
  });
});

/** A bus that records what the pub/sub asks of it, and lets the test deliver as another instance. */
function recordingBus() {
  const calls: string[] = [];
  const listened = deferred<void>();
  let deliver!: (topic: string, value: unknown) => void;
  const counts: BusCounts = { sent: 0, received: 0, dropped: {} };
  const pubsub = new PubSub((d) => {
    deliver = d;
    const bus: Bus = {
      publish: (topic, value) => calls.push(`publish ${topic} ${JSON.stringify(value)}`),
      listen: (topic) => {
        calls.push(`listen ${topic}`);
        return listened.promise;
      },
      unlisten: (topic) => calls.push(`unlisten ${topic}`),
      close: async () => {
        calls.push('close');
      },
      counts,
    };
    return bus;
  });
  return { pubsub, calls, listened, deliver: (topic: string, value: unknown) => deliver(topic, value) };
}

describe('PubSub with a bus', () => {
  it('delivers here at once, hands each publish to the bus, and hears a topic only while someone here watches it', async () => {
    const { pubsub, calls, listened, deliver } = recordingBus();
    const a = pubsub.subscribe<number>('t');
    const b = pubsub.subscribe<number>('t');
    expect(calls).toEqual(['listen t']);
    let heard = false;
    const listening = pubsub.listening('t').then(() => (heard = true));
    await Promise.resolve();
    expect(heard).toBe(false);
    listened.resolve();
    await listening;

    pubsub.publish('t', 1);
    deliver('t', 2);
    deliver('other', 3);
    expect(calls).toEqual(['listen t', 'publish t 1']);
    expect(await a.next()).toEqual({ value: 1, done: false });
    expect(await a.next()).toEqual({ value: 2, done: false });
    expect(await b.next()).toEqual({ value: 1, done: false });
    expect(pubsub.counts).toMatchObject({ published: 1, delivered: 4 });

    await a.return!();
    expect(calls).not.toContain('unlisten t');
    await b.return!();
    expect(calls).toEqual(['listen t', 'publish t 1', 'unlisten t']);
    // Nobody watches now: a value from elsewhere goes nowhere.
    deliver('t', 4);
    expect(pubsub.counts.delivered).toBe(4);
    await pubsub.close();
    expect(calls[calls.length - 1]).toBe('close');
  });

  it('bounds every queue: latestOnly keeps the newest, others drop their oldest and count it', async () => {
    const { pubsub, deliver } = recordingBus();
    const state = pubsub.subscribe<number>('s', { latestOnly: true });
    const events = pubsub.subscribe<number>('e', { queueMax: 3 });
    for (let i = 1; i <= 50; i++) {
      deliver('s', i);
      deliver('e', i);
    }
    expect(await state.next()).toEqual({ value: 50, done: false });
    expect([await events.next(), await events.next(), await events.next()].map((r) => r.value)).toEqual([48, 49, 50]);
    expect(pubsub.counts.queueDropped).toBe(47);
  });

  it('withFirst sends the state read after listening before anything queued meanwhile', async () => {
    const pubsub = new PubSub();
    const events = pubsub.subscribe<string>('x', { latestOnly: true });
    pubsub.publish('x', 'pushed meanwhile');
    const stream = withFirst('state', events);
    expect((await stream.next()).value).toBe('state');
    expect((await stream.next()).value).toBe('pushed meanwhile');
    await stream.return!();
    expect(pubsub.subscriberCount()).toBe(0);
  });
});

/**
 * A TCP server that speaks just enough RESP for ioredis to become ready (HELLO refused, CLIENT, INFO), then
 * never answers anything else: a Redis that hangs. Returns the URL and what it received.
 */
async function silentRedis(): Promise<{ url: string; publishes: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let publishes = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      // Each command is an array of bulk strings: *N\r\n($len\r\narg\r\n)*N.
      for (;;) {
        const parsed = parseCommand(pending);
        if (!parsed) break;
        pending = pending.slice(parsed.length);
        const name = parsed.args[0]?.toUpperCase();
        // ioredis 6 asks for RESP3 first and falls back to RESP2 when HELLO is unknown, as on an old Redis.
        if (name === 'HELLO') socket.write("-ERR unknown command 'HELLO'\r\n");
        else if (name === 'CLIENT') socket.write('+OK\r\n');
        else if (name === 'INFO') socket.write('$11\r\nloading:0\r\n\r\n');
        else if (name === 'PUBLISH') publishes++;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    publishes: () => publishes,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseCommand(text: string): { args: string[]; length: number } | null {
  let at = text.indexOf('\r\n');
  if (at < 0 || text[0] !== '*') return null;
  const count = Number(text.slice(1, at));
  let pos = at + 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    at = text.indexOf('\r\n', pos);
    if (at < 0) return null;
    const len = Number(text.slice(pos + 1, at));
    if (text.length < at + 2 + len + 2) return null;
    args.push(text.slice(at + 2, at + 2 + len));
    pos = at + 2 + len + 2;
  }
  return { args, length: pos };
}

/** Resolves once `read()` is true, checked every few ms; rejects naming `what` after the bound. */
async function until(read: () => boolean, what: string): Promise<void> {
  const reached = deferred<void>();
  const timer = setInterval(() => read() && reached.resolve(), 5);
  try {
    if (read()) reached.resolve();
    await within(reached.promise, 30_000, what);
  } finally {
    clearInterval(timer);
  }
}

describe('RedisBus when Redis fails', () => {
  it('refused connections: publish returns at once and counts the drop; a subscription does not wait for Redis', async () => {
    // Port 1 on loopback: nothing listens, every connection is refused.
    const bus = new RedisBus({ url: 'redis://127.0.0.1:1', prefix: 'dead', instanceId: 'a', log }, () => undefined);
    try {
      for (let i = 0; i < 10; i++) bus.publish('balance:u', { tokens: i });
      expect(bus.counts.dropped.disconnected).toBe(10);
      expect(bus.outgoing).toBe(0);
      await bus.listen('balance:u');
    } finally {
      await bus.close();
    }
  });

  it('a Redis that never answers: at most OUTGOING_IN_FLIGHT_MAX publishes wait, the rest are dropped and counted', async () => {
    const redis = await silentRedis();
    const bus = new RedisBus({ url: redis.url, prefix: 'slow', instanceId: 'a', log }, () => undefined);
    try {
      await until(() => bus.connected, 'the bus to connect to the silent Redis');
      const extra = 25;
      for (let i = 0; i < OUTGOING_IN_FLIGHT_MAX + extra; i++) bus.publish('balance:u', { tokens: i });
      expect(bus.outgoing).toBe(OUTGOING_IN_FLIGHT_MAX);
      expect(bus.counts.dropped.full).toBe(extra);
      await until(() => redis.publishes() === OUTGOING_IN_FLIGHT_MAX, 'the silent Redis to receive every publish sent');
      expect(bus.counts.sent).toBe(0);
    } finally {
      await bus.close();
      await redis.close();
    }
  });
});
