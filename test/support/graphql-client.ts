import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { deferred, within } from './wait';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  /** The HTTP response headers (absent for websocket answers). */
  headers?: Headers;
  data?: T;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

/** POSTs one operation over real HTTP, the way the clients do. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: res.status, headers: res.headers, ...body };
}

/** The code of the first error, for assertions. */
export const errorCode = (res: Pick<GraphQLResponse, 'errors'>): string | undefined => res.errors?.[0]?.extensions?.code;

/** A graphql-ws client over a real websocket, authenticated like the live widgets. */
export function wsClient(url: string, token: string | undefined, opts: { onClose?: (code: number) => void; headers?: Record<string, string> } = {}): Client {
  const { headers } = opts;
  return createClient({
    url: url.replace(/^http/, 'ws'),
    // Extra headers go on the upgrade request (X-Forwarded-For in the throttle tests).
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers });
          }
        }
      : WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => opts.onClose?.((event as { code: number }).code) },
  });
}

/** How long Subscription.next() waits for a value before it fails, naming the operation. */
export const SUBSCRIPTION_WAIT_MS_DEFAULT = 30_000;

export interface Subscription<T> {
  /** The next value; rejects if none arrives within `waitMs`. @default SUBSCRIPTION_WAIT_MS_DEFAULT */
  next(waitMs?: number): Promise<T>;
  /** Values received and not yet taken by next(). */
  buffered(): T[];
  /** Resolves once at least `count` values are buffered; rejects after `waitMs`. */
  whenBuffered(count: number, waitMs?: number): Promise<void>;
  /** Errors the server sent for this operation. */
  errors: unknown[];
  stop(): void;
  done: Promise<void>;
}

/** Subscribes and buffers values so a test can await them in order without sleeping. */
export function subscribe<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown> = {}): Subscription<T> {
  const values: T[] = [];
  const waiters: Array<(v: T) => void> = [];
  const bufferWaiters = new Set<{ count: number; resolve: () => void }>();
  const errors: unknown[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (!result.data) return;
        const waiter = waiters.shift();
        if (waiter) waiter(result.data as T);
        else values.push(result.data as T);
        for (const w of bufferWaiters) if (values.length >= w.count) w.resolve();
      },
      error: (err) => {
        errors.push(err);
        finish();
      },
      complete: () => finish(),
    },
  );
  return {
    next: (waitMs = SUBSCRIPTION_WAIT_MS_DEFAULT) => {
      if (values.length > 0) return Promise.resolve(values.shift()!);
      const arrived = deferred<T>();
      waiters.push(arrived.resolve);
      const what = `the next value of \`${query.replace(/\s+/g, ' ').slice(0, 100)}\``;
      // A waiter that gave up must not swallow a value that arrives later.
      return within(arrived.promise, waitMs, what).finally(() => {
        const waiting = waiters.indexOf(arrived.resolve);
        if (waiting >= 0) waiters.splice(waiting, 1);
      });
    },
    buffered: () => values,
    whenBuffered: (count, waitMs = SUBSCRIPTION_WAIT_MS_DEFAULT) => {
      const reached = deferred<void>();
      const waiter = { count, resolve: () => reached.resolve() };
      bufferWaiters.add(waiter);
      if (values.length >= count) reached.resolve();
      return within(reached.promise, waitMs, `${count} buffered values of \`${query.replace(/\s+/g, ' ').slice(0, 100)}\``).finally(() => bufferWaiters.delete(waiter));
    },
    errors,
    stop,
    done,
  };
}

/**
 * Runs one operation (query, mutation, or a subscription's first event) over a graphql-ws client and
 * resolves with what the server answered: its data, or the errors of a `next` or an `error` message.
 * Rejects when the socket closes first (with the close code in the message).
 */
export function wsOnce<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<Omit<GraphQLResponse<T>, 'status'>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: Omit<GraphQLResponse<T>, 'status'>) => {
      if (settled) return;
      settled = true;
      // Unsubscribed on the next turn, not from inside `next`: when the server's complete arrives in
      // the same chunk as the result, graphql-ws's client would release this operation twice and
      // close the socket under the client's other subscriptions.
      setImmediate(stop);
      resolve(result);
    };
    const stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => settle({ data: (result.data ?? undefined) as T | undefined, errors: result.errors as GraphQLResponse['errors'] }),
        error: (err) => {
          if (Array.isArray(err)) settle({ errors: err });
          else if (!settled) {
            settled = true;
            reject(new Error(`websocket closed before an answer: ${(err as { code?: number }).code ?? String(err)}`));
          }
        },
        complete: () => settle({}),
      },
    );
  });
}
