import { AppError } from '../errors';
import { addressKey } from '../limits/address-key';
import { SlidingWindowLimiter, type Decision } from '../limits/sliding-window';

/** Sign-in and sign-up limits (LIMITS has the defaults; the environment may override them). */
export interface ThrottleConfig {
  /** Sign-ups from one client address per window. @default 10 per 3_600_000 ms */
  signUpsPerAddressMax: number;
  signUpsPerAddressWindowMs: number;
  /** Sign-in attempts (right or wrong) from one client address per window. @default 30 per 60_000 ms */
  signInsPerAddressMax: number;
  signInsPerAddressWindowMs: number;
  /** Failed sign-ins for one email from one address per window. @default 5 */
  signInFailuresPerAddressEmailMax: number;
  /** Failed sign-ins for one email from all addresses per window, past which the email is under attack. @default 50 */
  signInFailuresPerEmailMax: number;
  /** @default 900_000 */
  signInFailuresWindowMs: number;
  /** Keys each limiter remembers; the least recently used are forgotten past it. @default 50_000 */
  keysMax: number;
}

/** Which limit refused: RATE_LIMITED's extensions.limit. */
export type ThrottleLimit = 'SIGN_UP_PER_ADDRESS' | 'SIGN_IN_PER_ADDRESS' | 'SIGN_IN_FAILURES_PER_ADDRESS_EMAIL' | 'SIGN_IN_FAILURES_PER_EMAIL';

/**
 * A login throttle, built like the usual ones so that an attacker cannot lock the owner out:
 *
 * - per address, every sign-in attempt and every sign-up counts (one address spraying many emails,
 *   or creating accounts for their free tokens);
 * - per (address, email), failures count, and a successful sign-in clears them: guessing one
 *   account's password from one address stops after a few tries, while the owner, from their own
 *   address, is not affected by failures elsewhere;
 * - per email, failures from all addresses count; past that bound the email is under attack from many
 *   addresses, and then only addresses with no recent failure for it may try (each attacking address
 *   gets one guess per window, the owner signing in from anywhere they have not mistyped still can).
 *
 * An attempt is counted as a failure for its (address, email) before the password is checked, and
 * forgiven when it succeeds, so a burst of concurrent attempts cannot all pass before the first
 * failure is recorded. Unknown emails are counted like known ones, so a refusal says nothing about
 * whether an account exists. Memory is bounded by `keysMax` per limiter.
 */
export class LoginThrottle {
  private readonly signUps: SlidingWindowLimiter;
  private readonly signIns: SlidingWindowLimiter;
  private readonly pairFailures: SlidingWindowLimiter;
  private readonly emailFailures: SlidingWindowLimiter;

  constructor(config: ThrottleConfig) {
    const { keysMax } = config;
    this.signUps = new SlidingWindowLimiter({ limit: config.signUpsPerAddressMax, windowMs: config.signUpsPerAddressWindowMs, keysMax });
    this.signIns = new SlidingWindowLimiter({ limit: config.signInsPerAddressMax, windowMs: config.signInsPerAddressWindowMs, keysMax });
    this.pairFailures = new SlidingWindowLimiter({ limit: config.signInFailuresPerAddressEmailMax, windowMs: config.signInFailuresWindowMs, keysMax });
    this.emailFailures = new SlidingWindowLimiter({ limit: config.signInFailuresPerEmailMax, windowMs: config.signInFailuresWindowMs, keysMax });
  }

  /** Counts a sign-up attempt from `address`; RATE_LIMITED past the limit. */
  signUp(address: string, nowMs: number): void {
    refuseUnless(this.signUps.take(addressKey(address), nowMs), 'SIGN_UP_PER_ADDRESS', 'too many sign-ups from this address');
  }

  /** Before a password is checked: RATE_LIMITED, or the attempt is counted (see the class comment). */
  beforeSignIn(address: string, email: string, nowMs: number): void {
    const from = addressKey(address);
    refuseUnless(this.signIns.take(from, nowMs), 'SIGN_IN_PER_ADDRESS', 'too many sign-in attempts from this address');
    const pair = pairKey(from, email);
    const underAttack = this.emailFailures.peek(email, nowMs);
    if (!underAttack.allowed && this.pairFailures.count(pair, nowMs) > 0) {
      refuseUnless(underAttack, 'SIGN_IN_FAILURES_PER_EMAIL', 'too many failed sign-ins for this email');
    }
    refuseUnless(this.pairFailures.take(pair, nowMs), 'SIGN_IN_FAILURES_PER_ADDRESS_EMAIL', 'too many failed sign-ins for this email from this address');
  }

  signInFailed(email: string, nowMs: number): void {
    this.emailFailures.add(email, nowMs);
  }

  /** The owner got in: the failures of this address for this email are forgiven. */
  signInSucceeded(address: string, email: string): void {
    this.pairFailures.delete(pairKey(addressKey(address), email));
  }
}

/** Addresses contain no spaces, so the pair key is unambiguous. */
const pairKey = (address: string, email: string) => `${address} ${email}`;

function refuseUnless(decision: Decision, limit: ThrottleLimit, what: string): void {
  if (decision.allowed) return;
  const seconds = Math.ceil(decision.retryAfterMs / 1_000);
  throw new AppError('RATE_LIMITED', `${what}: try again in ${seconds} s`, { limit, retryAfterMs: decision.retryAfterMs });
}
