import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { User, UserRoleChange, type IUser, type Role } from '../db/entities';
import { uuidv7 } from '../db/ids';
import { inTransaction } from '../db/transaction';
import { AppError, notFound } from '../errors';

/** Who asks for a role change: an operator at the CLI, or an admin through the API. */
export type RoleChanger = { channel: 'CLI'; cliUser: string } | { channel: 'API'; adminId: string };

export interface RoleChanged {
  user: IUser;
  previousRole: Role;
  /** False when the user already had the role: nothing was written or recorded. */
  changed: boolean;
}

/**
 * Every role change takes this transaction-scoped advisory lock first, so changes run one at a time:
 * two admins demoting each other at once cannot both see the other still an admin and leave none.
 */
const ROLE_CHANGE_LOCK_KEY = 4_271_120_012;

/**
 * Gives a user a role, and records who did it, when, and the old and new role in user_role_changes,
 * in one transaction. Demoting the last admin is refused (BAD_USER_INPUT, reason LAST_ADMIN), from the
 * API and the CLI alike: with no admin left, nobody could grant tokens or promote anyone through the
 * API, and an admin demoting themselves by mistake would lock the service's administration out.
 */
export async function changeRole(orm: MikroORM, target: { id: string } | { email: string }, role: Role, by: RoleChanger): Promise<RoleChanged> {
  return inTransaction(orm, async (tx) => {
    await tx.execute('select pg_advisory_xact_lock(?)', [ROLE_CHANGE_LOCK_KEY]);
    const user = await tx.findOne(User, target);
    if (!user) throw notFound('user');
    const previousRole = user.role;
    if (previousRole === role) return { user, previousRole, changed: false };
    if (previousRole === 'ADMIN') await refuseLastAdmin(tx, user.id);
    await tx.nativeUpdate(User, { id: user.id }, { role });
    await recordRoleChange(tx, { userId: user.id, oldRole: previousRole, newRole: role, by });
    return { user: { ...user, role }, previousRole, changed: true };
  });
}

async function refuseLastAdmin(tx: EntityManager, demotedId: string): Promise<void> {
  const others = await tx.count(User, { role: 'ADMIN', id: { $ne: demotedId } });
  if (others === 0) {
    throw new AppError('BAD_USER_INPUT', 'this is the last admin: promote another user before demoting this one', { reason: 'LAST_ADMIN' });
  }
}

/** One user_role_changes row; `oldRole` null and channel SIGNUP for a role given at sign-up (ADMIN_EMAILS). */
export async function recordRoleChange(
  tx: EntityManager,
  change: { userId: string; oldRole: Role | null; newRole: Role; by: RoleChanger | { channel: 'SIGNUP' } },
): Promise<void> {
  const { by } = change;
  await tx.insert(UserRoleChange, {
    id: uuidv7(),
    userId: change.userId,
    oldRole: change.oldRole,
    newRole: change.newRole,
    channel: by.channel,
    changedBy: by.channel === 'API' ? by.adminId : null,
    cliUser: by.channel === 'CLI' ? by.cliUser : null,
    createdAt: new Date(),
  });
}

/** The admins, oldest account first (for the CLI's `list`). */
export async function listAdmins(orm: MikroORM): Promise<Array<Pick<IUser, 'id' | 'email' | 'createdAt'>>> {
  const admins = await orm.em.fork().find(User, { role: 'ADMIN' }, { orderBy: { createdAt: 'asc' }, fields: ['id', 'email', 'createdAt'] });
  return admins.map((a) => ({ id: a.id, email: a.email, createdAt: a.createdAt }));
}
