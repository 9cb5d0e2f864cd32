import type { Sql } from 'postgres';
import type { Db, Tx } from '../db/database.js';
import type { LeaseObserver } from './lease-service.js';

/** The lease engine's kinds of database work, as the transaction-duration metric labels them. */
export type LeaseOperation = Parameters<NonNullable<LeaseObserver['transaction']>>[0];

/** Runs `work` and reports its duration as one transaction of the lease engine. */
async function timed<T>(observer: LeaseObserver | undefined, operation: LeaseOperation, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    observer?.transaction?.(operation, (performance.now() - started) / 1000);
  }
}

/** One drizzle transaction, timed. */
export function timedTx<T>(db: Db, observer: LeaseObserver | undefined, operation: LeaseOperation, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return timed(observer, operation, () => db.transaction(fn));
}

/** One raw statement, atomic on its own (no BEGIN and COMMIT round trips), timed. */
export function timedStatement<T>(db: Db, observer: LeaseObserver | undefined, operation: LeaseOperation, fn: (sql: Sql) => Promise<T>): Promise<T> {
  return timed(observer, operation, () => fn(db.$client));
}
