import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gql, subscribe, wsClient } from './support/graphql-client';
import { assertBuilt, killAllServers, serverProcessEnv, startServerProcess } from './support/server-process';
import { createTestDatabase } from './support/test-app';

/**
 * On Node 20 the first entry into any AsyncLocalStorage turns on async hooks for the whole process,
 * and every promise created afterwards pays for them (bench:balance: about 5 µs of Node CPU per
 * durable settle). MikroORM enters one in `em.transactional`, in every unit-of-work flush and in
 * `findAndCount`, so the server writes without them (src/db/transaction.ts). This runs the real
 * server with a probe preloaded, drives every kind of write it makes (signup, brand, generation,
 * charge, low-balance alert, flow, admin grant) and reads, then checks nothing entered one.
 */

const PROBE_JS = resolve(__dirname, '../dist/bench/support/async-context-probe.js');
const ASYNC_CONTEXT_JS = resolve(__dirname, '../dist/bench/support/async-context.js');
const ADMIN_EMAIL = 'admin@example.com';
const PASSWORD = 'correct horse battery';
const SIGN_UP = 'mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p }) { token user { id } } }';
/** More progress events than an expand-brief flow sends (its state, two per step, the end). */
const FLOW_EVENTS_MAX = 50;

function readProbe(file: string): { firstEntry: string | null } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

describe('async hooks stay off in the server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'andora-probe-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    return killAllServers();
  });

  it('the probe sees an AsyncLocalStorage entry when there is one', () => {
    assertBuilt();
    const file = join(dir, 'control.json');
    execFileSync(process.execPath, ['--require', PROBE_JS, '-e', "new (require('node:async_hooks').AsyncLocalStorage)().run(1, () => 0)"], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ASYNC_CONTEXT_PROBE_FILE: file },
    });
    expect(readProbe(file).firstEntry).toMatch(/^run: /);
  });

  it('asyncHooksActive (the benchmarks\' report line) tells whether promise hooks are on', () => {
    assertBuilt();
    const run = (before: string) =>
      execFileSync(process.execPath, ['-e', `${before}; require(${JSON.stringify(ASYNC_CONTEXT_JS)}).asyncHooksActive().then((on) => process.stdout.write(String(on)))`], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      }).toString();
    expect(run('')).toBe('false');
    expect(run("require('node:async_hooks').createHook({ init() {} }).enable()")).toBe('true');
    // What the no-em.transactional rule is about: an AsyncLocalStorage entry turns the hooks on up to
    // Node 22, and not from Node 24 on, where AsyncLocalStorage is built on AsyncContextFrame.
    const major = Number(process.versions.node.split('.')[0]);
    expect(run("new (require('node:async_hooks').AsyncLocalStorage)().run(1, () => 0)")).toBe(String(major < 24));
  });

  it('no request path enters one', async () => {
    assertBuilt();
    const db = await createTestDatabase();
    const file = join(dir, 'server.json');
    try {
      const server = await startServerProcess(
        serverProcessEnv(db, ADMIN_EMAIL, {
          SIGNUP_GRANT_TOKENS: '5000',
          LOW_BALANCE_THRESHOLD: '4999',
          NODE_OPTIONS: `--require ${PROBE_JS}`,
          ASYNC_CONTEXT_PROBE_FILE: file,
        }),
      );
      const ok = (res: { errors?: unknown[]; data?: Record<string, any> | null }) => {
        expect(res.errors).toBeUndefined();
        return res.data!;
      };
      const admin = ok(await gql(server.url, SIGN_UP, { e: ADMIN_EMAIL, p: PASSWORD })).signUp;
      const user = ok(await gql(server.url, SIGN_UP, { e: 'probe@example.com', p: PASSWORD })).signUp;
      const login = await gql(server.url, 'mutation($e: String!, $p: String!) { signIn(input: { email: $e, password: $p }) { token } }', { e: 'probe@example.com', p: PASSWORD });
      ok(login);

      const client = wsClient(server.url, user.token);
      const alerts = subscribe(client, 'subscription { tokenAlertRaised { type } }');
      const balances = subscribe(client, 'subscription { balanceChanged { tokens } }');
      const brand = ok(await gql(server.url, 'mutation { createBrand(input: { name: "Probe Co", industry: "tea" }) { brand { id } } }', {}, user.token)).createBrand.brand;
      const chat = ok(await gql(server.url, 'mutation($b: ID!) { chatWithAndora(input: { brandId: $b, message: "hello" }) { usage { totalTokens } } }', { b: brand.id }, user.token));
      expect(chat.chatWithAndora.usage.totalTokens).toBeGreaterThan(0);
      expect((await alerts.next()).tokenAlertRaised.type).toBe('LOW_BALANCE');
      await balances.next();
      const flow = ok(await gql(server.url, 'mutation($i: StartExpandBriefFlowInput!) { startExpandBriefFlow(input: $i) { flowRun { id } } }', { i: { brandId: brand.id, brief: 'Spring launch' } }, user.token));
      const flowRunId = flow.startExpandBriefFlow.flowRun.id;
      // Followed to its end over the websocket: the first event is the run as it stands, the last one
      // the first whose run is no longer RUNNING (one event per step start and end in between).
      const progress = subscribe(client, 'subscription($id: ID!) { flowProgress(flowRunId: $id) { type flowRun { status } } }', { id: flowRunId });
      let status = 'RUNNING';
      for (let event = 0; event < FLOW_EVENTS_MAX && status === 'RUNNING'; event++) status = (await progress.next()).flowProgress.flowRun.status;
      progress.stop();
      expect(status).toBe('FINISHED');
      ok(await gql(server.url, 'query($id: ID!) { flowRun(id: $id) { status } }', { id: flowRunId }, user.token));
      ok(await gql(server.url, 'mutation($u: ID!) { grantTokens(input: { userId: $u, amount: 100, reason: "probe" }) { balance { tokens } } }', { u: user.user.id }, admin.token));
      ok(await gql(server.url, '{ tokenLedger(first: 10) { edges { node { kind } } } me { balance { tokens } } tokenAlerts { type } }', {}, user.token));
      alerts.stop();
      balances.stop();
      await client.dispose();

      const exit = await server.kill('SIGTERM');
      expect(exit.code).toBe(0);
      expect(readProbe(file).firstEntry).toBeNull();
    } finally {
      await db.drop();
    }
  }, 90_000);
});
