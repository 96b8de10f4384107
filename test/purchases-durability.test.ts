import { connect } from 'node:net';
import Stripe from 'stripe';
import { deliver, FAKE_WEBHOOK_SECRET, startFakeStripe, webhookUrlOf, type FakeStripe } from './support/fake-stripe';
import { gql } from './support/graphql-client';
import { startPgProxy, type PgProxy } from './support/pg-proxy';
import { killAllServers, runVerifyCli, serverProcessEnv, startServerProcess } from './support/server-process';
import { createTestDatabase, type TestDatabase } from './support/test-app';
import { within } from './support/wait';

/**
 * kill -9 of the server between the commit of a purchase's grant and the webhook's answer: Stripe
 * never saw a 2xx, so it delivers the event again to the restarted server, which must find it done
 * and grant nothing twice. Runs the compiled server (npm run build:emit first).
 *
 * On a PostgreSQL server (TEST_DATABASE_URL) the server reaches the database through a proxy that
 * withholds the commit's acknowledgement (test/support/pg-proxy.ts): the grant is durable and the
 * server is provably still waiting when it is killed, so no answer was written. The embedded
 * database lives inside the killed process, so there the kill follows the log line written right
 * after the commit; the answer may have been written by then, and the test never reads it either way.
 */

const ADMIN_EMAIL = 'kill-admin@example.com';
const PASSWORD = 'correct horse battery';
const SIGN_UP = 'mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p }) { token user { id } } }';
const UPSERT = `mutation($input: UpsertTokenPackageInput!) { upsertTokenPackage(input: $input) { package { id } } }`;
const PURCHASE = `mutation($input: PurchaseTokenPackageInput!) { purchaseTokenPackage(input: $input) { checkoutUrl purchase { id status } } }`;
const STATE = `query { tokenBalance { tokens } tokenPurchases(first: 10) { edges { node { id status tokens } } } tokenLedger(first: 10) { edges { node { kind amount idempotencyKey } } } }`;

let stripe: FakeStripe;
let db: TestDatabase;

beforeAll(async () => {
  stripe = await startFakeStripe();
  db = await createTestDatabase();
});

afterAll(async () => {
  await killAllServers();
  await stripe?.close();
  await db?.drop();
});

async function signUp(url: string, email: string): Promise<{ token: string; userId: string }> {
  const res = await gql(url, SIGN_UP, { e: email, p: PASSWORD });
  if (!res.data) throw new Error(`signUp failed: ${JSON.stringify(res.errors)}`);
  return { token: res.data.signUp.token, userId: res.data.signUp.user.id };
}

/**
 * Sends a signed webhook delivery on a raw socket and never reads the answer: as far as Stripe is
 * concerned it got none. Resolves with a function telling whether any answer bytes had arrived.
 */
function sendUnanswered(url: string, event: Stripe.Event): { answered: () => boolean; destroy: () => void } {
  const { hostname, port } = new URL(url);
  const payload = JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: FAKE_WEBHOOK_SECRET });
  const socket = connect(Number(port), hostname);
  let answered = false;
  socket.on('data', () => (answered = true));
  socket.on('error', () => undefined);
  socket.write(
    `POST /webhooks/stripe HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nStripe-Signature: ${signature}\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
  );
  return { answered: () => answered, destroy: () => socket.destroy() };
}

it('grants once when the server is killed between the commit and the answer, and Stripe delivers again', async () => {
  const env = serverProcessEnv(db, ADMIN_EMAIL, stripe.env);
  const proxy: PgProxy | undefined = db.env.DATABASE_URL ? await startPgProxy(db.env.DATABASE_URL) : undefined;
  let server = await startServerProcess(proxy ? { ...env, DATABASE_URL: proxy.url } : env);
  const admin = await signUp(server.url, ADMIN_EMAIL);
  expect((await gql(server.url, UPSERT, { input: { id: 'thousand', name: 'A thousand tokens', tokens: 1_000, priceCents: 1_000, currency: 'usd' } }, admin.token)).errors).toBeUndefined();
  const user = await signUp(server.url, 'kill-buyer@example.com');
  const bought = await gql(server.url, PURCHASE, { input: { packageId: 'thousand', successUrl: 'https://app.example.com/ok', cancelUrl: 'https://app.example.com/no' } }, user.token);
  const purchaseId = bought.data!.purchaseTokenPackage.purchase.id as string;
  const sessionId = [...stripe.sessions.values()].find((s) => s.client_reference_id === purchaseId)!.id;
  const event = stripe.events.completed(sessionId);

  const held = proxy?.holdNextCommitAck();
  const delivery = sendUnanswered(webhookUrlOf(server.url), event);
  if (held) await within(held, 30_000, 'the grant to commit (its acknowledgement withheld)');
  // Logged once the grant and the purchase's COMPLETED status are committed, before the answer is written.
  else await server.waitForLog((l) => l.msg === 'purchase completed: tokens granted' && l.purchaseId === purchaseId, 30_000, 'the grant to commit');
  const exit = await within(server.kill('SIGKILL'), 10_000, 'the killed server to exit');
  expect(exit.signal).toBe('SIGKILL');
  const answeredBeforeKill = delivery.answered();
  delivery.destroy();
  await proxy?.close();
  // Through the proxy, the server was still waiting for its commit to be acknowledged: no answer.
  if (proxy) expect(answeredBeforeKill).toBe(false);

  server = await startServerProcess(env);
  // Stripe had no 2xx (the test never read one), so it delivers the same event again.
  const again = await deliver(webhookUrlOf(server.url), event);
  expect(again).toEqual({ status: 200, body: { received: true, outcome: 'duplicate' } });
  const state = (await gql(server.url, STATE, {}, user.token)).data!;
  expect(state.tokenBalance.tokens).toBe(10_000 + 1_000);
  expect(state.tokenPurchases.edges.map((e: { node: unknown }) => e.node)).toEqual([{ id: purchaseId, status: 'COMPLETED', tokens: 1_000 }]);
  expect(state.tokenLedger.edges.filter((e: { node: { idempotencyKey: string | null } }) => e.node.idempotencyKey === `purchase:${purchaseId}`)).toHaveLength(1);
  console.info(`kill -9 after the purchase's commit: the answer had ${answeredBeforeKill ? 'already' : 'not yet'} reached the socket (never read either way)`);

  expect((await within(server.kill('SIGTERM'), 30_000, 'the server to stop')).code).toBe(0);
  const verify = await runVerifyCli(env);
  expect(verify.stdout).toContain('purchases OK: 1 completed, each with exactly one grant');
  expect(verify.code).toBe(0);
}, 240_000);
