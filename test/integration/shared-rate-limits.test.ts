import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgRateLimitStore } from '../../server/http/pg-rate-limit-store.js';
import { failureLimiter } from '../../server/http/rate-limits.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/**
 * Finding 4 of issue 18: each replica counted failures on its own, so N replicas allowed N × the
 * limit. Two "replicas" (two apps, two stores) on one database share one counter.
 */
describe('failure rate limits shared by replicas (PostgreSQL store)', () => {
  let db: TestDatabase;
  const servers: http.Server[] = [];
  const urls: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const app = express();
      app.use(failureLimiter({ perMinute: 6, failedStatuses: [401], what: 'authentications', store: new PgRateLimitStore(db.database.db, 'auth:') }));
      app.get('/', (req, res) => void res.status(req.headers.authorization === 'good' ? 200 : 401).end());
      app.use((_err: { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(429).end());
      const server = http.createServer(app);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    }
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await db?.drop();
  });

  const status = async (i: number, auth = 'bad') => (await fetch(urls[i]!, { headers: { authorization: auth } })).status;

  it('counts failures on both replicas against one limit', async () => {
    for (let k = 0; k < 3; k++) {
      expect(await status(0)).toBe(401);
      expect(await status(1)).toBe(401);
    }
    // Counted on arrival, un-counted on success (FailureCounter keys are "<what>:<address>").
    await waitFor('six failures counted', async () => (await new PgRateLimitStore(db.database.db, 'auth:').get('authentications:127.0.0.1'))?.totalHits === 6);
    expect(await status(0)).toBe(429);
    expect(await status(1)).toBe(429);
  });

  it('keeps separate limiters apart and starts a new window after the old one', async () => {
    const store = new PgRateLimitStore(db.database.db, 'other:');
    store.init({ windowMs: 60_000 });
    const first = await store.increment('k');
    expect(first.totalHits).toBe(1);
    // A Date about a window ahead (drizzle's client returns timestamps as text: was a string, and
    // FailureCounter's resetTime.getTime() made every counted request of a controller a 500).
    expect(first.resetTime).toBeInstanceOf(Date);
    expect(Math.abs(first.resetTime!.getTime() - Date.now() - 60_000)).toBeLessThan(30_000);
    expect((await store.get('k'))?.resetTime).toBeInstanceOf(Date);
    await db.database.sql`update rate_limit_hits set reset_at = now() - interval '1 second' where key = 'other:k'`;
    expect(await store.get('k')).toBeUndefined();
    expect((await store.increment('k')).totalHits).toBe(1);
    await store.decrement('k');
    expect((await store.get('k'))?.totalHits).toBe(0);
    await store.resetKey('k');
    expect(await store.get('k')).toBeUndefined();
    store.shutdown();
  });
});
