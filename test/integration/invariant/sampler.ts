import type { Sql } from 'postgres';
import { takeSnapshot, violations, type Snapshot } from './invariant-checker.js';

export interface SamplerResult {
  snapshots: number;
  violations: string[];
  /** Snapshots in which at least one pool was over-committed. */
  overCommittedSnapshots: number;
  last: Snapshot | undefined;
}

/**
 * Takes snapshots back to back on its own connection while a run is in flight and checks the
 * invariant in every one of them (and between consecutive ones, for over-committed pools).
 */
export class InvariantSampler {
  private running = false;
  private loop: Promise<void> | undefined;
  private prev: Snapshot | undefined;
  private readonly result: SamplerResult = { snapshots: 0, violations: [], overCommittedSnapshots: 0, last: undefined };

  constructor(
    private readonly sql: Sql,
    private readonly pauseMs = 5,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sample();
        await new Promise((r) => setTimeout(r, this.pauseMs));
      }
    })();
  }

  /** One more snapshot (also used for a final, quiescent check). */
  async sample(): Promise<Snapshot> {
    const snap = await takeSnapshot(this.sql);
    this.result.snapshots += 1;
    if ([...snap.pools.values()].some((p) => p.overCommitted)) this.result.overCommittedSnapshots += 1;
    this.result.violations.push(...violations(this.prev, snap));
    this.prev = snap;
    this.result.last = snap;
    return snap;
  }

  /** The latest snapshot taken (the agent model reads the limits and over-commitment from it). */
  latest(): Snapshot | undefined {
    return this.result.last;
  }

  async stop(): Promise<SamplerResult> {
    this.running = false;
    await this.loop;
    await this.sample();
    return this.result;
  }
}
