import { LIMITS } from './config';
import { badInput } from './errors';

/** A connection's `first`: a whole number from 1 to LIMITS.pageSizeMax, else BAD_USER_INPUT. */
export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > LIMITS.pageSizeMax) throw badInput(`first: 1 to ${LIMITS.pageSizeMax}`, 'first');
  return first;
}
