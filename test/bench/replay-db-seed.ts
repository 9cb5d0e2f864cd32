import crypto from 'node:crypto';
import type { Sql } from 'postgres';
import type { SimEvent, SimGateway } from '../../server/simulate/replay.js';

const CHUNK = 100_000;

/**
 * Writes the replay bench's synthetic history into a database as the controller records it: one
 * pool, its gateways (priority, elastic range, allocation now), the audit trail's presence,
 * allocation and borrow rows, and the usage samples; event time 0 is `baseMs`. Returns the pool id.
 */
export async function seedReplayHistory(sql: Sql, gateways: readonly SimGateway[], events: readonly SimEvent[], capacity: { tags: number; connections: number }, baseMs: number): Promise<string> {
  const [pool] = await sql<{ id: string }[]>`
    insert into pools (name, capacity_tags, capacity_connections, lease_ttl_seconds, borrow_max_seconds, borrow_max_fraction)
    values (${`replay-bench-${crypto.randomBytes(3).toString('hex')}`}, ${capacity.tags}, ${capacity.connections}, 300, 86400, 0.1) returning id`;
  const poolId = pool!.id;
  const ids = gateways.map(() => crypto.randomUUID());
  // The allocation now is the last one recorded; each allocation row's `before` is the one it replaced.
  const alloc = gateways.map((g) => ({ ...g.allocation }));
  const auditRows: { at: number; gw: number; action: string; bt: number | null; bc: number | null; at2: number | null; ac: number | null; exp: number | null }[] = [];
  const usage: { at: number[]; gw: string[]; tags: number[]; connections: number[] } = { at: [], gw: [], tags: [], connections: [] };
  for (const e of events) {
    const at = baseMs + e.t;
    if (e.kind === 'usage') {
      usage.at.push(at);
      usage.gw.push(ids[e.gw]!);
      usage.tags.push(e.points.tags);
      usage.connections.push(e.points.connections);
    } else if (e.kind === 'alloc') {
      const was = alloc[e.gw]!;
      auditRows.push({ at, gw: e.gw, action: 'allocation.changed', bt: was.tags, bc: was.connections, at2: e.points.tags, ac: e.points.connections, exp: null });
      alloc[e.gw] = { ...e.points };
    } else if (e.kind === 'presence') {
      auditRows.push({ at, gw: e.gw, action: e.online ? 'lease.granted' : 'gateway.offline', bt: null, bc: null, at2: null, ac: null, exp: null });
    } else if (e.kind === 'borrow') {
      auditRows.push({ at, gw: e.gw, action: 'lease.borrowed', bt: null, bc: null, at2: null, ac: null, exp: at / 1000 + e.durationSec });
    } else {
      auditRows.push({ at, gw: e.gw, action: 'lease.released', bt: null, bc: null, at2: null, ac: null, exp: null });
    }
  }
  for (let s = 0; s < gateways.length; s += 1000) {
    const rows = gateways.slice(s, s + 1000).map((g, j) => {
      const i = s + j;
      const b = g.bounds?.tags;
      return {
        id: ids[i]!,
        pool_id: poolId,
        name: `replay-${i}`,
        hardware_id: crypto.createHash('sha256').update(`replay-bench-${i}`).digest('base64'),
        credential_hash: crypto.createHash('sha256').update(ids[i]!).digest('hex'),
        priority: g.priority,
        alloc_tags: alloc[i]!.tags,
        alloc_connections: alloc[i]!.connections,
        elastic_min_tags: b ? b.min : null,
        elastic_max_tags: b ? b.max : null,
        online: g.online,
      };
    });
    await sql`insert into gateways ${sql(rows)}`;
  }
  for (let s = 0; s < usage.at.length; s += CHUNK) {
    await sql`insert into usage_samples (gateway_id, pool_id, at, tags, connections)
      select g, ${poolId}::uuid, to_timestamp(t / 1000.0), u, c
      from unnest(${usage.gw.slice(s, s + CHUNK)}::uuid[], ${usage.at.slice(s, s + CHUNK)}::float8[], ${usage.tags.slice(s, s + CHUNK)}::int[], ${usage.connections.slice(s, s + CHUNK)}::int[]) as x(g, t, u, c)`;
  }
  for (let s = 0; s < auditRows.length; s += CHUNK) {
    const part = auditRows.slice(s, s + CHUNK);
    await sql`insert into audit_events (at, actor, action, pool_id, gateway_id, before, after)
      select to_timestamp(t / 1000.0), 'bench', a, ${poolId}::uuid, g,
        case when bt is null then null else jsonb_build_object('tags', bt, 'connections', bc) end,
        case when exp is not null then jsonb_build_object('exp', exp) when at2 is null then null else jsonb_build_object('tags', at2, 'connections', ac) end
      from unnest(${part.map((r) => r.at)}::float8[], ${part.map((r) => r.action)}::text[], ${part.map((r) => ids[r.gw]!)}::uuid[],
        ${part.map((r) => r.bt)}::int[], ${part.map((r) => r.bc)}::int[], ${part.map((r) => r.at2)}::int[], ${part.map((r) => r.ac)}::int[], ${part.map((r) => r.exp)}::float8[])
        as x(t, a, g, bt, bc, at2, ac, exp)`;
  }
  await sql`analyze gateways`;
  await sql`analyze audit_events`;
  await sql`analyze usage_samples`;
  return poolId;
}
