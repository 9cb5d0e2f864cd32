import { Router } from 'express';
import { z } from 'zod';
import { pluginEnabled } from '../neuronex/plugin-policy.js';
import type { AgentView } from './agent-view.js';
import { describeIssue } from '../../shared/zod-issues.js';

const checkBody = z.strictObject({
  tags: z.int().min(0).optional(),
  connections: z.int().min(0).optional(),
  plugins: z.array(z.string().min(1)).max(100).optional(),
});

type Reason = { kind: 'tags' | 'connections' | 'plugins'; requested: number | string[]; available: number | string[]; message: string };

/**
 * The decision API for software other than NeuronEX: read the current limits, or ask whether a
 * requested amount (on top of what is in use) would be allowed, with the reason when it is not.
 */
export function decisionRoutes(view: () => AgentView): Router {
  const router = Router();
  router.get('/api/v1/limits', (_req, res) => {
    const v = view();
    res.json({ licenseType: v.licenseType, limits: v.limits, usage: v.usage ?? null, secondsLeft: v.secondsLeft });
  });
  router.post('/api/v1/check', (req, res) => {
    const parsed = checkBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: 'validation-failed', detail: describeIssue(parsed.error.issues[0], { under: 'body' }) });
      return;
    }
    const v = view();
    const reasons: Reason[] = [];
    for (const kind of ['tags', 'connections'] as const) {
      const requested = parsed.data[kind];
      if (requested === undefined) continue;
      const available = Math.max(0, v.limits[kind] - (v.usage?.[kind] ?? 0));
      if (requested > available) reasons.push({ kind, requested, available, message: `${requested} ${kind} requested, ${available} available (limit ${v.limits[kind]}, ${v.usage?.[kind] ?? 0} in use)` });
    }
    const missing = (parsed.data.plugins ?? []).filter((p) => !pluginEnabled(v.limits, p));
    if (missing.length) reasons.push({ kind: 'plugins', requested: missing, available: [...v.limits.plugins], message: `not enabled by the ${v.licenseType === 'TRIAL' ? 'trial allowance' : 'lease'}: ${missing.join(', ')}` });
    res.json({ allowed: reasons.length === 0, licenseType: v.licenseType, reasons });
  });
  return router;
}
