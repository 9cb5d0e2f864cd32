import { afterEach, describe, expect, it } from 'vitest';
import { guardDriverTypeFetch, isDriverTypeFetchFailure } from '../../../server/db/driver-type-fetch-guard.js';

// The statement postgres.js 3.4.9 sends first on every new connection (src/connection.js, fetchArrayTypes).
const TYPE_FETCH = `
      select b.oid, b.typarray
      from pg_catalog.pg_type a
      left join pg_catalog.pg_type b on b.oid = a.typelem
      where a.typcategory = 'A'
      group by b.oid, b.typarray
      order by b.oid
    `;
const pgError = (query: string) => Object.assign(new Error('canceling statement due to user request'), { code: '57014', query });

describe('guard for the driver\'s array-type lookup (porsager/postgres#1192)', () => {
  const saved = process.listeners('unhandledRejection');
  afterEach(() => {
    process.removeAllListeners('unhandledRejection');
    for (const l of saved) process.on('unhandledRejection', l);
  });

  it('recognises only the lookup, not application statements or other errors', () => {
    expect(isDriverTypeFetchFailure(pgError(TYPE_FETCH))).toBe(true);
    expect(isDriverTypeFetchFailure(pgError('select * from "gateways" where id = $1'))).toBe(false);
    expect(isDriverTypeFetchFailure(pgError('select typarray from pg_catalog.pg_type'))).toBe(false);
    expect(isDriverTypeFetchFailure(new Error('boom'))).toBe(false);
    expect(isDriverTypeFetchFailure(undefined)).toBe(false);
    expect(isDriverTypeFetchFailure('from pg_catalog.pg_type a b.typarray')).toBe(false);
  });

  it('logs a failed lookup as a warning; any other unhandled rejection still ends the process when no one else listens', () => {
    process.removeAllListeners('unhandledRejection');
    const warnings: unknown[] = [];
    const unguard = guardDriverTypeFetch({ warn: (o: unknown) => void warnings.push(o) });
    const lookup = pgError(TYPE_FETCH);
    expect(process.emit('unhandledRejection', lookup, Promise.resolve())).toBe(true);
    expect(warnings).toEqual([{ code: '57014', detail: 'canceling statement due to user request' }]);
    const other = new Error('a real bug');
    expect(() => process.emit('unhandledRejection', other, Promise.resolve())).toThrow(other);
    unguard();
    expect(process.listenerCount('unhandledRejection')).toBe(0);
  });

  it('leaves other rejections to another listener when there is one (a test runner, say)', () => {
    process.removeAllListeners('unhandledRejection');
    const seen: unknown[] = [];
    process.on('unhandledRejection', (r) => void seen.push(r));
    const unguard = guardDriverTypeFetch({ warn: () => {} });
    const other = new Error('reported elsewhere');
    expect(() => process.emit('unhandledRejection', other, Promise.resolve())).not.toThrow();
    expect(seen).toEqual([other]);
    unguard();
  });
});
