import { randomUUID } from 'node:crypto';
import { ForeignKeyConstraintViolationException, UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { LIMITS, type PasswordHashCost } from '../config';
import { Brand, DEFAULT_GRANT_PRIORITY, LedgerEntry, TokenGrant, User, type IBrand, type IUser, type Role } from '../db/entities';
import { uuidv7 } from '../db/ids';
import { inTransaction } from '../db/transaction';
import { AppError, badInput, notFound, unauthenticated } from '../errors';
import { optionalShort, optionalText, parseInput, requiredShort } from '../input';
import { type Auth, hashPassword, verifyPassword } from './auth';
import { normalizeEmail } from './email';
import { recordRoleChange } from './roles';
import { LoginThrottle, type ThrottleConfig } from './throttle';

/** An email as input: bounded, normalized (email.ts), then checked. */
const emailSchema = z
  .string()
  .max(LIMITS.emailInputCharsMax, `email: at most ${LIMITS.emailCharsMax} characters`)
  .transform(normalizeEmail)
  .pipe(z.string().max(LIMITS.emailCharsMax, `email: at most ${LIMITS.emailCharsMax} characters`).pipe(z.email('email: not a valid address')));
const passwordSchema = z
  .string()
  .min(LIMITS.passwordCharsMin, `password: at least ${LIMITS.passwordCharsMin} characters`)
  .max(LIMITS.passwordCharsMax, `password: at most ${LIMITS.passwordCharsMax} characters`);
const brandSchema = z.object({
  name: requiredShort('name'),
  description: optionalText('description'),
  industry: optionalShort('industry'),
  audience: optionalText('audience'),
});

export interface SignedIn {
  token: string;
  user: IUser;
}

/**
 * Accounts and brands. A new account's starting tokens are written as a GRANT ledger entry in the
 * same transaction as the user row, so users.tokens == sum(ledger) holds from the first commit.
 */
export class AccountService {
  private readonly throttle: LoginThrottle;

  constructor(
    private readonly orm: MikroORM,
    private readonly auth: Auth,
    private readonly opts: { adminEmails: ReadonlySet<string>; signupGrantTokens: number; throttle: ThrottleConfig; passwordHashCost: PasswordHashCost },
  ) {
    this.throttle = new LoginThrottle(opts.throttle);
  }

  /**
   * A new account. ADMIN_EMAILS (development only: config.ts refuses it in production) makes the first
   * sign-up with a listed address an admin, recorded as a SIGNUP role change.
   */
  async signUp(input: { email: string; password: string }, address: string): Promise<SignedIn> {
    this.throttle.signUp(address, Date.now());
    const email = parseInput(emailSchema, input.email);
    const password = parseInput(passwordSchema, input.password);
    const role: Role = this.opts.adminEmails.has(email) ? 'ADMIN' : 'USER';
    const passwordHash = await hashPassword(password, this.opts.passwordHashCost);
    try {
      const user = await inTransaction(this.orm, async (tx) => {
        const id = randomUUID();
        const tokens = this.opts.signupGrantTokens;
        await tx.insert(User, { id, email, passwordHash, role, tokens });
        const entryId = uuidv7();
        const grantId = uuidv7();
        const createdAt = new Date();
        await tx.insert(LedgerEntry, {
          id: entryId,
          user: id,
          kind: 'GRANT',
          amount: tokens,
          balanceAfter: tokens,
          metadata: tokens > 0 ? { reason: 'signup', source: 'SIGNUP', grantId } : { reason: 'signup' },
          createdAt,
        });
        // The sign-up tokens are the account's first grant (never expiring), written with the user.
        if (tokens > 0) {
          await tx.insert(TokenGrant, {
            id: grantId,
            userId: id,
            source: 'SIGNUP',
            amount: tokens,
            remaining: tokens,
            priority: DEFAULT_GRANT_PRIORITY.SIGNUP,
            createdAt,
            reason: 'signup',
            ledgerEntryId: entryId,
          });
        }
        if (role === 'ADMIN') await recordRoleChange(tx, { userId: id, oldRole: null, newRole: role, by: { channel: 'SIGNUP' } });
        return tx.findOneOrFail(User, { id });
      });
      return { token: await this.auth.issue({ userId: user.id, role: user.role }), user };
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw badInput('email: already registered', 'email');
      throw err;
    }
  }

  /** Throttled per client address and per email (throttle.ts) before any password is checked. */
  async signIn(input: { email: string; password: string }, address: string): Promise<SignedIn> {
    // The throttle's key for any input, valid or not (bounded, so a huge string is not a huge key).
    const throttleEmail = normalizeEmail(input.email.slice(0, LIMITS.emailInputCharsMax)).slice(0, LIMITS.emailCharsMax);
    this.throttle.beforeSignIn(address, throttleEmail, Date.now());
    const email = emailSchema.safeParse(input.email);
    const user = email.success
      ? await this.orm.em.fork().findOne(User, { email: email.data })
      : null;
    // Verify against a real hash even for an unknown email, so timing does not reveal accounts.
    const ok = await verifyPassword(user?.passwordHash ?? (await this.dummyHash()), input.password);
    if (!user || !ok) {
      this.throttle.signInFailed(throttleEmail, Date.now());
      throw unauthenticated('wrong email or password');
    }
    this.throttle.signInSucceeded(address, throttleEmail);
    return { token: await this.auth.issue({ userId: user.id, role: user.role }), user };
  }

  async user(id: string): Promise<IUser> {
    const user = await this.orm.em.fork().findOne(User, { id });
    if (!user) throw unauthenticated('this account no longer exists');
    return user;
  }

  async createBrand(ownerId: string, input: unknown): Promise<IBrand> {
    const fields = parseInput(brandSchema, input);
    const em = this.orm.em.fork();
    const owned = await em.count(Brand, { owner: ownerId });
    if (owned >= LIMITS.brandsPerUserMax) {
      throw new AppError('BAD_USER_INPUT', `at most ${LIMITS.brandsPerUserMax} brands per account`);
    }
    // insert, not create + flush: a flush enters an AsyncLocalStorage (see db/transaction.ts).
    const id = randomUUID();
    try {
      await em.insert(Brand, { id, owner: ownerId, ...fields });
    } catch (err) {
      // A valid token whose account was deleted: the same answer as on the websocket, not a 500.
      if (err instanceof ForeignKeyConstraintViolationException) throw unauthenticated('this account no longer exists');
      throw err;
    }
    return em.findOneOrFail(Brand, { id });
  }

  /** The brand if the viewer owns it; NOT_FOUND otherwise (never reveals other users' brands). */
  async ownedBrand(ownerId: string, brandId: string): Promise<IBrand> {
    if (!z.uuid().safeParse(brandId).success) throw notFound('brand');
    const brand = await this.orm.em.fork().findOne(Brand, { id: brandId, owner: ownerId });
    if (!brand) throw notFound('brand');
    return brand;
  }

  /** Any user's brand, for an admin; NOT_FOUND when it does not exist. */
  async anyBrand(brandId: string): Promise<IBrand> {
    if (!z.uuid().safeParse(brandId).success) throw notFound('brand');
    const brand = await this.orm.em.fork().findOne(Brand, { id: brandId });
    if (!brand) throw notFound('brand');
    return brand;
  }

  private dummy: Promise<string> | null = null;
  private dummyHash(): Promise<string> {
    return (this.dummy ??= hashPassword(randomUUID(), this.opts.passwordHashCost));
  }
}
