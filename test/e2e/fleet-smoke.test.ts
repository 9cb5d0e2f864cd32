import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_AUDIENCE } from '../../shared/protocol/lease-claims.js';
import { AdminApiError } from '../bench/admin-api.js';
import { startBenchController, type BenchController } from '../bench/bench-controller.js';
import { prepareFleet, type PreparedFleet } from '../bench/fleet-setup.js';
import { sleep } from '../bench/stats.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const AGENTS = 200;
const TTL = 15;
const RUN_MS = 20_000;
const ISSUER = 'floatlease-smoke';

/**
 * The benchmark's fleet, reduced: 200 agents (MQTT and WebSocket workers) for about 20 s on a
 * 15 s lease, while allocations churn. Correctness only, never speed.
 */
describe('fleet smoke: 200 simulated agents against the real controller', () => {
  let db: TestDatabase;
  let controller: BenchController;
  let prepared: PreparedFleet | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    controller = await startBenchController({
      databaseUrl: db.url,
      mqttUrl: undefined,
      mqttUsername: undefined,
      mqttPassword: undefined,
      sweepIntervalMs: 1_000,
      issuer: ISSUER,
    });
    prepared = await prepareFleet(
      controller,
      db.database.sql as Sql,
      {
        agents: AGENTS,
        mainPoolCount: 2,
        silentAgents: 0,
        ttlSec: TTL,
        agentsPerWorker: 50,
        transport: 'mixed',
        connectConcurrency: 50,
        issuer: ISSUER,
        audience: LEASE_AUDIENCE,
        keepaliveSec: 10,
        // 1 tag of headroom per gateway: raises run into the pool's limit.
        licensePerGateway: { tags: 11, connections: 2 },
      },
      () => {},
    );
  }, 60_000);

  afterAll(async () => {
    await prepared?.fleet.stop(3_000);
    await controller?.stop();
    await db?.drop();
  }, 30_000);

  it('every agent holds a verified lease and renews it; no pool ever holds more than its limit', async () => {
    const { fleet, specs, mainPools } = prepared!;
    for (let w = 0; w < prepared!.workers; w++) fleet.begin(w);
    await fleet.until('every agent to hold a lease', () => fleet.agents.every((a) => a.firstLeaseAt !== undefined), 30_000);

    const violations: string[] = [];
    const allocated = new Map<number, number>();
    let polls = 0;
    let raised = 0;
    let refused = 0;
    // Points float (F2): a raise beyond the free points is not refused but pending until points free up.
    let contended = 0;
    const started = Date.now();
    while (Date.now() - started < RUN_MS) {
      for (const p of mainPools) {
        const view = await controller.admin.pool(p.id);
        polls += 1;
        if (view.pending.tags > 0) contended += 1;
        if (view.held.tags > view.limit.tags || view.held.connections > view.limit.connections) {
          violations.push(`pool ${p.id}: held ${JSON.stringify(view.held)} > limit ${JSON.stringify(view.limit)}`);
        }
      }
      const i = Math.floor(Math.random() * specs.length);
      // A raise of 30 tags: four raised gateways use up a pool's 100 tags of headroom, so even a slow
      // churn on a loaded machine (a few raises in all) runs into the limit.
      const tags = (allocated.get(i) ?? 10) === 10 ? 40 : 10;
      try {
        await controller.admin.setAllocation(specs[i]!.gatewayId, tags, 1);
        allocated.set(i, tags);
        if (tags > 10) raised += 1;
      } catch (err) {
        if (!(err instanceof AdminApiError) || !err.message.includes('HTTP 409')) throw err;
        refused += 1;
      }
      await sleep(100); // paces the churn (a load generator), waits for nothing
    }

    expect(violations).toEqual([]);
    expect(polls).toBeGreaterThan(20);
    expect(raised).toBeGreaterThan(0);
    expect(contended, 'the churn should run into the pools limits (points pending)').toBeGreaterThan(0);
    expect(refused, 'raises are entitlements (F2): none is refused in an uncapped pool').toBe(0);
    expect(fleet.refusedCount, fleet.errors.join('\n')).toBe(0);
    expect(fleet.errorCount, fleet.errors.join('\n')).toBe(0);
    const now = Date.now();
    for (const [i, a] of fleet.agents.entries()) {
      expect(a.exp * 1000, `agent ${i} holds an unexpired lease`).toBeGreaterThan(now);
      expect(a.ttl, `agent ${i} lease lifetime`).toBe(TTL);
      // A first lease and renewals every TTL/3 (5 s) during the 20 s run.
      expect(a.leases, `agent ${i} renewed`).toBeGreaterThanOrEqual(3);
    }
  }, 90_000);
});
