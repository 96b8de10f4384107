import type { EntityManager } from '@mikro-orm/postgresql';

/** A balance row as an actor is loaded from it. */
export interface UserRow {
  id: string;
  tokens: string;
  balance_version: string;
  balance_epoch: string;
  plan: string;
  pending_plan: string | null;
  pending_plan_from: string | null;
}

/** Where another instance that owns a balance answers (clustered mode). */
export interface OwnerRef {
  instanceId: string;
  /** Its internal URL, e.g. http://10.0.0.5:4000. */
  address: string;
}

/**
 * Clustered mode: the balance service loads an actor only under a lease (src/cluster/leases.ts). Alone,
 * the service has none and loads every balance itself.
 */
export interface BalanceOwnership {
  /**
   * Takes (or keeps) the leases of these users, counting each one's epoch up, and returns their rows
   * as committed under the new epoch; a user whose balance a live instance owns comes back in
   * `elsewhere` (null: its owner is not reachable yet, e.g. this instance's own leases are in doubt).
   * Users missing from both do not exist.
   */
  acquire(em: EntityManager, userIds: readonly string[]): Promise<{ rows: UserRow[]; elsewhere: Map<string, OwnerRef | null> }>;
  /** Whether this instance's leases are still its own (renewed within the lease's time to live). */
  valid(): boolean;
  /** Gives up the leases of these idle actors (under the epochs named), in the background. */
  release(leases: ReadonlyArray<{ userId: string; epoch: number }>): void;
  /** Whether this instance runs the platform's duties now (polling grants due of balances nobody holds). */
  platformDuty(): boolean;
  /** Called with the service's own hook, run when the leases are lost (not renewed in time). */
  onLost(listener: () => void): void;
}

/** This instance does not own the balance: `owner` does (or nobody live: null, retry shortly). */
export class NotOwnerError extends Error {
  override name = 'NotOwnerError';
  constructor(
    readonly userId: string,
    readonly owner: OwnerRef | null,
  ) {
    super(owner ? `balance owned by instance ${owner.instanceId}` : 'balance changing owner');
  }
}
