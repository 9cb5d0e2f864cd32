import type { Command } from 'commander';
import { elasticBoundsView, pendingView, poolPolicyView, type PendingView, type PoolPolicyView } from '../../../shared/protocol/elastic.js';
import type { ContextOf } from '../context.js';
import { InvalidArgumentError } from 'commander';
import { date } from '../output/format.js';
import { intArg, numberArg } from '../parse.js';
import { resolveGatewayId, resolvePoolId } from '../resolve.js';

/** `MIN:MAX` (an elastic range) or `fixed` (null: the kind keeps a fixed allocation). */
function rangeArg(value: string): { min: number; max: number } | null {
  if (value === 'fixed') return null;
  const m = /^(\d+):(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected MIN:MAX or "fixed".');
  return { min: Number(m[1]), max: Number(m[2]) };
}

const range = (r: { min: number; max: number } | null) => (r ? `${r.min}–${r.max}` : 'fixed');

function policyText(p: PoolPolicyView): string {
  return [
    `elastic: headroom ${Math.round(p.headroom * 100)}%, step ${Math.round(p.step * 100)}% of max, cooldown ${p.cooldownSec} s`,
    `pre-emption: ${p.preemptToMin ? 'down to min (below usage too)' : 'unused headroom only'}`,
    `pending requests: ${p.pendingTimeoutSec === null ? 'wait until served' : `time out after ${p.pendingTimeoutSec} s`}`,
    `borrowing: ${p.borrowMaxSec === 0 ? 'off' : `up to ${p.borrowMaxSec} s, ${Math.round(p.borrowMaxFraction * 100)}% of capacity, ${p.borrowsPerGateway} per gateway`}`,
  ].join('\n');
}

function pendingText(p: PendingView): string {
  if (p.pending.tags === 0 && p.pending.connections === 0) return 'Nothing pending.';
  const head = `Pending ${p.pending.tags} tags, ${p.pending.connections} connections since ${date(p.since)}${p.timesOutAt ? `; times out ${date(p.timesOutAt)}` : ''}.`;
  if (p.waitsFor.length === 0) return `${head}\nWaits for free points (no gateway owes any now).`;
  return [head, 'Waits for:', ...p.waitsFor.map((w) => `  ${w.name} (${w.gatewayId}) owes ${w.owes.tags} tags, ${w.owes.connections} connections, until ${date(w.until)} at the latest${w.online ? '' : ' (offline)'}`)].join('\n');
}

export function registerElasticCommands(program: Command, ctxOf: ContextOf): void {
  program
    .command('elastic')
    .description("show or set a gateway's elastic range per kind (resized from usage within it)")
    .argument('<gateway>', 'gateway id or name')
    .option('--tags <MIN:MAX|fixed>', 'elastic tags range, or "fixed"', rangeArg)
    .option('--connections <MIN:MAX|fixed>', 'elastic connections range, or "fixed"', rangeArg)
    .action(async (ref: string, flags: { tags?: { min: number; max: number } | null; connections?: { min: number; max: number } | null }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolveGatewayId(api, ref);
      const res =
        flags.tags === undefined && flags.connections === undefined
          ? await api.get(`/api/v1/gateways/${id}/elastic`, elasticBoundsView)
          : await api.send('PUT', `/api/v1/gateways/${id}/elastic`, elasticBoundsView, {
              ...(flags.tags !== undefined ? { tags: flags.tags } : {}),
              ...(flags.connections !== undefined ? { connections: flags.connections } : {}),
            });
      ctx.result(res.raw, () => `tags ${range(res.data.tags)}, connections ${range(res.data.connections)}; last resize ${date(res.data.changedAt)}`);
    });

  program
    .command('policy')
    .description("show or set a pool's elastic, pre-emption, pending-timeout and borrowing policy")
    .argument('<pool>', 'pool id or name')
    .option('--headroom <fraction>', 'headroom above usage (0.25 = 25%)', numberArg(0, 10))
    .option('--step <fraction>', 'largest resize, a fraction of max', numberArg(0.001, 1))
    .option('--cooldown <seconds>', 'no two resizes closer than this', intArg(0, 7 * 24 * 3600))
    .option('--preempt-to-min', 'pre-emption may go below usage, down to min')
    .option('--no-preempt-to-min', 'pre-emption takes unused headroom only')
    .option('--pending-timeout <seconds>', 'cancel pending requests older than this (0: never)', intArg(0, 30 * 24 * 3600))
    .option('--borrow-max <seconds>', 'longest offline borrow (0: off)', intArg(0, 30 * 24 * 3600))
    .option('--borrow-fraction <fraction>', 'share of capacity borrowed at once', numberArg(0, 1))
    .option('--borrows-per-gateway <n>', 'live borrows per gateway', intArg(0, 100))
    .action(async (ref: string, f: Record<string, number | boolean | undefined>, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolvePoolId(api, ref);
      const body = {
        ...(f.headroom !== undefined ? { headroom: f.headroom } : {}),
        ...(f.step !== undefined ? { step: f.step } : {}),
        ...(f.cooldown !== undefined ? { cooldownSec: f.cooldown } : {}),
        ...(f.preemptToMin !== undefined ? { preemptToMin: f.preemptToMin } : {}),
        ...(f.pendingTimeout !== undefined ? { pendingTimeoutSec: f.pendingTimeout === 0 ? null : f.pendingTimeout } : {}),
        ...(f.borrowMax !== undefined ? { borrowMaxSec: f.borrowMax } : {}),
        ...(f.borrowFraction !== undefined ? { borrowMaxFraction: f.borrowFraction } : {}),
        ...(f.borrowsPerGateway !== undefined ? { borrowsPerGateway: f.borrowsPerGateway } : {}),
      };
      const res = Object.keys(body).length ? await api.send('PUT', `/api/v1/pools/${id}/policy`, poolPolicyView, body) : await api.get(`/api/v1/pools/${id}/policy`, poolPolicyView);
      ctx.result(res.raw, () => policyText(res.data));
    });

  program
    .command('pending')
    .description("what a gateway's pending request waits for (which gateways, until when); --cancel drops it")
    .argument('<gateway>', 'gateway id or name')
    .option('--cancel', 'cancel the pending request (the allocation drops to what the gateway holds)')
    .action(async (ref: string, flags: { cancel?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolveGatewayId(api, ref);
      const res = flags.cancel ? await api.send('DELETE', `/api/v1/gateways/${id}/pending`, pendingView) : await api.get(`/api/v1/gateways/${id}/pending`, pendingView);
      ctx.result(res.raw, () => (flags.cancel ? `Cancelled. ${pendingText(res.data)}` : pendingText(res.data)));
    });
}
