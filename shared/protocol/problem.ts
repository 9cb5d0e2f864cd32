import { z } from 'zod';

/** Stable error names: clients (CLI, console, agents) branch on these, never on messages. */
export const problemNames = [
  'validation-failed',
  'unauthorized',
  'forbidden',
  'not-found',
  'conflict',
  'insufficient-points',
  'below-usage',
  'license-shortfall',
  'license-invalid',
  'license-expired',
  'pool-over-committed',
  'oversubscription-cap',
  'activation-code-unknown',
  'activation-code-revoked',
  'activation-code-expired',
  'activation-code-exhausted',
  'payload-too-large',
  'unsupported-media-type',
  'rate-limited',
  'unavailable',
  'internal',
] as const;
export type ProblemName = (typeof problemNames)[number];

const problemFieldSchema = z.object({ path: z.string(), message: z.string() });

/** RFC 9457 problem details, plus our stable `name` and optional extension members. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    name: z.enum(problemNames),
    errors: z.array(problemFieldSchema).optional(),
  })
  .catchall(z.unknown());
export type Problem = z.infer<typeof problemSchema>;
