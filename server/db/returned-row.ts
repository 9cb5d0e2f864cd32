import { AppError } from '../errors/app-error.js';

/**
 * The row an INSERT … RETURNING, or an UPDATE … RETURNING of a row the caller knows exists, gave
 * back. Pools and gateways are never deleted, so an empty result is a bug: it fails here, named,
 * instead of as an undefined typed as a row further on.
 */
export function returnedRow<T>(rows: readonly T[], what: string): T {
  const [row] = rows;
  if (row === undefined) throw new AppError('internal', `${what}: the statement returned no row`);
  return row;
}
