import { Router } from 'express';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean> | boolean;
}

/** `/healthz` says the process is alive; `/readyz` names every dependency that is down. */
export function healthRoutes(checks: readonly ReadinessCheck[], alive: () => boolean = () => true): Router {
  const router = Router();
  // Not alive: a part this process cannot recover (e.g. its embedded PostgreSQL) is gone for good.
  router.get('/healthz', (_req, res) => {
    if (alive()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'failed' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => [c.name, await Promise.resolve(c.check()).catch(() => false)] as const),
    );
    const down = results.filter(([, ok]) => !ok).map(([name]) => name);
    const body = { status: down.length === 0 ? 'ready' : 'unavailable', checks: Object.fromEntries(results.map(([n, ok]) => [n, ok ? 'up' : 'down'])), ...(down.length ? { down } : {}) };
    res.status(down.length === 0 ? 200 : 503).json(body);
  });
  return router;
}
