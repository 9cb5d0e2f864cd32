import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  customType,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const customBytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
const createdAt = () => ts('created_at').notNull().defaultNow();

/** A pool's capacity is denormalised from its current license so allocation checks lock one row. */
export const pools = pgTable('pools', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  leaseTtlSeconds: integer('lease_ttl_seconds').notNull().default(300),
  reclaim: text('reclaim', { enum: ['on-expiry', 'on-disconnect'] }).notNull().default('on-expiry'),
  /** on-disconnect: how long after the controller lost the agent its points return (leases carry it). */
  disconnectGraceSeconds: integer('disconnect_grace_seconds').notNull().default(60),
  overdraftFactor: real('overdraft_factor').notNull().default(1),
  alarmRaiseRatio: real('alarm_raise_ratio').notNull().default(0.8),
  alarmClearRatio: real('alarm_clear_ratio').notNull().default(0.75),
  capacityTags: integer('capacity_tags').notNull().default(0),
  capacityConnections: integer('capacity_connections').notNull().default(0),
  plugins: text('plugins').array().notNull().default(sql`'{}'::text[]`),
  licenseId: uuid('license_id'),
  licenseExpiresAt: ts('license_expires_at'),
  overCommitted: boolean('over_committed').notNull().default(false),
  /** Optional cap on sum(allocations) / limit per kind (F2 oversubscription); null = no cap. */
  maxOversubscription: real('max_oversubscription'),
  /** partial: a grant gives what is free; all-or-nothing: the allocation or nothing beyond what is held. */
  grantMode: text('grant_mode', { enum: ['partial', 'all-or-nothing'] }).notNull().default('partial'),
  /** Elastic allocations (issue 21): headroom kept above usage, as a fraction of usage. */
  elasticHeadroom: real('elastic_headroom').notNull().default(0.25),
  /** Largest single resize, as a fraction of the gateway's max (at least 1 point). */
  elasticStep: real('elastic_step').notNull().default(0.25),
  /** No two resizes of one gateway closer than this; usage must stay low this long to shrink. */
  elasticCooldownSeconds: integer('elastic_cooldown_seconds').notNull().default(300),
  /** Pre-emption may lower a lower-priority gateway below its headroom, down to its elastic min. */
  preemptToMin: boolean('preempt_to_min').notNull().default(false),
  /** A pending request older than this is cancelled (its allocation lowered to what it holds); null = never. */
  pendingTimeoutSeconds: integer('pending_timeout_seconds'),
  /** Offline borrowing: the longest borrow (0 = borrowing off), the share of capacity borrowed at once, borrows per gateway. */
  borrowMaxSeconds: integer('borrow_max_seconds').notNull().default(0),
  borrowMaxFraction: real('borrow_max_fraction').notNull().default(0.25),
  borrowsPerGateway: integer('borrows_per_gateway').notNull().default(1),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const poolLicenses = pgTable(
  'pool_licenses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    poolId: uuid('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    licenseRef: text('license_ref').notNull(),
    issuer: text('issuer').notNull(),
    kid: text('kid').notNull(),
    customer: text('customer').notNull(),
    issuedAt: ts('issued_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
    tags: integer('tags').notNull(),
    connections: integer('connections').notNull(),
    plugins: text('plugins').array().notNull(),
    document: text('document').notNull(),
    forced: boolean('forced').notNull().default(false),
    uploadedBy: text('uploaded_by').notNull(),
    uploadedAt: createdAt(),
    replacedAt: ts('replaced_at'),
  },
  (t) => [index('pool_licenses_pool_idx').on(t.poolId, t.uploadedAt)],
);

export const activationCodes = pgTable(
  'activation_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    poolId: uuid('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull().unique(),
    codePrefix: text('code_prefix').notNull(),
    label: text('label').notNull().default(''),
    seats: integer('seats').notNull(),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('activation_codes_pool_idx').on(t.poolId)],
);

/** One managed gateway; its allocation lives on the row so a change locks exactly one row. */
export const gateways = pgTable(
  'gateways',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    poolId: uuid('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    activationCodeId: uuid('activation_code_id').references(() => activationCodes.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    hardwareId: text('hardware_id').notNull(),
    credentialHash: text('credential_hash').notNull(),
    credentialIssuedAt: ts('credential_issued_at').notNull().defaultNow(),
    enrolledAt: createdAt(),
    allocTags: integer('alloc_tags').notNull().default(0),
    allocConnections: integer('alloc_connections').notNull().default(0),
    allocPlugins: text('alloc_plugins').array().notNull().default(sql`'{}'::text[]`),
    allocUpdatedAt: ts('alloc_updated_at'),
    leaseSeq: bigint('lease_seq', { mode: 'number' }).notNull().default(0),
    online: boolean('online').notNull().default(false),
    transport: text('transport'),
    presenceChangedAt: ts('presence_changed_at'),
    lastSeenAt: ts('last_seen_at'),
    usageTags: integer('usage_tags'),
    usageConnections: integer('usage_connections'),
    usageReportedAt: ts('usage_reported_at'),
    agentVersion: text('agent_version'),
    /** Reserved (F2, FlexNet RESERVE): holds at least its allocation, online or not. */
    reserved: boolean('reserved').notNull().default(false),
    /** Pending gateways are served highest priority first, then by pendingSince. */
    priority: integer('priority').notNull().default(0),
    /** Since when a grant left this gateway short of its allocation; null = not waiting. */
    pendingSince: ts('pending_since'),
    /** Elastic bounds per kind (issue 21); null = a fixed allocation. */
    elasticMinTags: integer('elastic_min_tags'),
    elasticMaxTags: integer('elastic_max_tags'),
    elasticMinConnections: integer('elastic_min_connections'),
    elasticMaxConnections: integer('elastic_max_connections'),
    /** The last elastic resize or pre-emption (the cooldown runs from it). */
    elasticChangedAt: ts('elastic_changed_at'),
    /** Since when usage has stayed below what the headroom asks (shrinking waits a cooldown past it). */
    elasticLowSince: ts('elastic_low_since'),
    /** Decommissioned: credential dead, allocation 0; the row stays until its leases have ended. */
    revokedAt: ts('revoked_at'),
  },
  (t) => [
    uniqueIndex('gateways_code_hardware_uq').on(t.activationCodeId, t.hardwareId),
    index('gateways_pool_idx').on(t.poolId),
    // One gateway per hardware identifier (enrollment looks it up in every enrollment's transaction).
    index('gateways_live_hardware_idx').on(t.hardwareId).where(sql`revoked_at is null`),
    // The console's default order: a page of the list is an index scan, not a sort of the fleet.
    // Columns that change on every renewal or report (last_seen_at, usage_*) stay unindexed so
    // those updates remain HOT. The search's trigram index is in migration 0011 (pg_trgm may be
    // missing; the migration then leaves it out and a search scans the table).
    index('gateways_name_idx').on(t.name, t.id),
  ],
);

export const leaseStates = ['issued', 'acknowledged', 'superseded', 'released', 'expired', 'reclaimed'] as const;

export const leases = pgTable(
  'leases',
  {
    id: uuid('id').primaryKey(),
    gatewayId: uuid('gateway_id').notNull().references(() => gateways.id, { onDelete: 'cascade' }),
    poolId: uuid('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    kid: text('kid').notNull(),
    tags: integer('tags').notNull(),
    connections: integer('connections').notNull(),
    plugins: text('plugins').array().notNull(),
    issuedAt: ts('issued_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
    /** The lease's disconnectGraceSec claim (reclaim on-disconnect); null: it returns at expires_at. */
    disconnectGraceSeconds: integer('disconnect_grace_seconds'),
    /** Offline borrowing (issue 21): requested by the agent for a planned disconnect. */
    borrow: boolean('borrow').notNull().default(false),
    /** Granted in an over-committed pool, keeping held points: checked at commit (server/leases/keep-guard.ts). */
    overCommittedKeep: boolean('over_committed_keep').notNull().default(false),
    state: text('state', { enum: leaseStates }).notNull().default('issued'),
    acknowledgedAt: ts('acknowledged_at'),
    endedAt: ts('ended_at'),
  },
  // A lease is live (issued or acknowledged) exactly while ended_at is null; the check holds the two
  // together. The live indexes are partial on ended_at, so acknowledging (state only) changes no
  // indexed column and can be a HOT update, and ended leases leave the live indexes.
  (t) => [
    uniqueIndex('leases_gateway_seq_uq').on(t.gatewayId, t.seq),
    // The live leases of one gateway (acknowledging supersedes the older ones): one or two entries,
    // where the full (gateway_id, seq) index also walks the gateway's whole history.
    index('leases_live_gateway_idx').on(t.gatewayId, t.seq).where(sql`ended_at is null`),
    index('leases_live_expiry_idx').on(t.expiresAt).where(sql`ended_at is null`),
    index('leases_live_pool_idx').on(t.poolId, t.expiresAt).where(sql`ended_at is null`),
    // Ended leases by age, for the history retention.
    index('leases_ended_idx').on(t.endedAt).where(sql`ended_at is not null`),
    check('leases_live_iff_not_ended', sql`(state in ('issued', 'acknowledged')) = (ended_at is null)`),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    poolId: uuid('pool_id'),
    gatewayId: uuid('gateway_id'),
    subject: text('subject').notNull().default(''),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [
    index('audit_at_idx').on(t.at),
    index('audit_gateway_idx').on(t.gatewayId, t.at),
    index('audit_pool_idx').on(t.poolId, t.at),
    index('audit_action_idx').on(t.action, t.at),
  ],
);

/**
 * Usage history (issue 21's what-if replay): one row per change of a gateway's reported usage,
 * written only when the value changes, so a steady gateway adds nothing.
 */
export const usageSamples = pgTable(
  'usage_samples',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    gatewayId: uuid('gateway_id').notNull().references(() => gateways.id, { onDelete: 'cascade' }),
    poolId: uuid('pool_id').notNull(),
    at: ts('at').notNull(),
    tags: integer('tags').notNull(),
    connections: integer('connections').notNull(),
  },
  (t) => [index('usage_samples_pool_idx').on(t.poolId, t.at)],
);

export const apiTokens = pgTable('api_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'operator', 'viewer'] }).notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  tokenPrefix: text('token_prefix').notNull(),
  createdAt: createdAt(),
  expiresAt: ts('expires_at'),
  revokedAt: ts('revoked_at'),
  lastUsedAt: ts('last_used_at'),
});

/** Public halves only; private keys stay in key files. Lets every replica serve one JWKS. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  publicJwk: jsonb('public_jwk').notNull(),
  createdAt: createdAt(),
  retiredAt: ts('retired_at'),
  /**
   * With SIGNING_KEY_KEK set, the private half too, sealed (AES-256-GCM) with that key-encryption
   * key, so every replica signs with the same current key (server/signing/db-key-vault.ts).
   */
  sealedPrivateJwk: text('sealed_private_jwk'),
});

/** Controller replicas alive: each refreshes its row; a lapsed row is taken over (server/replicas). */
export const controllerReplicas = pgTable('controller_replicas', {
  id: text('id').primaryKey(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
});

/**
 * Which replica holds a gateway's Socket.IO connection, so another replica can mark the gateway
 * offline (exactly once) when that replica's heartbeat lapses.
 */
export const agentSockets = pgTable(
  'agent_sockets',
  {
    gatewayId: uuid('gateway_id').notNull().references(() => gateways.id, { onDelete: 'cascade' }),
    replicaId: text('replica_id').notNull(),
    connectedAt: ts('connected_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.gatewayId, t.replicaId] }), index('agent_sockets_replica_idx').on(t.replicaId)],
);

/** @socket.io/postgres-adapter's table for payloads above NOTIFY's 8,000-byte limit (its documented DDL). */
export const socketIoAttachments = pgTable('socket_io_attachments', {
  id: bigserial('id', { mode: 'number' }).unique(),
  createdAt: ts('created_at').defaultNow(),
  payload: customBytea('payload'),
});

/** express-rate-limit's shared counters: one row per key and window (server/http/pg-rate-limit-store.ts). */
export const rateLimitHits = pgTable('rate_limit_hits', {
  key: text('key').primaryKey(),
  hits: integer('hits').notNull(),
  resetAt: ts('reset_at').notNull(),
});

/**
 * The controller's own history of each pool (server/history/): one row per pool, resolution and
 * bucket with the peak of each figure sampled in it. Minute buckets are kept a day, hour buckets 30
 * days; one set-based statement per tick writes both, so the cost does not grow per gateway row.
 */
export const poolUsageRollup = pgTable(
  'pool_usage_rollup',
  {
    poolId: uuid('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    resolution: text('resolution', { enum: ['minute', 'hour'] }).notNull(),
    bucket: ts('bucket').notNull(),
    heldTags: integer('held_tags').notNull(),
    heldConnections: integer('held_connections').notNull(),
    allocTags: integer('alloc_tags').notNull(),
    allocConnections: integer('alloc_connections').notNull(),
    usedTags: integer('used_tags').notNull(),
    usedConnections: integer('used_connections').notNull(),
    pendingTags: integer('pending_tags').notNull(),
    pendingConnections: integer('pending_connections').notNull(),
    limitTags: integer('limit_tags').notNull(),
    limitConnections: integer('limit_connections').notNull(),
  },
  (t) => [primaryKey({ columns: [t.poolId, t.resolution, t.bucket] }), index('pool_usage_rollup_bucket_idx').on(t.resolution, t.bucket)],
);

/**
 * Per gateway, a row only when what it uses, is allocated, holds or its presence changed since its
 * last row (sampled once a tick), so a steady fleet writes next to nothing.
 */
export const gatewayUsageHistory = pgTable(
  'gateway_usage_history',
  {
    gatewayId: uuid('gateway_id').notNull().references(() => gateways.id, { onDelete: 'cascade' }),
    at: ts('at').notNull(),
    online: boolean('online').notNull(),
    usageTags: integer('usage_tags'),
    usageConnections: integer('usage_connections'),
    allocTags: integer('alloc_tags').notNull(),
    allocConnections: integer('alloc_connections').notNull(),
    heldTags: integer('held_tags').notNull(),
    heldConnections: integer('held_connections').notNull(),
  },
  (t) => [primaryKey({ columns: [t.gatewayId, t.at] }), index('gateway_usage_history_at_idx').on(t.at)],
);
