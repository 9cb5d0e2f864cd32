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
import { seedFleet } from './seed-fleet.js';

export interface EngineProbe {
  /** The controller's LeaseService.grant called by one caller at a time: every batch holds one lease. */
  readonly sequentialGrantsPerSec: number;
  readonly sequentialAcksPerSec: number;
  /** The same with `callers` at once, as a storm or a re-issue wave calls it: the service batches them. */
  readonly concurrentGrantsPerSec: number;
  readonly concurrentAcksPerSec: number;
  readonly callers: number;
  /** Leases per transaction in the concurrent runs. */
  readonly meanGrantBatch: number;
  readonly meanAckBatch: number;
  /**
   * Renewal cycles (grant, then acknowledge, which supersedes the previous lease) over the same
   * gateways, `callers` at once, round after round: each round adds one lease of history per
   * gateway. Leases per second, one figure per round; it stays flat when no statement walks history.
   */
  readonly renewalRoundsPerSec: readonly number[];
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

/**
 * What the controller's own lease engine costs with no transport at all, on the controller's
 * database: LeaseService.grant and .acknowledge, first one call at a time, then `callers` at
 * once. Uses a scratch pool and gateways, deleted afterwards.
 */
export async function probeLeaseEngine(sql: Sql, databaseUrl: string, grants: number, callers = 1_000): Promise<EngineProbe> {
  const poolId = crypto.randomUUID();
  await sql`insert into pools (id, name, capacity_tags, capacity_connections, license_expires_at)
    values (${poolId}, ${`bench-probe-${poolId.slice(0, 8)}`}, ${grants * 100}, ${grants * 10}, now() + interval '1 year')`;
  const specs = await seedFleet(sql, [{ poolId, count: grants, tags: 10, connections: 1 }], 0);
  const ids = specs.map((s) => s.gatewayId);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-probe-keys-'));
  const database = openDatabase(databaseUrl, 10);
  const transactions = { grant: 0, acknowledge: 0 };
  try {
    const keys = await SigningKeyStore.open({ dir, clock: { now: Date.now }, logger: pino({ level: 'warn' }) });
    const service = new LeaseService(database.db, new LeaseSigner(keys), {
      issuer: 'floatlease-bench',
      audience: 'floatlease-agent',
      observer: {
        transaction: (op) => {
          if (op === 'grant' || op === 'acknowledge') transactions[op] += 1;
        },
      },
    });
    // A fifth of the gateways one at a time, the rest all at once.
    const split = Math.floor(ids.length / 5);
    const granted = (list: string[]) => async (gw: string) => list.push(gw + ' ' + (await service.grant(gw, 'push')).jti);
    const ack = (l: string) => service.acknowledge(l.slice(0, 36), l.slice(37));
    const one: string[] = [];
    const sequentialGrantsPerSec = await perSecond(ids.slice(0, split), 1, granted(one));
    const sequentialAcksPerSec = await perSecond(one, 1, ack);
    const many: string[] = [];
    const before = { ...transactions };
    const concurrentGrantsPerSec = await perSecond(ids.slice(split), callers, granted(many));
    const concurrentAcksPerSec = await perSecond(many, callers, ack);
    const meanGrantBatch = many.length / Math.max(1, transactions.grant - before.grant);
    const meanAckBatch = many.length / Math.max(1, transactions.acknowledge - before.acknowledge);
    const renewalRoundsPerSec: number[] = [];
    for (let round = 0; round < 5; round++) {
      const t = performance.now();
      const renewed: string[] = [];
      await perSecond(ids.slice(split), callers, granted(renewed));
      await perSecond(renewed, callers, ack);
      renewalRoundsPerSec.push(renewed.length / ((performance.now() - t) / 1000));
    }
    return {
      sequentialGrantsPerSec,
      sequentialAcksPerSec,
      concurrentGrantsPerSec,
      concurrentAcksPerSec,
      callers,
      meanGrantBatch,
      meanAckBatch,
      renewalRoundsPerSec,
    };
  } finally {
    await database.close();
    await sql`delete from pools where id = ${poolId}`;
    await fs.rm(dir, { recursive: true, force: true });
  }
}
