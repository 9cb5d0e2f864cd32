import type { Sql } from 'postgres';
import { heldByGatewaySql } from '../../../server/leases/lease-accounting.js';
import { takeSnapshot, violations, type Snapshot } from './invariant-checker.js';

/** What one agent enforces, from its local NeuronEX-compatible `GET /api/license`. */
export interface Enforced {
  readonly mode: string;
  readonly tags: number;
  readonly connections: number;
}

export interface WatchedAgent {
  readonly name: string;
  readonly poolId: string;
  /** Undefined while the agent cannot answer (it is being started or was killed). */
  enforced(): Promise<Enforced | undefined>;
}

export interface InvariantReport {
  /** Database samples (the server's lease-accounting SQL and the independent checker, same instant). */
  readonly dbSamples: number;
  /** Agent samples whose reads all fell within the spread given to stop(), and how many were set aside. */
  readonly agentSamples: number;
  readonly agentSamplesSetAside: number;
  readonly violations: readonly string[];
  /** The highest held points seen per pool, to show the limit was pressed. */
  readonly peakHeld: ReadonlyMap<string, { tags: number; connections: number }>;
  readonly peakEnforced: ReadonlyMap<string, { tags: number; connections: number }>;
}

interface LimitRow {
  id: string;
  tags: number;
  connections: number;
  held_tags: number;
  held_connections: number;
  over_committed: boolean;
}

/**
 * PRODUCT F2 checked throughout a multi-process run, on both sides: what the database says pools
 * hold (the server's own definition in lease-accounting.ts, and the independent checker of
 * test/integration/invariant/) and what the agents enforce (their local /api/license). A pool that
 * is not over-committed must never hold, nor have its agents enforce, more than its limit.
 *
 * Agents are read concurrently, but not at one instant: agent A could be read just before it
 * applies a lowered lease and agent B just after it applied points A gave back, which never
 * coexisted. Giving points back takes A's acknowledgement, a grant transaction, a signed push and
 * B's verification: longer than one push. So the caller passes, when it stops the watch, a spread
 * below the fastest push it measured in the run, and only samples whose reads all fell within it
 * are judged; wider ones are set aside and counted.
 */
export class InvariantWatch {
  // `sql` must parse timestamps as Date (a plain postgres.js client; drizzle's turns them to text).
  private running = false;
  private loop: Promise<void> | undefined;
  private prev: Snapshot | undefined;
  private dbSamples = 0;
  private agentSamples = 0;
  private setAside = 0;
  private readonly found: string[] = [];
  private readonly peakHeld = new Map<string, { tags: number; connections: number }>();
  private readonly peakEnforced = new Map<string, { tags: number; connections: number }>();
  private readonly limits = new Map<string, { tags: number; connections: number }>();
  private readonly agentReadings: { at: string; spreadMs: number; byPool: Map<string, { tags: number; connections: number; who: string[] }> }[] = [];

  constructor(
    private readonly sql: Sql,
    private readonly agents: () => readonly WatchedAgent[],
    private readonly o: { intervalMs: number },
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sample();
        await new Promise((r) => setTimeout(r, this.o.intervalMs));
      }
    })();
  }

  /** One sample of both sides; errors are violations too (the checker must not go quiet). */
  async sample(): Promise<void> {
    try {
      await this.sampleDatabase();
      await this.sampleAgents();
    } catch (err) {
      this.found.push(`sampling failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async stop(spreadMs: number): Promise<InvariantReport> {
    this.running = false;
    await this.loop;
    await this.sample();
    for (const a of this.agentReadings) {
      if (a.spreadMs > spreadMs) {
        this.setAside += 1;
        continue;
      }
      this.agentSamples += 1;
      for (const [poolId, s] of a.byPool) {
        peak(this.peakEnforced, poolId, s);
        const limit = this.limits.get(poolId);
        if (limit && (s.tags > limit.tags || s.connections > limit.connections)) {
          this.found.push(`${a.at}: agents of pool ${poolId} enforce ${s.tags}/${s.connections} > limit ${limit.tags}/${limit.connections} (${s.who.join(', ')})`);
        }
      }
    }
    return {
      dbSamples: this.dbSamples,
      agentSamples: this.agentSamples,
      agentSamplesSetAside: this.setAside,
      violations: this.found,
      peakHeld: this.peakHeld,
      peakEnforced: this.peakEnforced,
    };
  }

  private async sampleDatabase(): Promise<void> {
    const rows = await this.sql.unsafe<LimitRow[]>(`
      with h as (${heldByGatewaySql()})
      select p.id, floor(p.capacity_tags * p.overdraft_factor + 1e-9)::int as tags,
        floor(p.capacity_connections * p.overdraft_factor + 1e-9)::int as connections,
        coalesce(sum(h.held_tags), 0)::int as held_tags, coalesce(sum(h.held_connections), 0)::int as held_connections,
        p.over_committed
      from pools p left join h on h.pool_id = p.id group by p.id`);
    const at = new Date().toISOString();
    for (const r of rows) {
      this.limits.set(r.id, { tags: r.tags, connections: r.connections });
      peak(this.peakHeld, r.id, { tags: r.held_tags, connections: r.held_connections });
      if (r.over_committed) continue;
      if (r.held_tags > r.tags) this.found.push(`${at}: lease-accounting: pool ${r.id} holds ${r.held_tags} tags > limit ${r.tags}`);
      if (r.held_connections > r.connections) this.found.push(`${at}: lease-accounting: pool ${r.id} holds ${r.held_connections} connections > limit ${r.connections}`);
    }
    const snap = await takeSnapshot(this.sql);
    this.found.push(...violations(this.prev, snap).map((v) => `independent checker: ${v}`));
    this.prev = snap;
    this.dbSamples += 1;
  }

  private async sampleAgents(): Promise<void> {
    const agents = this.agents();
    if (agents.length === 0) return;
    const t0 = performance.now();
    const reads = await Promise.all(
      agents.map(async (a) => {
        const e = await a.enforced();
        return { a, e, at: performance.now() };
      }),
    );
    const spreadMs = Math.max(...reads.map((r) => r.at)) - t0;
    const byPool = new Map<string, { tags: number; connections: number; who: string[] }>();
    for (const { a, e } of reads) {
      // The trial allowance is the gateway's own, not the pool's points (PRODUCT F2).
      if (!e || e.mode !== 'FLOATING') continue;
      const s = byPool.get(a.poolId) ?? { tags: 0, connections: 0, who: [] };
      s.tags += e.tags;
      s.connections += e.connections;
      s.who.push(`${a.name}=${e.tags}/${e.connections}`);
      byPool.set(a.poolId, s);
    }
    this.agentReadings.push({ at: new Date().toISOString(), spreadMs, byPool });
  }
}

function peak(m: Map<string, { tags: number; connections: number }>, id: string, v: { tags: number; connections: number }): void {
  const p = m.get(id) ?? { tags: 0, connections: 0 };
  m.set(id, { tags: Math.max(p.tags, v.tags), connections: Math.max(p.connections, v.connections) });
}
