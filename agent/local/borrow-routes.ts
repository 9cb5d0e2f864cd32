import { Router, type Response } from 'express';
import { z } from 'zod';
import { borrowBody } from '../../shared/protocol/elastic.js';
import { describeIssue } from '../../shared/zod-issues.js';
import { neuronDate } from '../http/local-api.js';
import type { BorrowResult } from '../lease/borrowing.js';
import { localTokenCheck } from './activation-routes.js';

/** The local answer to a borrow or a return (what `npm run agent -- borrow` parses). */
export const localBorrowAnswer = z.object({
  seq: z.int(),
  borrowed: z.boolean(),
  expiresAt: z.int(),
  expiresAtDate: z.string(),
  points: z.object({ tags: z.int(), connections: z.int() }),
  plugins: z.array(z.string()),
  acknowledged: z.boolean(),
});
export const localBorrowRefusal = z.object({ error: z.string(), detail: z.string() });

/**
 * Offline borrowing at the device (issue 21), behind the local admin token like activation:
 * `POST /api/license/borrow {durationSec}` before a planned disconnect, `POST /api/license/borrow/return`
 * once back. The controller's refusal (off 403, too long 400, a cap 409) is passed on as is.
 */
export function borrowRoutes(o: { localToken: string; borrow: (durationSec: number) => Promise<BorrowResult>; returnBorrow: () => Promise<BorrowResult> }): Router {
  const router = Router();
  const authorised = localTokenCheck(o.localToken);
  const answer = (res: Response, r: BorrowResult) => {
    if (!r.ok) return void res.status(r.status >= 400 && r.status < 600 ? r.status : 502).json({ error: r.reason, detail: r.detail } satisfies z.input<typeof localBorrowRefusal>);
    const body: z.input<typeof localBorrowAnswer> = { seq: r.seq, borrowed: r.borrowed, expiresAt: r.expiresAt, expiresAtDate: neuronDate(r.expiresAt), points: r.points, plugins: [...r.plugins], acknowledged: r.acknowledged };
    res.json(body);
  };
  router.post('/api/license/borrow', (req, res, next) => {
    if (!authorised(req)) return void res.status(401).json({ error: 'unauthorized', detail: 'the local admin token is required (Authorization: Bearer …)' });
    const parsed = borrowBody.safeParse(req.body ?? {});
    if (!parsed.success) return void res.status(400).json({ error: 'validation-failed', detail: describeIssue(parsed.error.issues[0], { under: 'body' }) });
    o.borrow(parsed.data.durationSec).then((r) => answer(res, r), next);
  });
  router.post('/api/license/borrow/return', (req, res, next) => {
    if (!authorised(req)) return void res.status(401).json({ error: 'unauthorized', detail: 'the local admin token is required (Authorization: Bearer …)' });
    o.returnBorrow().then((r) => answer(res, r), next);
  });
  return router;
}
