import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoInstalled } from '../../helpers/brokers.js';
import { waitFor } from '../../helpers/ports.js';
import { metric, parsePromText } from '../../helpers/prom-text.js';
import { duplicateAuditEvents } from '../../integration/invariant/audit-duplicates.js';
import { InvariantWatch, type InvariantReport, type WatchedAgent } from '../../integration/invariant/invariant-watch.js';
import { HEARTBEAT_MS, KEY_REFRESH_MS, REPLICA_IDS, ReplicaCluster, TIMEOUT_MS, type Placed } from './replica-cluster.js';

const LICENSE = { tags: 1000, connections: 100 };


/**
 * PRODUCT F4/F8, issue 18: two controller replicas on one PostgreSQL and one Mosquitto behave as
 * one. Agents on Socket.IO to each replica, on MQTT, and on Socket.IO through a connection-level
 * load balancer in front of both; every change goes through the other replica. F2's invariant is
 * sampled on the database and on the agents for the whole run.
 */
describe.skipIf(!mosquittoInstalled())('two controller replicas on one PostgreSQL and one Mosquitto', () => {
  const c = new ReplicaCluster();
  /** Agents on one replica's URL each, and on MQTT. */
  const placed: Placed[] = [];
  /** Socket.IO agents on the load-balanced URL; lb-r1 was placed on r1, lb-r2 on r2. */
  const balanced: Placed[] = [];
  let poolId: string;
  let watch: InvariantWatch;
  /** The checkers' own connection: plain postgres.js, timestamps as Date. */
  let checkSql: postgres.Sql | undefined;
  const figures: Record<string, unknown> = {};
  const online = async (gatewayId: string, via: 0 | 1) => (await c.api(via)<{ online: boolean }>('GET', `/api/v1/gateways/${gatewayId}`)).body.online;

  beforeAll(async () => {
    await c.start();
    // A short lease so renewals happen during the run (every ~10 s), on whichever replica is alive.
    poolId = (await c.api(0)<{ id: string }>('POST', '/api/v1/pools', { name: 'plant', leaseTtlSeconds: 30 })).body.id;
    expect((await c.api(1)('PUT', `/api/v1/pools/${poolId}/license`, { license: await c.vendor.license(LICENSE) })).status).toBe(200);
    const code = (await c.api(0)<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 10 })).body.code;
    const spawn = async (name: string, transport: 'ws' | 'mqtt', home: 0 | 1) => {
      const { agent, gatewayId } = await c.spawn(name, { transport, url: c.replicas[home]!.url, code, logsOf: c.replicas[home]! });
      placed.push({ name, agent, gatewayId, via: home === 0 ? 1 : 0 });
    };
    await Promise.all([spawn('ws-r1', 'ws', 0), spawn('ws-r2', 'ws', 1), spawn('mqtt-a', 'mqtt', 0), spawn('mqtt-b', 'mqtt', 1)]);
    // Load-balanced agents, one placed on each replica (the balancer prefers it while the agent starts).
    for (const home of [0, 1] as const) {
      c.balancer.prefer(home);
      const { agent, gatewayId } = await c.spawn(`lb-${REPLICA_IDS[home]}`, { transport: 'ws', url: c.balancer.url('http'), code, logsOf: c.replicas[home]! });
      balanced.push({ name: `lb-${REPLICA_IDS[home]}`, agent, gatewayId, via: home });
      await waitFor(`lb agent's socket on ${REPLICA_IDS[home]}`, async () => (await c.socketReplicas(gatewayId)).join() === REPLICA_IDS[home]);
    }
    c.balancer.prefer(undefined);
    await c.connectConsoles();
    for (const p of [...placed, ...balanced]) await waitFor(`${p.name} online`, () => online(p.gatewayId, 0));
    const watched = (p: Placed): WatchedAgent => ({
      name: p.name,
      poolId,
      async enforced() {
        const l = await p.agent.license().catch(() => undefined);
        return l ? { mode: String(l.mode), tags: Number(l.totalTagCount), connections: Number(l.maxConnections) } : undefined;
      },
    });
    checkSql = postgres(c.db.url, { max: 2, onnotice: () => {} });
    watch = new InvariantWatch(checkSql, () => [...placed, ...balanced].map(watched), { intervalMs: 100 });
    watch.start();
  }, 600_000);

  afterAll(async () => {
    // Stopped by the last test; here only when an earlier one failed.
    if (!figures.invariant) await watch?.stop(0);
    await checkSql?.end();
    console.info('two-replica figures:', JSON.stringify(figures));
    await c.stop();
  }, 180_000);

  it('delivers every push through the other replica, counts it delivered once, and every console sees every change', async () => {
    const latencies: Record<string, number> = {};
    const pushesBefore = await deliveredPushes();
    for (const [k, p] of placed.entries()) {
      const tags = 100 + k * 10;
      const t0 = performance.now();
      expect(await c.setAllocation(p.via, p.gatewayId, tags, 5)).toBe(200);
      // The bound only keeps a loaded machine from failing the test; the arrival time is reported.
      await waitFor(`${p.name} applies ${tags} tags`, async () => (await p.agent.license()).totalTagCount === tags, { timeoutMs: 30_000, intervalMs: 10 });
      latencies[p.name] = Math.round(performance.now() - t0);
    }
    figures.pushArrivalMs = latencies;
    console.info('push arrival through the other replica (ms):', latencies);
    expect(Object.keys(latencies)).toHaveLength(placed.length);
    // Every push was delivered on the agent's own transport exactly once, whichever replica pushed it.
    await waitFor('pushes counted', async () => (await deliveredPushes()) - pushesBefore >= placed.length);
    expect((await deliveredPushes()) - pushesBefore).toBe(placed.length);
    for (const i of [0, 1] as const) {
      await waitFor(`console on replica ${i + 1} saw every change`, () => placed.every((p) => c.seen[i].has(p.gatewayId)));
    }
  }, 180_000);

  it('reports metrics that sum across replicas: each counts its own sockets; the fleet gauge is the same on both', async () => {
    const scrapes = await Promise.all(c.replicas.map(async (r) => parsePromText(await (await fetch(`${r.url}/metrics`)).text())));
    const sum = (name: string, labels: Record<string, string>) => scrapes.reduce((n, s) => n + (s.get(metric(name, labels)) ?? 0), 0);
    // Two agents on each replica's own URL and two through the balancer, one on each.
    expect(sum('floatlease_connected_agents', { transport: 'ws' })).toBe(4);
    expect(sum('floatlease_connected_agents', { transport: 'mqtt' })).toBe(0);
    for (const s of scrapes) expect(s.get(metric('floatlease_fleet_agents_online', { transport: 'mqtt' }))).toBe(2);
  }, 180_000);

  it('simultaneous raises through both replicas never take the pool or its agents past the limit; every console sees each', async () => {
    const all = [...placed, ...balanced];
    for (const s of c.seen) s.clear();
    // 6 × 300 tags asked of a 1,000-tag pool: only part fits, the rest waits as pending.
    const statuses = await Promise.all(all.map((p, k) => c.setAllocation((k % 2) as 0 | 1, p.gatewayId, 300, 5)));
    expect(statuses).toEqual(all.map(() => 200));
    const enforcedTags = async () => {
      let n = 0;
      for (const p of all) {
        const l = await p.agent.license();
        if (l.mode === 'FLOATING') n += Number(l.totalTagCount);
      }
      return n;
    };
    // The agents press the limit: more than 3 × 300 enforced means the grants reached the last free points.
    await waitFor('agents enforce the pool nearly full', async () => (await enforcedTags()) > LICENSE.tags - 300, { timeoutMs: 30_000, intervalMs: 50 });
    const pool = (await c.api(1)<{ held: { tags: number }; pending?: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body;
    figures.contention = { heldTags: pool.held.tags, enforcedTags: await enforcedTags() };
    expect(pool.held.tags).toBeLessThanOrEqual(LICENSE.tags);
    // Lower them all, distinct values, through the other replica each: what the pending ones waited for arrives.
    const lowered = all.map((_, k) => 50 + k * 10);
    expect(await Promise.all(all.map((p, k) => c.setAllocation(((k + 1) % 2) as 0 | 1, p.gatewayId, lowered[k]!, 5)))).toEqual(all.map(() => 200));
    for (const [k, p] of all.entries()) {
      await waitFor(`${p.name} applies ${lowered[k]} tags`, async () => (await p.agent.license()).totalTagCount === lowered[k], { timeoutMs: 30_000, intervalMs: 20 });
    }
    for (const i of [0, 1] as const) {
      await waitFor(`console on replica ${i + 1} saw every raise and lowering`, () => all.every((p) => c.seen[i].has(p.gatewayId)));
    }
  }, 180_000);

  it('key rotation on one replica: both sign with the new key within the refresh interval', async () => {
    const sql = c.db.database.sql;
    const latestKid = async (gatewayId: string) => (await sql<{ kid: string }[]>`select kid from leases where gateway_id = ${gatewayId} order by seq desc limit 1`)[0]?.kid;
    const rotated = await c.api(0)<{ kid: string; signing: boolean }[]>('POST', '/api/v1/signing-keys/rotate');
    expect(rotated.status).toBe(200);
    c.count('signing-key.rotated');
    const kid = rotated.body.find((k) => k.signing)!.kid;
    const t0 = performance.now();
    // Each replica signs the pushes of the changes made through it: change an agent's allocation
    // through each until that replica's lease carries the new kid.
    for (const [i, p] of [[0, placed[0]!], [1, placed[1]!]] as const) {
      let tags = 200 + i * 50;
      await waitFor(`replica ${i + 1} signs with ${kid}`, async () => {
        tags += 1;
        await c.setAllocation(i, p.gatewayId, tags, 5);
        await waitFor(`${p.name} applies ${tags}`, async () => (await p.agent.license()).totalTagCount === tags, { timeoutMs: 30_000, intervalMs: 10 });
        return (await latestKid(p.gatewayId)) === kid;
      }, { timeoutMs: 60_000, intervalMs: 100 });
    }
    const ms = Math.round(performance.now() - t0);
    figures.rotationMs = ms;
    console.info(`both replicas signed with the rotated key after ${ms} ms (refresh ${KEY_REFRESH_MS} ms)`);
    // No wall-clock budget (each probe is a REST change plus the agent applying it); each replica
    // switching within its wait above is the check, the figure is reported.
    const keysOn2 = await c.api(1)<{ kid: string; signing: boolean }[]>('GET', '/api/v1/signing-keys');
    expect(keysOn2.body.find((k) => k.signing)?.kid).toBe(kid);
  }, 180_000);

  it('SIGKILL of a replica: its direct agent is marked offline by the other after the heartbeat lapse, its load-balanced agent is served by the other', async () => {
    const victim = placed.find((p) => p.name === 'ws-r1')!;
    const lb = balanced.find((p) => p.name === 'lb-r1')!;
    const seqAtKill = Number((await lb.agent.license()).seq);
    for (const s of c.seen) s.clear();
    const t0 = performance.now();
    const killedAt = Date.now();
    c.replicas[0]!.child.kill('SIGKILL');
    const since = () => Math.round(performance.now() - t0);
    // The load-balanced agent reconnects through the balancer, which fails over to r2.
    await waitFor('lb-r1 reconnected to r2', async () => (await c.socketReplicas(lb.gatewayId)).includes('r2'), { timeoutMs: 60_000, intervalMs: 50 });
    const reconnectedMs = since();
    await waitFor('ws-r1 marked offline by r2', async () => !(await online(victim.gatewayId, 1)), { timeoutMs: 30_000, intervalMs: 50 });
    const offlineMs = since();
    // Offline marking waits for r1's heartbeat to lapse: never before the timeout.
    const [offlineEvent] = await c.db.database.sql<{ ms: number }[]>`
      select (extract(epoch from at) * 1000)::float8 as ms from audit_events where action = 'gateway.offline' and gateway_id = ${victim.gatewayId}`;
    figures.offlineAuditAfterKillMs = Math.round(offlineEvent!.ms - killedAt);
    expect(offlineEvent!.ms - killedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - HEARTBEAT_MS);
    // Renewing on the survivor: a new lease after the kill (only r2 is left to sign it).
    await waitFor('lb-r1 renewed by r2', async () => Number((await lb.agent.license()).seq) > seqAtKill, { timeoutMs: 60_000, intervalMs: 100 });
    const renewedMs = since();
    // And served: a change through r2 reaches it.
    const t1 = performance.now();
    expect(await c.setAllocation(1, lb.gatewayId, 111, 5)).toBe(200);
    await waitFor('lb-r1 applies a change through r2', async () => (await lb.agent.license()).totalTagCount === 111, { timeoutMs: 20_000, intervalMs: 10 });
    const pushAfterFailoverMs = Math.round(performance.now() - t1);
    figures.failover = { reconnectedMs, offlineMs, renewedMs, pushAfterFailoverMs, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS };
    console.info('after SIGKILL of r1 (ms):', figures.failover);
    // The load-balanced agent ends online on the survivor (marked online by r2 if the takeover ran first).
    expect(await online(lb.gatewayId, 1)).toBe(true);
    expect(await c.socketReplicas(lb.gatewayId)).toEqual(['r2']);
    expect((await lb.agent.license()).controllerReachable).toBe(true);
    const lbOffline = await c.db.database.sql<{ n: number }[]>`select count(*)::int as n from audit_events where action = 'gateway.offline' and gateway_id = ${lb.gatewayId}`;
    figures.lbMarkedOfflineMeanwhile = lbOffline[0]!.n > 0;
    // The other agents stay online; the takeover wrote one offline event; the survivor's console saw it.
    for (const p of placed.filter((q) => q !== victim)) expect(await online(p.gatewayId, 1)).toBe(true);
    const offline = await c.db.database.sql<{ n: number }[]>`select count(*)::int as n from audit_events where action = 'gateway.offline' and gateway_id = ${victim.gatewayId}`;
    expect(offline[0]!.n).toBe(1);
    await waitFor("console on r2 saw ws-r1's offline marking", () => c.seen[1].has(victim.gatewayId));
  }, 180_000);

  it('held F2 throughout, on the database and on the agents, and wrote no audit event twice', async () => {
    // Agent samples are judged when their reads spread less than half the fastest push of the run
    // (see InvariantWatch: points given back reach another agent only after more than one push).
    const pushes = Object.values(figures.pushArrivalMs as Record<string, number>);
    const spreadMs = Math.min(...pushes) / 2;
    const report: InvariantReport = await watch.stop(spreadMs);
    figures.invariant = {
      spreadMs,
      dbSamples: report.dbSamples,
      agentSamples: report.agentSamples,
      agentSamplesSetAside: report.agentSamplesSetAside,
      peakHeld: Object.fromEntries(report.peakHeld),
      peakEnforced: Object.fromEntries(report.peakEnforced),
    };
    expect(report.violations).toEqual([]);
    expect(report.dbSamples).toBeGreaterThan(10);
    expect(report.agentSamples).toBeGreaterThan(5);
    // The run pressed the limit on both sides, so the check could have failed.
    expect(report.peakHeld.get(poolId)!.tags).toBeGreaterThan(LICENSE.tags - 300);
    expect(report.peakEnforced.get(poolId)!.tags).toBeGreaterThan(LICENSE.tags - 300);
    const expected = [...c.changes].map(([k, count]) => {
      const [action, gatewayId] = k.split(' ') as [string, string];
      return { action, ...(gatewayId ? { gatewayId } : {}), count };
    });
    expected.push({ action: 'pool.created', count: 1 }, { action: 'pool.license.uploaded', count: 1 }, { action: 'activation-code.created', count: 1 });
    expect(await duplicateAuditEvents(checkSql!, expected)).toEqual([]);
  }, 180_000);

  async function deliveredPushes(): Promise<number> {
    let total = 0;
    for (const i of [0, 1] as const) {
      if (!c.alive(i)) continue;
      total += parsePromText(await (await fetch(`${c.replicas[i]!.url}/metrics`)).text()).get(metric('floatlease_lease_pushes_total', { outcome: 'delivered' })) ?? 0;
    }
    return total;
  }
});
