import crypto from 'node:crypto';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../server/errors/app-error.js';
import { LeaseService, type LeaseObserver } from '../../server/leases/lease-service.js';
import { PresenceService } from '../../server/leases/presence-service.js';
import { LeaseSigner } from '../../server/signing/lease-signer.js';
import { leaseClaimsSchema, LEASE_AUDIENCE } from '../../shared/protocol/lease-claims.js';
import { useHarness } from '../helpers/api-harness.js';
import { GatedSigner } from './invariant/gated-signer.js';
import { takeSnapshot, violations } from './invariant/invariant-checker.js';

/*
 * The lease service grants and acknowledges in batches: requests that arrive while a batch runs
 * go together into the next one. These tests hold the first batch at its signature (GatedSigner)
 * so that everything else queues, then check that one mixed batch gives every request exactly
 * the answer it would have had alone.
 */

const h = useHarness();

interface Fixture {
  service: LeaseService;
  gated: GatedSigner;
  transactions: { grant: number; acknowledge: number };
}

/** A second lease service on the harness's database, one lane, so batch boundaries are predictable. */
function batchedService(): Fixture {
  const gated = new GatedSigner(new LeaseSigner(h.services.keys));
  const transactions = { grant: 0, acknowledge: 0 };
  const observer: LeaseObserver = {
    transaction: (op) => {
      if (op === 'grant' || op === 'acknowledge') transactions[op] += 1;
    },
  };
  const service = new LeaseService(h.db.database.db, gated, { issuer: 'floatlease-test', audience: LEASE_AUDIENCE, observer, batch: { lanes: 1, maxBatch: 128 } });
  return { service, gated, transactions };
}

async function gatewaysIn(poolId: string, n: number, alloc: { tags: number; connections: number; plugins?: string[] }): Promise<string[]> {
  const code = await h.code(poolId, n);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { gatewayId } = await h.enroll(code);
    const r = await h.api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, alloc);
    if (r.status !== 200) throw new Error(`allocation failed: ${JSON.stringify(r.body)}`);
    ids.push(gatewayId);
  }
  return ids;
}

const problemName = (err: unknown) => (err instanceof AppError ? err.problem : String(err));

describe('batched grants', () => {
  it('one batch with good gateways in two pools, an unknown id, a malformed id, a decommissioned gateway and an expired license: each request gets its own answer', async () => {
    const { service, gated, transactions } = batchedService();
    const poolA = await h.pool({ tags: 1000, connections: 100, plugins: ['OPC UA'] });
    const poolB = await h.pool({ tags: 1000, connections: 100, plugins: [] });
    const poolExpired = await h.pool({ tags: 100, connections: 10 });
    const a = await gatewaysIn(poolA, 12, { tags: 20, connections: 2, plugins: ['OPC UA'] });
    const b = await gatewaysIn(poolB, 12, { tags: 30, connections: 3 });
    const [expiredGw] = await gatewaysIn(poolExpired, 1, { tags: 5, connections: 1 });
    const [revokedGw] = await gatewaysIn(poolB, 1, { tags: 1, connections: 1 });
    expect((await h.api('DELETE', `/api/v1/gateways/${revokedGw}`)).status).toBe(200);
    await h.db.database.sql`update pools set license_expires_at = now() - interval '1 second' where id = ${poolExpired}`;
    // Everyone has one lease already (seq 1), so the batch must advance each seq by exactly one.
    for (const id of [...a, ...b]) await h.services.leases.grant(id, 'grant');

    gated.hold();
    const first = service.grant(a[0]!, 'renewal');
    await gated.held();
    const unknown = crypto.randomUUID();
    const rest = [...a.slice(1), ...b, unknown, 'not-a-uuid', revokedGw!, expiredGw!].map((id, k) =>
      service.grant(id, k % 2 ? 'renewal' : 'grant').then(
        (g) => ({ id, g }),
        (err: unknown) => ({ id, err }),
      ),
    );
    gated.open();
    const answers = await Promise.all([first.then((g) => ({ id: a[0]!, g })), ...rest]);
    // The first batch held one grant; everything else went in the second.
    expect(transactions.grant).toBe(2);

    const byId = new Map(answers.map((x) => [x.id, x]));
    expect(problemName((byId.get(unknown) as { err: unknown }).err)).toBe('not-found');
    expect(problemName((byId.get('not-a-uuid') as { err: unknown }).err)).toBe('not-found');
    expect(problemName((byId.get(revokedGw!) as { err: unknown }).err)).toBe('unauthorized');
    expect(problemName((byId.get(expiredGw!) as { err: unknown }).err)).toBe('license-expired');

    for (const [ids, pool, points, plugins] of [
      [a, poolA, { tags: 20, connections: 2 }, ['OPC UA']],
      [b, poolB, { tags: 30, connections: 3 }, []],
    ] as const) {
      for (const id of ids) {
        const x = byId.get(id) as { g: { lease: string; jti: string; seq: number } };
        expect(x.g, id).toBeDefined();
        const claims = leaseClaimsSchema.parse(decodeJwt(x.g.lease));
        expect(claims).toMatchObject({ sub: id, pool, seq: 2, points, plugins, jti: x.g.jti, aud: LEASE_AUDIENCE });
        expect(claims.exp - claims.iat).toBe(300);
      }
    }
    // Persisted: the lease rows, the gateways' seqs, one audit row per lease, nothing for the refusals.
    const good = [...a, ...b];
    const rows = await h.db.database.sql`select gateway_id, seq, tags, connections, plugins, state from leases where gateway_id = any(${good}::uuid[]) and seq = 2`;
    expect(rows).toHaveLength(good.length);
    expect(rows.every((r) => r.state === 'issued')).toBe(true);
    const seqs = await h.db.database.sql`select id, lease_seq from gateways where id = any(${[...good, revokedGw!, expiredGw!]}::uuid[])`;
    for (const s of seqs) expect(Number(s.lease_seq), s.id as string).toBe(good.includes(s.id as string) ? 2 : 0);
    const jtis = good.map((id) => (byId.get(id) as { g: { jti: string } }).g.jti);
    const audit = await h.db.database.sql`select subject, action, actor from audit_events where subject = any(${jtis}::text[]) order by id`;
    expect(audit).toHaveLength(good.length);
    expect(new Set(audit.map((r) => r.action))).toEqual(new Set(['lease.granted', 'lease.renewed']));
    expect(audit.every((r) => (r.actor as string).startsWith('gateway:'))).toBe(true);
    expect(violations(undefined, await takeSnapshot(h.db.database.sql))).toEqual([]);
  });

  it('requests for one gateway never share a batch: ten at once get seqs 1..10 in the order asked', async () => {
    const { service } = batchedService();
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const [gw] = await gatewaysIn(poolId, 1, { tags: 10, connections: 1 });
    const grants = await Promise.all(Array.from({ length: 10 }, () => service.grant(gw!, 'renewal')));
    expect(grants.map((g) => g.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await h.api<{ held: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body.held.tags).toBe(10);
  });

  it('a push grant skips an offline gateway without using a seq, and grants an online one', async () => {
    const { service } = batchedService();
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const [offline, online] = await gatewaysIn(poolId, 2, { tags: 10, connections: 1 });
    await h.services.presence.set(online!, true, 'mqtt');
    const [skipped, pushed] = await Promise.all([service.pushGrant(offline!), service.pushGrant(online!)]);
    expect(skipped).toBeUndefined();
    expect(pushed?.seq).toBe(1);
    const [row] = await h.db.database.sql`select lease_seq from gateways where id = ${offline!}`;
    expect(Number(row!.lease_seq)).toBe(0);
    const [audit] = await h.db.database.sql`select actor from audit_events where subject = ${pushed!.jti}`;
    expect(audit!.actor).toBe('system:push');
  });
});

describe('batched acknowledgements', () => {
  it('one batch acknowledges, supersedes older leases, audits only returned points, and answers unknown, foreign and expired leases apart', async () => {
    const { service, transactions } = batchedService();
    const poolId = await h.pool({ tags: 1000, connections: 100 });
    const gws = await gatewaysIn(poolId, 8, { tags: 50, connections: 5 });
    const [expiring, lowered] = gws as [string, string];
    // Each gateway holds an acknowledged 50-tag lease; `lowered` is then cut to 10 and re-granted.
    for (const id of gws) {
      const g = await h.services.leases.grant(id, 'grant');
      await h.services.leases.acknowledge(id, g.jti);
    }
    expect((await h.api('PUT', `/api/v1/gateways/${lowered}/allocation`, { tags: 10, connections: 1 })).status).toBe(200);
    const fresh = new Map<string, string>();
    for (const id of gws) fresh.set(id, (await h.services.leases.grant(id, 'renewal')).jti);
    await h.db.database.sql`update leases set expires_at = now() - interval '1 second' where id = ${fresh.get(expiring)!}`;
    const heldBefore = (await h.api<{ held: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body.held.tags;
    expect(heldBefore).toBe(8 * 50);

    // Acknowledgements do not sign; submitted in one tick, the first runs alone and the rest queue.
    const other = gws[2]!;
    const unknownJti = crypto.randomUUID();
    const answers = await Promise.all([
      ...gws.slice(1).filter((id) => id !== other).map((id) => service.acknowledge(id, fresh.get(id)!).then((r) => ({ id, r }))),
      service.acknowledge(expiring, fresh.get(expiring)!).then((r) => ({ id: expiring, r })),
      service.acknowledge(other, fresh.get(gws[3]!)!).then(
        (r) => ({ id: 'foreign', r }),
        (err: unknown) => ({ id: 'foreign', err }),
      ),
      service.acknowledge(crypto.randomUUID(), unknownJti).then(
        (r) => ({ id: 'no-gateway', r }),
        (err: unknown) => ({ id: 'no-gateway', err }),
      ),
    ]);
    // The first went alone, the rest together.
    expect(transactions.acknowledge).toBe(2);
    const byId = new Map(answers.map((x) => [x.id, x]));
    expect(byId.get(expiring)).toMatchObject({ r: { acknowledged: false } });
    expect(problemName((byId.get('foreign') as { err: unknown }).err)).toBe('not-found');
    expect(problemName((byId.get('no-gateway') as { err: unknown }).err)).toBe('not-found');
    for (const id of gws.slice(1).filter((x) => x !== other)) expect(byId.get(id), id).toMatchObject({ r: { acknowledged: true } });

    const states = await h.db.database.sql`select gateway_id, seq, state from leases where gateway_id = any(${gws}::uuid[]) order by gateway_id, seq`;
    const of = (id: string) => states.filter((s) => s.gateway_id === id).map((s) => [Number(s.seq), s.state]);
    expect(of(lowered)).toEqual([
      [1, 'superseded'],
      [2, 'acknowledged'],
    ]);
    // The expired lease's acknowledgement changed nothing; `other` was never acknowledged.
    expect(of(expiring)).toEqual([
      [1, 'acknowledged'],
      [2, 'issued'],
    ]);
    expect(of(other)).toEqual([
      [1, 'acknowledged'],
      [2, 'issued'],
    ]);
    // Only the lowered gateway got points back, so only it has a lease.superseded audit row.
    const audit = await h.db.database.sql`select gateway_id, subject, before, after from audit_events where action = 'lease.superseded' and pool_id = ${poolId}`;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ gateway_id: lowered, subject: fresh.get(lowered), after: { tags: 10, connections: 1 } });
    expect((await h.api<{ held: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body.held.tags).toBe(8 * 50 - 40);
    expect(violations(undefined, await takeSnapshot(h.db.database.sql))).toEqual([]);
  });
});

describe('batched presence', () => {
  it('online calls go together, only changes are written and audited, and calls for one gateway keep their order', async () => {
    const presence = new PresenceService(h.db.database.db);
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gws = await gatewaysIn(poolId, 6, { tags: 1, connections: 1 });
    const [flapping, already] = gws as [string, string];
    await presence.set(already, true, 'mqtt');
    const sql = h.db.database.sql;
    const auditBefore = Number((await sql`select count(*) as n from audit_events where pool_id = ${poolId} and action in ('gateway.online', 'gateway.offline')`)[0]!.n);
    // One tick: every gateway comes online (one already was), and `flapping` goes online, offline, online, offline.
    await Promise.all([
      ...gws.map((id) => presence.set(id, true, 'mqtt')),
      presence.set(flapping, false, 'mqtt'),
      presence.set(flapping, true, 'ws'),
      presence.set(flapping, false, 'ws'),
      presence.set('not-a-uuid', true, 'mqtt'),
    ]);
    const rows = await sql`select id, online, transport from gateways where id = any(${gws}::uuid[])`;
    for (const r of rows) expect([r.id, r.online], r.id as string).toEqual([r.id, r.id !== flapping]);
    expect(rows.find((r) => r.id === flapping)!.transport).toBe('ws');
    const audit = await sql`select gateway_id, action, after from audit_events where pool_id = ${poolId} and action in ('gateway.online', 'gateway.offline') order by id`;
    // 5 gateways came online once; `flapping` went online, offline, online, offline; `already` wrote nothing new.
    expect(audit.length - auditBefore).toBe(4 + 4);
    expect(audit.filter((a) => a.gateway_id === flapping).map((a) => [a.action, (a.after as { transport: string }).transport])).toEqual([
      ['gateway.online', 'mqtt'],
      ['gateway.offline', 'mqtt'],
      ['gateway.online', 'ws'],
      ['gateway.offline', 'ws'],
    ]);
    expect(audit.filter((a) => a.gateway_id === already)).toHaveLength(1);
  });
});

describe('lease history', () => {
  it('a lease is live exactly while it has no end time; the gateway list shows the latest of a long history and only live points', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const [gw] = (await gatewaysIn(poolId, 1, { tags: 10, connections: 1 })) as [string];
    const service = new LeaseService(h.db.database.db, new LeaseSigner(h.services.keys), { issuer: 'floatlease-test', audience: LEASE_AUDIENCE });
    let last = { jti: '', seq: 0 };
    for (let i = 0; i < 6; i++) {
      last = await service.grant(gw, 'renewal');
      await service.acknowledge(gw, last.jti);
    }
    const sql = h.db.database.sql;
    const states = await sql`select state, ended_at is null as open from leases where gateway_id = ${gw} order by seq`;
    expect(states.map((r) => `${r.state}:${r.open}`)).toEqual([...Array(5).fill('superseded:false'), 'acknowledged:true']);
    // The schema refuses a live lease with an end time and an ended one without.
    await expect(sql`update leases set ended_at = now() where id = ${last.jti}`).rejects.toMatchObject({ code: '23514' });
    await expect(sql`update leases set state = 'released' where id = ${last.jti}`).rejects.toMatchObject({ code: '23514' });
    const view = (await h.api('GET', `/api/v1/gateways/${gw}`)).body as { lease: { seq: number; state: string } | null; held: { tags: number } };
    expect(view.lease).toMatchObject({ seq: last.seq, state: 'acknowledged' });
    const page = (await h.api('GET', `/api/v1/gateways?poolId=${poolId}`)).body as { items: { id: string; lease: { seq: number } | null; held: { tags: number } }[] };
    expect(page.items.find((g) => g.id === gw)).toMatchObject({ lease: { seq: last.seq }, held: { tags: 10 } });
  });
});

describe('lease history retention', () => {
  it('deletes ended leases past the retention, oldest first, but never a gateway\'s latest lease or a live one', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const [busy, quiet] = (await gatewaysIn(poolId, 2, { tags: 10, connections: 1 })) as [string, string];
    const service = new LeaseService(h.db.database.db, new LeaseSigner(h.services.keys), { issuer: 'floatlease-test', audience: LEASE_AUDIENCE });
    for (let i = 0; i < 6; i++) await service.acknowledge(busy, (await service.grant(busy, 'renewal')).jti);
    await service.acknowledge(quiet, (await service.grant(quiet, 'renewal')).jti);
    const sql = h.db.database.sql;
    // busy: seqs 1-4 ended 8 days ago, seq 5 ended just now, seq 6 live. quiet: its only lease released 9 days ago.
    await sql`update leases set ended_at = now() - interval '8 days' where gateway_id = ${busy} and seq <= 4`;
    await sql`update leases set state = 'released', ended_at = now() - interval '9 days' where gateway_id = ${quiet}`;
    const auditBefore = (await sql`select count(*)::int as n from audit_events where gateway_id in (${busy}, ${quiet})`)[0]!.n as number;

    expect(await h.services.leaseEndings.pruneHistory(7, 3)).toBe(3);
    expect(await h.services.leaseEndings.pruneHistory(7, 3)).toBe(1);
    expect(await h.services.leaseEndings.pruneHistory(7, 3)).toBe(0);
    const left = await sql`select gateway_id, seq, state from leases where gateway_id in (${busy}, ${quiet}) order by gateway_id = ${busy} desc, seq`;
    expect(left.map((r) => `${r.gateway_id === busy ? 'busy' : 'quiet'}:${r.seq}:${r.state}`)).toEqual(['busy:5:superseded', 'busy:6:acknowledged', 'quiet:1:released']);
    // The audit trail keeps every event of the deleted leases.
    expect((await sql`select count(*)::int as n from audit_events where gateway_id in (${busy}, ${quiet})`)[0]!.n).toBe(auditBefore);
    const view = (await h.api('GET', `/api/v1/gateways/${quiet}`)).body as { lease: { seq: number; state: string } | null };
    expect(view.lease).toMatchObject({ seq: 1, state: 'released' });
  });
});
