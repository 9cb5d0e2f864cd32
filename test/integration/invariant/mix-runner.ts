import { AppError } from '../../../server/errors/app-error.js';
import type { Db } from '../../../server/db/database.js';
import { ElasticService } from '../../../server/elastic/elastic-service.js';
import { notifierWithEvents } from '../../../server/events/event-bus.js';
import { reviewOverCommitment } from '../../../server/pools/pool-service.js';
import type { Services } from '../../../server/services.js';
import type { LeaseGrant } from '../../../shared/protocol/rest.js';
import { ageLeases } from './age-leases.js';
import { receivedLease, type AgentModel } from './agent-model.js';
import { admin, EXPECTED, FROM_AGENT, type ElasticDriver, type MixContext, type Op } from './operations.js';

export interface MixStats {
  ops: number;
  /** `kind[/variant]:outcome` → count. */
  outcomes: Map<string, number>;
  /** Operations that failed in a way the specification does not allow. */
  unexpected: string[];
}

const codesOf = (err: unknown): string[] => [err, (err as { cause?: unknown } | undefined)?.cause].map((e) => String((e as { code?: unknown } | undefined)?.code));

/** The operation's statement was cancelled (pg_cancel_backend): its transaction rolled back. */
export const isCancelled = (err: unknown): boolean => codesOf(err).includes('57014');

/**
 * Runs `ops` with `concurrency` of them in flight at every moment. An error `interrupted` accepts
 * (the test cancelled it on purpose) counts as `interrupted` instead of a failure.
 */
export async function runMix(
  ctx: MixContext,
  ops: readonly Op[],
  concurrency: number,
  opts: { interrupted?: (err: unknown) => boolean; agents?: AgentModel } = {},
): Promise<MixStats> {
  const stats: MixStats = { ops: 0, outcomes: new Map(), unexpected: [] };
  const run: MixRun = {
    issued: new Map<string, string[]>(ctx.fleet.gateways.map((g) => [g.id, []])),
    partitioned: new Map(),
    agents: opts.agents,
    done: () => stats.ops,
    count: (key, n = 1) => stats.outcomes.set(key, (stats.outcomes.get(key) ?? 0) + n),
  };
  const count = (key: string) => run.count(key);
  /** Partitions whose span ran out end: the agent reaches the controller again (its transport is back). */
  const heal = async (all: boolean) => {
    for (const [gw, until] of [...run.partitioned]) {
      const due = until.ops <= stats.ops && until.notBeforeMs <= performance.now();
      if ((!all && !due) || run.partitioned.get(gw) !== until) continue; // not due, or another worker heals it
      run.partitioned.delete(gw);
      try {
        await ctx.replicas[0]!.services.presence.set(ctx.fleet.gateways[gw]!.id, true, 'mqtt');
        count('heal:online');
      } catch (err) {
        count('heal:UNEXPECTED');
        stats.unexpected.push(`heal of gateway #${gw}: ${describeError(err)}`);
      }
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < ops.length) {
      const index = next++;
      const op = ops[index]!;
      const label = 'variant' in op ? `${op.kind}/${op.variant}` : op.kind;
      let outcome: string;
      try {
        outcome = 'gw' in op && FROM_AGENT.has(op.kind) && run.partitioned.has(op.gw) ? 'partitioned' : await execute(ctx, op, run);
      } catch (err) {
        if (err instanceof AppError && EXPECTED[op.kind].includes(err.problem)) outcome = err.problem;
        else if (opts.interrupted?.(err)) outcome = 'interrupted';
        else {
          outcome = 'UNEXPECTED';
          stats.unexpected.push(`op #${index} ${JSON.stringify(op)}: ${describeError(err)}`);
        }
      }
      stats.ops += 1;
      count(`${label}:${outcome}`);
      await heal(false);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await heal(true);
  return stats;
}

interface MixRun {
  /** Per gateway id, the leases granted to it, in order. */
  issued: Map<string, string[]>;
  /** Gateway index → when its partition ends: an operation count, and for long ones an instant too. */
  partitioned: Map<number, { ops: number; notBeforeMs: number }>;
  agents: AgentModel | undefined;
  /** Operations finished so far. */
  done(): number;
  /** Counts `n` more of an outcome key besides the operation's own (the tick's resizes, pre-emptions). */
  count(key: string, n?: number): void;
}

/**
 * An elastic service on the mix's own clock: real time plus what `tick` operations moved it on.
 * Leases are judged by the database's clock as ever; the mix's clock only runs cooldowns and
 * pending timeouts, which change allocations and never grant (the grant batch does).
 */
export function elasticDriver(db: Db, services: Pick<Services, 'pusher' | 'events'>): ElasticDriver {
  let offsetMs = 0;
  const service = new ElasticService(db, notifierWithEvents(services.pusher, services.events), () => Date.now() + offsetMs);
  return {
    service,
    advance: (sec) => {
      offsetMs += sec * 1000;
    },
  };
}

function elasticOf(ctx: MixContext): ElasticDriver {
  if (!ctx.elastic) throw new Error('the mix has issue 21 operations but its context has no elastic driver');
  return ctx.elastic;
}

/**
 * The agent receives a lease it asked for at `sentAtMs` under `generation`, and enforces it. An
 * answer the modelled agent never got (it was cut off or stopped meanwhile) is not one it can
 * acknowledge later either: acknowledging it would end, on the controller's side, the older lease
 * the agent still enforces (a borrow lives an hour).
 */
function received(run: MixRun, gatewayId: string, g: LeaseGrant, generation: number | undefined, sentAtMs: number): void {
  if (run.agents && generation !== run.agents.generation(gatewayId)) return;
  run.issued.get(gatewayId)!.push(g.jti);
  run.agents?.accept(gatewayId, receivedLease(g), generation, sentAtMs);
}

async function execute(ctx: MixContext, op: Op, run: MixRun): Promise<string> {
  const { issued, agents } = run;
  const gatewayId = (gw: number) => ctx.fleet.gateways[gw]!.id;
  const replica = 'replica' in op ? ctx.replicas[op.replica % ctx.replicas.length]! : ctx.replicas[0]!;
  const s = replica.services;
  switch (op.kind) {
    case 'set':
      await s.gateways.setAllocation(gatewayId(op.gw), { tags: op.tags, connections: op.connections, force: op.force, reserved: op.reserved }, admin);
      return 'ok';
    case 'grant': {
      const generation = agents?.generation(gatewayId(op.gw));
      const sentAt = Date.now();
      const g = await s.leases.grant(gatewayId(op.gw), op.renewal ? 'renewal' : 'grant');
      received(run, gatewayId(op.gw), g, generation, sentAt);
      return g.pending && (g.pending.tags > 0 || g.pending.connections > 0) ? 'partial' : 'ok';
    }
    case 'ack': {
      const owner = op.foreign ? (op.gw + 1) % ctx.fleet.gateways.length : op.gw;
      const list = issued.get(gatewayId(owner))!;
      if (list.length === 0) return 'nothing-to-ack';
      const jti = list[Math.max(0, list.length - 1 - op.back)]!;
      const r = await s.leases.acknowledge(gatewayId(op.gw), jti);
      return r.acknowledged ? 'ok' : 'refused';
    }
    case 'release': {
      agents?.drop(gatewayId(op.gw)); // a clean stop: the agent stops enforcing, then releases
      const released = (await s.leaseEndings.release(gatewayId(op.gw), admin)).released;
      // The mix's other workers are not this agent: a grant they asked after the stop may have
      // been committed before the release and ended by it. The stopped agent never had it; the
      // model took it up (it was asked after the stop), so it lets it go again here.
      const raced = agents?.drop(gatewayId(op.gw));
      if (raced) {
        const [row] = await ctx.sql`select state from leases where id = ${raced}`;
        if (row?.state === 'released') return 'raced-grant';
      }
      return released > 0 ? 'ok' : 'none';
    }
    case 'presence':
      await s.presence.set(gatewayId(op.gw), op.online, op.online ? 'mqtt' : null);
      return op.online ? 'online' : 'offline';
    case 'partition':
      if (run.partitioned.has(op.gw)) return 'already';
      run.partitioned.set(op.gw, {
        ops: run.done() + op.span,
        notBeforeMs: performance.now() + (ctx.longPartitionMs ?? 0),
      });
      agents?.cut(gatewayId(op.gw)); // answers in flight are lost; the lease's grace decides the rest
      await s.presence.set(gatewayId(op.gw), false, null);
      return 'cut';
    case 'reclaim':
      return (await s.leaseEndings.reclaimDisconnected(ctx.reclaimMarginSec ?? 1)) > 0 ? 'reclaimed-some' : 'none';
    case 'sweep':
      return (await s.leaseEndings.sweep(25)) > 0 ? 'expired-some' : 'none';
    case 'review':
      return (await reviewOverCommitment(replica.db)).length > 0 ? 'cleared' : 'none';
    case 'license': {
      const doc = await ctx.license({ tags: op.tags, connections: op.connections });
      const poolId = ctx.fleet.pools[op.pool]!.id;
      agents?.limitChangeStarted(poolId);
      try {
        await s.pools.uploadLicense(poolId, doc, op.variant === 'smaller-forced', admin);
      } finally {
        agents?.limitChanged(poolId, Date.now());
      }
      return 'ok';
    }
    case 'overdraft':
      agents?.limitChangeStarted(ctx.fleet.pools[op.pool]!.id);
      try {
        await s.pools.update(ctx.fleet.pools[op.pool]!.id, { overdraftFactor: op.factor }, admin);
      } finally {
        agents?.limitChanged(ctx.fleet.pools[op.pool]!.id, Date.now());
      }
      return 'ok';
    case 'age': {
      if (run.partitioned.has(op.gw) && ctx.onDisconnectPools?.has(ctx.fleet.gateways[op.gw]!.pool.id)) return 'partitioned';
      const id = gatewayId(op.gw);
      const aged = await ageLeases(ctx.sql, id, op.all, (ids) => agents?.drop(id, ids));
      return aged.length > 0 ? 'aged' : 'none';
    }
    case 'usage':
      await s.gateways.reportUsage(gatewayId(op.gw), { tags: op.tags, connections: op.connections });
      return 'ok';
    case 'tick': {
      const e = elasticOf(ctx);
      e.advance(op.advanceSec);
      const r = await e.service.tick();
      run.count('elastic:resized', r.resized);
      run.count('elastic:preempted', r.preempted);
      run.count('elastic:timed-out', r.timedOut);
      return r.resized + r.preempted + r.timedOut > 0 ? 'changed' : 'none';
    }
    case 'priority': {
      const id = gatewayId(op.gw);
      // A priority change keeps the allocation an administrator sees (a set in between may win).
      const to = op.variant === 'raise' ? op : (await s.gateways.get(id)).allocation;
      await s.gateways.setAllocation(id, { tags: to.tags, connections: to.connections, priority: op.priority }, admin);
      return 'ok';
    }
    case 'cancel':
      await elasticOf(ctx).service.cancelPending(gatewayId(op.gw), admin);
      return 'ok';
    case 'borrow': {
      const id = gatewayId(op.gw);
      const generation = agents?.generation(id);
      const sentAt = Date.now();
      received(run, id, await s.leases.borrow(id, op.durationSec), generation, sentAt);
      return 'ok';
    }
    case 'return': {
      // Reconnected: a fresh ordinary lease, acknowledged; the acknowledgement ends the borrow.
      const id = gatewayId(op.gw);
      const [borrowed] = await ctx.sql<{ id: string }[]>`
        select id from leases where gateway_id = ${id} and borrow and ended_at is null and expires_at > now() order by seq desc limit 1`;
      const generation = agents?.generation(id);
      const sentAt = Date.now();
      const g = await s.leases.grant(id, 'grant');
      received(run, id, g, generation, sentAt);
      // Cut off (or stopped) meanwhile: the agent never got the lease, so it acknowledges nothing.
      if (agents && agents.generation(id) !== generation) return 'cut';
      const acked = (await s.leases.acknowledge(id, g.jti)).acknowledged;
      if (!borrowed) return 'no-borrow';
      if (!acked) return 'refused';
      const [after] = await ctx.sql<{ state: string }[]>`select state from leases where id = ${borrowed.id}`;
      // superseded: returned early; expired or released: something else ended it first.
      return after!.state === 'superseded' ? 'returned' : `borrow-${after!.state}`;
    }
  }
}

/** The database's own words (drizzle wraps them in "Failed query: …" with the cause attached). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  const head = err.message.split('\n')[0]!.slice(0, 120);
  if (cause?.message) return `${cause.code ?? ''} ${cause.message} (in: ${head})`;
  // A programming error (TypeError and the like) is found by where it was thrown: keep a few frames.
  const frames = err instanceof AppError ? [] : (err.stack ?? '').split('\n').filter((l) => l.trim().startsWith('at ')).slice(0, 6).map((l) => l.trim());
  return [`${err.name}: ${head}`, ...frames].join(' | ');
}

export function formatOutcomes(stats: MixStats): string {
  return [...stats.outcomes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
}
