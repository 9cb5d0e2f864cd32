import { z } from 'zod';
import { pointsSchema } from './limits.js';

/** The what-if replay's REST contract (issue 21). */

const elasticSettings = z.object({ headroom: z.number().min(0).max(10), step: z.number().gt(0).max(1), cooldownSec: z.int().min(0).max(7 * 24 * 3600) });

const simSettingsSchema = z.object({
  capacity: pointsSchema,
  overdraftFactor: z.number().min(1).max(10),
  ttlSec: z.int().min(1).max(30 * 24 * 3600),
  reclaim: z.enum(['on-expiry', 'on-disconnect']),
  graceSec: z.int().min(1).max(30 * 24 * 3600),
  /** null: allocations as recorded (no elastic resizes). */
  elastic: elasticSettings.nullable(),
  borrowMaxSec: z.int().min(0).max(30 * 24 * 3600),
  borrowMaxFraction: z.number().min(0).max(1),
  falseReclaimWindowSec: z.int().min(1).max(30 * 24 * 3600),
});

export const simulateBody = z.strictObject({
  /** The history to replay: the last `days` days up to now (default 7), or from/to (ISO). */
  days: z.number().gt(0).max(90).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** What to change against the settings in force; anything absent stays as in force. */
  settings: simSettingsSchema.omit({ capacity: true }).partial().strict().default({}),
});
export type SimulateBody = z.infer<typeof simulateBody>;

const simReportSchema = z.object({
  strandedPointHours: pointsSchema.extend({ tags: z.number(), connections: z.number() }),
  reclaims: z.int(),
  falseReclaims: z.int(),
  queuedRequests: z.int(),
  queuedPointHours: z.object({ tags: z.number(), connections: z.number() }),
  refusedBorrows: z.int(),
  elasticResizes: z.int(),
  peakUtilization: z.object({ tags: z.number(), connections: z.number() }),
});

export const simulateView = z.object({
  poolId: z.uuid(),
  from: z.string(),
  to: z.string(),
  gateways: z.int(),
  events: z.int(),
  /** How long the two replays took (ms). */
  elapsedMs: z.number(),
  inForce: z.object({ settings: simSettingsSchema, report: simReportSchema }),
  whatIf: z.object({ settings: simSettingsSchema, report: simReportSchema }),
});
export type SimulateView = z.infer<typeof simulateView>;
