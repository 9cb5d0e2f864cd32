import type { TransactionSql } from 'postgres';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { actorLabel } from '../auth/actor.js';
import { failed, succeeded, type Outcome } from '../db/batch-queue.js';
import { notFound } from '../errors/app-error.js';
import { poolLimit } from '../pools/capacity-policy.js';
import { planPoolGrants, type Contender, type GrantDecision } from './grant-policy.js';
import { markKeepClock } from './keep-guard.js';
import { grantRefusal, leaseClaimsFor } from './lease-claims-builder.js';
import { leaseBatchStore, type GrantTarget, type NewLease } from './lease-batch-store.js';

export type GrantReason = 'grant' | 'renewal' | 'push' | 'offline' | 'borrow';

export interface GrantRequest {
  readonly gatewayId: string;
  readonly reason: GrantReason;
  /** A push skips offline gateways instead of burning a seq on a lease nobody receives. */
  readonly onlyOnline: boolean;
  readonly started: number;
  /** reason 'offline': an offline license file of this lifetime, issued by this actor (audit label). */
  readonly offline?: { readonly ttlSec: number; readonly actor: string };
  /** reason 'borrow' (issue 21): the points it holds now, for this long, marked borrow; caps checked by the caller under the pool lock. */
  readonly borrow?: { readonly ttlSec: number };
}

export interface GrantBatchDeps {
  readonly issuer: string;
  readonly audience: string;
  /** The controller's clock (epoch ms); read once per batch, after its pools are locked. */
  now(): number;
  sign(claims: LeaseClaims): Promise<{ jws: string; kid: string }>;
  /** The per-pool policy; tests replace it with a broken one to show the invariant checker catches it. */
  readonly plan?: typeof planPoolGrants;
}

const toSec = (ms: number) => Math.floor(ms / 1000);

/**
 * In an over-committed pool a grant keeps at most what the gateway will still hold this long from
 * now: the pool must only shrink, and a lease that expires while the batch runs (between the
 * clock read and the commit) would otherwise come back in its renewal after a reader saw it gone.
 * The keep guard checks the same at commit (keep-guard.ts, 1 s margin) and rolls back a batch that
 * took longer than this; the horizon keeps those rollbacks rare.
 */
export const OVER_COMMITTED_KEEP_HORIZON_MS = 5000;

/**
 * One grant batch inside one transaction (F2 granting). Pools are locked, then gateways, then what
 * every gateway of those pools holds is read in one snapshot; each pool's grants are decided
 * together by planPoolGrants (priority, then arrival), signed, and inserted with one statement.
 * Returns the outcome per request and the requests that got a lease.
 */
export async function runGrantBatch(
  tx: TransactionSql,
  valid: readonly GrantRequest[],
  deps: GrantBatchDeps,
  outcomes: Map<string, Outcome<LeaseGrant | undefined>>,
): Promise<GrantRequest[]> {
  const ids = valid.map((r) => r.gatewayId);
  const pools = await leaseBatchStore.lockPoolsForGrant(tx, ids);
  const targets = new Map((await leaseBatchStore.lockForGrant(tx, ids)).map((t) => [t.id, t]));
  // The clock is read once the pools are locked, never before. A batch that waited for the lock
  // behind one that judged a lease expired (and gave its points to another gateway) must judge it
  // expired too; on a clock read before the wait, the lease's own gateway kept it in its renewal
  // ("renewals never lose held points") and the pool held more than its limit (invariant seed
  // 731905, issue 14: an over-committed pool grew by 113 tags).
  const nowMs = deps.now();
  const toGrant: { req: GrantRequest; t: GrantTarget }[] = [];
  for (const req of valid) {
    const t = targets.get(req.gatewayId);
    const refusal = t ? grantRefusal(t, nowMs) : notFound('gateway', req.gatewayId);
    if (refusal) outcomes.set(req.gatewayId, failed(refusal));
    else if (req.onlyOnline && !t!.online) outcomes.set(req.gatewayId, succeeded(undefined));
    else toGrant.push({ req, t: t! });
  }
  if (toGrant.length === 0) return [];
  if (toGrant.some((g) => g.t.overCommitted)) await markKeepClock(tx, nowMs);
  const held = await leaseBatchStore.readHeld(
    tx,
    pools.map((p) => p.id),
    toGrant.map((g) => g.t.id),
    nowMs,
    { ids: toGrant.filter((g) => g.t.overCommitted).map((g) => g.t.id), atMs: nowMs + OVER_COMMITTED_KEEP_HORIZON_MS },
  );
  const decisions = new Map<string, GrantDecision>();
  for (const pool of pools) {
    const mine = toGrant.filter((g) => g.t.poolId === pool.id);
    if (mine.length === 0) continue;
    const inBatch = new Set(mine.map((g) => g.t.id));
    const p = held.pools.get(pool.id)!;
    const contenders: Contender[] = [
      ...p.waiting.filter((w) => !inBatch.has(w.gatewayId)),
      ...mine.map(({ t }) => ({
        gatewayId: t.id,
        priority: t.priority,
        sinceMs: t.pendingSinceMs ?? nowMs,
        allocation: { tags: t.allocTags, connections: t.allocConnections },
        held: (t.overCommitted ? held.keeps : held.gateways).get(t.id) ?? { tags: 0, connections: 0 },
        granting: true,
      })),
    ];
    const t0 = mine[0]!.t;
    // An over-committed pool grants nothing new until the sweeper's review finds it fits again
    // (F2): with no limit, every grant keeps at most what its gateway holds.
    const limit = t0.overCommitted ? { tags: 0, connections: 0 } : poolLimit(t0.capacity, t0.overdraftFactor);
    for (const [id, d] of (deps.plan ?? planPoolGrants)(limit, p.held, pool.grantMode, contenders)) decisions.set(id, d);
  }
  const iat = toSec(nowMs);
  const pending = toGrant.map(({ req, t }) => {
    let d = decisions.get(t.id)!;
    // A borrow takes nothing new: what the gateway holds now (within its allocation), held longer.
    if (req.borrow) {
      const h = held.gateways.get(t.id) ?? { tags: 0, connections: 0 };
      d = { points: { tags: Math.min(d.points.tags, h.tags), connections: Math.min(d.points.connections, h.connections) }, pending: { tags: 0, connections: 0 } };
    }
    const claims = leaseClaimsFor(t, iat, deps, d.points, req.offline?.ttlSec ?? req.borrow?.ttlSec);
    return { req, t, d, claims: req.borrow ? { ...claims, borrow: true as const } : claims };
  });
  // A lease that cannot be signed (claims the signer refuses) fails alone, not its batch.
  const settled = await Promise.allSettled(pending.map((p) => deps.sign(p.claims)));
  const signed: ((typeof pending)[number] & { jws: string; kid: string })[] = [];
  settled.forEach((r, k) => {
    const p = pending[k]!;
    if (r.status === 'fulfilled') signed.push({ ...p, ...r.value });
    else outcomes.set(p.req.gatewayId, failed(r.reason));
  });
  await leaseBatchStore.insertGranted(
    tx,
    signed.map(({ req, t, d, claims: c, kid }): NewLease => ({
      id: c.jti,
      gatewayId: c.sub,
      poolId: c.pool,
      seq: c.seq,
      kid,
      tags: c.points.tags,
      connections: c.points.connections,
      plugins: c.plugins,
      iat: c.iat,
      exp: c.exp,
      ...(c.disconnectGraceSec !== undefined ? { disconnectGraceSec: c.disconnectGraceSec } : {}),
      ...(req.borrow ? { borrow: true } : {}),
      ...(t.overCommitted ? { overCommittedKeep: true } : {}),
      auditActor: req.offline ? req.offline.actor : req.reason === 'push' ? 'system:push' : actorLabel({ kind: 'gateway', gatewayId: c.sub, poolId: c.pool }),
      auditAction: req.offline ? 'lease.offline-issued' : req.borrow ? 'lease.borrowed' : req.reason === 'renewal' ? 'lease.renewed' : 'lease.granted',
      auditAfter: { seq: c.seq, points: c.points, plugins: c.plugins, exp: c.exp, reason: req.reason, pending: d.pending },
      // A borrow keeps what is held and decides nothing about the queue: the gateway keeps its place.
      pending: req.borrow ? null : d.pending.tags > 0 || d.pending.connections > 0,
    })),
    nowMs,
  );
  for (const { req, d, claims: c, jws } of signed) {
    outcomes.set(req.gatewayId, succeeded({ lease: jws, jti: c.jti, seq: c.seq, expiresAt: c.exp, ttl: c.ttl, pending: d.pending }));
  }
  return signed.map((s) => s.req);
}
