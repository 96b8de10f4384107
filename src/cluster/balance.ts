import { Agent, request } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { BalanceConfig } from '../config';
import { BalanceActor, type Hold } from '../balance/actor';
import {
  BalanceFencedError,
  BalanceUnavailableError,
  InsufficientTokensError,
  KeyInFlightError,
  QuotaExceededError,
  RateLimitedError,
  TooManyHoldsError,
  UnknownUserError,
} from '../balance/errors';
import { NotOwnerError, type OwnerRef } from '../balance/ownership';
import { BalanceService, type GrantResult } from '../balance/service';
import { AppError, notFound } from '../errors';
import type { Plans } from '../plans';
import type { Leases } from './leases';

/** A forwarded operation's longest wait for its answer (a settle waits for its commit on the owner). */
export const FORWARD_TIMEOUT_MS = 15_000;
/** Forwarded operations waiting for their answers, in all; past it, BalanceUnavailableError. */
export const FORWARDS_IN_FLIGHT_MAX = 4_096;
/** Connections kept open to each other instance. */
export const FORWARD_SOCKETS_PER_PEER_MAX = 64;
/** Largest forwarded request or answer (attachments ride on settles: a generation's stored output). */
export const FORWARD_BODY_BYTES_MAX = 8 * 1024 * 1024;
/** First pause before asking again where a balance lives, doubled up to FORWARD_BACKOFF_MAX_MS. */
export const FORWARD_BACKOFF_MIN_MS = 20;
export const FORWARD_BACKOFF_MAX_MS = 500;
/** Owners remembered for users this instance does not own (bounded: the oldest is forgotten). */
export const REMOTE_OWNERS_CACHED_MAX = 100_000;
/** How long past the lease's time to live a forwarded operation keeps asking where a balance lives. */
export const FORWARD_BUDGET_MARGIN_MS = 3_000;
/** Idempotency keys claimed by open holds and settles not yet committed (bounded: expired claims are swept past it). */
export const KEY_CLAIMS_MAX = 100_000;
/** Users of a bulk grant forwarded at once. */
export const BULK_FORWARDS_PARALLEL_MAX = 16;
/** The internal endpoint's path, on the service's own port (the proxy in front refuses it: deploy/haproxy.cfg). */
export const INTERNAL_BALANCE_PATH = '/internal/balance';

/** The operations an instance forwards to a balance's owner; each names how to find the user. */
const ROUTED = {
  reserve: (args: unknown[]) => args[0] as string,
  settle: (args: unknown[]) => (args[0] as Hold).userId,
  setBrandQuota: (args: unknown[]) => args[0] as string,
  brandQuota: (args: unknown[]) => args[0] as string,
  refuseOverQuota: (args: unknown[]) => args[0] as string,
  rateLimits: (args: unknown[]) => args[0] as string,
  grant: (args: unknown[]) => args[0] as string,
  revoke: (args: unknown[]) => args[0] as string,
  grantTokens: (args: unknown[]) => args[0] as string,
  grants: (args: unknown[]) => args[0] as string,
  grantTokensBulk: (args: unknown[]) => (args[0] as string[])[0]!,
  refundChargeOf: (args: unknown[]) => args[0] as string,
  adjust: (args: unknown[]) => args[0] as string,
  snapshot: (args: unknown[]) => args[0] as string,
  setPlan: (args: unknown[]) => args[0] as string,
  release: (args: unknown[]) => (args[0] as Hold).userId,
} as const;
type RoutedOp = keyof typeof ROUTED;

interface ForwardRequest {
  op: RoutedOp;
  args: unknown[];
  /** A repeat of a settle whose first answer was lost: the owner checks the ledger first. */
  retry: boolean;
}
type ForwardAnswer = { ok: true; value: unknown } | { ok: false; error: WireError } | { notOwner: OwnerRef | null };
interface WireError {
  name: string;
  message: string;
  props: Record<string, unknown>;
}

/** Errors that cross instances keep their class (the edge maps each to its GraphQL code). */
const ERROR_CLASSES: Record<string, new (...args: never[]) => Error> = {
  AppError,
  InsufficientTokensError,
  BalanceUnavailableError,
  KeyInFlightError,
  TooManyHoldsError,
  UnknownUserError,
  BalanceFencedError,
  QuotaExceededError,
  RateLimitedError,
};

/**
 * The balance service of an instance in clustered mode. Every operation on a balance runs where its
 * actor lives: here, when this instance holds (or can take) the user's lease, else on the owner, to which
 * it is forwarded over internal HTTP (keep-alive connections, v8-serialized bodies, a shared secret).
 * An owner that cannot be reached (killed) is asked again, with a growing pause, until its lease
 * expires and this instance (or another) takes the balance over from the committed state; a hold the
 * dead owner had is then unknown to the new one, and its settle charges from what is available, as for
 * an expired hold: no generation goes free. The model call itself always runs where the request landed.
 */
export class ClusteredBalanceService extends BalanceService {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: FORWARD_SOCKETS_PER_PEER_MAX });
  private readonly owners = new Map<string, OwnerRef>();
  private inFlight = 0;
  private readonly secretDigest: Buffer;
  /**
   * Idempotency keys of this instance's balances in use, by user and key: from a keyed reserve until its
   * settle committed (or its release, or its hold's expiry). Requests with one key may land on several
   * instances, whose in-process claims (IdempotentRuns) cannot see each other; the owner sees them all.
   */
  private readonly keyClaims = new Map<string, { holdId: string | null; untilMs: number }>();
  private readonly claimOfHold = new Map<string, string>();
  private readonly forwardObservers: Array<(op: string, seconds: number, outcome: 'ok' | 'refused' | 'moved') => void> = [];

  constructor(
    orm: MikroORM,
    config: BalanceConfig,
    log: Logger,
    now: (() => number) | undefined,
    plans: Plans | undefined,
    private readonly leases: Leases,
    private readonly secret: string,
    private readonly forwardBudgetMs: number,
  ) {
    super(orm, config, log, now, plans, leases);
    this.secretDigest = digest(`Cluster ${secret}`);
  }

  get instanceId(): string {
    return this.leases.instanceId;
  }

  /** Called for every forwarded operation, with its round trip. */
  onForwarded(observer: (op: string, seconds: number, outcome: 'ok' | 'refused' | 'moved') => void): void {
    this.forwardObservers.push(observer);
  }

  override reserve(...args: Parameters<BalanceService['reserve']>): ReturnType<BalanceService['reserve']> {
    return this.routed('reserve', args, () => this.reserveHere(...args));
  }

  override settle(...args: Parameters<BalanceService['settle']>): ReturnType<BalanceService['settle']> {
    return this.routed('settle', args, () => this.settleHere(...args));
  }

  /**
   * A keyed reserve claims its key on the owner first: refused (KeyInFlightError) while another hold or
   * an uncommitted settle has it, or once the ledger has it (the caller then replays the stored result).
   */
  private async reserveHere(...[userId, amount, meta]: Parameters<BalanceService['reserve']>): ReturnType<BalanceService['reserve']> {
    const key = meta.idempotencyKey;
    if (key === undefined) return super.reserve(userId, amount, meta);
    const claim = `${userId}\u0000${key}`;
    const nowMs = this.now();
    const held = this.keyClaims.get(claim);
    if (held && held.untilMs > nowMs) throw new KeyInFlightError('a request with this idempotency key is running; its result is replayed once it is stored');
    this.sweepClaims(nowMs);
    this.keyClaims.set(claim, { holdId: null, untilMs: nowMs + FORWARD_TIMEOUT_MS });
    try {
      const used = await this.orm.em.fork().execute(`select 1 from token_ledger where user_id = ? and idempotency_key = ? limit 1`, [userId, key]);
      if (used.length > 0) throw new KeyInFlightError('this idempotency key was used: its result is replayed');
      const hold = await super.reserve(userId, amount, meta);
      this.keyClaims.set(claim, { holdId: hold.id, untilMs: hold.expiresAtMs });
      this.claimOfHold.set(hold.id, claim);
      return hold;
    } catch (err) {
      this.keyClaims.delete(claim);
      throw err;
    }
  }

  private async settleHere(...args: Parameters<BalanceService['settle']>): ReturnType<BalanceService['settle']> {
    try {
      return await super.settle(...args);
    } finally {
      this.unclaim(args[0].id);
    }
  }

  private unclaim(holdId: string): void {
    const claim = this.claimOfHold.get(holdId);
    if (claim === undefined) return;
    this.claimOfHold.delete(holdId);
    if (this.keyClaims.get(claim)?.holdId === holdId) this.keyClaims.delete(claim);
  }

  private sweepClaims(nowMs: number): void {
    if (this.keyClaims.size < KEY_CLAIMS_MAX) return;
    for (const [claim, { holdId, untilMs }] of this.keyClaims) {
      if (untilMs > nowMs) continue;
      this.keyClaims.delete(claim);
      if (holdId !== null) this.claimOfHold.delete(holdId);
    }
  }

  /** Memory only, as alone: the owner's copy is released in the background (a lost release expires with the hold). */
  override release(hold: Hold): void {
    if (this.peek(hold.userId)) {
      super.release(hold);
      this.unclaim(hold.id);
      return;
    }
    const owner = this.owners.get(hold.userId);
    if (!owner) return;
    this.send(owner, { op: 'release', args: [hold], retry: false }).catch(() => undefined);
  }

  override setBrandQuota(...args: Parameters<BalanceService['setBrandQuota']>): ReturnType<BalanceService['setBrandQuota']> {
    return this.routed('setBrandQuota', args, () => super.setBrandQuota(...args));
  }

  override brandQuota(...args: Parameters<BalanceService['brandQuota']>): ReturnType<BalanceService['brandQuota']> {
    return this.routed('brandQuota', args, () => super.brandQuota(...args));
  }

  override refuseOverQuota(...args: Parameters<BalanceService['refuseOverQuota']>): ReturnType<BalanceService['refuseOverQuota']> {
    return this.routed('refuseOverQuota', args, () => super.refuseOverQuota(...args));
  }

  override rateLimits(...args: Parameters<BalanceService['rateLimits']>): ReturnType<BalanceService['rateLimits']> {
    return this.routed('rateLimits', args, () => super.rateLimits(...args));
  }

  override grant(...args: Parameters<BalanceService['grant']>): ReturnType<BalanceService['grant']> {
    return this.routed('grant', args, () => super.grant(...args));
  }

  override revoke(...args: Parameters<BalanceService['revoke']>): ReturnType<BalanceService['revoke']> {
    return this.routed('revoke', args, () => super.revoke(...args));
  }

  override grantTokens(...args: Parameters<BalanceService['grantTokens']>): ReturnType<BalanceService['grantTokens']> {
    return this.routed('grantTokens', args, () => super.grantTokens(...args));
  }

  override grants(...args: Parameters<BalanceService['grants']>): ReturnType<BalanceService['grants']> {
    return this.routed('grants', args, () => super.grants(...args));
  }

  /** One user at a time, each on its owner (at most BULK_FORWARDS_PARALLEL_MAX at once), in the order given. */
  override async grantTokensBulk(...[userIds, request, key]: Parameters<BalanceService['grantTokensBulk']>): Promise<GrantResult[]> {
    const results: GrantResult[] = new Array(userIds.length);
    let next = 0;
    const worker = async () => {
      while (next < userIds.length) {
        const i = next++;
        const args: Parameters<BalanceService['grantTokensBulk']> = [[userIds[i]!], request, key];
        results[i] = (await this.routed('grantTokensBulk', args, () => super.grantTokensBulk(...args)))[0]!;
      }
    };
    await Promise.all(Array.from({ length: Math.min(BULK_FORWARDS_PARALLEL_MAX, userIds.length) }, worker));
    return results;
  }

  /** The charge's user is read from the ledger first; the refund then runs on that user's owner. */
  override async refundCharge(...args: Parameters<BalanceService['refundCharge']>): ReturnType<BalanceService['refundCharge']> {
    const rows = await this.orm.em.fork().execute<Array<{ user_id: string }>>(`select user_id from token_ledger where id = ?`, [args[0]]);
    const userId = rows[0]?.user_id;
    if (!userId) throw notFound('ledger entry');
    return this.routed('refundChargeOf', [userId, ...args], () => super.refundCharge(...args)) as ReturnType<BalanceService['refundCharge']>;
  }

  override adjust(...args: Parameters<BalanceService['adjust']>): ReturnType<BalanceService['adjust']> {
    return this.routed('adjust', args, () => super.adjust(...args));
  }

  override snapshot(...args: Parameters<BalanceService['snapshot']>): ReturnType<BalanceService['snapshot']> {
    return this.routed('snapshot', args, () => super.snapshot(...args));
  }

  override setPlan(...args: Parameters<BalanceService['setPlan']>): ReturnType<BalanceService['setPlan']> {
    return this.routed('setPlan', args, () => super.setPlan(...args));
  }

  /**
   * Here first (the common case once this instance owns the user: no I/O); on NotOwnerError, on the
   * owner; an owner that is unreachable or no longer the owner sends the question back here, after a
   * pause, until the forward budget (the lease's time to live and a margin) is spent.
   */
  private async routed<T>(op: RoutedOp, args: unknown[], local: () => Promise<T>): Promise<T> {
    const userId = ROUTED[op](args);
    const deadline = Date.now() + this.forwardBudgetMs;
    let pause = FORWARD_BACKOFF_MIN_MS;
    let retry = false;
    for (;;) {
      const known = this.owners.get(userId);
      let owner: OwnerRef | null;
      if (!known) {
        try {
          return retry && op === 'settle' ? ((await this.runHere({ op, args, retry })) as T) : await local();
        } catch (err) {
          if (!(err instanceof NotOwnerError) && !deposedSettle(op, err)) throw err;
          owner = err instanceof NotOwnerError ? err.owner : null;
          retry ||= op === 'settle';
        }
      } else {
        owner = known;
      }
      if (owner && owner.instanceId !== this.instanceId && owner.address) {
        this.remember(userId, owner);
        const started = performance.now();
        const answer = await this.send(owner, { op, args, retry }).catch((err: unknown) => {
          this.log.debug({ err, owner: owner!.instanceId, op }, 'forward failed; asking again where the balance lives');
          return null;
        });
        const outcome = answer && 'ok' in answer ? (answer.ok ? 'ok' : 'refused') : 'moved';
        for (const observe of this.forwardObservers) observe(op, (performance.now() - started) / 1_000, outcome);
        // A settle that reached an owner may have committed even though its answer was lost.
        if (op === 'settle') retry = true;
        if (answer && 'ok' in answer) {
          if (answer.ok) return answer.value as T;
          const err = fromWire(answer.error);
          if (!deposedSettle(op, err)) throw err;
        } else if (answer?.notOwner && answer.notOwner.instanceId !== owner.instanceId) {
          this.remember(userId, answer.notOwner);
          continue;
        }
      }
      this.owners.delete(userId);
      if (Date.now() + pause > deadline) {
        throw new BalanceUnavailableError('the balance is changing hands between instances; retry shortly');
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, FORWARD_BACKOFF_MAX_MS);
    }
  }

  private remember(userId: string, owner: OwnerRef): void {
    if (this.owners.size >= REMOTE_OWNERS_CACHED_MAX && !this.owners.has(userId)) {
      const oldest = this.owners.keys().next().value;
      if (oldest !== undefined) this.owners.delete(oldest);
    }
    this.owners.set(userId, owner);
  }

  private send(owner: OwnerRef, forward: ForwardRequest): Promise<ForwardAnswer> {
    if (this.inFlight >= FORWARDS_IN_FLIGHT_MAX) return Promise.reject(new BalanceUnavailableError('too many forwarded balance operations'));
    const body = serialize(forward);
    this.inFlight++;
    return new Promise<ForwardAnswer>((resolve, reject) => {
      const req = request(
        `${owner.address}${INTERNAL_BALANCE_PATH}`,
        {
          method: 'POST',
          agent: this.agent,
          timeout: FORWARD_TIMEOUT_MS,
          headers: { 'content-type': 'application/x-v8-serialized', 'content-length': body.length, authorization: `Cluster ${this.secret}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > FORWARD_BODY_BYTES_MAX) res.destroy(new Error('forward answer too large'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`forward answered ${res.statusCode}`));
            try {
              resolve(deserialize(Buffer.concat(chunks)) as ForwardAnswer);
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('socket', (socket) => socket.setNoDelay(true));
      req.on('timeout', () => req.destroy(new Error('forward timed out')));
      req.on('error', reject);
      req.end(body);
    }).finally(() => {
      this.inFlight--;
    });
  }

  /** Whether a request to the internal endpoint carries the cluster's secret (constant time). */
  authorized(header: string | undefined): boolean {
    return header !== undefined && timingSafeEqual(digest(header), this.secretDigest);
  }

  /**
   * The internal endpoint's work: one forwarded operation, run on this instance's actor only (never
   * forwarded again: a balance this instance does not own answers `notOwner`, naming who does).
   */
  async handleForward(body: Buffer): Promise<Buffer> {
    const forward = deserialize(body) as ForwardRequest;
    let answer: ForwardAnswer;
    try {
      if (!Object.hasOwn(ROUTED, forward.op) || !Array.isArray(forward.args)) throw new Error('unknown forwarded operation');
      // Shutting down: the leases are about to be handed over; the caller asks again and finds the next owner.
      if (this.stopping) throw new NotOwnerError(ROUTED[forward.op](forward.args), null);
      answer = { ok: true, value: wireSafe(await this.runHere(forward)) };
    } catch (err) {
      if (err instanceof NotOwnerError) answer = { notOwner: err.owner };
      else answer = { ok: false, error: toWire(err) };
    }
    return serialize(answer);
  }

  private async runHere(forward: ForwardRequest): Promise<unknown> {
    const base = BalanceService.prototype;
    const args = forward.args as never[];
    switch (forward.op) {
      case 'release': {
        const hold = forward.args[0] as Hold;
        if (this.peek(hold.userId)) {
          base.release.call(this, hold);
          this.unclaim(hold.id);
        }
        return null;
      }
      case 'reserve':
        return this.reserveHere(...(forward.args as Parameters<BalanceService['reserve']>));
      case 'settle': {
        if (forward.retry) {
          const done = await this.settledAlready((forward.args[0] as Hold).id);
          if (done) return done;
        }
        return this.settleHere(...(forward.args as Parameters<BalanceService['settle']>));
      }
      case 'refundChargeOf':
        return base.refundCharge.apply(this, forward.args.slice(1) as Parameters<BalanceService['refundCharge']>);
      default:
        return (base[forward.op] as (...a: never[]) => Promise<unknown>).apply(this, args);
    }
  }

  /**
   * A settle asked again after its first answer was lost: when the hold's charge is in the ledger,
   * its committed result is answered instead of charging twice.
   */
  private async settledAlready(holdId: string): Promise<unknown> {
    const rows = await this.orm.em.fork().execute<Array<{ id: string; user_id: string; amount: string; metadata: Record<string, unknown> | null }>>(
      `select id, user_id, amount, metadata from token_ledger where hold_id = ? and kind = 'CHARGE' limit 1`,
      [holdId],
    );
    const row = rows[0];
    if (!row) return null;
    const snapshot = await BalanceService.prototype.snapshot.call(this, row.user_id);
    const charged = -Number(row.amount);
    const overage = Number(row.metadata?.overage ?? row.metadata?.quotaOverage ?? 0);
    return { entryId: row.id, entry: { id: row.id, actor: { userId: row.user_id } }, snapshot, charged, overage };
  }
}

/**
 * A settle whose owner was deposed before its batch committed (the fence rolled it back): the work
 * happened, so it is charged again on the balance's next owner (the hold unknown there: from what is
 * available), never dropped.
 */
function deposedSettle(op: RoutedOp, err: unknown): boolean {
  return op === 'settle' && err instanceof BalanceFencedError;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Results leave the owner without its actors: an entry's actor becomes `{ userId }`, attachments are dropped. */
function wireSafe(value: unknown, depth = 0): unknown {
  if (value instanceof BalanceActor) return { userId: value.userId };
  if (depth > 4 || value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((v) => wireSafe(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === 'attachments' ? {} : wireSafe(v, depth + 1);
  return out;
}

function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), props: {} };
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (k !== 'cause') props[k] = v;
  return { name: err instanceof AppError ? 'AppError' : err.name, message: err.message, props };
}

function fromWire(wire: WireError): Error {
  const Class = ERROR_CLASSES[wire.name];
  const err: Error = Class ? (Object.create(Class.prototype) as Error) : new BalanceUnavailableError(`the balance's owner failed: ${wire.message}`);
  if (Class) {
    Object.assign(err, wire.props);
    Object.defineProperty(err, 'message', { value: wire.message, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(err, 'stack', { value: `${wire.name}: ${wire.message}\n    (on the balance's owner)`, enumerable: false, writable: true, configurable: true });
  }
  return err;
}
