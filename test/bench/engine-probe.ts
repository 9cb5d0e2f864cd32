import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Sql } from 'postgres';
import { openDatabase } from '../../server/db/database.js';
import { LeaseService } from '../../server/leases/lease-service.js';
import { LeaseSigner } from '../../server/signing/lease-signer.js';
import { SigningKeyStore } from '../../server/signing/signing-key-store.js';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import { seedFleet } from './seed-fleet.js';

export interface EngineProbe {
  /** The controller's own LeaseService.grant (lock, sign, insert, update, audit), 8 at once, no transport. */
  readonly perLeaseGrantsPerSec: number;
  /** The controller's own LeaseService.acknowledge of those leases, 8 at once. */
  readonly perLeaseAcksPerSec: number;
  /** The same grant work set-based: one transaction per batch of `batchSize` gateways. */
  readonly batchedGrantsPerSec: number;
  /** The same acknowledge work set-based, one transaction per batch. */
  readonly batchedAcksPerSec: number;
  readonly batchSize: number;
}

/** Runs `fn` over `items`, `lanes` at a time; returns items per second. */
async function perSecond<T>(items: readonly T[], lanes: number, fn: (item: T) => Promise<unknown>): Promise<number> {
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let k = next++; k < items.length; k = next++) await fn(items[k]!);
    }),
  );
  return items.length / ((performance.now() - t) / 1000);
}

interface Row {
  id: string;
  lease_seq: string;
  hardware_id: string;
  alloc_tags: number;
  alloc_connections: number;
  pool_id: string;
  lease_ttl_seconds: number;
  license_exp: string;
}

/**
 * What the lease engine costs per lease with no transport at all, on the controller's database:
 * the shipped per-lease transaction against a set-based prototype of the same work. Uses a
 * scratch pool and gateways, deleted afterwards.
 */
export async function probeLeaseEngine(sql: Sql, databaseUrl: string, grants: number, batchSize = 100): Promise<EngineProbe> {
  const poolId = crypto.randomUUID();
  await sql`insert into pools (id, name, capacity_tags, capacity_connections, license_expires_at)
    values (${poolId}, ${`bench-probe-${poolId.slice(0, 8)}`}, ${grants * 100}, ${grants * 10}, now() + interval '1 year')`;
  const specs = await seedFleet(sql, [{ poolId, count: grants, tags: 10, connections: 1 }], 0);
  const ids = specs.map((s) => s.gatewayId);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-probe-keys-'));
  const database = openDatabase(databaseUrl, 10);
  try {
    const keys = await SigningKeyStore.open({ dir, clock: { now: Date.now }, logger: pino({ level: 'warn' }) });
    const signer = new LeaseSigner(keys);
    const service = new LeaseService(database.db, signer, { issuer: 'floatlease-bench', audience: 'floatlease-agent' });
    // Half the gateways go through the shipped per-lease path, the other half through the batch.
    const half = Math.floor(ids.length / 2);
    const single = ids.slice(0, half);
    const granted: { gw: string; jti: string }[] = [];
    const perLeaseGrantsPerSec = await perSecond(single, 8, async (gw) => granted.push({ gw, jti: (await service.grant(gw, 'push')).jti }));
    const perLeaseAcksPerSec = await perSecond(granted, 8, (l) => service.acknowledge(l.gw, l.jti));
    const batches: string[][] = [];
    for (let k = half; k < ids.length; k += batchSize) batches.push(ids.slice(k, k + batchSize));
    const batchGranted: { gw: string; jti: string }[][] = [];
    const batchedGrantsPerSec = (await perSecond(batches, 2, async (b) => batchGranted.push(await batchedGrant(database.sql, signer, b)))) * batchSize;
    const batchedAcksPerSec = (await perSecond(batchGranted, 2, (b) => batchedAck(database.sql, b))) * batchSize;
    return { perLeaseGrantsPerSec, perLeaseAcksPerSec, batchedGrantsPerSec, batchedAcksPerSec, batchSize };
  } finally {
    await database.close();
    await sql`delete from pools where id = ${poolId}`;
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** One transaction: lock the gateways (in id order), sign every lease, three set-based writes. */
async function batchedGrant(sql: Sql, signer: LeaseSigner, ids: readonly string[]): Promise<{ gw: string; jti: string }[]> {
  return sql.begin(async (tx) => {
    const rows = await tx<Row[]>`
      select g.id, g.lease_seq, g.hardware_id, g.alloc_tags, g.alloc_connections, p.id as pool_id, p.lease_ttl_seconds,
        extract(epoch from p.license_expires_at)::bigint as license_exp
      from gateways g join pools p on p.id = g.pool_id
      where g.id = any(${ids as string[]}::uuid[]) and g.revoked_at is null
      order by g.id for update of g`;
    const iat = Math.floor(Date.now() / 1000);
    const claims: LeaseClaims[] = rows.map((r) => {
      const licenseExpiresAt = Number(r.license_exp);
      const exp = Math.min(iat + r.lease_ttl_seconds, licenseExpiresAt);
      return {
        iss: 'floatlease-bench',
        sub: r.id,
        aud: 'floatlease-agent',
        jti: crypto.randomUUID(),
        iat,
        nbf: iat,
        exp,
        seq: Number(r.lease_seq) + 1,
        pool: r.pool_id,
        hwid: r.hardware_id,
        points: { tags: r.alloc_tags, connections: r.alloc_connections },
        plugins: [],
        licenseExpiresAt,
        ttl: exp - iat,
      };
    });
    const signed = await Promise.all(claims.map((c) => signer.signWithKid(c)));
    const col = <T>(f: (c: LeaseClaims, k: number) => T) => claims.map(f);
    await tx`insert into leases (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at)
      select id, gw, pool, seq, kid, tags, conns, '{}', to_timestamp(iat), to_timestamp(exp)
      from unnest(${col((c) => c.jti)}::uuid[], ${col((c) => c.sub)}::uuid[], ${col((c) => c.pool)}::uuid[], ${col((c) => c.seq)}::bigint[],
        ${col((_, k) => signed[k]!.kid)}::text[], ${col((c) => c.points.tags)}::int[], ${col((c) => c.points.connections)}::int[],
        ${col((c) => c.iat)}::bigint[], ${col((c) => c.exp)}::bigint[]) as v(id, gw, pool, seq, kid, tags, conns, iat, exp)`;
    await tx`update gateways g set lease_seq = v.seq, last_seen_at = now()
      from unnest(${col((c) => c.sub)}::uuid[], ${col((c) => c.seq)}::bigint[]) as v(id, seq) where g.id = v.id`;
    await tx`insert into audit_events (actor, action, pool_id, gateway_id, subject, after)
      select 'system:push', 'lease.granted', pool, gw, jti, after::jsonb
      from unnest(${col((c) => c.pool)}::uuid[], ${col((c) => c.sub)}::uuid[], ${col((c) => c.jti)}::text[],
        ${col((c) => JSON.stringify({ seq: c.seq, points: c.points, plugins: c.plugins, exp: c.exp, reason: 'push' }))}::text[]) as v(pool, gw, jti, after)`;
    return claims.map((c) => ({ gw: c.sub, jti: c.jti }));
  });
}

/**
 * One transaction: lock the gateways, mark the leases acknowledged and supersede every older live
 * lease in one statement, and audit those whose points came back (larger than the new one).
 */
async function batchedAck(sql: Sql, leases: readonly { gw: string; jti: string }[]): Promise<void> {
  await sql.begin(async (tx) => {
    const gws = leases.map((l) => l.gw);
    await tx`select 1 from gateways where id = any(${gws}::uuid[]) order by id for update`;
    const returned = await tx<{ id: string; gateway_id: string; pool_id: string; larger: boolean }[]>`
      with acked as (
        update leases l set state = 'acknowledged', acknowledged_at = coalesce(l.acknowledged_at, now())
        from unnest(${gws}::uuid[], ${leases.map((l) => l.jti)}::uuid[]) as v(gw, jti)
        where l.id = v.jti and l.gateway_id = v.gw and l.state in ('issued', 'acknowledged') and l.expires_at > now()
        returning l.gateway_id, l.seq, l.tags, l.connections)
      update leases o set state = 'superseded', ended_at = now()
      from acked a
      where o.gateway_id = a.gateway_id and o.seq < a.seq and o.state in ('issued', 'acknowledged')
      returning o.id, o.gateway_id, o.pool_id, (o.tags > a.tags or o.connections > a.connections) as larger`;
    const larger = returned.filter((r) => r.larger);
    if (larger.length) {
      await tx`insert into audit_events (actor, action, pool_id, gateway_id, subject)
        select 'gateway', 'lease.superseded', pool, gw, id
        from unnest(${larger.map((r) => r.pool_id)}::uuid[], ${larger.map((r) => r.gateway_id)}::uuid[], ${larger.map((r) => r.id)}::text[]) as v(pool, gw, id)`;
    }
  });
}
