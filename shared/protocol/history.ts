import { z } from 'zod';
import { pointsSchema } from './limits.js';

/** REST shapes of the controller's own usage history (server/history/), shared with the console. */

/** The two windows the controller keeps: a day of minute buckets, 30 days of hour buckets. */
const historyRanges = ['24h', '30d'] as const;
export type HistoryRange = (typeof historyRanges)[number];
export const historyQuery = z.strictObject({ range: z.enum(historyRanges).optional() });

/** One bucket of a pool: the peak of each figure sampled in it. */
const poolHistorySample = z.object({
  at: z.string(),
  held: pointsSchema,
  allocated: pointsSchema,
  inUse: pointsSchema,
  pending: pointsSchema,
  limit: pointsSchema,
});

export const poolHistory = z.object({
  poolId: z.uuid(),
  range: z.enum(historyRanges),
  resolution: z.enum(['minute', 'hour']),
  from: z.string(),
  to: z.string(),
  samples: z.array(poolHistorySample),
});
export type PoolHistory = z.infer<typeof poolHistory>;

/**
 * A gateway's values from `at` until the next sample (a step series). The first sample may be
 * older than `from`: it is what held when the window opened.
 */
const gatewayHistorySample = z.object({
  at: z.string(),
  online: z.boolean(),
  /** What the agent last reported; null before its first report. */
  inUse: pointsSchema.nullable(),
  allocated: pointsSchema,
  held: pointsSchema,
});

export const gatewayHistory = z.object({
  gatewayId: z.uuid(),
  range: z.enum(historyRanges),
  from: z.string(),
  to: z.string(),
  samples: z.array(gatewayHistorySample),
});
export type GatewayHistory = z.infer<typeof gatewayHistory>;
