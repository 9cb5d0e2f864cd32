import type { Logger } from '../logger.js';

/** True for a failure of postgres.js's own array-type lookup, the first statement of every new connection. */
export function isDriverTypeFetchFailure(reason: unknown): boolean {
  if (typeof reason !== 'object' || reason === null) return false;
  const query = (reason as { query?: unknown }).query;
  return typeof query === 'string' && query.includes('from pg_catalog.pg_type a') && query.includes('b.typarray');
}

/**
 * postgres.js 3.4.9 drops the promise of that lookup (porsager/postgres#1192, #1205, #1223). When it
 * fails (cancelled, timed out, its backend killed during a database incident) the error escapes as an
 * unhandled rejection, which ends a Node process, while the application's own statement on that
 * connection still runs and fails or succeeds on its own. The array parsers are shared by the pool, so
 * the connections that did look them up keep serving. This keeps the process alive for that one case
 * and leaves every other unhandled rejection fatal, as Node's default is. Returns the uninstaller.
 */
export function guardDriverTypeFetch(log: Pick<Logger, 'warn'>): () => void {
  const onRejection = (reason: unknown): void => {
    if (isDriverTypeFetchFailure(reason)) {
      const code = (reason as { code?: unknown }).code;
      log.warn({ code, detail: String((reason as Error).message) }, 'a new database connection failed to look up array types (postgres.js defect #1192); the connection goes on');
      return;
    }
    // A listener replaces Node's default, so restore it: when no one else listens, the process ends.
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  };
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('unhandledRejection', onRejection);
  };
}
