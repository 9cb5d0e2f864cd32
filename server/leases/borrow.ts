import type { TransactionSql } from 'postgres';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { failed, type Outcome } from '../db/batch-queue.js';
import { notFound } from '../errors/app-error.js';
import { runGrantBatch, type GrantBatchDeps } from './grant-batch.js';
import { heldByGatewaySql, liveLeaseSql } from './lease-accounting.js';
import { borrowRefusal } from './borrow-policy.js';

const HELD_AT_CLOCK = heldByGatewaySql('(select t from clock)');
const LIVE_AT_CLOCK = liveLeaseSql('l', '(select t from clock)');

interface BorrowFacts {
  pool_id: string;
  borrow_max_seconds: number;
  borrow_max_fraction: number;
  borrows_per_gateway: number;
  capacity_tags: number;
  capacity_connections: number;
  held_tags: number | null;
  held_connections: number | null;
  gateway_borrows: string;
  pool_borrowed_tags: string;
  pool_borrowed_connections: string;
}

/**
 * An offline borrow (issue 21) inside one transaction: the pool row is locked first (so two
 * borrows in one pool cannot both pass its cap), the caps are checked on what is live once it is locked,
 * and the lease is granted by the ordinary grant batch with the borrow marker: it keeps the points
 * the gateway holds (nothing new) for `durationSec`, without a disconnect grace.
 */
export async function runBorrow(tx: TransactionSql, gatewayId: string, durationSec: number, deps: GrantBatchDeps): Promise<Outcome<LeaseGrant | undefined>> {
  const [pool] = await tx<{ id: string }[]>`
    select p.id from "pools" p join "gateways" g on g.pool_id = p.id where g.id = ${gatewayId} for update of p`;
  if (!pool) return failed(notFound('gateway', gatewayId));
  // Read once the pool is locked, as grant batches do: a clock read before the wait judges stale leases live.
  const nowMs = deps.now();
  const [f] = await tx<BorrowFacts[]>`
    with clock as (select to_timestamp(${nowMs}::float8 / 1000) as t),
    b as (
      select l.gateway_id, max(l.tags) as tags, max(l.connections) as connections, count(*) as n
      from "leases" l where l.pool_id = ${pool.id} and l.borrow and ${tx.unsafe(LIVE_AT_CLOCK)} group by l.gateway_id
    )
    select p.id as pool_id, p.borrow_max_seconds, p.borrow_max_fraction, p.borrows_per_gateway, p.capacity_tags, p.capacity_connections,
      h.held_tags, h.held_connections,
      coalesce((select n from b where b.gateway_id = ${gatewayId}), 0) as gateway_borrows,
      coalesce((select sum(tags) from b where b.gateway_id <> ${gatewayId}), 0) as pool_borrowed_tags,
      coalesce((select sum(connections) from b where b.gateway_id <> ${gatewayId}), 0) as pool_borrowed_connections
    from "pools" p left join (select * from (${tx.unsafe(HELD_AT_CLOCK)}) x where x.gateway_id = ${gatewayId}) h on true
    where p.id = ${pool.id}`;
  const refusal = borrowRefusal(
    { maxSec: f!.borrow_max_seconds, maxFraction: f!.borrow_max_fraction, perGateway: f!.borrows_per_gateway, capacity: { tags: f!.capacity_tags, connections: f!.capacity_connections } },
    {
      durationSec,
      points: { tags: f!.held_tags ?? 0, connections: f!.held_connections ?? 0 },
      gatewayBorrows: Number(f!.gateway_borrows),
      poolBorrowed: { tags: Number(f!.pool_borrowed_tags), connections: Number(f!.pool_borrowed_connections) },
    },
  );
  if (refusal) return failed(refusal);
  const outcomes = new Map<string, Outcome<LeaseGrant | undefined>>();
  await runGrantBatch(tx, [{ gatewayId, reason: 'borrow', onlyOnline: false, started: performance.now(), borrow: { ttlSec: durationSec } }], deps, outcomes);
  return outcomes.get(gatewayId)!;
}
