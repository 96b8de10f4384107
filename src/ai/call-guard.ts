import type { Logger } from 'pino';

/**
 * One upstream call's abort signal: it fires when the caller aborts, when our deadline passes, or when
 * we release the call, and it remembers which of these happened.
 *
 * The SDKs' own `timeout` only covers the wait for response headers of one attempt. A stream that
 * stalls after its headers, or an OpenAI retry sleep (which honours any Retry-After and ignores the
 * abort signal), would otherwise hang forever, so every call also runs under this guard.
 */
export type GuardCause = 'aborted' | 'timeout' | 'released';

export class CallGuard {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private firedCause: GuardCause | undefined;

  constructor(private readonly parent: AbortSignal | undefined) {
    if (parent?.aborted) this.fire('aborted');
    else parent?.addEventListener('abort', this.onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cause(): GuardCause | undefined {
    return this.firedCause;
  }

  /** (Re)starts the deadline: the call is aborted unless arm() or disarm() runs within `timeoutMs`. */
  arm(timeoutMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire('timeout'), timeoutMs);
  }

  /** Pauses the deadline, e.g. while the consumer of a stream handles a delta at its own pace. */
  disarm(): void {
    clearTimeout(this.timer);
  }

  /** Ends the call: aborts the upstream request if it is still open and frees the timer and listener. */
  release(): void {
    this.fire('released');
  }

  /** Settles as soon as the guard fires, even if `promise` never does (see the class comment). */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(new Error(`call ${this.firedCause ?? 'aborted'}`));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new Error(`call ${this.firedCause ?? 'aborted'}`));
      this.signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }

  private readonly onParentAbort = (): void => this.fire('aborted');

  private fire(cause: GuardCause): void {
    clearTimeout(this.timer);
    this.parent?.removeEventListener('abort', this.onParentAbort);
    if (this.firedCause !== undefined) return;
    this.firedCause = cause;
    this.controller.abort();
  }
}

/** Both SDKs cap their own exponential backoff between retries at 8 s. */
const SDK_RETRY_BACKOFF_MAX_MS = 8_000;

/**
 * The whole call, retries included, may take every attempt's timeout plus the SDK's longest backoff
 * between attempts. A longer Retry-After from the vendor is cut short and reported as a timeout.
 */
export function callDeadlineMs(timeoutMs: number, maxRetries: number): number {
  return timeoutMs * (maxRetries + 1) + SDK_RETRY_BACKOFF_MAX_MS * maxRetries;
}

/** The options every SDK-backed provider takes. */
export interface SdkProviderOptions {
  /** Where the SDK's own warnings go (through sdk-logger.ts), never the console. */
  log: Logger;
  apiKey: string;
  /** @default the vendor's public endpoint */
  baseURL?: string;
  /** Per attempt: wait for response headers, and the longest silence between stream events. */
  timeoutMs: number;
  /** Retries of 408/409/429/5xx/connection failures, done inside the SDK. */
  maxRetries: number;
}
