import { AppError } from '../../../server/errors/app-error.js';
import { reviewOverCommitment } from '../../../server/pools/pool-service.js';
import { decodeJwt } from 'jose';
import type { AgentModel } from './agent-model.js';
import { admin, EXPECTED, type MixContext, type Op } from './operations.js';

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
  const issued = new Map<string, string[]>(ctx.fleet.gateways.map((g) => [g.id, []]));
  let next = 0;
  const worker = async () => {
    while (next < ops.length) {
      const index = next++;
      const op = ops[index]!;
      const label = 'variant' in op ? `${op.kind}/${op.variant}` : op.kind;
      let outcome: string;
      try {
        outcome = await execute(ctx, op, issued, opts.agents);
      } catch (err) {
        if (err instanceof AppError && EXPECTED[op.kind].includes(err.problem)) outcome = err.problem;
        else if (opts.interrupted?.(err)) outcome = 'interrupted';
        else {
          outcome = 'UNEXPECTED';
          stats.unexpected.push(`op #${index} ${JSON.stringify(op)}: ${describeError(err)}`);
        }
      }
      stats.ops += 1;
      stats.outcomes.set(`${label}:${outcome}`, (stats.outcomes.get(`${label}:${outcome}`) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return stats;
}

async function execute(ctx: MixContext, op: Op, issued: Map<string, string[]>, agents: AgentModel | undefined): Promise<string> {
  const gatewayId = (gw: number) => ctx.fleet.gateways[gw]!.id;
  const replica = 'replica' in op ? ctx.replicas[op.replica % ctx.replicas.length]! : ctx.replicas[0]!;
  const s = replica.services;
  switch (op.kind) {
    case 'set':
      await s.gateways.setAllocation(gatewayId(op.gw), { tags: op.tags, connections: op.connections, force: op.force, reserved: op.reserved }, admin);
      return 'ok';
    case 'grant': {
      const generation = agents?.generation(gatewayId(op.gw));
      const g = await s.leases.grant(gatewayId(op.gw), op.renewal ? 'renewal' : 'grant');
      issued.get(gatewayId(op.gw))!.push(g.jti);
      // The agent receives the lease and enforces it.
      const c = decodeJwt(g.lease) as { points: { tags: number; connections: number }; exp: number };
      agents?.accept(gatewayId(op.gw), { jti: g.jti, seq: g.seq, points: c.points, exp: c.exp }, generation);
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
    case 'release':
      agents?.drop(gatewayId(op.gw)); // a clean stop: the agent stops enforcing, then releases
      return (await s.leases.release(gatewayId(op.gw), admin)).released > 0 ? 'ok' : 'none';
    case 'presence':
      // Under reclaim: on-disconnect the agent is to stop using its points when cut off (the
      // disconnect grace, issue 14b); this model assumes it does, before the controller reclaims.
      if (!op.online && ctx.reclaimOnDisconnect?.has(ctx.fleet.gateways[op.gw]!.pool.id)) agents?.drop(gatewayId(op.gw));
      await s.leases.setPresence(gatewayId(op.gw), op.online, op.online ? 'mqtt' : null);
      return op.online ? 'online' : 'offline';
    case 'sweep':
      return (await s.leases.sweep(25)) > 0 ? 'expired-some' : 'none';
    case 'review':
      return (await reviewOverCommitment(replica.db)).length > 0 ? 'cleared' : 'none';
    case 'license': {
      const doc = await ctx.license({ tags: op.tags, connections: op.connections });
      const poolId = ctx.fleet.pools[op.pool]!.id;
      try {
        await s.pools.uploadLicense(poolId, doc, op.variant === 'smaller-forced', admin);
      } finally {
        agents?.limitChanged(poolId, Date.now());
      }
      return 'ok';
    }
    case 'overdraft':
      try {
        await s.pools.update(ctx.fleet.pools[op.pool]!.id, { overdraftFactor: op.factor }, admin);
      } finally {
        agents?.limitChanged(ctx.fleet.pools[op.pool]!.id, Date.now());
      }
      return 'ok';
    case 'age': {
      // Time passing for this gateway's leases, one row per statement: a multi-row update here
      // would take lease row locks in its own order and could deadlock with the server's.
      const id = gatewayId(op.gw);
      const live = await ctx.sql`
        select id from leases where gateway_id = ${id} and state in ('issued', 'acknowledged') and expires_at > now()
        order by seq limit ${op.all ? 1000 : 1}`;
      agents?.drop(id, live.map((l) => l.id as string)); // the same time passes for the agent
      for (const l of live) await ctx.sql`update leases set expires_at = now() - interval '1 second' where id = ${l.id as string}`;
      return live.length > 0 ? 'aged' : 'none';
    }
    case 'usage':
      await s.gateways.reportUsage(gatewayId(op.gw), { tags: op.tags, connections: op.connections });
      return 'ok';
  }
}

/** The database's own words (drizzle wraps them in "Failed query: …" with the cause attached). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  const head = err.message.split('\n')[0]!.slice(0, 120);
  return cause?.message ? `${cause.code ?? ''} ${cause.message} (in: ${head})` : `${err.name}: ${head}`;
}

export function formatOutcomes(stats: MixStats): string {
  return [...stats.outcomes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
}
