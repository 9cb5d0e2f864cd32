import { z } from 'zod';
import { pointsSchema } from './limits.js';

/**
 * Issue 21's REST contract: elastic bounds, the pool's elastic / pre-emption / pending / borrowing
 * policy, what a pending request waits for, and offline borrows.
 */

const count = z.int().min(0).max(100_000_000);

const elasticRangeSchema = z
  .strictObject({ min: count, max: count })
  .refine((r) => r.min <= r.max, { message: 'min must not exceed max', path: ['min'] });

/** Per kind: a range makes the kind elastic, null makes it fixed again, absent leaves it. */
export const elasticBoundsBody = z.strictObject({
  tags: elasticRangeSchema.nullable().optional(),
  connections: elasticRangeSchema.nullable().optional(),
});
export type ElasticBoundsBody = z.infer<typeof elasticBoundsBody>;

export const elasticBoundsView = z.object({
  gatewayId: z.uuid(),
  tags: z.object({ min: z.int(), max: z.int() }).nullable(),
  connections: z.object({ min: z.int(), max: z.int() }).nullable(),
  /** The last elastic resize or pre-emption; the cooldown runs from it. */
  changedAt: z.string().nullable(),
  lowSince: z.string().nullable(),
});
export type ElasticBoundsView = z.infer<typeof elasticBoundsView>;

const poolPolicyFields = {
  /** Headroom kept above usage, a fraction of usage: 0.25 keeps 100 allocated for 80 in use. */
  headroom: z.number().min(0).max(10),
  /** Largest single resize, a fraction of the gateway's max (at least one point). */
  step: z.number().gt(0).max(1),
  /** No two resizes of one gateway within this; usage must stay low this long before a shrink. */
  cooldownSec: z.int().min(0).max(7 * 24 * 3600),
  /** Pre-emption may go below a victim's usage, down to its elastic min (its over-limit policy applies). */
  preemptToMin: z.boolean(),
  /** A pending request older than this is cancelled; null: it waits as long as it takes. */
  pendingTimeoutSec: z.int().min(1).max(30 * 24 * 3600).nullable(),
  /** Offline borrowing: the longest borrow (0 turns borrowing off). */
  borrowMaxSec: z.int().min(0).max(30 * 24 * 3600),
  /** The share of the pool's capacity that may be borrowed at once. */
  borrowMaxFraction: z.number().min(0).max(1),
  /** Live borrows per gateway. */
  borrowsPerGateway: z.int().min(0).max(100),
};

export const poolPolicyBody = z.strictObject(poolPolicyFields).partial();
export type PoolPolicyBody = z.infer<typeof poolPolicyBody>;
export const poolPolicyView = z.object({ poolId: z.uuid(), ...poolPolicyFields });
export type PoolPolicyView = z.infer<typeof poolPolicyView>;

/** What a pending request waits for (issue 21). */
export const pendingView = z.object({
  gatewayId: z.uuid(),
  pending: pointsSchema,
  /** Since when it waits; null when it does not. */
  since: z.string().nullable(),
  /** When the pool's pending timeout cancels it; null without a timeout. */
  timesOutAt: z.string().nullable(),
  /**
   * Gateways that hold more than their allocation (pre-empted or lowered) and owe the pool those
   * points: they return when each acknowledges its smaller lease, releases, or at `until` at the
   * latest: the expiry of its last live lease above its allocation (not of the smaller lease
   * pushed after the cut, which holds none of the owed points).
   */
  waitsFor: z.array(z.object({ gatewayId: z.uuid(), name: z.string(), owes: pointsSchema, until: z.string().nullable(), online: z.boolean() })),
});
export type PendingView = z.infer<typeof pendingView>;

export const borrowBody = z.strictObject({ durationSec: z.int().min(60).max(30 * 24 * 3600) });
