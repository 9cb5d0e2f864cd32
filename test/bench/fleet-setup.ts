import type { Sql } from 'postgres';
import type { BenchController } from './bench-controller.js';
import type { BenchContext } from './bench-context.js';
import { Fleet } from './fleet.js';
import type { AgentSpec, FleetWorkerConfig } from './fleet-messages.js';
import { seedFleet } from './seed-fleet.js';

export interface FleetLayout {
  readonly agents: number;
  readonly mainPoolCount: number;
  readonly silentAgents: number;
  readonly ttlSec: number;
  readonly agentsPerWorker: number;
  /** `mixed`: workers alternate between MQTT and WebSocket. */
  readonly transport: 'mqtt' | 'ws' | 'mixed';
  readonly connectConcurrency: number;
  /** License points per gateway of each pool; the default (20 tags, 2 connections) leaves room to grow. */
  readonly licensePerGateway?: { readonly tags: number; readonly connections: number };
  readonly issuer: string;
  readonly audience: string;
  readonly keepaliveSec: number;
}

const BENCH_ALLOCATION = { tags: 10, connections: 1 } as const;

export type PreparedFleet = Pick<BenchContext, 'fleet' | 'specs' | 'mainPools' | 'silentPool' | 'allocation'> & { readonly workers: number };

/**
 * Pools with a license for their gateways (by default 20 tags and 2 connections per gateway, so
 * allocations can grow), gateways seeded in SQL, and the fleet's workers loaded (not yet connected).
 */
export async function prepareFleet(controller: BenchController, sql: Sql, l: FleetLayout, log: (m: string) => void): Promise<PreparedFleet> {
  const mainAgents = l.agents - l.silentAgents;
  const sizes = Array.from({ length: l.mainPoolCount }, (_, k) => Math.floor(mainAgents / l.mainPoolCount) + (k < mainAgents % l.mainPoolCount ? 1 : 0));
  const per = l.licensePerGateway ?? { tags: 20, connections: 2 };
  const license = (n: number) => controller.vendor.license({ tags: n * per.tags, connections: n * per.connections });
  const stamp = Date.now().toString(36);
  const mainPools: { id: string; indices: number[] }[] = [];
  const specs: AgentSpec[] = [];
  for (const [k, n] of sizes.entries()) {
    const pool = await controller.admin.createPool(`bench-${stamp}-${k}`, l.ttlSec, await license(n));
    const seeded = await seedFleet(sql, [{ poolId: pool.id, count: n, ...BENCH_ALLOCATION }], specs.length);
    specs.push(...seeded);
    mainPools.push({ id: pool.id, indices: seeded.map((s) => s.i) });
  }
  let silent: { id: string; indices: number[]; specs: AgentSpec[] } | undefined;
  if (l.silentAgents > 0) {
    const pool = await controller.admin.createPool(`bench-${stamp}-silent`, l.ttlSec, await license(l.silentAgents));
    const seeded = await seedFleet(sql, [{ poolId: pool.id, count: l.silentAgents, ...BENCH_ALLOCATION }], specs.length);
    specs.push(...seeded);
    silent = { id: pool.id, indices: seeded.map((s) => s.i), specs: seeded };
  }
  log(`seeded ${specs.length} gateways in ${mainPools.length + (silent ? 1 : 0)} pools`);
  const jwks = await controller.admin.jwks();
  const config = (w: number): Omit<FleetWorkerConfig, 'agents'> => ({
    transport: l.transport === 'mixed' ? (w % 2 === 0 ? 'mqtt' : 'ws') : l.transport,
    mqttUrl: controller.mqttUrl,
    httpUrl: controller.process.url,
    jwks,
    issuer: l.issuer,
    audience: l.audience,
    connectConcurrency: l.connectConcurrency,
    keepaliveSec: l.keepaliveSec,
  });
  const fleet = new Fleet(specs.length);
  const main = specs.slice(0, mainAgents);
  const perWorker = Math.ceil(main.length / Math.max(1, Math.ceil(main.length / l.agentsPerWorker)));
  const loads: Promise<number>[] = [];
  for (let k = 0; k < main.length; k += perWorker) loads.push(fleet.spawnWorker(config(loads.length), main.slice(k, k + perWorker)));
  let silentWorker = -1;
  if (silent) loads.push(fleet.spawnWorker(config(0), silent.specs));
  const indices = await Promise.all(loads);
  if (silent) silentWorker = indices[indices.length - 1]!;
  log(`${indices.length} fleet workers loaded`);
  return {
    fleet,
    specs,
    mainPools,
    silentPool: silent ? { id: silent.id, indices: silent.indices, workerIndex: silentWorker } : undefined,
    allocation: BENCH_ALLOCATION,
    workers: indices.length,
  };
}
