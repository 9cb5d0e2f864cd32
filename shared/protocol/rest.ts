import { z } from 'zod';
import { hardwareIdSchema } from './lease-claims.js';
import { keySetDocumentSchema } from './key-set.js';
import { pointsSchema } from './limits.js';

/** REST request and response shapes of /api/v1, shared by the controller, CLI and console. */

const name = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters');
const points = z.int('expected a whole number').min(0, 'must be 0 or more').max(10_000_000, 'at most 10,000,000');
const isoDate = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2027-01-31T00:00:00Z' });
const pluginList = z
  .array(z.string().trim().min(1).max(100))
  .max(200)
  .refine((a) => new Set(a).size === a.length, 'plugins must not repeat');


export const idParams = z.strictObject({ id: z.uuid('expected a UUID') });

// ---- pools ----
export const reclaimModes = ['on-expiry', 'on-disconnect'] as const;
const grantModes = ['partial', 'all-or-nothing'] as const;

const poolSettings = z.strictObject({
  description: z.string().max(1000, 'at most 1000 characters').optional(),
  leaseTtlSeconds: z.int('expected whole seconds').min(15, 'at least 15 seconds').max(86_400, 'at most 86400 seconds').optional(),
  reclaim: z.enum(reclaimModes).optional(),
  disconnectGraceSeconds: z.int('expected whole seconds').min(5, 'at least 5 seconds').max(86_400, 'at most 86400 seconds').optional(),
  overdraftFactor: z.number().min(1, 'at least 1 (no overdraft)').max(2, 'at most 2').optional(),
  alarmRaiseRatio: z.number().gt(0).max(1).optional(),
  alarmClearRatio: z.number().gt(0).max(1).optional(),
  /** Cap on sum(allocations) / limit per kind (F2); null removes the cap. 1 = every allocation can always be served. */
  maxOversubscription: z.number().min(1, 'at least 1 (no oversubscription)').max(1000, 'at most 1000').nullable().optional(),
  /** partial (default): a grant gives what is free; all-or-nothing: the whole allocation or nothing beyond what is held. */
  grantMode: z.enum(grantModes).optional(),
});

export const poolCreateBody = poolSettings.extend({ name });
export const poolPatchBody = poolSettings.extend({ name: name.optional() });
export type PoolSettings = z.infer<typeof poolPatchBody>;

export const poolLicenseView = z.object({
  id: z.uuid(),
  licenseRef: z.string(),
  issuer: z.string(),
  customer: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  expired: z.boolean(),
  points: pointsSchema,
  plugins: z.array(z.string()),
  forced: z.boolean(),
  uploadedBy: z.string(),
  uploadedAt: z.string(),
  replacedAt: z.string().nullable(),
});
export type PoolLicenseView = z.infer<typeof poolLicenseView>;

export const poolView = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  leaseTtlSeconds: z.int(),
  reclaim: z.enum(reclaimModes),
  /** reclaim on-disconnect: seconds after the controller lost the agent that its points return. */
  disconnectGraceSeconds: z.int(),
  overdraftFactor: z.number(),
  alarmRaiseRatio: z.number(),
  alarmClearRatio: z.number(),
  maxOversubscription: z.number().nullable(),
  grantMode: z.enum(grantModes),
  capacity: pointsSchema,
  /** Capacity times the overdraft factor: the most that may ever be held. */
  limit: pointsSchema.describe('Capacity times the overdraft factor: the most that may ever be held.'),
  plugins: z.array(z.string()),
  license: poolLicenseView.nullable(),
  licenseExpired: z.boolean(),
  overCommitted: z.boolean(),
  /** Sum of allocations (entitlements, F2): may exceed the limit up to maxOversubscription. */
  allocated: pointsSchema.describe('Sum of allocations: entitlements, not holdings (points float, F2). May exceed the limit up to maxOversubscription.'),
  /** Sum of held points: live leases, plus allocations of reserved gateways. Never above the limit. */
  held: pointsSchema.describe(
    "Sum of held points: each gateway's largest live lease (not expired, released, reclaimed or superseded by an acknowledged lease), and at least the allocation of a reserved gateway. Never above the limit; an offline gateway holds nothing once its leases end.",
  ),
  /** What online gateways' allocations ask beyond what they hold: served as points free up. */
  pending: pointsSchema.describe("What online gateways' allocations ask beyond what they hold: not held, granted as points free up (priority, then arrival)."),
  /** Usage the agents report. */
  inUse: pointsSchema.describe('Usage the agents report (tags and connections configured in NeuronEX).'),
  free: pointsSchema.describe('Limit minus held: what the next grant can give.'),
  utilization: z.object({ tags: z.number(), connections: z.number() }).describe('Held divided by the limit, per kind.'),
  gateways: z.object({ total: z.int(), online: z.int() }),
  createdAt: z.string(),
});
export type PoolView = z.infer<typeof poolView>;

export const licenseUploadBody = z.strictObject({
  license: z.string().trim().min(1, 'must not be empty').max(16_384, 'at most 16384 characters'),
  force: z.boolean().optional(),
});

// ---- activation codes ----
export const activationCodeCreateBody = z.strictObject({
  seats: z.int('expected a whole number of seats').min(1, 'at least 1 seat').max(100_000, 'at most 100000 seats'),
  expiresAt: isoDate.optional(),
  label: z.string().max(200, 'at most 200 characters').optional(),
});

export const activationCodeView = z.object({
  id: z.uuid(),
  poolId: z.uuid(),
  codePrefix: z.string(),
  label: z.string(),
  seats: z.int(),
  seatsUsed: z.int(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type ActivationCodeView = z.infer<typeof activationCodeView>;
export const activationCodeCreated = activationCodeView.extend({ code: z.string() });

// ---- enrollment (agents) ----

export const enrollBody = z.strictObject({
  activationCode: z.string().trim().min(8, 'too short to be an activation code').max(200),
  hardwareId: hardwareIdSchema,
  name: z.string().trim().min(1).max(100).optional(),
  agentVersion: z.string().max(50).optional(),
  /** The gateway's current credential: proves possession when re-enrolling a gateway that is live. */
  currentCredential: z.string().max(200).optional(),
});

export const enrollResponse = z.object({
  gatewayId: z.uuid(),
  poolId: z.uuid(),
  name: z.string(),
  credential: z.string(),
  /** Same hardware enrolled before: same gateway, fresh credential, no extra seat. */
  reenrolled: z.boolean(),
  lease: z.object({ issuer: z.string(), audience: z.string() }),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
});
export type EnrollResponse = z.infer<typeof enrollResponse>;

// ---- gateways and allocations ----
export const allocationBody = z.strictObject({
  tags: points,
  connections: points,
  plugins: pluginList.optional(),
  force: z.boolean().optional(),
  /** Reserved: holds its allocation even offline; raising it needs free points (F2). */
  reserved: z.boolean().optional(),
  /** Pending gateways are served highest priority first (default 0), then in arrival order. */
  priority: z.int().min(-1000).max(1000).optional(),
});

export const gatewayView = z.object({
  id: z.uuid(),
  name: z.string(),
  poolId: z.uuid(),
  hardwareId: z.string(),
  online: z.boolean(),
  transport: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  presenceChangedAt: z.string().nullable(),
  enrolledAt: z.string(),
  /** When the gateway was decommissioned (its credential no longer works); null while it is in service. */
  decommissionedAt: z.string().nullable().optional(),
  allocation: z.object({ tags: z.int(), connections: z.int(), plugins: z.array(z.string()) }),
  reserved: z.boolean(),
  priority: z.int(),
  /** What it holds: the largest live lease (at least the allocation when reserved). */
  held: pointsSchema.describe('What it holds: its largest live lease (at least its allocation when reserved). Its allocation is an entitlement, not a holding.'),
  /** What its allocation asks beyond what it holds while online: waits for free points. */
  pending: pointsSchema.describe('What its allocation asks beyond what it holds while online: waits for free points (0 while offline).'),
  /**
   * Only in the answer to an allocation change: what the lease pushed next is expected to grant at
   * once and what waits (computed under the pool lock; the push decides, in queue order).
   */
  allocationOutcome: z.object({ granted: pointsSchema, pending: pointsSchema }).optional(),
  usage: z.object({ tags: z.int(), connections: z.int(), reportedAt: z.string() }).nullable(),
  lease: z
    .object({
      jti: z.uuid(),
      seq: z.int(),
      state: z.string(),
      points: pointsSchema,
      plugins: z.array(z.string()),
      issuedAt: z.string(),
      expiresAt: z.string(),
      secondsLeft: z.int(),
    })
    .nullable(),
});
export type GatewayView = z.infer<typeof gatewayView>;

/** Many gateways' points in one transaction (all or nothing); kinds left out keep their value. */
export const bulkAllocationBody = z.strictObject({
  mode: z.enum(['set', 'add']).default('set'),
  force: z.boolean().optional(),
  items: z
    .array(z.strictObject({ gatewayId: z.uuid('expected a gateway id (UUID)'), tags: points.optional(), connections: points.optional(), plugins: pluginList.optional() }))
    .min(1, 'at least one gateway')
    .max(2000, 'at most 2000 gateways per request'),
});
export const bulkAllocationResult = z.object({ changed: z.int() });

export const gatewayListQuery = z.strictObject({
  poolId: z.uuid().optional(),
  /** The gateways that enrolled with this activation code (its seats). */
  codeId: z.uuid().optional(),
  online: z.enum(['true', 'false']).optional(),
  q: z.string().max(100).optional(),
  sort: z.enum(['name', 'enrolledAt', 'lastSeenAt', 'usageTags', 'allocTags']).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

export const gatewayPage = z.object({ total: z.int(), items: z.array(gatewayView) });
export type GatewayPage = z.infer<typeof gatewayPage>;

/** The list's filters without paging: what "select all matching" and the CSV export work on. */
export const gatewayFilterQuery = gatewayListQuery.omit({ limit: true, offset: true });
/** Selections are bounded: a bulk request takes at most 2,000 gateways (bulkAllocationBody). */
export const GATEWAY_IDS_MAX = 10_000;
export const gatewayIdsPage = z.object({ total: z.int(), ids: z.array(z.uuid()), truncated: z.boolean() });
export type GatewayIdsPage = z.infer<typeof gatewayIdsPage>;

/** Releases many gateways' points in one transaction (each audited as allocation.released). */
export const bulkReleaseBody = z.strictObject({
  gatewayIds: z.array(z.uuid('expected a gateway id (UUID)')).min(1, 'at least one gateway').max(2000, 'at most 2000 gateways per request'),
});

// ---- audit ----
export const auditQuery = z.strictObject({
  gatewayId: z.uuid().optional(),
  /** A gateway's id or its name (case-insensitive, exact). */
  gateway: z.string().trim().min(1).max(100).optional(),
  /** Leaves out lease renewals, which outnumber administrative events by far. */
  hideRenewals: z.enum(['true', 'false']).optional(),
  poolId: z.uuid().optional(),
  action: z.string().max(100).optional(),
  actor: z.string().max(200).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  /** Cursor: return events with an id below this one (newest first). */
  before: z.coerce.number().int().positive().optional(),
});

/** The audit filters without the cursor: the CSV export streams every matching event. */
export const auditExportQuery = auditQuery.omit({ limit: true, before: true });

const auditEventView = z.object({
  id: z.int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  poolId: z.string().nullable(),
  gatewayId: z.string().nullable(),
  subject: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export type AuditEventView = z.infer<typeof auditEventView>;
export const auditPage = z.object({ items: z.array(auditEventView), nextBefore: z.int().nullable() });

// ---- API tokens ----
export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

export const tokenCreateBody = z.strictObject({ name, role: z.enum(roles), expiresAt: isoDate.optional() });
export const tokenView = z.object({
  id: z.uuid(),
  name: z.string(),
  role: z.enum(roles),
  tokenPrefix: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export const tokenCreated = tokenView.extend({ token: z.string() });

// ---- agent (pull fallback over HTTP; the push transports carry the same payloads) ----
export const leaseGrant = z.object({
  lease: z.string(),
  jti: z.uuid(),
  seq: z.int(),
  expiresAt: z.int(),
  ttl: z.int(),
  /** Points of the allocation this lease could not grant yet (F2): they wait and are pushed as points free up. */
  pending: pointsSchema.optional(),
  /**
   * The vouched key set (shared/protocol/key-set.ts), sent with leases signed by a recently rotated-in
   * key: an agent that does not pin the lease's kid adopts it from here when a pinned key signed it.
   */
  keySet: keySetDocumentSchema.optional(),
});
export type LeaseGrant = z.infer<typeof leaseGrant>;
export const leaseAckBody = z.strictObject({ jti: z.uuid() });
export const usageReportBody = z.strictObject({ tags: points, connections: points });
/**
 * The agent loaded an offline license file (lease `jti`) at the device: reported when it loads it, or at
 * its next contact with the controller when it could not reach it then. `loadedAt`: the device's clock
 * (epoch seconds), recorded as reported.
 */
export const licenseFileLoadedBody = z.strictObject({ jti: z.uuid(), loadedAt: z.int().nonnegative().max(4_102_444_800) });
export type LicenseFileLoaded = z.infer<typeof licenseFileLoadedBody>;
/** `recorded`: false when this load was already recorded (a retried report). */
export const licenseFileLoadedAnswer = z.object({ recorded: z.boolean() });
