import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * Stripe's place in the tests: a local HTTP server speaking the part of Stripe's API the service
 * calls (POST /v1/checkout/sessions, form-encoded, Bearer secret key, Idempotency-Key honoured), so
 * the real `stripe` SDK talks to it through STRIPE_API_BASE. It also plays Stripe's other half:
 * builds the events a real account would send for its sessions (completed, expired, refunded) and
 * delivers them to the service signed exactly as Stripe signs them (generateTestHeaderString).
 */

export const FAKE_STRIPE_SECRET_KEY = 'sk_test_fake_0123456789';
export const FAKE_WEBHOOK_SECRET = 'whsec_test_fake_0123456789abcdef';

type Params = Record<string, unknown>;

export interface FakeSession {
  id: string;
  object: 'checkout.session';
  mode: string;
  status: 'open' | 'complete' | 'expired';
  payment_status: 'unpaid' | 'paid';
  client_reference_id: string | null;
  metadata: Record<string, string>;
  amount_total: number;
  currency: string;
  payment_intent: string | null;
  url: string | null;
  success_url: string;
  cancel_url: string;
  /** What the service asked for (line items, payment_intent_data), as Stripe received it. */
  params: Params;
}

export interface FakeStripe {
  /** STRIPE_API_BASE for the service. */
  url: string;
  /** The environment that turns purchasing on against this fake. */
  env: Record<string, string>;
  sessions: Map<string, FakeSession>;
  /** Every API request, in order. */
  requests: Array<{ method: string; path: string; params: Params; idempotencyKey: string | undefined }>;
  /** Answer the next `n` session creations with this status (Stripe's error body). */
  failNext(n: number, status: number): void;
  /** The events Stripe would send. */
  events: {
    completed(sessionId: string, opts?: { paymentStatus?: 'paid' | 'unpaid' }): Stripe.Event;
    asyncSucceeded(sessionId: string): Stripe.Event;
    expired(sessionId: string): Stripe.Event;
    /** charge.refunded with the cumulative amount refunded so far. */
    refunded(sessionId: string, amountRefundedCents: number): Stripe.Event;
  };
  close(): Promise<void>;
}

/** Turns Stripe's form encoding (`a[b][0][c]=v`) back into nested objects and arrays. */
export function parseForm(body: string): Params {
  const root: Params = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/\[|\]\[|\]/).filter((part) => part !== '');
    let node: Record<string, unknown> = root;
    path.forEach((part, i) => {
      if (i === path.length - 1) node[part] = value;
      else node = (node[part] ??= /^\d+$/.test(path[i + 1]!) ? [] : {}) as Record<string, unknown>;
    });
  }
  return root;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

function stripeError(res: http.ServerResponse, status: number, message: string, type = 'invalid_request_error'): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req') });
  res.end(JSON.stringify({ error: { type, message } }));
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const sessions = new Map<string, FakeSession>();
  const requests: FakeStripe['requests'] = [];
  const byIdempotencyKey = new Map<string, { body: string; session: FakeSession }>();
  let failures = { count: 0, status: 500 };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0]!;
      const params = parseForm(body);
      const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
      requests.push({ method: req.method ?? '', path, params, idempotencyKey });
      if (req.headers.authorization !== `Bearer ${FAKE_STRIPE_SECRET_KEY}`) return stripeError(res, 401, 'Invalid API Key provided', 'authentication_error');
      if (req.method !== 'POST' || path !== '/v1/checkout/sessions') return stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`);
      if (failures.count > 0) {
        failures.count--;
        return stripeError(res, failures.status, 'fake Stripe failure', failures.status >= 500 ? 'api_error' : 'invalid_request_error');
      }
      const replay = idempotencyKey ? byIdempotencyKey.get(idempotencyKey) : undefined;
      if (replay && replay.body !== body) return stripeError(res, 400, 'Keys for idempotent requests can only be used with the same parameters', 'idempotency_error');
      const session = replay?.session ?? createSession(params);
      if (!session) return stripeError(res, 400, 'missing or invalid parameters');
      if (idempotencyKey && !replay) byIdempotencyKey.set(idempotencyKey, { body, session });
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': id('req'), ...(replay ? { 'idempotent-replayed': 'true' } : {}) });
      res.end(JSON.stringify(publicSession(session)));
    });
  });

  function createSession(params: Params): FakeSession | null {
    const item = (params.line_items as Params[] | undefined)?.[0];
    const price = item?.price_data as Params | undefined;
    const amount = Number(price?.unit_amount) * Number(item?.quantity ?? 1);
    if (params.mode !== 'payment' || !price || !Number.isSafeInteger(amount) || typeof params.success_url !== 'string' || typeof params.cancel_url !== 'string') return null;
    const sessionId = id('cs_test');
    const session: FakeSession = {
      id: sessionId,
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      client_reference_id: (params.client_reference_id as string | undefined) ?? null,
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      amount_total: amount,
      currency: String(price.currency),
      payment_intent: null,
      url: `https://checkout.stripe.test/c/pay/${sessionId}`,
      success_url: params.success_url,
      cancel_url: params.cancel_url,
      params,
    };
    sessions.set(sessionId, session);
    return session;
  }

  function publicSession(session: FakeSession): Omit<FakeSession, 'params'> {
    const { params: _params, ...rest } = session;
    return rest;
  }

  function event(type: string, object: unknown): Stripe.Event {
    return {
      id: id('evt'),
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1_000),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    } as unknown as Stripe.Event;
  }

  function session(sessionId: string): FakeSession {
    const s = sessions.get(sessionId);
    if (!s) throw new Error(`fake Stripe has no session ${sessionId}`);
    return s;
  }

  function paid(sessionId: string): FakeSession {
    const s = session(sessionId);
    s.status = 'complete';
    s.payment_status = 'paid';
    s.payment_intent ??= id('pi');
    s.url = null;
    return s;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    env: { STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET, STRIPE_API_BASE: url },
    sessions,
    requests,
    failNext: (count, status) => (failures = { count, status }),
    events: {
      completed: (sessionId, opts = {}) => {
        if ((opts.paymentStatus ?? 'paid') === 'unpaid') {
          const s = session(sessionId);
          s.status = 'complete';
          s.payment_intent ??= id('pi');
          return event('checkout.session.completed', publicSession(s));
        }
        return event('checkout.session.completed', publicSession(paid(sessionId)));
      },
      asyncSucceeded: (sessionId) => event('checkout.session.async_payment_succeeded', publicSession(paid(sessionId))),
      expired: (sessionId) => {
        const s = session(sessionId);
        s.status = 'expired';
        s.url = null;
        return event('checkout.session.expired', publicSession(s));
      },
      refunded: (sessionId, amountRefundedCents) => {
        const s = paid(sessionId);
        const metadata = ((s.params.payment_intent_data as Params | undefined)?.metadata as Record<string, string> | undefined) ?? {};
        return event('charge.refunded', {
          id: `ch_${s.payment_intent!.slice(3)}`,
          object: 'charge',
          amount: s.amount_total,
          amount_refunded: amountRefundedCents,
          refunded: amountRefundedCents >= s.amount_total,
          currency: s.currency,
          payment_intent: s.payment_intent,
          metadata,
          status: 'succeeded',
        });
      },
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Delivery {
  status: number;
  body: unknown;
}

/**
 * Delivers `event` to the service's webhook endpoint as Stripe does: the JSON body, signed with
 * `secret` at `timestamp` (seconds; default now) in the Stripe-Signature header. `signature`
 * replaces the header, for forged deliveries.
 */
export async function deliver(
  webhookUrl: string,
  event: Stripe.Event,
  opts: { secret?: string; timestamp?: number; signature?: string; payload?: string } = {},
): Promise<Delivery> {
  const payload = opts.payload ?? JSON.stringify(event, null, 2);
  const signature =
    opts.signature ??
    Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? FAKE_WEBHOOK_SECRET, ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}) });
  const res = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    body: payload,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the assertion message.
  }
  return { status: res.status, body };
}

/** The webhook endpoint of a service whose GraphQL URL is `graphqlUrl`. */
export const webhookUrlOf = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, '/webhooks/stripe');
