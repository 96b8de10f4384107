import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import Redis from 'ioredis';
import pino from 'pino';
import { alertTopics } from '../src/monitoring/alerts';
import { PubSub, topics } from '../src/realtime/pubsub';
import { RedisBus } from '../src/realtime/redis';
import { startFakeProvider, type FakeProvider, openaiEnv } from './support/fake-provider';
import { gql, subscribe, wsClient } from './support/graphql-client';
import { createTestDatabase, startTestApp, type TestApp } from './support/test-app';
import { deferred, subscribersReach, within } from './support/wait';

/**
 * Live updates across instances (issue 17) over a real Redis: two instances in this process on one
 * PostgreSQL database and one Redis, their channels isolated from other runs by REDIS_PREFIX. Until
 * ownership between instances lands, only one instance changes a user's balance: the changes are
 * made through A and watched on B. A dead Redis must never hold up a settle.
 */

const REDIS_URL = process.env.TEST_REDIS_URL;
const DATABASE_URL = process.env.TEST_DATABASE_URL;
const log = pino({ level: 'silent' });
/** Every test run's channels are its own on the shared Redis. */
const runPrefix = () => `test-${randomBytes(6).toString('hex')}`;

/** Resolves once `read()` is true, checked every few ms; rejects naming `what` after the bound. */
async function until(read: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const reached = deferred<void>();
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      if (await read()) return reached.resolve();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  void poll();
  try {
    await within(reached.promise, 30_000, what);
  } finally {
    stopped = true;
  }
}

const describeRedis = REDIS_URL ? describe : describe.skip;

describeRedis(REDIS_URL ? 'RedisBus on a real Redis' : 'SKIPPED (set TEST_REDIS_URL; .ci/run does): RedisBus on a real Redis', () => {
  const prefix = runPrefix();
  const buses: RedisBus[] = [];
  const node = (id: string) => new PubSub((deliver) => {
    const bus = new RedisBus({ url: REDIS_URL!, prefix, instanceId: id, log }, deliver);
    buses.push(bus);
    return bus;
  });
  let a: PubSub;
  let b: PubSub;
  let busA: RedisBus;
  let busB: RedisBus;
  let admin: Redis;
  beforeAll(() => {
    a = node('a');
    b = node('b');
    [busA, busB] = buses as [RedisBus, RedisBus];
    admin = new Redis(REDIS_URL!);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    admin.disconnect();
  });

  it('carries values both ways with their Dates, skips its own echo, and coalesces a burst for a latestOnly subscriber', async () => {
    await until(() => busA.connected && busB.connected, 'both buses to connect');
    const onA = a.subscribe<{ n: number }>('burst', { queueMax: 1_000 });
    const latest = b.subscribe<{ n: number; at: Date }>('burst', { latestOnly: true });
    const bounded = b.subscribe<{ n: number }>('burst', { queueMax: 10 });
    await a.listening('burst');
    await b.listening('burst');

    const burst = 500;
    const at = new Date('2026-11-30T12:00:00.000Z');
    for (let n = 1; n <= burst; n++) a.publish('burst', { n, at });
    await until(() => busB.counts.received === burst, `B to receive all ${burst} values`);
    const newest = await latest.next();
    expect(newest.value).toEqual({ n: burst, at });
    expect(newest.value!.at).toBeInstanceOf(Date);
    const kept: number[] = [];
    for (let i = 0; i < 10; i++) kept.push((await bounded.next()).value!.n);
    expect(kept).toEqual(Array.from({ length: 10 }, (_, i) => burst - 9 + i));
    expect(b.counts.queueDropped).toBe(burst - 10);

    // A delivered its own values once, locally; Redis's echo of them was skipped.
    for (let n = 1; n <= burst; n++) expect((await onA.next()).value!.n).toBe(n);
    await until(() => busA.counts.sent === burst, 'A to see Redis acknowledge every publish');
    expect(busA.counts.received).toBe(0);
    b.publish('burst', { n: -1, at });
    expect((await onA.next()).value!.n).toBe(-1);
    expect(busA.counts.received).toBe(1);

    // Nothing is left behind the newest: B's own publish (delivered at once), then A's next one.
    expect((await latest.next()).value!.n).toBe(-1);
    a.publish('burst', { n: burst + 1, at });
    expect((await latest.next()).value!.n).toBe(burst + 1);
    await onA.return!();
    await latest.return!();
    await bounded.return!();
  });

  it('subscribes a channel while someone watches it and unsubscribes it after the last one leaves', async () => {
    const channel = `andora:${prefix}:${topics.balance('watched')}`;
    const numsub = async () => Number(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]);
    const first = b.subscribe(topics.balance('watched'));
    const second = b.subscribe(topics.balance('watched'));
    await b.listening(topics.balance('watched'));
    expect(await numsub()).toBe(1);
    await first.return!();
    expect(await numsub()).toBe(1);
    await second.return!();
    await until(async () => (await numsub()) === 0, 'the channel to be unsubscribed');
  });
});

/** A TCP proxy to Redis that can cut every connection and refuse new ones until restored: an outage. */
async function redisOutage(target: string): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) return client.destroy();
    const redis = connect(Number(upstream.port || 6379), upstream.hostname);
    for (const s of [client, redis]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(redis).pipe(client);
    client.on('close', () => redis.destroy());
    redis.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      down = false;
    },
    close: async () => {
      down = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describeRedis(REDIS_URL ? 'RedisBus through a Redis outage' : 'SKIPPED (set TEST_REDIS_URL; .ci/run does): RedisBus through a Redis outage', () => {
  it('reconnects after an outage and subscribes again to what is watched; publishing meanwhile drops and counts, never waits', async () => {
    const prefix = runPrefix();
    const outage = await redisOutage(REDIS_URL!);
    let busB!: RedisBus;
    const a = new PubSub((deliver) => new RedisBus({ url: REDIS_URL!, prefix, instanceId: 'a', log }, deliver));
    const b = new PubSub((deliver) => (busB = new RedisBus({ url: outage.url, prefix, instanceId: 'b', log }, deliver)));
    const admin = new Redis(REDIS_URL!);
    const channel = `andora:${prefix}:${topics.balance('u')}`;
    const numsub = async () => Number(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]);
    try {
      await until(() => busB.connected, 'B to connect through the proxy');
      const watching = b.subscribe<{ n: number }>(topics.balance('u'));
      await b.listening(topics.balance('u'));
      a.publish(topics.balance('u'), { n: 1 });
      expect((await watching.next()).value).toEqual({ n: 1 });

      outage.cut();
      await until(() => !busB.connected, 'B to see the outage');
      await until(async () => (await numsub()) === 0, 'Redis to see B gone');
      b.publish(topics.balance('u'), { n: 2 });
      expect(busB.counts.dropped.disconnected).toBe(1);
      expect((await watching.next()).value).toEqual({ n: 2 });

      outage.restore();
      await until(async () => (await numsub()) === 1, 'B to subscribe again after reconnecting');
      a.publish(topics.balance('u'), { n: 3 });
      expect((await watching.next()).value).toEqual({ n: 3 });
      await watching.return!();
    } finally {
      await a.close();
      await b.close();
      admin.disconnect();
      await outage.close();
    }
  });
});

const describeCluster = REDIS_URL && DATABASE_URL ? describe : describe.skip;

describeCluster(
  REDIS_URL && DATABASE_URL ? 'two instances on one Redis and PostgreSQL' : 'SKIPPED (set TEST_REDIS_URL and TEST_DATABASE_URL; .ci/run does): two instances on one Redis and PostgreSQL',
  () => {
    const ADMIN_EMAIL = `live-admin-${randomBytes(4).toString('hex')}@example.com`;
    const SIGNUP_TOKENS = 1_020;
    let fake: FakeProvider;
    let a: TestApp;
    let b: TestApp;
    let admin: { token: string; userId: string };

    beforeAll(async () => {
      fake = await startFakeProvider();
      const db = await createTestDatabase();
      const env = {
        REDIS_URL: REDIS_URL!,
        REDIS_PREFIX: runPrefix(),
        ADMIN_EMAILS: ADMIN_EMAIL,
        ...openaiEnv(fake),
        SIGNUP_GRANT_TOKENS: String(SIGNUP_TOKENS),
        LOW_BALANCE_THRESHOLD: '1000',
      };
      a = await startTestApp(env, db);
      b = await startTestApp(env, db);
      admin = await a.signUp(ADMIN_EMAIL);
    });
    afterAll(async () => {
      // Both on one database: the second to close drops it.
      await b?.close({ drop: false });
      await a?.close({ drop: true });
      await fake.close();
    });

    async function userWithBrand() {
      const user = await a.signUp();
      const res = await gql(a.url, 'mutation { createBrand(input: { name: "Everywhere" }) { brand { id } } }', {}, user.token);
      return { ...user, brandId: res.data!.createBrand.brand.id as string };
    }

    it('a subscriber on B sees a charge made through A (committed tokens); alerts raised on A reach the user and an admin on B', async () => {
      const user = await userWithBrand();
      // A owns the balance (its lease): B serves the subscription and forwards its first read to A.
      expect((await gql(a.url, '{ tokenBalance { tokens } }', {}, user.token)).data!.tokenBalance.tokens).toBe(SIGNUP_TOKENS);
      expect(a.app.services.balance.peek(user.userId)).toBeDefined();
      const userClient = wsClient(b.url, user.token);
      const adminClient = wsClient(b.url, admin.token);
      const balances = subscribe<{ balanceChanged: { tokens: number; reserved: number; available: number } }>(userClient, 'subscription { balanceChanged { tokens reserved available } }');
      const own = subscribe<any>(userClient, 'subscription { tokenAlertRaised { id type userId createdAt } }');
      const everyone = subscribe<any>(adminClient, 'subscription { tokenAlertRaised(allUsers: true) { id type userId createdAt } }');
      try {
        expect((await balances.next()).balanceChanged).toEqual({ tokens: SIGNUP_TOKENS, reserved: 0, available: SIGNUP_TOKENS });
        await subscribersReach(b.app.services.pubsub, (n) => n >= 3, 'the three subscriptions on B');
        await b.app.services.pubsub.listening(alertTopics.user(user.userId));
        await b.app.services.pubsub.listening(alertTopics.all);
        const receivedBefore = b.app.services.pubsub.busCounts!.received;

        const chat = await gql(a.url, 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { balance { tokens } } }', { b: user.brandId }, user.token);
        expect(chat.errors).toBeUndefined();
        const after = chat.data!.chatWithAndora.balance.tokens as number;
        expect(after).toBeLessThan(1_000);
        let seen = (await balances.next()).balanceChanged;
        while (seen.tokens !== after || seen.reserved !== 0) {
          // Only committed balances travel: nothing between the sign-up's and the charge's.
          expect(seen.tokens).toBe(SIGNUP_TOKENS);
          seen = (await balances.next()).balanceChanged;
        }
        expect(seen).toEqual({ tokens: after, reserved: 0, available: after });

        await a.app.services.alerts.settled();
        const raised = (await gql(a.url, '{ tokenAlerts { id type createdAt } }', {}, user.token)).data!.tokenAlerts.find((x: any) => x.type === 'LOW_BALANCE');
        expect(raised).toBeDefined();
        const mine = (await own.next()).tokenAlertRaised;
        expect(mine).toEqual({ id: raised.id, type: 'LOW_BALANCE', userId: user.userId, createdAt: raised.createdAt });
        let theirs = (await everyone.next()).tokenAlertRaised;
        while (theirs.id !== raised.id) theirs = (await everyone.next()).tokenAlertRaised;
        expect(theirs).toEqual(mine);
        expect(b.app.services.pubsub.busCounts!.received).toBeGreaterThan(receivedBefore);
        expect(b.app.services.balance.peek(user.userId)).toBeUndefined();
      } finally {
        balances.stop();
        own.stop();
        everyone.stop();
        await userClient.dispose();
        await adminClient.dispose();
      }
    });

    it('flowProgress on B follows a run started through A to its end', async () => {
      const user = await userWithBrand();
      const granted = await gql(a.url, 'mutation($u: ID!) { grantTokens(input: { userId: $u, amount: 100000, reason: "flows" }) { balance { tokens } } }', { u: user.userId }, admin.token);
      expect(granted.errors).toBeUndefined();
      const answer = deferred<void>();
      fake.setBehavior({ gate: answer.promise });
      const started = await gql(
        a.url,
        'mutation($input: StartExpandBriefFlowInput!) { startExpandBriefFlow(input: $input) { flowRun { id status } } }',
        { input: { brandId: user.brandId, brief: 'Launch post for the spring line' } },
        user.token,
      );
      expect(started.errors).toBeUndefined();
      const runId = started.data!.startExpandBriefFlow.flowRun.id as string;
      const client = wsClient(b.url, user.token);
      const progress = subscribe<any>(client, `subscription($id: ID!) { flowProgress(flowRunId: $id) { type flowRun { id status finishedAt steps { status finishedAt } } } }`, { id: runId });
      try {
        const first = (await progress.next()).flowProgress;
        expect(first).toMatchObject({ type: 'STATE', flowRun: { id: runId, status: 'RUNNING' } });
        answer.resolve();
        await progress.done;
        const events = progress.buffered().map((e) => e.flowProgress);
        expect(progress.errors).toEqual([]);
        const last = events[events.length - 1];
        expect(last.type).toBe('FLOW_FINISHED');
        const stored = (await gql(a.url, 'query($id: ID!) { flowRun(id: $id) { id status finishedAt steps { status finishedAt } } }', { id: runId }, user.token)).data!.flowRun;
        expect(last.flowRun).toEqual(stored);
        expect(stored.finishedAt).toEqual(expect.any(String));
      } finally {
        fake.setBehavior({});
        progress.stop();
        await client.dispose();
      }
    });

    it('a run of an instance declared dead ends for a subscriber on another instance: the leader publishes FLOW_FAILED', async () => {
      const user = await userWithBrand();
      await gql(a.url, 'mutation($u: ID!) { grantTokens(input: { userId: $u, amount: 100000, reason: "flows" }) { balance { tokens } } }', { u: user.userId }, admin.token);
      const answer = deferred<void>();
      fake.setBehavior({ gate: answer.promise });
      const started = await gql(
        a.url,
        'mutation($input: StartExpandBriefFlowInput!) { startExpandBriefFlow(input: $input) { flowRun { id } } }',
        { input: { brandId: user.brandId, brief: 'Launch post for the spring line' } },
        user.token,
      );
      const runId = started.data!.startExpandBriefFlow.flowRun.id as string;
      const client = wsClient(b.url, user.token);
      const progress = subscribe<any>(client, `subscription($id: ID!) { flowProgress(flowRunId: $id) { type flowRun { id status error } } }`, { id: runId });
      try {
        expect((await progress.next()).flowProgress).toMatchObject({ type: 'STATE', flowRun: { status: 'RUNNING' } });
        // As if A had died: its run is recorded under an instance past its lease, and the leader (A here,
        // so the state travels through Redis to B) fails that instance's runs.
        const dead = `dead-${randomBytes(4).toString('hex')}`;
        await a.app.services.orm.em.fork().execute('update flow_runs set instance_id = ? where id = ?', [dead, runId]);
        expect(await a.app.services.flows.failRunsOf([dead])).toBe(1);
        await within(progress.done, 30_000, 'the subscription on B to end with the run');
        const events = progress.buffered().map((e) => e.flowProgress);
        // The run's first step starts as the mutation returns, so its STEP_STARTED may reach B after
        // the snapshot (CI saw it once); the failure ends the run, and nothing comes after it.
        const [ending, ...before] = [...events].reverse();
        expect(before.filter((e) => e.type !== 'STEP_STARTED')).toEqual([]);
        expect(before.every((e) => e.flowRun.id === runId && e.flowRun.status === 'RUNNING')).toBe(true);
        expect(ending).toEqual({ type: 'FLOW_FAILED', flowRun: { id: runId, status: 'FAILED', error: expect.any(String) } });
      } finally {
        answer.resolve();
        fake.setBehavior({});
        progress.stop();
        await client.dispose();
      }
    });
  },
);

const describePostgres = DATABASE_URL ? describe : describe.skip;

describePostgres(DATABASE_URL ? 'a dead Redis' : 'SKIPPED (set TEST_DATABASE_URL; .ci/run does): a dead Redis', () => {
  let fake: FakeProvider;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeProvider();
    // Port 1 on loopback: every connection is refused.
    t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: runPrefix(), ...openaiEnv(fake) });
  });
  afterAll(async () => {
    await t?.close({ drop: true });
    await fake.close();
  });

  it('never holds up a settle: the charge commits, local subscribers still get it, the lost publishes are counted', async () => {
    const user = await t.signUp();
    const brand = await gql(t.url, 'mutation { createBrand(input: { name: "Unbothered" }) { brand { id } } }', {}, user.token);
    const client = wsClient(t.url, user.token);
    const balances = subscribe<{ balanceChanged: { tokens: number; reserved: number } }>(client, 'subscription { balanceChanged { tokens reserved } }');
    try {
      const initial = (await balances.next()).balanceChanged.tokens;
      const chat = await gql(t.url, 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hi" }) { balance { tokens } } }', { b: brand.data!.createBrand.brand.id }, user.token);
      expect(chat.errors).toBeUndefined();
      const after = chat.data!.chatWithAndora.balance.tokens as number;
      expect(after).toBeLessThan(initial);
      let seen = (await balances.next()).balanceChanged;
      while (seen.tokens !== after || seen.reserved !== 0) seen = (await balances.next()).balanceChanged;
      const counts = t.app.services.pubsub.busCounts!;
      expect(counts.dropped.disconnected).toBeGreaterThan(0);
      expect(counts.sent).toBe(0);
      const metrics = t.app.services.metrics.registry;
      expect(await metrics.getSingleMetricAsString('andora_pubsub_dropped_total')).toMatch(/reason="disconnected"} [1-9]/);
    } finally {
      balances.stop();
      await client.dispose();
    }
  });
});
