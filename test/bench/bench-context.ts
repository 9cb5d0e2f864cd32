import type { Sql } from 'postgres';
import type { BenchController } from './bench-controller.js';
import type { Fleet } from './fleet.js';
import type { AgentSpec } from './fleet-messages.js';
import type { BenchOptions } from './options.js';

/** Everything the phases share. */
export interface BenchContext {
  readonly opts: BenchOptions;
  readonly controller: BenchController;
  readonly controllerPid: number;
  /** A small pool of connections to the controller's database, for seeding and checks. */
  readonly sql: Sql;
  readonly fleet: Fleet;
  readonly specs: readonly AgentSpec[];
  /** Pools of the main fleet, with the agent indices in each. */
  readonly mainPools: readonly { readonly id: string; readonly indices: readonly number[] }[];
  /** The pool whose worker is SIGKILLed (empty when --silent 0). */
  readonly silentPool: { readonly id: string; readonly indices: readonly number[]; workerIndex: number } | undefined;
  /** Allocation every agent starts with. */
  readonly allocation: { readonly tags: number; readonly connections: number };
  log(message: string): void;
}

/** Agents of the main pools that have not been released. */
export function activeMainIndices(ctx: BenchContext): number[] {
  return ctx.mainPools.flatMap((p) => p.indices).filter((i) => ctx.fleet.agents[i]!.releasedAt === undefined);
}
