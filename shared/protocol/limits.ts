import { z } from 'zod';

/** The two counted kinds of points; plugins are an allow-list, not a count. */
export const POINT_KINDS = ['tags', 'connections'] as const;
export type PointKind = (typeof POINT_KINDS)[number];

export const pointsSchema = z.object({
  tags: z.int().nonnegative(),
  connections: z.int().nonnegative(),
});

export interface Limits {
  readonly tags: number;
  readonly connections: number;
  readonly plugins: readonly string[];
}

/** In `Limits.plugins`: every plugin, except those the agent's trial exclusion list names. */
export const ALL_PLUGINS = '*';

/**
 * F1: what a gateway without a valid floating license may use (NeuronEX's free allowance: 30 tags,
 * 30 connections, commercial plugins included except the ones NeuronEX excludes, i.e. CNC).
 */
export const TRIAL_ALLOWANCE: Limits = Object.freeze({
  tags: 30,
  connections: 30,
  plugins: Object.freeze([ALL_PLUGINS] as string[]),
});
