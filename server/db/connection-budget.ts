/**
 * The one home of the database connection budget: how many pool connections each lane may hold
 * at once. Every component that takes connections concurrently reads its share from here, and
 * the sum of the fixed lanes plus a reserve must fit in DATABASE_POOL_MAX (checked at startup).
 *
 * Why lanes: a connection is held for a whole transaction, including time spent waiting on a row
 * lock. Allocation changes and lease grants both lock the pool row, so an unbounded burst of
 * administrative writes would take every connection, each one queued on that lock, and agents'
 * grants would wait behind the whole burst (issue 15, finding 7). Administrative writes therefore
 * get a lane of their own and queue in memory past it; agent lanes always find their connections.
 */
export interface ConnectionLanes {
  /** Agent messages that each run in a transaction of their own (AgentHandler). */
  readonly agentMessages: number;
  /** Lease grant batches (LeaseService). */
  readonly leaseGrants: number;
  /** Lease acknowledgement batches (LeaseService). */
  readonly leaseAcks: number;
  /** "Online" presence batches (PresenceService). */
  readonly presence: number;
  /** "Offline" presence transactions, one gateway each (PresenceService). */
  readonly offline: number;
  /** Agents' credential look-ups (GatewayAuthenticator). */
  readonly gatewayAuth: number;
  /** Socket.IO session rows (AgentSocketStore). */
  readonly agentSockets: number;
  /** REST writes by users (allocation changes, bulk allocation, license uploads, ...). */
  readonly adminWrites: number;
}

export interface ConnectionBudget {
  readonly poolMax: number;
  readonly lanes: ConnectionLanes;
  /** Left for everything unlaned: reads, pushes' look-ups, the sweeper, health checks, metrics. */
  readonly reserve: number;
}

export const LANES: ConnectionLanes = Object.freeze({
  agentMessages: 2,
  leaseGrants: 2,
  leaseAcks: 2,
  presence: 1,
  offline: 2,
  gatewayAuth: 1,
  agentSockets: 1,
  adminWrites: 2,
});

/** Connections kept free of every lane. */
export const MIN_RESERVE = 2;

const laned = Object.values(LANES).reduce((a, b) => a + b, 0);

/** The smallest DATABASE_POOL_MAX that holds every lane and the reserve. */
export const MIN_POOL_MAX = laned + MIN_RESERVE;

export const DEFAULT_POOL_MAX = 16;

/** The budget for a pool of `poolMax` connections; throws when the lanes do not fit. */
export function connectionBudget(poolMax: number): ConnectionBudget {
  if (!Number.isInteger(poolMax) || poolMax < MIN_POOL_MAX) {
    throw new RangeError(
      `DATABASE_POOL_MAX must be at least ${MIN_POOL_MAX} (agent lanes ${laned - LANES.adminWrites}, administrative writes ${LANES.adminWrites}, reserve ${MIN_RESERVE}); got ${poolMax}`,
    );
  }
  return { poolMax, lanes: LANES, reserve: poolMax - laned };
}
