import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import { PASSWORD_HASH_COST, type PasswordHashCost } from '../config';
import { ROLES, type Role } from '../db/entities';
import { unauthenticated } from '../errors';

const JWT_ALGORITHM = 'HS256';
const JWT_ISSUER = 'andora-tokens';
const SECRET_FILE = 'jwt-secret';
const SECRET_BYTES = 48;

export interface TokenClaims {
  userId: string;
  role: Role;
}

/** A checked token: its claims and when it stops being valid. */
export interface CheckedToken extends TokenClaims {
  /** The token's `exp`, in milliseconds since the epoch. */
  expiresAtMs: number;
}

/**
 * Issues and checks bearer tokens. The secret comes from JWT_SECRET; in development without it, one
 * is generated once and kept in the data directory so tokens survive restarts.
 */
export class Auth {
  private constructor(
    private readonly secret: Uint8Array,
    private readonly ttlSeconds: number,
  ) {}

  static create(opts: { secret: string | undefined; dataDir: string; ttlSeconds: number; log: Logger }): Auth {
    if (opts.secret) return new Auth(new TextEncoder().encode(opts.secret), opts.ttlSeconds);
    mkdirSync(opts.dataDir, { recursive: true });
    const file = join(opts.dataDir, SECRET_FILE);
    if (!existsSync(file)) {
      writeFileSync(file, randomBytes(SECRET_BYTES).toString('base64url'), { mode: 0o600 });
      chmodSync(file, 0o600);
    }
    opts.log.warn({ file }, 'JWT_SECRET is not set: using a generated secret kept in the data directory');
    return new Auth(new TextEncoder().encode(readFileSync(file, 'utf8').trim()), opts.ttlSeconds);
  }

  async issue(claims: TokenClaims): Promise<string> {
    return new SignJWT({ role: claims.role })
      .setProtectedHeader({ alg: JWT_ALGORITHM })
      .setSubject(claims.userId)
      .setIssuer(JWT_ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.secret);
  }

  /**
   * The claims of a valid token; UNAUTHENTICATED for a forged, expired or malformed one. A token
   * without `exp` is refused: it would never expire (every token we issue has one).
   */
  async check(token: string): Promise<CheckedToken> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: [JWT_ALGORITHM], issuer: JWT_ISSUER, requiredClaims: ['exp', 'sub'] });
      const role = payload.role as Role;
      if (!payload.sub || !ROLES.includes(role) || typeof payload.exp !== 'number') throw unauthenticated('invalid token');
      return { userId: payload.sub, role, expiresAtMs: payload.exp * 1_000 };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('token expired: sign in again');
      throw unauthenticated('invalid token');
    }
  }

  /** `Bearer <token>` → claims; null when there is no header at all. */
  async fromHeader(header: string | undefined | null): Promise<CheckedToken | null> {
    if (!header) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match) throw unauthenticated('malformed Authorization header: expected "Bearer <token>"');
    return this.check(match[1]!);
  }
}

/** A PHC string that carries its cost, so verifying reads it from the hash whatever the current cost. */
export const hashPassword = (password: string, cost: PasswordHashCost = PASSWORD_HASH_COST): Promise<string> =>
  hash(password, { memoryCost: cost.memoryKib, timeCost: cost.iterations, parallelism: 1 });
export const verifyPassword = (passwordHash: string, password: string): Promise<boolean> =>
  verify(passwordHash, password).catch(() => false);
