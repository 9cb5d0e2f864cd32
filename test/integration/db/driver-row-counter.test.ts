import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';

/**
 * postgres.js 3.4.9 counts a connection's result rows in one variable that only CommandComplete
 * reset. A statement that failed after sending rows (cancelled, timed out, or an error in a later
 * row) left it standing, and the next statement on that connection resolved with that many holes
 * before its rows (porsager/postgres#1181, #1119; PRs #1120, #1190 not released). CI 2026-12-02,
 * crash.test.ts seed 99: a forced lowering failed with "TypeError: Iterator value undefined is not
 * an entry object" (new Map over the holes); a `const [row] = …` read would have seen no row at all.
 * patches/postgres+3.4.9.patch resets the count when the statement ends; this fails without it.
 */
describe('postgres.js after a statement that failed midway through its rows', () => {
  let db: TestDatabase;
  let sql: Sql;
  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it('gives the next statement on the connection its rows and nothing else, pipelined or not', async () => {
    // Rows 1-3 reach the client, row 4 divides by zero.
    const failing = () => sql`select i, 1 / (4 - i) as boom from generate_series(1, 10) i`.then(() => 'resolved', (e: Error) => e.message);
    const pipelined = [failing(), sql`select x from generate_series(1, 5) x`];
    expect(await pipelined[0]).toMatch(/division by zero/);
    const next = (await pipelined[1]) as postgres.RowList<postgres.Row[]>;
    // filter() skips holes: it counts the rows really there.
    expect({ length: next.length, rows: next.filter(() => true).length, first: next[0] }).toEqual({ length: 5, rows: 5, first: { x: 1 } });

    expect(await failing()).toMatch(/division by zero/);
    const after = await sql`select x from generate_series(1, 2) x`;
    expect([...after]).toEqual([{ x: 1 }, { x: 2 }]);
  });
});
